-- usage_staged: typed cells of one usage file, with one flag per kind of bad cell, from
-- raw_cells (text), period_map and indicator_map (distinct texts parsed in Python, with the
-- "future month" and "is a rate" answers). usage_incoming reads it once; the problem
-- queries read it again only for a file that has problems. An empty value is a missing value:
-- the row is dropped here, it is not an error. Thousands spaces and a decimal comma are
-- accepted (the plain cast is tried first: most values are plain integers).
select *,
    finess_bad or periode_bad or indicateur_bad or valeur_bad as bad
from (
    select *,
        finess_raw is null
            or not regexp_full_match(finess_et, '([0-9]{2}|2[AB])[0-9]{7}') as finess_bad,
        periode is null or periode_future as periode_bad,
        indicateur is null or indicateur_is_rate as indicateur_bad,
        (valeur_num is null or not isfinite(valeur_num) or valeur_num < 0
            or valeur_num <> floor(valeur_num) or valeur_num > 1e12)
            -- a rate given as input is reported as such; its value is beside the point
            and not coalesce(indicateur_is_rate, false) as valeur_bad
    from (
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
            p.future as periode_future,
            i.value as indicateur,
            i.is_rate as indicateur_is_rate,
            coalesce(
                try_cast(c.valeur_raw as double),
                try_cast(replace(regexp_replace(c.valeur_raw, '[\s\x{00A0}\x{202F}]', '', 'g'),
                                 ',', '.') as double)
            ) as valeur_num
        from raw_cells c
        left join period_map p on p.raw = c.periode_raw
        left join indicator_map i on i.raw = c.indicateur_raw
        where c.valeur_raw is not null
    )
)
