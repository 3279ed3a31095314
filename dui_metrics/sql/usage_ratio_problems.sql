-- usage_ratio_problems: a numerator above its denominator (rate_defs) for the same ESMS and
-- month, judged on the store as it would be after this file: incoming values replace stored
-- ones. The line named is the one of the value from this file (the numerator's when both are).
-- stored_keys: the (finess_et, periode) of this file that the store already holds (found
-- without reading usage, see usage.StoredKeys); when there are none, usage is not read at all.
with stored as (
    select u.finess_et, u.periode, u.indicateur, u.valeur,
        null::bigint as _line, null::varchar as valeur_col
    from usage u
    semi join stored_keys k on u.finess_et = k.finess_et and u.periode = k.periode
    anti join incoming i
        on u.finess_et = i.finess_et and u.periode = i.periode and u.indicateur = i.indicateur
),
merged as (
    select finess_et, periode, indicateur, valeur, _line, valeur_col from incoming
    union all
    select * from stored
)
select coalesce(n._line, d._line) as _line,
    coalesce(n.valeur_col, d.valeur_col) as col,
    printf('%s (%d) supérieur à %s (%d) pour %s en %s%s', n.indicateur, n.valeur, d.indicateur,
           d.valeur, n.finess_et, strftime(n.periode, '%m/%Y'),
           case when n._line is null then printf(', %s venant du magasin', n.indicateur)
                when d._line is null then printf(', %s venant du magasin', d.indicateur)
                else '' end) as message
from rate_defs r
join merged n on n.indicateur = r.numerateur
join merged d on d.finess_et = n.finess_et and d.periode = n.periode
    and d.indicateur = r.denominateur
where n.valeur > d.valeur and (n._line is not null or d._line is not null)
