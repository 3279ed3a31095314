"""ANS TDDUI FHIR R4 bundles (« Médicosocial – Transfert de données DUI ») → `records.Records`.

Parsing only: one Bundle, already read as JSON, becomes pseudonymised record rows (no storage
here). Mapping notes: ``../shared/reference/tddui/README.md``; counting rules: domain.md §6.1.

- séjours: Encounter ``tddui-encounter-sejour``: FINESS from ``serviceProvider`` → Organization
  ``identifier`` idNatSt minus its first character (``1480787529`` → ``480787529``), dates from
  ``period``; ``dossier_id`` is the subject Patient's ``PI`` identifier value, kept as written
  (the DUI's local id, which the OG needs to find the record);
- INS: the Patient's ``fr-core-identity-reliability`` ``identityStatus``, one row per ESMS where
  the patient has a séjour;
- événements: Encounter ``tddui-encounter-evenement``, local date of ``period.start``,
  ``status``;
- projets personnalisés: CarePlan ``tddui-careplan-projet-personnalise``, ``period.start``;
- no DMP document nor MSSanté message: TDDUI carries neither, so their counts stay missing.

Privacy (domain.md §7): only identifiers, references, codes and dates named above are read.
``name``, ``birthDate``, ``address``, ``telecom``, the INS-NIR / INS-NIA values (only their
presence is checked) and narratives (``text``, free-text extensions) are never read, so they
can be neither returned nor quoted in a message. Only references this mapping follows are
resolved: the official example's événement points to a ``Location`` that is not in its bundle,
which is not an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dui_metrics import finess
from dui_metrics.errors import ExportError, Problem
from dui_metrics.records import INS_STATUSES, Records, canonical, local_date

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
EVENT_STATUSES = {"cancelled": "annule", "entered-in-error": "annule", "planned": "planifie"}


class _Bundle:
    """One bundle's resources, its references resolved, its problems collected."""

    def __init__(self, data: object, where: str) -> None:
        self.where = where
        self.problems: list[Problem] = []
        self.resources: list[tuple[str, dict]] = []  # (fullUrl or "", resource)
        self.by_url: dict[str, dict] = {}
        self.by_type_id: dict[tuple[str, str], dict] = {}
        self.base_of: dict[int, str] = {}  # id(resource) → base of its RESTful fullUrl
        self.bundle: dict | None = data if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            self.bundle = None
            self.problem(
                None, "ce contenu n'est pas un Bundle FHIR (resourceType « Bundle » attendu)"
            )
            return
        entries = data.get("entry") or []
        if not isinstance(entries, list):
            self.problem(data, "Bundle.entry n'est pas une liste")
            return
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue  # an entry without a resource (a request only): nothing to read
            url = entry.get("fullUrl")
            url = url if isinstance(url, str) else ""
            self.resources.append((url, resource))
            if url:
                self.by_url[url] = resource
                kind, ident = _str(resource.get("resourceType")), _str(resource.get("id"))
                if (
                    kind
                    and ident
                    and not url.startswith("urn:")
                    and url.endswith(f"/{kind}/{ident}")
                ):
                    self.base_of[id(resource)] = url[: -len(f"{kind}/{ident}")]
            if isinstance(resource.get("resourceType"), str) and isinstance(
                resource.get("id"), str
            ):
                self.by_type_id[(resource["resourceType"], resource["id"])] = resource
        if not any(_profiles(r) for _, r in self.resources):
            self.problem(
                data,
                "ce Bundle n'est pas un export TDDUI : aucune ressource n'a de profil "
                f"« {TDDUI_PROFILE}… »",
            )

    def problem(self, resource: dict | None, message: str) -> None:
        name = _name(resource) if resource is not None else None
        # a bundle-level problem: the message is about the whole content
        text = f"{name} : {message}" if name and resource is not self.bundle else message
        self.problems.append(Problem(file=self.where, line=None, column=name, message=text))

    def resolve(self, resource: dict, element: str, kind: str) -> dict | None:
        """The resource that ``resource.<element>`` references, of type ``kind``: relative
        ``Type/id`` against the base of the referencing entry's fullUrl (then any entry of that
        type and id), absolute URLs and ``urn:uuid:`` against fullUrl. None (problem noted)
        when it resolves to nothing."""
        value = resource.get(element)
        ref = value.get("reference") if isinstance(value, dict) else None
        if not isinstance(ref, str) or not ref:
            self.problem(resource, f"référence {element} absente")
            return None
        target = self.by_url.get(ref)
        if target is None and "://" not in ref and not ref.startswith("urn:"):
            base = self.base_of.get(id(resource))
            target = self.by_url.get(base + ref) if base else None
            parts = ref.split("/")
            if target is None and len(parts) in (2, 4):  # Type/id or Type/id/_history/v
                target = self.by_type_id.get((parts[0], parts[1]))
        if target is None or _str(target.get("resourceType")) != kind:
            self.problem(resource, f"référence {element} « {ref} » introuvable dans le bundle")
            return None
        return target


