"""`indicators` and `va` with --format xlsx: a workbook that opens right in a French
spreadsheet (typed cells, French headers), on a real DuckDB store built from tiny files."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dui_metrics import cli, spreadsheet

SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"

# Two ESMS of the Ain, their FINESS beginning with 0; the second one's name is a formula.
REFERENCE = """\
finess_et;finess_ej;raison_sociale;commande;editeur;categorie;departement;date_deploiement
010001238;010000099;EHPAD Les Tilleuls;BC-1;Editeur A;500;01;15/01/2025
010000016;010000099;=cmd|'/C calc'!A0;BC-1;Editeur A;500;01;15/01/2025
"""
USAGE = """\
FINESS ET;Période;Indicateur;Valeur
010001238;01/2025;Personnes accompagnées;40
010001238;01/2025;Dossiers actifs;30
010001238;01/2025;Messages MSSanté envoyés;1234
010001238;02/2025;Personnes accompagnées;40
010001238;02/2025;Dossiers actifs;10
010000016;02/2025;Personnes accompagnées;8
010000016;02/2025;Dossiers actifs;0
"""
# indicators: 10 rows. 010000016 02/2025: dossiers_actifs 0, personnes_accompagnees 8,
# taux_dossiers_actifs 0/8 = 0.0. 010001238 01/2025: dossiers_actifs 30, mss 1234,
# personnes 40, taux 30/40 = 0.75; 02/2025: dossiers_actifs 10, personnes 40, taux 10/40 = 0.25.
INDICATOR_ROWS = 10
# va (window 12/2024-02/2025, the store's last month): 7 criteria + the verdict per ESMS.
VA_ROWS = 16


@pytest.fixture
def store(store_from) -> Path:
    return store_from(REFERENCE, USAGE)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The console script, as a user runs it (today pinned by conftest's environment)."""
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=dict(os.environ), capture_output=True, timeout=120
    )


def rows_of(path: Path) -> list[list]:
    return [list(row) for row in load_workbook(path).active.iter_rows()]


