"""Ingestion rejections: a file with any invalid row is refused whole, with French messages
naming file, line (header = ligne 1), column and reason; the store stays exactly as before.
Warnings (Luhn key, ESMS absent from the reference) do not stop a file from loading.
"""

from __future__ import annotations

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dui_metrics import indicators
from dui_metrics.ingest import ingest_paths

E1 = "330000001"  # Gironde, Luhn key OK
E2 = "010780914"  # Ain, Luhn key OK
LONG = "finess_et;periode;indicateur;valeur\n"
KNOWN_COUNTS = (
    "personnes_accompagnees, dossiers_actifs, dossiers_actifs_avec_pp, "
    "dossiers_actifs_avec_evenement, ins_qualifiees, dmp_documents_envoyes, "
    "mss_messages_envoyes, mss_messages_recus"
)


@pytest.fixture
def ingest(store, ref, tmp_path, monkeypatch):
    """ingest("a.csv", ...) → FileResults; run from the input folder so that messages name
    files as a user types them ("usages.csv", not a temporary absolute path)."""
    (tmp_path / "in").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / "in")
    return lambda *names: ingest_paths(store, list(names), ref)


def snapshot(store, ref) -> tuple:
    """Everything ingestion may write: indicators, raw usage rows, reference, log."""
    return (
        indicators.monthly(store, ref),
        store.execute("select * from usage order by all").fetchall(),
        store.execute("select * from establishments order by all").fetchall(),
        store.imports(),
    )


@pytest.fixture
def rejected(store, ref, ingest):
    """rejected("usages.csv") → messages of the refused file, after checking that the store
    is exactly as it was before."""

    def run(name: str) -> list[str]:
        before = snapshot(store, ref)
        [result] = ingest(name)
        assert result.status == "refusé"
        assert snapshot(store, ref) == before
        return [str(p) for p in result.error.problems]

    return run


def loaded_values(store) -> list[tuple]:
    return store.execute(
        "select finess_et, strftime(periode, '%Y-%m'), indicateur, valeur from usage order by all"
    ).fetchall()


# --- all or nothing ------------------------------------------------------------------------
def test_a_file_with_one_bad_row_is_rejected_whole_and_the_store_is_unchanged(
    store, ref, write_file, ingest
):
    write_file(
        "a.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n{E1};2025-05;personnes_accompagnees;40\n"
    )
    assert [r.status for r in ingest("a.csv")] == ["chargé"]
    before = snapshot(store, ref)
    # Line 2 would replace a stored value, line 3 would add one: neither may land, since
    # line 4 is bad.
    write_file(
        "b.csv",
        LONG
        + f"{E1};2025-05;ins_qualifiees;9\n"
        + f"{E1};2025-05;mss_messages_envoyes;3\n"
        + f"{E1};2025-05;dmp_documents_envoyes;-1\n",
    )
    [result] = ingest("b.csv")
    assert result.status == "refusé"
    assert result.rows_loaded == 0
    assert snapshot(store, ref) == before
    assert loaded_values(store) == [
        (E1, "2025-05", "ins_qualifiees", 5),
        (E1, "2025-05", "personnes_accompagnees", 40),
    ]


def test_other_valid_files_of_the_same_call_still_load(store, write_file, ingest):
    write_file("bad.csv", LONG + f"{E1};2025-05;ins_qualifiees;-1\n")
    write_file("good.csv", LONG + f"{E2};2025-05;ins_qualifiees;7\n")
    results = ingest("bad.csv", "good.csv")
    assert [(r.file, r.status) for r in results] == [("bad.csv", "refusé"), ("good.csv", "chargé")]
    assert loaded_values(store) == [(E2, "2025-05", "ins_qualifiees", 7)]
    assert [i["file_name"] for i in store.imports()] == ["good.csv"]


def test_message_names_file_line_column_and_reason(write_file, rejected):
    write_file(
        "usages.csv",
        LONG
        + f"{E1};2025-05;personnes_accompagnees;40\n"  # ligne 2
        + f"{E1};2025-05;dossiers_actifs;30\n"  # ligne 3
        + f"{E1};2025-05;ins_qualifiees;-3\n",  # ligne 4
    )
    assert rejected("usages.csv") == [
        "usages.csv, ligne 4, colonne valeur : valeur négative (-3) pour ins_qualifiees"
    ]


