-- records_scope_extract: the ESMS of one extract and its coverage (domain.md §6.1), from the
-- rec_* relations of that extract alone (see records_counts.sql for their columns).
-- Coverage: the first and last month in which the extract holds an activity (counted event,
-- counted DMP document, MSSanté message); NULL when it holds none.
-- Parameters: $dmp, $mss (BOOLEAN: the extract carries DMP documents, MSSanté messages).
-- Output: finess_et, debut, fin, dmp, mss: the rec_scope of records_counts.sql.
with
activity as (
    select date_evenement as day from rec_evenements
    where coalesce(statut, '') not in ('annule', 'planifie')
    union all
    select date_envoi from rec_dmp where statut in ('envoye', 'accepte')
    union all
    select date_message from rec_mss
),
bounds as (
    select
        date_trunc('month', min(day))::date as debut,
        date_trunc('month', max(day))::date as fin
    from activity
),
esms as (
    select finess_et from rec_sejours
    union select finess_et from rec_ins
    union select finess_et from rec_pp
    union select finess_et from rec_evenements
    union select finess_et from rec_dmp
    union select finess_et from rec_mss
)
select e.finess_et, b.debut, b.fin, $dmp::boolean as dmp, $mss::boolean as mss
from esms e
cross join bounds b
order by e.finess_et
