"""Readers: one per format, each turning a file into text cells with their line numbers.

Every reader returns a ``RawTable``: the header as written, and a pyarrow table of string
columns ``c0``…``cN`` (None for an empty cell) plus ``_line``, the line a person would look at
(CSV: physical line; XLSX: the spreadsheet row; Parquet: row index + 2, the header being
line 1). Typing and validation happen later, on whole columns. A numeric cell in a FINESS
column (spreadsheets drop the leading zero of ``010780914``) is left-padded back to 9 digits.

The work per file is bounded (``Caps``): a header of more columns than ``Caps.columns`` is
refused at once; a workbook is read as a stream, its sheets' XML first counted at C speed
(rows, cells) so that a small file unpacking to millions of cells is refused before any cell
is parsed, and the caps are enforced again while the rows are parsed. A Parquet file is judged
on its metadata before it is read. A CSV file is bounded by its size (``--taille-max``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics.errors import ExportError, Problem, UsageError
from dui_metrics.formats import fr_int
from dui_metrics.ingest.columns import is_finess_header
from dui_metrics.ingest.header import (
    MAX_TITLE_ROWS,
    header_index,
    known_columns,
    title_warning,
)

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
# Workbooks (`workbooks`): XLSX and XLSM, ODS (LibreOffice), XLS (Excel 97-2003).
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | WORKBOOK_SUFFIXES | PARQUET_SUFFIXES

_BOM = b"\xef\xbb\xbf"


@dataclass
class RawTable:
    file: str
    headers: list[str]
    table: pa.Table  # c0..cN (string) + _line (int64)
    warnings: list[Problem] = field(default_factory=list)
    encoding: str = ""
    header_line: int = 1  # below a title (`header`), the header's line in the file

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def column(self, pos: int) -> pa.ChunkedArray:
        return self.table.column(f"c{pos}")


# --- bounded work per file -------------------------------------------------------------------
MAX_ROWS_ENV = "DUI_METRICS_MAX_ROWS"
MAX_CELLS_ENV = "DUI_METRICS_MAX_CELLS"
MAX_COLUMNS_ENV = "DUI_METRICS_MAX_COLUMNS"
# Above any real export: a national monthly export is 40,000 ESMS × 36 months = 1.44 M rows of
# about 10 columns (and a sheet of Excel holds at most 1,048,576 rows × 16,384 columns).
DEFAULT_MAX_ROWS = 2_000_000
DEFAULT_MAX_CELLS = 50_000_000
DEFAULT_MAX_COLUMNS = 1_000
# A row of a sheet never has more cells than Excel has columns (A … XFD).
EXCEL_COLUMNS = 16_384


@dataclass(frozen=True)
class Caps:
    """The most rows and cells per sheet (XLSX) or Parquet file, and columns per header (any
    format), read before a file is refused. Environment variables change them."""

    rows: int = DEFAULT_MAX_ROWS
    cells: int = DEFAULT_MAX_CELLS
    columns: int = DEFAULT_MAX_COLUMNS

    @classmethod
    def from_env(cls) -> Caps:
        """$DUI_METRICS_MAX_ROWS, $DUI_METRICS_MAX_CELLS, $DUI_METRICS_MAX_COLUMNS, else the
        defaults. A value that is not a positive integer is a usage error."""
        return cls(
            _env_cap(MAX_ROWS_ENV, DEFAULT_MAX_ROWS),
            _env_cap(MAX_CELLS_ENV, DEFAULT_MAX_CELLS),
            _env_cap(MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS),
        )


def _env_cap(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    digits = re.sub(r"[\s_]", "", text)  # « 2 000 000 », 2_000_000
    if not (digits.isascii() and digits.isdigit() and int(digits) > 0):
        raise UsageError(f"{name} invalide « {text} » : nombre entier positif attendu")
    return int(digits)


# The unit of each cap in messages, and the variable that changes it.
_CAP_WORDS = {
    "rows": ("lignes", MAX_ROWS_ENV),
    "cells": ("cellules", MAX_CELLS_ENV),
    "columns": ("colonnes", MAX_COLUMNS_ENV),
}


def over_cap(
    file: str, cap: str, limit: int, where: str = "", line: int | None = None
) -> ExportError:
    """The refusal of a file that passes one of its caps (``cap``: rows, cells or columns);
    ``where`` starts the message (« feuille « X » : »)."""
    unit, env = _CAP_WORDS[cap]
    per = "par en-tête" if cap == "columns" else "par feuille ou fichier"
    return ExportError(
        [
            Problem(
                file,
                line,
                None,
                f"{where}plus de {fr_int(limit)} {unit} : fichier refusé sans être lu plus "
                f"avant (limite de {fr_int(limit)} {unit} {per}, modifiable par la variable "
                f"d'environnement {env}) ; découpez le fichier ou vérifiez que c'est bien "
                "un export",
            )
        ]
    )


def check_header_width(file: str, columns: int, caps: Caps) -> None:
    """Refuse a file whose header has more than ``caps.columns`` columns (any format)."""
    if columns > caps.columns:
        raise over_cap(file, "columns", caps.columns, f"en-tête de {fr_int(columns)} colonnes, ")


def read(
    path: Path, file: str, max_unpacked: float = float("inf"), caps: Caps | None = None
) -> RawTable:
    """Read ``path`` (named ``file`` in messages) whatever its format. ``max_unpacked``: the
    most bytes an XLSX or ODS file may unpack to (see `workbooks.check_unpacked`); ``caps``:
    the most rows, cells and columns read (default: ``Caps.from_env()``)."""
    from dui_metrics.ingest import workbooks

    caps = caps or Caps.from_env()
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = read_csv(path, file, caps)
    elif suffix in WORKBOOK_SUFFIXES:
        raw = workbooks.read_workbook(path, file, caps, max_unpacked)
    elif suffix in PARQUET_SUFFIXES:
        raw = read_parquet(path, file, caps)
    else:
        raise ExportError([Problem(file, None, None, _unsupported(suffix))])
    if not raw.headers:
        raise ExportError([Problem(file, None, None, "fichier vide")])
    if raw.num_rows == 0:
        raise ExportError([Problem(file, None, None, "aucune ligne de données sous l'en-tête")])
    return raw


# peek_headers looks for a header in at most this many rows and cells of each sheet.
PEEK_CAPS = Caps(rows=10_000, cells=100_000)


def peek_headers(
    path: Path, max_unpacked: float = float("inf"), caps: Caps | None = None
) -> list[str] | None:
    """The header row of a file (below a title, `header`), reading as little as possible (to
    order a command's files).

    None when there is no header to find. May raise on an unreadable file: ``read`` words the
    problem when the file's turn comes.
    """
    from dui_metrics.ingest import workbooks

    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        text = head.decode("utf-8", errors="ignore")
        found = _csv_header(text)
        return found[1] if found else None
    if suffix in WORKBOOK_SUFFIXES:
        return workbooks.peek_workbook_headers(path, caps or Caps.from_env(), max_unpacked)
    if suffix in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return [str(name).strip() for name in pq.read_schema(path).names]
    return None


# Archives are refused, never opened: no archive bomb can be expanded. An .xlsx or .ods is a
# zip too: its members' declared sizes are checked before it is read (`workbooks`).
ARCHIVE_SUFFIXES = {".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar"}


def _unsupported(suffix: str) -> str:
    accepted = "formats acceptés : CSV, XLSX, ODS, XLS, Parquet ; dossiers TDDUI en JSON ou NDJSON"
    if suffix in ARCHIVE_SUFFIXES:
        return (
            f"archive {suffix} non acceptée : extrayez-en les fichiers et importez-les un par un "
            f"({accepted})"
        )
    return f"format non pris en charge ({suffix or 'sans extension'}) ; {accepted}"


def _table(columns: list[list[str | None]], lines: list[int]) -> pa.Table:
    arrays = {f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)}
    arrays["_line"] = pa.array(lines, pa.int64())
    return pa.table(arrays)


# --- CSV ---------------------------------------------------------------------------------
def decode(data: bytes, file: str) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), else Windows-1252."""
    if _looks_utf16(data):
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "fichier texte en UTF-16 (« Texte Unicode » d'Excel) : "
                    "réenregistrez-le en UTF-8 (dans Excel : « CSV UTF-8 »)",
                )
            ]
        )
    for magic, what in _NOT_TEXT:
        if data.startswith(magic):
            raise ExportError([Problem(file, None, None, f"{what} : ce n'est pas un CSV")])
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ExportError(
            [
                Problem(
                    file,
                    line,
                    None,
                    f"octet nul (0x00, octet {nul + 1}) : fichier binaire ou abîmé, "
                    "ce n'est pas un CSV lisible",
                )
            ]
        )
    if data.startswith(_BOM):
        try:
            return data[len(_BOM) :].decode("utf-8"), "UTF-8 avec BOM"
        except UnicodeDecodeError as exc:
            line = data[: exc.start + len(_BOM)].count(b"\n") + 1
            raise ExportError(
                [
                    Problem(
                        file,
                        line,
                        None,
                        "le fichier s'annonce en UTF-8 (BOM) mais contient des octets invalides "
                        f"en UTF-8 (octet {exc.start + len(_BOM) + 1}) : réenregistrez-le en UTF-8",
                    )
                ]
            ) from exc
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExportError(
            [
                Problem(
                    file,
                    line,
                    None,
                    f"encodage non reconnu (ni UTF-8 ni Windows-1252, octet {exc.start + 1})",
                )
            ]
        ) from exc


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .xls, encrypted .xlsx
_NOT_TEXT = (
    (b"PK\x03\x04", "classeur Excel (.xlsx) ou archive zip renommé"),
    (_OLE_MAGIC, "classeur Excel (.xls ou protégé par mot de passe) renommé"),
    (b"PAR1", "fichier Parquet renommé"),
)


