-- usage_incoming: the checked rows of a usage file, one per (finess_et, periode, indicateur),
-- with the first line that gave it.
select finess_et, periode, indicateur,
    any_value(valeur_num)::bigint as valeur,
    min(_line) as _line,
    arg_min(valeur_col, _line) as valeur_col
from staged
group by finess_et, periode, indicateur
