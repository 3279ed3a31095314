-- period_rates: rates per ESMS over a period from the aggregated counts (period_counts,
-- registered as table period_counts): numerator / denominator, NULL for a zero denominator.
-- A rate exists for an ESMS when both its aggregated numerator and denominator exist.
select n.finess_et, r.code as indicateur,
    n.valeur / nullif(d.valeur, 0) as valeur,
    n.valeur as numerateur, d.valeur as denominateur
from rate_defs r
join period_counts n on n.indicateur = r.numerateur
join period_counts d on d.finess_et = n.finess_et and d.indicateur = r.denominateur
