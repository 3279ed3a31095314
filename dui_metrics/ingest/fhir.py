"""ANS TDDUI FHIR R4 bundles (« Médicosocial – Transfert de données DUI ») → record rows.

Parsing only (no storage here). `iter_chunks` reads a ``.json`` (one Bundle, or a JSON array
of them) or ``.ndjson`` file (one Bundle per line, read line by line) into chunks of pyarrow
tables for the store; `parse_bundle` / `parse_bundles` turn bundles already read into
`records.Records`. Both go through the same per-bundle mapping, each bundle resolved on its
own. Mapping notes: ``../shared/reference/tddui/README.md``; counting rules: domain.md §6.1.

- séjours: Encounter ``tddui-encounter-sejour``: FINESS from ``serviceProvider`` → Organization
  ``identifier`` idNatSt minus its first character (``1480787529`` → ``480787529``), dates from
  ``period``; ``dossier_id`` is the subject Patient's ``PI`` identifier value, kept as written
  (the DUI's local id, which the OG needs to find the record), refused when shaped like a NIR;
- INS: the Patient's ``fr-core-identity-reliability`` ``identityStatus``, one row per ESMS where
  the patient has a séjour (VALI with an official INS-NIR / INS-NIA counts as qualifiée);
- événements: Encounter ``tddui-encounter-evenement``, local date of ``period.start``,
  ``status`` (cancelled, entered-in-error → annulé; planned → planifié; others réalisé);
- projets personnalisés: CarePlan ``tddui-careplan-projet-personnalise``, ``period.start``;
- no DMP document nor MSSanté message: TDDUI carries neither, so their counts stay missing.

Privacy (domain.md §7): only identifiers, references, codes and dates named above are looked
at. ``name``, ``birthDate``, ``address``, ``telecom``, the INS-NIR / INS-NIA values (only their
presence is checked) and narratives (``text``, free-text extensions) are parsed with the JSON
but never read, so they can be neither returned nor quoted in a message. Only references this
mapping follows are resolved: the official example's événement points to a ``Location`` that is
not in its bundle, which is not an error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from dui_metrics import finess
from dui_metrics.errors import MAX_LISTED, ExportError, Problem
from dui_metrics.records import EVENTS as EVENTS_COLUMNS
from dui_metrics.records import INS as INS_COLUMNS
from dui_metrics.records import INS_STATUSES, Records, canonical, local_date
from dui_metrics.records import PP as PP_COLUMNS
from dui_metrics.records import SEJOURS as SEJOURS_COLUMNS
from dui_metrics.text import NIR_SHAPED_ID

TDDUI_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/"
SEJOUR, EVENEMENT, PP = (
    "tddui-encounter-sejour",
    "tddui-encounter-evenement",
    "tddui-careplan-projet-personnalise",
)
# Business identifier systems: how a resource without meta.profile is told apart.
SYSTEMS = {
    "https://identifiant-medicosocial-sejour.esante.gouv.fr": SEJOUR,
    "https://identifiant-medicosocial-evenement.esante.gouv.fr": EVENEMENT,
    "https://identifiant-medicosocial-projetpersonnalise.esante.gouv.fr": PP,
}
LOCAL_ID_SYSTEM = "https://identifiant-medicosocial-localusager.esante.gouv.fr"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
# The official INS: INS-NIR and INS-NIA (not the TEST / DEMO OIDs …4.10 and …4.11).
INS_SYSTEMS = {"urn:oid:1.2.250.1.213.1.4.8", "urn:oid:1.2.250.1.213.1.4.9"}
TEST_INS_SYSTEMS = {"urn:oid:1.2.250.1.213.1.4.10", "urn:oid:1.2.250.1.213.1.4.11"}
INS_TYPES = {"INS-NIR", "INS-NIA"}
RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
# HL7 table 0445 codes that are no RNIV status (FR Core 2.1.0): no INS row, i.e. not qualified.
OTHER_0445 = {
    "VIDE",
    "DOUB",
    "DESA",
    "DOUA",
    "CACH",
    "ANOM",
    "HOMD",
    "HOMA",
    "USUR",
    "FICT",
    "DOUT",
}
RESOURCE_TYPES = {SEJOUR: "Encounter", EVENEMENT: "Encounter", PP: "CarePlan"}
_PROFILE_KINDS = {TDDUI_PROFILE + kind: kind for kind in RESOURCE_TYPES}
_KINDS_OF = set(RESOURCE_TYPES.values())  # the resource types that may be read
EVENT_STATUSES = {"cancelled": "annule", "entered-in-error": "annule", "planned": "planifie"}
# The RNIV statuses as FR Core writes them (others go through `records.canonical`).
IDENTITY_STATUSES = {
    "PROV": "provisoire",
    "RECUP": "recuperee",
    "VALI": "validee",
    "QUAL": "qualifiee",
}
# A NIR: 13 digits (15 with its key), first digit 1 or 2 (7 or 8 for a temporary number), as
# `ingest.record_tables` refuses it in a dossier_id column.
KIND = "tddui"  # `ExportError.kind`
TABLES = ("sejours", "ins", "projets", "evenements")  # `records.Records` attributes


class _Bundle:
    """One bundle's resources, its references resolved, its problems collected as (column,
    message): the column names the resource (``Encounter/id``), the caller adds file and line."""

    def __init__(self, data: object) -> None:
        self.problems: list[tuple[str | None, str]] = []
        self.by_url: dict[str, dict] = {}
        self.by_type_id: dict[tuple[str, str], dict] = {}
        self.twice: set[tuple[str, str]] = set()  # (type, id) of several entries
        self.url_of: dict[int, str] = {}  # id(resource) → its fullUrl
        self.resolved: dict[str, dict] = {}  # reference → target, found whoever refers
        self.kinds: list[tuple[dict, str]] = []  # (resource, SEJOUR | EVENEMENT | PP)
        if type(data) is not dict or data.get("resourceType") != "Bundle":
            self.problems.append(
                (None, "ce contenu n'est pas un Bundle FHIR (resourceType « Bundle » attendu)")
            )
            return
        entries = data.get("entry") or []
        if type(entries) is not list:
            self.problem(data, "Bundle.entry n'est pas une liste")
            return
        tddui = False
        by_url, by_type_id, url_of, kinds = self.by_url, self.by_type_id, self.url_of, self.kinds
        for entry in entries:
            resource = entry.get("resource") if type(entry) is dict else None
            if type(resource) is not dict:
                continue  # an entry without a resource (a request only): nothing to read
            kind, ident = resource.get("resourceType"), resource.get("id")
            if type(kind) is str and type(ident) is str:
                key = (kind, ident)
                if key in by_type_id:
                    self.twice.add(key)
                by_type_id[key] = resource
            url = entry.get("fullUrl")
            if type(url) is str and url:
                by_url[url] = resource
                url_of[id(resource)] = url
            found = None
            meta = resource.get("meta")
            profiles = meta.get("profile") if type(meta) is dict else None
            for profile in profiles if type(profiles) is list else ():
                if type(profile) is str and profile.startswith(TDDUI_PROFILE):
                    tddui = True
                    found = _PROFILE_KINDS.get(profile)
                    if found is None and "|" in profile:  # a versioned canonical URL
                        found = _PROFILE_KINDS.get(profile.split("|")[0])
                    if found:
                        break
            if found is None and type(kind) is str and kind in _KINDS_OF:  # by identifiers
                found = _kind(resource, ())
            if found and kind == RESOURCE_TYPES[found]:
                kinds.append((resource, found))
        if not tddui:
            self.problem(
                data,
                "ce Bundle n'est pas un export TDDUI : aucune ressource n'a de profil "
                f"« {TDDUI_PROFILE}… »",
            )

    def problem(self, resource: dict | None, message: str) -> None:
        self.problems.append((_name(resource) if resource is not None else None, message))

    def resolve(self, resource: dict, element: str, kind: str) -> dict | None:
        """The resource that ``resource.<element>`` references, of type ``kind``: absolute
        URLs and ``urn:uuid:`` against fullUrl; relative ``Type/id`` to the entry of that type
        and id, or when several, against the base of the referencing entry's fullUrl. None
        (problem noted) when it resolves to nothing."""
        value = resource.get(element)
        ref = value.get("reference") if type(value) is dict else None
        if type(ref) is not str or not ref:
            self.problem(resource, f"référence {element} absente")
            return None
        target = self.resolved.get(ref)
        if target is None:
            target, anyone = self.by_url.get(ref), True
            if target is None and "://" not in ref and not ref.startswith("urn:"):
                parts = ref.split("/")
                key = (parts[0], parts[1]) if len(parts) in (2, 4) else None  # Type/id[/_history/v]
                if key is not None and key not in self.twice:
                    target = self.by_type_id.get(key)
                if target is None:  # several entries of that type and id, or none
                    anyone = False  # what is found depends on who refers
                    target = self.by_url.get(self.base(resource) + ref)
                    if target is None and key is not None:
                        target = self.by_type_id.get(key)
            if target is not None and anyone:
                self.resolved[ref] = target
        if target is None or target.get("resourceType") != kind:
            self.problem(resource, f"référence {element} « {ref} » introuvable dans le bundle")
            return None
        return target

    def base(self, resource: dict) -> str:
        """The base of ``resource``'s RESTful fullUrl (``https://x/fhir/`` of
        ``https://x/fhir/Patient/1``), or "" (an ``urn:`` or no fullUrl)."""
        url = self.url_of.get(id(resource), "")
        tail = f"/{resource.get('resourceType')}/{resource.get('id')}"
        return url[: -len(tail) + 1] if url.endswith(tail) and not url.startswith("urn:") else ""


