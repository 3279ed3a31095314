-- rollup_change: the change of each indicator from the month before $mois to $mois over the
-- ESMS that have a value in both months (« à périmètre constant »): an ESMS that sent no
-- export one of the two months is left out of both, so that its absence does not read as a
-- fall. Counts summed, rates weighted (sum of numerators / sum of denominators), as in
-- monthly_rollup. Input: usage; rate_defs(code, numerateur, denominateur) registered by the
-- caller. Parameters: $mois (DATE), $finess (VARCHAR[] or NULL: all ESMS).
-- Output: indicateur, variation_constante (NULL when no ESMS has both months, or a rate's
-- denominators sum to 0), nb_esms_communs.
-- Reads two months only: cheap on the national store.
with counts as materialized (
    select finess_et, periode, indicateur, valeur::double as valeur
    from usage
    where periode in ($mois, ($mois - interval 1 month)::date)
      and ($finess is null or list_contains($finess, finess_et))
),
facts as (
    select finess_et, periode, indicateur, valeur, null::double as num, null::double as den
    from counts
    union all
    select n.finess_et, n.periode, r.code, null, n.valeur, d.valeur
    from rate_defs r
    join counts n on n.indicateur = r.numerateur
    join counts d on d.finess_et = n.finess_et and d.periode = n.periode
        and d.indicateur = r.denominateur
),
common as (
    select finess_et, indicateur from facts group by finess_et, indicateur having count(*) = 2
),
sums as (
    select f.indicateur, f.periode = $mois as courant, count(*) as nb,
        coalesce(sum(f.num) / nullif(sum(f.den), 0), sum(f.valeur)) as valeur
    from facts f
    join common c using (finess_et, indicateur)
    group by all
)
select indicateur,
    max(valeur) filter (where courant) - max(valeur) filter (where not courant)
        as variation_constante,
    max(nb) filter (where courant) as nb_esms_communs
from sums
group by indicateur
order by indicateur
