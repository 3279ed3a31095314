-- va_checks: VA checks of every ESMS (domain.md §4) with their human detail: per ESMS, one row
-- per criterion in référentiel order, then the verdict `va`; sorted by finess_et.
-- Inputs: usage, establishments; va_criteria(rang, critere, indicateur, nature, libelle,
-- suffixe_un, suffixe_plusieurs, numerateur, denominateur, nom, denominateur_nul) registered
-- by the caller, one row
-- per criterion: indicateur NULL for the deployment check, else its indicator's nature
-- ('stock', 'flux' or 'taux'), label, unit text after a count of 0 or 1 (suffixe_un) or more
-- (suffixe_plusieurs), and a rate's parts.
-- Parameters: $du, $au (first and last month of the VA window, DATE), $fenetre and $au_texte
-- (the window and the $au month as shown), $og, $commande, $editeur (VARCHAR or NULL: no
-- filter).
-- Output: finess_et, critere, statut ('ok', 'zero' or 'manquant'; for `va`: 'ok' or 'bloque'),
-- nombre (value of a count check), taux (value of a rate check; NULL when not computable),
-- detail. Texts are written as formats.py writes them: thousands separated by a narrow
-- no-break space (chr(8239)), decimal comma, months MM/YYYY and dates DD/MM/YYYY with the year
-- unpadded (as Python's strftime).
with usage_esms as (
    -- every ESMS with usage data; first and last month up to $au (NULL: none by then)
    select finess_et,
        min(periode) filter (where periode <= $au) as premier_mois,
        max(periode) filter (where periode <= $au) as dernier_mois
    from usage
    group by finess_et
),
esms as (
    -- every ESMS known to the store (as esms_dimensions), filtered
    select k.finess_et, e.date_deploiement, s.premier_mois, s.dernier_mois
    from (select finess_et from establishments union select finess_et from usage_esms) k
    left join establishments e using (finess_et)
    left join usage_esms s using (finess_et)
    where ($og is null or e.finess_ej = $og)
      and ($commande is null or e.commande = $commande)
      and ($editeur is null or e.editeur = $editeur)
),
window_values as (
    -- counts over the window: flows summed over its months with data, stocks from the last
    select u.finess_et, u.indicateur, false as est_taux,
        if(any_value(c.nature) = 'flux', sum(u.valeur), arg_max(u.valeur, u.periode))::bigint
            as nombre,
        null::bigint as numerateur, null::bigint as denominateur,
        max(u.periode) as mois
    from usage u
    join (select distinct indicateur, nature from va_criteria where nature <> 'taux') c
        on c.indicateur = u.indicateur
    where u.periode between $du and $au
      and u.finess_et in (select finess_et from esms)
    group by u.finess_et, u.indicateur
    union all
    -- rates: both parts from the last month of the window where both exist
    select n.finess_et, r.indicateur, true, null,
        arg_max(n.valeur, n.periode), arg_max(d.valeur, n.periode), max(n.periode)
    from (select distinct indicateur, numerateur, denominateur
          from va_criteria where nature = 'taux') r
    join usage n on n.indicateur = r.numerateur
    join usage d on d.finess_et = n.finess_et and d.periode = n.periode
        and d.indicateur = r.denominateur
    where n.periode between $du and $au
      and n.finess_et in (select finess_et from esms)
      -- implied by the join, but lets the scan of d skip rows
      and d.periode between $du and $au
      and d.indicateur in (select denominateur from va_criteria)
    group by n.finess_et, r.indicateur
),
facts as (
    -- per ESMS and criterion, what the window holds (mois NULL: no data for it)
    select e.finess_et, c.rang, c.critere, c.indicateur, c.nature, c.libelle, c.nom,
        c.denominateur as code_denominateur, c.denominateur_nul, e.date_deploiement,
        e.premier_mois,
        e.dernier_mois, v.nombre, v.numerateur, v.denominateur, v.mois,
        v.numerateur / nullif(v.denominateur, 0) as taux,
        replace(format('{:,}', v.nombre), ',', chr(8239))
            || if(abs(v.nombre) < 2, c.suffixe_un, c.suffixe_plusieurs) as quantite,
        strftime(v.mois, '%m/') || year(v.mois) as mois_texte,
        -- a deployment date counts from its month on
        date_trunc('month', e.date_deploiement) <= $au as deploye_avant
    from esms e
    cross join va_criteria c
    left join window_values v on v.finess_et = e.finess_et and v.indicateur = c.indicateur
        and v.est_taux = (c.nature = 'taux')
),
checks as (
    select finess_et, rang, nom,
        -- a criterion without indicator is the deployment check
        if(indicateur is null, 'deploye', critere) as critere,
        case
            when indicateur is null then
                if(deploye_avant or premier_mois is not null, 'ok', 'manquant')
            when mois is null then 'manquant'
            when nature = 'taux' then if(denominateur <> 0 and numerateur > 0, 'ok', 'zero')
            else if(nombre > 0, 'ok', 'zero')
        end as statut,
        nombre,
        taux,
        case
            when indicateur is null then case
                when deploye_avant then
                    'déployé le ' || strftime(date_deploiement, '%d/%m/') || year(date_deploiement)
                when premier_mois is not null then
                    'données d''usage depuis ' || strftime(premier_mois, '%m/') || year(premier_mois)
                when date_deploiement is not null then
                    'déploiement prévu le ' || strftime(date_deploiement, '%d/%m/')
                    || year(date_deploiement) || ', après ' || $au_texte
                else 'ni date de déploiement ni donnée d''usage jusqu''à ' || $au_texte
            end
            when mois is null then case
                when dernier_mois is null then 'aucune donnée reçue'
                when dernier_mois < $du then 'aucune donnée depuis '
                    || strftime(dernier_mois + interval 1 month, '%m/')
                    || year(dernier_mois + interval 1 month)
                else 'aucune donnée « ' || libelle || ' » sur ' || $fenetre
            end
            when nature = 'flux' then quantite || ' sur ' || $fenetre
            when nature = 'stock' then quantite || ' en ' || mois_texte
            when denominateur = 0 then
                'non calculable en ' || mois_texte || ' : ' || denominateur_nul
            -- tenths of a percent, a half rounded up, in integers: 73 / 80 is 91,3 % (as a
            -- spreadsheet shows 0.9125), never 91,2 (the binary half-even of a double)
            else replace(format('{:,}', ((2000 * numerateur + denominateur) // (2 * denominateur)) // 10), ',', chr(8239))
                || ',' || ((2000 * numerateur + denominateur) // (2 * denominateur)) % 10
                || chr(8239) || '% en ' || mois_texte || ' ('
                || replace(format('{:,}', numerateur), ',', chr(8239)) || ' / '
                || replace(format('{:,}', denominateur), ',', chr(8239)) || ')'
        end as detail
    from facts
),
verdicts as (
    select e.finess_et,
        (select count(*) from va_criteria) as rang,
        if(count(k.statut) filter (where k.statut <> 'ok') = 0, 'ok', 'bloque') as statut,
        coalesce(
            'bloqué faute de données : '
                || string_agg(k.nom, ', ' order by k.rang) filter (where k.statut = 'manquant')
                || coalesce(' ; à zéro : '
                    || string_agg(k.nom, ', ' order by k.rang) filter (where k.statut = 'zero'),
                    ''),
            'bloqué par un zéro : '
                || string_agg(k.nom, ', ' order by k.rang) filter (where k.statut = 'zero'),
            'tous les critères sont remplis'
        ) as detail
    from esms e
    left join checks k on k.finess_et = e.finess_et
    group by e.finess_et
)
select finess_et, critere, statut, nombre, taux, detail
from (
    select finess_et, rang, critere, statut, nombre, taux, detail from checks
    union all
    select finess_et, rang, 'va', statut, null, null, detail from verdicts
)
order by finess_et, rang