def _str(value: object) -> str | None:
    """``value`` when it is text (malformed JSON may put a list or an object anywhere)."""
    return value if isinstance(value, str) else None


def _reference(resource: dict, element: str) -> str | None:
    """``resource.<element>.reference`` when it is text."""
    value = resource.get(element)
    ref = value.get("reference") if type(value) is dict else None
    return ref if type(ref) is str else None


def _name(resource: dict) -> str:
    kind = _str(resource.get("resourceType")) or "ressource"
    return f"{kind}/{resource['id']}" if isinstance(resource.get("id"), str) else str(kind)


def _profiles(resource: dict) -> list[str]:
    """The TDDUI profile names of ``resource`` (``tddui-encounter-sejour``, …)."""
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    if not isinstance(profiles, list):
        return []
    return [
        p.split("|")[0][len(TDDUI_PROFILE) :]
        for p in profiles
        if isinstance(p, str) and p.startswith(TDDUI_PROFILE)
    ]


def _identifiers(resource: dict) -> list[dict]:
    found = resource.get("identifier")
    found = [found] if isinstance(found, dict) else found
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def _type_codes(identifier: dict) -> set[str]:
    kind = identifier.get("type")
    codings = kind.get("coding") if isinstance(kind, dict) else None
    if not isinstance(codings, list):
        return set()
    return {c["code"] for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)}


