"""Indicators: base counts and rates per ESMS and month, over a period, rolled up, trended.

Definitions are those of the référentiel (domain.md §3): rates are fractions, a zero
denominator gives NULL, missing months have no row (a zero has one). Every function takes a
``Store`` (a cursor) and returns plain rows or a pandas DataFrame; the SQL lives in
``dui_metrics/sql``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from dui_metrics.access import Perimeter, restrict, takes_perimeter
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store, sql

DIMENSIONS = ("og", "commande", "editeur", "departement", "region", "categorie")


def add_months(month: dt.date, n: int) -> dt.date:
    """First day of the month ``n`` months after ``month`` (``n`` may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def register_definitions(store: Store, ref: Referentiel) -> None:
    """Expose rate_defs and count_kinds of the référentiel to this cursor's SQL."""
    store.register(
        "rate_defs",
        pa.table(
            {
                "code": [r.code for r in ref.rates],
                "numerateur": [r.numerator for r in ref.rates],
                "denominateur": [r.denominator for r in ref.rates],
            }
        ),
    )
    store.register(
        "count_kinds",
        pa.table({"code": [c.code for c in ref.counts], "nature": [c.kind for c in ref.counts]}),
    )


def _query_params(
    store: Store,
    ref: Referentiel,
    du: dt.date | None,
    au: dt.date | None,
    finess: Sequence[str] | None,
    perimeter: Perimeter | None = None,
) -> dict:
    """Register the référentiel's tables and give the $du, $au, $finess parameters of the
    indicator queries. ``finess`` None means every ESMS; an empty list means none. A
    ``perimeter`` narrows ``finess`` to its ESMS (the SQL filters on the bound list)."""
    register_definitions(store, ref)
    return {"du": du, "au": au, "finess": restrict(finess, perimeter)}


@takes_perimeter
def monthly(
    store: Store,
    ref: Referentiel,
    du: dt.date | None = None,
    au: dt.date | None = None,
    finess: Sequence[str] | None = None,
    *,
    perimeter: Perimeter | None = None,
) -> list[tuple]:
    """Rows (finess_et, periode, indicateur, valeur, numerateur, denominateur, est_taux).

    One row per ESMS, month and indicator with data, sorted by finess_et, periode, indicateur.
    Counts: valeur = the count. Rates: valeur = numerateur / denominateur (None when the
    denominator is 0); a rate row exists when both exist for that ESMS and month. Only ESMS
    of ``perimeter`` when given (None: every ESMS).
    """
    params = _query_params(store, ref, du, au, finess, perimeter)
    query = f"select * from ({sql('monthly_indicators')}) order by finess_et, periode, indicateur"
    return store.execute(query, params).fetchall()


@takes_perimeter
def monthly_arrow(
    store: Store,
    ref: Referentiel,
    du: dt.date | None = None,
    au: dt.date | None = None,
    finess: Sequence[str] | None = None,
    *,
    perimeter: Perimeter | None = None,
):
    """The rows of `monthly`, unordered, as a pyarrow table built by DuckDB without Python
    objects per row: what later SQL steps (trends) register as their input. Unordered because
    sorting 17 M national rows on their text keys would cost ~8 s for no use."""
    params = _query_params(store, ref, du, au, finess, perimeter)
    return store.arrow("monthly_indicators", params)


@takes_perimeter
def monthly_frame(store: Store, ref: Referentiel, **filters) -> pd.DataFrame:
    """`monthly` as a DataFrame."""
    columns = [
        "finess_et",
        "periode",
        "indicateur",
        "valeur",
        "numerateur",
        "denominateur",
        "est_taux",
    ]
    return pd.DataFrame(monthly(store, ref, **filters), columns=columns)


@takes_perimeter
def period_values(
    store: Store,
    ref: Referentiel,
    du: dt.date,
    au: dt.date,
    finess: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Counts and rates per ESMS (of ``finess``, default every ESMS) over the months
    ``du``..``au``.

    Flows are summed over the months with data; stocks take the last month with data. A rate
    takes its numerator and denominator from the same months: for stock parts (all rates of
    the référentiel), the last month where both exist, so that a rate never mixes two months
    and stays in [0, 1]; for flow parts, the sum over the months where both exist. A zero
    denominator gives NULL.
    Columns: finess_et, indicateur, valeur, numerateur, denominateur, est_taux.
    """
    params = _query_params(store, ref, du, au, finess)
    counts = store.arrow("period_counts", params)
    rates = period_rates(store, ref, du, au, finess)
    frame = counts.to_pandas()[["finess_et", "indicateur", "valeur"]]
    frame = frame.assign(numerateur=pd.NA, denominateur=pd.NA, est_taux=False)
    rates = rates.assign(est_taux=True)
    result = pd.concat([frame, rates], ignore_index=True)
    return result.sort_values(["finess_et", "indicateur"], ignore_index=True)


@takes_perimeter
def period_rates(
    store: Store,
    ref: Referentiel,
    du: dt.date,
    au: dt.date,
    finess: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rates of `period_values` alone (without computing every count): one row per ESMS
    (of ``finess``, default every ESMS) and rate that exists over ``du``..``au``.
    Columns: finess_et, indicateur, valeur, numerateur, denominateur."""
    params = _query_params(store, ref, du, au, finess)
    return store.query("period_rates", params).df()


@takes_perimeter
def esms_dimensions(
    store: Store, ref: Referentiel | None = None, *, perimeter: Perimeter | None = None
) -> pd.DataFrame:
    """Every ESMS known to the store with its reference dimensions (NULL if unknown); only
    those of ``perimeter`` when given."""
    finess = restrict(None, perimeter)
    if finess is None:
        return store.query("esms_dimensions").df()
    query = (
        f"select * from ({sql('esms_dimensions')}) where list_contains($finess, finess_et) "
        "order by finess_et"
    )
    return store.execute(query, {"finess": finess}).df()


@takes_perimeter
def rollup(
    store: Store, ref: Referentiel, dimension: str, du: dt.date, au: dt.date
) -> pd.DataFrame:
    """Period indicators grouped by ``dimension`` (one of ``DIMENSIONS``).

    Counts summed across ESMS; rates weighted (sum of numerators / sum of denominators over the
    ESMS where the rate exists) with q1, mediane, q3 of the ESMS rates and nb_esms.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension inconnue {dimension!r} ; attendues : {', '.join(DIMENSIONS)}")
    values = period_values(store, ref, du, au)
    values["numerateur"] = values["numerateur"].astype("Int64")
    values["denominateur"] = values["denominateur"].astype("Int64")
    values["valeur"] = values["valeur"].astype("float64")
    store.register("esms_period", values)
    store.register("esms_dims", esms_dimensions(store))
    return store.query("rollup", {"dimension": dimension}).df()


@takes_perimeter
def trends(store: Store, ref: Referentiel, finess: Sequence[str] | None = None) -> pd.DataFrame:
    """Monthly series with month-over-month change, 3-month moving average, first non-zero month.

    Columns: finess_et, periode, indicateur, valeur, variation, moyenne_mobile_3m,
    premier_mois_non_nul. ``variation`` is NULL when the previous calendar month has no value;
    the moving average is the mean of the values present in M-2..M.
    """
    frame = monthly_arrow(store, ref, finess=finess)
    store.register("monthly", frame.select(["finess_et", "periode", "indicateur", "valeur"]))
    return store.query("trends").df()


ROLLUP_COLUMNS = [
    "periode",
    "indicateur",
    "valeur",
    "numerateur",
    "denominateur",
    "nb_esms",
    "variation",
]


@takes_perimeter
def monthly_rollup(
    store: Store, ref: Referentiel, finess: Sequence[str] | None, du=None, au=None
) -> pd.DataFrame:
    """Monthly indicators of a set of ESMS taken together (an OG, an order, an editor);
    ``finess=None``: every ESMS of the store.

    Counts summed across ESMS; rates weighted (sum of numerators / sum of denominators over the
    ESMS where the rate exists that month). Columns: periode, indicateur, valeur,
    numerateur, denominateur, nb_esms, variation (change from the previous calendar month,
    NULL when that month has no value). Aggregated by DuckDB (sql/monthly_rollup.sql).
    """
    if finess is not None and not len(finess):
        return pd.DataFrame(columns=ROLLUP_COLUMNS)
    params = _query_params(store, ref, du, au, finess)
    return store.query("monthly_rollup", params).df()


@takes_perimeter
def scope_rollup(
    store: Store,
    ref: Referentiel,
    og: str | None = None,
    commande: str | None = None,
    du=None,
    au=None,
) -> pd.DataFrame:
    """`monthly_rollup` of the ESMS of an OG (``og``: its FINESS EJ) and/or of an order of
    the reference; of every ESMS of the store when neither is given. Arguments small enough
    to be a cache key, unlike the list of the ESMS of a national roll-up.

    Two more columns, on the rows of the ``au`` month (default: the store's latest) only:
    ``variation_constante``, the change from the month before over the ESMS that have the
    indicator in both months (« à périmètre constant », sql/rollup_change.sql), and
    ``nb_esms_communs``, how many they are. NaN on the other rows."""
    finess = None
    if og is not None or commande is not None:
        rows = store.query("scope_esms", {"og": og, "commande": commande}).fetchall()
        finess = [r[0] for r in rows]
    rollup = monthly_rollup(store, ref, finess, du=du, au=au)
    month = au or store.latest_month()
    change = pd.DataFrame(columns=["indicateur", "variation_constante", "nb_esms_communs"])
    if month is not None and (finess is None or finess):
        params = _query_params(store, ref, None, None, finess)
        change = store.query("rollup_change", {"mois": month, "finess": params["finess"]}).df()
    rollup = rollup.assign(_mois=pd.to_datetime(rollup["periode"]) == pd.Timestamp(month or 0))
    change = change.assign(_mois=True)
    merged = rollup.merge(change, on=["indicateur", "_mois"], how="left")
    return merged.drop(columns="_mois")


def trend_direction(values: pd.Series) -> int:
    """The direction of a monthly series (e.g. its last 12 months): the sign of its
    least-squares slope over the months with a value (1 up, -1 down), 0 when flat or with
    fewer than 2 values. A card's colour follows it, not the last month's dip."""
    points = pd.to_numeric(values.reset_index(drop=True), errors="coerce").dropna()
    if len(points) < 2:
        return 0
    x = points.index.to_numpy(dtype=float)
    y = points.to_numpy(dtype=float)
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    # a slope lost in the rounding of the values is flat
    if abs(slope) * len(points) <= 1e-9 * max(abs(y).max(), 1e-12):
        return 0
    return 1 if slope > 0 else -1


@takes_perimeter
def freshness(
    store: Store, ref: Referentiel | None = None, finess: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per ESMS (of ``finess``, default every ESMS): first and last month with data, months
    with data and months expected (first month to the store's latest), last import and its
    file."""
    params = {"finess": None if finess is None else list(finess)}
    return store.query("esms_freshness", params).df()


PEER_COLUMNS = ["indicateur", "valeur", "groupe", "nb_pairs", "percentile"]


@takes_perimeter
def peer_percentiles(
    store: Store, ref: Referentiel, finess: str, du: dt.date, au: dt.date
) -> pd.DataFrame:
    """Position of one ESMS among its peers for each rate over ``du``..``au``.

    Peers: ESMS of the same FINESS category, and of the same région. The percentile is the
    share of peers (the ESMS included) whose rate is lower or equal, in [0, 1]
    (100 % = best of its group). Columns: indicateur, valeur, groupe ("categorie" or
    "region"), nb_pairs, percentile. Rates are computed for the peers only.
    """
    peers = store.query("peer_esms", {"finess": finess}).df()
    if peers.empty:
        return pd.DataFrame(columns=PEER_COLUMNS)
    values = period_values(store, ref, du, au, finess=peers["finess_et"])
    rates = values[values["est_taux"]][["finess_et", "indicateur", "valeur"]].dropna()
    rates = rates.merge(peers, on="finess_et")
    rows = []
    for group in ("categorie", "region"):
        shared = f"meme_{group}"
        if not peers[shared].fillna(False).astype(bool).any():
            continue  # category (région) of the ESMS unknown: no such group
        peer_rates = rates[rates[shared].fillna(False).astype(bool)]
        for code, part in peer_rates.groupby("indicateur"):
            own = part.loc[part["finess_et"] == finess, "valeur"]
            if own.empty:
                continue
            value = float(own.iloc[0])
            rows.append((code, value, group, len(part), float((part["valeur"] <= value).mean())))
    return pd.DataFrame(rows, columns=PEER_COLUMNS)


def month_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every first-of-month from ``start`` to ``end`` inclusive (dates or timestamps)."""
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


def with_missing_months(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Monthly rows of one ESMS (periode, indicateur, valeur) with a NaN row for every month
    without data, so that charts draw gaps instead of joining over missing months."""
    months = month_range(start, end)
    codes = sorted(frame["indicateur"].unique())
    grid = pd.MultiIndex.from_product([codes, months], names=["indicateur", "periode"])
    dense = frame.assign(periode=pd.to_datetime(frame["periode"]).dt.date).set_index(
        ["indicateur", "periode"]
    )
    return dense.reindex(grid).reset_index()


# The `indicators` export. Sorting 17 M rows on their text keys (FINESS, indicator) and text
# payload cost ~8 s at national scale; sorted on integer ids with numeric payload, then
# formatted, the same rows take ~3 s. Ids follow the text order (dictionaries sorted), and the
# projection after the sort keeps the sorted order. DuckDB's shortest round-trip text of a
# DOUBLE is the one Python's repr gives (checked on 10,000 rates), so rates keep full precision.
_EXPORT = """
with m as ({monthly}),
sorted as (
    select e.eid, m.periode, c.iid, m.valeur, m.numerateur, m.denominateur, m.est_taux
    from m
    join export_esms e using (finess_et)
    join export_codes c using (indicateur)
    order by e.eid, m.periode, c.iid
)
select {projection} from sorted
"""
_TEXT_PROJECTION = """eid,
    strftime(periode, '%Y-%m') as periode,
    iid,
    case when est_taux then valeur::varchar else valeur::bigint::varchar end as valeur,
    numerateur::varchar as numerateur,
    denominateur::varchar as denominateur"""
_TYPED_PROJECTION = "eid, periode, iid, valeur, numerateur, denominateur, est_taux"

EXPORT_COLUMNS = ("finess_et", "periode", "indicateur", "valeur", "numerateur", "denominateur")
# Typed export (Parquet): the month as a date (its first day), rates and counts as numbers.
TYPED_SCHEMA = pa.schema(
    [
        ("finess_et", pa.string()),
        ("periode", pa.date32()),
        ("indicateur", pa.string()),
        ("valeur", pa.float64()),
        ("numerateur", pa.int64()),
        ("denominateur", pa.int64()),
        ("est_taux", pa.bool_()),
    ]
)


@takes_perimeter
def monthly_export_batches(
    store: Store,
    ref: Referentiel,
    du: dt.date | None = None,
    au: dt.date | None = None,
    finess: Sequence[str] | None = None,
    batch_rows: int = 200_000,
    *,
    as_text: bool = True,
    perimeter: Perimeter | None = None,
):
    """`monthly`'s rows, in its order, as a stream of Arrow record batches: as text (columns
    ``EXPORT_COLUMNS``, for CSV: counts without decimals, empty values NULL) or typed
    (``TYPED_SCHEMA``, for Parquet).

    For the CLI's output at national scale: no Python object per row, memory bounded by the
    batch size. DuckDB sorts on integer ids of the ESMS and indicators; each batch turns them
    back into text (Arrow ``take``). Only ESMS of ``perimeter`` when given.
    """
    params = _query_params(store, ref, du, au, finess, perimeter)
    esms = pa.array(
        [r[0] for r in store.execute("select distinct finess_et from usage order by 1").fetchall()],
        pa.string(),
    )
    stored_codes = {r[0] for r in store.execute("select distinct indicateur from usage").fetchall()}
    codes = pa.array(sorted(stored_codes | {r.code for r in ref.rates}), pa.string())
    store.register(
        "export_esms", pa.table({"finess_et": esms, "eid": pa.array(range(len(esms)), pa.int32())})
    )
    store.register(
        "export_codes",
        pa.table({"indicateur": codes, "iid": pa.array(range(len(codes)), pa.int16())}),
    )
    projection = _TEXT_PROJECTION if as_text else _TYPED_PROJECTION
    query = _EXPORT.format(monthly=sql("monthly_indicators"), projection=projection)
    reader = store.con.sql(query, params=params).to_arrow_reader(batch_rows)
    if as_text:
        schema = pa.schema([(name, pa.string()) for name in EXPORT_COLUMNS])
    else:
        schema = TYPED_SCHEMA

    def batches():
        for batch in reader:
            columns = batch.columns
            named = [esms.take(columns[0]), columns[1], codes.take(columns[2]), *columns[3:]]
            yield pa.record_batch(
                [column.cast(field.type) for column, field in zip(named, schema, strict=True)],
                schema=schema,
            )

    return pa.RecordBatchReader.from_batches(schema, batches())
