-- esms_dimensions: every ESMS known to the store (reference or usage data) with the
-- dimensions roll-ups group by. ESMS known only from usage data have NULL dimensions.
with known as (
    select finess_et from establishments
    union
    select distinct finess_et from usage
)
select k.finess_et, e.finess_ej, e.raison_sociale, e.og_nom, e.commande, e.editeur,
    e.logiciel, e.departement, e.region, e.categorie, e.date_deploiement
from known k
left join establishments e using (finess_et)
order by k.finess_et
