"""Exports are safe to open (issue 13): a text cell of a CSV or XLSX written by dui-metrics
(page downloads, CLI) that begins with = + - @, a tab or a carriage return gets a leading
``'`` (OWASP "CSV injection"), real numbers aside; no cell of an XLSX is a formula."""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dui_metrics.cli import main
from dui_metrics.text import neutralise_formula

HYPERLINK = '=HYPERLINK("http://x","y")'
CMD = "+cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(HYPERLINK, "'" + HYPERLINK, id="=HYPERLINK"),
        pytest.param(CMD, "'" + CMD, id="+cmd"),
        pytest.param("-2+3", "'-2+3", id="-2+3"),
        pytest.param("@SUM(1,1)", "'@SUM(1,1)", id="@SUM"),
        pytest.param("\t=1", "'\t=1", id="tab"),
        pytest.param("\r=1", "'\r=1", id="CR"),
        pytest.param("-", "'-", id="lone minus"),
        pytest.param("-12", "-12", id="-12 stays"),
        pytest.param("+3,5", "+3,5", id="+3,5 stays"),
        pytest.param("-1\u202f234,5", "-1\u202f234,5", id="French thousands stay"),
        pytest.param("-0.25", "-0.25", id="-0.25 stays"),
        pytest.param("EHPAD Les Tilleuls", "EHPAD Les Tilleuls", id="plain text stays"),
        pytest.param("a=b", "a=b", id="= inside stays"),
        pytest.param("'=1", "'=1", id="already neutralised stays"),
        pytest.param("", "", id="empty stays"),
        pytest.param(-12, -12, id="int stays"),
        pytest.param(-3.5, -3.5, id="float stays"),
        pytest.param(None, None, id="None stays"),
    ],
)
def test_neutralise_formula(value: object, expected: object) -> None:
    assert neutralise_formula(value) == expected
    assert type(neutralise_formula(value)) is type(expected)


# The hostile texts of the downloads, with what a spreadsheet must show (worked by hand).
HOSTILE = [HYPERLINK, CMD, "@SUM(1,1)", "-2+3", "\t=1", "\r=1"]
SAFE = ["'" + HYPERLINK, "'" + CMD, "'@SUM(1,1)", "'-2+3", "'\t=1", "'\r=1"]


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Nom": HOSTILE,  # pandas' str dtype
            "Objet": pd.Series(["=1+1", None, "ok", 7, "-12", "x\r=cmd"], dtype=object),
            "N": [1, 2, 3, 4, 5, 6],
            "Taux": [0.5, -1.25, 0.0, 2.5, -3.0, 1.0],
            "Écart": [-7, 0, 3, -1, 2, 4],
            "=1+1": ["a", "b", "c", "d", "e", "f"],  # a header from input
        }
    )


def test_download_xlsx_has_no_formula_and_numbers_stay_numbers() -> None:
    from dui_metrics import ui

    frame = hostile_frame()
    sheet = openpyxl.load_workbook(io.BytesIO(ui.to_xlsx(frame))).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Nom", "Objet", "N", "Taux", "Écart", "'=1+1"]
    # The workbook is written by spreadsheet.write_table, which keeps a carriage return as a
    # character reference (a bare one would be read as a line feed, XML 1.0 §2.11): "\r=1"
    # comes back as it was, behind the leading "'"; "x\r=cmd" is one cell, no formula.
    assert [r[0] for r in rows[1:]] == [*SAFE[:5], "'\r=1"]
    assert [r[1] for r in rows[1:]] == ["'=1+1", None, "ok", 7, "-12", "x\r=cmd"]
    assert [r[2:5] for r in rows[1:]] == [
        [1, 0.5, -7],
        [2, -1.25, 0],
        [3, 0, 3],
        [4, 2.5, -1],
        [5, -3, 2],
        [6, 1, 4],
    ]
    numbers = [row[2:5] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "n" for row in numbers for c in row)
    assert sheet["B5"].data_type == "n"  # "Objet"'s 7 stays a number, "-12" stays text
    assert (sheet["B6"].value, sheet["B6"].data_type) == ("-12", "s")


def test_download_csv_neutralises_text_cells() -> None:
    from dui_metrics import ui

    frame = hostile_frame()
    before = frame.copy()
    text = ui.to_csv(frame).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    # One header and six rows: the CR inside "'\r=1" and "x\r=cmd" is quoted, it splits no row.
    assert rows == [
        ["Nom", "Objet", "N", "Taux", "Écart", "'=1+1"],
        [SAFE[0], "'=1+1", "1", "0,5", "-7", "a"],
        [SAFE[1], "", "2", "-1,25", "0", "b"],
        [SAFE[2], "ok", "3", "0,0", "3", "c"],
        [SAFE[3], "7", "4", "2,5", "-1", "d"],
        [SAFE[4], "-12", "5", "-3,0", "2", "e"],
        [SAFE[5], "x\r=cmd", "6", "1,0", "4", "f"],
    ]
    assert '"\'\r=1";"x\r=cmd";6;1,0;4;f\r\n' in text
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is left as it is


def test_download_of_a_categorical_column_is_neutralised() -> None:
    from dui_metrics import ui

    frame = pd.DataFrame({"Éditeur": pd.Categorical(["=x", "EdA", "=x"]), "N": [1, 2, 3]})
    sheet = openpyxl.load_workbook(io.BytesIO(ui.to_xlsx(frame))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Éditeur", "N"],
        ["'=x", 1],
        ["EdA", 2],
        ["'=x", 3],
    ]