def _looks_utf16(data: bytes) -> bool:
    """A UTF-16 BOM, or the first line's every other byte a NUL (UTF-16 without BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = data[:200]
    if len(head) < 4:
        return False
    evens, odds = head[0::2], head[1::2]
    zeros = sorted((evens.count(0) / len(evens), odds.count(0) / len(odds)))
    return zeros[0] < 0.1 and zeros[1] > 0.8  # only one byte of each pair is ever NUL


def sniff_separator(header_line: str) -> str:
    """``;`` first (French habit), then tab, then ``,``."""
    for sep in (";", "\t", ","):
        if sep in header_line:
            return sep
    return ";"


def _first_line(text: str) -> str:
    """The first line of ``text`` that is not blank ("" if none), without splitting the rest."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        chunk = text[start : end if end >= 0 else len(text)]
        for line in chunk.splitlines():
            if line.strip():
                return line
        if end < 0:
            break
        start = end + 1
    return ""


def _check_header_width(text: str, file: str, caps: Caps) -> None:
    """Refuse at once a CSV whose header has more than ``caps.columns`` columns: one message,
    before any per-column work (a million columns made a million of everything)."""
    first = _first_line(text)
    sep = sniff_separator(first)
    if first.count(sep) < caps.columns:
        return  # at most caps.columns fields, quoted separators or not
    # Every field counts, empty ones too: the readers make a column of each (a header of two
    # names and a million trailing separators took 16 s and 3.6 GB).
    check_header_width(file, len(next(csv.reader([first], delimiter=sep))), caps)