def test_first_20_problems_are_listed_and_the_total_is_right(write_file, ingest):
    # 5 years × 5 months = 25 bad rows on lines 2..26 (header = line 1), one problem each;
    # the first 20 listed are lines 2..21.
    rows = "".join(
        f"{E1};{y}-{m:02d};mss_messages_envoyes;-1\n"
        for y in (2020, 2021, 2022, 2023, 2024)
        for m in range(1, 6)
    )
    write_file("usages.csv", LONG + rows)
    [result] = ingest("usages.csv")
    assert result.status == "refusé"
    assert result.error.total == 25
    assert [p.line for p in result.error.problems] == list(range(2, 22))  # 20 listed
    assert result.error.summary().splitlines()[0] == (
        "usages.csv : fichier refusé, 25 problèmes (les 20 premiers ci-dessous)"
    )


ROWS = [
    ["finess_et", "periode", "indicateur", "valeur"],
    [E1, "2025-05", "ins_qualifiees", 5],
    [E1, "2025-05", "mss_messages_recus", -2],
]


def write_csv_with_a_blank_line(path) -> None:
    # The blank line is line 3, so the bad row is line 4 as a text editor shows it.
    lines = [";".join(map(str, row)) for row in ROWS]
    path.write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n", encoding="utf-8")


def write_xlsx(path) -> None:
    workbook = openpyxl.Workbook()
    for row in ROWS:
        workbook.active.append(row)
    workbook.save(path)


def write_parquet(path) -> None:
    columns = list(zip(*ROWS[1:], strict=True))
    pq.write_table(pa.table(dict(zip(ROWS[0], map(list, columns), strict=True))), path)


@pytest.mark.parametrize(
    ("name", "write", "line"),
    [
        pytest.param("usages.csv", write_csv_with_a_blank_line, 4, id="csv-physical-line"),
        pytest.param("usages.xlsx", write_xlsx, 3, id="xlsx-row"),
        pytest.param("usages.parquet", write_parquet, 3, id="parquet-row-index-plus-2"),
    ],
)
def test_line_numbers_count_the_header_as_line_1(tmp_path, rejected, name, write, line):
    write(tmp_path / "in" / name)
    assert rejected(name) == [
        f"{name}, ligne {line}, colonne valeur : valeur négative (-2) pour mss_messages_recus"
    ]


# --- one test per rejection --------------------------------------------------------------
@pytest.mark.parametrize(
    ("finess", "read"),
    [
        pytest.param("3300000011", 10, id="10-digits"),
        pytest.param("33000000X", 9, id="letter"),
        pytest.param("2C0000001", 9, id="corsica-is-2A-or-2B-only"),
    ],
)
def test_finess_not_9_characters_or_with_letters_is_rejected(write_file, rejected, finess, read):
    write_file(
        "usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n{finess};2025-05;ins_qualifiees;5\n"
    )
    assert rejected("usages.csv") == [
        f"usages.csv, ligne 3, colonne finess_et : FINESS invalide « {finess} » : "
        f"9 caractères attendus ({read} lus), chiffres, 2A ou 2B pour la Corse"
    ]


def test_reference_finess_of_8_digits_gets_its_leading_zero_back(store, write_file) -> None:
    # A spreadsheet saved 010780914 as 10780914 (issue 15, item 3): padded back, one warning
    # per file and column, not an error.
    path = write_file("etab.csv", f"FINESS ET;FINESS EJ;Raison sociale\n{E1};10780914;EHPAD A\n")
    (result,) = ingest_paths(store, [path])
    assert result.status == "chargé", result.error
    assert [(w.column, w.message) for w in result.warnings] == [
        ("FINESS EJ", "FINESS à 8 chiffres complétés par un 0 initial (enregistrement par un "
         "tableur)")
    ]  # fmt: skip
    assert store.execute("select finess_ej from establishments").fetchall() == [("010780914",)]


