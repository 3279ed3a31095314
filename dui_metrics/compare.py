"""Comparison of ESMS across a territory: one rate per ESMS over a period, its distribution,
its ranking, and its roll-up by département for a map.

This module owns:
- the filters of the comparison (région, département, catégorie, éditeur, OG) and their
  French labels (`filter_options`, `select`);
- the per-ESMS frame of one rate over a period with the ESMS's VA verdict (`esms_rates`:
  `rate_frame` and `add_verdicts`), reusing `indicators.period_rates` and `va.readiness`:
  rates are never recomputed here;
- the aggregates over that frame (`summary`, `by_departement`) and the ranking (`ranking`);
- the tables as shared in files (French headers, numbers as numbers, masked cells as text)
  and their on-screen text form;
- where the small-count masking of `masking` applies to these (`suppression`: which ESMS,
  départements and whether the view's total are masked; every function drawing or tabling a
  figure takes it as ``masks``, None when masking is off);
- which groups the distribution draws (`distribution_groups`); the figures themselves are
  `charts`'.

An ESMS known only from usage data has no reference dimensions: its département (then its
région) is read from its FINESS prefix, as ingestion does for a reference row without one.
Nothing here imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from dui_metrics import finess, formats, masking, va
from dui_metrics.access import takes_perimeter
from dui_metrics.indicators import add_months, esms_dimensions, period_rates
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store

# Filter name → column of the per-ESMS frame it applies to. Values within one filter are
# alternatives (OR); filters combine with AND; an empty filter keeps every ESMS.
FILTERS = {
    "region": "region",
    "departement": "departement",
    "categorie": "categorie",
    "editeur": "editeur",
    "og": "finess_ej",
}

# Status of the rate of an ESMS over the period.
COMPUTED, NOT_COMPUTABLE, MISSING = "calculé", "non calculable", "manquant"
MASKED = "masqué"  # a computed rate hidden by the small-count masking (`masking`)
RATE_NOTES = {
    COMPUTED: "",
    MASKED: "masqué : petits effectifs",
    NOT_COMPUTABLE: "non calculable : dénominateur nul",
    MISSING: "aucune donnée sur la période",
}

# Groupings offered for the distribution: key → (column of labels, French name).
GROUPINGS = {
    "ensemble": (None, "Ensemble"),
    "departement": ("departement_libelle", "Département"),
    "categorie": ("categorie_libelle", "Catégorie"),
    "og": ("og_libelle", "Organisme gestionnaire"),
    "editeur": ("editeur_libelle", "Éditeur"),
}

# Map colouring: key → French name.
MAP_MEASURES = {
    "taux": "Taux pondéré",
    "va": "Part des ESMS prêts pour la VA",
}

UNKNOWN = "inconnu"
NOT_IN_REFERENCE = "(absent du fichier établissements)"


# --- ESMS and filters -----------------------------------------------------------------------
def departement_label(code: str | None) -> str:
    """``"69"`` → ``"69 – Rhône"``; unknown code → the code; None → ``"inconnu"``."""
    if not code:
        return UNKNOWN
    name = finess.departement_name(code)
    return f"{code} – {name}" if name else code


def category_text(code: str | None) -> str:
    """``"500"`` → its TRE_R66 label followed by the code; None → ``"inconnue"``."""
    if not code:
        return "inconnue"
    label = finess.category_label(code)
    return f"{label} ({code})" if label else code


def _departement_order(code: str) -> str:
    # 2A and 2B sit between 19 and 21, overseas 97x after 95 (plain text order otherwise).
    return code.replace("2A", "20.1").replace("2B", "20.2")


@takes_perimeter
def esms_frame(store: Store) -> pd.DataFrame:
    """Every ESMS known to the store with its dimensions and their French labels.

    Columns: finess_et, finess_ej, raison_sociale, og_nom, editeur, categorie, departement,
    region, etablissement, og_libelle, editeur_libelle, categorie_libelle, departement_libelle,
    departement_nom, region_libelle. A missing département is read from the FINESS ET prefix,
    a missing région from the département.
    """
    esms = esms_dimensions(store)
    dep = esms["departement"].astype(object)
    missing_dep = dep.isna()
    dep[missing_dep] = esms.loc[missing_dep, "finess_et"].map(finess.departement_of_finess)
    region = esms["region"].astype(object)
    missing_region = region.isna() & dep.notna()
    region[missing_region] = dep[missing_region].map(
        lambda code: (finess.region_of_departement(code) or (None,))[0]
    )
    esms = esms.assign(departement=dep.where(dep.notna(), None), region=region)
    return esms.assign(
        etablissement=esms["raison_sociale"].fillna(NOT_IN_REFERENCE),
        og_libelle=esms["og_nom"].fillna(esms["finess_ej"]).fillna(UNKNOWN),
        editeur_libelle=esms["editeur"].fillna(UNKNOWN),
        categorie_libelle=_labels(esms["categorie"], category_text).fillna("inconnue"),
        departement_libelle=_labels(esms["departement"], departement_label).fillna(UNKNOWN),
        departement_nom=_labels(esms["departement"], finess.departement_name).fillna(UNKNOWN),
        region_libelle=_labels(esms["region"], finess.region_name).fillna(UNKNOWN),
    )[
        [
            "finess_et",
            "finess_ej",
            "raison_sociale",
            "og_nom",
            "editeur",
            "categorie",
            "departement",
            "region",
            "etablissement",
            "og_libelle",
            "editeur_libelle",
            "categorie_libelle",
            "departement_libelle",
            "departement_nom",
            "region_libelle",
        ]
    ]


def _labels(codes: pd.Series, label) -> pd.Series:
    """``label`` of each code (NaN where the code is missing), computed once per distinct
    code: a national frame repeats a hundred départements 40,000 times. Object dtype, so that
    a column of missing codes only (float NaN) can still be filled with a text."""
    distinct = codes.dropna().unique()
    return codes.map(dict(zip(distinct, map(label, distinct), strict=True))).astype(object)


@takes_perimeter
def filter_options(store: Store, ref: Referentiel) -> dict[str, dict[str, str]]:
    """For each filter of `FILTERS`, the values present in the store → French label, in
    display order: régions and OGs by name, départements by code (``"69 – Rhône"``),
    catégories by label (``"<libellé TRE_R66> (500)"``), éditeurs by name. ESMS with an
    unknown value offer nothing for that filter. Two OGs with the same name show their
    FINESS EJ."""
    esms = esms_frame(store)
    regions = {c: finess.region_name(c) or c for c in esms["region"].dropna().unique()}
    deps = sorted(esms["departement"].dropna().unique(), key=_departement_order)
    cats = {c: category_text(c) for c in esms["categorie"].dropna().unique()}
    editors = sorted(esms["editeur"].dropna().unique(), key=str.casefold)
    ogs = esms.dropna(subset=["finess_ej"]).drop_duplicates("finess_ej")
    names = ogs["og_nom"].fillna(ogs["finess_ej"])
    repeated = names.duplicated(keep=False)
    og_labels = names.where(~repeated, names + " (" + ogs["finess_ej"] + ")")
    og_options = dict(zip(ogs["finess_ej"], og_labels, strict=True))
    return {
        "region": dict(sorted(regions.items(), key=lambda kv: kv[1].casefold())),
        "departement": {c: departement_label(c) for c in deps},
        "categorie": dict(sorted(cats.items(), key=lambda kv: kv[1].casefold())),
        "editeur": {e: e for e in editors},
        "og": dict(sorted(og_options.items(), key=lambda kv: kv[1].casefold())),
    }


def default_period(months: Sequence[dt.date], va_window_months: int) -> tuple[dt.date, dt.date]:
    """The VA window ending with the latest month of ``months`` (sorted months with data),
    as (first month with data in that window, latest month)."""
    au = months[-1]
    start = add_months(au, -(va_window_months - 1))
    return next(m for m in months if m >= start), au


def departements_in_regions(
    departements: Mapping[str, str], regions: Sequence[str] | None
) -> dict[str, str]:
    """The département options (code → label, as `filter_options` gives them) lying in one of
    ``regions`` (codes), in the same order; all of them when no région is chosen."""
    if not regions:
        return dict(departements)
    wanted = set(regions)
    return {
        code: label
        for code, label in departements.items()
        if (finess.region_of_departement(code) or (None,))[0] in wanted
    }


def select(frame: pd.DataFrame, **filters: Sequence[str] | None) -> pd.DataFrame:
    """Rows of a per-ESMS frame matching the filters (names of `FILTERS`): an ESMS is kept
    when, for every non-empty filter, its value is one of the chosen ones."""
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"filtre inconnu {sorted(unknown)} ; attendus : {', '.join(FILTERS)}")
    keep = pd.Series(True, index=frame.index)
    for name, chosen in filters.items():
        if chosen:
            keep &= frame[FILTERS[name]].isin(list(chosen))
    return frame[keep].reset_index(drop=True)


# --- per-ESMS rates and aggregates --------------------------------------------------------
@takes_perimeter
def esms_rates(
    store: Store,
    ref: Referentiel,
    du: dt.date,
    au: dt.date,
    rate: str,
    **filters: Sequence[str] | None,
) -> pd.DataFrame:
    """One row per ESMS matching the filters, with its ``rate`` over the months ``du``..``au``
    (`rate_frame`) and its VA verdict at the ``au`` month (`add_verdicts` of `va.readiness`
    for the VA window ending with ``au``)."""
    frame = rate_frame(store, ref, du, au, rate, **filters)
    return add_verdicts(frame, verdicts(va.readiness_table(store, ref, au=au)))


@takes_perimeter
def rate_frame(
    store: Store,
    ref: Referentiel,
    du: dt.date,
    au: dt.date,
    rate: str,
    **filters: Sequence[str] | None,
) -> pd.DataFrame:
    """One row per ESMS matching the filters, with its ``rate`` over the months ``du``..``au``.

    The rate is the one of `indicators.period_values`, read from `indicators.period_rates`
    (numerator and denominator from the same months; NULL when the denominator is 0).
    ``statut_taux``: ``calculé``; ``non calculable`` (numerator and denominator exist,
    denominator 0); ``manquant`` (no month of the period has both).
    Columns: those of `esms_frame`, then taux (float, NaN when not computed), numerateur,
    denominateur (Int64, NA when missing), statut_taux.
    """
    if rate not in ref.rate_codes:
        raise ValueError(f"taux inconnu {rate!r} ; attendus : {', '.join(ref.rate_codes)}")
    esms = select(esms_frame(store), **filters)
    values = period_rates(store, ref, du, au)
    mine = values.loc[
        values["indicateur"] == rate, ["finess_et", "valeur", "numerateur", "denominateur"]
    ]
    frame = esms.merge(mine, on="finess_et", how="left")
    frame["taux"] = pd.to_numeric(frame.pop("valeur"), errors="coerce").astype("float64")
    frame["numerateur"] = pd.array(frame["numerateur"].tolist(), dtype="Int64")
    frame["denominateur"] = pd.array(frame["denominateur"].tolist(), dtype="Int64")
    has_parts = frame["denominateur"].notna().to_numpy()
    frame["statut_taux"] = [
        COMPUTED if pd.notna(t) else NOT_COMPUTABLE if parts else MISSING
        for t, parts in zip(frame["taux"], has_parts, strict=True)
    ]
    return frame


def verdicts(checks: va.Checks) -> dict[str, str]:
    """finess_et → VA outcome of readiness checks (any form): `va.READY`,
    `va.BLOCKED_ZERO` or `va.BLOCKED_MISSING`, as `va.outcomes` classes them."""
    outcomes = va.outcomes(checks)
    return dict(zip(outcomes.index, outcomes.to_numpy(dtype=object), strict=True))


def add_verdicts(frame: pd.DataFrame, by_esms: Mapping[str, str]) -> pd.DataFrame:
    """A per-ESMS frame with ``va``, the ESMS's outcome in ``by_esms`` (`verdicts`; an ESMS
    without one has no data: `va.BLOCKED_MISSING`), and ``pret_va`` = ``va == READY``."""
    frame = frame.assign(va=frame["finess_et"].map(by_esms).fillna(va.BLOCKED_MISSING))
    return frame.assign(pret_va=frame["va"] == va.READY)


def suppression(frame: pd.DataFrame, whole: pd.DataFrame | None = None) -> masking.Suppression:
    """`masking.suppress` of a per-ESMS frame whose département totals and overall total are
    shown. ``whole``: the frame before the filters (the user's whole perimeter); the ESMS it
    masks stay masked in the filtered view, so that narrowing a filter (a catégorie, an OG)
    never shows a member that the wider view hides."""
    wide = masking.suppress(whole) if whole is not None else None
    if (
        wide is not None
        and len(whole) == len(frame)
        and set(frame["finess_et"].to_numpy(dtype=object)).issuperset(
            whole["finess_et"].to_numpy(dtype=object)
        )
    ):
        return wide  # no filter: the view is the whole
    already = wide.esms if wide is not None else ()
    return masking.suppress(frame, "departement", already=already)


def _masked(masks: masking.Suppression, finess: pd.Series) -> pd.Series:
    """`masking.Suppression.esms_mask`, by set look-ups: Series.isin on pandas 3's Arrow
    strings walks Python lists, 0.1 s a call on 40,000 ESMS (four calls a view)."""
    esms = masks.esms
    return pd.Series(
        [f in esms for f in finess.to_numpy(dtype=object)], index=finess.index, dtype=bool
    )


@dataclass(frozen=True)
class Comparison:
    """What the Comparaison page shows for one choice of period, rate, filters and masking,
    computed once (`comparison`): the filtered per-ESMS frame (``esms``, empty when no ESMS
    matches), its masks (None when masking is off), `summary`, the ranking as shared
    (`ranking_table`), the roll-up by département (`by_departement`) and its shared table
    (`departement_table`). Shared between sessions by the page's cache: never mutate it."""

    esms: pd.DataFrame
    masks: masking.Suppression | None
    figures: dict
    ranking: pd.DataFrame
    departements: pd.DataFrame
    departement_table: pd.DataFrame


def comparison(
    whole: pd.DataFrame,
    ref: Referentiel,
    rate: str,
    masked: bool,
    **filters: Sequence[str] | None,
) -> Comparison:
    """The `Comparison` of the ESMS of ``whole`` (the per-ESMS frame of ``rate`` with its
    verdicts, `esms_rates`, over the user's whole perimeter) matching ``filters``, masked
    (`suppression`, against ``whole``) when ``masked``."""
    esms = select(whole, **filters)
    masks = suppression(esms, whole=whole) if masked and not esms.empty else None
    deps = by_departement(esms, masks)
    return Comparison(
        esms=esms,
        masks=masks,
        figures=summary(esms, masks) if not esms.empty else {},
        ranking=ranking_table(esms, ref, rate, masks),
        departements=deps,
        departement_table=departement_table(deps, ref, rate),
    )


@takes_perimeter
@takes_perimeter
def perimeter_spans_several_ogs(store: Store, ref: Referentiel) -> bool:
    """`spans_several_ogs` of every ESMS of the store (the user's perimeter)."""
    return spans_several_ogs(esms_dimensions(store))


def spans_several_ogs(frame: pd.DataFrame) -> bool:
    """Whether a per-ESMS frame holds ESMS of more than one OG (an unknown OG counts as one
    more): the views where small counts are masked by default."""
    return frame["finess_ej"].nunique(dropna=False) > 1


def summary(
    frame: pd.DataFrame, masks: masking.Suppression | None = None
) -> dict[str, float | int | None]:
    """Figures of a per-ESMS frame (`esms_rates`).

    nb_esms: rows; nb_esms_taux: ESMS where the rate exists (numerator and denominator
    present, even with a zero denominator); nb_esms_calcules: ESMS with a computed rate
    (non-zero denominator), nb_esms_sans_taux the others; nb_sans_departement: ESMS whose département is unknown (not on a
    map); numerateur, denominateur: sums over the ESMS where the rate exists;
    taux_pondere = numerateur / denominateur (None when the denominator sum is 0 or no rate
    exists); q1, mediane, q3: quartiles (linear interpolation) of the computed ESMS rates;
    nb_prets: ESMS whose VA verdict is ok; part_prets = nb_prets / nb_esms.
    With ``masks``: numerateur, denominateur and taux_pondere are None when the view's total
    is masked; the quartiles are those of the rates shown (masked ESMS left out), None below
    `masking.MIN_GROUP` of them; nb_esms_masques counts the ESMS whose rate is masked.
    """
    rated = frame[frame["denominateur"].notna()]
    computed = frame["taux"].dropna()
    num = int(rated["numerateur"].sum())
    den = int(rated["denominateur"].sum())
    ready = int(frame["pret_va"].sum())
    hidden = None if masks is None else _masked(masks, frame["finess_et"])
    quartiles = masking.shown_quantiles(frame["taux"], hidden)
    total_hidden = masks is not None and masks.total
    return {
        "nb_esms": len(frame),
        "nb_esms_taux": len(rated),
        "nb_esms_calcules": len(computed),
        "nb_esms_sans_taux": len(frame) - len(computed),
        "nb_sans_departement": int(frame["departement"].isna().sum()),
        "numerateur": None if total_hidden else num,
        "denominateur": None if total_hidden else den,
        "taux_pondere": num / den if den and not total_hidden else None,
        "taux_masque": total_hidden,
        **quartiles,
        "nb_esms_masques": 0 if hidden is None else int(hidden.sum()),
        "nb_prets": ready,
        "part_prets": ready / len(frame) if len(frame) else None,
        **_blocked_counts(frame),
    }


def _blocked_counts(frame: pd.DataFrame) -> dict[str, int | None]:
    """nb_bloques_zero, nb_bloques_donnees: ESMS of each blocked outcome (None without a
    ``va`` outcome column)."""
    if "va" not in frame:
        return {"nb_bloques_zero": None, "nb_bloques_donnees": None}
    return {
        "nb_bloques_zero": int((frame["va"] == va.BLOCKED_ZERO).sum()),
        "nb_bloques_donnees": int((frame["va"] == va.BLOCKED_MISSING).sum()),
    }


def by_departement(frame: pd.DataFrame, masks: masking.Suppression | None = None) -> pd.DataFrame:
    """A per-ESMS frame (`esms_rates`) rolled up by département, ordered by code.

    Per département: nb_esms (ESMS of the frame), nb_esms_taux (ESMS where the rate exists),
    numerateur and denominateur (sums over those ESMS), taux_pondere = numerateur /
    denominateur (NaN when the sum of denominators is 0 or no rate exists), mediane (of the
    computed ESMS rates), nb_prets (ESMS whose VA verdict is ok), part_prets = nb_prets /
    nb_esms. ESMS without a known département form the row ``departement`` = None.
    Columns: departement, departement_libelle, departement_nom, region, region_libelle and
    the figures above, then masque: whether the département's sums, weighted rate and median
    are masked (``masks``; always False without). With ``masks``, mediane is that of the
    rates shown, NaN below `masking.MIN_GROUP` of them. The figures of a masked row keep
    their values here: `departement_table` and `departement_maps` hide them.
    """
    columns = [
        "departement",
        "departement_libelle",
        "departement_nom",
        "region",
        "region_libelle",
        "nb_esms",
        "nb_esms_taux",
        "numerateur",
        "denominateur",
        "taux_pondere",
        "mediane",
        "nb_prets",
        "part_prets",
        "masque",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    shown_rate = frame["taux"]
    if masks is not None:
        shown_rate = shown_rate.mask(_masked(masks, frame["finess_et"]))
    work = frame.assign(
        taux=shown_rate,
        departement=frame["departement"].fillna(""),
        a_taux=frame["denominateur"].notna(),
        num=frame["numerateur"].fillna(0).astype("int64"),
        den=frame["denominateur"].fillna(0).astype("int64"),
    )
    grouped = work.groupby("departement", sort=False).agg(
        departement_libelle=("departement_libelle", "first"),
        departement_nom=("departement_nom", "first"),
        region=("region", "first"),
        region_libelle=("region_libelle", "first"),
        nb_esms=("finess_et", "count"),
        nb_esms_taux=("a_taux", "sum"),
        numerateur=("num", "sum"),
        denominateur=("den", "sum"),
        mediane=("taux", "median"),
        nb_shown=("taux", "count"),
        nb_prets=("pret_va", "sum"),
    )
    grouped = grouped.reset_index()
    den = grouped["denominateur"].where(grouped["denominateur"] > 0)
    grouped["taux_pondere"] = (grouped["numerateur"] / den).astype("float64")
    grouped["part_prets"] = grouped["nb_prets"] / grouped["nb_esms"]
    for col in ("nb_esms", "nb_esms_taux", "nb_prets"):
        grouped[col] = grouped[col].astype("int64")
    # A département where no ESMS has the rate has no sum: NA, not 0.
    no_rate = grouped["nb_esms_taux"] == 0
    for col in ("numerateur", "denominateur"):
        grouped[col] = grouped[col].astype("Int64").mask(no_rate)
    grouped["departement"] = grouped["departement"].replace("", None)
    if masks is None:
        grouped["masque"] = False
    else:
        grouped["mediane"] = grouped["mediane"].where(grouped["nb_shown"] >= masking.MIN_GROUP)
        grouped["masque"] = masks.group_mask(grouped["departement"]).to_numpy()
    order = grouped["departement"].fillna("~").map(_departement_order)
    return (
        grouped.assign(_o=order)
        .sort_values("_o")
        .drop(columns="_o")[columns]
        .reset_index(drop=True)
    )


def ranking(frame: pd.DataFrame, masks: masking.Suppression | None = None) -> pd.DataFrame:
    """ESMS weakest first: computed rates ascending (ties by name), then ESMS whose rate is
    masked (``masks``: statut_taux ``masqué``, by name: their place would bound their rate),
    then ESMS whose rate is not computable, then ESMS without data. ``rang`` (1 = lowest
    rate, equal rates share the lowest rank) exists for the rates shown only, ranked among
    themselves (no gap where a masked ESMS would sit)."""
    status_order = {COMPUTED: 0, MASKED: 1, NOT_COMPUTABLE: 2, MISSING: 3}
    status = frame["statut_taux"]
    if masks is not None:
        status = status.mask(_masked(masks, frame["finess_et"]), MASKED)
    shown = frame["taux"].where(status == COMPUTED)
    ranked = frame.assign(
        statut_taux=status,
        _s=status.map(status_order),
        _t=shown,
        rang=shown.rank(method="min").astype("Int64"),
    )
    return ranked.sort_values(["_s", "_t", "etablissement", "finess_et"], ignore_index=True).drop(
        columns=["_s", "_t"]
    )


# --- shared tables ------------------------------------------------------------------------
RATE_HEADER_FILE = "Taux (0 à 1)"
MISSING_TEXT = "—"  # a missing value on screen (never « None », never blank)
RATE_HEADER = "Taux"


VERDICT_HEADER = va.CRITERION_HEADERS[va.VERDICT]  # « VA »


def _verdict_words(ranked: pd.DataFrame) -> pd.Series:
    """Each ESMS's outcome in words (`va.OUTCOME_WORDS`); from ``pret_va`` alone when the
    frame has no ``va`` outcome (« prêt » or « bloqué »)."""
    if "va" in ranked:
        return ranked["va"].map(va.OUTCOME_WORDS)
    return ranked["pret_va"].map({True: va.OUTCOME_WORDS[va.READY], False: "bloqué"})


def _part_labels(ref: Referentiel, rate: str) -> tuple[str, str]:
    """French labels of the numerator and denominator counts of ``rate``."""
    ind = ref.indicator(rate)
    return ref.indicator(ind.numerator).label, ref.indicator(ind.denominator).label


def ranking_table(
    frame: pd.DataFrame, ref: Referentiel, rate: str, masks: masking.Suppression | None = None
) -> pd.DataFrame:
    """The ranking (`ranking`) as shared: French headers, rate as a fraction, counts as numbers.
    Numerator and denominator columns are named after the counts of the référentiel (e.g.
    « Dossiers actifs », « Personnes accompagnées »). The rate and its parts come right after
    the ESMS, before the long descriptive columns. With ``masks``, a masked ESMS's rate reads
    « masqué » and its terms « < 5 » (1–4) or « masqué » (`masking.masked_cells`)."""
    num_label, den_label = _part_labels(ref, rate)
    ranked = ranking(frame, masks)
    table = pd.DataFrame(
        {
            "Rang": ranked["rang"],
            "Établissement": ranked["etablissement"],
            VERDICT_HEADER: _verdict_words(ranked),
            "FINESS ET": ranked["finess_et"],
            RATE_HEADER_FILE: ranked["taux"],
            num_label: ranked["numerateur"],
            den_label: ranked["denominateur"],
            "Remarque": ranked["statut_taux"].map(RATE_NOTES),
            "Organisme gestionnaire": ranked["og_libelle"],
            "Département": ranked["departement_libelle"],
            "Catégorie": ranked["categorie_libelle"],
            "Éditeur": ranked["editeur_libelle"],
        }
    )
    if masks is not None:
        hidden = ranked["statut_taux"] == MASKED
        table = masking.masked_cells(table, hidden, [num_label, den_label], [RATE_HEADER_FILE])
    return _plain(table)


def departement_table(deps: pd.DataFrame, ref: Referentiel, rate: str) -> pd.DataFrame:
    """`by_departement` as shared: French headers, rates as fractions, counts as numbers.
    The sums of the rate's numerator and denominator are named after their counts (« Dossiers
    actifs (somme) »). In a masked row (``masque``) the sums read « < 5 » (1–4) or
    « masqué », the weighted rate and the median « masqué » (ESMS counts are not about
    persons and stay as they are)."""
    num_label, den_label = _part_labels(ref, rate)
    num_header, den_header = f"{num_label} (somme)", f"{den_label} (somme)"
    table = pd.DataFrame(
        {
            "Département": deps["departement_libelle"],
            "Région": deps["region_libelle"],
            "ESMS": deps["nb_esms"],
            "ESMS avec taux": deps["nb_esms_taux"],
            "Taux pondéré (0 à 1)": deps["taux_pondere"],
            "Médiane des ESMS (0 à 1)": deps["mediane"],
            "ESMS prêts pour la VA": deps["nb_prets"],
            "Part des ESMS prêts (0 à 1)": deps["part_prets"],
            num_header: deps["numerateur"],
            den_header: deps["denominateur"],
        }
    )
    table = masking.masked_cells(
        table,
        deps["masque"].astype(bool),
        [num_header, den_header],
        ["Taux pondéré (0 à 1)", "Médiane des ESMS (0 à 1)"],
    )
    return _plain(table)


def fraction_columns(table: pd.DataFrame) -> tuple[str, ...]:
    """Headers of a shared table's rate columns (``… (0 à 1)``): percentages in a workbook."""
    return tuple(c for c in table.columns if str(c).endswith(" (0 à 1)"))


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None in text/count columns (Excel writers and CSV want no pd.NA)."""
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.Int64Dtype):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def screen_table(table: pd.DataFrame) -> pd.DataFrame:
    """A shared table as text for the screen: columns ``… (0 à 1)`` become percentages
    (``12,5 %``, header without the suffix), counts get French thousands separators
    (``1 234``); missing values read « — » (`MISSING_TEXT`); ``< 5`` and text stay as they are."""
    out = pd.DataFrame(index=table.index)
    for col in table.columns:
        values = table[col]
        if col.endswith(" (0 à 1)"):
            out[col.removesuffix(" (0 à 1)")] = values.map(
                lambda v: formats.fr_percent(float(v)) if _is_number(v) else _text(v)
            )
        elif col in ("Rang",) or values.map(_is_number).any():
            out[col] = values.map(lambda v: formats.fr_int(v) if _is_number(v) else _text(v))
        else:
            out[col] = values.map(_text)
    return out


def _text(value: object) -> str:
    return (
        MISSING_TEXT
        if value is None or (not isinstance(value, str) and pd.isna(value))
        else str(value)
    )


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool) and pd.notna(value)


# --- what the distribution draws ----------------------------------------------------------
# Beyond this, the distribution would cost seconds to draw (a national comparison has 3,000
# OGs): the groups with the lowest medians.
MAX_GROUPS = 30


def distribution_groups(
    frame: pd.DataFrame,
    grouping: str = "ensemble",
    max_groups: int = MAX_GROUPS,
    masks: masking.Suppression | None = None,
) -> tuple[list[tuple[str, pd.DataFrame]], int]:
    """The groups of ESMS with a computed rate shown (not masked by ``masks``) that
    `charts.distribution_figure` draws, highest median first (at most ``max_groups``: those
    with the lowest medians), and how many groups have a rate shown in all."""
    column = GROUPINGS[grouping][0]
    rated = frame[frame["taux"].notna()]
    if masks is not None:
        rated = rated[~_masked(masks, rated["finess_et"])]
    if column is None:
        return [("Ensemble des ESMS", rated)], 1
    medians = rated.groupby(column)["taux"].median().sort_values(ascending=False)
    parts = dict(tuple(rated.groupby(column)))
    return [(str(name), parts[name]) for name in medians.index[-max_groups:]], len(medians)