def read_csv(path: Path, file: str, caps: Caps | None = None) -> RawTable:
    text, encoding = decode(path.read_bytes(), file)
    found = _csv_header(text[: 1 << 16])
    skip = found[0] if found else 0
    if not skip:
        return _read_csv_text(text, file, encoding, caps)
    # A title above the header: the text is read from the header on, its lines renumbered.
    cut = 0
    for _ in range(skip):
        cut = text.index("\n", cut) + 1
    try:
        raw = _read_csv_text(text[cut:], file, encoding, caps)
    except ExportError as exc:
        moved = [
            Problem(p.file, p.line + skip if p.line else p.line, p.column, p.message)
            for p in exc.problems
        ]
        raise ExportError(moved, exc.total, exc.kind) from None
    lines = raw.table.column("_line")
    raw.table = raw.table.set_column(
        raw.table.schema.get_field_index("_line"), "_line", pc.add(lines, skip)
    )
    raw.header_line = skip + 1
    raw.warnings.append(title_warning(file, skip + 1))
    return raw


def _csv_header(head: str) -> tuple[int, list[str]] | None:
    """(lines above the header when a title is there (`header.header_index`), else 0; its
    cells) from the first lines of a CSV text. None without a non-blank line."""
    found: list[tuple[int, list[str]]] = []
    for number, line in enumerate(head.split("\n")):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        sep = sniff_separator(line)
        try:
            cells = [cell.strip() for cell in next(csv.reader([line], delimiter=sep))]
        except (csv.Error, StopIteration):
            cells = [line.strip()]
        while cells and not cells[-1]:
            cells.pop()
        found.append((number, cells))
        if len(found) == MAX_TITLE_ROWS:
            break
    if not found:
        return None
    at = header_index([[c or None for c in cells] for _, cells in found])
    number, cells = found[at]
    return (number if at else 0), cells


