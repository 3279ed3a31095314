-- usage_ratio_pairs: numerator above its denominator (rate_defs) for the same ESMS and month,
-- among the values of `merged` (the file's, _line set; the stored ones they do not replace,
-- _line null: usage_ratio_merged.sql). usage.py drops the pairs where both values are stored
-- (not this file's doing); that condition is left out of this join because it makes DuckDB
-- plan the join 2-3 times slower for every file, also those that replace nothing.
select n.finess_et, n.periode,
    n.indicateur as num, n.valeur as num_valeur, n._line as num_line,
    d.indicateur as den, d.valeur as den_valeur, d._line as den_line
from rate_defs r
join merged n on n.indicateur = r.numerateur
join merged d on d.finess_et = n.finess_et and d.periode = n.periode
    and d.indicateur = r.denominateur
where n.valeur > d.valeur
