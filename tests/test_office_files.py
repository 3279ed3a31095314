"""Files as office software really writes them (issue 15): every input here was written by
LibreOffice Calc (tests/data/office, see its README for what each file holds and how it was
made). Each is ingested into a real DuckDB store, by the library, the CLI and the Données
page's uploader; the stored values are compared with figures written by hand below."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest.mock import ANY

import pytest
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics import indicators
from dui_metrics.ingest import ingest_paths
from dui_metrics.store import Store

OFFICE = Path(__file__).resolve().parent / "data" / "office"
APP = str(Path(__file__).resolve().parent.parent / "app.py")
SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"

E1, E2, E3 = "010001238", "690001235", "010004562"  # fictional; E1, E3 in the Ain (01)
EJ1, EJ2 = "010001006", "690001003"
REFERENCE = "etablissements.csv"  # E1, E2, E3, FINESS as text cells

COUNTS = ("personnes_accompagnees", "dossiers_actifs", "ins_qualifiees", "dmp_documents_envoyes")
# The sheet typed into usages.*, titre.*, total.* and mois_dates.* (columns C–F: personnes
# accompagnées, dossiers actifs, INS qualifiées, documents envoyés au DMP). In usages.* the
# personnes accompagnées are formulas over column D whose cached values are these figures:
# =D2+10 → 30 + 10 = 40, =D3+9 → 32 + 9 = 41, =D4+7 → 35 + 7 = 42, =D5+15 → 45 + 15 = 60,
# =D6+14 → 47 + 14 = 61, =D7+12 → 50 + 12 = 62; and F7 (DMP, E2 2025-03) is =2+4 → 6.
SHEET = {
    (E1, "2025-01"): (40, 30, 12, 5),
    (E1, "2025-02"): (41, 32, 14, 0),  # 0 documents: a zero, stored as 0 (not missing)
    (E1, "2025-03"): (42, 35, 15, 7),
    (E2, "2025-01"): (60, 45, 20, 3),
    (E2, "2025-02"): (61, 47, 22, 4),
    (E2, "2025-03"): (62, 50, 25, 6),
}
# zero_perdu_usages.csv: FINESS typed as numbers (10001238, 690001235, 10004562).
LOST_ZERO_SHEET = {
    (E1, "2025-02"): (41, 32, 14, 0),
    (E1, "2025-03"): (42, 35, 15, 7),
    (E2, "2025-03"): (62, 50, 25, 6),
    (E3, "2025-02"): (25, 20, 8, 1),
    (E3, "2025-03"): (26, 21, 9, 2),
}


def rows_of(sheet: dict[tuple[str, str], tuple[int, ...]]) -> list[tuple]:
    """(finess_et, 'AAAA-MM', indicateur, valeur) of a wide sheet, in the store's order."""
    return sorted(
        (finess, month, code, value)
        for (finess, month), values in sheet.items()
        for code, value in zip(COUNTS, values, strict=True)
    )


# mois_textes.csv, line by line: what LibreOffice wrote in the month cell → the month.
MONTH_TEXT_ROWS = sorted(
    [
        (E1, "2025-01", "dossiers_actifs", 30),  # line 2: date cell 15/01/2025 → « janv.-25 »
        (E1, "2025-02", "dossiers_actifs", 32),  # line 3: date cell 28/02/2025 → « févr.-25 »
        (E1, "2025-03", "dossiers_actifs", 35),  # line 4: date cell 01/03/2025 → « mars-25 »
        (E2, "2025-03", "dossiers_actifs", 50),  # line 5: text « mars 2025 »
        (E2, "2025-03", "ins_qualifiees", 25),  # line 6: text « 03-2025 »
        (E2, "2025-03", "personnes_accompagnees", 62),  # line 7: text « 2025/03 »
        (E2, "2025-02", "dossiers_actifs", 47),  # line 8: text « fevr.-25 »
        (E2, "2025-02", "ins_qualifiees", 22),  # line 9: text « FÉVRIER 2025 »
    ]
)
# milliers.csv: cells in the format « # ##0 », written « 1 250 » with U+00A0 by LibreOffice.
THOUSANDS_ROWS = sorted(
    [
        (E1, "2025-02", "dossiers_actifs", 32),
        (E1, "2025-02", "dmp_documents_envoyes", 1250),  # « 1 250 »
        (E1, "2025-02", "mss_messages_envoyes", 2400),  # « 2 400 »
        (E1, "2025-03", "dossiers_actifs", 35),
        (E1, "2025-03", "dmp_documents_envoyes", 980),  # « 980 »: no separator
        (E1, "2025-03", "mss_messages_envoyes", 12345),  # « 12 345 »
        (E2, "2025-03", "dossiers_actifs", 50),
        (E2, "2025-03", "dmp_documents_envoyes", 3007),  # « 3 007 »
        (E2, "2025-03", "mss_messages_envoyes", 1000),  # « 1 000 »
    ]
)