def _read_csv_text(text: str, file: str, encoding: str, caps: Caps | None) -> RawTable:
    _check_header_width(text, file, caps or Caps())
    encoded = text.encode("utf-8")  # what pyarrow reads; checked as bytes, faster than as str
    if not _is_simple(text, encoded):
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        return read_csv_text(text, sniff_separator(first), file, encoding)
    first = text[: text.find("\n")] if "\n" in text else text
    if first.strip(" \t\r"):
        sep = sniff_separator(first)
        plain = read_plain_csv(text, sep, file, encoding, encoded)
        if plain is not None:
            return plain
    else:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        sep = sniff_separator(first)
    simple = read_simple_csv(text, sep, file, encoding, encoded)
    return simple or read_csv_text(text, sep, file, encoding)


# Characters that make a CSV "unusual" for the fast paths: quotes, NUL, and every character that
# str.strip() or str.splitlines() treat as whitespace or a line break, besides space, tab, \n.
# An RE2 pattern (pyarrow's regex engine, an order of magnitude faster than re on a whole file).
_NOT_SIMPLE_RE2 = (
    '["\\x00\\x0b\\x0c\\x1c-\\x1f\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}'
    "\\x{202f}\\x{205f}\\x{3000}]"
    "|\\r[^\\n]|\\r$"  # a CR that does not start a CRLF
)


