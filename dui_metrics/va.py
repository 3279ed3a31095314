"""VA readiness: each criterion of the vérification d'aptitude per ESMS, with the human gap.

Rules (domain.md §4, windows and criteria from the référentiel): the VA window is the
``va_mois`` calendar months ending with the ``au`` month. Flow checks sum the months of the
window that have data; stock and rate checks use the last month of the window that has data
for that indicator. A check is ``manquant`` with no month in the window, ``zero`` with data
but a zero value (or a rate that cannot be computed: "non calculable"), else ``ok``.
``deploye`` is ``ok`` when a deployment date on or before the ``au`` month is known or usage
data exist on or before it. The ESMS verdict ``va`` is ``ok`` when every check is ``ok``.

DuckDB applies these rules and writes the details (``sql/va_checks.sql``) for every ESMS at
once; Python only turns the result into ``Check`` values (320,000 on the national store).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
import pyarrow as pa

from dui_metrics import formats
from dui_metrics.indicators import add_months
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store

OK, ZERO, MISSING, BLOCKED = "ok", "zero", "manquant", "bloque"
VERDICT = "va"


class Check(NamedTuple):
    """One check of one ESMS, or its verdict (``critere == VERDICT``). Immutable; a named tuple
    rather than a frozen dataclass, which took twice as long to build 320,000 times (about as
    long as the whole query)."""

    finess_et: str
    critere: str
    statut: str
    valeur: float | int | None
    detail: str


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date  # the "au" month

    @property
    def text(self) -> str:
        return formats.month_range(self.start, self.end)


def va_window(
    store: Store, ref: Referentiel, au: dt.date | None = None, months: int | None = None
) -> Window:
    """The VA window ending with ``au`` (default: latest month in the store, else this month),
    ``months`` long (default: the référentiel's ``va_mois``)."""
    from dui_metrics import clock

    end = (au or store.latest_month() or clock.current_month()).replace(day=1)
    length = months or ref.va_window_months
    if length < 1:
        raise ValueError("la fenêtre de la VA compte au moins 1 mois")
    return Window(add_months(end, -(length - 1)), end)


def readiness(
    store: Store,
    ref: Referentiel,
    au: dt.date | None = None,
    og: str | None = None,
    commande: str | None = None,
    editeur: str | None = None,
    window_months: int | None = None,
) -> list[Check]:
    """Checks per ESMS in criterion order, then the ``va`` verdict, sorted by finess_et.

    ESMS are every ESMS known to the store (reference or usage data), filtered by OG
    (``finess_ej``), order (``commande``) or editor (``editeur``) when given. Statuses, values
    and details are computed by DuckDB (``sql/va_checks.sql``): no Python work per ESMS.
    """
    window = va_window(store, ref, au, window_months)
    store.register("va_criteria", _criteria_table(ref))
    params = {
        "du": window.start,
        "au": window.end,
        "fenetre": window.text,
        "au_texte": formats.month_numeric(window.end),
        "og": og or None,
        "commande": commande or None,
        "editeur": editeur or None,
    }
    table = store.arrow("va_checks", params)
    # Column-wise conversion (C loops); a check's value is its count or its rate.
    codes, criteria, statuses, details = (
        table.column(name).to_numpy(zero_copy_only=False)
        for name in ("finess_et", "critere", "statut", "detail")
    )
    counts, rates = table.column("nombre").to_pylist(), table.column("taux").to_pylist()
    values = [rate if count is None else count for count, rate in zip(counts, rates, strict=True)]
    return list(map(Check, codes, criteria, statuses, values, details))


_CRITERIA_SCHEMA = pa.schema(
    [
        ("rang", pa.int32()),
        ("critere", pa.string()),
        ("indicateur", pa.string()),
        ("nature", pa.string()),
        ("libelle", pa.string()),
        ("suffixe_un", pa.string()),
        ("suffixe_plusieurs", pa.string()),
        ("numerateur", pa.string()),
        ("denominateur", pa.string()),
    ]
)


def _criteria_table(ref: Referentiel) -> pa.Table:
    """The référentiel's VA criteria as ``va_checks`` reads them, in display order.

    The suffixes are what ``Referentiel.quantity`` writes after a count: a space and the unit
    (singular for 0 and 1), nothing for a blank unit.
    """
    rows = []
    for rank, crit in enumerate(ref.criteria):
        row = {"rang": rank, "critere": crit.code, "indicateur": crit.indicator}
        if crit.indicator is not None:
            ind = ref.indicator(crit.indicator)
            row |= {
                "nature": ind.kind,
                "libelle": ind.label,
                "suffixe_un": f" {ind.unit}".rstrip(),
                "suffixe_plusieurs": f" {ind.unit_plural}".rstrip(),
                "numerateur": ind.numerator,
                "denominateur": ind.denominator,
            }
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=_CRITERIA_SCHEMA)