def test_reference_finess_of_8_characters_not_all_digits_is_rejected(write_file, rejected):
    write_file("etab.csv", f"FINESS ET;FINESS EJ;Raison sociale\n{E1};1078091A;EHPAD A\n")
    assert rejected("etab.csv") == [
        "etab.csv, ligne 2, colonne FINESS EJ : FINESS invalide « 1078091A » : 8 caractères "
        "dont au moins un n'est pas un chiffre ; un FINESS en compte 9 (chiffres, 2A ou 2B pour "
        "la Corse) : recopiez-le depuis le répertoire FINESS (finess.sante.gouv.fr)"
    ]


def test_usage_finess_of_8_characters_not_all_digits_says_to_copy_it_again(write_file, rejected):
    # 8 digits are padded (a spreadsheet lost the zero); with a letter, a character was mistyped
    write_file(
        "usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n3300000A;2025-05;ins_qualifiees;5\n"
    )
    assert rejected("usages.csv") == [
        "usages.csv, ligne 3, colonne finess_et : FINESS invalide « 3300000A » : 8 caractères "
        "dont au moins un n'est pas un chiffre ; un FINESS en compte 9 (chiffres, 2A ou 2B pour "
        "la Corse) : recopiez-le depuis le répertoire FINESS (finess.sante.gouv.fr)"
    ]


def test_negative_count_is_rejected(write_file, rejected):
    write_file("usages.csv", LONG + f"{E1};2025-05;mss_messages_recus;-2\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 2, colonne valeur : valeur négative (-2) pour mss_messages_recus"
    ]


@pytest.mark.parametrize(
    "value",
    [pytest.param("2,5", id="decimal-comma"), pytest.param("2.5", id="decimal-point")],
)
def test_non_integer_count_is_rejected(write_file, rejected, value):
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;{value}\n")
    assert rejected("usages.csv") == [
        f"usages.csv, ligne 2, colonne valeur : valeur non entière ({value}) pour "
        "ins_qualifiees : un comptage est un nombre entier"
    ]


def test_numerator_above_denominator_in_the_same_file_is_rejected(write_file, rejected):
    write_file(
        "usages.csv",
        LONG
        + f"{E1};2025-05;personnes_accompagnees;40\n"  # ligne 2
        + f"{E1};2025-05;dossiers_actifs;45\n",  # ligne 3: 45 > 40
    )
    assert rejected("usages.csv") == [
        "usages.csv, ligne 3, colonne valeur : « Dossiers actifs » (45) supérieur à "
        f"« Personnes accompagnées » (40) pour {E1} en 05/2025"
    ]


def test_numerator_equal_to_denominator_is_accepted(store, write_file, ingest):
    # 40 / 40 = 1: the boundary of the [0, 1] range is a valid rate.
    write_file(
        "usages.csv",
        LONG + f"{E1};2025-05;personnes_accompagnees;40\n{E1};2025-05;dossiers_actifs;40\n",
    )
    assert [r.status for r in ingest("usages.csv")] == ["chargé"]


def test_numerator_above_a_denominator_stored_by_an_earlier_file_is_rejected(
    write_file, ingest, rejected
):
    write_file("avril.csv", LONG + f"{E1};2025-05;personnes_accompagnees;40\n")
    assert [r.status for r in ingest("avril.csv")] == ["chargé"]
    write_file(
        "usages.csv",
        LONG
        + f"{E1};2025-05;ins_qualifiees;10\n"  # ligne 2
        + f"{E1};2025-05;dossiers_actifs;45\n",  # ligne 3: 45 > stored 40
    )
    assert rejected("usages.csv") == [
        "usages.csv, ligne 3, colonne valeur : « Dossiers actifs » (45) supérieur à "
        f"« Personnes accompagnées » (40) pour {E1} en 05/2025, "
        "« Personnes accompagnées » venant du magasin"
    ]


def test_denominator_lowered_below_a_stored_numerator_is_rejected(write_file, ingest, rejected):
    write_file(
        "avril.csv",
        LONG + f"{E1};2025-05;personnes_accompagnees;40\n{E1};2025-05;dossiers_actifs;30\n",
    )
    assert [r.status for r in ingest("avril.csv")] == ["chargé"]
    # 20 accompanied would leave the stored 30 active records above them.
    write_file("usages.csv", LONG + f"{E1};2025-05;personnes_accompagnees;20\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 2, colonne valeur : « Dossiers actifs » (30) supérieur à "
        f"« Personnes accompagnées » (20) pour {E1} en 05/2025, « Dossiers actifs » venant du magasin"
    ]


