"""Indicators: monthly counts and rates, period values, roll-ups and trends (domain.md §3).

Every case writes tiny CSV exports, ingests them into the real DuckDB store and checks the
library against values worked out by hand in the comment next to each assertion.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dui_metrics import indicators
from dui_metrics.finess import luhn_ok
from dui_metrics.ingest import LOADED, describe, ingest_paths

# FINESS numbers passing the Luhn check (no warning at ingestion).
E1, E2, E3, E4, E5 = "010000016", "010000024", "010000032", "010000040", "010000057"
E6 = "750000010"
OG1, OG2 = "010000099", "750001000"

JAN, FEB, MAR, APR, MAY = (dt.date(2025, m, 1) for m in range(1, 6))

USAGE_HEADER = "finess_et;periode;indicateur;valeur"
REFERENCE_HEADER = (
    "finess_et;finess_ej;raison_sociale;commande;editeur;categorie;departement;date_deploiement"
)


def long_csv(rows: list[tuple[str, str, str, int]]) -> str:
    """A long-form usage export: finess_et;periode;indicateur;valeur."""
    return "\n".join([USAGE_HEADER, *(";".join(map(str, r)) for r in rows)]) + "\n"


def load(store, ref, *paths: Path) -> None:
    results = ingest_paths(store, list(paths), ref)
    assert [r.status for r in results] == [LOADED] * len(paths), [describe(r) for r in results]


def rows_by_key(rows) -> dict[tuple, tuple]:
    """monthly rows keyed (finess_et, periode, indicateur) → (valeur, numerateur, denominateur)."""
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}


def test_fixture_finess_numbers_pass_luhn():
    assert all(luhn_ok(code) for code in (E1, E2, E3, E4, E5, E6, OG1, OG2))


# --- indicators.monthly ----------------------------------------------------------------------

FULL_MONTH = [
    (E1, "2025-01", "personnes_accompagnees", 40),
    (E1, "2025-01", "dossiers_actifs", 30),
    (E1, "2025-01", "dossiers_actifs_avec_pp", 12),
    (E1, "2025-01", "dossiers_actifs_avec_evenement", 27),
    (E1, "2025-01", "ins_qualifiees", 25),
    (E1, "2025-01", "dmp_documents_envoyes", 7),
    (E1, "2025-01", "mss_messages_envoyes", 5),
    (E1, "2025-01", "mss_messages_recus", 9),
]


@pytest.fixture
def full_month(store, ref, write_file):
    load(store, ref, write_file("usages.csv", long_csv(FULL_MONTH)))
    return rows_by_key(indicators.monthly(store, ref))


@pytest.mark.parametrize(
    ("indicateur", "expected"),
    [
        pytest.param("personnes_accompagnees", 40, id="personnes_accompagnees"),
        pytest.param("dossiers_actifs", 30, id="dossiers_actifs"),
        pytest.param("dossiers_actifs_avec_pp", 12, id="dossiers_actifs_avec_pp"),
        pytest.param("dossiers_actifs_avec_evenement", 27, id="dossiers_actifs_avec_evenement"),
        pytest.param("ins_qualifiees", 25, id="ins_qualifiees"),
        pytest.param("dmp_documents_envoyes", 7, id="dmp_documents_envoyes"),
        pytest.param("mss_messages_envoyes", 5, id="mss_messages_envoyes"),
        pytest.param("mss_messages_recus", 9, id="mss_messages_recus"),
    ],
)
def test_monthly_counts_as_given(full_month, indicateur, expected):
    # E1 2025-01: each count exactly as written in the export, no numerator/denominator.
    assert full_month[(E1, JAN, indicateur)] == (expected, None, None)


@pytest.mark.parametrize(
    ("indicateur", "num", "den"),
    [
        # E1 2025-01: 30 active / 40 accompanied = 0.75
        pytest.param("taux_dossiers_actifs", 30, 40, id="taux_dossiers_actifs-30/40"),
        # E1 2025-01: 12 with PP / 30 active = 0.4
        pytest.param("taux_dossiers_actifs_avec_pp", 12, 30, id="taux_avec_pp-12/30"),
        # E1 2025-01: 27 with an event / 30 active = 0.9
        pytest.param("taux_dossiers_actifs_avec_evenement", 27, 30, id="taux_avec_evt-27/30"),
        # E1 2025-01: 25 qualified INS / 30 active = 0.8333… (full precision, not rounded)
        pytest.param("taux_ins_qualifiees", 25, 30, id="taux_ins-25/30"),
    ],
)
def test_monthly_rates_are_numerator_over_denominator(full_month, indicateur, num, den):
    valeur, numerateur, denominateur = full_month[(E1, JAN, indicateur)]
    assert (numerateur, denominateur) == (num, den)
    assert valeur == num / den  # exact double division, no rounding


def test_monthly_rows_total(full_month):
    # 8 counts + 4 rates (all numerators and denominators present) = 12 rows
    assert len(full_month) == 12


def test_monthly_zero_denominator_gives_null_rate_with_parts(store, ref, write_file):
    rows = [
        (E1, "2025-02", "personnes_accompagnees", 0),
        (E1, "2025-02", "dossiers_actifs", 0),
        (E1, "2025-02", "dossiers_actifs_avec_pp", 0),
    ]
    load(store, ref, write_file("usages.csv", long_csv(rows)))
    got = rows_by_key(indicators.monthly(store, ref))
    # E1 2025-02: 0 active / 0 accompanied -> no value (not 0, not an error), parts kept 0 and 0
    assert got[(E1, FEB, "taux_dossiers_actifs")] == (None, 0, 0)
    # E1 2025-02: 0 with PP / 0 active -> no value
    assert got[(E1, FEB, "taux_dossiers_actifs_avec_pp")] == (None, 0, 0)


def test_monthly_rate_row_only_when_numerator_and_denominator_exist(store, ref, write_file):
    rows = [
        # E1 2025-03: dossiers_actifs and ins_qualifiees, no personnes_accompagnees
        (E1, "2025-03", "dossiers_actifs", 10),
        (E1, "2025-03", "ins_qualifiees", 4),
        # E2 2025-03: personnes_accompagnees only (a denominator without numerator)
        (E2, "2025-03", "personnes_accompagnees", 50),
        # E1 2025-04: personnes_accompagnees only; its dossiers_actifs is in 03, not 04
        (E1, "2025-04", "personnes_accompagnees", 20),
    ]
    load(store, ref, write_file("usages.csv", long_csv(rows)))
    got = rows_by_key(indicators.monthly(store, ref))
    rates = {k: v for k, v in got.items() if k[2].startswith("taux_")}
    # Only E1 2025-03 taux_ins_qualifiees has both parts: 4 / 10 = 0.4. No taux_dossiers_actifs
    # in 03 (denominator missing) nor in 04 (numerator missing), nothing for E2.
    assert rates == {(E1, MAR, "taux_ins_qualifiees"): (0.4, 4, 10)}


def test_monthly_missing_month_has_no_row_and_zero_has_one(store, ref, write_file):
    rows = [
        (E1, "2025-01", "dmp_documents_envoyes", 3),
        # no 2025-02 at all
        (E1, "2025-03", "dmp_documents_envoyes", 0),
    ]
    load(store, ref, write_file("usages.csv", long_csv(rows)))
    got = rows_by_key(indicators.monthly(store, ref))
    # 01: 3 ; 02: missing -> no row ; 03: zero -> a row with 0
    assert got == {
        (E1, JAN, "dmp_documents_envoyes"): (3, None, None),
        (E1, MAR, "dmp_documents_envoyes"): (0, None, None),
    }


FILTER_DATA = [
    (E1, "2025-01", "mss_messages_envoyes", 1),
    (E1, "2025-02", "mss_messages_envoyes", 2),
    (E1, "2025-03", "mss_messages_envoyes", 3),
    (E2, "2025-01", "mss_messages_envoyes", 4),
    (E2, "2025-03", "mss_messages_envoyes", 5),
    (E6, "2025-02", "mss_messages_envoyes", 6),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, [1, 2, 3, 4, 5, 6], id="no-filter"),
        # months >= 02: E1 02, 03 ; E2 03 ; E6 02
        pytest.param({"du": FEB}, [2, 3, 5, 6], id="du-2025-02"),
        # months <= 01: E1 01 ; E2 01
        pytest.param({"au": JAN}, [1, 4], id="au-2025-01"),
        # 02 only: E1 02 ; E6 02 (E2 has no 02)
        pytest.param({"du": FEB, "au": FEB}, [2, 6], id="du-au-2025-02"),
        pytest.param({"finess": [E2]}, [4, 5], id="finess-E2"),
        # E1 and E6 from 02: E1 02, 03 ; E6 02
        pytest.param({"finess": [E1, E6], "du": FEB}, [2, 3, 6], id="finess-E1-E6-du-02"),
        # no month of E2 in 02
        pytest.param({"finess": [E2], "du": FEB, "au": FEB}, [], id="finess-E2-02-empty"),
    ],
)
def test_monthly_filters(store, ref, write_file, filters, expected):
    load(store, ref, write_file("usages.csv", long_csv(FILTER_DATA)))
    got = indicators.monthly(store, ref, **filters)
    # values 1..6 identify the rows of FILTER_DATA; rows come sorted by finess_et, periode
    assert [r[3] for r in got] == expected


def test_monthly_sort_order(store, ref, write_file):
    # written out of order: ESMS, months and indicators shuffled
    rows = [
        (E6, "2025-01", "personnes_accompagnees", 5),
        (E2, "2025-02", "mss_messages_envoyes", 1),
        (E1, "2025-02", "dossiers_actifs", 2),
        (E2, "2025-01", "dmp_documents_envoyes", 1),
        (E1, "2025-01", "personnes_accompagnees", 4),
        (E1, "2025-02", "personnes_accompagnees", 3),
        (E1, "2025-01", "dmp_documents_envoyes", 9),
    ]
    load(store, ref, write_file("usages.csv", long_csv(rows)))
    got = [(r[0], r[1], r[2]) for r in indicators.monthly(store, ref)]
    # sorted by finess_et, periode, indicateur; the rate sorts among the counts of its month
    assert got == [
        (E1, JAN, "dmp_documents_envoyes"),
        (E1, JAN, "personnes_accompagnees"),
        (E1, FEB, "dossiers_actifs"),
        (E1, FEB, "personnes_accompagnees"),
        (E1, FEB, "taux_dossiers_actifs"),
        (E2, JAN, "dmp_documents_envoyes"),
        (E2, FEB, "mss_messages_envoyes"),
        (E6, JAN, "personnes_accompagnees"),
    ]


# --- indicators.period_values ----------------------------------------------------------------

PERIOD_DATA = [
    # E1: flow in 01 and 03 (02 missing); stock in 01 and 03; a stock present only in 01
    (E1, "2025-01", "dmp_documents_envoyes", 3),
    (E1, "2025-03", "dmp_documents_envoyes", 4),
    (E1, "2025-04", "dmp_documents_envoyes", 100),  # outside the period 01..03
    (E1, "2025-01", "personnes_accompagnees", 40),
    (E1, "2025-03", "personnes_accompagnees", 50),
    (E1, "2025-01", "dossiers_actifs", 30),
    (E1, "2025-03", "dossiers_actifs", 35),
    (E1, "2025-01", "ins_qualifiees", 6),
    # E2: both parts of the rates in 01 and 02; a zero flow every month
    (E2, "2025-01", "personnes_accompagnees", 40),
    (E2, "2025-01", "dossiers_actifs", 30),
    (E2, "2025-01", "dossiers_actifs_avec_pp", 30),
    (E2, "2025-02", "personnes_accompagnees", 50),
    (E2, "2025-02", "dossiers_actifs", 20),
    (E2, "2025-02", "dossiers_actifs_avec_pp", 5),
    (E2, "2025-01", "mss_messages_envoyes", 0),
    (E2, "2025-02", "mss_messages_envoyes", 0),
    # E6: zero denominator in the last month
    (E6, "2025-01", "personnes_accompagnees", 10),
    (E6, "2025-01", "dossiers_actifs", 5),
    (E6, "2025-02", "personnes_accompagnees", 0),
    (E6, "2025-02", "dossiers_actifs", 0),
]


@pytest.fixture
def period(store, ref, write_file):
    load(store, ref, write_file("usages.csv", long_csv(PERIOD_DATA)))
    frame = indicators.period_values(store, ref, JAN, MAR)
    return {(r.finess_et, r.indicateur): r for r in frame.itertuples(index=False)}


@pytest.mark.parametrize(
    ("finess_et", "indicateur", "expected"),
    [
        # flow summed over the months with data: 3 (01) + 4 (03) = 7 ; 04 is outside
        pytest.param(E1, "dmp_documents_envoyes", 7, id="flow-summed-02-missing"),
        # flow of zeros stays a zero, not missing: 0 + 0 = 0
        pytest.param(E2, "mss_messages_envoyes", 0, id="flow-zero"),
        # stock: 01 = 40, 02 missing, 03 = 50 -> last month with data 03: 50
        pytest.param(E1, "personnes_accompagnees", 50, id="stock-last-month-03"),
        # stock present only in 01: 6
        pytest.param(E1, "ins_qualifiees", 6, id="stock-only-in-01"),
        # stock: 01 = 30, 02 = 20 -> 20
        pytest.param(E2, "dossiers_actifs", 20, id="stock-last-month-02"),
    ],
)
def test_period_counts(period, finess_et, indicateur, expected):
    row = period[(finess_et, indicateur)]
    assert not row.est_taux
    assert row.valeur == expected


@pytest.mark.parametrize(
    ("finess_et", "indicateur", "num", "den"),
    [
        # E1: dossiers_actifs last 03 = 35 / personnes last 03 = 50 = 0.7
        pytest.param(E1, "taux_dossiers_actifs", 35, 50, id="E1-taux-35/50"),
        # E2: 20 / 50 = 0.4 from the aggregated parts (not the mean of 0.75 and 0.4)
        pytest.param(E2, "taux_dossiers_actifs", 20, 50, id="E2-taux-20/50"),
        # E2: PP 5 / 20 active = 0.25 (01 had 30/30 = 1)
        pytest.param(E2, "taux_dossiers_actifs_avec_pp", 5, 20, id="E2-taux-pp-5/20"),
    ],
)
def test_period_rates_from_aggregated_parts(period, finess_et, indicateur, num, den):
    row = period[(finess_et, indicateur)]
    assert row.est_taux
    assert (row.numerateur, row.denominateur) == (num, den)
    assert row.valeur == pytest.approx(num / den, rel=1e-15)


def test_period_rate_zero_denominator_is_null(period):
    # E6: last month 02 has 0 active / 0 accompanied -> no value, parts 0 and 0
    row = period[(E6, "taux_dossiers_actifs")]
    assert (row.numerateur, row.denominateur) == (0, 0)
    assert pd.isna(row.valeur)


def test_period_no_row_without_data(period):
    # E1 has no dossiers_actifs_avec_pp: neither the count nor taux_dossiers_actifs_avec_pp
    assert (E1, "dossiers_actifs_avec_pp") not in period
    assert (E1, "taux_dossiers_actifs_avec_pp") not in period
    # E6 has no flow at all
    assert (E6, "dmp_documents_envoyes") not in period


def test_period_rate_stays_in_0_1_when_parts_end_in_different_months(store, ref, write_file):
    """A stock rate over a period must remain a fraction in [0, 1].

    E1: 01: 30 active / 40 accompanied ; 02: 20 accompanied, no dossiers_actifs sent.
    Each month is valid (numerator <= denominator where both exist). Taking each part from its
    own last month gives 30 (01) / 20 (02) = 1.5, which is not a rate. The last month where the
    rate exists (both parts present) is 01: 30 / 40 = 0.75.
    """
    rows = [
        (E1, "2025-01", "personnes_accompagnees", 40),
        (E1, "2025-01", "dossiers_actifs", 30),
        (E1, "2025-02", "personnes_accompagnees", 20),
    ]
    load(store, ref, write_file("usages.csv", long_csv(rows)))
    frame = indicators.period_values(store, ref, JAN, FEB)
    rate = frame[(frame.finess_et == E1) & (frame.indicateur == "taux_dossiers_actifs")]
    assert len(rate) == 1
    valeur = float(rate.valeur.iloc[0])
    assert 0 <= valeur <= 1, f"taux_dossiers_actifs over 01..02 = {valeur}"
    assert valeur == 0.75  # 30 / 40 from 01, the last month with both parts


# --- indicators.rollup -----------------------------------------------------------------------

# Group A (E1..E5): OG1, BC-A, Editeur A, catégorie 500, département 01 (région 84).
# Group B (E6): OG2, BC-B, Editeur B, catégorie 255, département 75 (région 11).
ROLLUP_REFERENCE = "\n".join(
    [
        REFERENCE_HEADER,
        *(f"{e};{OG1};ESMS {e};BC-A;Editeur A;500;01;" for e in (E1, E2, E3, E4, E5)),
        f"{E6};{OG2};ESMS {E6};BC-B;Editeur B;255;75;",
    ]
)
ROLLUP_USAGE = [
    # taux_dossiers_actifs in 03: E1 10/40 = 0.25, E2 20/40 = 0.5, E3 30/50 = 0.6, E4 45/50 = 0.9
    (E1, "2025-03", "personnes_accompagnees", 40),
    (E1, "2025-03", "dossiers_actifs", 10),
    (E2, "2025-03", "personnes_accompagnees", 40),
    (E2, "2025-03", "dossiers_actifs", 20),
    (E3, "2025-03", "personnes_accompagnees", 50),
    (E3, "2025-03", "dossiers_actifs", 30),
    (E4, "2025-03", "personnes_accompagnees", 50),
    (E4, "2025-03", "dossiers_actifs", 45),
    # E5: 100 accompanied, no dossiers_actifs -> no rate, excluded from the weighted rate
    (E5, "2025-03", "personnes_accompagnees", 100),
    # flows over 02..03: E1 2 + 3, E2 4
    (E1, "2025-02", "dmp_documents_envoyes", 2),
    (E1, "2025-03", "dmp_documents_envoyes", 3),
    (E2, "2025-03", "dmp_documents_envoyes", 4),
    # group B: E6 5/10 = 0.5, 8 DMP documents
    (E6, "2025-03", "personnes_accompagnees", 10),
    (E6, "2025-03", "dossiers_actifs", 5),
    (E6, "2025-02", "dmp_documents_envoyes", 8),
]
GROUPS = {
    "og": (OG1, OG2),
    "commande": ("BC-A", "BC-B"),
    "editeur": ("Editeur A", "Editeur B"),
    "departement": ("01", "75"),
    "region": ("84", "11"),
    "categorie": ("500", "255"),
}


@pytest.fixture
def rolled(store, ref, write_file):
    load(
        store,
        ref,
        write_file("etablissements.csv", ROLLUP_REFERENCE),
        write_file("usages.csv", long_csv(ROLLUP_USAGE)),
    )

    def by_dimension(dimension: str) -> dict[tuple[str, str], object]:
        frame = indicators.rollup(store, ref, dimension, FEB, MAR)
        return {(r.groupe, r.indicateur): r for r in frame.itertuples(index=False)}

    return by_dimension


@pytest.mark.parametrize("dimension", [pytest.param(d, id=d) for d in indicators.DIMENSIONS])
def test_rollup_counts_summed_across_esms(rolled, dimension):
    a, b = GROUPS[dimension]
    got = rolled(dimension)
    # personnes_accompagnees A: 40 + 40 + 50 + 50 + 100 = 280 over 5 ESMS ; B: 10
    assert (
        got[(a, "personnes_accompagnees")].valeur,
        got[(a, "personnes_accompagnees")].nb_esms,
    ) == (280, 5)
    assert got[(b, "personnes_accompagnees")].valeur == 10
    # dossiers_actifs A: 10 + 20 + 30 + 45 = 105 ; B: 5
    assert got[(a, "dossiers_actifs")].valeur == 105
    assert got[(b, "dossiers_actifs")].valeur == 5
    # dmp_documents_envoyes A: E1 (2 + 3) + E2 4 = 9 over 2 ESMS ; B: 8
    assert (
        got[(a, "dmp_documents_envoyes")].valeur,
        got[(a, "dmp_documents_envoyes")].nb_esms,
    ) == (9, 2)
    assert got[(b, "dmp_documents_envoyes")].valeur == 8
    assert {g for g, _ in got} == {a, b}


@pytest.mark.parametrize("dimension", [pytest.param(d, id=d) for d in indicators.DIMENSIONS])
def test_rollup_weighted_rate_and_quartiles(rolled, dimension):
    a, b = GROUPS[dimension]
    rate = rolled(dimension)[(a, "taux_dossiers_actifs")]
    # weighted over the 4 ESMS with a rate (E5 excluded: no numerator):
    # (10 + 20 + 30 + 45) / (40 + 40 + 50 + 50) = 105 / 180 = 0.58333…
    assert (rate.numerateur, rate.denominateur, rate.nb_esms) == (105, 180, 4)
    assert rate.valeur == pytest.approx(105 / 180, rel=1e-12)
    # ESMS rates sorted: 0.25, 0.5, 0.6, 0.9 ; quantile_cont position = (4 - 1) * p
    # q1: pos 0.75 -> 0.25 + 0.75 * (0.5 - 0.25) = 0.4375
    assert rate.q1 == pytest.approx(0.4375, rel=1e-12)
    # median: pos 1.5 -> 0.5 + 0.5 * (0.6 - 0.5) = 0.55
    assert rate.mediane == pytest.approx(0.55, rel=1e-12)
    # q3: pos 2.25 -> 0.6 + 0.25 * (0.9 - 0.6) = 0.675
    assert rate.q3 == pytest.approx(0.675, rel=1e-12)
    # group B: a single ESMS 5 / 10 = 0.5, so q1 = median = q3 = 0.5
    other = rolled(dimension)[(b, "taux_dossiers_actifs")]
    assert (other.valeur, other.q1, other.mediane, other.q3, other.nb_esms) == (
        0.5,
        0.5,
        0.5,
        0.5,
        1,
    )


def test_rollup_unknown_dimension(store, ref):
    with pytest.raises(ValueError, match="dimension inconnue"):
        indicators.rollup(store, ref, "commune", FEB, MAR)


# --- indicators.trends -----------------------------------------------------------------------

TREND_DATA = [
    # E1 DMP: 01: 10, 02: 14, 03 missing, 04: 0, 05: 6
    (E1, "2025-01", "dmp_documents_envoyes", 10),
    (E1, "2025-02", "dmp_documents_envoyes", 14),
    (E1, "2025-04", "dmp_documents_envoyes", 0),
    (E1, "2025-05", "dmp_documents_envoyes", 6),
    # E1 MSS: 01: 0, 02: 0, 03: 5
    (E1, "2025-01", "mss_messages_envoyes", 0),
    (E1, "2025-02", "mss_messages_envoyes", 0),
    (E1, "2025-03", "mss_messages_envoyes", 5),
    # E2 INS: always 0
    (E2, "2025-01", "ins_qualifiees", 0),
    (E2, "2025-02", "ins_qualifiees", 0),
]


@pytest.fixture
def trend(store, ref, write_file):
    load(store, ref, write_file("usages.csv", long_csv(TREND_DATA)))
    frame = indicators.trends(store, ref)
    frame["periode"] = pd.to_datetime(frame["periode"]).dt.date
    return {(r.finess_et, r.indicateur, r.periode): r for r in frame.itertuples(index=False)}


def _nan_or(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@pytest.mark.parametrize(
    ("month", "variation"),
    [
        pytest.param(JAN, None, id="01-no-previous-month"),
        pytest.param(FEB, 4.0, id="02-14-minus-10"),  # 14 - 10 = 4
        pytest.param(APR, None, id="04-previous-03-missing"),  # 03 missing -> NULL, not 0 - 14
        pytest.param(MAY, 6.0, id="05-6-minus-0"),  # 6 - 0 = 6
    ],
)
def test_trends_variation_vs_previous_calendar_month(trend, month, variation):
    assert _nan_or(trend[(E1, "dmp_documents_envoyes", month)].variation) == variation


@pytest.mark.parametrize(
    ("month", "average"),
    [
        pytest.param(JAN, 10.0, id="01-only-10"),  # 10 / 1
        pytest.param(FEB, 12.0, id="02-10-14"),  # (10 + 14) / 2 = 12
        pytest.param(APR, 7.0, id="04-14-0"),  # window 02..04: (14 + 0) / 2 = 7 (03 missing)
        pytest.param(MAY, 3.0, id="05-0-6"),  # window 03..05: (0 + 6) / 2 = 3 (01, 02 out)
    ],
)
def test_trends_three_month_moving_average(trend, month, average):
    assert trend[(E1, "dmp_documents_envoyes", month)].moyenne_mobile_3m == pytest.approx(average)


def test_trends_no_row_for_missing_month(trend):
    assert (E1, "dmp_documents_envoyes", MAR) not in trend


@pytest.mark.parametrize(
    ("finess_et", "indicateur", "first"),
    [
        pytest.param(E1, "dmp_documents_envoyes", JAN, id="dmp-first-01"),  # 10 in 01
        pytest.param(E1, "mss_messages_envoyes", MAR, id="mss-zeros-then-03"),  # 0, 0, 5
        pytest.param(E2, "ins_qualifiees", None, id="ins-never-non-zero"),  # 0, 0
    ],
)
def test_trends_first_non_zero_month(trend, finess_et, indicateur, first):
    rows = [r for k, r in trend.items() if k[:2] == (finess_et, indicateur)]
    assert rows
    for row in rows:  # the same value on every month of the series
        value = row.premier_mois_non_nul
        got = None if pd.isna(value) else pd.Timestamp(value).date()
        assert got == first


def test_trends_finess_filter(trend, store, ref):
    frame = indicators.trends(store, ref, finess=[E2])
    # only E2's two INS months: 0 in 01, 0 in 02 (variation 0 - 0 = 0)
    assert list(zip(frame.finess_et, frame.indicateur, frame.valeur, strict=True)) == [
        (E2, "ins_qualifiees", 0.0),
        (E2, "ins_qualifiees", 0.0),
    ]
    assert frame.variation.iloc[1] == 0.0