def _str(value: object) -> str | None:
    """``value`` when it is text (malformed JSON may put a list or an object anywhere)."""
    return value if isinstance(value, str) else None


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


def _kind(resource: dict) -> str | None:
    """SEJOUR, EVENEMENT, PP or None: by meta.profile, else by business identifier (system,
    or type ``SEJ`` for a séjour)."""
    for profile in _profiles(resource):
        if profile in (SEJOUR, EVENEMENT, PP):
            return profile
    for identifier in _identifiers(resource):
        if _str(identifier.get("system")) in SYSTEMS:
            return SYSTEMS[identifier["system"]]
        if resource.get("resourceType") == "Encounter" and "SEJ" in _type_codes(identifier):
            return SEJOUR
    return None


class _Parser:
    def __init__(self, bundle: _Bundle) -> None:
        self.b = bundle

    def dossier_id(self, patient: dict) -> str | None:
        for identifier in _identifiers(patient):
            if _str(identifier.get("system")) == LOCAL_ID_SYSTEM or "PI" in _type_codes(identifier):
                value = identifier.get("value")
                if isinstance(value, str) and value.strip():
                    return value.strip()
        return None

    def finess(self, resource: dict) -> str | None:
        """The FINESS of ``resource.serviceProvider`` (problem noted when it has none)."""
        org = self.b.resolve(resource, "serviceProvider", "Organization")
        if org is None:
            return None
        for identifier in _identifiers(org):
            if _str(identifier.get("system")) == IDNST_SYSTEM or "IDNST" in _type_codes(identifier):
                value = identifier.get("value")
                # idNatSt is "1" + FINESS (the IG's example: 1480787529): drop the first digit
                code = value.strip()[1:] if isinstance(value, str) else ""
                if finess.is_valid_finess(code):
                    return code
                self.b.problem(
                    resource,
                    f"l'identifiant idNatSt de {_name(org)} ne donne pas un FINESS "
                    "(« 1 » suivi des 9 caractères du FINESS attendu)",
                )
                return None
        self.b.problem(resource, f"{_name(org)} n'a pas d'identifiant idNatSt (FINESS)")
        return None

    def date(self, resource: dict, element: str, value: object) -> dt.date | None:
        """The local date of ``value`` (FHIR date or date-time); a problem when unreadable.
        The value itself is not quoted."""
        found = local_date(value) if isinstance(value, str) else None
        if found is None:
            self.b.problem(
                resource, f"{element} n'est pas une date (AAAA-MM-JJ ou date-heure FHIR attendue)"
            )
        return found

    def period(self, resource: dict) -> dict:
        period = resource.get("period")
        return period if isinstance(period, dict) else {}

    def parse(self) -> Records:
        b = self.b
        sejours: list[tuple] = []
        sejours_of: dict[int, list[tuple]] = {}  # id(Patient) → its séjours
        sejour_finess: dict[int, str] = {}  # id(Encounter séjour) → FINESS
        patients: dict[int, tuple[dict, str]] = {}  # id(Patient) → (Patient, dossier_id)
        kinds = [(resource, _kind(resource)) for _, resource in b.resources]
        kinds = [(r, k) for r, k in kinds if k and _str(r.get("resourceType")) == RESOURCE_TYPES[k]]

        def patient_of(resource: dict) -> tuple[dict, str] | None:
            patient = b.resolve(resource, "subject", "Patient")
            if patient is None:
                return None
            dossier = self.dossier_id(patient)
            if dossier is None:
                b.problem(
                    resource,
                    f"{_name(patient)} n'a pas d'identifiant local PI (système "
                    f"{LOCAL_ID_SYSTEM}) : pas d'identifiant de dossier",
                )
                return None
            patients[id(patient)] = (patient, dossier)
            return patient, dossier

        for resource, kind in kinds:
            if kind != SEJOUR:
                continue
            found = patient_of(resource)
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
            row = (code, found[1], entree, sortie)
            sejours.append(row)
            sejours_of.setdefault(id(found[0]), []).append(row)
            sejour_finess[id(resource)] = code

        ins = [row for key in patients for row in self.ins(*patients[key], sejours_of.get(key, []))]

        evenements: list[tuple] = []
        for resource, kind in kinds:
            if kind != EVENEMENT:
                continue
            found = patient_of(resource)
            period = self.period(resource)
            if "start" not in period:
                b.problem(resource, "period.start absent : pas de date d'événement")
                continue
            day = self.date(resource, "period.start", period["start"])
            code = self.event_finess(resource, found, sejours_of, sejour_finess)
            if found is None or day is None or code is None:
                continue
            status = EVENT_STATUSES.get(_str(resource.get("status")) or "", "realise")
            evenements.append((code, found[1], day, status))

        projets: list[tuple] = []
        for resource, kind in kinds:
            if kind != PP:
                continue
            found = patient_of(resource)
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
                projets.append((code, found[1], day))

        if b.problems:
            raise ExportError(b.problems)
        return Records(
            sejours=sejours,
            ins=ins,
            projets=projets,
            evenements=evenements,
            documents=None,
            messages=None,
        )

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
            if _kind(sejour) != SEJOUR:
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
        if status is None or status in OTHER_0445 or not sejours:
            return []  # no RNIV status known: not qualified (no row)
        statut = canonical(status, INS_STATUSES)
        if statut is None:
            self.b.problem(
                patient, f"statut d'identité « {status} » inconnu (PROV, RECUP, VALI, QUAL)"
            )
            return []
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
            (code, dossier, statut, day or min(row[2] for row in sejours if row[0] == code))
            for code in dict.fromkeys(row[0] for row in sejours)
        ]

    def has_official_ins(self, patient: dict) -> bool:
        """An INS-NIR or INS-NIA identifier is present (its value is not read beyond that)."""
        return any(
            (_str(i.get("system")) in INS_SYSTEMS or _type_codes(i) & INS_TYPES)
            and _str(i.get("system"))
            not in {"urn:oid:1.2.250.1.213.1.4.10", "urn:oid:1.2.250.1.213.1.4.11"}
            and bool(i.get("value"))
            for i in _identifiers(patient)
        )