def _kind(resource: dict, profiles: list[str]) -> str | None:
    """SEJOUR, EVENEMENT, PP or None: by meta.profile, else by business identifier (system,
    or type ``SEJ`` for a séjour)."""
    for profile in profiles:
        if profile in RESOURCE_TYPES:
            return profile
    for identifier in _identifiers(resource):
        system = _str(identifier.get("system"))  # a list or object in it: not hashable
        if system in SYSTEMS:
            return SYSTEMS[system]
        if resource.get("resourceType") == "Encounter" and "SEJ" in _type_codes(identifier):
            return SEJOUR
    return None


def _nir_shaped(value: str) -> bool:
    """``value``, or its part after the last ``/`` (the PI is « 3+FINESS/identifiant local »),
    has the shape of a NIR once spaces are removed."""
    return any(
        NIR_SHAPED_ID.fullmatch(part.replace(" ", "")) for part in (value, value.rsplit("/", 1)[-1])
    )


class _Parser:
    """The rows of one bundle (tuples of the `records` columns), problems noted on the bundle."""

    def __init__(self, bundle: _Bundle, line: int | None) -> None:
        self.b = bundle
        self.line = line  # the last item of every row
        self.dossiers: dict[int, str | None] = {}  # id(Patient) → dossier_id ("": refused)
        self.finess_of: dict[int, tuple[str | None, str | None]] = {}  # id(Organization) → …
        # what a reference gave, when it does not depend on who refers (`_Bundle.resolved`)
        self.by_subject: dict[str, tuple[dict, str]] = {}
        self.by_provider: dict[str, str] = {}

    def dossier_id(self, patient: dict) -> str | None:
        key = id(patient)
        if key in self.dossiers:
            return self.dossiers[key]
        found = None
        for identifier in _identifiers(patient):
            if identifier.get("system") == LOCAL_ID_SYSTEM or "PI" in _type_codes(identifier):
                value = identifier.get("value")
                if isinstance(value, str) and value.strip():
                    found = value.strip()
                    break
        if found is not None and _nir_shaped(found):
            # never quoted: the value may be the person's NIR
            self.b.problem(
                patient,
                "identifiant de dossier refusé : il a la forme d'un NIR (13 ou 15 chiffres) ; "
                "exportez l'identifiant local du dossier dans le DUI",
            )
            found = ""
        self.dossiers[key] = found
        return found

    def finess(self, resource: dict) -> str | None:
        """The FINESS of ``resource.serviceProvider`` (problem noted when it has none)."""
        ref = _reference(resource, "serviceProvider")
        known = self.by_provider.get(ref) if ref else None
        if known is not None:
            return known
        org = self.b.resolve(resource, "serviceProvider", "Organization")
        if org is None:
            return None
        found = self.finess_of.get(id(org))
        if found is None:
            found = self.finess_of[id(org)] = self.org_finess(org)
        code, problem = found
        if problem:
            self.b.problem(resource, problem)
        elif ref in self.b.resolved:  # found whoever refers: the same for the next one
            self.by_provider[ref] = code
        return code

    @staticmethod
    def org_finess(org: dict) -> tuple[str | None, str | None]:
        """(FINESS, None) of an Organization, or (None, what is wrong)."""
        for identifier in _identifiers(org):
            if identifier.get("system") == IDNST_SYSTEM or "IDNST" in _type_codes(identifier):
                value = identifier.get("value")
                # idNatSt is "1" + FINESS (the IG's example: 1480787529): drop the first digit
                code = value.strip()[1:] if isinstance(value, str) else ""
                if finess.is_valid_finess(code):
                    return code, None
                return None, (
                    f"l'identifiant idNatSt de {_name(org)} ne donne pas un FINESS "
                    "(« 1 » suivi des 9 caractères du FINESS attendu)"
                )
        return None, f"{_name(org)} n'a pas d'identifiant idNatSt (FINESS)"

    def date(self, resource: dict, element: str, value: object) -> dt.date | None:
        """The local date of ``value`` (FHIR date or date-time); a problem when unreadable.
        The value itself is not quoted."""
        found = _fhir_date(value)
        if found is None:
            self.b.problem(
                resource, f"{element} n'est pas une date (AAAA-MM-JJ ou date-heure FHIR attendue)"
            )
        return found

    def period(self, resource: dict) -> dict:
        period = resource.get("period")
        return period if isinstance(period, dict) else {}

    def patient_of(self, resource: dict) -> tuple[dict, str] | None:
        """The subject Patient of ``resource`` and its dossier_id (problem noted when none)."""
        ref = _reference(resource, "subject")
        known = self.by_subject.get(ref) if ref else None
        if known is not None:
            return known
        patient = self.b.resolve(resource, "subject", "Patient")
        if patient is None:
            return None
        dossier = self.dossier_id(patient)
        if dossier is None:
            self.b.problem(
                resource,
                f"{_name(patient)} n'a pas d'identifiant local PI (système "
                f"{LOCAL_ID_SYSTEM}) : pas d'identifiant de dossier",
            )
            return None
        if not dossier:
            return None  # refused (NIR-shaped), said once on the Patient
        if ref in self.b.resolved:  # found whoever refers: the same for the next one
            self.by_subject[ref] = (patient, dossier)
        return patient, dossier

    def parse(self) -> dict[str, list[tuple]]:
        """Rows per table (``sejours``, ``ins``, ``projets``, ``evenements``); every problem
        noted on the bundle (rows of a bundle with problems are not to be used)."""
        b, line = self.b, self.line
        sejours: list[tuple] = []
        sejours_of: dict[int, list[tuple]] = {}  # id(Patient) → its séjours
        sejour_finess: dict[int, str] = {}  # id(Encounter séjour) → FINESS
        patients: dict[int, tuple[dict, str]] = {}  # id(Patient) → (Patient, dossier_id)
        events, careplans = [], []
        for resource, kind in b.kinds:
            if kind == EVENEMENT:
                events.append(resource)
                continue
            if kind == PP:
                careplans.append(resource)
                continue
            found = self.patient_of(resource)
            if found is not None:
                patients[id(found[0])] = found
            code = self.finess(resource)
            period = self.period(resource)
            if "start" not in period:
                b.problem(resource, "period.start absent : pas de date d'entrée du séjour")
                entree = None
            else:
                entree = self.date(resource, "period.start", period["start"])
            sortie = self.date(resource, "period.end", period["end"]) if "end" in period else None
            if entree and sortie and sortie < entree:
                b.problem(resource, "la sortie (period.end) précède l'entrée (period.start)")
                continue
            if found is None or code is None or entree is None or ("end" in period and not sortie):
                continue
            row = (code, found[1], entree, sortie, line)
            sejours.append(row)
            sejours_of.setdefault(id(found[0]), []).append(row)
            sejour_finess[id(resource)] = code

        ins = [row for key in patients for row in self.ins(*patients[key], sejours_of.get(key, []))]

        evenements: list[tuple] = []
        for resource in events:
            found = self.patient_of(resource)
            period = self.period(resource)
            if "start" not in period:
                b.problem(resource, "period.start absent : pas de date d'événement")
                continue
            day = self.date(resource, "period.start", period["start"])
            code = self.event_finess(resource, found, sejours_of, sejour_finess)
            if found is None or day is None or code is None:
                continue
            status = resource.get("status")
            if type(status) is not str:
                status = None
            evenements.append((code, found[1], day, EVENT_STATUSES.get(status, "realise"), line))

        projets: list[tuple] = []
        for resource in careplans:
            found = self.patient_of(resource)
            start = self.period(resource).get("start")
            # The official CarePlan examples have no period: a PP without period.start has no
            # date, hence no row (it cannot be placed in any month).
            if start is None:
                continue
            day = self.date(resource, "period.start", start)
            if found is None or day is None:
                continue
            # A CarePlan names no ESMS: the PP counts in each ESMS where the patient has a
            # séjour (none: no row, the patient is not followed in any ESMS of this bundle).
            for code in dict.fromkeys(row[0] for row in sejours_of.get(id(found[0]), [])):
                projets.append((code, found[1], day, line))
        return {"sejours": sejours, "ins": ins, "projets": projets, "evenements": evenements}

    def event_finess(self, resource, found, sejours_of, sejour_finess) -> str | None:
        """The ESMS of an événement: its serviceProvider (the official example has one), else
        that of the séjour it is part of, else that of the patient's only ESMS."""
        if isinstance(resource.get("serviceProvider"), dict):
            return self.finess(resource)
        if isinstance(resource.get("partOf"), dict):
            sejour = self.b.resolve(resource, "partOf", "Encounter")
            if sejour is None:
                return None
            if id(sejour) in sejour_finess:
                return sejour_finess[id(sejour)]
            if _kind(sejour, _profiles(sejour)) != SEJOUR:
                self.b.problem(resource, f"partOf « {_name(sejour)} » n'est pas un séjour TDDUI")
            return None  # else the séjour's own problem is already noted
        if found is None:
            return None
        codes = {row[0] for row in sejours_of.get(id(found[0]), [])}
        if len(codes) == 1:
            return codes.pop()
        self.b.problem(
            resource,
            "ni serviceProvider ni partOf, et l'usager "
            + ("a des séjours dans plusieurs ESMS" if codes else "n'a aucun séjour dans le bundle")
            + " : ESMS de l'événement inconnu",
        )
        return None

    def ins(self, patient: dict, dossier: str, sejours: list[tuple]) -> list[tuple]:
        """The patient's INS status, one row per ESMS where the patient has a séjour."""
        status = validated = None
        extensions = patient.get("extension")
        for extension in extensions if isinstance(extensions, list) else []:
            if not isinstance(extension, dict) or extension.get("url") != RELIABILITY:
                continue
            subs = extension.get("extension")
            for sub in subs if isinstance(subs, list) else []:
                if not isinstance(sub, dict):
                    continue
                if sub.get("url") == "identityStatus" and isinstance(sub.get("valueCoding"), dict):
                    status = _str(sub["valueCoding"].get("code"))
                elif sub.get("url") == "validationDate":
                    validated = sub.get("valueDate", sub.get("valueDateTime"))
        if status is None or status in OTHER_0445:
            return []  # no RNIV status known: not qualified (no row)
        statut = IDENTITY_STATUSES.get(status) or canonical(status, INS_STATUSES)
        if statut is None:
            self.b.problem(
                patient, f"statut d'identité « {status} » inconnu (PROV, RECUP, VALI, QUAL)"
            )
            return []
        if not sejours:
            return []  # followed in no ESMS of this bundle
        if statut == "validee" and self.has_official_ins(patient):
            # Older producers write VALI for a qualified identity: VALI with an official INS
            # (INS-NIR / INS-NIA) counts as qualifiée (the README's reading, domain.md §6.1).
            statut = "qualifiee"
        day = self.date(patient, "validationDate", validated) if validated is not None else None
        if validated is not None and day is None:
            return []
        # No validationDate: the status is known at least since the entry of the patient's
        # first séjour in that ESMS, which dates it.
        return [
            (code, dossier, statut, day or min(r[2] for r in sejours if r[0] == code), self.line)
            for code in dict.fromkeys(row[0] for row in sejours)
        ]

    def has_official_ins(self, patient: dict) -> bool:
        """An INS-NIR or INS-NIA identifier is present (its value is not read beyond that)."""
        return any(
            (_str(i.get("system")) in INS_SYSTEMS or _type_codes(i) & INS_TYPES)
            and _str(i.get("system")) not in TEST_INS_SYSTEMS
            and bool(i.get("value"))
            for i in _identifiers(patient)
        )


