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
