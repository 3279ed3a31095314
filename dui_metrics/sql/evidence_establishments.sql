-- evidence_establishments: the reference rows of the ESMS of an OG ($og: FINESS EJ), of one
-- of its orders ($commande, NULL: all) and of a list of ESMS ($finess, NULL: all), with the
-- import that supplied each row; sorted by finess_et.
select finess_et, finess_ej, raison_sociale, og_nom, commande, categorie, departement,
    region, editeur, logiciel, date_deploiement, import_id
from establishments
where finess_ej = $og
  and ($commande is null or commande = $commande)
  and ($finess is null or list_contains($finess, finess_et))
order by finess_et
