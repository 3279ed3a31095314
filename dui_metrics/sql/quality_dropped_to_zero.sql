-- quality_dropped_to_zero: indicators whose value is 0 in an ESMS's latest month with data
-- for it although they were above 0 in at least one of the 3 months before (a feed that
-- stopped: broken interface, expired certificate...).
with ranked as (
    select finess_et, indicateur, periode, valeur,
        max(periode) over (partition by finess_et, indicateur) as dernier_mois
    from usage
)
select finess_et, indicateur, dernier_mois as periode,
    max(valeur) filter (where periode < dernier_mois) as valeur_avant
from ranked
where periode >= dernier_mois - interval 3 month
group by finess_et, indicateur, dernier_mois
having max(valeur) filter (where periode = dernier_mois) = 0
   and max(valeur) filter (where periode < dernier_mois) > 0
order by finess_et, indicateur
