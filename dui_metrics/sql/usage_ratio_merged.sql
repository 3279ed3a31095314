-- usage_ratio_merged: the values usage_ratio_problems judges when a file replaces stored
-- values: the file's (incoming), plus the stored values of its (finess_et, periode) keys
-- (stored_keys, found without reading usage, see usage.StoredKeys) that it does not replace.
-- For a file holding no stored key, usage.py uses incoming alone and usage is not read.
select finess_et, periode, indicateur, valeur, _line from incoming
union all
select u.finess_et, u.periode, u.indicateur, u.valeur, null::bigint
from usage u
semi join stored_keys k on u.finess_et = k.finess_et and u.periode = k.periode
anti join incoming i
    on u.finess_et = i.finess_et and u.periode = i.periode and u.indicateur = i.indicateur
