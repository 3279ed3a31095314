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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics.errors import MAX_LISTED, ExportError, Problem, UsageError
from dui_metrics.formats import fr_int, fr_size
from dui_metrics.ingest.columns import is_finess_header

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | XLSX_SUFFIXES | PARQUET_SUFFIXES

_BOM = b"\xef\xbb\xbf"


@dataclass
class RawTable:
    file: str
    headers: list[str]
    table: pa.Table  # c0..cN (string) + _line (int64)
    warnings: list[Problem] = field(default_factory=list)
    encoding: str = ""

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
    most bytes an XLSX file may unpack to (see `check_unpacked`); ``caps``: the most rows,
    cells and columns read (default: ``Caps.from_env()``)."""
    caps = caps or Caps.from_env()
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = read_csv(path, file, caps)
    elif suffix in XLSX_SUFFIXES:
        check_unpacked(path, file, max_unpacked)
        raw = read_xlsx(path, file, caps)
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
    """The header row of a file, reading as little as possible (to order a command's files).

    None when there is no header to find. May raise on an unreadable file: ``read`` words the
    problem when the file's turn comes. In a workbook, the header is looked for in the first
    rows of each sheet only (``PEEK_CAPS``).
    """
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        text = head.decode("utf-8", errors="ignore")
        first = next((ln for ln in text.splitlines() if ln.strip()), None)
        if first is None:
            return None
        row = next(csv.reader([first], delimiter=sniff_separator(first)))
        return [cell.strip() for cell in row]
    if suffix in XLSX_SUFFIXES:
        check_unpacked(path, path.name, max_unpacked)  # raises: no peeking into a bomb
        _check_shared_strings(path, path.name, caps or Caps.from_env())
        workbook, sheets = _open_workbook(path)
        try:
            for sheet in sheets:
                for _, cells in _sheet_rows(sheet, path.name, PEEK_CAPS):
                    row = _row_values(cells)
                    if any(cell_text(v) for v in row):
                        return [cell_text(v) or "" for v in row]
        finally:
            workbook.close()
        return None
    if suffix in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return [str(name).strip() for name in pq.read_schema(path).names]
    return None


# Archives are refused, never opened: no archive bomb can be expanded. An .xlsx is a zip too:
# its members' declared sizes are checked before openpyxl reads any (`check_unpacked`).
ARCHIVE_SUFFIXES = {".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar"}
# An XLSX file may unpack to this many times the size limit of a file (default 500 Mo: 5 Go).
# Real exports unpack to 5-10 times their size; a decompression bomb, to thousands of times.
XLSX_UNPACKED_FACTOR = 10


def check_unpacked(path: Path, file: str, max_unpacked: float) -> None:
    """Refuse an XLSX file whose members would unpack to more than ``max_unpacked`` bytes,
    before anything is decompressed. The sizes are those the zip declares: Python's zipfile,
    which openpyxl reads through, never yields more than a member's declared size."""
    if max_unpacked == float("inf"):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # not a readable zip: read_xlsx words that
    if unpacked > max_unpacked:
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    f"classeur refusé sans être ouvert : son contenu décompressé ferait "
                    f"{fr_size(unpacked)}, plus de {XLSX_UNPACKED_FACTOR} fois la taille maximale "
                    "d'un fichier (bombe de décompression ?) ; exportez les données en CSV",
                )
            ]
        )


