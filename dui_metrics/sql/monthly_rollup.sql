-- monthly_rollup: indicators per month for a set of ESMS taken together (an OG, an order, an
-- editor...). Input: table usage; rate_defs(code, numerateur, denominateur) registered by the
-- caller. Parameters: $du, $au (DATE or NULL: no bound), $finess (VARCHAR[] or NULL: all ESMS).
-- Counts are summed across ESMS; rates are weighted: sum of numerators / sum of denominators
-- over the ESMS where the rate exists that month (numerator and denominator both present, as in
-- monthly_indicators; NULL for a zero denominator). nb_esms: ESMS with a value.
-- variation: change from the previous calendar month, NULL when that month has no value
-- (the same rule as trends.sql).
-- Aggregated here, never row by row in Python: the national store has 11.5 M usage rows.
-- `pairs` is materialized on purpose: left inline, DuckDB 2.0 pushes a partial aggregate
-- below the self-join (grouping both sides by ESMS and month first), about 10x slower.
-- Its join builds its hash table on the denominators' rows only (`dens`), not on every
-- count: 1.8 s -> 1.3 s for the national roll-up.
-- `counts` is not materialized: each of its three readers scans usage again (0.15 s), which
-- costs less than writing its 11.5 M national rows aside (0.9 s): 1.5 s -> 1.1 s.
with counts as not materialized (
    select finess_et, periode, indicateur, valeur
    from usage
    where ($du is null or periode >= $du)
      and ($au is null or periode <= $au)
      and ($finess is null or list_contains($finess, finess_et))
),
dens as (
    select * from counts where indicateur in (select denominateur from rate_defs)
),
pairs as materialized (
    select n.periode, r.code, n.valeur as numerateur, d.valeur as denominateur
    from rate_defs r
    join counts n on n.indicateur = r.numerateur
    join dens d on d.finess_et = n.finess_et and d.periode = n.periode
        and d.indicateur = r.denominateur
),
grouped as (
    select periode, indicateur, sum(valeur)::double as valeur,
        null::bigint as numerateur, null::bigint as denominateur, count(*) as nb_esms
    from counts
    group by periode, indicateur
    union all
    select periode, code, sum(numerateur) / nullif(sum(denominateur), 0),
        sum(numerateur)::bigint, sum(denominateur)::bigint, count(*)
    from pairs
    group by periode, code
)
select *,
    case when lag(periode) over w = periode - interval 1 month
         then valeur - lag(valeur) over w end as variation
from grouped
window w as (partition by indicateur order by periode)
order by indicateur, periode
