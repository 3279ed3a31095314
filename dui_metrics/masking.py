"""Small-count masking for views comparing ESMS of several OGs (issue 16): no count of 1 to 4
persons or records can be read, nor worked back from the figures shown beside it.

This module owns the rule, on plain DataFrames (no Streamlit, no store):
- `small`: counts from 1 to 4 (0 is not small: it is the VA's blocking value; missing is
  missing);
- `suppress`: which ESMS, which groups and whether the total of the view are masked, by
  primary suppression (a term 1–4 masks the pair and the rate), totals of 1–4, and
  complementary suppression (no shown total with exactly one masked member);
- `masked_cells`: a table's masked cells as text (« < 5 » for 1–4, « masqué » otherwise), for
  the screen and the files alike;
- `shown_quantiles`: quartiles over the rates left shown, hidden below `MIN_GROUP` of them.

Counts of ESMS (how many establishments, how many ready for the VA) are not masked: they
count establishments, listed in the public FINESS, not persons.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

LIMIT = 5  # counts below it, from 1, are small
SMALL = f"< {LIMIT}"  # a masked count of 1 to 4
HIDDEN = "masqué"  # any other masked figure: a rate, a pair's other term, a complement
# Medians and quartiles of fewer shown rates are hidden: under 5 ESMS a « median » is one
# establishment's rate or the mean of two, and quartiles say nothing more than the list.
MIN_GROUP = 5
NO_GROUP = "\x00"  # group key of the rows whose group is unknown (they form one group)


def small(values: pd.Series) -> pd.Series:
    """True where a count is from 1 to 4 (missing and 0 are not small)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return (numbers >= 1) & (numbers < LIMIT)


@dataclass(frozen=True)
class Suppression:
    """What a view may not show: ``esms`` the FINESS ET whose rate and both terms are
    masked; ``groups`` the keys of `suppress`'s ``group`` column whose totals (sums, weighted
    rate, median) are masked (`NO_GROUP` for the rows without a group); ``total`` whether the
    view's own total (its weighted rate) is masked."""

    esms: frozenset[str]
    groups: frozenset[Hashable]
    total: bool

    def esms_mask(self, finess: pd.Series) -> pd.Series:
        # A set look-up per value: Series.isin on pandas 3 strings took ~0.1 s per call on
        # the national store (40,000 ESMS).
        masked = self.esms
        return pd.Series(
            [code in masked for code in finess.to_numpy(dtype=object)],
            index=finess.index,
            dtype=bool,
        )

    def group_mask(self, keys: pd.Series) -> pd.Series:
        return keys.astype(object).where(keys.notna(), NO_GROUP).isin(list(self.groups))


