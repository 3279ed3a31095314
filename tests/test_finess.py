"""FINESS numbers: normalization, format, Luhn key, département / région / catégorie lookups."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dui_metrics.finess import (
    category_label,
    departement_name,
    departement_of_finess,
    is_valid_finess,
    luhn_check_digit,
    luhn_ok,
    luhn_ok_array,
    normalize_finess,
    region_name,
    region_of_departement,
)

METROPOLE = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
OVERSEAS = ["971", "972", "973", "974", "976"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(10780914, "010780914", id="int-lost-leading-zero"),
        pytest.param(10780914.0, "010780914", id="float-integral"),
        pytest.param("10780914", "010780914", id="str-8-digits"),
        pytest.param("10780914.0", "010780914", id="str-with-decimal-zero"),
        pytest.param(" 010780914 ", "010780914", id="str-padded-with-spaces"),
        pytest.param(970421038, "970421038", id="int-9-digits-unchanged"),
        pytest.param("2a0000012", "2A0000012", id="corsica-upper-cased"),
        pytest.param("12345678901", "12345678901", id="too-long-kept-not-validated"),
        pytest.param("abc", "ABC", id="garbage-kept-not-validated"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param(float("nan"), None, id="nan-blank-numeric-cell"),
    ],
)
def test_normalize_finess(value, expected):
    assert normalize_finess(value) == expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        pytest.param("010780914", True, id="metropole"),
        pytest.param("2A0000012", True, id="corse-du-sud"),
        pytest.param("2B0000012", True, id="haute-corse"),
        pytest.param("970421038", True, id="la-reunion"),
        pytest.param("10780914", False, id="8-chars"),
        pytest.param("0107809140", False, id="10-chars"),
        pytest.param("01078091X", False, id="letter-at-end"),
        pytest.param("2C0000012", False, id="not-a-corsica-letter"),
        pytest.param("1A0000012", False, id="letter-outside-corsica"),
        pytest.param("2a0000012", False, id="lower-case-normalize-first"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_valid_finess(s, expected):
    assert is_valid_finess(s) is expected


# Luhn: from the right, the check digit is kept and every second digit is doubled (minus 9
# when the double exceeds 9); the total must be a multiple of 10.
# 010780914: digits 0 1 0 7 8 0 9 1 4
#   doubled (2nd, 4th, 6th, 8th): 1→2, 7→14→5, 0→0, 1→2          = 9
#   kept (1st, 3rd, 5th, 7th, 9th): 0 + 0 + 8 + 9 + 4              = 21 → 30 ✓
# 010000024 (CH de Fleyriat, extract line): doubled 1→2, 0, 0, 2→4 = 6; kept 0+0+0+0+4 = 4 → 10 ✓
# 970421038 (La Réunion): doubled 7→5, 4→8, 1→2, 3→6 = 21; kept 9+0+2+0+8 = 19 → 40 ✓
# 980501506 (Mayotte): doubled 8→7, 5→1, 1→2, 0→0 = 10; kept 9+0+0+5+6 = 20 → 30 ✓
# 010780915: last digit +1 → 31 ✗
@pytest.mark.parametrize(
    ("s", "expected"),
    [
        pytest.param("010780914", True, id="ain-example"),
        pytest.param("010000024", True, id="ch-fleyriat"),
        pytest.param("970421038", True, id="la-reunion"),
        pytest.param("980501506", True, id="mayotte"),
        pytest.param("010780915", False, id="wrong-check-digit"),
        pytest.param("2A0000012", None, id="corsica-not-checkable"),
        pytest.param("2B0000012", None, id="haute-corse-not-checkable"),
    ],
)
def test_luhn_ok(s, expected):
    assert luhn_ok(s) is expected


def test_luhn_ok_array_gives_the_hand_worked_answers_at_once():
    # The cases above, in two chunks, as a file's ESMS come from DuckDB.
    codes = pa.chunked_array(
        [["010780914", "010000024", "970421038"], ["980501506", "010780915", "2A0000012"]]
    )
    assert luhn_ok_array(codes).to_pylist() == [True, True, True, True, False, None]
    assert luhn_ok_array(pa.chunked_array([], pa.string())).to_pylist() == []


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_luhn_ok_array_agrees_with_luhn_ok(code):
    assert luhn_ok_array(pa.array([code, "2B0000012"])).to_pylist() == [luhn_ok(code), None]


def test_luhn_ok_rejects_a_malformed_number():
    with pytest.raises(ValueError, match="not a FINESS"):
        luhn_ok("10780914")


@pytest.mark.parametrize(
    ("first8", "expected"),
    [
        # 01078091: doubled 9 (as above) + kept 0+0+8+9 = 17 → 26 → key 4
        pytest.param("01078091", "4", id="ain-example"),
        # 97042103: doubled 21 (as above) + kept 9+0+2+0 = 11 → 32 → key 8
        pytest.param("97042103", "8", id="la-reunion"),
        # 00000000 → sum 0 → key 0
        pytest.param("00000000", "0", id="all-zeros"),
    ],
)
def test_luhn_check_digit(first8, expected):
    assert luhn_check_digit(first8) == expected


@pytest.mark.parametrize("bad", ["0107809", "010780914", "2A000001"])
def test_luhn_check_digit_needs_8_digits(bad):
    with pytest.raises(ValueError):
        luhn_check_digit(bad)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(1, 9))
def test_check_digit_passes_and_any_other_fails(first8, shift):
    key = luhn_check_digit(first8)
    assert luhn_ok(first8 + key)
    assert not luhn_ok(first8 + str((int(key) + shift) % 10))


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        pytest.param("010780914", "01", id="ain"),
        pytest.param("750000000", "75", id="paris"),
        pytest.param("950000000", "95", id="val-d-oise"),
        pytest.param("2A0000012", "2A", id="corse-du-sud"),
        pytest.param("2B0000012", "2B", id="haute-corse"),
        # prefixes seen in the public extract (département field 9A, 9B, 9C, 9D, 9F)
        pytest.param("970102018", "971", id="guadeloupe-9701"),
        pytest.param("970210126", "972", id="martinique-9702"),
        pytest.param("970300026", "973", id="guyane-9703"),
        pytest.param("970421038", "974", id="la-reunion-9704"),
        pytest.param("980501506", "976", id="mayotte-9805"),
        pytest.param("980600027", None, id="wallis-et-futuna-out-of-scope"),
        pytest.param("971000000", None, id="unknown-overseas-form"),
        pytest.param("200000000", None, id="no-departement-20"),
        pytest.param("960000000", None, id="no-departement-96"),
        pytest.param("000000000", None, id="no-departement-00"),
        pytest.param("10780914", None, id="malformed"),
    ],
)
def test_departement_of_finess(s, expected):
    assert departement_of_finess(s) == expected


def test_departement_table_has_the_101_departements():
    known = [code for code in METROPOLE + OVERSEAS if departement_name(code)]
    assert len(known) == 101
    for absent in ["20", "96", "975", "977", "986", "9A"]:
        assert departement_name(absent) is None


@pytest.mark.parametrize(
    ("code", "name", "region"),
    [
        pytest.param("01", "Ain", ("84", "Auvergne-Rhône-Alpes"), id="01"),
        pytest.param("1", "Ain", ("84", "Auvergne-Rhône-Alpes"), id="01-without-zero"),
        pytest.param("2A", "Corse-du-Sud", ("94", "Corse"), id="2A"),
        pytest.param("2b", "Haute-Corse", ("94", "Corse"), id="2B-lower-case"),
        pytest.param("48", "Lozère", ("76", "Occitanie"), id="48"),
        pytest.param("90", "Territoire de Belfort", ("27", "Bourgogne-Franche-Comté"), id="90"),
        pytest.param("93", "Seine-Saint-Denis", ("11", "Île-de-France"), id="93"),
        pytest.param("95", "Val-d'Oise", ("11", "Île-de-France"), id="95"),
        pytest.param("971", "Guadeloupe", ("01", "Guadeloupe"), id="971"),
        pytest.param("974", "La Réunion", ("04", "La Réunion"), id="974"),
        pytest.param("976", "Mayotte", ("06", "Mayotte"), id="976"),
    ],
)
def test_departement_name_and_region(code, name, region):
    assert departement_name(code) == name
    assert region_of_departement(code) == region


def test_departements_per_region():
    # Counts of départements per région (2016 reform), 96 metropolitan + 5 overseas = 101.
    counts = Counter(region_of_departement(code)[1] for code in METROPOLE + OVERSEAS)
    assert counts == {
        "Île-de-France": 8,
        "Centre-Val de Loire": 6,
        "Bourgogne-Franche-Comté": 8,
        "Normandie": 5,
        "Hauts-de-France": 5,
        "Grand Est": 10,
        "Pays de la Loire": 5,
        "Bretagne": 4,
        "Nouvelle-Aquitaine": 12,
        "Occitanie": 13,
        "Auvergne-Rhône-Alpes": 12,
        "Provence-Alpes-Côte d'Azur": 6,
        "Corse": 2,
        "Guadeloupe": 1,
        "Martinique": 1,
        "Guyane": 1,
        "La Réunion": 1,
        "Mayotte": 1,
    }
    assert sum(counts.values()) == 101


@pytest.mark.parametrize(
    ("code", "name"),
    [
        pytest.param("11", "Île-de-France", id="11"),
        pytest.param("84", "Auvergne-Rhône-Alpes", id="84"),
        pytest.param("93", "Provence-Alpes-Côte d'Azur", id="93"),
        pytest.param("04", "La Réunion", id="04"),
        pytest.param("4", "La Réunion", id="04-without-zero"),
        pytest.param("42", None, id="pre-2016-alsace"),
    ],
)
def test_region_name(code, name):
    assert region_name(code) == name


@pytest.mark.parametrize(
    ("code", "label"),
    [
        pytest.param(
            "500", "Etablissement d'hébergement pour personnes âgées dépendantes", id="ehpad"
        ),
        pytest.param(
            " 500 ", "Etablissement d'hébergement pour personnes âgées dépendantes", id="ws"
        ),
        pytest.param("354", "Service de Soins Infirmiers A Domicile (S.S.I.A.D)", id="ssiad"),
        pytest.param("1", "Autres lits de m.R.", id="001-lost-zeros"),
        pytest.param("999", None, id="unknown"),
        pytest.param("", None, id="empty"),
    ],
)
def test_category_label(code, label):
    assert category_label(code) == label


def test_import_reads_no_file():
    # The CSV files are loaded on first lookup, not when the module is imported.
    code = (
        "import dui_metrics.finess as f; "
        "print(f._departements.cache_info().currsize, f._categories.cache_info().currsize)"
    )
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.split() == ["0", "0"]
