-- monthly_indicators: base counts and rates per ESMS and month.
-- Inputs: table usage; rate_defs(code, numerateur, denominateur) registered by the caller.
-- Parameters: $du, $au (DATE or NULL: no bound), $finess (VARCHAR[] or NULL: all ESMS).
-- A rate row exists when both its numerator and denominator exist for that ESMS and month;
-- a zero denominator gives valeur NULL ("non calculable"), never 0.
-- Unordered: `indicators.monthly` sorts it; the CSV export sorts on integer ids instead.
-- `counts` is not materialized: each of its three readers scans usage again, which costs
-- less than writing its 11.5 M national rows aside (2.6 s -> 1.9 s for every ESMS).
with counts as not materialized (
    select finess_et, periode, indicateur, valeur
    from usage
    where ($du is null or periode >= $du)
      and ($au is null or periode <= $au)
      and ($finess is null or list_contains($finess, finess_et))
)
select finess_et, periode, indicateur, valeur::double as valeur,
    null::bigint as numerateur, null::bigint as denominateur, false as est_taux
from counts
union all
select n.finess_et, n.periode, r.code, n.valeur / nullif(d.valeur, 0),
    n.valeur, d.valeur, true
from rate_defs r
join counts n on n.indicateur = r.numerateur
-- the join's hash table holds the denominators' rows only, not every count (-0.4 s national)
join (select * from counts where indicateur in (select denominateur from rate_defs)) d
    on d.finess_et = n.finess_et and d.periode = n.periode and d.indicateur = r.denominateur
