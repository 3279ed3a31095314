"""Readers: one per format, each turning a file into text cells with their line numbers.

Every reader returns a ``RawTable``: the header as written, and a pyarrow table of string
columns ``c0``…``cN`` (None for an empty cell) plus ``_line``, the line a person would look at
(CSV: physical line; XLSX: the spreadsheet row; Parquet: row index + 2, the header being
line 1). Typing and validation happen later, on whole columns. A numeric cell in a FINESS
column (spreadsheets drop the leading zero of ``010780914``) is left-padded back to 9 digits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics.errors import MAX_LISTED, ExportError, Problem
from dui_metrics.formats import fr_size
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


def read(path: Path, file: str, max_unpacked: float = float("inf")) -> RawTable:
    """Read ``path`` (named ``file`` in messages) whatever its format. ``max_unpacked``: the
    most bytes an XLSX file may unpack to (see `check_unpacked`)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = read_csv(path, file)
    elif suffix in XLSX_SUFFIXES:
        check_unpacked(path, file, max_unpacked)
        raw = read_xlsx(path, file)
    elif suffix in PARQUET_SUFFIXES:
        raw = read_parquet(path, file)
    else:
        raise ExportError([Problem(file, None, None, _unsupported(suffix))])
    if not raw.headers:
        raise ExportError([Problem(file, None, None, "fichier vide")])
    if raw.num_rows == 0:
        raise ExportError([Problem(file, None, None, "aucune ligne de données sous l'en-tête")])
    return raw


def peek_headers(path: Path, max_unpacked: float = float("inf")) -> list[str] | None:
    """The header row of a file, reading as little as possible (to order a command's files).

    None when there is no header to find. May raise on an unreadable file: ``read`` words the
    problem when the file's turn comes.
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
        import openpyxl

        check_unpacked(path, path.name, max_unpacked)  # raises: no peeking into a bomb
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows(values_only=True):
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
    accepted = "formats acceptés : CSV, XLSX, Parquet"
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


def read_csv(path: Path, file: str) -> RawTable:
    text, encoding = decode(path.read_bytes(), file)
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
def read_xlsx(path: Path, file: str) -> RawTable:
    import openpyxl  # imported here: only XLSX files need it
    from openpyxl.utils.exceptions import InvalidFileException

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
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
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
        if not workbook.worksheets:
            raise ExportError([Problem(file, None, None, "classeur sans feuille")])
        # The one sheet holding data is read; several sheets with data are refused (all or
        # nothing per file: never import one sheet and silently leave the others).
        filled = [ws for ws in workbook.worksheets if _has_data(ws)]
        if len(filled) > 1:
            names = ", ".join(f"« {ws.title} »" for ws in filled)
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
        sheet = filled[0] if filled else workbook.worksheets[0]
        merged, has_formulas = _scan_sheet_xml(sheet)
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
        headers: list[str] = []
        header_row = 0
        finess_cols: set[int] = set()
        columns: list[list[str | None]] = []
        lines: list[int] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if not headers:
                cells = [cell_text(v) or "" for v in row]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    headers, header_row = cells, number
                    finess_cols = {i for i, h in enumerate(headers) if is_finess_header(h)}
                    columns = [[] for _ in headers]
                continue
            values = [cell_text(v, i in finess_cols) for i, v in enumerate(row)]
            if not any(values):
                continue
            values += [None] * (len(headers) - len(values))
            if any(values[len(headers) :]):
                raise ExportError(
                    [Problem(file, number, None, "valeur dans une colonne sans en-tête")]
                )
            for col, value in zip(columns, values, strict=False):
                col.append(value)
            lines.append(number)
        if has_formulas:
            _check_formulas(sheet, file, headers, header_row)
    finally:
        workbook.close()
    return RawTable(file, headers, _table(columns, lines), encoding="XLSX")


def _has_data(sheet) -> bool:
    return any(any(v is not None for v in row) for row in sheet.iter_rows(values_only=True))


_XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_TAG = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+)((?::[A-Z]+[0-9]+)?)"')


def _sheet_xml(sheet):
    """The sheet's XML member (openpyxl's read-only sheet keeps its path), or None."""
    archive = getattr(sheet.parent, "_archive", None)
    member = getattr(sheet, "_worksheet_path", None)
    return archive.open(member) if archive is not None and member else None


def _scan_sheet_xml(sheet) -> tuple[list[tuple[int, str]], bool]:
    """(row, range) of merged cells sorted by row, and whether any cell holds a formula.

    openpyxl's read-only mode shows neither (a merged range is its top-left value and empty
    cells; a formula is its cached value, None when never computed): one pass over the XML.
    """
    handle = _sheet_xml(sheet)
    if handle is None:
        return [], False
    merged: set[tuple[int, str]] = set()
    has_formulas, tail = False, b""
    with handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            chunk = tail + block
            has_formulas = has_formulas or _FORMULA_TAG.search(chunk) is not None
            for col, row, rest in _MERGE_TAG.findall(chunk):
                merged.add((int(row), (col + row + rest).decode()))
            tail = chunk[-200:]
    return sorted(merged), has_formulas


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
def read_parquet(path: Path, file: str) -> RawTable:
    import pyarrow.parquet as pq

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
