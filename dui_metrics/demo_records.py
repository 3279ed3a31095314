"""Demo records (issue 14): small, fictional, deterministic record-level files for two demo
ESMS, written by ``dui-metrics demo`` next to the demo exports and imported by the user (README)
to see counts computed from records replace the precomputed ones.

- ``dossiers/``: the five record tables of `RECORDS_ESMS` (an EHPAD of the demo, Logidom), as
  an editor would export them: French headers, `;`, dates `JJ/MM/AAAA` and ISO date-times.
  100 dossiers (séjours from 2022 on, some closed), INS statuses, PP, events over 2026-03 to
  2026-10 (some cancelled or planned), DMP documents (a few refused), MSSanté messages.
- ``tddui/lot.ndjson``: TDDUI FHIR bundles, one per person, for `TDDUI_ESMS` (an IME of the
  demo): Organization, Patient (local ``PI`` identifier, identity reliability), Encounter
  séjour, Encounter événements, CarePlan projet personnalisé. No name, birth date, address or
  INS in them: none is needed, and the reader would drop them anyway.
Dossier ids are local ids (``D-0001``, ``<FINESS>/U-0001``), never shaped like a NIR.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

RECORDS_ESMS = "699548178"  # EHPAD, Logidom, ready for the VA in the demo
TDDUI_ESMS = "691128813"  # IME, Logidom
SEED = 20261001
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 10, 1)
TABLE_FILES = (
    "dossiers.csv",
    "projets_personnalises.csv",
    "evenements.csv",
    "documents_dmp.csv",
    "messages_mss.csv",
)
TDDUI_FILE = Path("tddui") / "lot.ndjson"
PROFILE = "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/"


def _months() -> list[dt.date]:
    months, month = [], FIRST
    while month <= LAST:
        months.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _day(rng: random.Random, month: dt.date) -> dt.date:
    return month.replace(day=rng.randint(1, 28))


def _people(rng: random.Random, count: int) -> list[dict]:
    """Séjours, INS, PP and events of ``count`` fictional people of one ESMS."""
    people = []
    for n in range(1, count + 1):
        entry = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randint(0, 1720))
        entry = min(entry, dt.date(2026, 9, 20))
        leaves = rng.random() < 0.12
        exit_ = entry + dt.timedelta(days=rng.randint(30, 300)) if leaves else None
        if exit_ is not None and exit_ > dt.date(2026, 10, 31):
            exit_ = None
        ins = rng.choices(["qualifiee", "validee", "provisoire", None], [80, 8, 8, 4])[0]
        ins_date = entry + dt.timedelta(days=rng.randint(0, 60)) if ins else None
        # the latest projet personnalisé, reviewed yearly for most
        earliest = max(entry + dt.timedelta(days=20), dt.date(2025, 5, 1))
        pp = earliest + dt.timedelta(days=rng.randint(0, 420)) if rng.random() < 0.8 else None
        if pp is not None and pp > dt.date(2026, 10, 31):
            pp = None
        events = []
        engaged = rng.random() < 0.9  # the others have no trace: not active
        for month in _months():
            if not engaged:
                break
            for _ in range(rng.choice([0, 1, 2, 2, 3, 4])):
                day = _day(rng, month)
                if day < entry or (exit_ is not None and day > exit_):
                    continue
                status = rng.choices(["realise", "annule", "planifie"], [88, 8, 4])[0]
                events.append((day, rng.randint(8, 18), status))
        people.append(
            {"n": n, "entry": entry, "exit": exit_, "ins": ins, "ins_date": ins_date,
             "pp": pp, "events": sorted(events)}
        )  # fmt: skip
    return people


def _fr(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


_EVENT_WORDS = {"realise": "réalisé", "annule": "annulé", "planifie": "planifié"}
_INS_WORDS = {"qualifiee": "Qualifiée", "validee": "Validée", "provisoire": "Provisoire"}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_tables(folder: Path) -> list[Path]:
    """The five record tables of `RECORDS_ESMS` in ``folder``, in `TABLE_FILES` order."""
    rng = random.Random(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    people = _people(rng, 100)
    ids = {p["n"]: f"D-{p['n']:04d}" for p in people}
    _write_csv(
        folder / "dossiers.csv",
        ["FINESS ET", "N° dossier", "Date d'entrée", "Date de sortie", "Statut INS",
         "Date statut INS"],
        [
            [RECORDS_ESMS, ids[p["n"]], _fr(p["entry"]), _fr(p["exit"]),
             _INS_WORDS.get(p["ins"], ""), _fr(p["ins_date"])]
            for p in people
        ],
    )  # fmt: skip
    _write_csv(
        folder / "projets_personnalises.csv",
        ["finess_et", "dossier_id", "date_pp"],
        [[RECORDS_ESMS, ids[p["n"]], _fr(p["pp"])] for p in people if p["pp"]],
    )
    _write_csv(
        folder / "evenements.csv",
        ["finess_et", "dossier_id", "Date de l'événement", "Type", "Statut"],
        [
            [RECORDS_ESMS, ids[p["n"]], f"{day:%Y-%m-%d}T{hour:02d}:30:00+02:00",
             rng.choice(["Soin", "Animation", "Rendez-vous", "Transmission"]),
             _EVENT_WORDS[status]]
            for p in people
            for day, hour, status in p["events"]
        ],
    )  # fmt: skip
    documents = []
    for p in people:
        for day, _, status in p["events"]:
            if status == "realise" and rng.random() < 0.6:
                sent = rng.choices(["envoyé", "accepté", "refusé", "erreur"], [50, 40, 6, 4])[0]
                documents.append([RECORDS_ESMS, ids[p["n"]], _fr(day), sent])
    _write_csv(
        folder / "documents_dmp.csv",
        ["finess_et", "dossier_id", "Date d'envoi", "Statut"],
        documents,
    )
    messages = []
    for month in _months():
        for _ in range(rng.randint(60, 90)):
            messages.append([RECORDS_ESMS, _fr(_day(rng, month)), rng.choice(["envoyé", "reçu"])])
    _write_csv(folder / "messages_mss.csv", ["finess_et", "Date du message", "Sens"], messages)
    return [folder / name for name in TABLE_FILES]


def _reference(kind: str, ident: str) -> dict:
    return {"reference": f"{kind}/{ident}"}


def _entry(resource: dict) -> dict:
    return {
        "fullUrl": f"https://demo.dui-metrics.example/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }


def _bundle(person: dict) -> dict:
    """One TDDUI bundle for one person of `TDDUI_ESMS`."""
    n = person["n"]
    org, patient, sejour = "org-1", f"patient-{n}", f"sejour-{n}"
    codes = {"qualifiee": "QUAL", "validee": "VALI", "provisoire": "PROV"}
    resources = [
        {
            "resourceType": "Organization",
            "id": org,
            "meta": {"profile": [PROFILE + "tddui-organization"]},
            "identifier": [
                {"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1" + TDDUI_ESMS}
            ],
        },
        {
            "resourceType": "Patient",
            "id": patient,
            "meta": {"profile": [PROFILE + "tddui-patient"]},
            "identifier": [
                {
                    "type": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PI",
                    }]},
                    "system": "https://identifiant-medicosocial-localusager.esante.gouv.fr",
                    "value": f"{TDDUI_ESMS}/U-{n:04d}",
                }
            ],
        },
        {
            "resourceType": "Encounter",
            "id": sejour,
            "meta": {"profile": [PROFILE + "tddui-encounter-sejour"]},
            "status": "finished" if person["exit"] else "in-progress",
            "subject": _reference("Patient", patient),
            "serviceProvider": _reference("Organization", org),
            "period": {"start": person["entry"].isoformat()}
            | ({"end": person["exit"].isoformat()} if person["exit"] else {}),
        },
    ]  # fmt: skip
    if person["ins"]:
        resources[1]["extension"] = [
            {
                "url": "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability",
                "extension": [
                    {"url": "identityStatus", "valueCoding": {
                        "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445",
                        "code": codes[person["ins"]],
                    }},
                    {"url": "validationDate", "valueDate": person["ins_date"].isoformat()},
                ],
            }
        ]  # fmt: skip
    statuses = {"realise": "finished", "annule": "cancelled", "planifie": "planned"}
    for k, (day, hour, status) in enumerate(person["events"], start=1):
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"evenement-{n}-{k}",
                "meta": {"profile": [PROFILE + "tddui-encounter-evenement"]},
                "status": statuses[status],
                "subject": _reference("Patient", patient),
                "serviceProvider": _reference("Organization", org),
                "partOf": _reference("Encounter", sejour),
                "period": {"start": f"{day:%Y-%m-%d}T{hour:02d}:00:00+02:00"},
            }
        )
    if person["pp"]:
        resources.append(
            {
                "resourceType": "CarePlan",
                "id": f"pp-{n}",
                "meta": {"profile": [PROFILE + "tddui-careplan-projet-personnalise"]},
                "status": "active",
                "intent": "plan",
                "subject": _reference("Patient", patient),
                "period": {"start": person["pp"].isoformat()},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": f"lot-{n}",
        "meta": {"profile": [PROFILE + "tddui-bundle"]},
        "type": "transaction",
        "entry": [_entry(r) for r in resources],
    }


def write_tddui(path: Path) -> Path:
    """TDDUI bundles of `TDDUI_ESMS`, one per line (NDJSON), at ``path``."""
    rng = random.Random(SEED + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for person in _people(rng, 45):
            handle.write(json.dumps(_bundle(person), ensure_ascii=False) + "\n")
    return path


def write_record_examples(folder: Path) -> list[Path]:
    """The demo's record files under ``folder`` (``dossiers/…``, ``tddui/lot.ndjson``)."""
    folder = Path(folder)
    return [*write_tables(folder / "dossiers"), write_tddui(folder / TDDUI_FILE)]
