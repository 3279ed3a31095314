"""Tables for a spreadsheet: one XLSX sheet of typed cells, written in one pass.

Owns how a table is laid out for people who open it in Excel or LibreOffice (the CLI's
``--format xlsx``; the dashboard's downloads may reuse it): numbers stay numbers, rates are
fractions shown ``0,0 %``, counts ``1 234`` (the separators follow the reader's locale),
FINESS numbers are text (their leading zero kept), months are dates on the 1st shown
``MM/AAAA``; French headers, bold, frozen and filtered. Every text cell passes through
`text.neutralise_formula` (names and details come from input files). Also the two tables the
CLI exports, as column specs and rows built from the library's own results.

openpyxl's write-only mode streams the rows to a temporary file, and the workbook reaches the
handle only once every row is written: a table that turns out too long leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dui_metrics.referentiel import Referentiel
from dui_metrics.text import neutralise_formula

# Kinds of column. COUNT_OR_RATE holds both, as a long table of indicators does: an int is a
# count, a float a rate (a fraction in [0, 1]).
TEXT, FINESS, MONTH, COUNT, RATE, NUMBER, COUNT_OR_RATE = (
    "text",
    "finess",
    "month",
    "count",
    "rate",
    "number",
    "count_or_rate",
)
TEXT_FORMAT, MONTH_FORMAT = "@", "mm/yyyy"
COUNT_FORMAT, RATE_FORMAT, NUMBER_FORMAT = "#,##0", "0.0%", "General"
# Number format and default width (characters) of each kind.
_FORMATS = {
    TEXT: (None, 30),
    FINESS: (TEXT_FORMAT, 12),
    MONTH: (MONTH_FORMAT, 10),
    COUNT: (COUNT_FORMAT, 12),
    RATE: (RATE_FORMAT, 10),
    NUMBER: (NUMBER_FORMAT, 12),
}

# A sheet holds 1,048,576 rows in Excel (and LibreOffice since 7.4): the header and this many.
MAX_DATA_ROWS = 1_048_575


class TooManyRows(ValueError):
    """More rows than a sheet holds (`MAX_DATA_ROWS`)."""


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: float | None = None  # characters; default: the kind's, widened to the header


def _width(column: Column) -> float:
    if column.width is not None:
        return column.width
    kind = COUNT if column.kind == COUNT_OR_RATE else column.kind
    # + 4: room for the filter button beside the header
    return max(_FORMATS[kind][1], len(column.header) + 4)


def write_table(
    handle: BinaryIO,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    *,
    title: str = "Tableau",
) -> int:
    """Write ``rows`` (one value per column, None for an empty cell) under the headers of
    ``columns`` as a one-sheet workbook to ``handle``; return the number of rows.

    Values by kind: text and FINESS ``str``; month a ``date`` (its 1st); count an ``int``;
    rate a ``float`` fraction; number either; count-or-rate an ``int`` (count) or a
    ``float`` (rate). NaN is an empty cell. Raises `TooManyRows` past `MAX_DATA_ROWS`, before
    anything reaches ``handle``."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"  # written before the rows: set first
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = _width(column)
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=neutralise_formula(column.header))
        cell.font = bold
        header.append(cell)
    try:
        ws.append(header)
        written = _append_rows(ws, columns, rows)
        last = get_column_letter(len(columns))
        ws.auto_filter.ref = f"A1:{last}{written + 1}"
        wb.save(handle)
    except BaseException:
        _discard(ws)
        raise
    return written