# A FHIR date or date-time as the IG writes them (seconds and offset required with a time):
# its day is read once (`records.local_date`); anything else goes through `local_date` whole.
_FHIR_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?", re.ASCII
)
_DAYS: dict[str, dt.date | None] = {}


def _fhir_date(value: object) -> dt.date | None:
    """The local date of a FHIR date or date-time as written (`records.local_date`)."""
    if type(value) is not str:
        return None
    if _FHIR_DATE.fullmatch(value) is None:
        return local_date(value)
    day = value[:10]
    try:
        return _DAYS[day]
    except KeyError:
        if len(_DAYS) > 100_000:  # a bound: about 270 years of days
            _DAYS.clear()
        found = _DAYS[day] = local_date(day)
        return found


def _rows(
    data: object, line: int | None = None
) -> tuple[dict[str, list[tuple]], list[tuple[str | None, str]]]:
    """The rows of one bundle, each ending with ``line``, and its problems as (column,
    message): no rows when any."""
    bundle = _Bundle(data)
    if bundle.problems:
        return {}, bundle.problems
    rows = _Parser(bundle, line).parse()
    return ({}, bundle.problems) if bundle.problems else (rows, [])


def _records(tables: dict[str, list]) -> Records:
    """`Records` of rows that end with a line (left out)."""
    rows = {name: [row[:-1] for row in tables.get(name, [])] for name in TABLES}
    return Records(**rows, documents=None, messages=None)


