"""Hostile inputs (issue 12, item 6): time and peak RSS of `dui-metrics ingest` on each,
against a normal XLSX file of the same row count measured in the same run.

Usage (from the repository root):

    .venv/bin/python bench/hostile_inputs.py                    # files in a temporary folder
    .venv/bin/python bench/hostile_inputs.py --folder /tmp/hostile --timeout 300
    git archive HEAD~3 | tar -x -C /tmp/before      # an older version of the code…
    .venv/bin/python bench/hostile_inputs.py --folder /tmp/hostile --code /tmp/before  # …measured

Files written (deterministic):
- ``normal.xlsx``: a long usage export as a spreadsheet program writes it (shared strings,
  ``r`` references on every row and cell), ROWS rows of distinct (ESMS, month, indicator);
- ``bombe_49mo.xlsx``: about 165 Ko that unpack to 49 Mo: the same long header, then ROWS
  identical rows of shared strings without references (``<row>``, ``<c t="s">``);
- ``bombe_490mo.xlsx``: the same, ten times longer (about 1,7 Mo unpacking to 490 Mo);
- ``bombe_dimension.xlsx``: a few rows, but a declared dimension ``A1:XFD1048576`` and a last
  row numbered 1 048 576 (a reader that pads rows to the declared size walks 17 G cells);
- ``million_colonnes.csv``: a header of 1 000 000 columns and one data line.

Each file is ingested alone into a new store by the real console script, under
``/usr/bin/time -v`` (wall time, peak RSS of the child), with a timeout: a run killed at the
timeout is printed as such. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from dui_metrics import referentiel
from dui_metrics.formats import column_letters

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
# The console script, with dui_metrics imported from the folder given (--code) rather than from
# the editable install (whose import hook comes before sys.path).
BOOT = (
    "import sys; sys.path.insert(0, {code!r}); "
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
    "from dui_metrics.cli import main; sys.argv[0] = 'dui-metrics'; sys.exit(main())"
)
ROWS = 545_000  # rows of the 49 Mo bomb and of the normal file

HEADER = ["finess_et", "periode", "indicateur", "valeur"]
# The référentiel's counts, in its order (denominators before their numerators).
INDICATORS = list(referentiel.default().count_codes)
MONTHS = [f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in range(30)]  # 2023-01 … 2025-06

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS}" xmlns:r="{_REL}">'
        '<sheets><sheet name="Usages" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyFill="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def write_xlsx(path: Path, strings: list[str], rows, dimension: str | None = None) -> None:
    """An XLSX file whose sheet XML is written as a stream: ``rows`` yields the XML of each
    ``<row>``; ``strings``: the shared strings table."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
        archive.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_NS}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{sst}</sst>',
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}">'
            if dimension:
                head += f'<dimension ref="{dimension}"/>'
            sheet.write((head + "<sheetData>").encode())
            buffer = io.StringIO()
            for n, row in enumerate(rows, start=1):
                buffer.write(row)
                if n % 10_000 == 0:
                    sheet.write(buffer.getvalue().encode())
                    buffer = io.StringIO()
            sheet.write((buffer.getvalue() + "</sheetData></worksheet>").encode())


def _header_row() -> str:
    cells = "".join(f'<c r="{column_letters(i + 1)}1" t="s"><v>{i}</v></c>' for i in range(4))
    return f'<row r="1">{cells}</row>'


