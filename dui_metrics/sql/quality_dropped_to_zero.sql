-- quality_dropped_to_zero: indicators whose value is 0 in an ESMS's latest month with data
-- for it although they were above 0 in at least one of the 3 months before (a feed that
-- stopped: broken interface, expired certificate...).
-- Input: quality_series registered by the caller; only the series ending with a 0 are read
-- back from usage.
with ending_with_zero as (
    select finess_et, indicateur, dernier_mois
    from quality_series
    where dernier = 0
)
select u.finess_et, u.indicateur, z.dernier_mois as periode, max(u.valeur) as valeur_avant
from usage u
join ending_with_zero z on z.finess_et = u.finess_et and z.indicateur = u.indicateur
where u.periode >= z.dernier_mois - interval 3 month
  and u.periode < z.dernier_mois
group by u.finess_et, u.indicateur, z.dernier_mois
having max(u.valeur) > 0
order by u.finess_et, u.indicateur