def test_ratio_is_judged_on_the_store_after_the_file_not_before(store, write_file, ingest):
    write_file("avril.csv", LONG + f"{E1};2025-05;personnes_accompagnees;40\n")
    ingest("avril.csv")
    # The new file raises the denominator to 50 with it: 45 <= 50 is fine, although 45 > 40.
    write_file(
        "usages.csv",
        LONG + f"{E1};2025-05;personnes_accompagnees;50\n{E1};2025-05;dossiers_actifs;45\n",
    )
    assert [r.status for r in ingest("usages.csv")] == ["chargé"]
    assert loaded_values(store) == [
        (E1, "2025-05", "dossiers_actifs", 45),
        (E1, "2025-05", "personnes_accompagnees", 50),
    ]


def test_a_file_of_the_same_command_counts_as_stored_for_the_next(store, write_file, ingest):
    # One command, three files: the second is judged against what the first just wrote (the
    # command keeps the stored keys in memory), the third replaces a value of the first.
    write_file("a.csv", LONG + f"{E1};2025-05;personnes_accompagnees;40\n")
    write_file("b.csv", LONG + f"{E1};2025-05;dossiers_actifs;45\n")  # 45 > 40 from a.csv
    write_file(
        "c.csv", LONG + f"{E1};2025-05;personnes_accompagnees;50\n{E2};2025-05;dossiers_actifs;1\n"
    )
    a, b, c = ingest("a.csv", "b.csv", "c.csv")
    assert (a.status, b.status, c.status) == ("chargé", "refusé", "chargé")
    assert [str(p) for p in b.error.problems] == [
        "b.csv, ligne 2, colonne valeur : « Dossiers actifs » (45) supérieur à "
        f"« Personnes accompagnées » (40) pour {E1} en 05/2025, "
        "« Personnes accompagnées » venant du magasin"
    ]
    assert (c.rows_loaded, c.rows_replaced) == (2, 1)
    assert loaded_values(store) == [
        (E2, "2025-05", "dossiers_actifs", 1),
        (E1, "2025-05", "personnes_accompagnees", 50),
    ]


def test_a_stored_pair_above_its_denominator_is_not_blamed_on_a_new_file(store, write_file, ingest):
    # Stored before this rule existed (written directly): 30 active records for 20 persons.
    store.execute(
        "insert into imports (import_id, file_name, file_path, sha256, kind, imported_at, "
        "rows_loaded, rows_replaced, referentiel_version) values (99, 'ancien.csv', null, 'x', "
        "'usages_long', now(), 2, 0, 'ancien')"
    )
    store.execute(
        f"insert into usage values ('{E1}', '2025-05-01', 'personnes_accompagnees', 20, 99, 2), "
        f"('{E1}', '2025-05-01', 'dossiers_actifs', 30, 99, 3)"
    )
    # A new file about the same ESMS and month, touching neither value: not its doing.
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;10\n")
    assert [r.status for r in ingest("usages.csv")] == ["chargé"]


@pytest.mark.parametrize(
    "periode",
    [
        pytest.param("07/2025", id="MM/AAAA"),
        pytest.param("2025-07", id="AAAA-MM"),
        pytest.param("01/07/2025", id="JJ/MM/AAAA"),
    ],
)
def test_month_after_the_current_month_is_rejected(write_file, rejected, periode):
    # Today is pinned to 2025-06-15: June 2025 is the current month, July is in the future.
    write_file("usages.csv", LONG + f"{E1};{periode};ins_qualifiees;5\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 2, colonne periode : mois 07/2025 postérieur au mois en cours (06/2025)"
    ]


