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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics.errors import ExportError, Problem
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


def read(path: Path, file: str) -> RawTable:
    """Read ``path`` (named ``file`` in messages) whatever its format."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = read_csv(path, file)
    elif suffix in XLSX_SUFFIXES:
        raw = read_xlsx(path, file)
    elif suffix in PARQUET_SUFFIXES:
        raw = read_parquet(path, file)
    else:
        raise ExportError(
            [
                Problem(
                    file,
                    None,
                    None,
                    f"format non pris en charge ({suffix or 'sans extension'}) ; "
                    "formats acceptés : CSV, XLSX, Parquet",
                )
            ]
        )
    if not raw.headers:
        raise ExportError([Problem(file, None, None, "fichier vide")])
    if raw.num_rows == 0:
        raise ExportError([Problem(file, None, None, "aucune ligne de données sous l'en-tête")])
    return raw


def _table(columns: list[list[str | None]], lines: list[int]) -> pa.Table:
    arrays = {f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)}
    arrays["_line"] = pa.array(lines, pa.int64())
    return pa.table(arrays)


# --- CSV ---------------------------------------------------------------------------------
def decode(data: bytes, file: str) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), else Windows-1252."""
    if b"\x00" in data[:65536]:
        raise ExportError(
            [
                Problem(
                    file, None, None, "fichier binaire (octets nuls) : ce n'est pas un CSV lisible"
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


def sniff_separator(header_line: str) -> str:
    """``;`` first (French habit), then tab, then ``,``."""
    for sep in (";", "\t", ","):
        if sep in header_line:
            return sep
    return ";"


def read_csv(path: Path, file: str) -> RawTable:
    text, encoding = decode(path.read_bytes(), file)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    sep = sniff_separator(first)
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
        problems.append(Problem(file, reader.line_num, None, f"CSV mal formé : {exc}"))
    if problems:
        raise ExportError(problems)
    return RawTable(
        file, headers, _table(columns, lines), encoding=f"{encoding}, « {_sep_name(sep)} »"
    )


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
        sheet = workbook.worksheets[0]
        headers: list[str] = []
        finess_cols: set[int] = set()
        columns: list[list[str | None]] = []
        lines: list[int] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if not headers:
                cells = [cell_text(v) or "" for v in row]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    headers = cells
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
        warnings = []
        others = [ws.title for ws in workbook.worksheets[1:] if _has_data(ws)]
        if others:
            warnings.append(
                Problem(
                    file,
                    None,
                    None,
                    f"seule la première feuille « {sheet.title} » est lue ; feuille(s) "
                    f"ignorée(s) : {', '.join(others)}",
                )
            )
    finally:
        workbook.close()
    return RawTable(file, headers, _table(columns, lines), warnings, encoding="XLSX")


def _has_data(sheet) -> bool:
    return any(any(v is not None for v in row) for row in sheet.iter_rows(values_only=True))


# --- Parquet -----------------------------------------------------------------------------
def read_parquet(path: Path, file: str) -> RawTable:
    import pyarrow.parquet as pq

    try:
        source = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ExportError(
            [Problem(file, None, None, f"fichier Parquet illisible : {exc}")]
        ) from exc
    headers = [str(name).strip() for name in source.column_names]
    columns = []
    for name, column in zip(headers, source.columns, strict=True):
        columns.append(_arrow_text(column, is_finess_header(name)))
    lines = pa.array(range(2, source.num_rows + 2), pa.int64())
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
