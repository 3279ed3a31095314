-- period_rates: rates per ESMS over the months $du..$au (DATE, inclusive), computed on the
-- months where both parts exist, so that numerator and denominator describe the same months:
-- stock parts come from the last such month, flow parts are summed over them.
-- NULL for a zero denominator. Inputs: rate_defs, count_kinds registered by the caller.
-- $finess (VARCHAR[] or NULL: every ESMS) restricts the ESMS.
with pairs as (
    select n.finess_et, r.code, n.periode, n.valeur as num, d.valeur as den, k.nature
    from rate_defs r
    join count_kinds k on k.code = r.numerateur
    join usage n on n.indicateur = r.numerateur and n.periode between $du and $au
        and ($finess is null or list_contains($finess, n.finess_et))
    -- the join's hash table holds the denominators' rows of the period only
    join (select * from usage where indicateur in (select denominateur from rate_defs)
        and periode between $du and $au) d on d.finess_et = n.finess_et and d.periode = n.periode
        and d.indicateur = r.denominateur
),
parts as (
    select finess_et, code,
        case when any_value(nature) = 'flux' then sum(num) else arg_max(num, periode) end::bigint
            as numerateur,
        case when any_value(nature) = 'flux' then sum(den) else arg_max(den, periode) end::bigint
            as denominateur
    from pairs
    group by finess_et, code
)
select finess_et, code as indicateur, numerateur / nullif(denominateur, 0) as valeur,
    numerateur, denominateur
from parts
