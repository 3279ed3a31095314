-- monthly_rollup: indicators per month for a set of ESMS taken together (an OG, an order, an
-- editor...). Input: monthly (rows of monthly_indicators for those ESMS). Counts are summed
-- across ESMS; rates are weighted: sum of numerators / sum of denominators over the ESMS where
-- the rate exists that month (NULL for a zero denominator). nb_esms: ESMS with a value.
-- variation: change from the previous calendar month, NULL when that month has no value
-- (the same rule as trends.sql).
with grouped as (
    select periode, indicateur,
        case when bool_or(est_taux)
             then sum(numerateur) / nullif(sum(denominateur), 0)
             else sum(valeur) end as valeur,
        sum(numerateur)::bigint as numerateur,
        sum(denominateur)::bigint as denominateur,
        count(*) as nb_esms
    from monthly
    group by periode, indicateur
)
select *,
    case when lag(periode) over w = periode - interval 1 month
         then valeur - lag(valeur) over w end as variation
from grouped
window w as (partition by indicateur order by periode)
order by indicateur, periode