@pytest.mark.parametrize(
    "periode",
    [pytest.param("06/2025", id="MM/AAAA"), pytest.param("30/06/2025", id="last-day")],
)
def test_current_month_is_accepted(store, write_file, ingest, periode):
    write_file("usages.csv", LONG + f"{E1};{periode};ins_qualifiees;5\n")
    assert [r.status for r in ingest("usages.csv")] == ["chargé"]
    assert loaded_values(store) == [(E1, "2025-06", "ins_qualifiees", 5)]


def test_unknown_indicator_is_rejected_listing_the_known_ones(write_file, rejected):
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifie;5\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 2, colonne indicateur : indicateur inconnu « ins_qualifie » ; "
        f"indicateurs connus : {KNOWN_COUNTS}"
    ]


def test_unknown_wide_column_is_rejected(write_file, rejected):
    write_file("usages.csv", f"finess_et;periode;ins_qualifiees;fax_envoyes\n{E1};2025-05;5;2\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 1, colonne fax_envoyes : colonne inconnue ; "
        f"colonnes de comptage connues : {KNOWN_COUNTS}"
    ]


def test_wide_file_without_any_count_column_is_rejected_and_the_next_file_loads(
    store, write_file, ingest
):
    # finess_et + periode and nothing to count: the file says nothing; it must be refused
    # like any unusable file (an error about its header, line 1), not stop the whole command.
    write_file("vide.csv", f"finess_et;periode\n{E1};2025-05\n")
    write_file("good.csv", LONG + f"{E2};2025-05;ins_qualifiees;7\n")
    empty, good = ingest("vide.csv", "good.csv")
    assert (empty.status, good.status) == ("refusé", "chargé")
    assert [p.line for p in empty.error.problems] == [1]
    assert loaded_values(store) == [(E2, "2025-05", "ins_qualifiees", 7)]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("taux_dossiers_actifs", id="code"),
        pytest.param("Taux de dossiers actifs", id="french-label"),
    ],
)
def test_rate_given_as_a_long_form_indicator_is_rejected(write_file, rejected, name):
    # Value 1 (a whole rate) so that the only problem is the rate itself.
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n{E1};2025-05;{name};1\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 3, colonne indicateur : taux_dossiers_actifs est un taux : "
        "les taux sont calculés, pas importés"
    ]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("taux_ins_qualifiees", id="code"),
        pytest.param("Taux d'INS qualifiées", id="french-label"),
    ],
)
def test_rate_given_as_a_wide_form_column_is_rejected(write_file, rejected, header):
    write_file("usages.csv", f"finess_et;periode;ins_qualifiees;{header}\n{E1};2025-05;5;0,5\n")
    assert rejected("usages.csv") == [
        f"usages.csv, ligne 1, colonne {header} : taux_ins_qualifiees est un taux : "
        "les taux sont calculés, pas importés"
    ]


@pytest.mark.parametrize(
    "repeat",
    [
        pytest.param(f"{E1};2025-05;ins_qualifiees;6", id="same-writing"),
        pytest.param(f"{E1};05/2025;INS qualifiées;6", id="other-writing-same-key"),
    ],
)
def test_same_esms_month_indicator_twice_with_different_values_is_rejected(
    write_file, rejected, repeat
):
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n{repeat}\n")
    assert rejected("usages.csv") == [
        f"usages.csv, ligne 3, colonne valeur : doublon : même ESMS ({E1}), mois (05/2025) et "
        "indicateur (ins_qualifiees) qu'à la ligne 2, avec une autre valeur (6 au lieu de 5)"
    ]


@pytest.mark.parametrize(
    "repeat",
    [
        pytest.param(f"{E1};2025-05;ins_qualifiees;5", id="same-text"),
        pytest.param(f"{E1};05/2025;INS qualifiées;5,0", id="same-number-other-writing"),
    ],
)
def test_identical_repeat_is_accepted_once(store, write_file, ingest, repeat):
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n{repeat}\n")
    [result] = ingest("usages.csv")
    assert (result.status, result.rows_loaded) == ("chargé", 1)
    assert loaded_values(store) == [(E1, "2025-05", "ins_qualifiees", 5)]


