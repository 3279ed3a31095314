-- records_missing: the active dossiers of one ESMS and month M that lack a projet personnalisé,
-- an événement or a qualified INS (the drill-down behind the ESMS numérique rates), read from
-- the stored records (records_* tables, schema v2). Same rules as records_counts.sql
-- (domain.md §6.1): a dossier is active in M when one of its séjours in the ESMS is open in M
-- (entry ≤ last day of M, exit NULL or ≥ first day of M) and it has a trace (counted event,
-- PP, counted DMP document) in the $activite calendar months ending with M.
-- Parameters: $finess_et, $mois (DATE, first of M), $activite, $validite_pp (months),
-- $manque ('pp' | 'evenement' | 'ins'):
--   pp         no PP dated in the $validite_pp calendar months ending with M
--   evenement  no counted event (status NULL or realise) dated in M
--   ins        INS status at the end of M (latest dated ≤ last day of M, same day: the more
--              reliable) not qualifiee, or none known
-- Output, one row per dossier, sorted by dossier_id: dossier_id, date_entree, date_sortie (the
-- séjour open in M that began last), dernier_pp, dernier_evenement (latest dated ≤ last day
-- of M; NULL: none), statut_ins, date_statut_ins (status at the end of M; NULL: none known).
with
events as (
    select dossier_id, date_evenement as jour, date_trunc('month', date_evenement)::date as mois
    from records_evenements
    where finess_et = $finess_et and coalesce(statut, '') not in ('annule', 'planifie')
),
projects as (
    select dossier_id, date_pp as jour, date_trunc('month', date_pp)::date as mois
    from records_pp
    where finess_et = $finess_et
),
documents as (
    select dossier_id, date_trunc('month', date_envoi)::date as mois
    from records_dmp
    where finess_et = $finess_et and statut in ('envoye', 'accepte')
),
traces as (
    select dossier_id, mois from events
    union select dossier_id, mois from projects
    union select dossier_id, mois from documents
),
open_dossiers as (
    select dossier_id,
        max(date_entree) as date_entree,
        -- the exit of the séjour that began last (NULL: still open; arg_max_null keeps it);
        -- two séjours beginning the same day: the one ending last
        arg_max_null(date_sortie, (date_entree, coalesce(date_sortie, date '9999-12-31')))
            as date_sortie
    from records_sejours
    where finess_et = $finess_et
      and date_entree <= last_day($mois::date)
      and (date_sortie is null or date_sortie >= $mois::date)
    group by dossier_id
),
active as (
    select o.*
    from open_dossiers o
    where exists (
        select 1 from traces t
        where t.dossier_id = o.dossier_id
          and datediff('month', t.mois, $mois::date) between 0 and $activite - 1
    )
),
last_pp as (
    select dossier_id, max(jour) as dernier_pp
    from projects where jour <= last_day($mois::date) group by dossier_id
),
last_event as (
    select dossier_id, max(jour) as dernier_evenement
    from events where jour <= last_day($mois::date) group by dossier_id
),
ins_status as (
    select dossier_id,
        arg_max(
            statut,
            strftime(date_statut, '%Y%m%d')
                || case statut when 'qualifiee' then '4' when 'validee' then '3'
                               when 'recuperee' then '2' else '1' end
        ) as statut_ins,
        max(date_statut) as date_statut_ins
    from records_ins
    where finess_et = $finess_et and date_statut <= last_day($mois::date)
    group by dossier_id
)
select a.dossier_id, a.date_entree, a.date_sortie, p.dernier_pp, e.dernier_evenement,
    i.statut_ins, i.date_statut_ins
from active a
left join last_pp p using (dossier_id)
left join last_event e using (dossier_id)
left join ins_status i using (dossier_id)
where case $manque
    when 'pp' then not exists (
        select 1 from projects q
        where q.dossier_id = a.dossier_id
          and datediff('month', q.mois, $mois::date) between 0 and $validite_pp - 1
    )
    when 'evenement' then not exists (
        select 1 from events q where q.dossier_id = a.dossier_id and q.mois = $mois::date
    )
    when 'ins' then coalesce(i.statut_ins, '') <> 'qualifiee'
end
order by a.dossier_id
