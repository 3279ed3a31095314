"""Tables for a spreadsheet: one XLSX sheet of typed cells, written in one pass.

Owns how a table is laid out for people who open it in Excel or LibreOffice (the CLI's
``--format xlsx``; the dashboard's downloads may reuse it): numbers stay numbers, rates are
fractions shown ``0,0 %``, counts ``1 234`` (the separators follow the reader's locale),
FINESS numbers are text (their leading zero kept), months are dates on the 1st shown
``MM/AAAA``; French headers, bold, frozen and filtered. Every text cell passes through
`text.neutralise_formula` (names and details come from input files). Also the two tables the
CLI exports, as column specs and rows built from the library's own results.

The workbook's parts are written as text (`write_table`; openpyxl's write-only mode, kept in
bench/xlsx_export.py as its baseline, was 20 times slower): the sheet's rows go to
a temporary file, and the workbook reaches the handle only once every row is written: a table
that turns out too long leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa

from dui_metrics.formats import column_letters
from dui_metrics.referentiel import Referentiel
from dui_metrics.text import neutralise_formula

# Kinds of column. COUNT_OR_RATE holds both, as a long table of indicators does: an int is a
# count, a float a rate (a fraction in [0, 1]).
TEXT, FINESS, MONTH, DATE, COUNT, RATE, NUMBER, COUNT_OR_RATE = (
    "text",
    "finess",
    "month",
    "date",
    "count",
    "rate",
    "number",
    "count_or_rate",
)
TEXT_FORMAT, MONTH_FORMAT, DATE_FORMAT = "@", "mm/yyyy", "dd/mm/yyyy"
COUNT_FORMAT, RATE_FORMAT, NUMBER_FORMAT = "#,##0", "0.0%", "General"
# Number format and default width (characters) of each kind.
_FORMATS = {
    TEXT: (None, 30),
    FINESS: (TEXT_FORMAT, 12),
    MONTH: (MONTH_FORMAT, 10),
    DATE: (DATE_FORMAT, 12),
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
    if _BAD_TITLE.search(title):
        raise ValueError(f"caractère interdit dans un nom de feuille : {title!r}")
    # The sheet's XML goes to a temporary file, then into the archive: ``handle`` gets
    # nothing of a table that stops early, and the archive knows the sheet's size beforehand
    # (ZIP64 records only past 2 GiB, as openpyxl wrote them; an entry streamed at an
    # unknown size would carry them in every workbook).
    with tempfile.TemporaryFile(prefix="dui-metrics-", suffix=".xml") as sheet:
        written = _write_sheet(sheet, columns, rows)
        size = sheet.tell()
        sheet.seek(0)
        filtered = f"$A$1:${column_letters(len(columns))}${written + 1}"
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=_LEVEL) as zf:
            for name, part in _package(title, filtered):
                zf.writestr(name, part)
            with zf.open(_SHEET, "w", force_zip64=size * 1.05 > zipfile.ZIP64_LIMIT) as part:
                shutil.copyfileobj(sheet, part, _COPY_BYTES)
    return written


# --- the workbook's parts ----------------------------------------------------------------
# Written as text: openpyxl's write-only mode took ~250 µs a row (a national export of
# 960,000 rows: 4 minutes); one f-string per cell, joined per row and written 10,000 rows at
# a time, and the archive's level-1 compression take ~12 µs (bench/xlsx_export.py).

_LEVEL = 1  # zlib level of the archive: see bench/xlsx_export.py
_BLOCK_ROWS = 10_000  # rows of XML joined and encoded at once
_COPY_BYTES = 1 << 20
_CACHED_TEXTS = 100_000  # distinct texts of a column kept cleaned and escaped
_SHEET = "xl/worksheets/sheet1.xml"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# What a sheet's name cannot hold (openpyxl refused them too).
_BAD_TITLE = re.compile(r"[\\*?:/\[\]]")
# Characters XML 1.0 cannot hold: C0 controls but tab, line feed and carriage return (openpyxl
# refused them), lone surrogates, U+FFFE and U+FFFF. Dropped from text cells.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Index in cellXfs (styles.xml) of each number format; 0: the default, 1: the bold header.
_HEADER_STYLE = 1
_STYLES = {None: 0, NUMBER_FORMAT: 0, TEXT_FORMAT: 2, MONTH_FORMAT: 3, COUNT_FORMAT: 4,
           RATE_FORMAT: 5, DATE_FORMAT: 6}  # fmt: skip
_STYLES_XML = (
    f'{_DECLARATION}<styleSheet xmlns="{_MAIN}">'
    f'<numFmts count="3"><numFmt numFmtId="164" formatCode="{MONTH_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{RATE_FORMAT}"/>'
    f'<numFmt numFmtId="166" formatCode="{DATE_FORMAT}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    # 49: "@", 3: "#,##0", built into every spreadsheet
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _package(title: str, filtered: str) -> Iterator[tuple[str, str]]:
    """The parts of the workbook but its sheet: ``filtered`` the filter's range."""
    content = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    yield (
        "[Content_Types].xml",
        f"{_DECLARATION}"
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{content}.sheet.main+xml"/>'
        f'<Override PartName="/{_SHEET}" ContentType="{content}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{content}.styles+xml"/>'
        "</Types>",
    )
    yield (
        "_rels/.rels",
        f'{_DECLARATION}<Relationships xmlns="{_PACKAGE_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
    )
    yield (
        "xl/_rels/workbook.xml.rels",
        f'{_DECLARATION}<Relationships xmlns="{_PACKAGE_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
        "</Relationships>",
    )
    quoted = "'" + title.replace("'", "''") + "'"
    yield (
        "xl/workbook.xml",
        f'{_DECLARATION}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name="{_escape(title)}" sheetId="1" r:id="rId1"/></sheets>'
        '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{_escape(quoted)}!{filtered}</definedName></definedNames>"
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>',
    )
    yield "xl/styles.xml", _STYLES_XML


