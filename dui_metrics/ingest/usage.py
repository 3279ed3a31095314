"""Usage exports (long and wide form): cells → typed, checked rows of ``usage``.

The checks run in DuckDB over whole columns (one SQL file per check), so a file of millions
of rows is validated as fast as it is read. Nothing is written unless every row passes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics import clock
from dui_metrics.errors import MAX_LISTED, ExportError, Problem
from dui_metrics.ingest.columns import LONG, Layout
from dui_metrics.ingest.readers import RawTable
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store
from dui_metrics.text import normalize_key

_PERIOD_FORMATS = (
    (re.compile(r"(\d{4})-(\d{1,2})"), ("y", "m")),
    (re.compile(r"(\d{1,2})/(\d{4})"), ("m", "y")),
    # as French spreadsheets write them (issue 15): 03-2025, 2025/03; a two-digit year with a
    # number month (03-25) could be either way round: refused
    (re.compile(r"(\d{1,2})-(\d{4})"), ("m", "y")),
    (re.compile(r"(\d{4})/(\d{1,2})"), ("y", "m")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
)


# French month names as spreadsheets abbreviate them (« mars-25 », « févr.-25 », « mars 2025 »),
# accents and case free.
_MONTH_NAMES = {
    "janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3,
    "mar": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8,
    "septembre": 9, "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
}  # fmt: skip
_NAMED_MONTH = re.compile(r"([a-z]+)\.?[ \-/]?(\d{2}|\d{4})")
# The forms accepted, as messages list them.
MONTH_FORMATS = "AAAA-MM, MM/AAAA, MM-AAAA, AAAA/MM, AAAA-MM-JJ, JJ/MM/AAAA, mars-25, mars 2025"


def parse_month(text: str | None) -> dt.date | None:
    """First day of the month written as AAAA-MM, MM/AAAA, MM-AAAA, AAAA/MM, AAAA-MM-JJ,
    JJ/MM/AAAA, or with a French month name and a year of 2 or 4 digits (``mars-25``,
    ``févr. 2025``, ``Mars 2025``).

    A day means its month. None when the text is not one of those forms or not a real date
    (``03-25``, a number month with a two-digit year, is ambiguous: None).
    """
    if text is None:
        return None
    text = text.strip()
    if text[:1].isalpha():
        named = _NAMED_MONTH.fullmatch(normalize_key(text).replace("_", " ").strip())
        if named is None:  # normalize_key turned « févr.-25 » into « fevr 25 »
            return None
        month = _MONTH_NAMES.get(named.group(1))
        year = int(named.group(2))
        if month is None:
            return None
        return dt.date(year + 2000 if year < 100 else year, month, 1)
    for pattern, parts in _PERIOD_FORMATS:
        match = pattern.fullmatch(text)
        if match:
            values = dict(zip(parts, map(int, match.groups()), strict=True))
            try:
                dt.date(values["y"], values["m"], values.get("d", 1))
            except ValueError:
                return None
            return dt.date(values["y"], values["m"], 1)
    return None


@dataclass
class StagedUsage:
    """A checked usage file waiting in memory (``incoming``, as Arrow) and, if it replaces
    stored values, in temporary table ``incoming`` of its cursor."""

    rows: int
    esms: pa.Table  # finess_et, line: each ESMS of the file and its first line, by FINESS
    keys: np.ndarray  # hashes of the file's (finess_et, periode) keys, see StoredKeys
    replaces: bool  # whether the file holds (ESMS, month) keys the store already has
    incoming: pa.Table | None = None  # its rows, as in temp table incoming (see check_alone)


# DuckDB's hash of an (ESMS, month) key: see StoredKeys.
KEY_HASH = "hash(finess_et, periode)"


class StoredKeys:
    """Which (ESMS, month) the store holds, kept in memory for one ingest command.

    Whether a file replaces stored values (and which stored values the ratio check must see)
    is then known without reading ``usage``: at national scale that table holds millions of
    rows, and reading it for every file of a command cost more than the files themselves.
    Loaded from the store on first use (one read of ``usage``), then updated after every file
    accepted through the same session. Keys are kept as DuckDB's 64-bit hashes of
    (finess_et, periode), in a set of ints: a file is looked up in about a millisecond (40,000
    ESMS × 36 months: about 120 MB). Two keys sharing a hash can only make a file look as if it
    replaced values: what follows (the ratio check, the replacement) then joins on the real
    keys, so a collision costs time, never a wrong result.
    """

    def __init__(self, store: Store, before_read: Callable[[], None] | None = None) -> None:
        self._store = store
        self._keys: set[int] | None = None
        # Called when a file holds stored keys, before its check reads their values in
        # ``usage``: writes the rows still waiting in memory (``ingest.Session.flush``).
        self._before_read = before_read

    def _known(self) -> set[int]:
        if self._keys is None:
            rows = self._store.execute(f"select distinct {KEY_HASH} as h from usage").fetchnumpy()
            self._keys = set(rows["h"].tolist())
        return self._keys

    def held(self, keys: np.ndarray) -> np.ndarray:
        """Which of ``keys`` (hashes) the store holds: a boolean mask."""
        known, listed = self._known(), keys.tolist()
        if known.isdisjoint(listed):
            return np.zeros(len(listed), bool)
        if self._before_read:
            self._before_read()
        return np.fromiter((k in known for k in listed), bool, len(listed))

    def add(self, keys: np.ndarray) -> None:
        """Record the keys of a file accepted (written, or waiting to be)."""
        self._known().update(keys.tolist())


def _long_cells(raw: RawTable, layout: Layout) -> pa.Table:
    """finess, periode, indicateur, valeur cells with line and the value's column header."""
    cols = layout.columns
    if layout.kind == LONG:
        n = raw.num_rows
        return pa.table(
            {
                "_line": raw.table.column("_line"),
                "finess_raw": raw.column(cols["finess_et"]),
                "periode_raw": raw.column(cols["periode"]),
                "indicateur_raw": raw.column(cols["indicateur"]),
                "valeur_raw": raw.column(cols["valeur"]),
                "valeur_col": pa.repeat(raw.headers[cols["valeur"]], n),
                "indicateur_col": pa.repeat(raw.headers[cols["indicateur"]], n),
            }
        )
    parts = []
    for code in _count_names(layout):
        pos = cols[code]
        n = raw.num_rows
        parts.append(
            pa.table(
                {
                    "_line": raw.table.column("_line"),
                    "finess_raw": raw.column(cols["finess_et"]),
                    "periode_raw": raw.column(cols["periode"]),
                    "indicateur_raw": pa.repeat(code, n),
                    "valeur_raw": raw.column(pos),
                    "valeur_col": pa.repeat(raw.headers[pos], n),
                    "indicateur_col": pa.repeat(raw.headers[pos], n),
                }
            )
        )
    return pa.concat_tables(parts)


