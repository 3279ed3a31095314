-- usage_ratio_problems: one problem per pair of usage_ratio_pairs (`pairs`), judged on the
-- store as it would be after this file. The line named is the one of the value from this file
-- (the numerator's when both are); its column follows from its indicator (value_columns).
-- Indicators are named by their French labels (indicator_labels).
select coalesce(p.num_line, p.den_line) as _line, c.valeur_col as col,
    printf('« %s » (%d) supérieur à « %s » (%d) pour %s en %s%s', n.libelle, p.num_valeur,
           d.libelle, p.den_valeur, p.finess_et, strftime(p.periode, '%m/%Y'),
           case when p.num_line is null then printf(', « %s » venant du magasin', n.libelle)
                when p.den_line is null then printf(', « %s » venant du magasin', d.libelle)
                else '' end) as message
from pairs p
join indicator_labels n on n.indicateur = p.num
join indicator_labels d on d.indicateur = p.den
left join value_columns c
    on c.indicateur = case when p.num_line is not null then p.num else p.den end