@pytest.mark.parametrize(
    ("first", "repeat"),
    [
        pytest.param(E1, f"{E1};2025-05;6;2", id="same-writing"),
        pytest.param(E1, f"{E1};05/2025;6;2", id="other-month-writing"),
        pytest.param("2A0000012", "2a0000012;2025-05;6;2", id="corsica-lower-case"),
    ],
)
def test_wide_form_row_repeated_with_another_value_is_rejected(write_file, rejected, first, repeat):
    # Wide form: a repeated (ESMS, month) row repeats every indicator of it. ins_qualifiees
    # differs (5 then 6); mss_messages_envoyes is the same (2): one problem.
    write_file(
        "usages.csv",
        f"finess_et;periode;ins_qualifiees;mss_messages_envoyes\n{first};2025-05;5;2\n{repeat}\n",
    )
    assert rejected("usages.csv") == [
        f"usages.csv, ligne 3, colonne ins_qualifiees : doublon : même ESMS ({first}), "
        "mois (05/2025) et indicateur (ins_qualifiees) qu'à la ligne 2, avec une autre valeur "
        "(6 au lieu de 5)"
    ]


def test_wide_form_row_repeated_identically_is_accepted_once(store, write_file, ingest):
    write_file(
        "usages.csv",
        f"finess_et;periode;ins_qualifiees;mss_messages_envoyes\n{E1};2025-05;5;2\n"
        f"{E1};05/2025;5;2\n{E2};2025-05;1;0\n",
    )
    [result] = ingest("usages.csv")
    assert (result.status, result.rows_loaded) == ("chargé", 4)
    assert loaded_values(store) == [
        (E2, "2025-05", "ins_qualifiees", 1),
        (E2, "2025-05", "mss_messages_envoyes", 0),
        (E1, "2025-05", "ins_qualifiees", 5),
        (E1, "2025-05", "mss_messages_envoyes", 2),
    ]


# --- warnings: the file loads ------------------------------------------------------------
def test_finess_failing_the_luhn_check_is_a_warning(store, write_file, ingest):
    # Luhn on 330000002, doubling every second digit from the right: 2 + 0 + ... + 3*2 + 3
    # = 11, not a multiple of 10 (key 1 would give 10: 330000001 is E1).
    write_file("etab.csv", f"finess_et;finess_ej;raison_sociale\n330000002;{E1};EHPAD A\n")
    write_file("usages.csv", LONG + "330000002;2025-05;ins_qualifiees;5\n")
    results = ingest("etab.csv", "usages.csv")
    assert [r.status for r in results] == ["chargé", "chargé"]
    assert [str(w) for w in results[1].warnings] == [
        "usages.csv, ligne 2 : FINESS 330000002 : clé de contrôle (Luhn) incorrecte, à vérifier"
    ]
    assert [str(w) for w in results[0].warnings] == [
        "etab.csv, ligne 2, colonne finess_et : FINESS 330000002 : clé de contrôle (Luhn) "
        "incorrecte, à vérifier"
    ]
    assert loaded_values(store) == [("330000002", "2025-05", "ins_qualifiees", 5)]


def test_usage_of_an_esms_absent_from_the_reference_is_a_warning(store, write_file, ingest):
    write_file("etab.csv", f"finess_et;finess_ej;raison_sociale\n{E1};{E2};EHPAD A\n")
    write_file(
        "usages.csv",
        LONG + f"{E1};2025-05;ins_qualifiees;5\n{E2};2025-05;ins_qualifiees;3\n",
    )
    results = ingest("etab.csv", "usages.csv")
    assert [r.status for r in results] == ["chargé", "chargé"]
    # Only E2 (line 3) is missing from the reference; E1 was loaded by etab.csv.
    assert [str(w) for w in results[1].warnings] == [
        f"usages.csv, ligne 3 : ESMS {E2} absent du référentiel des établissements"
    ]
    assert loaded_values(store) == [
        (E2, "2025-05", "ins_qualifiees", 3),
        (E1, "2025-05", "ins_qualifiees", 5),
    ]