def parse_bundle(data: dict, where: str) -> Records:
    """The records of one TDDUI Bundle (parsed JSON); ``where`` names it in messages (a file,
    or a file and bundle number). Raises `ExportError` with every problem found: not a Bundle,
    not TDDUI, a followed reference that resolves to nothing, a séjour without FINESS, dossier
    id or entry date, an unreadable date, an unknown identity status, a NIR-shaped dossier id,
    an exit before the entry."""
    rows, problems = _rows(data)
    if problems:
        raise ExportError([Problem(where, None, c, m) for c, m in problems], kind=KIND)
    return _records(rows)


def parse_bundles(bundles: Iterable[dict], where: str) -> Records:
    """The records of several bundles (each resolved on its own), merged, duplicate rows once.
    All or nothing: every bundle's problems are gathered (``where, bundle n``) before raising."""
    tables: dict[str, dict[tuple, None]] = {name: {} for name in TABLES}
    problems: list[Problem] = []
    for number, data in enumerate(bundles, start=1):
        rows, found = _rows(data)
        problems += [Problem(f"{where}, bundle {number}", None, c, m) for c, m in found]
        for name, table in rows.items():
            tables[name].update(dict.fromkeys(table))
    if problems:
        raise ExportError(problems, kind=KIND)
    return _records({name: list(rows) for name, rows in tables.items()})