TITLE = "lignes 1–2 ignorées (titre au-dessus de l'en-tête)"
TOTAL = "ligne de total ignorée (« Total »)"
LOST_ZERO = "FINESS à 8 chiffres complétés par un 0 initial (enregistrement par un tableur)"


def absent(finess: str) -> str:
    return f"ESMS {finess} absent du référentiel des établissements"


# Title rows are judged without the reference: the « absent du référentiel » warnings then
# show that lines keep the file's numbers (data from line 4: E1 on lines 4–6, E2 on 7–9).
TITLED = [(ANY, None, TITLE), (4, None, absent(E1)), (7, None, absent(E2))]

ACCEPTED = [
    # case 1: title, blank line, header on line 3
    pytest.param("titre.xlsx", None, rows_of(SHEET), TITLED, id="1-titre-xlsx"),
    pytest.param("titre.ods", None, rows_of(SHEET), TITLED, id="1-titre-ods"),
    pytest.param("titre.csv", None, rows_of(SHEET), TITLED, id="1-titre-csv"),
    # case 2: line 8 is « Total;;306;239;108;25 » (=SUM of lines 2–7): ignored, never an ESMS
    pytest.param("total.xlsx", REFERENCE, rows_of(SHEET), [(8, None, TOTAL)], id="2-total-xlsx"),
    pytest.param("total.ods", REFERENCE, rows_of(SHEET), [(8, None, TOTAL)], id="2-total-ods"),
    pytest.param("total.csv", REFERENCE, rows_of(SHEET), [(8, None, TOTAL)], id="2-total-csv"),
    # case 3: 10001238 and 10004562 padded back; 690001235 (9 digits) as is
    pytest.param(
        "zero_perdu_usages.csv",
        "zero_perdu_etablissements.csv",
        rows_of(LOST_ZERO_SHEET),
        [(None, "FINESS ET", LOST_ZERO)],
        id="3-zero-perdu-csv",
    ),
    # case 4: months as French spreadsheets write them
    pytest.param("mois_textes.csv", REFERENCE, MONTH_TEXT_ROWS, [], id="4-mois-textes-csv"),
    # date cells of the 15th (15/01/2025…) are their month
    pytest.param("mois_dates.xlsx", REFERENCE, rows_of(SHEET), [], id="4-mois-dates-xlsx"),
    pytest.param("mois_dates.ods", REFERENCE, rows_of(SHEET), [], id="4-mois-dates-ods"),
    # case 5: one plain export, three workbook formats, formulas read as their cached values
    pytest.param("usages.xlsx", REFERENCE, rows_of(SHEET), [], id="5-usages-xlsx"),
    pytest.param("usages.ods", REFERENCE, rows_of(SHEET), [], id="5-usages-ods"),
    pytest.param("usages.xls", REFERENCE, rows_of(SHEET), [], id="5-usages-xls"),
    # case 6: U+00A0 thousands separators and a trailing empty column (every line ends in ;)
    pytest.param("milliers.csv", REFERENCE, THOUSANDS_ROWS, [], id="6-milliers-csv"),
]

REFUSED = [
    # refusal a: title merged over A1:F1 above the header (line 2)
    pytest.param("titre_fusionne.xlsx", ["défusionnez"], None, id="a-titre-fusionne-xlsx"),
    pytest.param("titre_fusionne.ods", ["défusionnez"], None, id="a-titre-fusionne-ods"),
    # refusal b: line 1 one field (the title), lines 2–8 six fields, header not recognisable
    pytest.param(
        "titre_sans_ligne_vide.csv",
        ["l'en-tête est-il sur la ligne 1 ?"],
        None,
        id="b-titre-sans-ligne-vide-csv",
    ),
    # refusal c: « 6901A234 » on line 3, column FINESS ET
    pytest.param("finess_lettre.csv", ["6901A234"], (3, "FINESS ET"), id="c-finess-lettre-csv"),
]


