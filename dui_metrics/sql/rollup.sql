-- rollup: period indicators of ESMS grouped by one reference dimension ($dimension: og,
-- commande, editeur, departement, region, categorie). Inputs registered by the caller:
-- esms_period(finess_et, indicateur, valeur, numerateur, denominateur, est_taux) and
-- esms_dims (esms_dimensions). Counts are summed across ESMS. Rates are weighted
-- (sum of numerators / sum of denominators, over the ESMS where the rate exists), with the
-- median and quartiles of the ESMS rates beside them, since a weighted rate hides the weakest.
with grouped as (
    select
        case $dimension
            when 'og' then d.finess_ej
            when 'commande' then d.commande
            when 'editeur' then d.editeur
            when 'departement' then d.departement
            when 'region' then d.region
            when 'categorie' then d.categorie
        end as groupe,
        p.*
    from esms_period p
    join esms_dims d using (finess_et)
)
select groupe, indicateur,
    case when bool_or(est_taux)
         then sum(numerateur) / nullif(sum(denominateur), 0)
         else sum(valeur) end as valeur,
    sum(numerateur) as numerateur,
    sum(denominateur) as denominateur,
    count(distinct finess_et) as nb_esms,
    quantile_cont(valeur, 0.25) filter (where est_taux) as q1,
    median(valeur) filter (where est_taux) as mediane,
    quantile_cont(valeur, 0.75) filter (where est_taux) as q3
from grouped
group by groupe, indicateur
order by groupe nulls last, indicateur