def write_normal(path: Path, rows: int) -> None:
    """Distinct (ESMS, month, indicator) rows, FINESS and codes as shared strings; the values
    decrease in the order of INDICATORS (50, 45, …), so every numerator ≤ its denominator."""
    per_esms = len(MONTHS) * len(INDICATORS)
    esms = [f"69{n:07d}" for n in range(-(-rows // per_esms))]
    strings = HEADER + INDICATORS + MONTHS + esms
    first_month, first_esms = len(HEADER) + len(INDICATORS), len(HEADER) + 38

    def body():
        yield _header_row()
        for n in range(rows):
            e, rest = divmod(n, per_esms)
            m, i = divmod(rest, len(INDICATORS))
            r = n + 2
            yield (
                f'<row r="{r}"><c r="A{r}" t="s"><v>{first_esms + e}</v></c>'
                f'<c r="B{r}" t="s"><v>{first_month + m}</v></c>'
                f'<c r="C{r}" t="s"><v>{len(HEADER) + i}</v></c>'
                f'<c r="D{r}"><v>{50 - 5 * i}</v></c></row>'
            )

    write_xlsx(path, strings, body())


def write_bomb(path: Path, rows: int) -> None:
    """The long header, then ``rows`` identical rows without references: one ESMS, month,
    indicator (shared strings) and value. Identical XML: deflate packs it 300 times."""
    strings = [*HEADER, "690000013", "2025-03", "dossiers_actifs"]
    row = (
        '<row><c t="s"><v>4</v></c><c t="s"><v>5</v></c><c t="s"><v>6</v></c><c><v>30</v></c></row>'
    )

    def body():
        yield _header_row()
        for _ in range(rows):
            yield row

    write_xlsx(path, strings, body())


def write_dimension(path: Path) -> None:
    """Three rows of data, then an empty styled cell in row 1 048 576, column XFD."""
    strings = [*HEADER, "690000013", "dossiers_actifs"]
    rows = [_header_row()] + [
        f'<row r="{r}"><c r="A{r}" t="s"><v>4</v></c>'
        f'<c r="B{r}" t="inlineStr"><is><t>2025-0{r - 1}</t></is></c>'
        f'<c r="C{r}" t="s"><v>5</v></c><c r="D{r}"><v>{r}</v></c></row>'
        for r in (2, 3, 4)
    ]
    rows.append('<row r="1048576"><c r="XFD1048576" s="1"/></row>')
    write_xlsx(path, strings, rows, dimension="A1:XFD1048576")


def write_million_columns(path: Path) -> None:
    header = ";".join(f"colonne_{n}" for n in range(1_000_000))
    path.write_text(header + "\n" + ";" * 999_999 + "\n", encoding="utf-8")


def build(folder: Path, rows: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "normal.xlsx": lambda p: write_normal(p, rows),
        "bombe_49mo.xlsx": lambda p: write_bomb(p, rows),
        "bombe_490mo.xlsx": lambda p: write_bomb(p, rows * 10),
        "bombe_dimension.xlsx": write_dimension,
        "million_colonnes.csv": write_million_columns,
    }
    paths = {}
    for name, writer in files.items():
        path = folder / name
        if not path.exists():
            writer(path)
        paths[name] = path
    return paths


def unpacked(path: Path) -> int:
    if path.suffix != ".xlsx":
        return path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def measure(path: Path, timeout: float, code: Path = ROOT) -> dict:
    """`dui-metrics ingest` of ``path`` alone into a new store: seconds, peak RSS, exit code,
    the first line printed about the file."""
    with tempfile.TemporaryDirectory(prefix="dui-hostile-") as scratch:
        store = Path(scratch) / "store.duckdb"
        boot = BOOT.format(code=str(code))
        command = ["/usr/bin/time", "-v", str(PYTHON), "-c", boot, "ingest", "--store", str(store)]
        command.append(str(path))
        start = time.perf_counter()
        # Its own process group: at the timeout, the ingest is killed with /usr/bin/time.
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return {"seconds": time.perf_counter() - start, "rss_mib": None, "code": "timeout"}
        seconds = time.perf_counter() - start
        done = subprocess.CompletedProcess(command, child.returncode, stdout, stderr)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        said = [
            line
            for line in (done.stdout + done.stderr).splitlines()
            if path.name in line
            and "Command being timed" not in line
            and "[1/1]" not in line
            and "fichier refusé," not in line
        ]
        return {
            "seconds": seconds,
            "rss_mib": int(rss.group(1)) / 1024 if rss else None,
            "code": done.returncode,
            "said": (said[0] if said else "")[:160],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="where to write the files (kept)")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per ingest")
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="folder holding the dui_metrics to measure"
    )
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="dui-hostile-files-"))
    start = time.perf_counter()
    paths = build(folder, args.rows)
    print(f"files in {folder} (built in {time.perf_counter() - start:.1f} s); code: {args.code}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'file':24} {'size':>10} {'unpacked':>10} {'seconds':>8} {'peak RSS':>9} exit")
    baseline = None
    for name, path in paths.items():
        figures = measure(path, args.timeout, args.code)
        rss = f"{figures['rss_mib']:.0f} MiB" if figures["rss_mib"] else "?"
        ratio = ""
        if name == "normal.xlsx":
            baseline = figures["seconds"]
        elif baseline:
            ratio = f" ({figures['seconds'] / baseline:.2f}× normal)"
        print(
            f"{name:24} {path.stat().st_size / 1024:>7.0f} Ko {unpacked(path) / 2**20:>7.1f} Mo "
            f"{figures['seconds']:>8.1f} {rss:>9} {figures['code']}{ratio}"
        )
        if figures.get("said"):
            print(f"    {figures['said']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