@pytest.fixture
def indir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding copies of the office files, current directory: messages name the
    files as given (« titre.xlsx »)."""
    folder = tmp_path / "in"
    shutil.copytree(OFFICE, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    monkeypatch.chdir(folder)
    return folder


def ingest_one(store: Store, name: str, ref):
    [result] = ingest_paths(store, [name], ref)
    return result


def stored_values(store: Store) -> list[tuple]:
    return store.execute(
        "select finess_et, strftime(periode, '%Y-%m'), indicateur, valeur from usage order by all"
    ).fetchall()


def said(result) -> list[tuple]:
    """(line, column, message) of each warning, sorted by message and column."""
    return sorted(((w.line, w.column, w.message) for w in result.warnings), key=by_message)


def by_message(warning: tuple) -> tuple:
    return warning[2], warning[1] or ""  # never by line: some expected lines are ANY


def state(store: Store) -> tuple:
    """What a refused file must leave unchanged: values, establishments, the import log."""
    return (
        stored_values(store),
        store.execute("select * from establishments order by finess_et").fetchall(),
        store.execute("select file_name, rows_loaded from imports order by all").fetchall(),
    )


# --- the library ------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "reference", "expected", "warnings"), ACCEPTED)
def test_office_file_is_read_as_written(
    store, ref, indir, name, reference, expected, warnings
) -> None:
    if reference:
        loaded = ingest_one(store, reference, ref)
        assert loaded.status == "chargé", loaded.error and loaded.error.summary()
    result = ingest_one(store, name, ref)
    assert result.status == "chargé", result.error and result.error.summary()
    assert result.rows_loaded == len(expected)
    assert stored_values(store) == expected
    assert said(result) == sorted(warnings, key=by_message)
    # no total row, title or header ever became an ESMS
    finess = {f for (f,) in store.execute("select distinct finess_et from usage").fetchall()}
    assert finess <= {E1, E2, E3}


def test_rates_of_the_ods_and_xls_are_those_of_the_xlsx(tmp_path, ref, indir) -> None:
    # E1 2025-03: 35 dossiers actifs / 42 personnes accompagnées (42 = =D4+7, cached);
    # E2 2025-03: 25 INS qualifiées / 50 dossiers actifs = 0.5.
    rates = {}
    for name in ("usages.xlsx", "usages.ods", "usages.xls"):
        with Store(tmp_path / f"{name}.duckdb") as store:
            result = ingest_one(store, name, ref)
            assert result.status == "chargé", result.error and result.error.summary()
            rates[name] = {
                (f, p.strftime("%Y-%m"), code): value
                for f, p, code, value, *_ in indicators.monthly(store, ref)
            }
    assert rates["usages.xlsx"][(E1, "2025-03", "taux_dossiers_actifs")] == pytest.approx(35 / 42)
    assert rates["usages.xlsx"][(E2, "2025-03", "taux_ins_qualifiees")] == pytest.approx(0.5)
    assert rates["usages.ods"] == rates["usages.xlsx"]
    assert rates["usages.xls"] == rates["usages.xlsx"]


def test_reference_that_lost_its_zeros(store, ref, indir) -> None:
    # FINESS ET and EJ typed as numbers: 10001238 / 10001006 and 10004562 / 10001006.
    result = ingest_one(store, "zero_perdu_etablissements.csv", ref)
    assert result.status == "chargé", result.error and result.error.summary()
    assert said(result) == [(None, "FINESS EJ", LOST_ZERO), (None, "FINESS ET", LOST_ZERO)]
    assert store.execute(
        "select finess_et, finess_ej, raison_sociale from establishments order by finess_et"
    ).fetchall() == [
        (E1, EJ1, "EHPAD Les Glycines"),
        (E3, EJ1, "SSIAD du Revermont"),
        (E2, EJ2, "IME Les Coteaux"),
    ]


@pytest.mark.parametrize(("name", "needles", "where"), REFUSED)
def test_office_file_is_refused_with_the_fix(store, ref, indir, name, needles, where) -> None:
    loaded = ingest_one(store, REFERENCE, ref)
    assert loaded.status == "chargé"
    before = state(store)
    result = ingest_one(store, name, ref)
    assert result.status == "refusé"
    summary = result.error.summary()
    for needle in needles:
        assert needle in summary
    if where is not None:
        line, column = where
        assert any(
            p.line == line and p.column == column and "6901A234" in p.message
            for p in result.error.problems
        ), summary
    assert state(store) == before


# --- the command line -------------------------------------------------------------------------
def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUI_METRICS_TODAY": "2025-06-15"}
    env.pop("DUI_METRICS_STORE", None)
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_title_rows_and_lost_zeros(indir) -> None:
    out = cli("ingest", "--store", "s.duckdb", REFERENCE, "titre.csv", cwd=indir)
    assert out.returncode == 0, out.stderr
    assert TITLE in out.stdout + out.stderr
    out = cli("ingest", "--store", "s.duckdb", "zero_perdu_usages.csv", cwd=indir)
    assert out.returncode == 0, out.stderr
    assert LOST_ZERO in out.stdout + out.stderr
    with Store(indir / "s.duckdb", read_only=True) as store:
        # titre.csv's 24 values, then zero_perdu_usages.csv replacing E1 and E2 02–03 with
        # the same figures and adding E3 (25, 20, 8, 1 in 02; 26, 21, 9, 2 in 03)
        assert stored_values(store) == rows_of(SHEET | LOST_ZERO_SHEET)


@pytest.mark.parametrize(("name", "needles", "where"), REFUSED)
def test_cli_refuses_with_the_fix(indir, name, needles, where) -> None:
    assert cli("ingest", "--store", "s.duckdb", REFERENCE, cwd=indir).returncode == 0
    before = cli("historique", "--store", "s.duckdb", cwd=indir).stdout
    out = cli("ingest", "--store", "s.duckdb", name, cwd=indir)
    assert out.returncode == 1
    for needle in needles:
        assert needle in out.stderr
    if where is not None:
        assert f"{name}, ligne {where[0]}, colonne {where[1]} :" in out.stderr
    assert cli("historique", "--store", "s.duckdb", cwd=indir).stdout == before


# --- the Données page's uploader --------------------------------------------------------------
MIME = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".xls": "application/vnd.ms-excel",
}


@pytest.fixture
def reference_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding etablissements.csv (E1, E2, E3), opened by the app."""
    path = tmp_path / "store.duckdb"
    with contextlib.chdir(OFFICE), Store(path) as store:
        [result] = ingest_paths(store, [REFERENCE])
    assert result.status == "chargé"
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def table(at: AppTest, column: str):
    for frame in screen_tables(at):
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a column {column!r}")


