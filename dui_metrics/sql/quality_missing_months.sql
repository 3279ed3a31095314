-- quality_missing_months: months without any data for an ESMS, between its first month with
-- data and the latest month of the store ($au, DATE). One row per ESMS and missing month.
-- Input: quality_series registered by the caller. A usage row is unique per ESMS, month and
-- indicator, so a series with as many months as there are from the ESMS's first month to $au
-- covers all of them: only the ESMS without such a series (`gappy`) are checked month by month.
with spans as (
    select finess_et, min(premier_mois) as premier_mois, max(nb_mois) as plus_long
    from quality_series
    group by finess_et
),
gappy as (
    select finess_et, premier_mois
    from spans
    where plus_long < date_diff('month', premier_mois, $au) + 1
),
expected as (
    select g.finess_et, cast(m as date) as periode
    from gappy g,
        unnest(generate_series(g.premier_mois, $au, interval 1 month)) as t(m)
),
present as (
    select distinct u.finess_et, u.periode
    from usage u
    semi join gappy g on g.finess_et = u.finess_et
)
select e.finess_et, e.periode
from expected e
anti join present p on p.finess_et = e.finess_et and p.periode = e.periode
order by e.finess_et, e.periode
