-- records_counts: the eight base counts per ESMS and month, counted from pseudonymised records
-- (domain.md §6.1). Inputs registered by the caller (`records.count_base`,
-- `records_store.recount`), dates already the local dates written in the files, statuses
-- already canonical:
--   rec_sejours(finess_et, dossier_id, date_entree, date_sortie)        date_sortie NULL: open
--   rec_ins(finess_et, dossier_id, statut, date_statut)     statut provisoire|recuperee|validee|qualifiee
--   rec_pp(finess_et, dossier_id, date_pp)
--   rec_evenements(finess_et, dossier_id, date_evenement, statut)   statut annule|planifie don't count
--   rec_dmp(finess_et, dossier_id, date_envoi, statut)        statut envoye|accepte count
--   rec_mss(finess_et, date_message, sens)                         sens envoye|recu
--   rec_scope(finess_et, debut, fin, dmp, mss): the ESMS to count, each with the coverage of
--     its extract (first and last month with an activity: counted event, counted DMP
--     document, MSSanté message) and whether that extract carried DMP documents and MSSanté
--     messages (without, no such row: missing, never zero).
-- Parameters: $activite (activity window, months), $validite_pp (PP validity, months).
-- Each ESMS gets every count for every coverage month from its first month with an open
-- séjour or an activity (0 where nothing happened); before that, and outside the coverage,
-- no row.
-- Output: finess_et, periode (DATE, first of the month), indicateur, valeur (BIGINT).
with
events as (
    -- one row per dossier and month with a counted event: all the rules below ask only
    -- whether there is one (10 M events → far fewer rows for every join)
    select distinct finess_et, dossier_id, date_trunc('month', date_evenement)::date as mois
    from rec_evenements
    where coalesce(statut, '') not in ('annule', 'planifie')
),
documents as (
    select finess_et, dossier_id, date_trunc('month', date_envoi)::date as mois
    from rec_dmp
    where statut in ('envoye', 'accepte')
),
projects as (
    select finess_et, dossier_id, date_trunc('month', date_pp)::date as mois from rec_pp
),
messages as (
    select finess_et, sens, date_trunc('month', date_message)::date as mois from rec_mss
),
traces as (
    -- what makes a dossier active: an event, a PP, a DMP document that counts
    select finess_et, dossier_id, mois from events
    union select finess_et, dossier_id, mois from projects
    union select finess_et, dossier_id, mois from documents
),
activity as (
    select finess_et, mois from events
    union select finess_et, mois from documents
    union select finess_et, mois from messages
),
months as (
    select finess_et, unnest(generate_series(debut, fin, interval 1 month))::date as mois
    from rec_scope
    where debut is not null and fin is not null
),
open_dossiers as (
    -- a séjour is open in M when it starts on or before M's last day and ends (if it ends)
    -- on or after M's first day
    select distinct s.finess_et, s.dossier_id, m.mois
    from rec_sejours s
    join months m
        on m.finess_et = s.finess_et
       and s.date_entree <= last_day(m.mois)
       and (s.date_sortie is null or s.date_sortie >= m.mois)
),
esms_months as (
    select m.finess_et, m.mois
    from (
        select finess_et, min(mois) as debut
        from (select finess_et, mois from open_dossiers union all select finess_et, mois from activity)
        group by finess_et
    ) e
    join months m on m.finess_et = e.finess_et and m.mois >= e.debut
),
active_months as (
    -- the months each trace keeps its dossier active: its own and the $activite - 1 after
    -- (an equality join below, cheaper than a range join on months)
    select distinct t.finess_et, t.dossier_id, (t.mois + to_months(k.k))::date as mois
    from traces t
    cross join range($activite) k(k)
),
active as (
    select o.finess_et, o.dossier_id, o.mois
    from open_dossiers o
    semi join active_months a
        on a.finess_et = o.finess_et and a.dossier_id = o.dossier_id and a.mois = o.mois
),
ins_status as (
    -- the status at the end of M: the latest dated on or before M's last day (on the same
    -- day, the more reliable); none known: not qualified
    select a.finess_et, a.dossier_id, a.mois,
        arg_max(
            i.statut,
            strftime(i.date_statut, '%Y%m%d')
                || case i.statut when 'qualifiee' then '4' when 'validee' then '3'
                                 when 'recuperee' then '2' else '1' end
        ) as statut
    from active a
    join rec_ins i
        on i.finess_et = a.finess_et and i.dossier_id = a.dossier_id
       and i.date_statut <= last_day(a.mois)
    group by all
),
counts as (
    select finess_et, mois, 'personnes_accompagnees' as indicateur, count(*) as valeur
    from open_dossiers group by all
    union all
    select finess_et, mois, 'dossiers_actifs', count(*) from active group by all
    union all
    select a.finess_et, a.mois, 'dossiers_actifs_avec_pp', count(*)
    from active a
    where exists (
        select 1 from projects p
        where p.finess_et = a.finess_et and p.dossier_id = a.dossier_id
          and datediff('month', p.mois, a.mois) between 0 and $validite_pp - 1
    )
    group by all
    union all
    select a.finess_et, a.mois, 'dossiers_actifs_avec_evenement', count(*)
    from active a
    where exists (
        select 1 from events e
        where e.finess_et = a.finess_et and e.dossier_id = a.dossier_id and e.mois = a.mois
    )
    group by all
    union all
    select finess_et, mois, 'ins_qualifiees', count(*)
    from ins_status where statut = 'qualifiee' group by all
    union all
    select finess_et, mois, 'dmp_documents_envoyes', count(*) from documents group by all
    union all
    select finess_et, mois, if(sens = 'envoye', 'mss_messages_envoyes', 'mss_messages_recus'),
        count(*)
    from messages group by all
),
indicators as (
    select * from (values
        ('personnes_accompagnees', ''), ('dossiers_actifs', ''),
        ('dossiers_actifs_avec_pp', ''), ('dossiers_actifs_avec_evenement', ''),
        ('ins_qualifiees', ''), ('dmp_documents_envoyes', 'dmp'),
        ('mss_messages_envoyes', 'mss'), ('mss_messages_recus', 'mss')
    ) t(indicateur, needs)
)
select g.finess_et, g.mois as periode, i.indicateur, coalesce(c.valeur, 0)::bigint as valeur
from esms_months g
join rec_scope s on s.finess_et = g.finess_et
join indicators i
    on i.needs = '' or (i.needs = 'dmp' and s.dmp) or (i.needs = 'mss' and s.mss)
left join counts c
    on c.finess_et = g.finess_et and c.mois = g.mois and c.indicateur = i.indicateur
order by g.finess_et, g.mois, i.indicateur
