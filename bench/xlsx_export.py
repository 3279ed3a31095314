"""``--format xlsx`` throughput: `spreadsheet.write_table` (the workbook's XML written as text)
against the openpyxl write-only path it replaced, in the same run, on the same rows.

Usage (from the repository root):

    .venv/bin/python bench/xlsx_export.py                    # 200,000 rows
    .venv/bin/python bench/xlsx_export.py --rows 960000 --skip-openpyxl   # a national export
    .venv/bin/python bench/xlsx_export.py --levels 1,3,6     # zlib levels of the new path
    .venv/bin/python bench/xlsx_export.py --libreoffice      # + the new file through soffice

The rows are synthetic and deterministic, shaped as `spreadsheet.INDICATOR_COLUMNS` (FINESS
with a leading 0, month dates, codes, labels with ``&``, ``<``, ``>``, quotes and one
beginning with ``=``, counts, rates, empty cells, NaN). Both workbooks are read back with
openpyxl (read-only): every row's values must be equal, and the number formats and the bold
header of the first rows. ``--libreoffice`` converts the new workbook to CSV with LibreOffice
(a private profile) and checks its row count. Other processes share the CPUs: the machine's
load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dui_metrics import spreadsheet  # noqa: E402

CODES = (
    ("personnes_accompagnees", "Personnes accompagnées", False),
    ("dossiers_actifs", "Dossiers actifs", False),
    ("taux_dossiers_actifs", "Taux de dossiers actifs", True),
    ("mss_messages_envoyes", "Messages MSSanté envoyés", False),
    ("taux_ins_qualifie", "Taux d'INS qualifiées", True),
    ("echanges", 'Échanges "DMP" & <MSS> > 0', False),
    ("formule", "=1+1 (libellé lu d'un fichier)", False),
    ("inconnu", None, False),
)


def synthetic_rows(count: int):
    """``count`` rows of `spreadsheet.INDICATOR_COLUMNS`, the same on every call."""
    months = [dt.date(2023 + m // 12, m % 12 + 1, 1) for m in range(36)]
    for i in range(count):
        code, label, rate = CODES[i % len(CODES)]
        finess = f"{10_000_000 + (i // 288) * 7919 % 90_000_000:09d}"
        month = months[(i // len(CODES)) % len(months)]
        if rate:
            den = 1 + i % 97
            num = i % (den + 1)
            value = float("nan") if i % 101 == 0 else num / den
            yield finess, month, code, label, value, num, den
        else:
            yield finess, month, code, label, (i * 37) % 100_003, None, None


def timed(write, path: Path, rows: int) -> float:
    start = time.perf_counter()
    with path.open("wb") as handle:
        written = write(
            handle, spreadsheet.INDICATOR_COLUMNS, synthetic_rows(rows), title="Indicateurs"
        )
    elapsed = time.perf_counter() - start
    assert written == rows, written
    return elapsed


def read_back(path: Path):
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        yield from wb.active.iter_rows()
    finally:
        wb.close()


def compare(old: Path, new: Path, rows: int, formats_of: int = 200) -> None:
    """Equal values on every row; equal number formats and fonts on the first rows."""
    count = 0
    for index, (a, b) in enumerate(zip(read_back(old), read_back(new), strict=True)):
        values_a = [c.value for c in a]
        values_b = [c.value for c in b]
        # openpyxl drops an empty cell at the end of a row: pad to the header's width
        width = len(spreadsheet.INDICATOR_COLUMNS)
        values_a += [None] * (width - len(values_a))
        values_b += [None] * (width - len(values_b))
        assert values_a == values_b, (index + 1, values_a, values_b)
        if index < formats_of:
            for x, y in zip(a, b, strict=False):
                if x.value is None:
                    continue
                assert x.number_format == y.number_format, (index + 1, x, y)
                assert bool(x.font.b) == bool(y.font.b), (index + 1, x, y)
        count += 1
    assert count == rows + 1, count
    print(f"read back with openpyxl: {count:,} rows, values identical "
          f"(number formats and bold header checked on the first {formats_of})")  # fmt: skip


def libreoffice(path: Path, rows: int, folder: Path) -> None:
    start = time.perf_counter()
    done = subprocess.run(
        ["soffice", "--headless", "-env:UserInstallation=file:///tmp/lo-xlsxfast",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
         "--outdir", str(folder), str(path)],
        capture_output=True, timeout=1800, env={**os.environ, "HOME": str(folder / "home")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with (folder / f"{path.stem}.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert len(table) == rows + 1, len(table)
    print(f"LibreOffice: {len(table):,} rows converted to CSV in "
          f"{time.perf_counter() - start:.1f} s; row 2 as shown: {table[1]}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--levels", default="", help="zlib levels to time, e.g. 1,3,6")
    parser.add_argument("--skip-openpyxl", action="store_true", help="the new path only")
    parser.add_argument("--libreoffice", action="store_true")
    args = parser.parse_args()
    print(f"{args.rows:,} rows; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="xlsx-bench-") as tmp:
        folder = Path(tmp)
        new = folder / "new.xlsx"
        elapsed = timed(spreadsheet.write_table, new, args.rows)
        print(f"new (XML as text, zlib level {spreadsheet._LEVEL}): {elapsed:7.2f} s  "
              f"{args.rows / elapsed:10,.0f} rows/s  {new.stat().st_size / 1e6:7.1f} MB")  # fmt: skip
        default = spreadsheet._LEVEL
        for level in [int(x) for x in args.levels.split(",") if x]:
            spreadsheet._LEVEL = level
            path = folder / f"level-{level}.xlsx"
            took = timed(spreadsheet.write_table, path, args.rows)
            print(f"    zlib level {level}: {took:7.2f} s  {args.rows / took:10,.0f} rows/s  "
                  f"{path.stat().st_size / 1e6:7.1f} MB")  # fmt: skip
            path.unlink()
        spreadsheet._LEVEL = default
        if not args.skip_openpyxl:
            old = folder / "old.xlsx"
            before = timed(write_table_openpyxl, old, args.rows)
            print(f"old (openpyxl write-only):        {before:7.2f} s  "
                  f"{args.rows / before:10,.0f} rows/s  {old.stat().st_size / 1e6:7.1f} MB")  # fmt: skip
            print(f"ratio: {before / elapsed:.1f}x faster")
            compare(old, new, args.rows)
        if args.libreoffice:
            libreoffice(new, args.rows, folder)


# --- the baseline: the openpyxl path that write_table replaced (moved here from the library)
def write_table_openpyxl(
    handle,
    columns,
    rows,
    *,
    title: str = "Tableau",
) -> int:
    """`spreadsheet.write_table` as it was, through openpyxl's write-only mode (~250 µs a row): the baseline this
    bench compares it with."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"  # written before the rows: set first
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[spreadsheet.column_letters(index)].width = spreadsheet._width(column)
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=spreadsheet.neutralise_formula(column.header))
        cell.font = bold
        header.append(cell)
    try:
        ws.append(header)
        written = _append_rows(ws, columns, rows)
        ws.auto_filter.ref = f"A1:{spreadsheet.column_letters(len(columns))}{written + 1}"
        wb.save(handle)
    except BaseException:
        _discard(ws)
        raise
    return written