def _whole(data: bytes, kind: pa.DataType) -> pa.Array:
    """``data`` as a one-value Arrow array of ``kind`` (large_string: ``data`` must be UTF-8;
    large_binary), without copying it."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(data)])


def _is_simple(text: str, encoded: bytes | None = None) -> bool:
    """No quote, no whitespace but spaces and tabs (_NOT_SIMPLE_RE2), CR only in CRLF.

    ``encoded``: the text in UTF-8, if the caller has it (CR and LF are the same bytes there).
    """
    if len(text) > 2**30:
        return False
    data = text.encode("utf-8") if encoded is None else encoded
    found = pc.match_substring_regex(_whole(data, pa.large_string()), _NOT_SIMPLE_RE2)
    return not found[0].as_py()


def read_plain_csv(
    text: str, sep: str, file: str, encoding: str, encoded: bytes | None = None
) -> RawTable | None:
    """Fastest path of ``read_csv``: pyarrow's CSV parser, for a simple text (``_is_simple``)
    whose first line is the header, with no empty line and every line as wide as the header.

    Then the n-th record is line n + 1 and the result is exactly ``read_csv_text``'s (a
    property test checks it). ``encoded``: the text in UTF-8, if the caller has it (the work is
    done on bytes: CR and LF are the same bytes in UTF-8, never part of another character).
    None otherwise.
    """
    import pyarrow.csv as pacsv

    # CR only in CRLF (``_is_simple``): pyarrow ends lines at LF or CRLF alike, so the bytes
    # are read as they are (replacing every CRLF cost more than the parser).
    body = text.encode("utf-8") if encoded is None else encoded
    end = len(body)
    while end and body[end - 1] in b"\r\n":
        end -= 1  # the line ends after the last record
    first_end = body.find(b"\n")
    if (
        first_end < 0
        or body.startswith((b"\n", b"\r\n"))
        or body.find(b"\n\n", 0, end) >= 0
        or body.find(b"\n\r\n", 0, end) >= 0
    ):
        return None
    header_line = body[:first_end].decode("utf-8").removesuffix("\r")
    fields = [cell.strip(" \t") for cell in header_line.split(sep)]
    headers = list(fields)
    while headers and not headers[-1]:
        headers.pop()  # trailing separators
    if not headers:
        return None
    names = [f"c{i}" for i in range(len(fields))]
    # Without a space (or tab) at either end of a cell, trimming changes nothing and an empty
    # cell is one the parser reads as "": it makes it null itself, as below.
    padded = _has_padding(body, sep, first_end)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, quote_char=False, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=[""],
                strings_can_be_null=not padded,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # a line of another width: the other paths word it
    if table.num_rows == 0:
        return None
    limit = csv.field_size_limit()
    cells = []
    for name in names:
        column = table.column(name)
        if padded:
            column = pc.utf8_trim(column, " \t")
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
        # bytes ≥ characters: the character count is needed only above the limit in bytes
        if (pc.max(pc.binary_length(column)).as_py() or 0) > limit and (
            pc.max(pc.utf8_length(column)).as_py() > limit
        ):
            return None
        cells.append(column)
    width = len(headers)
    for extra in cells[width:]:
        if extra.null_count != len(extra):
            return None
    filled = None
    for column in cells:
        has = pc.is_valid(column)
        filled = has if filled is None else pc.or_(filled, has)
    arrays = {f"c{i}": column for i, column in enumerate(cells[:width])}
    arrays["_line"] = pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64))
    result = pa.table(arrays)
    if not pc.all(filled).as_py():
        result = result.filter(filled)  # lines of blanks only: skipped, their numbers kept
        if result.num_rows == 0:
            return None
    return RawTable(file, headers, result, encoding=f"{encoding}, « {_sep_name(sep)} »")


def _has_padding(body: bytes, sep: str, header_end: int) -> bool:
    """Whether a cell of ``body`` (separator ``sep``; records from ``header_end`` on) starts or
    ends with a space or a tab (one of them next to a separator, a line end or either end of
    the text)."""
    pads = [c for c in " \t" if c != sep]
    if all(body.find(c.encode(), header_end) < 0 for c in pads):
        return False  # no space nor tab in any cell: the quick answer of most exports
    rx = {" ": " ", "\t": "\\t", "\r": "\\r", "\n": "\\n", ";": ";", ",": ","}
    pad = "".join(rx[c] for c in pads)  # RE2 class members
    edge = "".join(rx[c] for c in "\r\n" + sep)
    pattern = f"(?:^|[{edge}])[{pad}]|[{pad}](?:$|[{edge}])"
    found = pc.match_substring_regex(_whole(body, pa.large_binary()), pattern)
    return found[0].as_py()


def read_simple_csv(
    text: str, sep: str, file: str, encoding: str, encoded: bytes | None = None
) -> RawTable | None:
    """Fast path of ``read_csv`` for the usual export, with pyarrow's string kernels.

    Taken only when the text has no quote, no whitespace but spaces and tabs, CR only in CRLF,
    a header, and data rows all at least as wide as the header with blank extra cells: then
    every physical line is one record and the result is exactly ``read_csv_text``'s (a
    property test checks it). None otherwise: ``read_csv_text`` reads the file and words the
    problems. About 3 times faster than the csv module on national exports. ``encoded``: the
    text in UTF-8, if the caller has it (see ``_is_simple``).
    """
    if not _is_simple(text, encoded):
        return None
    lines = pc.split_pattern(pa.array([text.replace("\r\n", "\n")], pa.string()), "\n").flatten()
    if pc.max(pc.utf8_length(lines)).as_py() > csv.field_size_limit():
        return None
    blank = pc.equal(pc.utf8_trim(pc.replace_substring(lines, sep, ""), " \t"), "")
    numbers = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64)).filter(pc.invert(blank))
    rows = lines.filter(pc.invert(blank))
    if len(rows) < 2:
        return None
    headers = [cell.strip(" \t") for cell in rows[0].as_py().split(sep)]
    while headers and not headers[-1]:
        headers.pop()  # trailing separators
    width = len(headers)
    cells = pc.split_pattern(rows[1:], sep)
    lengths = pc.list_value_length(cells)
    if pc.min(lengths).as_py() < width:
        return None
    widest = pc.max(lengths).as_py()
    if widest > width:
        extra = pc.list_flatten(pc.list_slice(cells, width, widest))
        if not pc.all(pc.equal(pc.utf8_trim(extra, " \t"), "")).as_py():
            return None
    arrays = {}
    for i in range(width):
        cell = pc.utf8_trim(pc.list_element(cells, i), " \t")
        arrays[f"c{i}"] = pc.if_else(pc.equal(cell, ""), pa.scalar(None, pa.string()), cell)
    arrays["_line"] = numbers[1:]
    return RawTable(file, headers, pa.table(arrays), encoding=f"{encoding}, « {_sep_name(sep)} »")


def read_csv_text(text: str, sep: str, file: str, encoding: str) -> RawTable:
    """Any CSV text, record by record with the csv module; every problem worded in French."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    headers: list[str] = []
    columns: list[list[str | None]] = []
    lines: list[int] = []
    problems: list[Problem] = []
    last_line = header_line = 0
    wide_header = False  # the first data line is wider than the header
    try:
        for row in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if not headers:
                header_line = start
                headers = [cell.strip() for cell in row]
                while headers and not headers[-1]:
                    headers.pop()  # trailing separators
                columns = [[] for _ in headers]
                continue
            width = len(headers)
            if len(row) < width:
                problems.append(
                    Problem(
                        file,
                        start,
                        None,
                        f"{len(row)} champ{'s' if len(row) > 1 else ''} au lieu de {width} "
                        f"(ligne tronquée ou séparateur autre que « {_sep_name(sep)} » ?)",
                    )
                )
                continue
            if any(cell.strip() for cell in row[width:]):
                if not lines and not problems and known_columns(headers) < 2:
                    wide_header = True  # from the first data line on, under no known column
                why = (
                    f"l'en-tête lu, ligne {header_line}, n'a que {width} champ"
                    f"{'s' if width > 1 else ''} : l'en-tête est-il sur la ligne 1 ? "
                    "Supprimez les lignes de titre au-dessus de l'en-tête"
                    if wide_header
                    else f"séparateur « {_sep_name(sep)} » dans une valeur non entourée de "
                    "guillemets ?"
                )
                problems.append(
                    Problem(file, start, None, f"{len(row)} champs au lieu de {width} ({why})")
                )
                continue
            for col, cell in zip(columns, row, strict=False):
                cell = cell.strip()
                col.append(cell or None)
            lines.append(start)
    except csv.Error as exc:
        problems.append(Problem(file, last_line + 1, None, _csv_error(str(exc), sep)))
    if problems:
        raise ExportError(problems)
    return RawTable(
        file, headers, _table(columns, lines), encoding=f"{encoding}, « {_sep_name(sep)} »"
    )