def readiness_frame(checks: list[Check]) -> pd.DataFrame:
    """Checks as a long DataFrame: finess_et, critere, statut, valeur, detail."""
    return pd.DataFrame(
        [(c.finess_et, c.critere, c.statut, c.valeur, c.detail) for c in checks],
        columns=["finess_et", "critere", "statut", "valeur", "detail"],
    )


def summary(checks: list[Check]) -> dict[str, int]:
    """Counts of ESMS ready (``pretes``), blocked with some data (``bloquees``) and blocked
    with no data at all in the window (``sans_donnees``: every indicator check missing)."""
    by_esms: dict[str, list[Check]] = {}
    for c in checks:
        by_esms.setdefault(c.finess_et, []).append(c)
    ready = blocked = no_data = 0
    for own in by_esms.values():
        verdict = next(c for c in own if c.critere == VERDICT)
        indicator_checks = [c for c in own if c.critere not in (VERDICT, "deploye")]
        if verdict.statut == OK:
            ready += 1
        elif all(c.statut == MISSING for c in indicator_checks):
            no_data += 1
        else:
            blocked += 1
    return {"pretes": ready, "bloquees": blocked, "sans_donnees": no_data}


def group_readiness(checks: list[Check], esms: pd.DataFrame, by: str) -> pd.DataFrame:
    """Readiness per order (``by="commande"``) or OG (``by="finess_ej"``): a group is ready
    when all its ESMS are. Columns: the group key, nb_esms, nb_prets, pret."""
    verdicts = pd.DataFrame(
        [(c.finess_et, c.statut == OK) for c in checks if c.critere == VERDICT],
        columns=["finess_et", "pret_esms"],
    )
    merged = verdicts.merge(esms[["finess_et", by]], on="finess_et", how="left")
    grouped = merged.groupby(by, dropna=False).agg(
        nb_esms=("finess_et", "count"), nb_prets=("pret_esms", "sum")
    )
    grouped["nb_prets"] = grouped["nb_prets"].astype(int)
    grouped["pret"] = grouped["nb_esms"] == grouped["nb_prets"]
    return grouped.reset_index().sort_values(by, na_position="last", ignore_index=True)


def ranking(checks: list[Check]) -> pd.DataFrame:
    """ESMS weakest first: fewest criteria ok, then lowest active-records rate.

    Columns: finess_et, nb_ok (criteria ok out of nb_criteres), nb_criteres, va, and the
    value of each rate criterion (NULL when missing or not computable).
    """
    frame = readiness_frame(checks)
    if frame.empty:
        return pd.DataFrame(columns=["finess_et", "nb_ok", "nb_criteres", "va"])
    criteria = frame[frame["critere"] != VERDICT]
    # Vectorised (a Python lambda per ESMS took 10 s over 40,000 ESMS).
    table = (
        criteria.assign(ok=criteria["statut"].eq(OK))
        .groupby("finess_et")
        .agg(nb_ok=("ok", "sum"), nb_criteres=("ok", "size"))
    )
    verdicts = frame[frame["critere"] == VERDICT].set_index("finess_et")["statut"]
    table["va"] = verdicts
    rates = criteria[criteria["critere"].str.startswith("taux_")]
    table = table.join(rates.pivot(index="finess_et", columns="critere", values="valeur"))
    sort = ["nb_ok"] + (["taux_dossiers_actifs"] if "taux_dossiers_actifs" in table else [])
    return table.reset_index().sort_values(sort, na_position="first", ignore_index=True)