def _append_rows(ws, columns, rows) -> int:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # One styled cell per column (two for count-or-rate), its value changed on each row:
    # openpyxl serialises a row as it is appended. A new styled cell per value took 1.3x as
    # long (20,000 rows of 7 cells: 5.2 s against 4.1 s).
    cells = [_cell(ws, column.kind) for column in columns]
    counts = [
        _cell(ws, spreadsheet.COUNT) if c.kind == spreadsheet.COUNT_OR_RATE else None
        for c in columns
    ]
    texts = {i for i, c in enumerate(columns) if c.kind in (spreadsheet.TEXT, spreadsheet.FINESS)}
    written = 0
    for row in rows:
        if written == spreadsheet.MAX_DATA_ROWS:
            raise spreadsheet.TooManyRows(f"plus de {spreadsheet.MAX_DATA_ROWS} lignes")
        out: list[object] = []
        for index, value in enumerate(row):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                out.append(None)
                continue
            cell = cells[index]
            if index in texts:
                # control characters XML cannot hold (openpyxl would raise) are dropped
                value = spreadsheet.neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
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


def _cell(ws, kind: str):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws)
    number_format = spreadsheet._FORMATS[
        spreadsheet.RATE if kind == spreadsheet.COUNT_OR_RATE else kind
    ][0]
    if number_format is not None:
        cell.number_format = number_format
    return cell


if __name__ == "__main__":
    main()