def _csv_error(message: str, sep: str) -> str:
    """French reason for the csv module's errors (strict mode), on the record's first line."""
    if message == "unexpected end of data":
        return (
            "guillemet ouvert jamais refermé : tout le reste du fichier serait une seule valeur "
            '(doublez un guillemet dans une valeur : "")'
        )
    if message.startswith("field larger than"):
        return (
            f"valeur de plus de {csv.field_size_limit():,} caractères".replace(",", " ")
            + " (guillemet ouvert jamais refermé ?)"
        )
    if message.endswith("expected after '\"'"):
        return (
            f"guillemet mal placé : après un guillemet fermant, « {_sep_name(sep)} » ou une fin "
            'de ligne est attendu (doublez un guillemet dans une valeur : "")'
        )
    return f"CSV mal formé : {message}"


def _sep_name(sep: str) -> str:
    return {"\t": "tabulation"}.get(sep, sep)


# --- typed cells (XLSX, Parquet) ---------------------------------------------------------
def cell_text(value: object, finess: bool = False) -> str | None:
    """Text of a typed cell: integral numbers without ``.0``, dates in ISO form."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float) and value != value:
        return None  # NaN: a missing value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        return text.zfill(9) if finess and value >= 0 else text
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- Parquet -----------------------------------------------------------------------------
def _check_parquet_size(path: Path, file: str, caps: Caps) -> None:
    """Refuse a Parquet file beyond ``caps`` from its metadata, before reading it (a compressed
    file: a few Ko may hold millions of rows)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowException, OSError):
        return  # unreadable: read_table words it
    check_header_width(file, meta.num_columns, caps)
    if meta.num_rows > caps.rows:
        raise over_cap(file, "rows", caps.rows, f"{fr_int(meta.num_rows)} lignes, ")
    if meta.num_rows * meta.num_columns > caps.cells:
        cells = fr_int(meta.num_rows * meta.num_columns)
        raise over_cap(file, "cells", caps.cells, f"{cells} cellules, ")