def test_indicators_xlsx_has_typed_cells(store: Path, tmp_path: Path) -> None:
    out = run("indicators", "--store", str(store), "--format", "xlsx", "--sortie", "i.xlsx",
              cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == b""
    sheet = load_workbook(tmp_path / "i.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:G{INDICATOR_ROWS + 1}"
    rows = [list(r) for r in sheet.iter_rows()]
    assert [c.value for c in rows[0]] == [
        "FINESS ET", "Mois", "Indicateur", "Libellé", "Valeur", "Numérateur", "Dénominateur",
    ]  # fmt: skip
    assert len(rows) == 1 + INDICATOR_ROWS
    by_key = {(r[0].value, r[1].value, r[2].value): r for r in rows[1:]}
    jan, feb = dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)
    # sorted as the CSV: 010000016 first, its three February rows
    assert [c.value for c in rows[1][:3]] == ["010000016", feb, "dossiers_actifs"]
    finess, month, code, label, value, numerator, denominator = by_key[
        ("010001238", jan, "taux_dossiers_actifs")
    ]
    # the FINESS a text with its leading zero, shown as text
    assert finess.value == "010001238" and isinstance(finess.value, str)
    assert finess.number_format == "@"
    # the month a date on the 1st, shown MM/AAAA
    assert isinstance(month.value, dt.datetime) and month.value == jan
    assert month.number_format == "mm/yyyy"
    assert label.value == "Taux de dossiers actifs"
    # 30 active / 40 accompanied = 0.75, a fraction shown as a percentage
    assert isinstance(value.value, float) and value.value == 0.75
    assert value.number_format == "0.0%"
    assert (numerator.value, denominator.value) == (30, 40)
    assert numerator.number_format == "#,##0"
    count = by_key[("010001238", jan, "mss_messages_envoyes")]
    assert count[3].value == "Messages MSSanté envoyés"
    # 1234 messages: an int with thousands separators; no numerator for a count
    assert type(count[4].value) is int and count[4].value == 1234
    assert count[4].number_format == "#,##0"
    assert count[5].value is None and count[6].value is None
    # 0 / 8 = 0.0: a rate that is zero is still shown as a percentage, not as a count (the
    # file stores 0.0 as "0", read back as an int: the number format tells them apart)
    zero = by_key[("010000016", feb, "taux_dossiers_actifs")][4]
    assert zero.value == 0 and zero.number_format == "0.0%"


def test_va_xlsx_has_names_typed_values_and_neutralised_text(store: Path, tmp_path: Path) -> None:
    out = run("va", "--store", str(store), "--format", "xlsx", "--sortie", "va.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    sheet = load_workbook(tmp_path / "va.xlsx").active
    assert sheet.freeze_panes == "A2"
    rows = [list(r) for r in sheet.iter_rows()]
    assert [c.value for c in rows[0]] == [
        "FINESS ET", "Établissement", "Critère", "Statut", "Valeur", "Détail",
    ]  # fmt: skip
    assert len(rows) == 1 + VA_ROWS
    by_key = {(r[0].value, r[2].value): r for r in rows[1:]}
    # the name read from the reference file begins with "=": written as text, never run
    name = by_key[("010000016", "va")][1]
    assert name.data_type == "s" and name.value == "'=cmd|'/C calc'!A0"
    tilleuls = by_key[("010001238", "taux_dossiers_actifs")]
    assert tilleuls[0].value == "010001238" and tilleuls[1].value == "EHPAD Les Tilleuls"
    # last month of the window with both parts: 02/2025, 10 active / 40 = 0.25
    assert tilleuls[3].value == "ok"
    assert isinstance(tilleuls[4].value, float) and tilleuls[4].value == 0.25
    assert tilleuls[4].number_format == "0.0%"
    assert tilleuls[5].value == "25,0\u202f% en 02/2025 (10 / 40)"
    # mss: flows summed over the window: 1234 messages (01/2025), a count
    mss = by_key[("010001238", "mss")]
    assert type(mss[4].value) is int and mss[4].value == 1234 and mss[4].number_format == "#,##0"
    # no INS data in the window: no value, status manquant
    assert by_key[("010001238", "ins")][3].value == "manquant"
    assert by_key[("010001238", "ins")][4].value is None


@pytest.mark.parametrize(
    "command", [pytest.param("indicators", id="indicators"), pytest.param("va", id="va")]
)
def test_xlsx_needs_sortie(store: Path, tmp_path: Path, command: str) -> None:
    out = run(command, "--store", str(store), "--format", "xlsx", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == b""
    assert out.stderr.decode() == (
        "dui-metrics : erreur : --format xlsx écrit un fichier binaire : indiquez-le avec "
        "--sortie FICHIER\n"
    )


@pytest.mark.parametrize(
    ("command", "rows", "advice"),
    [
        pytest.param("indicators", INDICATOR_ROWS, "--format parquet", id="indicators"),
        pytest.param("va", VA_ROWS, "--og ou --commande", id="va"),
    ],
)
def test_more_rows_than_a_sheet_is_refused_before_writing(
    store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    command: str,
    rows: int,
    advice: str,
) -> None:
    target = tmp_path / "out" / "t.xlsx"
    target.parent.mkdir()
    args = [command, "--store", str(store), "--format", "xlsx", "--sortie", str(target)]
    # A sheet of one row less than the export: refused, nothing written (not even a partial)
    monkeypatch.setattr(spreadsheet, "MAX_DATA_ROWS", rows - 1)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert f"plus de {rows - 1} lignes : trop pour une feuille de tableur" in err
    assert "rien n'a été écrit" in err and advice in err
    assert list(target.parent.iterdir()) == []
    # Exactly as many rows as the sheet holds: written in full
    monkeypatch.setattr(spreadsheet, "MAX_DATA_ROWS", rows)
    assert cli.main(args) == 0
    assert len(rows_of(target)) == 1 + rows
    assert [p.name for p in target.parent.iterdir()] == ["t.xlsx"]


def test_write_table_refuses_past_the_limit_before_touching_the_handle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.setattr(spreadsheet, "MAX_DATA_ROWS", 2)
    handle = io.BytesIO()
    columns = [spreadsheet.Column("N", spreadsheet.COUNT)]
    with pytest.raises(spreadsheet.TooManyRows):
        spreadsheet.write_table(handle, columns, [[1], [2], [3]])
    assert handle.getvalue() == b""


def test_text_cells_lose_characters_xml_cannot_hold(tmp_path: Path) -> None:
    # "\x01" would make openpyxl raise; once dropped, the "=" starts the text: neutralised
    path = tmp_path / "t.xlsx"
    columns = [spreadsheet.Column("Nom"), spreadsheet.Column("FINESS", spreadsheet.FINESS)]
    with path.open("wb") as handle:
        assert spreadsheet.write_table(handle, columns, [["\x01=1+1", "010001238"]]) == 1
    assert [[c.value for c in r] for r in rows_of(path)] == [
        ["Nom", "FINESS"],
        ["'=1+1", "010001238"],
    ]


@pytest.mark.parametrize("fmt", [pytest.param("csv", id="csv"), pytest.param("json", id="json")])
def test_va_sortie_writes_the_bytes_it_prints(store: Path, tmp_path: Path, fmt: str) -> None:
    printed = run("va", "--store", str(store), "--format", fmt, cwd=tmp_path)
    written = run("va", "--store", str(store), "--format", fmt, "--sortie", "va.out", cwd=tmp_path)
    assert printed.returncode == written.returncode == 0
    assert written.stdout == b""
    assert printed.stdout.count(b"\n") > VA_ROWS  # not empty
    assert (tmp_path / "va.out").read_bytes() == printed.stdout


def _libreoffice_csv(xlsx: Path, tmp_path: Path, as_shown: bool) -> list[list[str]]:
    """The first sheet of ``xlsx`` converted to CSV by LibreOffice (UTF-8), cells as shown
    or as stored. A private profile and HOME: parallel runs never share one."""
    folder = tmp_path / f"lo-{as_shown}"
    # CSV filter options: separator ",", quote '"', UTF-8 (76), from line 1, …, 9th: as shown
    options = f"44,34,76,1,,0,false,true,{str(as_shown).lower()}"
    done = subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--convert-to",
            f"csv:Text - txt - csv (StarCalc):{options}",
            "--outdir",
            str(folder),
            str(xlsx),
        ],
        env={**os.environ, "HOME": str(tmp_path / "lo-home")},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with (folder / f"{xlsx.stem}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_libreoffice_reads_finess_as_text_and_months_as_dates(store: Path, tmp_path: Path) -> None:
    out = run("indicators", "--store", str(store), "--format", "xlsx", "--sortie", "i.xlsx",
              cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr.decode()
    shown = _libreoffice_csv(tmp_path / "i.xlsx", tmp_path, as_shown=True)
    stored = _libreoffice_csv(tmp_path / "i.xlsx", tmp_path, as_shown=False)
    assert shown[0][:3] == ["FINESS ET", "Mois", "Indicateur"]
    # row 4: 010000016, 02/2025, taux_dossiers_actifs (0 / 8); row 8: 010001238, 01/2025, 30/40
    assert shown[3][:3] == ["010000016", "02/2025", "taux_dossiers_actifs"]
    assert stored[3][0] == "010000016"  # the leading zero kept: a text, not a number
    # As stored, the month is a full date of the 1st (the locale orders day and month): a
    # date, not the text "02/2025" nor a number, that the mm/yyyy format shows 02/2025.
    assert re.fullmatch(r"0?2/0?1/2025|0?1/0?2/2025|2025-02-01", stored[3][1]), stored[3][1]
    assert shown[7][:3] == ["010001238", "01/2025", "taux_dossiers_actifs"]
    assert re.fullmatch(r"75[.,]0\s?%", shown[7][4]), shown[7][4]  # 30 / 40


def test_va_xlsx_leaves_the_name_empty_without_reference(tmp_path: Path) -> None:
    # usage data only: both ESMS are known, neither has a name (an empty cell, never "nan")
    (tmp_path / "usages.csv").write_text(USAGE, encoding="utf-8")
    assert run("ingest", "--store", "s.duckdb", "usages.csv", cwd=tmp_path).returncode == 0
    out = run("va", "--store", "s.duckdb", "--format", "xlsx", "--sortie", "va.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    rows = rows_of(tmp_path / "va.xlsx")
    assert len(rows) == 1 + VA_ROWS
    assert {(r[0].value, r[1].value) for r in rows[1:]} == {
        ("010000016", None),
        ("010001238", None),
    }


def test_text_cells_with_markup_characters_round_trip(tmp_path: Path) -> None:
    # &, <, > and quotes are escaped in the sheet's XML, never taken for markup; spaces at
    # either end, tabs and line breaks (a carriage return too) are kept
    path = tmp_path / "t.xlsx"
    texts = ["A & B <C> \"D\" 'E'", "</t></is></c>", "&amp; &#13;", "  x\ty\r\nz  "]
    columns = [spreadsheet.Column('Nom <&> "1"'), spreadsheet.Column("FINESS", spreadsheet.FINESS)]
    with path.open("wb") as handle:
        rows = [[text, text] for text in texts]
        assert spreadsheet.write_table(handle, columns, rows, title="T & <'1'>") == len(texts)
    book = load_workbook(path)
    assert book.sheetnames == ["T & <'1'>"]
    assert [[c.value for c in r] for r in book.active.iter_rows()] == [
        ['Nom <&> "1"', "FINESS"],
        *([text, text] for text in texts),
    ]
    assert book.active.auto_filter.ref == "A1:B5"
