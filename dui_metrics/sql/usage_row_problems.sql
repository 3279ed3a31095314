-- usage_row_problems: one row (_line, col, message) per bad cell of the staged usage file
-- (the flags come from usage_staged). Parameters: $finess_col, $periode_col (headers as
-- written), $current_month_text (MM/AAAA), $counts (known indicator codes).
select _line, $finess_col as col,
    case when finess_raw is null then 'FINESS manquant'
    -- finess.invalid_message: 8 digits were padded by ingest._pad_lost_zeros
    when length(finess_raw) = 8 and not regexp_full_match(finess_raw, '[0-9]{8}')
    then printf('FINESS invalide « %s » : 8 caractères dont au moins un n''est pas un chiffre ; '
                'un FINESS en compte 9 (chiffres, 2A ou 2B pour la Corse) : recopiez-le depuis '
                'le répertoire FINESS (finess.sante.gouv.fr)', finess_raw)
    else printf('FINESS invalide « %s » : 9 caractères attendus (%d lus), chiffres, 2A ou 2B '
                'pour la Corse', finess_raw, length(finess_raw)) end as message
from staged
where finess_bad
union all
select _line, $periode_col,
    case when periode_raw is null then 'période manquante'
    -- the forms of usage.MONTH_FORMATS
    else printf('période illisible « %s » : formats acceptés AAAA-MM, MM/AAAA, MM-AAAA, '
                'AAAA/MM, AAAA-MM-JJ, JJ/MM/AAAA, mars-25, mars 2025', periode_raw) end
from staged
where periode is null
union all
select _line, $periode_col,
    printf('mois %s postérieur au mois en cours (%s)', strftime(periode, '%m/%Y'),
           $current_month_text)
from staged
where periode_future
union all
select _line, indicateur_col,
    case
        when indicateur_raw is null then 'indicateur manquant'
        when indicateur is null then printf('indicateur inconnu « %s » ; indicateurs connus : %s',
                                            indicateur_raw, array_to_string($counts, ', '))
        else printf('%s est un taux : les taux sont calculés, pas importés', indicateur)
    end
from staged
where indicateur_bad
union all
select _line, valeur_col,
    case
        when valeur_num is null or not isfinite(valeur_num)
            then printf('valeur non numérique « %s » pour %s', valeur_raw,
                        coalesce(indicateur, indicateur_raw))
        when valeur_num < 0
            then printf('valeur négative (%s) pour %s', valeur_raw,
                        coalesce(indicateur, indicateur_raw))
        when valeur_num <> floor(valeur_num)
            then printf('valeur non entière (%s) pour %s : un comptage est un nombre entier',
                        valeur_raw, coalesce(indicateur, indicateur_raw))
        else printf('valeur hors limites (%s) pour %s', valeur_raw,
                    coalesce(indicateur, indicateur_raw))
    end
from staged
where valeur_bad