def _unsupported(suffix: str) -> str:
    accepted = "formats acceptés : CSV, XLSX, Parquet ; dossiers TDDUI en JSON ou NDJSON"
    if suffix in ARCHIVE_SUFFIXES:
        return (
            f"archive {suffix} non acceptée : extrayez-en les fichiers et importez-les un par un "
            f"({accepted})"
        )
    if suffix in (".xls", ".ods"):
        return (
            f"format non pris en charge ({suffix}) : enregistrez le classeur au format .xlsx "
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
    last_line = 0
    try:
        for row in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if not headers:
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
                problems.append(
                    Problem(
                        file,
                        start,
                        None,
                        f"{len(row)} champs au lieu de {width} (séparateur « {_sep_name(sep)} » "
                        "dans une valeur non entourée de guillemets ?)",
                    )
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


# --- XLSX --------------------------------------------------------------------------------
def read_xlsx(path: Path, file: str, caps: Caps | None = None) -> RawTable:
    """The one sheet holding data, read as a stream within ``caps`` (see ``_scan_sheet_xml``
    and ``_sheet_rows``)."""
    from openpyxl.utils.exceptions import InvalidFileException  # only XLSX files need openpyxl

    caps = caps or Caps()
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == _OLE_MAGIC:
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "classeur protégé par mot de passe ou au format .xls (Excel 97-2003) : "
                    "enregistrez-le sans mot de passe au format .xlsx",
                )
            ]
        )
    if not head.startswith(b"PK"):
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "ce n'est pas un classeur .xlsx (fichier d'un autre format renommé, "
                    "par exemple un CSV ?)",
                )
            ]
        )
    try:
        _check_shared_strings(path, file, caps)  # openpyxl loads them whole
        workbook, sheets = _open_workbook(path)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    "classeur Excel illisible (fichier abîmé, protégé par mot de passe ou "
                    f"ancien format .xls ?) : {type(exc).__name__}",
                )
            ]
        ) from exc
    try:
        if not sheets:
            raise ExportError([Problem(file, None, None, "classeur sans feuille")])
        # Every sheet is counted first (caps), at C speed: no cell is parsed in a bomb.
        scans = [_scan_sheet_xml(ws, file, caps) for ws in sheets]
        # The one sheet holding data is read; several sheets with data are refused (all or
        # nothing per file: never import one sheet and silently leave the others).
        filled = [
            (ws, scan) for ws, scan in zip(sheets, scans, strict=True) if _has_data(ws, file, caps)
        ]
        if len(filled) > 1:
            names = ", ".join(f"« {ws.title} »" for ws, _ in filled)
            raise ExportError(
                [
                    Problem(
                        file,
                        None,
                        None,
                        f"{len(filled)} feuilles contiennent des données ({names}) : un classeur "
                        "importé ne doit en avoir qu'une ; enregistrez chaque feuille dans son "
                        "propre fichier ou supprimez les autres",
                    )
                ]
            )
        sheet, (merged, has_formulas) = filled[0] if filled else (sheets[0], scans[0])
        if merged:
            raise ExportError(
                [
                    Problem(
                        file,
                        merged[0][0],
                        None,
                        f"cellules fusionnées ({', '.join(ref for _, ref in merged[:5])}"
                        f"{', …' if len(merged) > 5 else ''}) : chaque valeur doit occuper sa "
                        "propre cellule (un en-tête par colonne, sur une seule ligne) ; "
                        "défusionnez-les avant l'import",
                    )
                ]
            )
        headers, header_row, columns, lines = _read_sheet(sheet, file, caps)
        if has_formulas:
            _check_formulas(sheet, file, headers, header_row)
    finally:
        workbook.close()
    return RawTable(file, headers, _table(columns, lines), encoding="XLSX")


@dataclass
class _Sheet:
    """A sheet of a workbook opened by ``_open_workbook``: what ``_sheet_rows`` needs (the
    names of openpyxl's read-only sheets, which ``_sheet_xml`` also reads)."""

    title: str
    _worksheet_path: str
    parent: object  # the openpyxl Workbook: its archive, date epoch and date styles
    _shared_strings: list


