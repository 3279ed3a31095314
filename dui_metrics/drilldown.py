"""Drill-down from the counts computed from records (domain.md §6.1) to the dossiers behind
them: which active dossiers of an ESMS and month lack a projet personnalisé, an événement or a
qualified INS (``sql/records_missing.sql``, the rules of ``sql/records_counts.sql`` read from
the stored ``records_*`` tables), and where each month of an ESMS's usage comes from
(``sql/month_sources.sql``: computed from records, or precomputed exports).

Only pseudonymised dossier ids and dates are read and returned: the store holds nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from dui_metrics import records_store
from dui_metrics.access import Perimeter, takes_perimeter
from dui_metrics.formats import month_range
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store

# What a dossier lacks (`missing_dossiers`): the CLI's --manque choices.
MISSING = ("pp", "evenement", "ins")
# French wording of each lack, for the pages (« Dossiers actifs sans … »).
MISSING_LABELS = {
    "pp": "projet personnalisé",
    "evenement": "événement",
    "ins": "INS qualifiée",
}
# The rate whose numerator each lack completes (active dossiers = with + without).
MISSING_RATES = {
    "pp": "taux_dossiers_actifs_avec_pp",
    "evenement": "taux_dossiers_actifs_avec_evenement",
    "ins": "taux_ins_qualifiees",
}
MISSING_COLUMNS = (
    "dossier_id",
    "date_entree",
    "date_sortie",
    "dernier_pp",
    "dernier_evenement",
    "statut_ins",
    "date_statut_ins",
)
# INS statuses on screen (the stored codes are canonical, without accents).
INS_LABELS = {
    "provisoire": "provisoire",
    "recuperee": "récupérée",
    "validee": "validée",
    "qualifiee": "qualifiée",
}
_DATE_COLUMNS = ("date_entree", "date_sortie", "dernier_pp", "dernier_evenement", "date_statut_ins")

# Where a month's usage comes from (`month_sources`).
FROM_RECORDS = "calculé depuis les dossiers"
FROM_EXPORTS = "exports précalculés"
MIXED = "mixte"


@takes_perimeter
def has_records(store: Store, finess_et: str) -> bool:
    """Whether the store holds séjours of this ESMS: the cheap check before any drill-down
    (the scan stops at the first séjour found)."""
    found = store.one("select 1 from records_sejours where finess_et = ? limit 1", [finess_et])
    return found is not None


@takes_perimeter
def known_esms(store: Store, finess_et: str) -> bool:
    """Whether the store knows this ESMS: in the établissements reference or in usage."""
    found = store.one(
        "select 1 from establishments where finess_et = $f "
        "union all select 1 from (select 1 from usage where finess_et = $f limit 1) limit 1",
        {"f": finess_et},
    )
    return found is not None


@takes_perimeter
def missing_dossiers(
    store: Store,
    ref: Referentiel,
    finess_et: str,
    periode: dt.date,
    manque: str,
    *,
    perimeter: Perimeter | None = None,
) -> pd.DataFrame:
    """The active dossiers of ``finess_et`` in the month of ``periode`` that lack ``manque``:
    ``pp`` a PP dated in the ``ref.pp_window_months`` months ending with the month,
    ``evenement`` a counted event dated in the month, ``ins`` an INS qualified at its end.
    Their number is ``dossiers_actifs`` minus the matching count of ``records.count_base``.

    Columns: dossier_id, date_entree, date_sortie (the séjour open in the month that began
    last), dernier_pp, dernier_evenement (latest dated on or before the month's last day),
    statut_ins, date_statut_ins (the status at the month's end; None when none is known);
    dates as ``datetime.date``, missing ones None; sorted by dossier_id.
    ``access.OutsidePerimeter`` when ``finess_et`` is outside ``perimeter`` (None: any ESMS)."""
    if perimeter is not None:
        perimeter.require(finess_et)
    if manque not in MISSING:
        raise ValueError(f"manque inconnu « {manque} » : {', '.join(MISSING)} attendu")
    params = {
        "finess_et": finess_et,
        "mois": periode.replace(day=1),
        "activite": ref.activity_window_months,
        "validite_pp": ref.pp_window_months,
        "manque": manque,
    }
    frame = store.query("records_missing", params).df()
    for column in _DATE_COLUMNS:
        frame[column] = pd.Series(
            [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]],
            dtype=object,
            index=frame.index,
        )
    frame["statut_ins"] = (
        frame["statut_ins"].astype(object).where(frame["statut_ins"].notna(), None)
    )
    return frame[list(MISSING_COLUMNS)]


@takes_perimeter
def month_sources(
    store: Store, finess_et: str, *, perimeter: Perimeter | None = None
) -> pd.DataFrame:
    """Each month of ``finess_et``'s usage with its source: `FROM_RECORDS` when its rows come
    from imports of records (kind ``dossiers:<table>`` or ``tddui``), `FROM_EXPORTS` when from
    precomputed exports, `MIXED` when both. Columns: periode (date), source; sorted.
    ``access.OutsidePerimeter`` when ``finess_et`` is outside ``perimeter``."""
    if perimeter is not None:
        perimeter.require(finess_et)
    params = {
        "finess_et": finess_et,
        "prefix": records_store.TABLE_PREFIX,
        "tddui": records_store.TDDUI,
        "dossiers": FROM_RECORDS,
        "exports": FROM_EXPORTS,
        "mixte": MIXED,
    }
    frame = store.query("month_sources", params).df()
    frame["periode"] = pd.Series(
        [pd.Timestamp(v).date() for v in frame["periode"]], dtype=object, index=frame.index
    )
    return frame


def month_runs(months: list[dt.date]) -> str:
    """Months as runs of consecutive months: ``01/2025–03/2025, 05/2025``."""
    runs: list[list[dt.date]] = []
    for month in sorted(months):
        if runs and _next_month(runs[-1][1]) == month:
            runs[-1][1] = month
        else:
            runs.append([month, month])
    return ", ".join(month_range(start, end) for start, end in runs)


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def sources_text(sources: pd.DataFrame) -> str:
    """One line saying which months come from records and which from exports (`month_sources`
    output): « Mois calculés depuis les dossiers : 01/2025–06/2025 ; exports précalculés :
    07/2024–12/2024 ». Empty when no month is computed from records."""
    by_source = {
        source: list(group["periode"]) for source, group in sources.groupby("source", sort=False)
    }
    if not by_source.get(FROM_RECORDS) and not by_source.get(MIXED):
        return ""
    parts = []
    if by_source.get(FROM_RECORDS):
        parts.append(f"Mois calculés depuis les dossiers : {month_runs(by_source[FROM_RECORDS])}")
    if by_source.get(MIXED):
        parts.append(
            f"mois en partie calculés depuis les dossiers : {month_runs(by_source[MIXED])}"
        )
    if by_source.get(FROM_EXPORTS):
        parts.append(f"{FROM_EXPORTS} : {month_runs(by_source[FROM_EXPORTS])}")
    text = " ; ".join(parts)
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class RecordStatus:
    """What the Établissement page needs to know of an ESMS's records, in one cached call."""

    has_records: bool
    sources: pd.DataFrame  # `month_sources`
    text: str  # `sources_text`

    def computed(self, periode: dt.date) -> bool:
        """Whether the month's counts are (at least partly) computed from the records."""
        month = periode.replace(day=1)
        found = self.sources[self.sources["periode"] == month]["source"]
        return self.has_records and not found.empty and found.iloc[0] != FROM_EXPORTS


@takes_perimeter
def record_status(
    store: Store, ref: Referentiel, finess_et: str, *, perimeter: Perimeter | None = None
) -> RecordStatus:
    """`has_records`, then (only when it has) `month_sources` and `sources_text` of
    ``finess_et``: an ESMS without records costs one look-up in ``records_sejours``. ``ref`` unused: the
    signature of the functions the pages cache (``ui.cached``). ``access.OutsidePerimeter``
    when ``finess_et`` is outside ``perimeter``."""
    if perimeter is not None:
        perimeter.require(finess_et)
    if not has_records(store, finess_et):
        empty = pd.DataFrame({"periode": pd.Series([], dtype=object), "source": []})
        return RecordStatus(False, empty, "")
    sources = month_sources(store, finess_et)
    return RecordStatus(True, sources, sources_text(sources))