def parse_bundle(data: dict, where: str) -> Records:
    """The records of one TDDUI Bundle (parsed JSON); ``where`` names it in messages (a file,
    or a file and bundle number). Raises `ExportError` with every problem found: not a Bundle,
    not TDDUI, a followed reference that resolves to nothing, a séjour without FINESS, dossier
    id or entry date, an unreadable date."""
    bundle = _Bundle(data, where)
    if bundle.problems:
        raise ExportError(bundle.problems)
    return _Parser(bundle).parse()


def parse_bundles(bundles: Iterable[dict], where: str) -> Records:
    """The records of several bundles (each resolved on its own), merged, duplicate rows once.
    All or nothing: every bundle's problems are gathered (``where, bundle n``) before raising."""
    tables: dict[str, dict[tuple, None]] = {
        "sejours": {},
        "ins": {},
        "projets": {},
        "evenements": {},
    }
    problems: list[Problem] = []
    for number, data in enumerate(bundles, start=1):
        try:
            records = parse_bundle(data, f"{where}, bundle {number}")
        except ExportError as error:
            problems.extend(error.problems)
            continue
        for name, rows in tables.items():
            rows.update(dict.fromkeys(getattr(records, name)))
    if problems:
        raise ExportError(problems)
    return Records(
        **{name: list(rows) for name, rows in tables.items()}, documents=None, messages=None
    )