def _open_workbook(path: Path) -> tuple[object, list[_Sheet]]:
    """openpyxl's ``load_workbook(read_only=True, data_only=True)`` but for its sheets: the
    workbook (close it) and its worksheets. openpyxl sizes each read-only sheet when it opens
    it, and a sheet without a ``<dimension>`` is parsed whole for that: minutes for a bomb,
    before any cap could be checked."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(path, read_only=True, data_only=True)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            _Sheet(sheet.name, rel.target, reader.wb, reader.shared_strings)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
    except BaseException:
        reader.archive.close()
        raise
    return reader.wb, sheets


def _read_sheet(
    sheet, file: str, caps: Caps
) -> tuple[list[str], int, list[list[str | None]], list[int]]:
    """Headers, their row, the text cells by column and the row of each data line: one pass."""
    headers: list[str] = []
    header_row = 0
    finess_cols: set[int] = set()
    columns: list[list[str | None]] = []
    lines: list[int] = []
    where = f"feuille « {sheet.title} » : "
    for number, cells in _sheet_rows(sheet, file, caps):
        if not headers:
            texts = [cell_text(v) or "" for v in _row_values(cells)]
            while texts and not texts[-1]:
                texts.pop()
            if texts:
                check_header_width(file, len(texts), caps)
                headers, header_row = texts, number
                finess_cols = {i for i, h in enumerate(headers) if is_finess_header(h)}
                columns = [[] for _ in headers]
            continue
        values = [None] * len(headers)
        filled = False
        for cell in cells:
            pos = cell["column"] - 1
            text = cell_text(cell["value"], pos in finess_cols)
            if text is None:
                continue
            if pos >= len(headers):
                raise ExportError(
                    [Problem(file, number, None, "valeur dans une colonne sans en-tête")]
                )
            values[pos], filled = text, True
        if not filled:
            continue
        # Cells kept in memory: the table's, rows × header width.
        if (len(lines) + 1) * len(headers) > caps.cells:
            raise over_cap(file, "cells", caps.cells, where, number)
        for col, value in zip(columns, values, strict=True):
            col.append(value)
        lines.append(number)
    return headers, header_row, columns, lines


def _row_values(cells: list[dict]) -> list:
    """The values of a parsed row by position, from column A (missing cells: None)."""
    if not cells:
        return []
    values = [None] * max(cell["column"] for cell in cells)
    for cell in cells:
        values[cell["column"] - 1] = cell["value"]
    return values


def _has_data(sheet, file: str, caps: Caps) -> bool:
    return any(
        cell["value"] is not None for _, cells in _sheet_rows(sheet, file, caps) for cell in cells
    )


_XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_TAG = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+)((?::[A-Z]+[0-9]+)?)"')
_ROOT_TAG = re.compile(rb"<(\w+:)?(?:worksheet|sst)[\s>]")


def _xml_prefix(chunk: bytes) -> bytes:
    """The namespace prefix of a sheet's or shared strings' root element (``x:`` or b"")."""
    root = _ROOT_TAG.search(chunk)
    return (root.group(1) or b"") if root else b""


def _sheet_xml(sheet):
    """The sheet's XML member (openpyxl's read-only sheet keeps its path), or None."""
    archive = getattr(sheet.parent, "_archive", None)
    member = getattr(sheet, "_worksheet_path", None)
    return archive.open(member) if archive is not None and member else None


def _chunks(handle, size: int = 1 << 20):
    """The bytes of ``handle`` in blocks that end just before a ``<`` (no tag is cut in two;
    a block without any ``<`` is given whole)."""
    tail = b""
    for block in iter(lambda: handle.read(size), b""):
        chunk = tail + block
        cut = chunk.rfind(b"<")
        if cut <= 0:
            tail = b""
            yield chunk
        else:
            tail = chunk[cut:]
            yield chunk[:cut]
    if tail:
        yield tail


def _count_tags(chunk: bytes, prefix: bytes, name: bytes) -> int:
    """Elements ``name`` opened in ``chunk`` (``<name ``, ``<name>``, ``<name/>``; a tag name
    followed by a line break is not counted here, but by ``_sheet_rows``)."""
    start = b"<" + prefix + name
    return chunk.count(start + b" ") + chunk.count(start + b">") + chunk.count(start + b"/>")


def _scan_sheet_xml(sheet, file: str, caps: Caps) -> tuple[list[tuple[int, str]], bool]:
    """(row, range) of merged cells sorted by row, and whether any cell holds a formula.

    openpyxl's read-only mode shows neither (a merged range is its top-left value and empty
    cells; a formula is its cached value, None when never computed): one pass over the XML,
    which also counts the rows and cells of the sheet and reads the numbers of its rows, so
    that a sheet beyond ``caps`` is refused before any cell is parsed (about 1 s per 500 Mo
    of XML; parsing them would take minutes).
    """
    handle = _sheet_xml(sheet)
    if handle is None:
        return [], False
    where = f"feuille « {sheet.title} » : "
    merged: set[tuple[int, str]] = set()
    has_formulas, prefix = False, None
    rows = cells = 0
    with handle:
        for chunk in _chunks(handle):
            if prefix is None:
                prefix = _xml_prefix(chunk)
                # rows numbered with as many digits as the cap or more (a literal start: fast)
                digits = len(str(caps.rows))
                big_row = re.compile(
                    b"<" + re.escape(prefix) + rb'row\s[^>]*?\br="(\d{%d,})' % digits
                )
            # Each regex runs only where a plain search (memchr speed) says it may match.
            if not has_formulas and (b"<f" in chunk or b":f" in chunk):
                has_formulas = _FORMULA_TAG.search(chunk) is not None
            if b"mergeCell" in chunk:
                for col, row, rest in _MERGE_TAG.findall(chunk):
                    merged.add((int(row), (col + row + rest).decode()))
            rows += _count_tags(chunk, prefix, b"row")
            cells += _count_tags(chunk, prefix, b"c")
            numbered = max((int(n) for n in big_row.findall(chunk)), default=0)
            if rows > caps.rows or numbered > caps.rows:
                raise over_cap(file, "rows", caps.rows, where)
            if cells > caps.cells:
                raise over_cap(file, "cells", caps.cells, where)
    return sorted(merged), has_formulas


def _check_shared_strings(path: Path, file: str, caps: Caps) -> None:
    """Refuse a workbook whose shared strings (loaded whole by openpyxl) outnumber the cells a
    sheet may have: counted in the XML at C speed, before openpyxl reads them."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info.filename
                for info in archive.infolist()
                if info.filename.lower().endswith("sharedstrings.xml")
            ]
            for member in members:
                strings, prefix = 0, None
                with archive.open(member) as handle:
                    for chunk in _chunks(handle):
                        if prefix is None:
                            prefix = _xml_prefix(chunk)
                        strings += _count_tags(chunk, prefix, b"si")
                        if strings > caps.cells:
                            raise over_cap(file, "cells", caps.cells, "textes partagés : ")
    except (zipfile.BadZipFile, OSError, KeyError):
        return  # not a readable zip: load_workbook words that


