"""Comparaison: how the ESMS of a territory compare on one rate, and which ones lag behind."""

import streamlit as st

from dui_metrics import charts, compare, ui, va
from dui_metrics.formats import fr_int, fr_percent, month_range, month_short

ui.page_title(
    "Comparaison des établissements",
    "Comment se situent les ESMS d'un territoire sur un taux d'usage ? Lesquels sont en retard ?",
)

ref = ui.referentiel()
months = ui.months()
options = ui.cached(compare.filter_options)()

ui.stop_unless(
    bool(months),
    "Aucune donnée d'usage dans le magasin : il n'y a rien à comparer. Importez les exports "
    "d'usage des éditeurs (et le fichier des établissements) depuis la page Données.",
)


FILTERS = {  # filter → (label, placeholder); values are codes, shown with French labels
    "region": ("Région", "Toutes les régions"),
    "departement": ("Département", "Tous les départements"),
    "categorie": ("Catégorie d'établissement", "Toutes les catégories"),
    "editeur": ("Éditeur", "Tous les éditeurs"),
    "og": ("Organisme gestionnaire", "Tous les organismes"),
}


def url_key(name: str) -> str:
    # The plural (« regions », « ogs »…): a key is one widget across pages (the URL's too),
    # and Organisme gestionnaire and Éditeur have single-choice « og », « editeur ».
    return f"{name}s"


# --- filters (all in the URL, to share a view) ---------------------------------------------
slots = st.columns(3) + st.columns(3)
chosen: dict[str, list[str]] = {}
for (name, (label, placeholder)), slot in zip(FILTERS.items(), slots, strict=False):
    choices = options[name]
    if name == "departement":  # only the départements of the régions chosen
        choices = compare.departements_in_regions(choices, chosen["region"])
        # A département chosen before that falls outside is dropped, silently.
        before = st.session_state.get(url_key(name))
        if before and any(code not in choices for code in before):
            st.session_state[url_key(name)] = [code for code in before if code in choices]
    chosen[name] = slot.multiselect(
        label,
        list(choices),
        format_func=lambda code, labels=choices: labels.get(code, code),
        key=url_key(name),
        bind="query-params",
        placeholder=placeholder,
        select_all=False,  # « Select all » (English) would mean what an empty filter means
    )
rate_labels = {r.code: r.label for r in ref.rates}
rate = slots[5].selectbox(
    "Taux comparé",
    list(rate_labels),
    format_func=rate_labels.get,
    key="taux",
    placeholder="Choisir…",
    bind="query-params",
)

bottom = st.columns([2, 1])
if len(months) > 1:
    du, au = bottom[0].select_slider(
        "Période",
        months,
        value=compare.default_period(months, ref.va_window_months),
        format_func=month_short,
        key="periode",
        bind="query-params",
        help=(
            "Par défaut, la fenêtre de la VA : les "
            f"{ref.va_window_months} mois se terminant par le dernier mois reçu. Sur plusieurs "
            "mois, un taux prend le dernier mois où numérateur et dénominateur existent."
        ),
    )
else:
    du = au = months[0]
    bottom[0].caption(f"Période : {month_short(au)} (seul mois de données du magasin).")
# Masking is on whenever the perimeter holds ESMS of several OGs (whatever the filters: a
# narrower filter must not show what the wider view hides), off only by the user's explicit
# choice in this session. Not in the URL: a shared link always opens masked.
several_ogs = ui.cached(compare.perimeter_spans_several_ogs)()
mask = bottom[1].toggle(
    "Masquer les petits effectifs (1 à 4 → « < 5 »)",
    value=several_ogs,
    key="petits_effectifs",
    disabled=not several_ogs,
    help=(
        "Un effectif de 1 à 4 s'affiche « < 5 » ; le taux et l'autre terme de la paire sont "
        "masqués, et d'autres chiffres au besoin pour qu'aucun ne se déduise des totaux. Les "
        "médianes et quartiles de moins de 5 taux affichés ne sont pas montrés. Les nombres "
        "d'établissements (ESMS comparés, prêts pour la VA) restent affichés : ils comptent "
        "des établissements, publics dans FINESS, pas des personnes (règle complète : page "
        "Méthode). S'applique aux tableaux, au graphique, à la carte et aux téléchargements. "
        "Le désactiver ne vaut que pour vous et pour cette session : un lien partagé s'ouvre "
        "toujours masqué."
        if several_ogs
        else "Votre périmètre ne compte qu'un organisme gestionnaire : rien n'est masqué."
    ),
)
mask = mask and several_ogs


# --- one computation per choice, shared by the sessions of the same perimeter ----------------
# Everything below depends only on these arguments and on the store version and perimeter
# (``view``): computed once, then every rerun (a tab, a radio, another visitor) reuses it.
# The results are shared without a copy (st.cache_resource): never mutate them.
view = (str(ui.store_path()), ui.store_version(), ui.perimeter().key, du, au, rate)
filters = tuple((name, tuple(values)) for name, values in chosen.items())


