"""Indicators of a scope computed by DuckDB (an OG's or an order's monthly roll-up, one ESMS's
freshness and position among its peers) and the home page's editor table, on the tiny store
of test_compare.py (its docstring gives every count; usage 03/2025–05/2025).

These are the queries the dashboard runs on the national store: they must give the numbers
worked out by hand here whatever the size of the store.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from dui_metrics import indicators, overview
from tests.test_compare import E1, E2, E3, E4, E5, E6, MARCH, MAY, OG_C, RATE, ingest_tiny

APRIL = dt.date(2025, 4, 1)


@pytest.fixture
def tiny(store, tmp_path: Path, ref):
    ingest_tiny(store, tmp_path / "in", ref)
    return store


def by_month(rollup, code: str) -> dict[dt.date, object]:
    rows = rollup[rollup["indicateur"] == code]
    return {p.date(): r for p, r in zip(rows["periode"], rows.itertuples(index=False), strict=True)}


# --- monthly roll-up of a scope --------------------------------------------------------------
def test_scope_rollup_of_an_og(tiny, ref) -> None:
    # OG C = E4, E5, E6. Dossiers actifs: 03: 10 + 12 = 22; 05: 0 + 12 = 12.
    rollup = indicators.scope_rollup(tiny, ref, og=OG_C)
    actifs = by_month(rollup, "dossiers_actifs")
    assert (actifs[MARCH].valeur, actifs[MAY].valeur) == (22, 12)
    # Weighted rate: 03: (10 + 12) / (20 + 30) = 0.44; 05: (0 + 12) / (0 + 30) = 0.4, both
    # E4 (0 / 0 in 05: its rate exists, not computable) and E6 counted in nb_esms.
    rate = by_month(rollup, RATE)
    assert math.isclose(rate[MARCH].valeur, 0.44)
    assert math.isclose(rate[MAY].valeur, 0.4)
    assert (rate[MAY].numerateur, rate[MAY].denominateur, rate[MAY].nb_esms) == (12, 30, 2)
    # 04: (10 + 12) / 50 = 0.44 again; 05 - 04 = 0.4 - 0.44 = -0.04.
    assert math.isclose(rate[MAY].variation, -0.04)


def test_scope_rollup_of_an_order(tiny, ref) -> None:
    # BC-A = E1, E2. Dossiers actifs: 03: 20 + 3 = 23; 04: 25 + 3 = 28 (variation +5).
    actifs = by_month(indicators.scope_rollup(tiny, ref, commande="BC-A"), "dossiers_actifs")
    assert [actifs[m].valeur for m in (MARCH, APRIL, MAY)] == [23, 28, 33]
    assert actifs[APRIL].variation == 5
    assert math.isnan(actifs[MARCH].variation)  # no 02/2025 in the store


def test_scope_rollup_without_scope_is_every_esms(tiny, ref) -> None:
    # 05: dossiers actifs 30 + 3 + 45 + 0 + 12 = 90 of 40 + 10 + 50 + 0 + 30 = 130 persons.
    rollup = indicators.scope_rollup(tiny, ref, au=MAY)
    rate = by_month(rollup, RATE)[MAY]
    assert (rate.numerateur, rate.denominateur, rate.nb_esms) == (90, 130, 5)
    assert math.isclose(rate.valeur, 90 / 130)
    assert by_month(rollup, "dossiers_actifs")[MAY].nb_esms == 5  # E5 has no data
    # The same numbers as the roll-up of the list of every ESMS.
    listed = indicators.monthly_rollup(tiny, ref, [E1, E2, E3, E4, E5, E6], au=MAY)
    assert listed.equals(rollup[indicators.ROLLUP_COLUMNS])


def test_scope_rollup_bounds_and_empty_scope(tiny, ref) -> None:
    # au = 04/2025: no May row; an order without ESMS: no row at all.
    assert max(indicators.scope_rollup(tiny, ref, og=OG_C, au=APRIL)["periode"]).date() == APRIL
    empty = indicators.scope_rollup(tiny, ref, commande="BC-inconnu")
    assert empty.empty and list(empty.columns) == [
        *indicators.ROLLUP_COLUMNS,
        "variation_constante",
        "nb_esms_communs",
    ]


# --- one ESMS ----------------------------------------------------------------------------------
def test_freshness_of_some_esms(tiny, ref) -> None:
    fresh = indicators.freshness(tiny, ref, finess=[E4, E5]).set_index("finess_et")
    # E5 has no usage data: no row. E4: 03, 04, 05 out of 03..05 (the store's latest month).
    assert list(fresh.index) == [E4]
    row = fresh.loc[E4]
    assert (row["premier_mois"].date(), row["dernier_mois"].date()) == (MARCH, MAY)
    assert (row["nb_mois"], row["nb_mois_attendus"]) == (3, 3)
    assert row["dernier_fichier"].endswith("usages.csv")
    assert len(indicators.freshness(tiny, ref)) == 5  # every ESMS with usage data


def test_peer_percentiles_by_category_and_region(tiny, ref) -> None:
    peers = indicators.peer_percentiles(tiny, ref, E1, MARCH, MAY)
    mine = peers[peers["indicateur"] == RATE].set_index("groupe")
    # Category 500: E1 0.75, E3 0.9, E6 0.4 (E5: no data): rates <= 0.75: E1, E6 -> 2 / 3.
    # Région 84 (départements 69 and 01): E1 0.75, E2 0.3, E3 0.9 -> 2 / 3.
    assert mine.loc["categorie", "nb_pairs"] == 3
    assert mine.loc["categorie", "percentile"] == pytest.approx(2 / 3)
    assert mine.loc["region", "nb_pairs"] == 3
    assert mine.loc["region", "percentile"] == pytest.approx(2 / 3)
    assert mine.loc["region", "valeur"] == pytest.approx(0.75)
    # INS qualifiées / dossiers actifs in 05, région 84: E1 18/30 = 0.6, E2 2/3, E3 40/45:
    # E1 is the lowest -> 1 / 3.
    ins = peers[(peers["indicateur"] == "taux_ins_qualifiees") & (peers["groupe"] == "region")]
    assert ins["percentile"].item() == pytest.approx(1 / 3)


def test_peer_percentiles_without_a_rate_or_a_reference_line(tiny, ref) -> None:
    # E4: 0 / 0 in 05 -> no dossiers actifs rate of its own, no row for it.
    e4 = indicators.peer_percentiles(tiny, ref, E4, MARCH, MAY)
    assert RATE not in set(e4["indicateur"])
    unknown = indicators.peer_percentiles(tiny, ref, "350000014", MARCH, MAY)
    assert unknown.empty and list(unknown.columns) == indicators.PEER_COLUMNS


# --- home page -----------------------------------------------------------------------------------
def test_editors_clients_latest_month_and_import(tiny, ref) -> None:
    editors = overview.editors(tiny, ref).set_index("editeur")
    # Editeur X: E1, E2; Editeur Y: E3, E4, E5, E6 (E5 without data). Latest month 05/2025
    # for both, received in the usage file's import.
    assert editors["nb_esms"].to_dict() == {"Editeur X": 2, "Editeur Y": 4}
    assert {m.date() for m in editors["dernier_mois"]} == {MAY}
    usage_import = next(i for i in tiny.imports() if i["file_name"].endswith("usages.csv"))
    assert set(editors["dernier_import"]) == {usage_import["imported_at"]}
