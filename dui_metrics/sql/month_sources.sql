-- month_sources: where each month of one ESMS's usage comes from. A usage row counted from
-- the DUI's records belongs to an import of kind 'dossiers:<table>' or 'tddui' (FHIR); any
-- other kind is a precomputed export.
-- Parameters: $finess_et; $prefix, $tddui (the record import kinds, records_store.TABLE_PREFIX
-- and records_store.TDDUI); $dossiers, $exports, $mixte (the three labels, drilldown.FROM_*).
-- Output: periode (DATE, first of the month), source; sorted by periode.
select u.periode,
    case
        when bool_and(starts_with(i.kind, $prefix) or i.kind = $tddui) then $dossiers
        when bool_or(starts_with(i.kind, $prefix) or i.kind = $tddui) then $mixte
        else $exports
    end as source
from usage u
join imports i on i.import_id = u.import_id
where u.finess_et = $finess_et
group by u.periode
order by u.periode
