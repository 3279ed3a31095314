"""Usage exports (long and wide form): cells → typed, checked rows of ``usage``.

The checks run in DuckDB over whole columns (one SQL file per check), so a file of millions
of rows is validated as fast as it is read. Nothing is written unless every row passes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyarrow as pa

from dui_metrics import clock
from dui_metrics.errors import MAX_LISTED, ExportError, Problem
from dui_metrics.indicators import register_definitions
from dui_metrics.ingest.columns import LONG, Layout
from dui_metrics.ingest.readers import RawTable
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store
from dui_metrics.text import normalize_key

_PERIOD_FORMATS = (
    (re.compile(r"(\d{4})-(\d{1,2})"), ("y", "m")),
    (re.compile(r"(\d{1,2})/(\d{4})"), ("m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
)


def parse_month(text: str | None) -> dt.date | None:
    """First day of the month written as AAAA-MM, MM/AAAA, AAAA-MM-JJ or JJ/MM/AAAA.

    A day means its month. None when the text is not one of those forms or not a real date.
    """
    if text is None:
        return None
    text = text.strip()
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
    """A checked usage file waiting in temporary table ``incoming`` of its cursor."""

    rows: int


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
    for code, pos in cols.items():
        if code in ("finess_et", "periode"):
            continue
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


def _mapping(values: list, func) -> pa.Table:
    raw = [v for v in values if v is not None]
    return pa.table({"raw": pa.array(raw, pa.string()), "value": [func(v) for v in raw]})


def stage(store: Store, raw: RawTable, layout: Layout, ref: Referentiel) -> StagedUsage:
    """Check every row of a usage file; on success leave its rows in temp table ``incoming``.

    Raises ``ExportError`` listing the first problems (by line) and their total count.
    """
    cells = _long_cells(raw, layout)
    store.register("raw_cells", cells)
    distinct = store.one(
        "select list(distinct periode_raw), list(distinct indicateur_raw) from raw_cells "
        "where valeur_raw is not null"
    )
    lookup = ref.name_lookup()
    store.register("period_map", _mapping(distinct[0] or [], parse_month))
    store.register(
        "indicator_map", _mapping(distinct[1] or [], lambda v: lookup.get(normalize_key(v)))
    )
    register_definitions(store, ref)
    names = {
        "finess_col": raw.headers[layout.columns["finess_et"]],
        "periode_col": raw.headers[layout.columns["periode"]],
    }
    store.execute("create or replace temp table staged as " + _sql("usage_staged"))
    params = {
        **names,
        "current_month": clock.current_month(),
        "current_month_text": clock.current_month().strftime("%m/%Y"),
        "counts": list(ref.count_codes),
        "rates": list(ref.rate_codes),
    }
    problems, total = _problems(store, "usage_row_problems", params, raw.file)
    if not total:
        # Row-level checks passed: keys and cross-indicator checks are meaningful now.
        problems, total = _problems(store, "usage_duplicate_problems", None, raw.file)
    if not total:
        store.execute("create or replace temp table incoming as " + _sql("usage_incoming"))
        problems, total = _problems(store, "usage_ratio_problems", None, raw.file)
    if total:
        raise ExportError(problems, total)
    rows = store.scalar("select count(*) from incoming")
    return StagedUsage(rows)


def _sql(name: str) -> str:
    from dui_metrics.store import sql

    return sql(name)


def _problems(store: Store, name: str, params: dict | None, file: str) -> tuple[list[Problem], int]:
    """First problems found by ``sql/<name>.sql`` and their total count."""
    query = f"with p as ({_sql(name)}) select _line, col, message, count(*) over () from p "
    query += f"order by _line, col, message limit {MAX_LISTED}"
    rows = store.execute(query, params).fetchall()
    total = rows[0][3] if rows else 0
    return [Problem(file, line, col, msg) for line, col, msg, _ in rows], total


def write(store: Store, import_id: int) -> tuple[int, int]:
    """Replace the store's values by the staged ones (inside the caller's transaction).

    Returns (rows loaded, rows replaced).
    """
    # DuckDB answers a DELETE with the number of rows it removed: the rows replaced.
    replaced = store.scalar(
        "delete from usage using incoming i where usage.finess_et = i.finess_et "
        "and usage.periode = i.periode and usage.indicateur = i.indicateur"
    )
    store.execute(
        "insert into usage select finess_et, periode, indicateur, valeur, ?, _line from incoming",
        [import_id],
    )
    loaded = store.scalar("select count(*) from incoming")
    return loaded, replaced