def _write_sheet(out: BinaryIO, columns: Sequence[Column], rows: Iterable[Sequence]) -> int:
    """The sheet's XML to ``out``: frozen header, widths, rows, filter; the number of rows."""
    width = len(columns)
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{_width(c):g}" customWidth="1"/>'
        for i, c in enumerate(columns, start=1)
    )
    header = "".join(
        f'<c r="{column_letters(i)}1" s="{_HEADER_STYLE}" t="inlineStr">'
        f'<is><t xml:space="preserve">{_text(c.header)}</t></is></c>'
        for i, c in enumerate(columns, start=1)
    )
    out.write(
        (
            f'{_DECLARATION}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData><row r="1">{header}</row>'
        ).encode()
    )
    cells = [_formatter(i, c.kind) for i, c in enumerate(columns, start=1)]
    limit = MAX_DATA_ROWS  # read on each call: the tests lower it
    block: list[str] = []
    written = 0
    for row in rows:
        if written == limit:
            raise TooManyRows(f"plus de {limit} lignes")
        if len(row) > width:
            raise ValueError(f"ligne {written + 1} : {len(row)} valeurs pour {width} colonnes")
        written += 1
        n = str(written + 1)
        block.append(
            f'<row r="{n}">'
            + "".join([cell(v, n) for cell, v in zip(cells, row, strict=False) if v is not None])
            + "</row>"
        )
        if len(block) == _BLOCK_ROWS:
            out.write("".join(block).encode())
            block.clear()
    block.append(
        f'</sheetData><autoFilter ref="A1:{column_letters(width)}{written + 1}"/>'
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        "</worksheet>"
    )
    out.write("".join(block).encode())
    return written


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or '"' in text or "\r" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        # a carriage return as a reference: a parser reads a bare one as a line feed
        text = text.replace('"', "&quot;").replace("\r", "&#13;")
    return text


def _text(value: object) -> str:
    """A text cell's content: what XML cannot hold dropped, neutralised, escaped."""
    text = value if type(value) is str else str(value)
    if not text.isprintable():  # a quick test, true of almost every text
        text = _NOT_XML.sub("", text)
    return _escape(neutralise_formula(text))


_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's (and LibreOffice's) serial dates


def _serial(value: dt.date) -> str:
    """A date's serial number, as openpyxl wrote it (Excel's 1900 leap day kept)."""
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        days = (value - _EPOCH).days
        if 0 < days <= 60:
            days -= 1
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return "%.16g" % (days + (seconds + value.microsecond / 10**6) / 86400)  # noqa: UP031
    days = (value - _EPOCH.date()).days
    return str(days - 1 if 0 < days <= 60 else days)


