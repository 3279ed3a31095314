-- quality_missing_months: months without any data for an ESMS, between its first month with
-- data and the latest month of the store ($au, DATE). One row per ESMS and missing month.
with spans as (
    select finess_et, min(periode) as premier_mois from usage group by finess_et
),
expected as (
    select s.finess_et, cast(m as date) as periode
    from spans s,
        unnest(generate_series(s.premier_mois, $au, interval 1 month)) as t(m)
),
present as (select distinct finess_et, periode from usage)
select e.finess_et, e.periode
from expected e
anti join present p on p.finess_et = e.finess_et and p.periode = e.periode
order by e.finess_et, e.periode
