-- usage_wide_incoming: usage_incoming for a wide file that passed usage.py's fast checks on
-- its typed rows (table wide: usage_wide_typed's rows and their _key): one long row per count
-- given, with the columns and types of usage_incoming. The unpivot drops empty cells
-- (missing values).
select finess_et, periode, indicateur,
    valeur::bigint as valeur,
    _line,
    0::bigint as n_bad,
    false as conflict
from (
    unpivot (select * exclude (_key) from wide)
    on columns(* exclude (_line, finess_et, periode))
    into name indicateur value valeur
)
