"""Record tables (issue 14): the DUI's pseudonymised records as CSV, XLSX or Parquet tables,
read with the usage exports' tolerance (separators, encodings, French headers and dates),
checked cell by cell, and turned into `records.Records` for `records.count_base`.

Five tables, told apart by their columns (one per file):
- ``dossiers``: finess_et, dossier_id, date_entree [, date_sortie, ins_statut, date_statut_ins]
  — one row per séjour, with the dossier's last known INS status and the date it took effect;
- ``projets_personnalises``: finess_et, dossier_id, date_pp;
- ``evenements``: finess_et, dossier_id, date_evenement [, type, statut];
- ``documents_dmp``: finess_et, dossier_id, date_envoi, statut;
- ``messages_mss``: finess_et, date_message, sens.
A file is accepted whole or refused whole, with every problem's line and column. No direct
identifier is read: a column of names, birth dates, addresses… refuses the file (the rule of
the usage exports), and so does a ``dossier_id`` shaped like a NIR.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from dui_metrics import records
from dui_metrics.errors import ExportError, Problem
from dui_metrics.finess import is_valid_finess, normalize_finess
from dui_metrics.ingest import readers
from dui_metrics.ingest.columns import canonical as usage_canonical
from dui_metrics.ingest.columns import map_headers
from dui_metrics.text import normalize_key

DOSSIERS, PP, EVENTS, DMP, MSS = (
    "dossiers",
    "projets_personnalises",
    "evenements",
    "documents_dmp",
    "messages_mss",
)
# kind → (required columns, optional columns)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    DOSSIERS: (
        ("finess_et", "dossier_id", "date_entree"),
        ("date_sortie", "ins_statut", "date_statut_ins"),
    ),
    PP: (("finess_et", "dossier_id", "date_pp"), ()),
    EVENTS: (("finess_et", "dossier_id", "date_evenement"), ("type", "statut")),
    DMP: (("finess_et", "dossier_id", "date_envoi", "statut"), ()),
    MSS: (("finess_et", "date_message", "sens"), ()),
}
# The column that tells each kind apart.
_MARKERS = {
    "date_entree": DOSSIERS,
    "date_pp": PP,
    "date_evenement": EVENTS,
    "date_envoi": DMP,
    "date_message": MSS,
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "dossier_id": (
        "dossier_id",
        "dossier",
        "id dossier",
        "identifiant dossier",
        "numero dossier",
        "n dossier",
        "identifiant local",
        "identifiant usager local",
    ),
    "date_entree": ("date_entree", "date d entree", "entree", "date admission"),
    "date_sortie": ("date_sortie", "date de sortie", "sortie"),
    "ins_statut": ("ins_statut", "statut ins", "statut identite", "statut de l ins"),
    "date_statut_ins": ("date_statut_ins", "date statut ins", "date du statut ins"),
    "date_pp": (
        "date_pp",
        "date projet personnalise",
        "date du projet personnalise",
        "date pp",
    ),
    "date_evenement": ("date_evenement", "date evenement", "date de l evenement"),
    "type": ("type", "type evenement", "type d evenement"),
    "statut": ("statut", "statut evenement", "statut document", "statut envoi"),
    "date_envoi": ("date_envoi", "date d envoi", "date envoi dmp"),
    "date_message": ("date_message", "date du message", "date message"),
    "sens": ("sens", "direction", "sens du message"),
}
_LOOKUP = {normalize_key(s): c for c, names in SYNONYMS.items() for s in names}
STATUSES = {
    ("ins_statut", DOSSIERS): records.INS_STATUSES,
    ("statut", EVENTS): records.EVENT_STATUSES,
    ("statut", DMP): records.DMP_STATUSES,
    ("sens", MSS): records.DIRECTIONS,
}
DATE_COLUMNS = {"date_entree", "date_sortie", "date_statut_ins", "date_pp", "date_evenement"}
DATE_COLUMNS |= {"date_envoi", "date_message"}
# A NIR: 13 digits (15 with its key), first digit 1 or 2 (7 or 8 for a temporary number).
_NIR_SHAPED = re.compile(r"[1278]\d{12}(?:\d{2})?")


def column_of(header: str) -> str | None:
    """The canonical record column of a header (FINESS as the usage exports say it)."""
    found = _LOOKUP.get(normalize_key(header))
    if found is None and usage_canonical(header) == "finess_et":
        return "finess_et"
    return found


def detect_kind(file: str, headers: list[str]) -> tuple[str, dict[str, int], list[Problem]]:
    """The kind of a record table from its header, its columns by position, and the header's
    problems (``ligne 1``). An empty kind: not a record table (no problem said then)."""
    names, positions, problems = map_headers(
        file,
        headers,
        column_of,
        "ne garde des dossiers que leur identifiant local et des dates",
    )
    unknown = [headers[p] for p in positions if str(headers[p]).strip()]
    kinds = {_MARKERS[n] for n in names if n in _MARKERS}
    if len(kinds) != 1:
        if len(kinds) > 1:
            problems.append(
                Problem(
                    file,
                    1,
                    None,
                    "colonnes de plusieurs tables de dossiers ("
                    + ", ".join(sorted(kinds))
                    + ") : une table par fichier",
                )
            )
        return "", names, problems
    kind = kinds.pop()
    required, optional = KINDS[kind]
    for column in required:
        if column not in names:
            problems.append(Problem(file, 1, None, f"colonne obligatoire absente : {column}"))
    for header in unknown:
        problems.append(
            Problem(
                file,
                1,
                header,
                f"colonne inconnue pour une table « {kind} » ; colonnes attendues : "
                + ", ".join(required + optional),
            )
        )
    for name in names:
        if name not in required + optional:
            problems.append(
                Problem(file, 1, headers[names[name]], f"colonne inattendue dans « {kind} »")
            )
    return kind, names, problems


def read_record_table(
    path: Path, file: str, caps: readers.Caps | None = None
) -> tuple[str, pd.DataFrame]:
    """Read and check one record table: (kind, frame of its canonical columns, dates as
    dates, statuses canonical, FINESS on 9 characters). Raises `ExportError` with every
    problem (line, column, what was expected) when anything is wrong."""
    raw = readers.read(path, file, caps=caps)
    kind, names, problems = detect_kind(file, raw.headers)
    if not kind and not problems:
        problems = [
            Problem(
                file,
                1,
                None,
                "table de dossiers non reconnue d'après ses colonnes ; attendu l'une de : "
                + " ; ".join(f"{k} ({', '.join(KINDS[k][0])})" for k in KINDS),
            )
        ]
    if problems:
        raise ExportError(problems, kind=kind)
    lines = raw.table.column("_line").to_pylist()
    cells = {name: raw.column(pos).to_pylist() for name, pos in names.items()}
    out: dict[str, list] = {name: [] for name in cells}
    for row, line in enumerate(lines):
        values = {name: _blank(column[row]) for name, column in cells.items()}
        for name, value in values.items():
            out[name].append(_checked(file, line, kind, name, value, values, problems))
    if problems:
        raise ExportError(problems, kind=kind)
    # object columns: a missing value is None, never NaN
    return kind, pd.DataFrame({name: pd.Series(v, dtype=object) for name, v in out.items()})


def _blank(value: object) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def _checked(file, line, kind, name, value, row, problems) -> object:
    """The typed value of one cell, or None with a problem added."""
    required = name in KINDS[kind][0]
    if value is None:
        if required:
            problems.append(Problem(file, line, name, "valeur manquante"))
        return None
    if name == "finess_et":
        finess = normalize_finess(value)
        if finess is None or not is_valid_finess(finess):
            problems.append(
                Problem(file, line, name, f"FINESS invalide « {value} » : 9 caractères attendus")
            )
        return finess
    if name == "dossier_id":
        if _NIR_SHAPED.fullmatch(value.replace(" ", "")):
            problems.append(
                Problem(
                    file,
                    line,
                    name,
                    "identifiant de dossier refusé : il a la forme d'un NIR (13 ou 15 chiffres) ; "
                    "exportez l'identifiant local du dossier dans le DUI",
                )
            )
            return None
        return value
    if name in DATE_COLUMNS:
        day = records.local_date(value)
        if day is None:
            problems.append(
                Problem(
                    file,
                    line,
                    name,
                    f"date illisible « {value} » : JJ/MM/AAAA, JJ/MM/AAAA HH:MM ou AAAA-MM-JJ "
                    "attendu",
                )
            )
        elif name == "date_sortie":
            entry = records.local_date(row.get("date_entree") or "")
            if entry is not None and day < entry:
                problems.append(
                    Problem(
                        file,
                        line,
                        name,
                        f"sortie le {day:%d/%m/%Y} avant l'entrée le {entry:%d/%m/%Y}",
                    )
                )
        return day
    if name == "ins_statut" and row.get("date_statut_ins") is None:
        problems.append(
            Problem(
                file, line, "date_statut_ins", "statut INS sans la date à laquelle il a pris effet"
            )
        )
    allowed = STATUSES.get((name, kind))
    if allowed is not None:
        status = records.canonical(value, allowed)
        if status is None:
            expected = ", ".join(sorted(set(allowed.values())))
            problems.append(
                Problem(file, line, name, f"valeur inconnue « {value} » ; attendues : {expected}")
            )
        return status
    return value  # type: free text, never counted


def records_of(tables: dict[str, pd.DataFrame]) -> records.Records:
    """`records.Records` of the record tables read (kind → frame). Tables not given are
    empty, except DMP documents and MSSanté messages, which stay None (not carried: their
    counts are missing, not zero)."""
    dossiers = tables.get(DOSSIERS, pd.DataFrame(columns=list(records.SEJOURS)))
    sejours = dossiers.reindex(columns=list(records.SEJOURS))
    ins = dossiers.reindex(columns=["finess_et", "dossier_id", "ins_statut", "date_statut_ins"])
    ins = ins.dropna(subset=["ins_statut"]).rename(
        columns={"ins_statut": "statut", "date_statut_ins": "date_statut"}
    )
    return records.Records(
        sejours=sejours,
        ins=ins,
        projets=tables.get(PP),
        evenements=tables[EVENTS].reindex(columns=list(records.EVENTS))
        if EVENTS in tables
        else None,
        documents=tables.get(DMP),
        messages=tables.get(MSS),
    )
