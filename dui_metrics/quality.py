"""Data-quality flags: what a person should check before trusting the numbers.

Missing months, feeds that dropped to zero, FINESS numbers failing the Luhn check, ESMS with
usage data but no reference line, ESMS in the reference without any usage data.
"""

from __future__ import annotations

import pandas as pd

from dui_metrics import finess, referentiel
from dui_metrics.access import takes_perimeter
from dui_metrics.formats import month_numeric
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store

COLUMNS = ["finess_et", "controle", "detail"]


@takes_perimeter
def flags(store: Store, ref: Referentiel | None = None) -> pd.DataFrame:
    """One row per flag: finess_et, controle (short code), detail (French sentence)."""
    ref = ref or referentiel.default()
    latest = store.latest_month()
    rows: list[tuple[str, str, str]] = []
    if latest is not None:
        store.register("quality_series", store.arrow("quality_series"))
        missing = store.query("quality_missing_months", {"au": latest}).fetchall()
        by_esms: dict[str, list] = {}
        for code, month in missing:
            by_esms.setdefault(code, []).append(month)
        for code, months in by_esms.items():
            shown = ", ".join(month_numeric(m) for m in months[:6])
            more = f" et {len(months) - 6} autres" if len(months) > 6 else ""
            rows.append((code, "mois_manquants", f"{len(months)} mois sans donnée : {shown}{more}"))
        for code, indicator, month, before in store.query("quality_dropped_to_zero").fetchall():
            rows.append(
                (
                    code,
                    "chute_a_zero",
                    f"{ref.indicator(indicator).label} tombe à 0 en {month_numeric(month)} "
                    f"(jusqu'à {before} "
                    "les 3 mois précédents)",
                )
            )
    for code, in_reference, with_usage in store.query("esms_presence").fetchall():
        if finess.luhn_ok(code) is False:
            rows.append((code, "finess_luhn", f"FINESS {code} : clé de contrôle (Luhn) incorrecte"))
        if not in_reference:
            rows.append((code, "sans_referentiel", "usages reçus, ESMS absent du référentiel"))
        elif not with_usage:
            rows.append((code, "sans_usage", "dans le référentiel, aucune donnée d'usage reçue"))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["finess_et", "controle"], ignore_index=True)