def _formatter(index: int, kind: str):
    """The XML of a cell of column ``index`` (1: A) of ``kind`` for a value (never None)
    and a row number: one call per cell, the constant parts joined beforehand."""
    start = f'<c r="{column_letters(index)}'
    own = _STYLES[_FORMATS[RATE if kind == COUNT_OR_RATE else kind][0]]
    count = _STYLES[COUNT_FORMAT] if kind == COUNT_OR_RATE else own
    style = f' s="{own}"' if own else ""
    text_end = f'"{style} t="inlineStr"><is><t xml:space="preserve">'
    number_end = f'"{style}><v>'
    count_style = f' s="{count}"' if count else ""
    count_end = f'"{count_style}><v>'
    month_end = f'" s="{_STYLES[DATE_FORMAT if kind == DATE else MONTH_FORMAT]}"><v>'
    months: dict[dt.date, str] = {}

    def other(value: object, n: str) -> str:
        # what the kind does not expect, as close as openpyxl wrote it
        if isinstance(value, bool):
            return f'{start}{n}"{count_style} t="b"><v>{int(value)}</v></c>'  # an int
        if isinstance(value, numbers.Real):
            if not math.isfinite(value):
                return ""  # NaN: an empty cell (openpyxl wrote infinities as empty too)
            end = count_end if isinstance(value, numbers.Integral) else number_end
            return f"{start}{n}{end}{'%.16g' % value}</v></c>"  # noqa: UP031
        if isinstance(value, dt.date):
            return f"{start}{n}{month_end}{_serial(value)}</v></c>"
        return f"{start}{n}{text_end}{_text(value)}</t></is></c>"

    if kind in (TEXT, FINESS):
        # A column's texts repeat (FINESS, codes, labels): each one cleaned once.
        texts: dict[str, str] = {}

        def cell(value: object, n: str) -> str:
            if type(value) is str:
                text = texts.get(value)
                if text is None:
                    if len(texts) == _CACHED_TEXTS:
                        texts.clear()
                    text = texts[value] = _text(value)
            elif type(value) is float and value != value:  # NaN
                return ""
            elif kind == TEXT and isinstance(value, numbers.Real):
                return other(value, n)  # a number among texts stays a number
            else:
                text = _text(value)
            return f"{start}{n}{text_end}{text}</t></is></c>"

    elif kind in (MONTH, DATE):

        def cell(value: object, n: str) -> str:
            if type(value) is dt.date:
                serial = months.get(value)
                if serial is None:
                    serial = months[value] = _serial(value)
                return f"{start}{n}{month_end}{serial}</v></c>"
            return other(value, n)

    else:

        def cell(value: object, n: str) -> str:
            kind_of = type(value)
            if kind_of is float:
                if value - value != 0.0:  # NaN or an infinity: an empty cell
                    return ""
                return f"{start}{n}{number_end}{'%.16g' % value}</v></c>"  # noqa: UP031
            if kind_of is int:
                return f"{start}{n}{count_end}{'%.16g' % value}</v></c>"  # noqa: UP031
            return other(value, n)

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
        yield f, names.get(f), criterion, _STATUS_WORDS.get(status, status), value, detail


# Statuses in a workbook for people: French words (the CSV and JSON keep the codes).
_STATUS_WORDS = {"ok": "ok", "zero": "zéro", "manquant": "manquant", "bloque": "bloqué"}


# --- CSV ------------------------------------------------------------------------------------
def neutralised(frame):
    """``frame`` (a pandas DataFrame) fit for a spreadsheet (OWASP "CSV injection"): every
    text cell and header beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading ``'`` (`neutralise_formula`), real numbers written as text aside. Only text
    columns (object, ``str``/``string`` or categorical dtype) are mapped: numbers, booleans
    and dates are left as they are, numbers stay numbers. A copy; ``frame`` is left as it is."""
    import pandas as pd
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = frame.copy(deep=False)
    for i, dtype in enumerate(frame.dtypes):
        if (
            is_object_dtype(dtype)
            or is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        ):
            out.isetitem(i, frame.iloc[:, i].map(neutralise_formula))
    out.columns = frame.columns.map(neutralise_formula)
    return out


def to_csv(frame) -> bytes:
    """``frame`` as the CSV files of the dashboard's downloads: ``;``-separated, UTF-8 with a
    BOM (Excel), decimal comma, text `neutralised`, no index."""
    # Lines end with CRLF (RFC 4180, Excel's own): the csv module then quotes a field holding
    # a lone CR, at which a spreadsheet would otherwise start a new row whose first cell (the
    # text after the CR, "x\r=cmd") is not neutralised.
    text = neutralised(frame).to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    return text.encode("utf-8-sig")