# --- files ---------------------------------------------------------------------------------
SUFFIXES = (".json", ".ndjson")
# What json's errors say (`json.JSONDecodeError.msg`), in French; the file's text is not in it.
_JSON_ERRORS = {
    "Expecting value": "valeur attendue",
    "Expecting ',' delimiter": "« , » attendue",
    "Expecting ':' delimiter": "« : » attendu",
    "Expecting property name enclosed in double quotes": "nom de propriété entre guillemets attendu",
    "Unterminated string starting at": "chaîne non terminée",
    "Invalid control character at": "caractère de contrôle dans une chaîne",
    "Invalid \\escape": "séquence d'échappement invalide",
    "Invalid \\uXXXX escape": "séquence \\uXXXX invalide",
    "Extra data": "contenu après la fin du JSON",
}


def is_fhir(path: Path) -> bool:
    """A file read as TDDUI FHIR bundles: ``.json`` (one Bundle, or a JSON array of them) or
    ``.ndjson`` (one Bundle per line)."""
    return path.suffix.lower() in SUFFIXES


def _loads(raw: bytes) -> tuple[object, tuple[int | None, int | None, str] | None]:
    """(parsed JSON, None), or (None, (line, column, message)) when ``raw`` cannot be read."""
    try:
        return json.loads(raw), None
    except json.JSONDecodeError as error:
        reason = _JSON_ERRORS.get(error.msg, "syntaxe invalide")
        return None, (error.lineno, error.colno, f"JSON illisible : {reason}")
    except UnicodeDecodeError:
        return None, (None, None, "texte illisible : UTF-8 attendu")
    except RecursionError:  # [[[[…]]]] nested deeper than Python's stack
        return None, (None, None, "JSON illisible : imbrication trop profonde")


