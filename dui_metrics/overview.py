"""What the store holds and how fresh it is: the home page's figures."""

from __future__ import annotations

import pandas as pd

from dui_metrics.access import takes_perimeter
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store


@takes_perimeter
def store_overview(store: Store, ref: Referentiel | None = None) -> dict:
    """Counts of ESMS, OGs, months and imports, first and last month, last import time."""
    esms, ogs = store.one(
        "select count(*), count(distinct finess_ej) from ("
        "select finess_et, finess_ej from establishments union "
        "select distinct finess_et, null from usage where finess_et not in "
        "(select finess_et from establishments))"
    )
    months, first, last = store.one(
        "select count(distinct periode), min(periode), max(periode) from usage"
    )
    imports, last_import = store.one("select count(*), max(imported_at) from imports")
    return {
        "nb_esms": esms,
        "nb_og": ogs,
        "nb_mois": months,
        "premier_mois": first,
        "dernier_mois": last,
        "nb_imports": imports,
        "dernier_import": last_import,
    }


@takes_perimeter
def editors(store: Store, ref: Referentiel | None = None) -> pd.DataFrame:
    """Per editor: client ESMS, latest month with data, last import of their data."""
    return store.query("overview_editors").df()
