"""Base counts from the DUI's own records (domain.md §6.1): the counting rules, as one DuckDB
statement (``sql/records_counts.sql``) over pseudonymised record tables.

This module owns the rules, not the files: readers (record tables, TDDUI FHIR bundles) turn
their input into `Records` (local dates, canonical statuses), and `count_base` gives the eight
base counts per ESMS and month, the windows read from the référentiel. What reads no direct
identifier cannot store one: `Records` has no place for a name, a birth date or an INS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass, field

import pandas as pd

from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store
from dui_metrics.text import normalize_key

SEJOURS = {"finess_et": "str", "dossier_id": "str", "date_entree": "date", "date_sortie": "date"}
INS = {"finess_et": "str", "dossier_id": "str", "statut": "str", "date_statut": "date"}
PP = {"finess_et": "str", "dossier_id": "str", "date_pp": "date"}
EVENTS = {"finess_et": "str", "dossier_id": "str", "date_evenement": "date", "statut": "str"}
DMP = {"finess_et": "str", "dossier_id": "str", "date_envoi": "date", "statut": "str"}
MSS = {"finess_et": "str", "date_message": "date", "sens": "str"}
TABLES = {
    "rec_sejours": ("sejours", SEJOURS),
    "rec_ins": ("ins", INS),
    "rec_pp": ("projets", PP),
    "rec_evenements": ("evenements", EVENTS),
    "rec_dmp": ("documents", DMP),
    "rec_mss": ("messages", MSS),
}

# Canonical statuses, from what files write (accents, case, spaces free: `normalize_key`).
INS_STATUSES = {
    "provisoire": "provisoire",
    "recuperee": "recuperee",
    "validee": "validee",
    "qualifiee": "qualifiee",
    # FHIR identityReliability codes (TDDUI): PROV, RECUP, VALI, QUAL
    "prov": "provisoire",
    "recup": "recuperee",
    "vali": "validee",
    "qual": "qualifiee",
}
EVENT_STATUSES = {"realise": "realise", "annule": "annule", "planifie": "planifie"}
DMP_STATUSES = {"envoye": "envoye", "accepte": "accepte", "erreur": "erreur", "refuse": "refuse"}
DIRECTIONS = {"envoye": "envoye", "recu": "recu"}
STATUS_COLUMNS = (
    ("rec_ins", "statut", INS_STATUSES),
    ("rec_evenements", "statut", EVENT_STATUSES),
    ("rec_dmp", "statut", DMP_STATUSES),
    ("rec_mss", "sens", DIRECTIONS),
)


def canonical(value: object, allowed: dict[str, str]) -> str | None:
    """The canonical status of ``value`` ("Qualifiée" → "qualifiee"), None when unknown."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return allowed.get(normalize_key(str(value)))


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_FRENCH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: \d{1,2}[:h]\d{2}(?::\d{2})?)?")


def local_date(text: object) -> dt.date | None:
    """The local date of a date or date-time as written: ``2025-04-01T00:30:00+02:00`` is the
    1st of April (never converted to UTC, which would give the 31st of March);
    ``JJ/MM/AAAA``, ``JJ/MM/AAAA HH:MM``, ISO dates and FHIR date-times are accepted. None for
    anything else (the reader words the error)."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    value = str(text).strip()
    try:
        if match := _ISO.fullmatch(value):
            return dt.date(*map(int, match.groups()))
        if match := _FRENCH.fullmatch(value):
            day, month, year = map(int, match.groups())
            return dt.date(year, month, day)
    except ValueError:  # 31/02/2025
        return None
    return None


def _frame(rows: list | pd.DataFrame | None, columns: dict[str, str]) -> pd.DataFrame:
    """A table of ``columns`` (text or date), empty when ``rows`` is None."""
    if isinstance(rows, pd.DataFrame):
        # by position: a frame with gaps in its index (rows dropped) must not be realigned
        rows = rows.reset_index(drop=True)
    frame = pd.DataFrame(rows if rows is not None else [], columns=list(columns))
    out = {}
    for name, kind in columns.items():
        values = frame[name] if name in frame else pd.Series([], dtype=object)
        if kind == "date":
            out[name] = pd.Series(
                [None if v is None or (isinstance(v, float) and pd.isna(v)) else local_date(v)
                 for v in values],
                dtype="object",
            )  # fmt: skip
        else:
            out[name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, columns=list(columns))


@dataclass
class Records:
    """Pseudonymised records of one extract: lists of tuples or frames with the columns of
    `SEJOURS`, `INS`, `PP`, `EVENTS`, `DMP`, `MSS`. ``documents`` or ``messages`` None: the
    input cannot carry them (a TDDUI bundle has no DMP nor MSSanté resource), and their
    counts are missing, never zero."""

    sejours: list | pd.DataFrame | None = None
    ins: list | pd.DataFrame | None = None
    projets: list | pd.DataFrame | None = None
    evenements: list | pd.DataFrame | None = None
    documents: list | pd.DataFrame | None = None
    messages: list | pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tables = {
            name: _frame(getattr(self, attribute), columns)
            for name, (attribute, columns) in TABLES.items()
        }
        # Statuses as files write them ("Qualifiée", "ANNULÉ", "QUAL") made canonical; the
        # readers refuse an unknown one before it gets here.
        for name, column, allowed in STATUS_COLUMNS:
            table = self.tables[name]
            table[column] = [canonical(v, allowed) for v in table[column]]


def count_base(store: Store, ref: Referentiel, records: Records) -> pd.DataFrame:
    """The eight base counts per ESMS and month of ``records`` (domain.md §6.1), with the
    référentiel's activity window and PP validity. Columns: finess_et, periode (date),
    indicateur, valeur; sorted. DMP and MSSanté counts only when the records carry them."""
    import pyarrow as pa

    types = {"str": pa.string(), "date": pa.date32()}
    for name, (_, columns) in TABLES.items():
        frame = records.tables[name]
        schema = pa.schema([(c, types[k]) for c, k in columns.items()])
        store.register(name, pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
    windows = {"activite": ref.activity_window_months, "validite_pp": ref.pp_window_months}
    carried = {"dmp": records.documents is not None, "mss": records.messages is not None}
    try:
        store.register("rec_scope", store.arrow("records_scope_extract", carried))
        result = store.query("records_counts", windows).df()
    finally:
        for name in (*TABLES, "rec_scope"):
            with contextlib.suppress(Exception):
                store.unregister(name)
    result["periode"] = pd.to_datetime(result["periode"]).dt.date
    return result