# --- CLI -------------------------------------------------------------------------------------
REFERENCE = """finess_et;finess_ej;raison_sociale;og_nom;commande;editeur;date_deploiement
690000013;690000005;EHPAD Un;OG A;BC-A;EdA;01/01/2025
"""
USAGES = """finess_et;periode;indicateur;valeur
690000013;2025-01;personnes_accompagnees;40
690000013;2025-01;dossiers_actifs;30
690000013;2025-01;ins_qualifiees;0
"""


def test_historique_csv_neutralises_file_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the log holds a file's name as given: relative names
    store = tmp_path / "store.duckdb"
    names = ["=cmd.csv", "@SUM(1,1).csv", "-2+3.csv", "\r=cmd.csv", "x\r=cmd.csv", "usages.csv"]
    for i, name in enumerate(names):  # a different value each: no file is a duplicate
        (tmp_path / name).write_text(
            f"finess_et;periode;indicateur;valeur\n690000013;2025-01;dossiers_actifs;{i}\n",
            encoding="utf-8",
        )
    # "--": "-2+3.csv" is a file, not an option.
    assert main(["ingest", "--store", str(store), "--", *names]) == 0
    capsys.readouterr()
    assert main(["historique", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == 1 + len(names)  # no CR split a row
    assert [r[1] for r in rows[1:]] == [
        "'=cmd.csv",
        "'@SUM(1,1).csv",
        "'-2+3.csv",
        "'\r=cmd.csv",
        "x\r=cmd.csv",
        "usages.csv",
    ]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6"]
    assert {r[3] for r in rows[1:]} == {"usages_long"}
    # Lines end with "\n"; a field holding a CR is quoted.
    assert '\n5,"x\r=cmd.csv",' in out and "\r\n" not in out


def test_va_csv_is_unchanged_for_ordinary_data(
    store_from, capsys: pytest.CaptureFixture[str]
) -> None:
    from dui_metrics import referentiel, va
    from dui_metrics.store import Store

    store = store_from(REFERENCE, USAGES)
    assert main(["va", "--store", str(store), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    # What the command wrote before neutralisation: the checks as they are, "" for None.
    with Store(store, read_only=True) as s:
        checks = va.readiness(s, referentiel.default())
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(va.Check._fields)
    writer.writerows(tuple("" if v is None else v for v in c) for c in checks)
    assert out == expected.getvalue()
    assert len(out.splitlines()) == 1 + 8  # 7 criteria of the référentiel and the verdict


def test_a_referentiel_code_that_is_not_snake_case_is_refused(
    store_from, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Codes reach every CSV (va, indicators) as they are: only snake_case names are accepted,
    # so none can begin like a formula.
    store = store_from(REFERENCE, USAGES)
    text = resources.files("dui_metrics").joinpath("referentiel.toml").read_text("utf-8")
    packaged = 'code = "ins"\nlibelle = "INS qualifiées non nulles"\n'
    assert text.count(packaged) == 1
    custom = tmp_path / "ref.toml"
    custom.write_text(text.replace(packaged, 'code = "@ins"\nlibelle = "x"\n'), encoding="utf-8")
    assert main(["va", "--store", str(store), "--referentiel", str(custom)]) == 2
    err = capsys.readouterr().err
    assert "code « @ins » invalide : lettres minuscules sans accent, chiffres et _ attendus" in err


def test_download_xlsx_types_rates_months_dates_and_finess() -> None:
    import datetime as dt

    from dui_metrics import ui

    frame = pd.DataFrame(
        {
            "FINESS ET": ["010000016", "690000013"],
            "Mois": [dt.date(2026, 9, 1), dt.date(2026, 10, 1)],
            "Déployé le": [dt.date(2024, 11, 25), None],
            "Dossiers actifs": [0.316, None],  # a rate criterion's header: a fraction
            "Part": [0.5, 0.25],  # named by the caller
            "ESMS": [3, 1204],
            "Statut": ["❌ zéro", "✅ ok"],
        }
    )
    data = ui.to_xlsx(ui.file_frame(frame), percent=("Part",))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    row = {sheet.cell(1, i).value: sheet.cell(2, i) for i in range(1, 8)}
    assert (row["FINESS ET"].value, row["FINESS ET"].number_format) == ("010000016", "@")
    assert row["Mois"].value == dt.datetime(2026, 9, 1)
    assert row["Mois"].number_format == "mm/yyyy"
    assert row["Déployé le"].value == dt.datetime(2024, 11, 25)
    assert row["Déployé le"].number_format == "dd/mm/yyyy"
    assert (row["Dossiers actifs"].value, row["Dossiers actifs"].number_format) == (0.316, "0.0%")
    assert row["Part"].number_format == "0.0%"
    assert (row["ESMS"].value, row["ESMS"].number_format) == (3, "#,##0")
    # statuses as words in files, no symbol
    assert [sheet.cell(r, 7).value for r in (2, 3)] == ["zéro", "ok"]
    assert sheet.cell(3, 3).value is None  # a missing date: an empty cell, never "None"


def test_download_xlsx_a_count_under_a_rate_header_stays_a_count() -> None:
    from dui_metrics import ui

    # « Dossiers actifs » heads a count here (12, masked « < 5 »): not a percentage.
    frame = pd.DataFrame({"Dossiers actifs": pd.Series([12, "< 5"], dtype=object)})
    sheet = openpyxl.load_workbook(io.BytesIO(ui.to_xlsx(frame))).active
    assert (sheet["A2"].value, sheet["A2"].number_format) == (12, "General")  # not 0.0%
    assert sheet["A3"].value == "< 5"
