-- usage_wide_typed: the rows of a wide usage file, typed once per row (usage.py's fast path
-- for a file whose rows have distinct (FINESS, month)). raw_rows holds _line, finess_raw,
-- periode_raw, then one text column per count, named by its code; period_map as in
-- usage_staged. row_bad: FINESS or month unusable (usage_staged's finess_bad, periode_bad).
-- Each count is read as usage_staged reads valeur_raw, except that a cell which is not a
-- number becomes -1, so that the value checks (usage.py) see it; an empty cell stays null
-- (a missing value, dropped by the unpivot into long rows).
select t._line,
    upper(t.finess_raw) as finess_et,
    p.value as periode,
    t.finess_raw is null
        or not regexp_full_match(upper(t.finess_raw), '([0-9]{2}|2[AB])[0-9]{7}')
        or p.value is null or p.future as row_bad,
    t.* exclude (_line, finess_raw, periode_raw)
from (
    select _line, finess_raw, periode_raw,
        case when columns(* exclude (_line, finess_raw, periode_raw)) is null then null
        else coalesce(
            try_cast(columns(* exclude (_line, finess_raw, periode_raw)) as double),
            try_cast(replace(regexp_replace(columns(* exclude (_line, finess_raw, periode_raw)),
                                            '[\s\x{00A0}\x{202F}]', '', 'g'),
                             ',', '.') as double),
            -1
        ) end
    from raw_rows
) t
left join period_map p on p.raw = t.periode_raw
