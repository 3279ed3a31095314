"""Workbooks: XLSX (and XLSM), ODS (LibreOffice) and XLS (Excel 97-2003), read alike.

The cells are read by calamine (``python-calamine``, Rust): on the national benchmark's 102
XLSX files, 0.12 s against 1.82 s for openpyxl's streaming parse (15×; `bench/ingest.py`).
calamine loads a whole sheet in memory, so each format's limits are checked first, without
reading a cell:

- XLSX: the sizes its zip declares (`check_unpacked`), its shared strings counted, and each
  sheet's XML scanned at C speed (`_scan_sheet_xml`: rows and cells counted against ``Caps``,
  merged cells, formulas);
- ODS: the zip's sizes, and its content.xml scanned by expat (`_scan_ods`): rows and cells as
  repeated, merged cells;
- XLS: bounded by its format (65,536 rows × 256 columns), its size by ``--taille-max``.

The same rules hold for all: one sheet with data, no merged cell in the header or the data,
formulas read as their cached values (an XLSX formula never computed is refused), a title
above the header skipped (`header`). Line numbers are the spreadsheet's rows.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path, PurePosixPath

from dui_metrics.errors import MAX_LISTED, ExportError, Problem
from dui_metrics.formats import column_letters, fr_int, fr_size
from dui_metrics.ingest.columns import is_finess_header
from dui_metrics.ingest.header import MAX_TITLE_ROWS, header_index, title_warning
from dui_metrics.ingest.readers import (
    _OLE_MAGIC,
    EXCEL_COLUMNS,
    Caps,
    RawTable,
    _table,
    cell_text,
    check_header_width,
    over_cap,
)

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
ODS_SUFFIXES = {".ods"}
XLS_SUFFIXES = {".xls"}
WORKBOOK_SUFFIXES = XLSX_SUFFIXES | ODS_SUFFIXES | XLS_SUFFIXES
# An XLSX or ODS file may unpack to this many times the size limit of a file (default 500 Mo:
# 5 Go). Real exports unpack to 5-10 times their size; a decompression bomb, to thousands.
XLSX_UNPACKED_FACTOR = 10


def _refused(file: str, message: str, line: int | None = None) -> ExportError:
    return ExportError([Problem(file, line, None, message)])


def check_unpacked(path: Path, file: str, max_unpacked: float) -> None:
    """Refuse an XLSX or ODS file whose members would unpack to more than ``max_unpacked``
    bytes, before anything is decompressed (the sizes the zip declares: Python's zipfile
    never yields more than a member's declared size)."""
    if max_unpacked == float("inf"):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # not a readable zip: read_workbook words that
    if unpacked > max_unpacked:
        raise _refused(
            file,
            f"classeur refusé sans être ouvert : son contenu décompressé ferait "
            f"{fr_size(unpacked)}, plus de {XLSX_UNPACKED_FACTOR} fois la taille maximale "
            "d'un fichier (bombe de décompression ?) ; exportez les données en CSV",
        )


# --- reading -----------------------------------------------------------------------------
def read_workbook(
    path: Path, file: str, caps: Caps | None = None, max_unpacked: float = float("inf")
) -> RawTable:
    """The one sheet holding data of a workbook, as text cells with their rows."""
    caps = caps or Caps()
    scans = _prechecked(path, file, caps, max_unpacked)
    book = _open(path, file)
    try:
        filled = []
        for name in _worksheets(book):
            rows = _rows_of(book, name, file)
            if any(cell != "" for row in rows for cell in row):
                filled.append((name, rows))
        if len(filled) > 1:
            names = ", ".join(f"« {name} »" for name, _ in filled)
            raise _refused(
                file,
                f"{len(filled)} feuilles contiennent des données ({names}) : un classeur "
                "importé ne doit en avoir qu'une ; enregistrez chaque feuille dans son "
                "propre fichier ou supprimez les autres",
            )
        if not filled:
            return RawTable(file, [], _table([], []), encoding=_encoding(path))
        name, rows = filled[0]
        merged, has_formulas = scans.get(name) or _merged_xls(book, name)
    finally:
        book.close()
    raw = _table_of(rows, file, caps, f"feuille « {name} » : ", merged)
    if has_formulas:
        _check_formulas(path, name, file, raw.headers, raw.header_line)
    raw.encoding = _encoding(path)
    return raw


def peek_workbook_headers(
    path: Path, caps: Caps, max_unpacked: float = float("inf")
) -> list[str] | None:
    """The header of the first sheet with data (after a title), or None. An XLSX file is
    read as a stream up to its first rows (`_peek_xlsx`: calamine would load the whole sheet,
    4.7 s for 545,000 rows, and the file is read again when its turn comes)."""
    if path.suffix.lower() in XLSX_SUFFIXES:
        check_unpacked(path, path.name, max_unpacked)
        with zipfile.ZipFile(path) as archive:
            _check_shared_strings(archive, path.name, caps)
            return _peek_xlsx(archive)
    _prechecked(path, path.name, caps, max_unpacked)
    book = _open(path, path.name)
    try:
        for name in _worksheets(book):
            try:
                rows = book.get_sheet_by_name(name).iter_rows()  # lazy: the first rows only
            except Exception:  # noqa: BLE001 - read_workbook words it
                return None
            filled = (t for t in map(_texts, rows) if any(t))
            texts = list(itertools.islice(filled, MAX_TITLE_ROWS))
            if texts:
                header = texts[header_index(texts)]
                return [t or "" for t in header]
    finally:
        book.close()
    return None


# _peek_xlsx reads at most this many rows of a sheet's XML looking for a non-blank row.
PEEK_ROWS = 10_000


def _peek_xlsx(archive: zipfile.ZipFile) -> list[str] | None:
    """The header of the first sheet with data, from the first rows of its XML (shared
    strings looked up by streaming their part only as far as needed)."""
    for _, member in _xlsx_sheets(archive):
        rows = _first_rows(archive, member)
        if not rows:
            continue
        wanted = {int(v) for row in rows for kind, v in row.values() if kind == "s" and v}
        strings = _shared_strings(archive, max(wanted)) if wanted else []
        texts = []
        for row in rows:
            cells: list[str | None] = [None] * (max(row) + 1)
            for pos, (kind, value) in row.items():
                if kind == "s":
                    index = int(value) if value and value.isdigit() else -1
                    value = strings[index] if 0 <= index < len(strings) else None
                cells[pos] = cell_text(value)
            texts.append(cells)
        header = texts[header_index(texts)]
        while header and not header[-1]:
            header.pop()
        return [t or "" for t in header]
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_rows(archive: zipfile.ZipFile, member: str) -> list[dict[int, tuple[str, str]]]:
    """The first ``MAX_TITLE_ROWS`` rows with a value of a sheet (read at most
    ``PEEK_ROWS`` rows): each a {column: (kind, raw value)} ("s": a shared string index)."""
    from xml.etree.ElementTree import iterparse

    found: list[dict[int, tuple[str, str]]] = []
    seen = 0
    with archive.open(member) as handle:
        for _, element in iterparse(handle, events=("end",)):
            if _local(element.tag) != "row":
                continue
            seen += 1
            row: dict[int, tuple[str, str]] = {}
            for pos, cell in enumerate(c for c in element if _local(c.tag) == "c"):
                ref = _REF.fullmatch(cell.get("r") or "")
                column = _column_number(ref.group(1)) - 1 if ref else pos
                kind = cell.get("t") or "n"
                if kind == "inlineStr":
                    value = "".join(t.text or "" for t in cell.iter() if _local(t.tag) == "t")
                else:
                    value = next((v.text for v in cell if _local(v.tag) == "v"), None)
                if value not in (None, "") and column < EXCEL_COLUMNS:
                    row[column] = ("s" if kind == "s" else "str", value)
            element.clear()
            if row:
                found.append(row)
            if len(found) == MAX_TITLE_ROWS or seen >= PEEK_ROWS:
                break
    return found


def _shared_strings(archive: zipfile.ZipFile, last: int) -> list[str]:
    """The shared strings up to index ``last``, streamed (rich text joined)."""
    from xml.etree.ElementTree import iterparse

    member = next((n for n in archive.namelist() if n.lower().endswith("sharedstrings.xml")), None)
    strings: list[str] = []
    if member is None:
        return strings
    with archive.open(member) as handle:
        for _, element in iterparse(handle, events=("end",)):
            if _local(element.tag) != "si":
                continue
            strings.append("".join(t.text or "" for t in element.iter() if _local(t.tag) == "t"))
            element.clear()
            if len(strings) > last:
                break
    return strings


def _encoding(path: Path) -> str:
    return {".ods": "ODS", ".xls": "XLS"}.get(path.suffix.lower(), "XLSX")


def _open(path: Path, file: str):
    from python_calamine import CalamineWorkbook, PasswordError

    try:
        return CalamineWorkbook.from_path(str(path))
    except PasswordError as exc:
        raise _refused(
            file, "classeur protégé par mot de passe : enregistrez-le sans mot de passe"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - calamine's errors: a damaged or renamed file
        raise _refused(
            file,
            f"classeur illisible (fichier abîmé, protégé par mot de passe ou d'un autre "
            f"format que {path.suffix.lower() or 'son extension'}) : {type(exc).__name__}",
        ) from exc


def _worksheets(book) -> list[str]:
    from python_calamine import SheetTypeEnum

    return [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]


def _rows_of(book, name: str, file: str) -> list[list]:
    try:
        return list(book.get_sheet_by_name(name).iter_rows())
    except Exception as exc:  # noqa: BLE001
        raise _refused(
            file, f"feuille « {name} » illisible (classeur abîmé ?) : {type(exc).__name__}"
        ) from exc


def _texts(row: list) -> list[str | None]:
    texts = [cell_text(None if v == "" else v) for v in row]
    while texts and not texts[-1]:
        texts.pop()
    return texts


def _table_of(
    rows: list[list], file: str, caps: Caps, where: str, merged: list[tuple[int, str]]
) -> RawTable:
    """Header (after a title), data rows and their row numbers; merged cells refused from the
    title's rows on (a merged title is named as such)."""
    firsts = []  # (row index, texts) of the first non-blank rows
    for i, row in enumerate(rows):
        texts = _texts(row)
        if any(texts):
            firsts.append((i, texts))
            if len(firsts) == MAX_TITLE_ROWS:
                break
    if not firsts:
        return RawTable(file, [], _table([], []))
    at = header_index([t for _, t in firsts])
    header_pos, headers = firsts[at]
    header_line = header_pos + 1
    if merged:
        _refuse_merged(file, merged, header_line)
    check_header_width(file, len(headers), caps)
    headers = [h or "" for h in headers]
    finess_cols = {i for i, h in enumerate(headers) if is_finess_header(h)}
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in headers]
    lines: list[int] = []
    for i in range(header_pos + 1, len(rows)):
        row = rows[i]
        values = [None] * width
        filled = False
        for pos, value in enumerate(row):
            if value == "" or value is None:
                continue
            text = cell_text(value, pos in finess_cols)
            if text is None:
                continue
            if pos >= width:
                raise _refused(file, "valeur dans une colonne sans en-tête", i + 1)
            values[pos], filled = text, True
        if not filled:
            continue
        if (len(lines) + 1) * width > caps.cells:
            raise over_cap(file, "cells", caps.cells, where, i + 1)
        for col, value in zip(columns, values, strict=True):
            col.append(value)
        lines.append(i + 1)
    raw = RawTable(file, headers, _table(columns, lines), header_line=header_line)
    if at:
        raw.warnings.append(title_warning(file, header_line))
    return raw


def _refuse_merged(file: str, merged: list[tuple[int, str]], header_line: int) -> None:
    """Merged cells: a merged title (above the header) is named as such."""
    refs = ", ".join(ref for _, ref in merged[:5]) + (", …" if len(merged) > 5 else "")
    first = merged[0][0]
    if first < header_line:
        message = (
            f"titre fusionné sur plusieurs cellules ({refs}) au-dessus de l'en-tête : "
            "défusionnez ces cellules (ou supprimez la ligne de titre) avant l'import"
        )
    else:
        message = (
            f"cellules fusionnées ({refs}) : chaque valeur doit occuper sa propre cellule (un "
            "en-tête par colonne, sur une seule ligne) ; défusionnez-les avant l'import"
        )
    raise _refused(file, message, first)


# --- checks before calamine loads a sheet ------------------------------------------------
def _prechecked(
    path: Path, file: str, caps: Caps, max_unpacked: float
) -> dict[str, tuple[list[tuple[int, str]], bool]]:
    """Each sheet's (merged cells, has formulas) by name, once the file's limits are checked
    (XLS: empty, its merged cells come from calamine)."""
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(8)
    if suffix in XLS_SUFFIXES:
        if head != _OLE_MAGIC:
            kind = "un classeur .xlsx ou .ods renommé" if head.startswith(b"PK") else "un CSV ?"
            raise _refused(
                file, f"ce n'est pas un classeur .xls (Excel 97-2003) : fichier renommé ({kind})"
            )
        return {}
    if head == _OLE_MAGIC:
        raise _refused(
            file,
            "classeur protégé par mot de passe ou au format .xls (Excel 97-2003) renommé : "
            f"enregistrez-le sans mot de passe, au format {suffix}",
        )
    if not head.startswith(b"PK"):
        raise _refused(
            file,
            f"ce n'est pas un classeur {suffix} (fichier d'un autre format renommé, par "
            "exemple un CSV ?)",
        )
    check_unpacked(path, file, max_unpacked)
    try:
        with zipfile.ZipFile(path) as archive:
            if suffix in ODS_SUFFIXES:
                return _scan_ods(archive, file, caps)
            _check_shared_strings(archive, file, caps)
            return {
                name: _scan_sheet_xml(archive, member, name, file, caps)
                for name, member in _xlsx_sheets(archive)
            }
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise _refused(
            file, f"classeur illisible (fichier abîmé ?) : {type(exc).__name__}"
        ) from exc


def _merged_xls(book, name: str) -> tuple[list[tuple[int, str]], bool]:
    ranges = book.get_sheet_by_name(name).merged_cell_ranges or []
    merged = sorted(
        (r0 + 1, f"{column_letters(c0 + 1)}{r0 + 1}:{column_letters(c1 + 1)}{r1 + 1}")
        for (r0, c0), (r1, c1) in ranges
    )
    return merged, False


# XLSX ------------------------------------------------------------------------------------
_XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_TAG = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+)((?::[A-Z]+[0-9]+)?)"')
_ROOT_TAG = re.compile(rb"<(\w+:)?(?:worksheet|sst)[\s>]")


