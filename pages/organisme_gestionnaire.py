"""Organisme gestionnaire: can the OG sign the VA, which ESMS block it and why, is usage growing?"""

import pandas as pd
import streamlit as st

from dui_metrics import charts, compare, indicators, masking, ui, va
from dui_metrics.formats import (
    fr_int,
    fr_percent,
    fr_signed,
    fr_signed_points,
    month_range,
    month_short,
)
from dui_metrics.text import escape_markdown


def _small_months(series: pd.DataFrame, is_rate: bool) -> pd.Series:
    """Months of a roll-up series whose count (a rate: numerator or denominator) is 1–4."""
    if is_rate:
        return masking.small(series["numerateur"]) | masking.small(series["denominateur"])
    return masking.small(series["valeur"])


def _masked_ranking(ranked: pd.DataFrame, rate_headers: tuple[str, ...], du, au) -> pd.DataFrame:
    """The ranking with the rates masked as the Comparaison page masks them over the same
    months (`compare.suppression`, per rate, over the VA window: the same ESMS, so that one
    page never gives what the other hides): « masqué », and an ESMS whose active-records rate
    (the sort key) is masked moves to the end of its block of equal criteria, by name, as its
    place would bound its rate."""
    codes = {v: k for k, v in ui.CRITERION_HEADERS.items()}
    first = None
    for header in rate_headers:
        terms = ui.cached(compare.rate_frame)(du, au, codes[header])
        hidden = ranked["FINESS ET"].isin(list(compare.suppression(terms).esms))
        ranked = masking.masked_cells(ranked, hidden, rates=[header])
        if codes[header] == "taux_dossiers_actifs":
            first = hidden
    if first is None:
        return ranked
    block = ranked["Critères ok"].ne(ranked["Critères ok"].shift()).cumsum()
    order = pd.DataFrame(
        {"block": block, "masked": first, "name": ranked["Établissement"].where(first, "")}
    )
    order["pos"] = range(len(order))
    keep = order.sort_values(["block", "masked", "name", "pos"]).index
    return ranked.loc[keep].reset_index(drop=True)


def _screen_ranking(head: pd.DataFrame, rate_headers: tuple[str, ...]) -> pd.DataFrame:
    """`ui.french_display` of the ranking, its « masqué » cells kept as they are."""
    numbers = head.assign(**{h: pd.to_numeric(head[h], errors="coerce") for h in rate_headers})
    shown = ui.french_display(numbers, percent=rate_headers)
    for header in rate_headers:
        shown[header] = shown[header].where(head[header].ne(masking.HIDDEN), masking.HIDDEN)
    return shown


ui.page_title(
    "Organisme gestionnaire",
    "Puis-je signer la vérification d'aptitude (VA) ? Quels établissements la bloquent, et "
    "pourquoi ? L'usage progresse-t-il ?",
)
ref = ui.referentiel()
esms = ui.establishments()
months = ui.months()
ui.stop_unless(not esms.empty, "Le magasin est vide : importez des exports depuis la page Données.")

ogs = esms.dropna(subset=["finess_ej"]).drop_duplicates("finess_ej").sort_values("og_nom")
og_names = dict(zip(ogs["finess_ej"], ogs["og_nom"].fillna(ogs["finess_ej"]), strict=True))

left, middle, right, far = st.columns([3, 2, 1, 1])
ui.choose_from_address("og", og_names)  # ?og=699169546, the FINESS EJ, besides the label
og = left.selectbox(
    "Organisme gestionnaire",
    [None, *og_names],
    format_func=lambda v: "Tous les organismes" if v is None else f"{og_names[v]} ({v})",
    key="og",
    placeholder="Choisir…",
    bind="query-params",
)
scope = esms if og is None else esms[esms["finess_ej"] == og]
orders = sorted(scope["commande"].dropna().unique())
commande = middle.selectbox(
    "Bon de commande",
    [None, *orders],
    format_func=lambda v: "Tous les bons de commande" if v is None else v,
    key="commande",
    placeholder="Choisir…",
    bind="query-params",
    disabled=not orders,
    help=None if orders else "Aucun bon de commande renseigné dans le référentiel.",
)
au = ui.va_month(right, months)
window_months = far.number_input(
    "Fenêtre (mois)",
    min_value=1,
    max_value=12,
    value=ref.va_window_months,
    step=1,
    key="fenetre",
    bind="query-params",
    help=f"Référentiel {ref.version} : {ref.va_window_months} mois par défaut.",
)
if commande is not None and commande not in orders:
    commande = None
if commande is not None:
    scope = scope[scope["commande"] == commande]

# « Tous les organismes » over a perimeter of several OGs compares ESMS of several OGs: small
# counts are masked (page Méthode), unless the user says otherwise for this session. Not in
# the URL: a shared link opens masked.
mask = og is None and compare.spans_several_ogs(esms)
if mask:
    mask = st.toggle(
        "Masquer les petits effectifs (1 à 4 → « < 5 »)",
        value=True,
        key="petits_effectifs",
        help="Plusieurs organismes gestionnaires : les effectifs de 1 à 4 s'affichent « < 5 », "
        "les taux qui les ont pour terme sont masqués (règle complète : page Méthode). Le "
        "désactiver ne vaut que pour vous et pour cette session.",
    )

