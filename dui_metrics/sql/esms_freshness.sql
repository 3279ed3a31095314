-- esms_freshness: per ESMS with usage data, its first and last month with data, the number of
-- months with data against the months expected (from its first month to the store's latest),
-- and when its latest values were imported (and from which file).
-- Parameter: $finess (VARCHAR[] or NULL: every ESMS).
select u.finess_et,
    min(u.periode) as premier_mois,
    max(u.periode) as dernier_mois,
    count(distinct u.periode) as nb_mois,
    date_diff('month', min(u.periode), (select max(periode) from usage)) + 1 as nb_mois_attendus,
    max(i.imported_at) as dernier_import,
    arg_max(i.file_name, i.imported_at) as dernier_fichier
from usage u
join imports i on i.import_id = u.import_id
where $finess is null or list_contains($finess, u.finess_et)
group by u.finess_et
order by u.finess_et
