-- peer_esms: the ESMS of the reference sharing the FINESS category or the région of $finess
-- (itself included), and which of the two they share (NULL when that of $finess is unknown).
-- No row when $finess is not in the reference (its category and région are unknown).
select e.finess_et,
    e.categorie = own.categorie as meme_categorie,
    e.region = own.region as meme_region
from establishments e,
    (select categorie, region from establishments where finess_et = $finess) own
where e.categorie = own.categorie or e.region = own.region
order by e.finess_et