def suppress(
    frame: pd.DataFrame,
    group: str | None = "departement",
    *,
    already: Collection[str] = (),
    num: str = "numerateur",
    den: str = "denominateur",
) -> Suppression:
    """The masks of a per-ESMS frame (columns finess_et, ``num``, ``den``, ``group``; ``den``
    missing where the ESMS has no pair) whose group totals and overall total are shown.

    Repeated until nothing changes:
    1. primary: an ESMS whose numerator or denominator is 1–4, or listed in ``already`` (the
       ESMS masked in a wider view, so that a narrower one never shows them), is masked:
       its rate and both terms;
    2. a group (or the total) whose summed numerator or denominator is 1–4 is masked;
    3. complementary, in each group whose total is shown: if exactly one member that counts
       (pair present, not 0/0) is masked, the smallest other one (by denominator, then
       numerator, then FINESS), with both terms non-zero if possible, is masked too, so that
       total − shown members is the sum of two unknowns; with no such member, the group's
       total is masked;
    4. a masked group total must not be the sum of shown members: if none of its members is
       masked, its smallest member is;
    5. the view's total has the groups as members: steps 3 and 4 with groups for members
       (a group masked as complement is the smallest shown one, by summed denominator); with
       no group to mask, the total is masked.
    Without ``group``, the members of the total are the ESMS.
    """
    # Plain object arrays: pandas' string dtype costs tenths of a second on 40,000 rows.
    data = pd.DataFrame(
        {
            "num": pd.to_numeric(frame[num], errors="coerce").to_numpy(dtype="float64"),
            "den": pd.to_numeric(frame[den], errors="coerce").to_numpy(dtype="float64"),
        }
    )
    if group is None:
        labels = frame["finess_et"].to_numpy(dtype=object)
    else:
        labels = frame[group].to_numpy(dtype=object)
        labels = np.where(pd.isna(labels), NO_GROUP, labels)
    has_pair = data["den"].notna().to_numpy()
    num0, den0 = data["num"].fillna(0).to_numpy(), data["den"].fillna(0).to_numpy()
    counts = has_pair & ((num0 > 0) | (den0 > 0))
    both = has_pair & (num0 > 0) & (den0 > 0)
    finess = frame["finess_et"].to_numpy(dtype=object)
    wider = set(already)
    kept = np.fromiter((f in wider for f in finess), dtype=bool, count=len(finess))
    masked = ((small(data["num"]) | small(data["den"])).to_numpy() & has_pair) | (kept & counts)
    codes, keys = pd.factorize(labels)
    # code → row numbers (with ESMS for groups, the total is all there is to check)
    members_of = {} if group is None else pd.Series(np.arange(len(codes))).groupby(codes).indices
    group_num = np.bincount(codes, weights=np.where(has_pair, num0, 0), minlength=len(keys))
    group_den = np.bincount(codes, weights=np.where(has_pair, den0, 0), minlength=len(keys))
    group_has = np.bincount(codes, weights=has_pair, minlength=len(keys)) > 0
    group_counts = group_has & ((group_num > 0) | (group_den > 0))
    group_order = [c for c in np.lexsort((group_num, group_den)) if group_counts[c]]
    masked_groups = np.zeros(len(keys), dtype=bool)
    if group is not None:
        masked_groups = (
            group_has & (small(pd.Series(group_num)) | small(pd.Series(group_den))).to_numpy()
        )
    total = bool(small(pd.Series([group_num.sum(), group_den.sum()])).any())
    # Smallest first: by denominator, then numerator, then FINESS.
    rank = np.empty(len(codes), dtype=np.int64)
    rank[np.lexsort((finess.astype(str), num0, den0))] = np.arange(len(codes))

    def complement(candidates: np.ndarray) -> int | None:
        """The smallest candidate (row numbers) counting in both terms, else the smallest
        counting."""
        for column in (both, counts):
            found = candidates[column[candidates]]
            if len(found):
                return int(found[np.argmin(rank[found])])
        return None

    changed = True
    while changed:
        changed = False
        if group is not None:
            per_group = np.bincount(codes, weights=masked & counts, minlength=len(keys))
            for c in np.flatnonzero((per_group == 1) & ~masked_groups):
                members = members_of[c]
                pick = complement(members[~masked[members]])
                if pick is None:
                    masked_groups[c] = True
                else:
                    masked[pick] = True
                changed = True
            for c in np.flatnonzero((per_group == 0) & masked_groups):
                pick = complement(members_of[c])
                if pick is not None:
                    masked[pick] = True
                    changed = True
            # The view's total: its members are the groups.
            n = int(masked_groups[group_order].sum()) if group_order else 0
            if not total and n == 1:
                others = [c for c in group_order if not masked_groups[c]]
                if others:
                    masked_groups[others[0]] = True
                else:
                    total = True
                changed = True
            elif total and n == 0 and group_order:
                masked_groups[group_order[0]] = True
                changed = True
        else:  # the view's total: its members are the ESMS
            n = int((masked & counts).sum())
            if not total and n == 1:
                pick = complement(np.flatnonzero(~masked))
                if pick is None:
                    total = True
                else:
                    masked[pick] = True
                changed = True
            elif total and n == 0:
                pick = complement(np.arange(len(codes)))
                if pick is not None:
                    masked[pick] = True
                    changed = True
    return Suppression(
        esms=frozenset(finess[masked].tolist()),
        groups=frozenset(keys[masked_groups]) if group is not None else frozenset(),
        total=total,
    )


def masked_cells(
    table: pd.DataFrame, rows: pd.Series, counts: Sequence[str] = (), rates: Sequence[str] = ()
) -> pd.DataFrame:
    """Copy of ``table`` where, in the ``rows`` (booleans in the table's order), the
    ``counts`` columns read « < 5 » when their value is 1–4 and « masqué » otherwise, and the
    ``rates`` columns read « masqué »: the value itself is in neither the screen nor the
    files. Those columns become object dtype."""
    out = table.copy()
    hide = rows.to_numpy(dtype=bool)
    for column in (*counts, *rates):
        values = out[column].astype(object).to_numpy(copy=True)
        is_small = small(out[column]).fillna(False).to_numpy(dtype=bool)
        if column in counts:
            values[hide & is_small] = SMALL
            values[hide & ~is_small] = HIDDEN
        else:
            values[hide] = HIDDEN
        out[column] = pd.Series(values, index=out.index, dtype=object)
    return out


def shown_quantiles(
    rates: pd.Series, hidden: pd.Series | None = None, min_group: int = MIN_GROUP
) -> dict[str, float | None]:
    """q1, mediane, q3 (linear interpolation) of the computed ``rates`` not ``hidden``; all
    None when fewer than ``min_group`` are left (``hidden`` None: no masking, any number)."""
    values = rates.dropna() if hidden is None else rates[~hidden.to_numpy(dtype=bool)].dropna()
    if not len(values) or (hidden is not None and len(values) < min_group):
        return {"q1": None, "mediane": None, "q3": None}
    return {
        "q1": float(values.quantile(0.25)),
        "mediane": float(values.quantile(0.5)),
        "q3": float(values.quantile(0.75)),
    }
