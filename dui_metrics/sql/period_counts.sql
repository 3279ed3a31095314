-- period_counts: base counts per ESMS over the months $du..$au (DATE, inclusive).
-- Flows (count_kinds.nature = 'flux') are summed over the months with data; stocks take the
-- value of the last month with data. nb_mois counts the months with data.
-- Input: count_kinds(code, nature) registered by the caller. $finess (VARCHAR[] or NULL: every
-- ESMS) restricts the ESMS.
select u.finess_et, u.indicateur,
    case when any_value(k.nature) = 'flux' then sum(u.valeur)
         else arg_max(u.valeur, u.periode) end::bigint as valeur,
    max(u.periode) as dernier_mois,
    count(*) as nb_mois
from usage u
join count_kinds k on k.code = u.indicateur
where u.periode between $du and $au
  and ($finess is null or list_contains($finess, u.finess_et))
group by u.finess_et, u.indicateur
