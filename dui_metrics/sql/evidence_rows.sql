-- evidence_rows: the usage rows behind an evidence pack, with the import that supplied each.
-- Parameters: $finess (VARCHAR[]: the pack's ESMS), $au (DATE: the VA month; every month up
-- to it counts, since the deployment check reads the first month with data).
-- Output: finess_et, periode, indicateur, valeur, import_id; sorted.
select finess_et, periode, indicateur, valeur, import_id
from usage
where list_contains($finess, finess_et)
  and periode <= $au
order by finess_et, periode, indicateur