def _append_rows(ws, columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> int:
    # One styled cell per column (two for count-or-rate), its value changed on each row:
    # openpyxl serialises a row as it is appended. A new styled cell per value took 1.3x as
    # long (20,000 rows of 7 cells: 5.2 s against 4.1 s).
    cells = [_cell(ws, column.kind) for column in columns]
    counts = [_cell(ws, COUNT) if c.kind == COUNT_OR_RATE else None for c in columns]
    texts = {i for i, c in enumerate(columns) if c.kind in (TEXT, FINESS)}
    written = 0
    for row in rows:
        if written == MAX_DATA_ROWS:
            raise TooManyRows(f"plus de {MAX_DATA_ROWS} lignes")
        out: list[object] = []
        for index, value in enumerate(row):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                out.append(None)
                continue
            cell = cells[index]
            if index in texts:
                # control characters XML cannot hold (openpyxl would raise) are dropped
                value = neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
            elif counts[index] is not None and isinstance(value, int):
                cell = counts[index]
            elif isinstance(value, dt.datetime):
                value = value.replace(tzinfo=None)
            cell.value = value
            out.append(cell)
        ws.append(out)
        written += 1
    return written


def _discard(ws) -> None:
    """Close a sheet left unfinished and remove its temporary file (openpyxl removes it
    only at exit, and warns of its unclosed stream)."""
    with contextlib.suppress(Exception):
        ws.close()
    writer = getattr(ws, "_writer", None)  # openpyxl's, holding the temporary file
    if writer is not None:
        with contextlib.suppress(OSError, ValueError):
            writer.cleanup()


def _cell(ws, kind: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    number_format = _FORMATS[RATE if kind == COUNT_OR_RATE else kind][0]
    if number_format is not None:
        cell.number_format = number_format
    return cell


def at_most(reader: pa.RecordBatchReader, limit: int) -> pa.Table | None:
    """The rows of ``reader`` as one table, or None as soon as they pass ``limit`` rows (the
    rest is not read): how an export is counted before its sheet is written."""
    taken, count = [], 0
    for batch in reader:
        count += batch.num_rows
        if count > limit:
            return None
        taken.append(batch)
    return pa.Table.from_batches(taken, schema=reader.schema)


# --- the CLI's tables -----------------------------------------------------------------------

INDICATOR_COLUMNS = (
    Column("FINESS ET", FINESS),
    Column("Mois", MONTH),
    Column("Indicateur", TEXT, 36),
    Column("Libellé", TEXT, 50),
    Column("Valeur", COUNT_OR_RATE),
    Column("Numérateur", COUNT),
    Column("Dénominateur", COUNT),
)


def indicator_rows(table: pa.Table, ref: Referentiel) -> Iterator[tuple]:
    """Rows of ``INDICATOR_COLUMNS`` from the typed export of `indicators.monthly_export_batches`
    (``TYPED_SCHEMA``): each indicator with its référentiel label (empty for a code the
    référentiel does not define), a count's value as an int, a rate's as a float."""
    labels = {i.code: i.label for i in ref.indicators}
    names = ("finess_et", "periode", "indicateur", "valeur", "numerateur", "denominateur")
    finess, months, codes, values, numerators, denominators = (
        table.column(name).to_pylist() for name in names
    )
    rates = table.column("est_taux").to_pylist()
    for f, month, code, value, num, den, rate in zip(
        finess, months, codes, values, numerators, denominators, rates, strict=True
    ):
        if value is not None and not rate:
            value = int(value)
        yield f, month, code, labels.get(code), value, num, den


VA_COLUMNS = (
    Column("FINESS ET", FINESS),
    Column("Établissement", TEXT, 40),
    Column("Critère", TEXT, 36),
    Column("Statut", TEXT, 10),
    Column("Valeur", COUNT_OR_RATE),
    Column("Détail", TEXT, 70),
)


def va_rows(checks: pa.Table, names: Mapping[str, str | None]) -> Iterator[tuple]:
    """Rows of ``VA_COLUMNS`` from `va.readiness_table`: the ESMS's name from ``names``
    (FINESS → raison sociale; empty when unknown), a count check's value as an int, a rate
    check's as a float (empty when not computable)."""
    finess, criteria, statuses, counts, rates, details = (
        checks.column(name).to_pylist()
        for name in ("finess_et", "critere", "statut", "nombre", "taux", "detail")
    )
    for f, criterion, status, count, rate, detail in zip(
        finess, criteria, statuses, counts, rates, details, strict=True
    ):
        value = rate if count is None else int(count)
        yield f, names.get(f), criterion, status, value, detail