def _xlsx_sheets(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, XML member) of each worksheet, from xl/workbook.xml and its relationships."""
    import xml.etree.ElementTree as ET

    book = "xl/workbook.xml"
    for info in archive.infolist():  # the part named by the package's main relationship
        if info.filename.lower() == "_rels/.rels":
            rels = ET.fromstring(archive.read(info))
            for rel in rels.iter(_PKG_REL_NS + "Relationship"):
                if rel.get("Type", "").endswith("/officeDocument"):
                    book = rel.get("Target", book).lstrip("/")
    base = PurePosixPath(book).parent
    rels_name = str(base / "_rels" / (PurePosixPath(book).name + ".rels"))
    targets = {}
    if rels_name in archive.namelist():
        for rel in ET.fromstring(archive.read(rels_name)).iter(_PKG_REL_NS + "Relationship"):
            target = rel.get("Target", "")
            if "worksheet" in rel.get("Type", ""):
                path = target.lstrip("/") if target.startswith("/") else str(base / target)
                targets[rel.get("Id")] = _normalised(path)
    sheets = []
    for sheet in ET.fromstring(archive.read(book)).iter(_XLSX_NS + "sheet"):
        member = targets.get(sheet.get(_REL_NS + "id"))
        if member and member in archive.namelist():
            sheets.append((sheet.get("name", ""), member))
    return sheets


def _normalised(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _xml_prefix(chunk: bytes) -> bytes:
    """The namespace prefix of a sheet's or shared strings' root element (``x:`` or b"")."""
    root = _ROOT_TAG.search(chunk)
    return (root.group(1) or b"") if root else b""


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
    """Elements whose tag starts with ``name`` opened in ``chunk``: one count at memchr
    speed, an upper bound (``<c`` also counts the few ``<col>``, ``<cfRule>``… of a sheet;
    six exact counts, one per character that may end a tag name, took 4.3 s per 490 Mo)."""
    return chunk.count(b"<" + prefix + name)


def _scan_sheet_xml(
    archive: zipfile.ZipFile, member: str, name: str, file: str, caps: Caps
) -> tuple[list[tuple[int, str]], bool]:
    """(row, range) of merged cells sorted by row, and whether any cell holds a formula; the
    rows and cells of the sheet counted (and its rows' numbers read), so that a sheet beyond
    ``caps`` is refused before calamine loads it (about 1 s per 500 Mo of XML)."""
    where = f"feuille « {name} » : "
    merged: set[tuple[int, str]] = set()
    has_formulas, prefix = False, None
    rows = cells = widest = highest = 0
    with archive.open(member) as handle:
        for chunk in _chunks(handle):
            if prefix is None:
                prefix = _xml_prefix(chunk)
                # rows numbered with as many digits as the cap or more (a literal start: fast)
                digits = len(str(caps.rows))
                big_row = re.compile(
                    b"<" + re.escape(prefix) + rb'row\s[^>]*?\br="(\d{%d,})' % digits
                )
                # a cell with a value (not self-closing) in column AA or beyond, and rows
                last_row = re.compile(b"<" + re.escape(prefix) + rb'row\s[^>]*?\br="(\d+)"')
                # (any cell: one whose value is empty but which is formatted counts too;
                # a regex on each cell's tag took 4.2 s per 490 Mo, this one 0.5 s)
                wide_cell = re.compile(rb'r="([A-Z]{2,3})\d')
            # Each regex runs only where a plain search (memchr speed) says it may match.
            if not has_formulas and (b"<f" in chunk or b":f" in chunk):
                has_formulas = _FORMULA_TAG.search(chunk) is not None
            if b"mergeCell" in chunk:
                for col, row, rest in _MERGE_TAG.findall(chunk):
                    merged.add((int(row), (col + row + rest).decode()))
            for letters in set(wide_cell.findall(chunk)) if b'r="' in chunk else ():
                widest = max(widest, _column_number(letters.decode()))
            tail = chunk.rfind(b"<" + prefix + b"row")
            if tail >= 0 and (found := last_row.match(chunk, tail)):
                highest = max(highest, int(found.group(1)))
            # calamine holds the rectangle from A1 to the farthest cell with a value
            if widest * highest > caps.cells:
                raise _far_cell(file, where, widest, highest, caps)
            rows += _count_tags(chunk, prefix, b"row")
            cells += _count_tags(chunk, prefix, b"c")
            numbered = max((int(n) for n in big_row.findall(chunk)), default=0)
            if rows > caps.rows or numbered > caps.rows:
                raise over_cap(file, "rows", caps.rows, where)
            if cells > caps.cells:
                raise over_cap(file, "cells", caps.cells, where)
    return sorted(merged), has_formulas


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _far_cell(file: str, where: str, column: int, row: int, caps: Caps) -> ExportError:
    return _refused(
        file,
        f"{where}une cellule en colonne {column_letters(column)} et des lignes jusqu'à la "
        f"{fr_int(row)}e : la feuille couvrirait plus de {fr_int(caps.cells)} cellules ; "
        "supprimez les lignes et les colonnes au-delà des données (une cellule vide mais mise "
        "en forme compte aussi), ou le fichier est abîmé",
    )


def _check_shared_strings(archive: zipfile.ZipFile, file: str, caps: Caps) -> None:
    """Refuse a workbook whose shared strings (loaded whole) outnumber the cells a sheet may
    have: counted in the XML at C speed, before calamine reads them."""
    for info in archive.infolist():
        if not info.filename.lower().endswith("sharedstrings.xml"):
            continue
        strings, prefix = 0, None
        with archive.open(info) as handle:
            for chunk in _chunks(handle):
                if prefix is None:
                    prefix = _xml_prefix(chunk)
                strings += _count_tags(chunk, prefix, b"si")
                if strings > caps.cells:
                    raise over_cap(file, "cells", caps.cells, "textes partagés : ")


def _check_formulas(path: Path, name: str, file: str, headers: list[str], header_row: int):
    """Refuse formula cells without a cached value: a never-computed formula has no value."""
    from xml.etree.ElementTree import iterparse

    problems, total = [], 0
    rows = None  # sheetData: emptied after each row, so memory stays flat
    with zipfile.ZipFile(path) as archive:
        member = dict(_xlsx_sheets(archive))[name]
        with archive.open(member) as handle:
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
                            problems.append(_never_computed(file, ref, headers, header_row))
                    element.clear()
                elif element.tag == _XLSX_NS + "row" and rows is not None:
                    rows.clear()
    if total:
        raise ExportError(problems, total)


_REF = re.compile(r"([A-Z]+)([0-9]+)")


def _never_computed(file: str, ref: str, headers: list[str], header_row: int) -> Problem:
    line, column = None, None
    found = _REF.fullmatch(ref)
    if found:
        line = int(found.group(2))
        pos = 0
        for letter in found.group(1):
            pos = pos * 26 + ord(letter) - 64
        if line > header_row and pos - 1 < len(headers):
            column = headers[pos - 1] or None
    return Problem(
        file,
        line,
        column,
        f"formule jamais calculée en {ref} : le classeur n'en contient pas la valeur ; "
        "ouvrez-le dans Excel ou LibreOffice puis enregistrez-le",
    )


# ODS -------------------------------------------------------------------------------------
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0|"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0|"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0|"


def _scan_ods(
    archive: zipfile.ZipFile, file: str, caps: Caps
) -> dict[str, tuple[list[tuple[int, str]], bool]]:
    """Each sheet's merged cells (rows 1-based), its rows and cells with a value counted as
    they repeat (``number-rows-repeated``, ``number-columns-repeated``) against ``caps``,
    by expat, before calamine expands them."""
    from xml.parsers import expat

    sheets: dict[str, tuple[list[tuple[int, str]], bool]] = {}
    state = {
        "sheet": None,
        "row": 0,
        "rows_rep": 1,
        "col": 0,
        "filled": 0,
        "widest": 0,
        "cell": None,
    }
    counts = {"rows": 0, "cells": 0}

    def start(tag: str, attrs: dict) -> None:
        if tag == _TABLE + "table":
            state["sheet"] = attrs.get(_TABLE + "name", "")
            sheets[state["sheet"]] = ([], False)
            state["row"], counts["rows"], counts["cells"], counts["widest"] = 0, 0, 0, 0
        elif tag == _TABLE + "table-row":
            state["rows_rep"] = int(attrs.get(_TABLE + "number-rows-repeated", "1") or 1)
            state["col"], state["filled"], state["widest"] = 0, 0, 0
        elif tag in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
            repeat = int(attrs.get(_TABLE + "number-columns-repeated", "1") or 1)
            span_c = int(attrs.get(_TABLE + "number-columns-spanned", "1") or 1)
            span_r = int(attrs.get(_TABLE + "number-rows-spanned", "1") or 1)
            if (span_c > 1 or span_r > 1) and state["sheet"] is not None:
                row, col = state["row"] + 1, state["col"] + 1
                ref = f"{column_letters(col)}{row}:{column_letters(col + span_c - 1)}{row + span_r - 1}"
                sheets[state["sheet"]][0].append((row, ref))
            state["cell"] = [repeat, _OFFICE + "value-type" in attrs]
            state["col"] += repeat
        elif tag == _TEXT + "p" and state["cell"] is not None:
            state["cell"][1] = True

    def end(tag: str) -> None:
        if tag in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
            repeat, has_value = state["cell"] or (1, False)
            if has_value:
                state["widest"] = max(state["widest"], state["col"])
                if state["col"] > EXCEL_COLUMNS:
                    raise over_cap(
                        file, "columns", EXCEL_COLUMNS, f"feuille « {state['sheet']} » : "
                    )
                state["filled"] += repeat
            state["cell"] = None
        elif tag == _TABLE + "table-row":
            repeat = state["rows_rep"]
            where = f"feuille « {state['sheet']} » : "
            if state["filled"]:
                counts["rows"] += repeat
                counts["cells"] += repeat * state["filled"]
                if counts["rows"] > caps.rows or state["row"] + repeat > caps.rows:
                    raise over_cap(file, "rows", caps.rows, where)
                if counts["cells"] > caps.cells:
                    raise over_cap(file, "cells", caps.cells, where)
                counts["widest"] = max(counts.get("widest", 0), state["widest"])
                if counts["widest"] * (state["row"] + repeat) > caps.cells:
                    raise _far_cell(file, where, counts["widest"], state["row"] + repeat, caps)
            state["row"] += repeat

    parser = expat.ParserCreate(namespace_separator="|")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with archive.open("content.xml") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _refused(file, f"classeur ODS illisible (XML abîmé : {exc})") from exc
    for name, (merged, _) in sheets.items():
        sheets[name] = (sorted(merged), False)
    return sheets
