-- overview_editors: per editor (from the reference), its client ESMS, the latest month with
-- usage data among them and when data for them was last imported.
select coalesce(e.editeur, '(non renseigné)') as editeur,
    count(distinct e.finess_et) as nb_esms,
    max(u.periode) as dernier_mois,
    max(i.imported_at) as dernier_import
from establishments e
left join usage u using (finess_et)
left join imports i on i.import_id = u.import_id
group by all
order by editeur