def _sheet_rows(sheet, file: str, caps: Caps):
    """(row number, cells) of each row present in the sheet's XML, in order, as a stream.

    Each cell is openpyxl's parse of it (``column``, ``value``: shared strings, numbers,
    dates by their style, booleans, cached values of formulas), as its read-only sheets give
    them, but without their padding of every row to the declared dimension (a sheet declaring
    ``A1:XFD1048576`` made them walk 17 G empty cells) and with memory kept flat (each row is
    dropped once parsed). Rows absent from the XML are blank: not given. ``caps`` are enforced
    as the rows come: their number and count, and cells in all and per row.
    """
    from xml.etree.ElementTree import iterparse

    from openpyxl.worksheet._reader import WorkSheetParser

    handle = _sheet_xml(sheet)
    if handle is None:
        return
    book = sheet.parent
    parser = WorkSheetParser(
        None,
        sheet._shared_strings,
        data_only=True,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
    )
    where = f"feuille « {sheet.title} » : "
    row_tag, cell_tag = _XLSX_NS + "row", _XLSX_NS + "c"
    rows = cells = in_row = last = 0
    # The open elements: each element ended outside a row is removed from its parent at once
    # (a row once parsed), so that memory stays flat whatever the XML holds.
    stack: list = []
    row_depth = 0  # depth of the open row, 0 outside rows
    with handle:
        for event, element in iterparse(handle, events=("start", "end")):
            tag = element.tag
            if event == "start":
                stack.append(element)
                if tag == row_tag and not row_depth:
                    row_depth = len(stack)
                    rows, in_row = rows + 1, 0
                    if rows > caps.rows:
                        raise over_cap(file, "rows", caps.rows, where)
                continue
            stack.pop()
            if len(stack) >= row_depth > 0:  # inside a row: kept until the row ends
                if tag == cell_tag and len(stack) == row_depth:
                    cells, in_row = cells + 1, in_row + 1
                    if cells > caps.cells:
                        raise over_cap(file, "cells", caps.cells, where)
                    if in_row > EXCEL_COLUMNS:
                        raise _wide_row(file, where, last + 1)
                continue
            if stack:
                stack[-1].remove(element)
            if tag == row_tag and row_depth:
                row_depth = 0
                number = _row_number(element.get("r"), last, file, where)
                if number > caps.rows:
                    raise over_cap(file, "rows", caps.rows, where, number)
                parser.row_counter, parser.col_counter = number, 0
                parsed = [parser.parse_cell(c) for c in element if c.tag == cell_tag]
                last = number
                yield number, parsed


