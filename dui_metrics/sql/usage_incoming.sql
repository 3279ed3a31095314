-- usage_incoming: the rows of a usage file, one per (finess_et, periode, indicateur), with the
-- first line that gave it, in one pass over usage_staged. Also counts what the checks need:
-- bad cells (n_bad) and keys given twice with different values (conflict). Identical repeats
-- are harmless and merged. valeur is only meaningful when the file has no bad cell. The
-- column a value came from follows from its indicator (value_columns), not stored here.
select finess_et, periode, indicateur,
    try_cast(min(valeur_num) as bigint) as valeur,
    min(_line) as _line,
    count(*) filter (where bad) as n_bad,
    min(valeur_num) is distinct from max(valeur_num) as conflict
from staged
group by finess_et, periode, indicateur
