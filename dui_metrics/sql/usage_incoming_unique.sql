-- usage_incoming_unique: usage_incoming for a wide file whose rows all have distinct
-- (finess_et, periode) (usage.py checks it on the file's rows, 1/8 of its cells): no key can
-- come twice, so the cells are the rows, without the GROUP BY (40 % of the time of a wide file).
select finess_et, periode, indicateur,
    try_cast(valeur_num as bigint) as valeur,
    _line,
    bad::bigint as n_bad,
    false as conflict
from staged