def _wide_row(file: str, where: str, line: int) -> ExportError:
    return ExportError(
        [
            Problem(
                file,
                line,
                None,
                f"{where}ligne de plus de {fr_int(EXCEL_COLUMNS)} cellules, le maximum d'un "
                "classeur : fichier abîmé ou qui n'est pas un export",
            )
        ]
    )


def _row_number(given: str | None, last: int, file: str, where: str) -> int:
    """The number of a row (its ``r``, else the one after the last), after the last one."""
    if given is None:
        return last + 1
    try:
        number = int(float(given)) if not given.isdigit() else int(given)
    except ValueError:
        number = 0
    if number <= last:
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    f"{where}ligne numérotée « {given} » après la ligne {last} : numéros de "
                    "lignes dans le désordre ou illisibles (fichier abîmé ?)",
                )
            ]
        )
    return number


def _check_formulas(sheet, file: str, headers: list[str], header_row: int) -> None:
    """Refuse formula cells without a cached value: a never-computed formula has no value."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    handle = _sheet_xml(sheet)
    problems, total = [], 0
    rows = None  # sheetData: emptied after each row, so memory stays flat
    with handle:
        for event, element in iterparse(handle, events=("start", "end")):
            if event == "start":
                if element.tag == _XLSX_NS + "sheetData":
                    rows = element
                continue
            if element.tag == _XLSX_NS + "c":
                if element.find(_XLSX_NS + "f") is not None and not (
                    element.findtext(_XLSX_NS + "v") or ""
                ):
                    total += 1
                    ref = element.get("r") or "?"
                    if len(problems) < MAX_LISTED:
                        line, column = None, None
                        if ref != "?":
                            letters, line = coordinate_from_string(ref)
                            pos = column_index_from_string(letters) - 1
                            if line > header_row and pos < len(headers):
                                column = headers[pos] or None
                        problems.append(
                            Problem(
                                file,
                                line,
                                column,
                                f"formule jamais calculée en {ref} : le classeur n'en contient pas "
                                "la valeur ; ouvrez-le dans Excel ou LibreOffice puis "
                                "enregistrez-le",
                            )
                        )
                element.clear()
            elif element.tag == _XLSX_NS + "row" and rows is not None:
                rows.clear()
    if total:
        raise ExportError(problems, total)


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