def esms_rates():
    """The perimeter's ESMS with their rate and VA verdict (the verdicts shared with the
    other pages)."""
    return compare.add_verdicts(ui.cached(compare.rate_frame)(du, au, rate), ui.verdicts(au=au))


@st.cache_resource(show_spinner=False, max_entries=64)
def comparison(_whole, view: tuple, mask: bool, filters: tuple) -> compare.Comparison:
    return compare.comparison(_whole(), ui.referentiel(), view[-1], mask, **dict(filters))


@st.cache_resource(show_spinner=False, max_entries=64)
def distribution(_shown, view, mask, filters, grouping: str, label: str, target):
    fig = charts.distribution_figure(_shown.esms, label, grouping, target, masks=_shown.masks)
    return fig, compare.distribution_groups(_shown.esms, grouping, masks=_shown.masks)


@st.cache_resource(show_spinner=False, max_entries=64)
def maps(_shown, view, mask, filters, measure: str):
    return charts.departement_maps(_shown.departements, measure)


shown = comparison(esms_rates, view, mask, filters)
esms = shown.esms
if esms.empty:
    st.warning(
        "Aucun ESMS ne correspond à ces filtres. Élargissez-les : retirez une région, un "
        "département, une catégorie, un éditeur ou un organisme, ou videz un filtre pour "
        "tout reprendre."
    )
    st.stop()

# --- headline figures ---------------------------------------------------------------------
rate_label = rate_labels[rate]
figures = shown.figures
a, b, c, d = st.columns(4)
a.metric(
    "ESMS comparés",
    fr_int(figures["nb_esms"]),
    help=f"dont {fr_int(figures['nb_esms_taux'])} avec un taux sur la période",
)
b.metric(
    "Taux pondéré",
    "masqué" if figures["taux_masque"] else fr_percent(figures["taux_pondere"]) or "non calculable",
    help="Somme des numérateurs / somme des dénominateurs des ESMS où le taux existe."
    + (" Masqué : il ferait retrouver un petit effectif." if figures["taux_masque"] else ""),
)
c.metric(
    "Médiane des ESMS",
    fr_percent(figures["mediane"]) or "—",
    help=(
        f"1er quartile {fr_percent(figures['q1'])}, 3e quartile {fr_percent(figures['q3'])}"
        + (", sur les taux affichés (masqués exclus)." if mask else ".")
        if figures["mediane"] is not None
        else "Moins de 5 taux affichés : médiane non montrée."
        if mask and figures["nb_esms_calcules"]
        else "Aucun taux calculé."
    ),
)
d.metric(
    va.OUTCOME_COUNTS[va.READY],
    f"{fr_int(figures['nb_prets'])} sur {fr_int(figures['nb_esms'])}",
    help=f"Verdict de la VA pour la fenêtre se terminant en {month_short(au)}. "
    f"{va.OUTCOME_COUNTS[va.BLOCKED_ZERO]} : {fr_int(figures['nb_bloques_zero'])} ; "
    f"{va.OUTCOME_COUNTS[va.BLOCKED_MISSING]} : {fr_int(figures['nb_bloques_donnees'])}.",
)
st.caption(
    f"{rate_label} · période {month_range(du, au)} · VA au {month_short(au)} · "
    f"référentiel {ref.version}"
    + (
        " · Petits effectifs masqués : effectifs de 1 à 4 et médianes de moins de 5 taux ; "
        "les nombres d'établissements ne le sont pas (publics dans FINESS)."
        if mask
        else ""
    )
)

# --- three views, one drawn at a time ---------------------------------------------------------
# The ranking first: a table. The distribution and the map are Plotly figures, whose script
# (4.6 MB) cost the page's first visit about 2 s in the browser (bench/pages.py): they are
# drawn when their tab is opened (on_change="rerun": only the open tab is built and sent).
# The open tab is in the address (?vue=…), to share a view.
unmasked = "" if mask or not several_ogs else "_non_masque"  # in the downloads' names
ranking_tab, spread_tab, map_tab = st.tabs(
    ["Classement", "Répartition des ESMS", "Carte par département"],
    key="vue",
    on_change="rerun",
    bind="query-params",
)
if ranking_tab.open:
    with ranking_tab:
        ranking = shown.ranking
        # On screen the outcome with its symbol (« ❌ bloqué par un zéro »); files keep the words.
        OUTCOME_ON_SCREEN = {va.OUTCOME_WORDS[k]: label for k, label in ui.OUTCOME_LABELS.items()}
        ui.table(
            ranking,
            lambda head: compare.screen_table(head).assign(
                **{compare.VERDICT_HEADER: head[compare.VERDICT_HEADER].map(OUTCOME_ON_SCREEN)}
            ),
            # wide enough for « ❌ bloqué faute de données » (it was cut at « ❌ bloqu… »)
            column_config={compare.VERDICT_HEADER: st.column_config.TextColumn(width=190)},
        )
        st.caption(
            "Du taux le plus faible au plus élevé. Les ESMS sans taux (aucune donnée sur la "
            "période, ou dénominateur nul) sont en fin de tableau"
            + (", précédés des ESMS au taux masqué (par nom, sans rang)" if mask else "")
            + ". Fichiers : taux en fraction (0,725 = 72,5 %)."
        )
        ui.download_buttons(
            ranking,
            f"classement_{rate}_{du:%Y-%m}_{au:%Y-%m}{unmasked}",
            key="dl_classement",
            percent=compare.fraction_columns(ranking),
        )

