-- trends: monthly series per ESMS and indicator (input monthly registered: finess_et, periode,
-- indicateur, valeur) with the change from the previous calendar month (NULL when that month
-- has no value), the 3-month moving average (mean of the values present in M-2..M) and the
-- first month with a non-zero value.
select finess_et, periode, indicateur, valeur,
    case when lag(periode) over w = periode - interval 1 month
         then valeur - lag(valeur) over w end as variation,
    avg(valeur) over (partition by finess_et, indicateur order by periode
                      range between interval 2 month preceding and current row)
        as moyenne_mobile_3m,
    min(case when valeur > 0 then periode end) over (partition by finess_et, indicateur)
        as premier_mois_non_nul
from monthly
window w as (partition by finess_et, indicateur order by periode)
order by finess_et, indicateur, periode