question = {"au": au, "og": og, "commande": commande, "window_months": int(window_months)}
window = ui.cached(va.va_window)(au, int(window_months))
counts = ui.readiness_summary(**question)
total = len(scope)
# The OG's name as written in the files: shown as text, never read as Markdown.
who = escape_markdown(og_names.get(og, og)) if og else "l'ensemble des organismes"
sentence = ui.blocked_sentence(counts, window.text)
if total and not sentence:
    st.success(
        f"Les {fr_int(total)} établissements de {who} remplissent tous les critères sur "
        f"{window.text} : la VA peut être signée.",
        icon="✅",
    )
elif total:
    st.error(f"{sentence} Voir les écarts ci-dessous.", icon="⛔")

ui.readiness_metrics(counts)

st.subheader("Dossier de preuves de la VA")
if og is None:
    st.caption(
        "Choisissez un organisme gestionnaire (et, s'il y a lieu, un bon de commande) pour "
        "télécharger son dossier de preuves : le PDF à signer et le classeur des chiffres."
    )
else:
    order_text = (
        f"bon de commande {escape_markdown(commande)}"
        if commande
        else ("tous ses bons de commande")
    )
    st.caption(
        f"{who}, {order_text}, mois de la VA {month_short(au)}, fenêtre {window.text} : le PDF "
        "à signer (attestation, une page par établissement, définitions et fichiers sources) "
        "et le classeur des chiffres, préparés au clic. Les mêmes fichiers s'obtiennent en "
        "ligne de commande avec `dui-metrics preuves`."
    )
    ui.evidence_downloads(og, commande, au, int(window_months), key="pack")

if og is not None and len(orders) > 1 and commande is None:
    st.subheader("Bons de commande")
    groups = va.group_readiness(ui.readiness_table(**question), scope, "commande")
    groups["pret"] = groups["pret"].map({True: "✅ prêt", False: "❌ bloqué"})
    groups = groups[["pret", "commande", "nb_esms", "nb_prets"]]
    groups.columns = ["VA", "Bon de commande", "ESMS", va.OUTCOME_COUNTS[va.READY]]
    ui.table(groups)
    ui.download_buttons(groups, "bons_de_commande", key="orders")

# --- usage of the whole OG / order -----------------------------------------------------
rollup = ui.cached(indicators.scope_rollup)(og=og, commande=commande, au=au)
HEADLINE = [
    ("taux_dossiers_actifs", True),
    ("taux_dossiers_actifs_avec_pp", True),
    ("taux_dossiers_actifs_avec_evenement", True),
    ("ins_qualifiees", False),
    ("dmp_documents_envoyes", False),
    ("mss_messages_envoyes", False),
]
st.subheader(f"Usage en {month_short(au)}" if au else "Usage")
st.caption(
    "Taux pondérés (somme des numérateurs / somme des dénominateurs des ESMS). Flèche : écart "
    "au mois précédent **à périmètre constant** (les seuls ESMS ayant transmis les deux mois : "
    "un export manquant ne se lit pas comme une baisse). Couleur de la courbe : tendance des "
    "12 derniers mois (vert en hausse, rouge en baisse)."
)
for i, (code, is_rate) in enumerate(HEADLINE):
    if i % 3 == 0:  # a row of three: on a phone, the cards stack in HEADLINE's order
        columns = st.columns(3)
    column = columns[i % 3]
    series = rollup[rollup["indicateur"] == code].sort_values("periode")
    label = ui.SHORT_LABELS[code]
    if series.empty:
        column.metric(label, "—", help="Aucune donnée", border=True)
        column.caption(f"0 / {fr_int(total)} ESMS ont transmis")
        continue
    last = series.iloc[-1]
    reported = f"{fr_int(last['nb_esms'])} / {fr_int(total)} ESMS ont transmis en " + month_short(
        last["periode"]
    )
    small = _small_months(series, is_rate) if mask else pd.Series(False, index=series.index)
    if small.iloc[-1]:
        column.metric(
            label,
            masking.SMALL if not is_rate else masking.HIDDEN,
            help=f"{ref.indicator(code).label}, {month_short(last['periode'])} : masqué "
            "(petits effectifs, voir la page Méthode)",
            border=True,
        )
        column.caption(reported)
        continue
    # The change at constant perimeter, on the au month only (NaN otherwise, or without an
    # ESMS present both months); hidden beside a masked month or over fewer than 5 ESMS
    # when masking (it would give one ESMS's own change).
    change = last.get("variation_constante", float("nan"))
    common = last.get("nb_esms_communs", float("nan"))
    if mask and ((len(small) > 1 and small.iloc[-2]) or not common >= 5):
        change = float("nan")
    if is_rate:
        value = fr_percent(last["valeur"])
        delta = None if pd.isna(change) else fr_signed_points(change)
    else:
        value = fr_int(last["valeur"])
        delta = None if pd.isna(change) else fr_signed(int(change))
    trend = series["valeur"].tail(12)
    direction = indicators.trend_direction(trend)
    card = column.container(border=True)
    card.metric(
        label,
        value,
        delta,
        delta_color={1: "green", -1: "red", 0: "gray"}[direction],
        # The arrow follows the change as shown; the colour, the 12-month trend.
        delta_arrow=ui.metric_arrow(delta),
        help=f"{ref.indicator(code).label}, {month_short(last['periode'])}"
        + (
            f" ; écart à périmètre constant sur {fr_int(common)} ESMS"
            if delta is not None
            else " ; pas d'écart à périmètre constant (aucun ESMS les deux mois)"
        ),
    )
    if not small.tail(12).any():  # a masked month is not drawn either
        card.html(charts.sparkline_html(list(trend), direction))
    column.caption(reported)

