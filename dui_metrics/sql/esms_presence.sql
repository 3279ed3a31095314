-- esms_presence: every ESMS known to the store (reference or usage data), whether it is in
-- the reference and whether it has usage data.
with used as (
    select distinct finess_et from usage
)
select coalesce(e.finess_et, u.finess_et) as finess_et,
    e.finess_et is not null as dans_referentiel,
    u.finess_et is not null as avec_usage
from establishments e
full join used u on u.finess_et = e.finess_et
order by 1