def _count_names(layout: Layout) -> list[str]:
    """The count codes of a wide file's columns, in their order (``Layout.columns`` also holds
    finess_et and periode)."""
    return [c for c in layout.columns if c not in ("finess_et", "periode")]


def _distinct(column: pa.ChunkedArray) -> list[str]:
    return [v for v in pc.unique(column).to_pylist() if v is not None]


@dataclass
class CheckedAlone:
    """What ``check_alone`` found: the checks that depend on the file only."""

    rows: int
    esms: pa.Table  # as StagedUsage.esms
    keys: np.ndarray
    problems: list[Problem]
    total: int
    # Whether the problems are cross-indicator ones (numerator above denominator) found among
    # the file's own values: with stored values, the same file may have more of them.
    ratio_only: bool
    incoming: pa.Table | None = None  # the file's checked rows, when it has no bad cell
    # A wide file checked row by row (``_wide_fast``): its typed rows, from which ``stage``
    # makes temp table ``incoming`` if the file replaces stored values.
    wide: pa.Table | None = None


def check_alone(store: Store, raw: RawTable, layout: Layout, ref: Referentiel) -> CheckedAlone:
    """Every check of a usage file that does not depend on the store, on cursor ``store`` (where
    ``indicators.register_definitions`` ran); the file's rows are left in temp table
    ``incoming``, except for a wide file checked row by row (``stage`` makes it then). The
    ratio check is the one of a file that replaces nothing.

    Nothing here reads the store's tables: files are checked this way on other cursors, in
    worker threads, while earlier files are being written (``ingest.ingest_paths``).

    A wide file whose rows have distinct keys is checked on its rows first (``_wide_fast``);
    a long file, or one that fails those checks, is checked cell by cell (usage_staged).
    """
    periods = _distinct(raw.column(layout.columns["periode"]))
    if layout.kind == LONG:
        names = _distinct(raw.column(layout.columns["indicateur"]))
    else:
        names = _count_names(layout)
    current = clock.current_month()
    lookup = ref.name_lookup()
    rates = set(ref.rate_codes)
    months = [parse_month(v) for v in periods]
    store.register(
        "period_map",
        pa.table(
            {
                "raw": pa.array(periods, pa.string()),
                "value": pa.array(months, pa.date32()),
                "future": pa.array([m is not None and m > current for m in months], pa.bool_()),
            }
        ),
    )
    codes = [lookup.get(normalize_key(v)) for v in names]
    unique = layout.kind != LONG and _rows_unique(raw, layout, periods, months)
    if unique and all(c and c not in rates for c in codes):
        fast = _wide_fast(store, raw, layout, ref, codes)
        if fast is not None:
            rows, table = fast  # the ESMS and keys of the rows: the same, 1/8 of the work
            return CheckedAlone(
                table.num_rows, *_esms_and_keys(rows), [], 0, True, table, wide=rows
            )
    store.register("raw_cells", _long_cells(raw, layout))
    store.register(
        "indicator_map",
        pa.table(
            {
                "raw": pa.array(names, pa.string()),
                "value": pa.array(codes, pa.string()),
                "is_rate": pa.array([c in rates if c else None for c in codes], pa.bool_()),
            }
        ),
    )
    staged = "with staged as (" + _sql("usage_staged") + ")\n"
    incoming = _sql("usage_incoming_unique" if unique else "usage_incoming")
    # One pass into temp table ``incoming`` (what the ratio join reads best), fetched once as
    # Arrow: the counts, the ESMS, the key hashes and the rows to write come from that.
    store.execute(
        f"create or replace temp table incoming as {staged}"
        f"select *, {KEY_HASH} as _key from ({incoming})"
    )
    table = store.arrow_of("select * from incoming")
    n_bad = pc.sum(table.column("n_bad")).as_py() or 0
    n_conflicts = pc.sum(table.column("conflict").cast(pa.int64())).as_py() or 0
    rows = table.num_rows
    empty = np.empty(0, np.uint64)
    if n_bad or n_conflicts:  # the problem queries read the staged cells again
        store.execute("create or replace temp view staged as " + _sql("usage_staged"))
    if n_bad:
        params = {
            "finess_col": raw.headers[layout.columns["finess_et"]],
            "periode_col": raw.headers[layout.columns["periode"]],
            "current_month_text": current.strftime("%m/%Y"),
            "counts": list(ref.count_codes),
        }
        problems, total = _problems(store, "usage_row_problems", params, raw.file)
        return CheckedAlone(rows, NO_ESMS, empty, problems, total, False)
    if n_conflicts:
        # Row-level checks passed: keys and cross-indicator checks are meaningful now.
        problems, total = _problems(store, "usage_duplicate_problems", None, raw.file)
        return CheckedAlone(rows, NO_ESMS, empty, problems, total, False)
    problems, total = [], 0
    if _any_numerator_above(store, ref):  # then the pairs are found and worded
        _register_value_columns(store, raw, layout, ref)
        ctes = (
            "with merged as (select finess_et, periode, indicateur, valeur, _line "
            f"from incoming),\npairs as ({_sql('usage_ratio_pairs')})\n"
        )
        problems, total = _problems(store, "usage_ratio_problems", None, raw.file, ctes)
    return CheckedAlone(rows, *_esms_and_keys(table), problems, total, True, incoming=table)