if spread_tab.open:
    with spread_tab:
        grouping = st.radio(
            "Regrouper par",
            list(compare.GROUPINGS),
            format_func=lambda g: compare.GROUPINGS[g][1],
            horizontal=True,
            key="regroupement",
            bind="query-params",
        )
        if (
            figures["nb_esms_calcules"]
            and figures["nb_esms_masques"] >= figures["nb_esms_calcules"]
        ):
            st.info(
                "Tous les taux calculés de cette sélection sont masqués (petits effectifs) : "
                "élargissez la sélection, ou voyez la page Méthode."
            )
        elif not figures["nb_esms_calcules"]:
            st.info(
                f"Aucun ESMS sélectionné n'a de « {rate_label} » sur {month_range(du, au)} : "
                "choisissez une autre période ou un autre taux."
            )
        else:
            fig, (groups, n_all) = distribution(
                shown, view, mask, filters, grouping, rate_label, ref.targets.get(rate)
            )
            st.plotly_chart(fig, key="repartition", config=charts.FIGURE_CONFIG)
            without = figures["nb_esms_sans_taux"]
            hidden = figures["nb_esms_masques"]
            drawn = sum(len(sub) for _, sub in groups)
            st.caption(
                (
                    "Chaque point est un ESMS (survolez-le pour son nom) ; la boîte va du 1er au 3e "
                    "quartile, le trait vertical marque la médiane."
                    if drawn <= charts.MAX_POINTS
                    else f"{fr_int(drawn)} ESMS : trop pour les dessiner un à un. La boîte va du 1er "
                    "au 3e quartile, le trait vertical marque la médiane, les moustaches vont du taux "
                    "le plus faible au plus élevé ; le classement ci-dessous donne chaque ESMS."
                )
                + (
                    f" Seuls les {fr_int(len(groups))} groupes à la médiane la plus faible sont "
                    f"montrés, sur {fr_int(n_all)} : filtrez (région, département…) pour voir les "
                    "autres."
                    if n_all > len(groups)
                    else ""
                )
                + (
                    f" {fr_int(without)} ESMS sans taux calculé n'y figurent pas."
                    if without
                    else ""
                )
                + (
                    f" {fr_int(hidden)} ESMS au taux masqué (petits effectifs) n'y figure"
                    f"{'nt' if hidden > 1 else ''} pas."
                    if hidden
                    else ""
                )
                + (
                    " Un groupe de moins de 5 taux affichés n'a pas de boîte (ni médiane ni quartiles)."
                    if mask and any(len(sub) < 5 for _, sub in groups)
                    else ""
                )
            )

if map_tab.open:
    with map_tab:
        measure = st.radio(
            "Colorer selon",
            list(compare.MAP_MEASURES),
            format_func=lambda m: (
                f"{compare.MAP_MEASURES[m]} ({rate_label.lower()})"
                if m == "taux"
                else compare.MAP_MEASURES[m]
            ),
            horizontal=True,
            key="carte",
            bind="query-params",
        )
        metro, overseas = maps(shown, view, mask, filters, measure)
        if metro is not None:
            st.plotly_chart(metro, key="carte_metropole", config=charts.MAP_CONFIG)
        if overseas:
            st.caption("Outre-mer")
            for column, (name, fig) in zip(st.columns(len(overseas)), overseas, strict=True):
                column.plotly_chart(fig, key=f"carte_{name}", config=charts.MAP_CONFIG)
        unmapped = figures["nb_sans_departement"]
        st.caption(
            "Survolez un département pour sa valeur ; le tableau ci-dessous donne les mêmes chiffres. "
            "En gris : départements sans ESMS sélectionné, sans taux calculable"
            + (" ou au taux masqué (petits effectifs)." if mask else ".")
            + (
                f" {fr_int(unmapped)} ESMS sans département connu ne sont pas sur la carte."
                if unmapped
                else ""
            )
            + " Contours : IGN Admin Express / INSEE COG 2018, via gregoiredavid/france-geojson, "
            "Licence Ouverte."
        )
        table = shown.departement_table
        ui.table(table, compare.screen_table)
        if mask:
            st.caption(
                "Médiane montrée à partir de 5 taux affichés dans le département. Les nombres "
                "d'ESMS ne sont pas masqués : ils comptent des établissements, pas des personnes."
            )
        ui.download_buttons(
            table,
            f"departements_{rate}_{du:%Y-%m}_{au:%Y-%m}{unmasked}",
            key="dl_departements",
            percent=compare.fraction_columns(table),
        )
