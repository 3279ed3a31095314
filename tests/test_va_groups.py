"""Order and OG readiness: a group is ready when all its ESMS are."""

from __future__ import annotations

import pandas as pd

from dui_metrics.va import BLOCKED, OK, VERDICT, Check, group_readiness


def test_order_ready_only_when_every_esms_is() -> None:
    checks = [
        Check("E1", VERDICT, OK, None, ""),
        Check("E2", VERDICT, BLOCKED, None, ""),
        Check("E3", VERDICT, OK, None, ""),
        Check("E3", "ins", OK, 4, ""),  # criterion rows are ignored: only verdicts count
    ]
    esms = pd.DataFrame({"finess_et": ["E1", "E2", "E3"], "commande": ["BC-1", "BC-1", "BC-2"]})
    table = group_readiness(checks, esms, "commande")
    # BC-1: E1 ok + E2 blocked -> 1 of 2 ready, not ready; BC-2: E3 ok -> 1 of 1, ready.
    assert table.to_dict("records") == [
        {"commande": "BC-1", "nb_esms": 2, "nb_prets": 1, "pret": False},
        {"commande": "BC-2", "nb_esms": 1, "nb_prets": 1, "pret": True},
    ]
