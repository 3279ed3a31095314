"""Monthly roll-up of a set of ESMS: summed counts, weighted rates, change vs previous month."""

from __future__ import annotations

import math

from dui_metrics import indicators
from dui_metrics.ingest import ingest_paths


def test_monthly_rollup_sums_weights_and_changes(store, write_file, ref) -> None:
    path = write_file(
        "u.csv",
        "finess_et;periode;personnes_accompagnees;dossiers_actifs;mss_messages_envoyes\n"
        "690000013;2025-01;40;30;5\n"
        "690000021;2025-01;20;10;1\n"
        "690000013;2025-02;40;30;7\n"
        "690000021;2025-02;20;15;1\n"
        # no row at all in 2025-03
        "690000013;2025-04;40;30;9\n"
        "690000021;2025-04;20;15;0\n",
    )
    assert [r.status for r in ingest_paths(store, [path], ref)] == ["chargé"]
    rollup = indicators.monthly_rollup(store, ref, ["690000013", "690000021"])
    mss = rollup[rollup["indicateur"] == "mss_messages_envoyes"].set_index("periode")
    # sums: 01: 5 + 1 = 6; 02: 7 + 1 = 8; 04: 9 + 0 = 9
    assert list(mss["valeur"]) == [6, 8, 9]
    # change: 02 - 01 = +2; 04 follows a month without data (03): no change, not 9 - 8
    assert math.isnan(mss["variation"].iloc[0]) and mss["variation"].iloc[1] == 2
    assert math.isnan(mss["variation"].iloc[2])
    rate = rollup[rollup["indicateur"] == "taux_dossiers_actifs"].set_index("periode")
    # weighted: 01: (30 + 10) / (40 + 20) = 40/60; 02: (30 + 15) / 60 = 0.75
    assert math.isclose(rate["valeur"].iloc[0], 40 / 60)
    assert math.isclose(rate["valeur"].iloc[1], 0.75)
    assert math.isclose(rate["variation"].iloc[1], 0.75 - 40 / 60)


def test_scope_rollup_change_at_constant_perimeter(store, write_file, ref) -> None:
    import datetime as dt

    # Three ESMS of OG A in 01/2025; E3 sends no February export.
    path = write_file(
        "u.csv",
        "finess_et;periode;personnes_accompagnees;dossiers_actifs;ins_qualifiees\n"
        "690000013;2025-01;40;30;20\n"
        "690000021;2025-01;20;10;8\n"
        "690000039;2025-01;10;10;9\n"
        "690000013;2025-02;40;32;25\n"
        "690000021;2025-02;20;12;5\n",
    )
    assert [r.status for r in ingest_paths(store, [path], ref)] == ["chargé"]
    february = dt.date(2025, 2, 1)
    rollup = indicators.scope_rollup(store, ref, au=february)
    ins = rollup[rollup["indicateur"] == "ins_qualifiees"].set_index("periode")
    # All ESMS: 01: 20 + 8 + 9 = 37; 02: 25 + 5 = 30, a raw change of -7 ...
    assert list(ins["valeur"]) == [37, 30] and ins["variation"].iloc[1] == -7
    # ... but over E1 and E2, present both months: (25 + 5) - (20 + 8) = +2
    assert ins["variation_constante"].iloc[1] == 2 and ins["nb_esms_communs"].iloc[1] == 2
    assert math.isnan(ins["variation_constante"].iloc[0])  # only on the au month
    rate = rollup[rollup["indicateur"] == "taux_dossiers_actifs"].set_index("periode")
    # weighted over E1 and E2: 02: (32 + 12) / 60 = 44/60;  01: (30 + 10) / 60 = 40/60
    assert math.isclose(rate["variation_constante"].iloc[1], 4 / 60)
    # the raw change compares 44/60 with (30 + 10 + 10) / 70 = 50/70
    assert math.isclose(rate["variation"].iloc[1], 44 / 60 - 50 / 70)


def test_trend_direction_follows_the_months_not_the_last_dip() -> None:
    import pandas as pd

    # rising for months, one dip at the end: still up (slope of 100, 200, 300, 290 > 0)
    assert indicators.trend_direction(pd.Series([100, 200, 300, 290])) == 1
    # falling, a small rise at the end: still down
    assert indicators.trend_direction(pd.Series([300, 200, 100, 110])) == -1
    # a month without data is skipped, not read as 0: 10, -, 30 rises
    assert indicators.trend_direction(pd.Series([10, float("nan"), 30])) == 1
    assert indicators.trend_direction(pd.Series([5.0, 5.0, 5.0])) == 0
    assert indicators.trend_direction(pd.Series([7])) == 0
