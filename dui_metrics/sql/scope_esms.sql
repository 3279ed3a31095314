-- scope_esms: the ESMS of an OG ($og: FINESS EJ) and/or of an order ($commande), from the
-- reference (NULL parameter: no condition on it), sorted.
select finess_et
from establishments
where ($og is null or finess_ej = $og)
  and ($commande is null or commande = $commande)
order by finess_et