def read_parquet(path: Path, file: str, caps: Caps | None = None) -> RawTable:
    import pyarrow.parquet as pq

    _check_parquet_size(path, file, caps or Caps())
    try:
        source = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "fichier Parquet illisible (abîmé ou pas au format Parquet) : "
                    # pyarrow names the file by its full path: the message names it already
                    + re.sub(r"^Could not open Parquet input source '.*?': ", "", str(exc)),
                )
            ]
        ) from exc
    headers = [str(name).strip() for name in source.column_names]
    columns = []
    for name, column in zip(headers, source.columns, strict=True):
        columns.append(_arrow_text(column, is_finess_header(name)))
    lines = pa.array(np.arange(2, source.num_rows + 2, dtype=np.int64))
    arrays = {f"c{i}": col for i, col in enumerate(columns)}
    arrays["_line"] = lines
    return RawTable(file, headers, pa.table(arrays), encoding="Parquet")


def _arrow_text(column: pa.ChunkedArray, finess: bool) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(column.cast(pa.string()))
        return pc.if_else(pc.equal(text, ""), None, text)
    if pa.types.is_integer(kind):
        text = column.cast(pa.string())
        return pc.utf8_lpad(text, width=9, padding="0") if finess else text
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return column.cast(pa.date32()).cast(pa.string())
    return pa.chunked_array(
        [pa.array([cell_text(v, finess) for v in column.to_pylist()], pa.string())]
    )