# --- wide files: checked row by row first (usage._wide_fast), cell by cell on a problem ----
WIDE = "finess_et;periode;personnes_accompagnees;dossiers_actifs;ins_qualifiees\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            "33000000X;2025-05;10;5;1",
            "colonne finess_et : FINESS invalide « 33000000X » : 9 caractères attendus "
            "(9 lus), chiffres, 2A ou 2B pour la Corse",
            id="finess",
        ),
        pytest.param(
            f"{E2};2025-07;10;5;1",
            "colonne periode : mois 07/2025 postérieur au mois en cours (06/2025)",
            id="future-month",
        ),
        pytest.param(
            f"{E2};2025-13;10;5;1",
            "colonne periode : période illisible « 2025-13 » : formats acceptés AAAA-MM, "
            "MM/AAAA, MM-AAAA, AAAA/MM, AAAA-MM-JJ, JJ/MM/AAAA, mars-25, mars 2025",
            id="month-13",
        ),
        pytest.param(
            f"{E2};2025-05;10;-2;1",
            "colonne dossiers_actifs : valeur négative (-2) pour dossiers_actifs",
            id="negative",
        ),
        pytest.param(
            f"{E2};2025-05;10;5;2,5",
            "colonne ins_qualifiees : valeur non entière (2,5) pour ins_qualifiees : "
            "un comptage est un nombre entier",
            id="decimal",
        ),
        pytest.param(
            f"{E2};2025-05;10;5;abc",
            "colonne ins_qualifiees : valeur non numérique « abc » pour ins_qualifiees",
            id="text",
        ),
        pytest.param(
            f"{E2};2025-05;10;5;NaN",
            "colonne ins_qualifiees : valeur non numérique « NaN » pour ins_qualifiees",
            id="nan",
        ),
        pytest.param(
            # 13 digits, first 2: it could be a NIR, so it is never repeated (issue 12)
            f"{E2};2025-05;2000000000000;5;1",
            "colonne personnes_accompagnees : valeur hors limites ((valeur masquée : ressemble "
            "à un NIR)) pour personnes_accompagnees",
            id="huge",
        ),
        pytest.param(
            f"{E2};2025-05;40;45;1",
            f"colonne dossiers_actifs : « Dossiers actifs » (45) supérieur à « Personnes accompagnées » "
            f"(40) pour {E2} en 05/2025",
            id="numerator-above-denominator-in-the-row",
        ),
    ],
)
def test_wide_file_with_one_bad_row_is_rejected_with_the_cell_message(
    write_file, rejected, row, message
):
    # Line 2 is valid; line 3 has one problem, worded as for the cell that has it.
    write_file("usages.csv", WIDE + f"{E1};2025-05;40;30;12\n{row}\n")
    assert rejected("usages.csv") == [f"usages.csv, ligne 3, {message}"]


@pytest.mark.parametrize(
    "silent",
    [
        pytest.param("2A0000012", id="valid-finess"),  # checked row by row
        pytest.param("XXX", id="unusable-finess"),  # a row problem: checked cell by cell
    ],
)
def test_wide_file_values_spaces_commas_and_empty_cells(store, write_file, ingest, silent):
    # "1 200" (thousands space) is 1200, "5,0" is 5; an empty cell is a missing value; a row
    # whose counts are all empty says nothing: neither its ESMS nor its FINESS count.
    write_file(
        "usages.csv",
        WIDE + f"{E1};2025-05;1 200;5,0;\n{E2};05/2025;;;7\n{silent};2025-05;;;\n",
    )
    [result] = ingest("usages.csv")
    assert (result.status, result.rows_loaded) == ("chargé", 3)
    assert loaded_values(store) == [
        (E2, "2025-05", "ins_qualifiees", 7),
        (E1, "2025-05", "dossiers_actifs", 5),
        (E1, "2025-05", "personnes_accompagnees", 1200),
    ]
    assert store.execute("select distinct line from usage order by 1").fetchall() == [(2,), (3,)]
    # No reference loaded: each ESMS that gave a value is warned about, by FINESS.
    assert [str(w) for w in result.warnings] == [
        f"usages.csv, ligne 3 : ESMS {E2} absent du référentiel des établissements",
        f"usages.csv, ligne 2 : ESMS {E1} absent du référentiel des établissements",
    ]


