"""VA readiness: each criterion of the vérification d'aptitude per ESMS, with the human gap.

Rules (domain.md §4, windows and criteria from the référentiel): the VA window is the
``va_mois`` calendar months ending with the ``au`` month. Flow checks sum the months of the
window that have data; stock and rate checks use the last month of the window that has data
for that indicator. A check is ``manquant`` with no month in the window, ``zero`` with data
but a zero value (or a rate that cannot be computed: "non calculable"), else ``ok``.
``deploye`` is ``ok`` when a deployment date on or before the ``au`` month is known or usage
data exist on or before it. The ESMS verdict ``va`` is ``ok`` when every check is ``ok``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from dui_metrics import formats
from dui_metrics.indicators import add_months, esms_dimensions, monthly_arrow
from dui_metrics.referentiel import Criterion, Referentiel
from dui_metrics.store import Store

OK, ZERO, MISSING, BLOCKED = "ok", "zero", "manquant", "bloque"
VERDICT = "va"


@dataclass(frozen=True)
class Check:
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
    (``finess_ej``), order (``commande``) or editor (``editeur``) when given.
    """
    window = va_window(store, ref, au, window_months)
    esms = esms_dimensions(store)
    if og:
        esms = esms[esms["finess_ej"] == og]
    if commande:
        esms = esms[esms["commande"] == commande]
    if editeur:
        esms = esms[esms["editeur"] == editeur]
    rows = monthly_arrow(store, ref, du=window.start, au=window.end, finess=list(esms["finess_et"]))
    store.register("window_rows", rows)
    agg = {
        (r.finess_et, r.indicateur): r
        for r in store.query("va_window").df().itertuples(index=False)
    }
    spans = {
        r.finess_et: r
        for r in store.query("usage_span", {"au": window.end}).df().itertuples(index=False)
    }
    checks: list[Check] = []
    for esms_row in esms.itertuples(index=False):
        code = esms_row.finess_et
        span = spans.get(code)
        own = [
            _deployed(code, esms_row.date_deploiement, span, window)
            if crit.indicator is None
            else _indicator_check(code, crit, agg.get((code, crit.indicator)), span, window, ref)
            for crit in ref.criteria
        ]
        blocking = [c.critere for c in own if c.statut != OK]
        verdict = (
            Check(code, VERDICT, OK, None, "tous les critères sont remplis")
            if not blocking
            else Check(code, VERDICT, BLOCKED, None, "critères bloquants : " + ", ".join(blocking))
        )
        checks += own + [verdict]
    return checks


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def _as_date(value: object) -> dt.date | None:
    if _is_missing(value):
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def _deployed(code: str, deployed_on: object, span, window: Window) -> Check:
    deployed_on = _as_date(deployed_on)
    first_usage = _as_date(span.premier_mois) if span is not None else None
    if deployed_on is not None and deployed_on.replace(day=1) <= window.end:
        return Check(code, "deploye", OK, None, f"déployé le {formats.fr_date(deployed_on)}")
    if first_usage is not None:
        return Check(
            code,
            "deploye",
            OK,
            None,
            f"données d'usage depuis {formats.month_numeric(first_usage)}",
        )
    if deployed_on is not None:
        detail = (
            f"déploiement prévu le {formats.fr_date(deployed_on)}, "
            f"après {formats.month_numeric(window.end)}"
        )
    else:
        detail = (
            f"ni date de déploiement ni donnée d'usage jusqu'à {formats.month_numeric(window.end)}"
        )
    return Check(code, "deploye", MISSING, None, detail)


def _missing_detail(span, indicator_label: str, window: Window) -> str:
    last = _as_date(span.dernier_mois) if span is not None else None
    if last is None:
        return "aucune donnée reçue"
    if last < window.start:
        return f"aucune donnée depuis {formats.month_numeric(add_months(last, 1))}"
    return f"aucune donnée « {indicator_label} » sur {window.text}"


def _indicator_check(
    code: str, crit: Criterion, agg, span, window: Window, ref: Referentiel
) -> Check:
    ind = ref.indicator(crit.indicator)
    if agg is None:
        return Check(code, crit.code, MISSING, None, _missing_detail(span, ind.label, window))
    if ind.kind == "flux":
        total = int(agg.somme)
        statut = OK if total > 0 else ZERO
        detail = f"{ref.quantity(ind.code, total)} sur {window.text}"
        return Check(code, crit.code, statut, total, detail)
    month = formats.month_numeric(_as_date(agg.dernier_mois))
    last = agg.dernier
    if ind.kind == "stock":
        value = int(last["v"])
        statut = OK if value > 0 else ZERO
        return Check(code, crit.code, statut, value, f"{ref.quantity(ind.code, value)} en {month}")
    num, den, rate = int(last["n"]), int(last["d"]), last["v"]
    if den == 0 or _is_missing(rate):
        detail = f"non calculable en {month} : {ind.denominator} = 0"
        return Check(code, crit.code, ZERO, None, detail)
    statut = OK if num > 0 else ZERO
    detail = (
        f"{formats.fr_percent(rate)} en {month} ({formats.fr_int(num)} / {formats.fr_int(den)})"
    )
    return Check(code, crit.code, statut, float(rate), detail)


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
    table = criteria.groupby("finess_et").agg(
        nb_ok=("statut", lambda s: int((s == OK).sum())), nb_criteres=("statut", "size")
    )
    verdicts = frame[frame["critere"] == VERDICT].set_index("finess_et")["statut"]
    table["va"] = verdicts
    rates = criteria[criteria["critere"].str.startswith("taux_")]
    table = table.join(rates.pivot(index="finess_et", columns="critere", values="valeur"))
    sort = ["nb_ok"] + (["taux_dossiers_actifs"] if "taux_dossiers_actifs" in table else [])
    return table.reset_index().sort_values(sort, na_position="first", ignore_index=True)
