-- va_window: per ESMS and indicator over the VA window (input window_rows: rows of
-- monthly_indicators restricted to the window): months with a row, sum of the values (flow
-- checks), and the last month with a row with its value, numerator and denominator (stock and
-- rate checks). A struct keeps a NULL rate (zero denominator) instead of skipping that month.
select finess_et, indicateur,
    count(*) as nb_mois,
    sum(valeur) as somme,
    max(periode) as dernier_mois,
    arg_max({'v': valeur, 'n': numerateur, 'd': denominateur}, periode) as dernier
from window_rows
group by finess_et, indicateur