def _bundles(path: Path) -> Iterator[tuple[int, object, tuple | None, bool]]:
    """Per bundle of ``path``: (number, parsed JSON, None, in an array), or (number, None,
    (line, column, message), False) for JSON that cannot be read. NDJSON is read line by
    line, a bundle's number is its line."""
    if path.suffix.lower() == ".ndjson":
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.isspace():
                    continue  # blank lines are no bundle (isspace: no copy of the line)
                data, unreadable = _loads(raw)
                if unreadable is not None:
                    # again without the line's end, which json counts as a line of its own
                    _, column, message = _loads(raw.rstrip(b"\r\n"))[1] or unreadable
                    unreadable = (number, column, message)
                yield number, data, unreadable, False
        return
    data, unreadable = _loads(path.read_bytes())
    if isinstance(data, list):  # an array of bundles: the n-th is bundle n
        for number, item in enumerate(data, start=1):
            yield number, item, None, True
    else:
        yield 1, data, unreadable, False


# The chunk tables: the `records` columns (dates as date32), then the bundle's line.
_TEXT, _DATE = pa.string(), pa.date32()
_SCHEMAS = {
    name: [(c, _DATE if kind == "date" else _TEXT) for c, kind in columns.items()]
    + [("line", pa.int32())]
    for name, columns in (
        ("sejours", SEJOURS_COLUMNS),
        ("ins", INS_COLUMNS),
        ("projets", PP_COLUMNS),
        ("evenements", EVENTS_COLUMNS),
    )
}


