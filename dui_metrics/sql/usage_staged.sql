-- usage_staged: typed cells of one usage file, from raw_cells (text), period_map and
-- indicator_map (distinct texts parsed in Python). An empty value is a missing value: the row
-- is dropped here, it is not an error. Thousands spaces and a decimal comma are accepted.
select
    c._line,
    c.valeur_col,
    c.indicateur_col,
    c.finess_raw,
    c.periode_raw,
    c.indicateur_raw,
    c.valeur_raw,
    upper(c.finess_raw) as finess_et,
    p.value as periode,
    i.value as indicateur,
    try_cast(
        replace(regexp_replace(c.valeur_raw, '[\s\x{00A0}\x{202F}]', '', 'g'), ',', '.') as double
    ) as valeur_num
from raw_cells c
left join period_map p on p.raw = c.periode_raw
left join indicator_map i on i.raw = c.indicateur_raw
where c.valeur_raw is not null
