-- quality_series: one row per ESMS and indicator (a series) with its first and last month with
-- data, its number of months with data and its value in its last month. The quality checks
-- read these (a few hundred thousand rows at national scale) before looking at usage rows,
-- and then only at those of the few ESMS or series that may be flagged: one pass over the
-- 11.5 M usage rows instead of a sort or a grouping of them per check.
select finess_et, indicateur,
    min(periode) as premier_mois,
    max(periode) as dernier_mois,
    count(*) as nb_mois,
    arg_max(valeur, periode) as dernier
from usage
group by finess_et, indicateur
