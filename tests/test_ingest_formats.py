"""Ingestion formats: encodings, separators, French numbers and months, tolerant headers and
indicator names, XLSX and Parquet, wide form, and the établissements reference.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dui_metrics.ingest import ingest_paths

E1 = "330000001"  # Gironde (33, région 75), Luhn key OK
E2 = "010780914"  # Ain (01, région 84), Luhn key OK; Excel shows it as 10780914
LONG = "finess_et;periode;indicateur;valeur\n"


@pytest.fixture
def ingest(store, ref, tmp_path, monkeypatch):
    """ingest("a.csv", ...) → FileResults, file names as given, relative to the input folder."""
    (tmp_path / "in").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / "in")
    return lambda *names: ingest_paths(store, list(names), ref)


@pytest.fixture
def load(ingest):
    """load("a.csv") → the FileResult of one file, which must have loaded."""

    def run(name: str):
        [result] = ingest(name)
        assert result.status == "chargé", result.error and result.error.summary()
        return result

    return run


def loaded_values(store) -> list[tuple]:
    return store.execute(
        "select finess_et, strftime(periode, '%Y-%m'), indicateur, valeur from usage order by all"
    ).fetchall()


def establishments(store) -> list[tuple]:
    return store.execute(
        "select finess_et, finess_ej, raison_sociale, og_nom, categorie, departement, region, "
        "editeur, logiciel, commande, date_deploiement from establishments order by finess_et"
    ).fetchall()


# --- CSV: encodings and separators -------------------------------------------------------
def test_windows_1252_export_with_french_headers_and_labels(store, write_file, load):
    # As Excel writes "CSV (séparateur : point-virgule)" on Windows: cp1252 and CRLF.
    write_file(
        "etab.csv",
        "FINESS ET;FINESS EJ;Raison sociale\r\n" + f"{E1};{E2};Résidence Les Érables\r\n",
        encoding="cp1252",
    )
    write_file(
        "usages.csv",
        "FINESS ET;Période;Indicateur;Valeur\r\n"
        + f"{E1};05/2025;Messages MSSanté envoyés;12\r\n"
        + f"{E1};05/2025;Documents envoyés au DMP;4\r\n",
        encoding="cp1252",
    )
    load("etab.csv")
    result = load("usages.csv")
    assert result.warnings == []  # E1 is in the reference
    assert store.execute("select raison_sociale from establishments").fetchall() == [
        ("Résidence Les Érables",)
    ]
    assert loaded_values(store) == [
        (E1, "2025-05", "dmp_documents_envoyes", 4),
        (E1, "2025-05", "mss_messages_envoyes", 12),
    ]


def test_utf8_with_bom(store, write_file, load):
    # Without stripping the BOM the first header would read "\ufefffiness_et" and be unknown.
    write_file("usages.csv", "\ufeff" + LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    load("usages.csv")
    assert loaded_values(store) == [(E1, "2025-05", "ins_qualifiees", 5)]


@pytest.mark.parametrize(
    "sep",
    [
        pytest.param(";", id="semicolon"),
        pytest.param("\t", id="tab"),
        pytest.param(",", id="comma"),
    ],
)
def test_separators(store, write_file, load, sep):
    rows = [
        ["finess_et", "periode", "indicateur", "valeur"],
        [E1, "2025-05", "ins_qualifiees", "5"],
        [E2, "2025-05", "mss_messages_recus", "8"],
    ]
    write_file("usages.csv", "".join(sep.join(r) + "\n" for r in rows))
    load("usages.csv")
    assert loaded_values(store) == [
        (E2, "2025-05", "mss_messages_recus", 8),
        (E1, "2025-05", "ins_qualifiees", 5),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("12,0", 12, id="decimal-comma-integral"),
        pytest.param("1 234", 1234, id="thousands-space"),
        pytest.param("1\u00a0234", 1234, id="thousands-no-break-space"),
        pytest.param("1\u202f234", 1234, id="thousands-narrow-no-break-space"),
        pytest.param("0", 0, id="zero-is-a-value"),
    ],
)
def test_french_numbers(store, write_file, load, text, expected):
    write_file("usages.csv", LONG + f"{E1};2025-05;dmp_documents_envoyes;{text}\n")
    load("usages.csv")
    assert loaded_values(store) == [(E1, "2025-05", "dmp_documents_envoyes", expected)]


@pytest.mark.parametrize(
    "periode",
    [
        pytest.param("2025-05", id="AAAA-MM"),
        pytest.param("05/2025", id="MM/AAAA"),
        pytest.param("5/2025", id="M/AAAA"),
        pytest.param("2025-05-01", id="AAAA-MM-JJ"),
        pytest.param("2025-05-31", id="AAAA-MM-JJ-last-day"),
        pytest.param("15/05/2025", id="JJ/MM/AAAA"),
        # as French spreadsheets write them (issue 15, item 4)
        pytest.param("05-2025", id="MM-AAAA"),
        pytest.param("2025/05", id="AAAA/MM"),
        pytest.param("mai-25", id="mai-25"),
        pytest.param("Mai 2025", id="Mai 2025"),
        pytest.param("MAI-2025", id="MAI-2025"),
    ],
)
def test_periods_all_mean_their_month(store, write_file, load, periode):
    write_file("usages.csv", LONG + f"{E1};{periode};ins_qualifiees;5\n")
    load("usages.csv")
    assert store.execute("select periode from usage").fetchall() == [(dt.date(2025, 5, 1),)]


@pytest.mark.parametrize(
    ("periode", "month"),
    [
        ("févr.-25", 2), ("fevr.-25", 2), ("Février 2025", 2), ("mars-25", 3), ("avr.-25", 4),
        ("juin 2025", 6), ("juil.-25", 7), ("août-25", 8), ("sept.-25", 9), ("oct. 2025", 10),
        ("nov.-25", 11), ("déc.-25", 12), ("janv.-25", 1),
    ],
)  # fmt: skip
def test_french_month_names_with_or_without_accent(periode, month):
    from dui_metrics.ingest.usage import parse_month

    assert parse_month(periode) == dt.date(2025, month, 1)


@pytest.mark.parametrize("periode", ["03-25", "25-03", "mars", "marsh-25", "2025/13", "13-2025"])
def test_an_ambiguous_or_unknown_month_is_refused_with_the_accepted_forms(
    store, write_file, periode
):
    from dui_metrics.ingest import REJECTED

    path = write_file("usages.csv", LONG + f"{E1};{periode};ins_qualifiees;5\n")
    (result,) = ingest_paths(store, [path])
    assert result.status == REJECTED
    assert [p.message for p in result.error.problems] == [
        f"période illisible « {periode} » : formats acceptés AAAA-MM, MM/AAAA, MM-AAAA, "
        "AAAA/MM, AAAA-MM-JJ, JJ/MM/AAAA, mars-25, mars 2025"
    ]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("finess_et;periode;indicateur;valeur", id="canonical"),
        pytest.param("FINESS ET;Période;Indicateur;Valeur", id="french"),
        pytest.param("Finess_Et ; PERIODE ; INDICATEUR ; VALEUR", id="case-and-spaces"),
        pytest.param("FINESS géographique;Mois;Indicateur;Valeur", id="synonyms"),
    ],
)
def test_headers_match_whatever_case_accents_spaces(store, write_file, load, header):
    write_file("usages.csv", header + "\n" + f"{E1};2025-05;ins_qualifiees;5\n")
    assert load("usages.csv").kind == "usages_long"
    assert loaded_values(store) == [(E1, "2025-05", "ins_qualifiees", 5)]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("dossiers_actifs_avec_evenement", id="code"),
        pytest.param("Dossiers actifs avec au moins un événement", id="label"),
        pytest.param("DOSSIERS ACTIFS AVEC AU MOINS UN EVENEMENT", id="upper-no-accent"),
        pytest.param("dossiers_actifs_avec_événement", id="accent-in-code"),
        pytest.param("Dossiers actifs avec événement", id="synonym"),
    ],
)
def test_indicator_names_are_codes_or_french_labels(store, write_file, load, name):
    write_file("usages.csv", LONG + f"{E1};2025-05;{name};5\n")
    load("usages.csv")
    assert loaded_values(store) == [(E1, "2025-05", "dossiers_actifs_avec_evenement", 5)]


# --- wide form ---------------------------------------------------------------------------
def test_wide_form_with_french_column_labels_and_an_empty_cell(store, write_file, load):
    write_file(
        "usages.csv",
        "FINESS ET;Période;Personnes accompagnées;dossiers_actifs;INS qualifiées\n"
        + f"{E1};2025-04;40;30;\n"  # ins empty: missing, no row
        + f"{E1};2025-05;41;32;0\n",  # 0 is a value: a row
    )
    result = load("usages.csv")
    # 2 lines × 3 counts = 6 cells, one empty → 5 rows.
    assert (result.kind, result.rows_loaded) == ("usages_large", 5)
    assert loaded_values(store) == [
        (E1, "2025-04", "dossiers_actifs", 30),
        (E1, "2025-04", "personnes_accompagnees", 40),
        (E1, "2025-05", "dossiers_actifs", 32),
        (E1, "2025-05", "ins_qualifiees", 0),
        (E1, "2025-05", "personnes_accompagnees", 41),
    ]


def test_long_form_empty_value_is_missing_not_an_error(store, write_file, load):
    write_file(
        "usages.csv",
        LONG + f"{E1};2025-05;ins_qualifiees;\n{E1};2025-05;mss_messages_envoyes;3\n",
    )
    assert load("usages.csv").rows_loaded == 1
    assert loaded_values(store) == [(E1, "2025-05", "mss_messages_envoyes", 3)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param(
            f"finess_et;finess_ej;raison_sociale\n{E1};{E2};EHPAD A\n",
            "etablissements",
            id="reference",
        ),
        pytest.param(LONG + f"{E1};2025-05;ins_qualifiees;5\n", "usages_long", id="long"),
        pytest.param(
            f"finess_et;periode;ins_qualifiees\n{E1};2025-05;5\n", "usages_large", id="wide"
        ),
    ],
)
def test_kind_is_recognised_from_the_columns(write_file, load, text, kind):
    write_file("fichier.csv", text)
    assert load("fichier.csv").kind == kind


# --- XLSX and Parquet --------------------------------------------------------------------
def write_xlsx(path, rows) -> None:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)


def test_xlsx_numeric_finess_is_padded_and_excel_dates_are_dates(store, tmp_path, load):
    write_xlsx(
        tmp_path / "in" / "usages.xlsx",
        [
            ["FINESS ET", "Période", "Indicateur", "Valeur"],
            [10780914, dt.date(2025, 5, 1), "INS qualifiées", 5],  # E2 lost its leading 0
            [10780914, dt.datetime(2025, 4, 15), "Documents envoyés au DMP", 12.0],
        ],
    )
    load("usages.xlsx")
    # 10780914 → "010780914" (9 digits); 15/04/2025 means April; 12.0 is the count 12.
    assert loaded_values(store) == [
        (E2, "2025-04", "dmp_documents_envoyes", 12),
        (E2, "2025-05", "ins_qualifiees", 5),
    ]


def test_xlsx_reference_with_numeric_finess_and_a_deployment_date(store, tmp_path, load):
    write_xlsx(
        tmp_path / "in" / "etab.xlsx",
        [
            ["FINESS géographique", "FINESS juridique", "Raison sociale", "Date de déploiement"],
            [10780914, 330000001, "EHPAD Les Tilleuls", dt.datetime(2024, 11, 4)],
        ],
    )
    load("etab.xlsx")
    assert store.execute(
        "select finess_et, finess_ej, date_deploiement from establishments"
    ).fetchall() == [(E2, E1, dt.date(2024, 11, 4))]


def test_parquet_long_with_int_finess_and_date_period(store, tmp_path, load):
    table = pa.table(
        {
            "finess_et": pa.array([10780914, 330000001], pa.int64()),
            "periode": pa.array([dt.date(2025, 5, 1), dt.date(2025, 3, 20)], pa.date32()),
            "indicateur": ["mss_messages_envoyes", "Messages MSSanté reçus"],
            "valeur": pa.array([7, None], pa.int32()),  # None: missing, no row
        }
    )
    pq.write_table(table, tmp_path / "in" / "usages.parquet")
    assert load("usages.parquet").rows_loaded == 1
    assert loaded_values(store) == [(E2, "2025-05", "mss_messages_envoyes", 7)]


def test_parquet_wide_form(store, tmp_path, load):
    table = pa.table(
        {
            "FINESS ET": pa.array([10780914], pa.int64()),
            "Période": pa.array([dt.datetime(2025, 5, 1)], pa.timestamp("us")),
            "Personnes accompagnées": pa.array([40], pa.int64()),
            "Dossiers actifs": pa.array([30], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "in" / "usages.parquet")
    assert load("usages.parquet").kind == "usages_large"
    assert loaded_values(store) == [
        (E2, "2025-05", "dossiers_actifs", 30),
        (E2, "2025-05", "personnes_accompagnees", 40),
    ]


# --- établissements reference ------------------------------------------------------------
@pytest.mark.parametrize(
    ("finess_et", "departement", "region"),
    [
        pytest.param(E1, "33", "75", id="gironde-nouvelle-aquitaine"),
        pytest.param(E2, "01", "84", id="ain-auvergne-rhone-alpes"),
    ],
)
def test_reference_derives_departement_from_finess_and_region_from_departement(
    store, write_file, load, finess_et, departement, region
):
    write_file("etab.csv", f"finess_et;finess_ej;raison_sociale\n{finess_et};{E1};EHPAD A\n")
    load("etab.csv")
    assert store.execute("select departement, region from establishments").fetchall() == [
        (departement, region)
    ]


def test_reference_region_derived_from_a_given_departement(store, write_file, load):
    # An ESMS numbered in Gironde (33) but declared in Bouches-du-Rhône (13): the given
    # département wins and the région follows it (13 → 93 Provence-Alpes-Côte d'Azur, not 75).
    write_file(
        "etab.csv", f"finess_et;finess_ej;raison_sociale;departement\n{E1};{E1};EHPAD A;13\n"
    )
    load("etab.csv")
    assert store.execute("select departement, region from establishments").fetchall() == [
        ("13", "93")
    ]


def test_reference_with_all_french_header_synonyms(store, write_file, load):
    write_file(
        "etab.csv",
        "FINESS géographique;FINESS juridique;Raison sociale;Organisme gestionnaire;Catégorie;"
        "Département;Région;Éditeur;Logiciel;Bon de commande;Date déploiement\n"
        + f"{E1};{E2};EHPAD Les Pins;Association Aïda;500;33;75;Éditeur X;DUI 3;BC-42;"
        "04/11/2024\n",
    )
    assert load("etab.csv").kind == "etablissements"
    assert establishments(store) == [
        (
            E1,
            E2,
            "EHPAD Les Pins",
            "Association Aïda",
            "500",
            "33",
            "75",
            "Éditeur X",
            "DUI 3",
            "BC-42",
            dt.date(2024, 11, 4),
        )
    ]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("FINESS ET;FINESS EJ;Raison sociale;Commande;Date de déploiement", id="short"),
        pytest.param(
            "finess_et;finess_ej;raison_sociale;commande;date_deploiement", id="canonical"
        ),
    ],
)
def test_reference_other_header_synonyms(store, write_file, load, header):
    write_file("etab.csv", header + "\n" + f"{E1};{E2};EHPAD A;BC-1;2024-11-04\n")
    load("etab.csv")
    assert store.execute(
        "select finess_et, finess_ej, commande, date_deploiement from establishments"
    ).fetchall() == [(E1, E2, "BC-1", dt.date(2024, 11, 4))]


def test_a_csv_finess_that_lost_its_leading_zero_is_padded_once_warned(store, write_file):
    # 010780914 saved by a spreadsheet as 10780914 (issue 15, item 3), on two lines: both
    # padded, one warning for the file; a 9-digit FINESS is left as it is.
    path = write_file(
        "usages.csv",
        LONG + "10780914;2025-04;ins_qualifiees;5\n10780914;2025-05;ins_qualifiees;6\n"
        f"{E1};2025-05;ins_qualifiees;7\n",
    )
    (result,) = ingest_paths(store, [path])
    assert result.status == "chargé", result.error
    lost = [w for w in result.warnings if "8 chiffres" in w.message]
    assert [(w.line, w.column, w.message) for w in lost] == [
        (None, "finess_et",
         "FINESS à 8 chiffres complétés par un 0 initial (enregistrement par un tableur)")
    ]  # fmt: skip
    assert store.execute(
        "select finess_et, strftime(periode, '%Y-%m'), valeur from usage order by all"
    ).fetchall() == [
        ("010780914", "2025-04", 5), ("010780914", "2025-05", 6), (E1, "2025-05", 7),
    ]  # fmt: skip


def test_every_line_ending_with_a_separator_is_read(store, write_file, load):
    # A spreadsheet's export with an empty last column (issue 15, item 6): header and rows end
    # with « ; »; the values, with a no-break space for thousands, are those written.
    write_file(
        "usages.csv",
        "finess_et;periode;indicateur;valeur;\n"
        f"{E1};2025-04;personnes_accompagnees;1\u00a0250;\n{E1};2025-05;ins_qualifiees;5;\n",
    )
    load("usages.csv")
    assert loaded_values(store) == [
        (E1, "2025-04", "personnes_accompagnees", 1250),
        (E1, "2025-05", "ins_qualifiees", 5),
    ]


def test_total_rows_are_ignored_with_their_line(store, write_file):
    # Issue 15, item 2: « Total », « Sous-total », « Ensemble » rows with their key cells
    # empty are sums, never an ESMS: ignored, each named by its line; the others load.
    path = write_file(
        "usages.csv",
        "FINESS ET;Période;Dossiers actifs;Personnes accompagnées\n"
        f"{E1};2025-03;5;9\nSous-total;;5;9\n{E2};2025-03;6;8\nEnsemble;;11;17\n",
    )
    (result,) = ingest_paths(store, [path])
    assert result.status == "chargé", result.error
    assert [(w.line, w.message) for w in result.warnings if "total" in w.message] == [
        (3, "ligne de total ignorée (« Sous-total »)"),
        (5, "ligne de total ignorée (« Ensemble »)"),
    ]
    assert store.execute(
        "select finess_et, indicateur, valeur from usage order by all"
    ).fetchall() == [
        (E2, "dossiers_actifs", 6), (E2, "personnes_accompagnees", 8),
        (E1, "dossiers_actifs", 5), (E1, "personnes_accompagnees", 9),
    ]  # fmt: skip


def test_a_total_word_with_a_month_is_checked_as_any_row(store, write_file):
    # « Total » with its month filled is not a total row: refused as a FINESS, as before.
    path = write_file("usages.csv", LONG + "Total;2025-03;dossiers_actifs;11\n")
    (result,) = ingest_paths(store, [path])
    assert result.status == "refusé"
    assert [p.line for p in result.error.problems] == [2]
