"""Bounded work per file (issue 12, item 6): caps on rows, cells and header columns, workbooks
read as a stream, and a check (« Vérifier ») that never waits for the writers' lock.

Real files on disk (hand-written XLSX parts, zipped) and a real DuckDB store; no mocks.
"""

from __future__ import annotations

import zipfile
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dui_metrics import uploads
from dui_metrics.errors import UsageError
from dui_metrics.formats import fr_int
from dui_metrics.store import Store
from dui_metrics.writer import writers_lock

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {
    "[Content_Types].xml": (
        f'<Types xmlns="{PKG}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OFFICE}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{OFFICE}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
        '<sheet name="Usages" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}
# Shared strings: 0-3 the long header, 4 an ESMS, 5 a month, 6 an indicator.
STRINGS = ["finess_et", "periode", "indicateur", "valeur", "330000001", "2025-03", "ins_qualifiees"]
HEADER_ROW = '<row r="1">' + "".join(
    f'<c r="{col}1" t="s"><v>{i}</v></c>' for i, col in enumerate("ABCD")
) + "</row>"  # fmt: skip
# A data row without references (allowed: it follows the row before).
SAME_ROW = (
    b'<row><c t="s"><v>4</v></c><c t="s"><v>5</v></c><c t="s"><v>6</v></c><c><v>3</v></c></row>'
)


def data_row(r: int, value: int = 3) -> str:
    return (
        f'<row r="{r}"><c r="A{r}" t="s"><v>4</v></c><c r="B{r}" t="s"><v>5</v></c>'
        f'<c r="C{r}" t="s"><v>6</v></c><c r="D{r}"><v>{value}</v></c></row>'
    )


def write_xlsx(
    path: Path, rows: str, *, repeat: bytes = b"", times: int = 0, dimension: str = ""
) -> Path:
    """An XLSX file: the long header, ``rows`` (XML), then ``repeat`` written ``times`` times,
    the sheet streamed into the zip (a few hundred Ko for hundreds of Mo of XML)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        sst = "".join(f"<si><t>{s}</t></si>" for s in STRINGS)
        archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{NS}">{sst}</sst>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = f'<worksheet xmlns="{NS}">'
            if dimension:
                head += f'<dimension ref="{dimension}"/>'
            sheet.write(f"{head}<sheetData>{HEADER_ROW}{rows}".encode())
            block = repeat * 10_000
            for _ in range(times // 10_000):
                sheet.write(block)
            sheet.write(repeat * (times % 10_000))
            sheet.write(b"</sheetData></worksheet>")
    return path


@pytest.fixture
def seeded(store_path: Path, tmp_path: Path, ref) -> Path:
    """A store holding one usage value (E1 2025-02 ins_qualifiees = 1)."""
    seed = tmp_path / "seed.csv"
    seed.write_text("finess_et;periode;indicateur;valeur\n330000001;2025-02;ins_qualifiees;1\n")
    assert [r.status for r in uploads.ingest_uploads(store_path, [seed], ref)] == ["chargé"]
    return store_path


def ingest_alone(store_path: Path, path: Path, ref):
    """Import ``path`` as the upload page does; the store's bytes before and after."""
    before = store_path.read_bytes()
    (result,) = uploads.ingest_uploads(store_path, [path], ref)
    return result, before, store_path.read_bytes()


def only_problem(result) -> str:
    assert result.status == "refusé"
    assert result.error.total == 1 and len(result.error.problems) == 1
    return str(result.error.problems[0])


def test_a_sheet_numbered_beyond_the_row_cap_is_refused(seeded: Path, tmp_path: Path, ref):
    # Two rows of data, the second numbered 2 000 001: the sheet spans more than the
    # 2 000 000 rows of the default cap. Read before, through rows padded up to it.
    path = write_xlsx(tmp_path / "loin.xlsx", data_row(2) + data_row(2_000_001))
    result, before, after = ingest_alone(seeded, path, ref)
    message = only_problem(result)
    assert message.startswith("loin.xlsx : feuille « Usages » : plus de ")
    assert f"plus de {fr_int(2_000_000)} lignes" in message
    assert "DUI_METRICS_MAX_ROWS" in message
    assert after == before


def test_the_row_cap_is_set_by_its_variable(seeded: Path, tmp_path: Path, ref, monkeypatch):
    monkeypatch.setenv("DUI_METRICS_MAX_ROWS", "3")
    # header + 3 rows: 4 rows, one more than the cap of 3
    path = write_xlsx(tmp_path / "quatre.xlsx", "".join(data_row(r) for r in (2, 3, 4)))
    result, before, after = ingest_alone(seeded, path, ref)
    assert "plus de 3 lignes" in only_problem(result)
    assert "feuille « Usages »" in only_problem(result)
    assert after == before
    monkeypatch.setenv("DUI_METRICS_MAX_ROWS", "4")  # the same file within the cap loads
    assert uploads.ingest_uploads(seeded, [path], ref)[0].status == "chargé"


def test_a_small_xlsx_unpacking_to_millions_of_rows_is_refused(seeded: Path, tmp_path, ref):
    # 2 100 000 identical rows (90 bytes of XML each: 189 Mo) pack into about 640 Ko: over the
    # default cap of 2 000 000 rows. Counted before any cell is parsed; the store is untouched.
    path = write_xlsx(tmp_path / "bombe.xlsx", "", repeat=SAME_ROW, times=2_100_000)
    assert path.stat().st_size < 2 * 2**20
    result, before, after = ingest_alone(seeded, path, ref)
    message = only_problem(result)
    assert message.startswith("bombe.xlsx : feuille « Usages » : plus de ")
    assert f"{fr_int(2_000_000)} lignes" in message and "DUI_METRICS_MAX_ROWS" in message
    assert after == before


def test_the_cell_cap_counts_every_cell(seeded: Path, tmp_path: Path, ref, monkeypatch):
    monkeypatch.setenv("DUI_METRICS_MAX_CELLS", "1000")
    # header (4 cells) + 300 rows of 4 cells = 1 204 cells > 1 000
    path = write_xlsx(tmp_path / "cellules.xlsx", "", repeat=SAME_ROW, times=300)
    result, before, after = ingest_alone(seeded, path, ref)
    message = only_problem(result)
    assert f"plus de {fr_int(1000)} cellules" in message and "DUI_METRICS_MAX_CELLS" in message
    assert after == before


def test_rows_beyond_a_wrong_declared_dimension_are_read(seeded: Path, tmp_path: Path, ref):
    # The sheet says A1:D2 but holds 3 rows of data: all 3 are read (2025-03 E1 = 3, then the
    # same key again with 3 and 3: one value). Before, rows past the dimension were dropped.
    rows = data_row(2) + data_row(3) + data_row(4, value=5)
    path = write_xlsx(tmp_path / "dimension.xlsx", rows, dimension="A1:D2")
    result, _, _ = ingest_alone(seeded, path, ref)
    assert result.status == "refusé"  # row 4 gives the same key another value (3 then 5)
    assert any(p.line == 4 for p in result.error.problems)


def test_a_million_column_csv_header_is_refused_with_one_problem(seeded: Path, tmp_path, ref):
    # 4 recognised columns and 999 996 others: one problem, at once, not one per column.
    junk = ";".join(f"x{n}" for n in range(999_996))
    path = tmp_path / "large.csv"
    path.write_text(
        f"finess_et;periode;indicateur;valeur;{junk}\n330000001;2025-03;ins_qualifiees;3"
        + ";" * 999_996
        + "\n"
    )
    result, before, after = ingest_alone(seeded, path, ref)
    message = only_problem(result)
    assert message == (
        f"large.csv : en-tête de {fr_int(1_000_000)} colonnes, plus de {fr_int(1000)} colonnes : "
        f"fichier refusé sans être lu plus avant (limite de {fr_int(1000)} colonnes par en-tête, "
        "modifiable par la variable d'environnement DUI_METRICS_MAX_COLUMNS) ; découpez le "
        "fichier ou vérifiez que c'est bien un export"
    )
    assert result.warnings == []
    assert after == before


def test_a_header_of_trailing_separators_counts_every_field(seeded: Path, tmp_path, ref):
    # 2 named columns, then 1 000 000 separators: 1 000 002 fields, each a column for the
    # readers (this took 16 s and 3.6 GB when trailing empty fields were not counted).
    path = tmp_path / "vides.csv"
    path.write_text("finess_et;periode" + ";" * 1_000_000 + "\n330000001;2025-03\n")
    result, before, after = ingest_alone(seeded, path, ref)
    assert only_problem(result).startswith(
        f"vides.csv : en-tête de {fr_int(1_000_002)} colonnes, plus de {fr_int(1000)} colonnes"
    )
    assert after == before


def test_a_parquet_file_is_judged_on_its_metadata(seeded: Path, tmp_path, ref, monkeypatch):
    monkeypatch.setenv("DUI_METRICS_MAX_ROWS", "2")
    path = tmp_path / "usages.parquet"
    pq.write_table(
        pa.table(
            {
                "finess_et": ["330000001"] * 3,
                "periode": ["2025-03", "2025-04", "2025-05"],
                "indicateur": ["ins_qualifiees"] * 3,
                "valeur": [1, 2, 3],
            }
        ),
        path,
    )
    result, before, after = ingest_alone(seeded, path, ref)
    assert "3 lignes, plus de 2 lignes" in only_problem(result)
    assert after == before


def test_an_invalid_cap_is_named(seeded: Path, tmp_path: Path, ref, monkeypatch):
    # A usage error of the whole command (exit code 2 in the CLI), raised before any file.
    monkeypatch.setenv("DUI_METRICS_MAX_CELLS", "beaucoup")
    path = write_xlsx(tmp_path / "a.xlsx", data_row(2))
    with pytest.raises(UsageError, match="DUI_METRICS_MAX_CELLS invalide « beaucoup »"):
        ingest_alone(seeded, path, ref)


def test_a_check_does_not_wait_for_the_writers_lock(seeded: Path, tmp_path: Path, ref):
    # Another writer holds the lock (a separate open of the lock file: flock excludes it even
    # in this process). The dry run works on a private copy and finishes all the same; with
    # the lock, it would wait until released (the timeout below, then the lock is let go so
    # that the thread ends and the test fails instead of hanging).
    path = tmp_path / "b.csv"
    path.write_text("finess_et;periode;indicateur;valeur\n330000001;2025-03;ins_qualifiees;2\n")
    with ThreadPoolExecutor(max_workers=1) as pool:
        with writers_lock(seeded):
            before = seeded.read_bytes()
            future = pool.submit(uploads.check_uploads, seeded, [path], ref)
            try:
                results = future.result(timeout=60)
            except FutureTimeout:
                results = None
        assert results is not None, "the check waited for the writers' lock"
    assert [(r.status, r.rows_loaded) for r in results] == [("chargé", 1)]
    assert seeded.read_bytes() == before
    assert not list(seeded.parent.glob("*.tmp*"))
    with Store.snapshot(seeded) as store:
        assert store.scalar("select count(*) from usage") == 1  # nothing written