UPLOADED = [
    pytest.param("usages.ods", 24, [], id="5-usages-ods"),
    pytest.param("usages.xls", 24, [], id="5-usages-xls"),
    pytest.param("titre.xlsx", 24, [TITLE], id="1-titre-xlsx"),
    # reference holds E1, E2, E3 with their zeros: only the padding is said
    pytest.param("zero_perdu_usages.csv", 20, [LOST_ZERO], id="3-zero-perdu-csv"),
    pytest.param("titre.ods", 24, [TITLE], id="1-titre-ods"),
    pytest.param("titre.csv", 24, [TITLE], id="1-titre-csv"),
    pytest.param("total.ods", 24, [TOTAL], id="2-total-ods"),
    pytest.param("mois_dates.ods", 24, [], id="4-mois-dates-ods"),
    pytest.param("mois_textes.csv", 8, [], id="4-mois-textes-csv"),
    # 3 ESMS-months × 3 counts
    pytest.param("milliers.csv", 9, [], id="6-milliers-csv"),
]


@pytest.mark.parametrize(("name", "rows", "warnings"), UPLOADED)
def test_uploaded_office_file(reference_store: Path, name: str, rows: int, warnings) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/donnees.py").run()
    assert not at.exception
    content = (OFFICE / name).read_bytes()
    at.file_uploader[0].set_value([(name, content, MIME[Path(name).suffix])]).run()
    assert not at.exception, at.exception  # e.g. an extension the uploader does not allow
    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    report = table(at, "Résultat")
    assert list(report["Résultat"]) == ["✅ prêt à importer"], report.to_dict("records")
    if warnings:
        shown = table(at, "Gravité")
        assert list(shown["Problème"]) == warnings
        assert set(shown["Gravité"]) == {"avertissement"}
    else:
        assert not any("Gravité" in frame.columns for frame in screen_tables(at))
    at.button(key="donnees_importer").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(
        f"Import terminé : 1 fichier chargé ({rows} lignes chargées"
    ), at.success[0].value
    assert list(table(at, "Importé le")["Fichier"])[0] == name
    with Store.snapshot(reference_store) as store:
        assert len(stored_values(store)) == rows


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        pytest.param("titre_fusionne.ods", "défusionnez", id="a-titre-fusionne-ods"),
        pytest.param("titre_fusionne.xlsx", "défusionnez", id="a-titre-fusionne-xlsx"),
        pytest.param("finess_lettre.csv", "recopiez-le", id="c-finess-lettre-csv"),
    ],
)
def test_uploaded_office_file_refused_with_the_fix(reference_store: Path, name, needle) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/donnees.py").run()
    content = (OFFICE / name).read_bytes()
    at.file_uploader[0].set_value([(name, content, MIME[Path(name).suffix])]).run()
    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    report = table(at, "Résultat")
    assert list(report["Résultat"]) == ["⛔ refusé"], report.to_dict("records")
    shown = table(at, "Gravité")
    assert any(needle in problem for problem in shown["Problème"]), shown.to_dict("records")
    with Store.snapshot(reference_store) as store:
        assert stored_values(store) == []  # nothing of it stored