# The six curves, on request: six Plotly figures cost a first visit about 4 s in the browser
# (bench/pages.py), and the cards above already draw each series.
trends = ui.on_request(
    "Tendances : une courbe par indicateur, avec la fenêtre et le seuil de la VA"
)
if trends.open:
    with trends:
        # A criterion is drawn in red when it blocks the VA of an ESMS of the selection.
        checks = ui.readiness_frame(**question)
        blocking_criteria = set(
            checks.loc[(checks["statut"] != va.OK) & (checks["critere"] != va.VERDICT), "critere"]
        )
        criterion_of = {c.indicator: c.code for c in ref.criteria if c.indicator}
        all_months = sorted(rollup["periode"].unique())
        for i, (code, rate) in enumerate(HEADLINE):
            if i % 3 == 0:  # three per row on a screen, one per row on a phone, in order
                trend_columns = st.columns(3)
            series = rollup[rollup["indicateur"] == code].sort_values("periode")
            if mask:  # a masked month is a gap in the line
                series = series.assign(valeur=series["valeur"].mask(_small_months(series, rate)))
            # a month without any value is a gap in the line, never a line across it
            dense = series.set_index("periode")["valeur"].reindex(all_months)
            dense = dense.rename_axis("periode")
            criterion = criterion_of.get(code)
            fig = charts.indicator_trend(
                dense.reset_index(),
                ui.SHORT_LABELS[code],
                is_rate=rate,
                window=(window.start, window.end),
                months=all_months,
                criterion=criterion is not None,
                blocking=criterion in blocking_criteria,
                max_ticks=4,
            )
            trend_columns[i % 3].plotly_chart(fig, config=charts.TREND_CONFIG, key=f"trend_{code}")
        st.caption(
            f"Zone grisée : fenêtre de la VA ({month_range(window.start, window.end)}). En "
            "rouge : un critère qui bloque la VA d'au moins un établissement de la sélection ; "
            "ligne pointillée : seuil de la VA (valeur non nulle)."
        )

# --- per ESMS ----------------------------------------------------------------------------
# One table at a time, in tabs: only the open tab is computed and drawn (on_change="rerun"),
# as each table holds one row per ESMS (40,000 for "Tous les organismes"). The open tab is in
# the address (?vue=…), like the filters above.
st.subheader("Établissements")
gaps_tab, matrix_tab, ranking_tab = st.tabs(
    ["Écarts à combler", "Critères par établissement", "Du plus en retard au plus avancé"],
    key="vue",
    on_change="rerun",
    bind="query-params",
)
if gaps_tab.open:
    with gaps_tab:
        gaps = ui.gap_table(**question)
        if gaps.empty:
            st.success("Aucun écart : tous les ESMS sélectionnés sont prêts pour la VA.")
        else:
            st.caption(
                "Chaque critère non rempli : ce qu'il faut faire, l'écart constaté, l'éditeur "
                "et le bon de commande ; « Ouvrir » mène à la fiche de l'établissement, au "
                "même mois."
            )
            ui.table(
                gaps,
                links={"Fiche": "Ouvrir"},
                column_config={
                    "À faire": st.column_config.TextColumn("À faire", width=400),
                    "Écart": st.column_config.TextColumn("Écart", width="medium"),
                },
            )
            ui.download_buttons(gaps.drop(columns="Fiche"), "ecarts_va", key="gaps")
if matrix_tab.open:
    with matrix_tab:
        st.caption(
            "✅ ok : valeur non nulle · ❌ zéro : données reçues mais nulles · ❌ manquant : "
            "aucune donnée sur la fenêtre. Un ESMS est prêt quand tous ses critères sont ok ; "
            "sinon il est bloqué faute de données (un critère manquant) ou par un zéro."
        )
        matrix = ui.readiness_matrix(**question)
        ui.table(matrix)
        ui.download_buttons(matrix, "criteres_va", key="matrix")
if ranking_tab.open:
    with ranking_tab:
        ranked, rate_headers = ui.ranking_table(**question)
        if ranked.empty:
            st.info("Aucun établissement dans cette sélection.")
        else:
            if mask:
                ranked = _masked_ranking(ranked, rate_headers, window.start, au)
            ui.table(ranked, lambda head: _screen_ranking(head, rate_headers))
            ui.download_buttons(ranked, "classement_esms", key="ranking")
