-- esms_names: raison sociale of the ESMS of $finess (VARCHAR[]) found in the reference.
select finess_et, raison_sociale
from establishments
where list_contains($finess, finess_et)
