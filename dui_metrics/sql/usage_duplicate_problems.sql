-- usage_duplicate_problems: the same ESMS, month and indicator twice in one file with
-- different values (identical repeats are harmless and merged by usage_incoming).
select _line, valeur_col as col,
    printf('doublon : même ESMS (%s), mois (%s) et indicateur (%s) qu''à la ligne %d, avec une '
           'autre valeur (%s au lieu de %s)', finess_et, strftime(periode, '%m/%Y'), indicateur,
           first_line, valeur_raw, first_raw) as message
from (
    select *,
        first_value(_line) over w as first_line,
        first_value(valeur_num) over w as first_num,
        first_value(valeur_raw) over w as first_raw
    from staged
    window w as (partition by finess_et, periode, indicateur order by _line, valeur_col)
)
where valeur_num <> first_num