def _table(name: str, rows: list[tuple]) -> pa.Table:
    """The table ``name`` of ``rows`` (tuples of its columns, then the line)."""
    schema = _SCHEMAS[name]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.Table.from_arrays(
        [pa.array(c, kind) for c, (_, kind) in zip(columns, schema, strict=True)],
        names=[c for c, _ in schema],
    )


def iter_chunks(
    path: Path, file: str, bundles_per_chunk: int = 2000
) -> Iterator[dict[str, pa.Table]]:
    """The records of a TDDUI file, a chunk of tables per ``bundles_per_chunk`` bundles.

    ``path``: ``.ndjson`` (one Bundle per line, blank lines ignored; read line by line, so
    memory holds one chunk's rows whatever the file's size) or ``.json`` (one Bundle, or a
    JSON array of bundles). ``file`` names it in messages. Each chunk maps ``sejours``,
    ``ins``, ``projets``, ``evenements`` to a table of the `records` columns (dates as
    date32, canonical statuses) plus ``line`` (int32): the bundle's number in the file, its
    line for NDJSON. Each bundle is resolved on its own (`parse_bundle`).

    All or nothing: every bundle is read; problems (unreadable JSON with its line and column,
    not a Bundle, not TDDUI, a reference to nothing, an unreadable date, an unknown identity
    status, a NIR-shaped dossier id, an exit before the entry, …) are gathered, with the
    bundle's line and the resource as column, and raised as one `ExportError` (kind
    ``tddui``; the first `errors.MAX_LISTED` kept, all counted) after the whole file was read.
    Chunks may have been yielded by then: the caller writes them inside a transaction and
    rolls back. No chunk is yielded after the first problem. In a ``.json`` file only a JSON
    syntax error has a line (that of the text); a bundle of an array is named in the column
    (``bundle 2, Encounter/x``)."""
    if bundles_per_chunk < 1:
        raise ValueError(f"bundles_per_chunk {bundles_per_chunk}: 1 or more expected")
    ndjson = path.suffix.lower() == ".ndjson"
    problems: list[Problem] = []
    total = 0
    pending: dict[str, list[tuple]] = {name: [] for name in TABLES}
    count = read = 0
    for line, data, unreadable, array in _bundles(path):
        read += 1
        if unreadable is not None:
            where, column, message = unreadable
            found = [(str(column) if column else None, message)]
        else:
            rows, found = _rows(data, line)
            where = line if ndjson else None
            if found and array:
                found = [(f"bundle {line}, {c}" if c else f"bundle {line}", m) for c, m in found]
        if found:
            total += len(found)
            for column, message in found[: max(0, MAX_LISTED - len(problems))]:
                problems.append(Problem(file, where, column, message))
            continue
        if problems:
            continue  # the file is refused: its rows are of no use
        for name, table in rows.items():
            pending[name] += table
        count += 1
        if count == bundles_per_chunk:
            yield {name: _table(name, pending[name]) for name in TABLES}
            pending = {name: [] for name in TABLES}
            count = 0
    if not read:
        total += 1
        problems.append(Problem(file, None, None, "fichier vide : aucun Bundle FHIR"))
    if problems:
        raise ExportError(problems, total=total, kind=KIND)
    if count:
        yield {name: _table(name, pending[name]) for name in TABLES}