def _any_numerator_above(store: Store, ref: Referentiel) -> bool:
    """Whether temp table ``incoming`` (one row per key) has a numerator above its
    denominator for the same ESMS and month: one group per (ESMS, month) with a column per
    count, about twice as fast as usage_ratio_pairs' self-join, which then runs only when
    there is something to report. Codes come from the référentiel (identifiers)."""
    if not ref.rates:
        return False
    codes = sorted({c for r in ref.rates for c in (r.numerator, r.denominator)})
    columns = ", ".join(f"max(valeur) filter (where indicateur = '{c}') as \"{c}\"" for c in codes)
    above = " or ".join(f'"{r.numerator}" > "{r.denominator}"' for r in ref.rates)
    return bool(
        store.scalar(
            f"select count(*) from (select {columns} from incoming group by finess_et, periode) "
            f"where {above}"
        )
    )


def _esms_and_keys(incoming: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """Each ESMS of a file's checked rows with its first line (``StagedUsage.esms``), and the
    distinct hashes of its (ESMS, month) keys."""
    first = (
        incoming.group_by("finess_et").aggregate([("_line", "min")]).sort_by("finess_et")
    )  # binary order of the text, as DuckDB's
    esms = first.rename_columns(["finess_et", "line"])
    keys = np.unique(incoming.column("_key").to_numpy()).astype(np.uint64, copy=False)
    return esms, keys


# The ESMS of a file refused before its ESMS were listed.
NO_ESMS = pa.table({"finess_et": pa.array([], pa.string()), "line": pa.array([], pa.int64())})


def _register_value_columns(store: Store, raw: RawTable, layout: Layout, ref: Referentiel) -> None:
    """Tables value_columns and indicator_labels of usage_ratio_problems: the column a value
    came from, for messages (its indicator's (wide) or the value column (long)), and each
    indicator's French label."""
    if layout.kind == LONG:
        value_columns = {c: raw.headers[layout.columns["valeur"]] for c in ref.count_codes}
    else:
        names = _count_names(layout)
        value_columns = {c: raw.headers[layout.columns[c]] for c in names}
    store.register(
        "value_columns",
        pa.table(
            {
                "indicateur": pa.array(list(value_columns), pa.string()),
                "valeur_col": pa.array(list(value_columns.values()), pa.string()),
            }
        ),
    )
    # Messages name the indicators by their French labels.
    store.register(
        "indicator_labels",
        pa.table(
            {
                "indicateur": pa.array(list(ref.count_codes), pa.string()),
                "libelle": pa.array([ref.indicator(c).label for c in ref.count_codes], pa.string()),
            }
        ),
    )


def _wide_fast(
    store: Store, raw: RawTable, layout: Layout, ref: Referentiel, codes: list[str]
) -> tuple[pa.Table, pa.Table] | None:
    """The checks of a wide file whose rows have distinct (FINESS in capitals, month) and
    whose columns are counts, on its rows rather than its cells: FINESS and month once per
    row, each pair of counts of a rate compared within the row (the only place both values of
    a key can be). When every row passes, returns the typed rows that give a value (with
    their key hashes, ``_key``) and the long rows to write (``CheckedAlone.incoming``).
    Otherwise returns None, and the cell by cell path (usage_staged) finds and words the
    problems: this one only says whether there are any. A row whose FINESS or month is wrong
    but whose counts are all empty also takes that path, which drops it."""
    cols = layout.columns
    names = _count_names(layout)
    counts = {code: raw.column(cols[name]) for name, code in zip(names, codes, strict=True)}
    store.register(
        "raw_rows",
        pa.table(
            {
                "_line": raw.table.column("_line"),
                "finess_raw": raw.column(cols["finess_et"]),
                "periode_raw": raw.column(cols["periode"]),
                **counts,
            }
        ),
    )
    # Codes come from the référentiel (identifiers), never from the file.
    bad = ["row_bad"]
    bad += [
        f'not coalesce("{c}" between 0 and 1e12 and "{c}" = floor("{c}"), true)' for c in counts
    ]
    bad += [
        f'"{r.numerator}" > "{r.denominator}"'
        for r in ref.rates
        if r.numerator in counts and r.denominator in counts
    ]
    rows = store.arrow_of(
        f"select * exclude (row_bad), {' or '.join(bad)} as _bad, {KEY_HASH} as _key "
        f"from ({_sql('usage_wide_typed')})"
    )
    if pc.any(rows.column("_bad")).as_py():
        return None
    rows = rows.drop_columns(["_bad"])
    # A row whose counts are all empty gives no value: neither its ESMS nor its key count.
    given = None
    for code in counts:
        valid = pc.is_valid(rows.column(code))
        given = valid if given is None else pc.or_(given, valid)
    if not pc.all(given).as_py():
        rows = rows.filter(given)
    # The rows to write are built here in memory (one filter per count). Temp table
    # ``incoming`` is made from the typed rows only for a file that replaces stored values
    # (``stage``): no other needs it.
    parts = []
    for code in counts:
        with_value = rows.filter(pc.is_valid(rows.column(code)))
        parts.append(
            pa.table(
                {
                    "finess_et": with_value.column("finess_et"),
                    "periode": with_value.column("periode"),
                    "indicateur": pa.repeat(pa.scalar(code, pa.string()), with_value.num_rows),
                    "valeur": pc.cast(with_value.column(code), pa.int64()),
                    "_line": with_value.column("_line"),
                }
            )
        )
    return rows, pa.concat_tables(parts)


def accept(alone: CheckedAlone, stored: StoredKeys) -> StagedUsage | None:
    """The file checked alone, if that is final: it replaces no stored value. Raises
    ``ExportError`` for its problems; None when it replaces stored values (``stage`` then
    checks it with them)."""
    if alone.total and not alone.ratio_only:
        raise ExportError(alone.problems, alone.total)
    if stored.held(alone.keys).any():
        return None
    if alone.total:
        raise ExportError(alone.problems, alone.total)
    return StagedUsage(alone.rows, alone.esms, alone.keys, False, alone.incoming)


def stage(
    store: Store,
    raw: RawTable,
    layout: Layout,
    ref: Referentiel,
    stored: StoredKeys,
) -> StagedUsage:
    """Check every row of a usage file; on success leave its rows in temp table ``incoming``.

    ``store`` is a cursor where ``indicators.register_definitions`` ran; ``stored``: the
    keys the store holds, for this command. Raises ``ExportError`` listing the first problems
    (by line) and their total count. A valid file costs one pass over its cells and no read of
    ``usage`` unless it holds keys the store already has (then the ratio check also judges the
    stored values it does not replace)."""
    alone = check_alone(store, raw, layout, ref)
    staged = accept(alone, stored)
    if staged is not None:
        return staged
    # The file replaces stored values: the ratio check judges the store as it would be after
    # it (its values and the stored ones it does not replace).
    mask = stored.held(alone.keys)
    if alone.wide is not None:  # checked row by row: incoming is made now
        store.register("wide", alone.wide)
        store.execute(
            f"create or replace temp table incoming as select *, {KEY_HASH} as _key "
            f"from ({_sql('usage_wide_incoming')})"
        )
    _register_value_columns(store, raw, layout, ref)
    store.register("held_hashes", pa.table({"h": pa.array(alone.keys[mask], pa.uint64())}))
    store.execute(
        "create or replace temp table stored_keys as select distinct finess_et, periode "
        f"from incoming where {KEY_HASH} in (select h from held_hashes)"
    )
    ctes = (
        f"with merged as ({_sql('usage_ratio_merged')}),\n"
        f"pairs as (select * from ({_sql('usage_ratio_pairs')}) "
        "where num_line is not null or den_line is not null)\n"
    )
    problems, total = _problems(store, "usage_ratio_problems", None, raw.file, ctes)
    if total:
        raise ExportError(problems, total)
    return StagedUsage(alone.rows, alone.esms, alone.keys, True, alone.incoming)


def _rows_unique(
    raw: RawTable, layout: Layout, periods: list[str], months: list[dt.date | None]
) -> bool:
    """Whether no two rows of a wide file have the same (FINESS in capitals, month).

    Then no (finess_et, periode, indicateur) can come twice: one cell per indicator column.
    A month that is not one counts as the same month for every such row: at worst the file
    takes the general path (usage_incoming), which finds the duplicates and bad cells.
    """
    month_of = pa.array(months, pa.date32()).take(
        pc.index_in(raw.column(layout.columns["periode"]), pa.array(periods, pa.string()))
    )
    keys = pa.table({"f": pc.utf8_upper(raw.column(layout.columns["finess_et"])), "p": month_of})
    return keys.group_by(["f", "p"]).aggregate([]).num_rows == keys.num_rows


def _sql(name: str) -> str:
    from dui_metrics.store import sql

    return sql(name)


def _problems(
    store: Store, name: str, params: dict | None, file: str, prefix: str = ""
) -> tuple[list[Problem], int]:
    """First problems found by ``sql/<name>.sql`` (after ``prefix``, e.g. a CTE it reads) and
    their total count. The same message on the same line and column counts once: the FINESS
    or month of a wide row is judged in each of its cells, but said once."""
    query = (
        f"with p as (select distinct * from ({prefix}{_sql(name)})) "
        "select _line, col, message, count(*) over () from p "
    )
    query += f"order by _line, col, message limit {MAX_LISTED}"
    rows = store.execute(query, params).fetchall()
    total = rows[0][3] if rows else 0
    return [Problem(file, line, col, msg) for line, col, msg, _ in rows], total


def pending_rows(incoming: pa.Table) -> pa.Table:
    """The checked rows of a file (``CheckedAlone.incoming``) as ``usage`` columns but
    import_id (in memory, for a later insert: see ``ingest.Session.defer``)."""
    rows = incoming.select(["finess_et", "periode", "indicateur", "valeur", "_line"])
    return rows.rename_columns(["finess_et", "periode", "indicateur", "valeur", "line"])


def write(store: Store, import_id: int, staged: StagedUsage) -> tuple[int, int]:
    """Replace the store's values by the staged ones (inside the caller's transaction).

    Returns (rows loaded, rows replaced). When the file holds no key the store has, nothing
    can be replaced and ``usage`` is not read.
    """
    replaced = 0
    if staged.replaces:
        # DuckDB answers a DELETE with the number of rows it removed: the rows replaced.
        replaced = store.scalar(
            "delete from usage using incoming i where usage.finess_et = i.finess_et "
            "and usage.periode = i.periode and usage.indicateur = i.indicateur"
        )
    loaded = store.scalar(
        "insert into usage select finess_et, periode, indicateur, valeur, ?, _line from incoming",
        [import_id],
    )
    return loaded, replaced
