-- usage_span: first and last month with usage data per ESMS, up to $au (DATE).
select finess_et, min(periode) as premier_mois, max(periode) as dernier_mois
from usage
where periode <= $au
group by finess_et
