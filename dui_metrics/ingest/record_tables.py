"""Record tables (issue 14): the DUI's pseudonymised records as CSV, XLSX or Parquet tables,
read with the usage exports' tolerance (separators, encodings, French headers and dates),
checked column by column (`check`: pyarrow, Python once per distinct value), and turned into
`records.Records` for `records.count_base`.

Five tables, told apart by their columns (one per file):
- ``dossiers``: finess_et, dossier_id, date_entree [, date_sortie, ins_statut, date_statut_ins]
  — one row per séjour, with the dossier's last known INS status and the date it took effect;
- ``projets_personnalises``: finess_et, dossier_id, date_pp;
- ``evenements``: finess_et, dossier_id, date_evenement [, type, statut];
- ``documents_dmp``: finess_et, dossier_id, date_envoi, statut;
- ``messages_mss``: finess_et, date_message, sens.
A file is accepted whole or refused whole, with its first problems' line and column and
the count of all of them. No direct identifier is read: a column of names, birth dates,
addresses… refuses the file (the rule of the usage exports), and so does a ``dossier_id``
shaped like a NIR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics import records
from dui_metrics.errors import MAX_LISTED, ExportError, Problem
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


def column_of(header: str) -> str | None:
    """The canonical record column of a header (FINESS as the usage exports say it)."""
    found = _LOOKUP.get(normalize_key(header))
    if found is None and usage_canonical(header) == "finess_et":
        return "finess_et"
    return found


def detect_kind(
    file: str, headers: list[str], line: int = 1
) -> tuple[str, dict[str, int], list[Problem]]:
    """The kind of a record table from its header, its columns by position, and the header's
    problems (on its ``line``). An empty kind: not a record table (no problem said then)."""
    names, positions, problems = map_headers(
        file,
        headers,
        column_of,
        "ne garde des dossiers que leur identifiant local et des dates",
        line,
    )
    unknown = [headers[p] for p in positions if str(headers[p]).strip()]
    kinds = {_MARKERS[n] for n in names if n in _MARKERS}
    if len(kinds) != 1:
        if len(kinds) > 1:
            problems.append(
                Problem(
                    file,
                    line,
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
            problems.append(Problem(file, line, None, f"colonne obligatoire absente : {column}"))
    for header in unknown:
        problems.append(
            Problem(
                file,
                line,
                header,
                f"colonne inconnue pour une table « {kind} » ; colonnes attendues : "
                + ", ".join(required + optional),
            )
        )
    for name in names:
        if name not in required + optional:
            problems.append(
                Problem(file, line, headers[names[name]], f"colonne inattendue dans « {kind} »")
            )
    return kind, names, problems


def read_record_table(
    path: Path, file: str, caps: readers.Caps | None = None
) -> tuple[str, pa.Table]:
    """Read, recognise and check one record table: (kind, `check`'s table). Raises
    `ExportError` with every problem (line, column, what was expected) when anything is
    wrong, or when the columns are those of no record table."""
    raw = readers.read(path, file, caps=caps)
    kind, names, problems = detect_kind(file, raw.headers, raw.header_line)
    if not kind and not problems:
        problems = [
            Problem(
                file,
                raw.header_line,
                None,
                "table de dossiers non reconnue d'après ses colonnes ; attendu l'une de : "
                + " ; ".join(f"{k} ({', '.join(KINDS[k][0])})" for k in KINDS),
            )
        ]
    if problems:
        raise ExportError(problems, kind=kind)
    return kind, check(raw, kind, names)


# --- checking, column by column ----------------------------------------------------------
# The checked table of each kind: its columns in order (``line`` last), date columns as
# date32, the others as text. ``type`` (events) is read but never returned: free text.
COLUMNS: dict[str, tuple[str, ...]] = {
    DOSSIERS: (
        "finess_et", "dossier_id", "date_entree", "date_sortie", "ins_statut", "date_statut_ins",
    ),
    PP: ("finess_et", "dossier_id", "date_pp"),
    EVENTS: ("finess_et", "dossier_id", "date_evenement", "statut"),
    DMP: ("finess_et", "dossier_id", "date_envoi", "statut"),
    MSS: ("finess_et", "date_message", "sens"),
}  # fmt: skip
_MISSING = "valeur manquante"
_BAD_DATE = "date illisible « {} » : JJ/MM/AAAA, JJ/MM/AAAA HH:MM ou AAAA-MM-JJ attendu"
_BAD_FINESS = "FINESS invalide « {} » : 9 caractères attendus"
_NIR_MESSAGE = (
    "identifiant de dossier refusé : il a la forme d'un NIR (13 ou 15 chiffres) ; "
    "exportez l'identifiant local du dossier dans le DUI"
)
_INS_WITHOUT_DATE = "statut INS sans la date à laquelle il a pris effet"
# text.NIR_SHAPED_ID once the spaces are removed, in RE2 (pyarrow): spaces anywhere between the
# digits; \p{Nd} is every decimal digit, as Python's \d in a str pattern.
_NIR_RE2 = r"^ *[1278](?: *\p{Nd}){12}(?:(?: *\p{Nd}){2})? *$"
# The date-times `records.local_date` reads, ASCII-written with a two-digit day and month:
# their first ten characters are the date (JJ/MM/AAAA or AAAA-MM-JJ), read alike alone.
# Every value this accepts, `records.local_date` accepts too (\d there is any digit).
_DATE_TIME_RE2 = (
    r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
    r"|[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{1,2}[:h][0-9]{2}(?::[0-9]{2})?)$"
)


@dataclass
class _Finding:
    """Rows of one kind of problem: a mask over the rows and how to word one of them."""

    column: str
    rows: np.ndarray  # bool, one per row
    message: Callable[[int], str]  # row index → French message


def check(raw: readers.RawTable, kind: str, names: dict[str, int]) -> pa.Table:
    """The checked, typed table of a record table read by `readers.read`, recognised by
    `detect_kind` (``names``: its columns by position): the columns of `COLUMNS` [kind],
    FINESS on 9 characters, dates as the local date written, statuses canonical, absent
    optional columns all null, and ``line`` (int32, the file's line).

    Raises `ExportError` with the first problems (by line, then column: `MAX_LISTED`) and
    their total. Every rule is checked on whole columns (pyarrow kernels, numpy masks): the
    cell-by-cell Python loop it replaces took 4 minutes and 7 GiB for 10 M events. Python
    sees only the distinct values of the FINESS, date and status columns (the rules of
    `normalize_finess`, `records.local_date` and `records.canonical` themselves, a few
    thousand calls) and the rows of the problems listed."""
    file = raw.file
    required = KINDS[kind][0]
    rows = raw.num_rows
    text = {name: _text(raw.column(pos)) for name, pos in names.items() if name != "type"}
    findings: list[_Finding] = []
    out: dict[str, pa.ChunkedArray | pa.Array] = {}

    def cell(name: str, row: int) -> object:
        return text[name][row].as_py()

    for name in COLUMNS[kind]:
        if name not in text:
            out[name] = pa.nulls(rows, pa.date32() if name in DATE_COLUMNS else pa.string())
            continue
        column = text[name]
        present = _valid(column)
        if name in required and not present.all():
            findings.append(_Finding(name, ~present, lambda row: _MISSING))
        if name == "finess_et":
            out[name], bad = _finess(column)
            findings.append(
                _Finding(name, bad, lambda row, n=name: _BAD_FINESS.format(cell(n, row)))
            )
        elif name == "dossier_id":
            out[name], nir = _not_nir(column)
            findings.append(_Finding(name, nir, lambda row: _NIR_MESSAGE))
        elif name in DATE_COLUMNS:
            out[name] = _local_dates(column)
            bad = _lost(column, out[name])
            findings.append(_Finding(name, bad, lambda row, n=name: _BAD_DATE.format(cell(n, row))))
        else:
            allowed = STATUSES[(name, kind)]
            out[name] = _canonical(column, allowed)
            bad = _lost(column, out[name])
            expected = ", ".join(sorted(set(allowed.values())))
            findings.append(
                _Finding(
                    name,
                    bad,
                    lambda row, n=name, e=expected: (
                        f"valeur inconnue « {cell(n, row)} » ; attendues : {e}"
                    ),
                )
            )
    if kind == DOSSIERS:
        entry, exit_ = out["date_entree"], out["date_sortie"]
        early = pc.fill_null(pc.less(exit_, entry), False)
        findings.append(
            _Finding(
                "date_sortie",
                _numpy(early),
                lambda row: (
                    f"sortie le {exit_[row].as_py():%d/%m/%Y} avant l'entrée le "
                    f"{entry[row].as_py():%d/%m/%Y}"
                ),
            )
        )
        if "ins_statut" in text:
            # an empty cell, not an unreadable date (that one is said as such)
            dated = _valid(text["date_statut_ins"]) if "date_statut_ins" in text else False
            undated = _valid(text["ins_statut"]) & ~dated
            findings.append(_Finding("date_statut_ins", undated, lambda row: _INS_WITHOUT_DATE))
    lines = raw.table.column("_line")
    _raise_problems(file, kind, lines, findings)
    out["line"] = pc.cast(lines, pa.int32())
    return pa.table(out)


def _raise_problems(file: str, kind: str, lines: pa.ChunkedArray, findings: list[_Finding]) -> None:
    """Raise `ExportError` with the first `MAX_LISTED` problems by (line, column, message)
    and their total, if there are any: only the rows holding them are worded."""
    findings = [f for f in findings if f.rows.any()]
    if not findings:
        return
    total = sum(int(f.rows.sum()) for f in findings)
    anywhere = np.logical_or.reduce([f.rows for f in findings])
    candidates = np.flatnonzero(anywhere)
    line_of = _numpy(lines)
    if len(candidates) > MAX_LISTED:
        # each row holds a problem at least: the MAX_LISTED first lines hold the first ones
        nearest = np.argpartition(line_of[candidates], MAX_LISTED - 1)[:MAX_LISTED]
        candidates = candidates[nearest]
    problems = [
        Problem(file, int(line_of[row]), f.column, f.message(int(row)))
        for row in candidates
        for f in findings
        if f.rows[row]
    ]
    problems.sort(key=lambda p: (p.line or 0, p.column or "", p.message))
    raise ExportError(problems[:MAX_LISTED], total, kind=kind)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as pa.string() (the readers give it; a large or view string is cast)."""
    return column if column.type == pa.string() else column.cast(pa.string())


def _numpy(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return values.to_numpy(zero_copy_only=False) if len(values) else np.zeros(0, bool)


def _valid(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if values.null_count == 0:
        return np.ones(len(values), bool)  # the usual column: no bitmap read
    return _numpy(pc.is_valid(values))


def _lost(before: pa.ChunkedArray, after: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Where a value of ``before`` gave a null ``after`` (``after`` is null wherever
    ``before`` is): none when both hold as many nulls."""
    if after.null_count == before.null_count:
        return np.zeros(len(before), bool)
    return _valid(before) & ~_valid(after)


def _distinct(column: pa.ChunkedArray) -> tuple[list, list[pa.Array]]:
    """The distinct values of a column (Python objects) and, per chunk, the index of each
    row's value among them (null for a null): a function of the value is then computed once
    per distinct value and spread with `_spread`. Record tables repeat a few values a lot (a
    few thousand FINESS numbers and days, three statuses for 10 M events)."""
    encoded = pc.dictionary_encode(column)
    if encoded.num_chunks == 0:
        return [], []
    encoded = encoded.unify_dictionaries()  # one dictionary (pyarrow shares it already)
    return encoded.chunk(0).dictionary.to_pylist(), [chunk.indices for chunk in encoded.chunks]


def _spread(values: list, kind: pa.DataType, indices: list[pa.Array]) -> pa.ChunkedArray:
    array = pa.array(values, kind)
    return pa.chunked_array([array.take(i) for i in indices], kind)


def _local_dates(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """`records.local_date` of each value (date32; null when empty or not a date), computed
    once per distinct value. A date-time ASCII-written is cut to its date first (many
    distinct values, as many days as `_DATE_TIME_RE2` says): the same local date."""
    long = pc.greater(pc.binary_length(column), 10)
    if pc.any(long).as_py():
        timed = pc.and_(long, pc.match_substring_regex(column, _DATE_TIME_RE2))
        column = pc.if_else(timed, pc.utf8_slice_codeunits(column, 0, 10), column)
    distinct, indices = _distinct(column)
    return _spread([records.local_date(v) for v in distinct], pa.date32(), indices)


def _finess(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """`normalize_finess` of each value, and where it is not a FINESS number
    (`is_valid_finess`)."""
    if _in_finess_format(column):  # the usual file: each number its own normal form
        return column, np.zeros(len(column), bool)
    distinct, indices = _distinct(column)
    normal = [normalize_finess(v) for v in distinct]
    invalid = [n is None or not is_valid_finess(n) for n in normal]
    bad = np.zeros(len(column), bool)
    if any(invalid):
        bad = _numpy(pc.fill_null(_spread(invalid, pa.bool_(), indices), False))
    if normal == distinct:  # the usual file: every number in the FINESS format already
        return column, bad
    return _spread(normal, pa.string(), indices), bad


def _in_finess_format(column: pa.ChunkedArray) -> bool:
    """Whether every value is 9 ASCII digits (then `normalize_finess` leaves it as it is and
    `is_valid_finess` accepts it), read on the column's bytes: a tenth of `_distinct`'s time.
    False also for Corsican numbers and bytes not laid out as usual: `_distinct` judges."""
    for chunk in column.chunks:
        if chunk.null_count == len(chunk):
            continue
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], np.int32, len(chunk) + 1, chunk.offset * 4)
        lengths = np.diff(offsets)
        nine = lengths == 9
        # values of 9 bytes exactly, nulls of none: the values' bytes follow each other
        if not np.array_equal(nine, _valid(chunk)) or not np.all(nine | (lengths == 0)):
            return False
        data = np.frombuffer(buffers[2], np.uint8)[offsets[0] : offsets[-1]]
        if np.count_nonzero((data - np.uint8(48)) <= 9) != len(data):  # below "0" wraps
            return False
    return True


def _not_nir(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """The dossier ids, null where one has the shape of a NIR, and where."""
    long = _numpy(pc.fill_null(pc.greater_equal(pc.binary_length(column), 13), False))
    nir = np.zeros(len(column), bool)  # a NIR has 13 digits at least
    if not long.any():
        return column, nir
    shaped = pc.match_substring_regex(column.filter(pa.array(long)), _NIR_RE2)
    nir[np.flatnonzero(long)] = _numpy(pc.fill_null(shaped, False))
    if not nir.any():
        return column, nir
    return pc.if_else(pa.array(nir), pa.scalar(None, pa.string()), column), nir


def _canonical(column: pa.ChunkedArray, allowed: dict[str, str]) -> pa.ChunkedArray:
    """`records.canonical` of each value (null: empty or unknown), once per distinct value."""
    distinct, indices = _distinct(column)
    names = [records.canonical(v, allowed) for v in distinct]
    if names == distinct:  # written canonical already: the column as it is
        return column
    return _spread(names, pa.string(), indices)


def records_of(tables: dict[str, pa.Table | pd.DataFrame]) -> records.Records:
    """`records.Records` of the record tables read (kind → `check`'s table, or a frame of
    the same columns). Tables not given are empty, except DMP documents and MSSanté messages,
    which stay None (not carried: their counts are missing, not zero)."""
    if all(isinstance(t, pa.Table) for t in tables.values()):
        return _CheckedRecords.of(tables)
    frames = {kind: t.to_pandas() if isinstance(t, pa.Table) else t for kind, t in tables.items()}
    dossiers = frames.get(DOSSIERS, pd.DataFrame(columns=list(records.SEJOURS)))
    sejours = dossiers.reindex(columns=list(records.SEJOURS))
    ins = dossiers.reindex(columns=["finess_et", "dossier_id", "ins_statut", "date_statut_ins"])
    # a fresh index: `records.Records` builds its date columns on one, and would align the
    # others on the gaps the dropped rows leave (extra rows, dates on the wrong dossier)
    ins = ins.dropna(subset=["ins_statut"]).reset_index(drop=True)
    ins = ins.rename(columns={"ins_statut": "statut", "date_statut_ins": "date_statut"})
    return records.Records(
        sejours=sejours,
        ins=ins,
        projets=frames.get(PP),
        evenements=frames[EVENTS].reindex(columns=list(records.EVENTS))
        if EVENTS in frames
        else None,
        documents=frames.get(DMP),
        messages=frames.get(MSS),
    )


class _CheckedRecords(records.Records):
    """`records.Records` of checked tables: their dates are dates and their statuses
    canonical already, so the per-cell conversion of `Records` (a Python object per cell:
    a minute and gigabytes for 10 M events) is skipped; its tables are frames backed by the
    Arrow columns (pd.ArrowDtype), which `records.count_base` hands back to DuckDB as they
    are."""

    @classmethod
    def of(cls, tables: dict[str, pa.Table]) -> _CheckedRecords:
        dossiers = tables.get(DOSSIERS)
        ins = None
        if dossiers is not None:
            ins = dossiers.filter(pc.is_valid(dossiers["ins_statut"])).select(
                ["finess_et", "dossier_id", "ins_statut", "date_statut_ins"]
            )
        given = {
            "sejours": dossiers,
            "ins": ins,
            "projets": tables.get(PP),
            "evenements": tables.get(EVENTS),
            "documents": tables.get(DMP),
            "messages": tables.get(MSS),
        }
        frames = {}
        for attribute, columns in records.TABLES.values():
            table = given[attribute]
            frames[attribute] = None if table is None else _frame(table, columns)
        return cls(**frames)

    def __post_init__(self) -> None:
        self.tables = {
            name: _frame(None, columns) if getattr(self, attribute) is None
            else getattr(self, attribute)
            for name, (attribute, columns) in records.TABLES.items()
        }  # fmt: skip


def _frame(table: pa.Table | None, columns: dict[str, str]) -> pd.DataFrame:
    """A frame of ``columns`` (`records` kinds) backed by the first columns of ``table`` of
    the same kinds, in that order (empty when ``table`` is None)."""
    kinds = {"str": pa.string(), "date": pa.date32()}
    schema = pa.schema([(c, kinds[k]) for c, k in columns.items()])
    if table is None:
        table = schema.empty_table()
    else:
        picked = [c for c in table.column_names if c != "line"][: len(columns)]
        table = table.select(picked).rename_columns(list(columns)).cast(schema)
    return table.to_pandas(types_mapper=pd.ArrowDtype)