def test_wide_file_above_a_stored_denominator_is_rejected(write_file, ingest, rejected):
    write_file("avril.csv", f"finess_et;periode;personnes_accompagnees\n{E1};2025-05;40\n")
    assert [r.status for r in ingest("avril.csv")] == ["chargé"]
    write_file("usages.csv", f"finess_et;periode;dossiers_actifs\n{E1};2025-05;45\n")
    assert rejected("usages.csv") == [
        "usages.csv, ligne 2, colonne dossiers_actifs : « Dossiers actifs » (45) supérieur à "
        f"« Personnes accompagnées » (40) pour {E1} en 05/2025, "
        "« Personnes accompagnées » venant du magasin"
    ]


# --- identifying data (domain.md §7): refused, whatever the kind of file -------------------
IDENTIFYING_TAIL = (
    "dui-metrics ne garde que des comptages agrégés, sans nom, date de naissance, adresse, "
    "e-mail, téléphone ni NIR / matricule INS ; retirez cette colonne de l'export"
)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "usages.csv",
            "finess_et;periode;indicateur;valeur;Nom;Date de naissance\n"
            f"{E1};2025-05;ins_qualifiees;5;DUPONT;01/02/1940\n",
            [  # the problems of a line come by column name
                "usages.csv, ligne 1, colonne Date de naissance : donnée identifiante "
                "(date de naissance) refusée : ",
                "usages.csv, ligne 1, colonne Nom : donnée identifiante (nom) refusée : ",
            ],
            id="long-file-name-and-birth-date",
        ),
        pytest.param(
            "large.csv",
            f"finess_et;periode;ins_qualifiees;NIR\n{E1};2025-05;5;1400275123456\n",
            [
                "large.csv, ligne 1, colonne NIR : donnée identifiante (NIR / matricule INS) refusée : "
            ],
            id="wide-file-nir",
        ),
        pytest.param(
            "etab.csv",
            f"FINESS ET;FINESS EJ;Raison sociale;Adresse\n{E1};{E2};EHPAD A;1 rue des Lilas\n",
            ["etab.csv, ligne 1, colonne Adresse : donnée identifiante (adresse) refusée : "],
            id="reference-address",
        ),
        pytest.param(
            "patients.csv",
            "Prénom;Matricule INS\nJeanne;2400275123456\n",
            [  # a problem without a column first, then by column name
                "patients.csv, ligne 1 : type de fichier non reconnu d'après ses colonnes "
                "(« Prénom », « Matricule INS ») ; attendu : référentiel (finess_et, finess_ej, "
                "raison_sociale), usages au format long (finess_et, periode, indicateur, "
                "valeur) ou au format large (finess_et, periode, une colonne par comptage)",
                "patients.csv, ligne 1, colonne Matricule INS : donnée identifiante "
                "(NIR / matricule INS) refusée : ",
                "patients.csv, ligne 1, colonne Prénom : donnée identifiante (prénom) refusée : ",
            ],
            id="record-level-list-of-people",
        ),
    ],
)
def test_a_column_of_identifying_data_is_refused(write_file, rejected, name, content, expected):
    write_file(name, content)
    assert rejected(name) == [
        line + IDENTIFYING_TAIL if line.endswith("refusée : ") else line for line in expected
    ]


def test_a_file_refused_for_its_header_keeps_its_kind(write_file, ingest):
    # Recognised as a long-form usage file, then refused: the upload page shows its kind.
    write_file("usages.csv", LONG.rstrip("\n") + f";Nom\n{E1};2025-05;ins_qualifiees;5;DUPONT\n")
    [result] = ingest("usages.csv")
    assert (result.status, result.kind) == ("refusé", "usages_long")


def test_headers_naming_an_organisation_or_an_establishment_are_not_identifying(
    store, write_file, ingest
):
    # "Nom OG" and "Nom établissement" name organisations, not people: known reference columns.
    write_file(
        "etab.csv",
        f"FINESS ET;FINESS EJ;Nom établissement;Nom OG\n{E1};{E2};EHPAD A;Association B\n",
    )
    [result] = ingest("etab.csv")
    assert (result.status, result.warnings) == ("chargé", [])
    assert store.execute("select raison_sociale, og_nom from establishments").fetchall() == [
        ("EHPAD A", "Association B")
    ]
