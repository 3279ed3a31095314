-- usage_ratio_problems: one problem per pair of usage_ratio_pairs (`pairs`), judged on the
-- store as it would be after this file. The line named is the one of the value from this file
-- (the numerator's when both are); its column follows from its indicator (value_columns).
select coalesce(p.num_line, p.den_line) as _line, c.valeur_col as col,
    printf('%s (%d) supérieur à %s (%d) pour %s en %s%s', p.num, p.num_valeur, p.den,
           p.den_valeur, p.finess_et, strftime(p.periode, '%m/%Y'),
           case when p.num_line is null then printf(', %s venant du magasin', p.num)
                when p.den_line is null then printf(', %s venant du magasin', p.den)
                else '' end) as message
from pairs p
left join value_columns c
    on c.indicateur = case when p.num_line is not null then p.num else p.den end
