-- overview_editors: per editor (from the reference), its client ESMS, the latest month with
-- usage data among them and when data for them was last imported.
-- Usage rows are first reduced to one row per editor and import (a few thousand), so that the
-- national usage table (11.5 M rows) is scanned once and never joined to the imports row by row.
with clients as (
    select coalesce(editeur, '(non renseigné)') as editeur, count(distinct finess_et) as nb_esms
    from establishments
    group by 1
),
received as (
    select coalesce(e.editeur, '(non renseigné)') as editeur, u.import_id,
        max(u.periode) as dernier_mois
    from usage u
    join establishments e using (finess_et)
    group by 1, 2
)
select c.editeur, c.nb_esms, max(r.dernier_mois) as dernier_mois,
    max(i.imported_at) as dernier_import
from clients c
left join received r using (editeur)
left join imports i on i.import_id = r.import_id
group by c.editeur, c.nb_esms
order by c.editeur
