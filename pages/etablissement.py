"""Établissement: one ESMS's monthly trends, VA checks, position among peers, data freshness,
and the dossiers behind the rates counted from its records (drill-down under each rate)."""

import datetime as dt

import streamlit as st

from dui_metrics import charts, drilldown, finess, indicators, ui, va
from dui_metrics.formats import fr_date, fr_int, fr_percent, month_short
from dui_metrics.text import escape_markdown

ref = ui.referentiel()
ui.page_title(
    "Établissement",
    "Un établissement en détail : tendances mensuelles, critères de la VA, position parmi ses pairs.",
)
esms = ui.establishments()
months = ui.months()
ui.stop_unless(not esms.empty, "Le magasin est vide : importez des exports depuis la page Données.")

labels = ui.esms_labels()
search = None
if len(labels) > ui.CHOICES_LIMIT:  # a national store: search first, then choose
    find, left, right = st.columns([2, 3, 1])
    search = find.text_input(
        "Rechercher",
        key="recherche",
        placeholder="nom ou FINESS ET",
        help="Une partie du nom ou du numéro FINESS ET ; majuscules et accents indifférents.",
    )
else:
    left, right = st.columns([3, 1])
# Links from other pages name the ESMS by its FINESS ET and the month as 2025-03-01
# (`?finess_et=…&au=…`), where Streamlit's own address holds the labels (« EHPAD Un
# (690000013) », « mars 2025 »): such values become the choice here, before the widgets.
address = ui.choose_from_address("finess_et", labels.index)
if not address and st.session_state.get("finess_et") not in labels.index:
    # No ESMS asked for: the first (by name) of the OG chosen on Organisme gestionnaire
    # (« og », a FINESS EJ; None: every OG), else the first of all.
    og_chosen = st.session_state.get("og")
    of_og = (
        esms.loc[esms["finess_ej"] == og_chosen, "finess_et"] if og_chosen else esms["finess_et"]
    )
    st.session_state["finess_et"] = next(
        (c for c in labels.index if c in set(of_og)), labels.index[0]
    )
try:
    asked_month = dt.date.fromisoformat(st.query_params.get("au", ""))
except ValueError:
    asked_month = None
if asked_month in months:
    st.session_state["au"] = asked_month
current = st.session_state.get("finess_et")
choices, found = ui.search_choices(labels, search, keep=current)
if not choices:  # nothing matches and nothing chosen yet: the unfiltered list
    choices, _ = ui.search_choices(labels, None)
code = left.selectbox(
    "Établissement",
    choices,
    format_func=labels["libelle"].get,
    key="finess_et",
    placeholder="Choisir…",
    bind="query-params",
)
au = ui.va_month(right, months)
if search is not None:
    total = fr_int(len(labels))
    if not search:
        note = f"{total} établissements : la liste propose les {fr_int(ui.CHOICES_LIMIT)}"
        note += " premiers par nom ; tapez une partie du nom ou du FINESS pour les autres."
    elif not found:
        note = f"Aucun établissement ne correspond à « {escape_markdown(search)} » : "
        note += "vérifiez l'orthographe."
        note += " La liste garde l'établissement affiché."
    else:
        plural = "s" if found > 1 else ""
        note = f"{fr_int(found)} établissement{plural} sur {total} correspond"
        note += f"{'ent' if found > 1 else ''} à « {escape_markdown(search)} »"
        if found > ui.CHOICES_LIMIT:
            note += f" : la liste propose les {fr_int(ui.CHOICES_LIMIT)} premiers."
    left.caption(note)
row = esms.set_index("finess_et").loc[code]


def text(value) -> str:
    """A value read from the files, shown as it is written (never as Markdown)."""
    return "—" if value is None or value != value else escape_markdown(value)


category = finess.category_label(row["categorie"]) if isinstance(row["categorie"], str) else None
st.markdown(
    f"**{text(row['raison_sociale'])}** · FINESS {text(code)} · "
    f"{text(row['og_nom'])} (FINESS EJ {text(row['finess_ej'])})  \n"
    f"Catégorie {text(row['categorie'])} {('– ' + text(category)) if category else ''} · "
    f"Département {text(row['departement'])} · Région "
    f"{text(finess.region_name(row['region']) if isinstance(row['region'], str) else None)}  \n"
    f"Éditeur {text(row['editeur'])} · Logiciel {text(row['logiciel'])} · Bon de commande "
    f"{text(row['commande'])} · Déployé le "
    f"{fr_date(row['date_deploiement']) if row['date_deploiement'] == row['date_deploiement'] and row['date_deploiement'] is not None else '—'}"
)

# --- VA ---------------------------------------------------------------------------------
# Readiness of the ESMS's OG only (the same checks for this ESMS as over the whole store).
og = row["finess_ej"] if isinstance(row["finess_ej"], str) else None
checks = [c for c in ui.readiness(au=au, og=og) if c.finess_et == code]
window = ui.cached(va.va_window)(au)
verdict = next((c for c in checks if c.critere == va.VERDICT), None)
criteria = [c for c in checks if c.critere != va.VERDICT]
blocking = {c.critere for c in criteria if c.statut != va.OK}
if verdict is not None and verdict.statut == va.OK:
    st.success(
        f"{va.OUTCOME_WORDS[va.READY].capitalize()} pour la VA sur {window.text} : tous les "
        "critères sont remplis.",
        icon="✅",
    )
elif verdict is not None:
    # « bloqué faute de données (DMP) et par un zéro (INS) »: missing first, as the verdict.
    parts = []
    for status, outcome in ((va.MISSING, va.BLOCKED_MISSING), (va.ZERO, va.BLOCKED_ZERO)):
        names = [va.CRITERION_HEADERS[c.critere] for c in criteria if c.statut == status]
        if names:
            word = va.OUTCOME_WORDS[outcome]
            parts.append(
                f"{word if not parts else word.removeprefix('bloqué ')} ({', '.join(names)})"
            )
    st.error(f"Bloque la VA sur {window.text} : {' et '.join(parts)}.", icon="⛔")
table = va.readiness_frame(criteria)
if not table.empty:
    # The status first: what the reader came for; a missing detail reads « — ».
    table = table.assign(
        critere=table["critere"].map(va.CRITERION_HEADERS),
        statut=table["statut"].map(ui.STATUS_LABELS),
        detail=table["detail"].map(lambda d: "—" if d is None or d != d or d == "" else d),
    )[["statut", "critere", "detail"]]
    table.columns = ["Statut", "Critère", "Détail"]
    ui.text_table(table)
    ui.download_buttons(table, f"criteres_va_{code}", key="criteria")

# --- freshness --------------------------------------------------------------------------
fresh = ui.cached(indicators.freshness)(finess=(code,))
# One look-up in the records for an ESMS without any; months and drill-downs only beyond.
records = ui.cached(drilldown.record_status)(code)
st.subheader("Complétude des données")
if records.text:
    st.caption(records.text)
if fresh.empty:
    st.warning("Aucune donnée d'usage reçue pour cet établissement.", icon="❌")
else:
    f = fresh.iloc[0]
    a, b, c = st.columns(3)
    a.metric(
        "Mois renseignés",
        f"{fr_int(f['nb_mois'])} / {fr_int(f['nb_mois_attendus'])}",
        help=f"De {month_short(f['premier_mois'])} à {month_short(months[-1])}",
        border=True,
    )
    b.metric("Dernier mois reçu", month_short(f["dernier_mois"]), border=True)
    c.metric(
        "Dernier export importé",
        fr_date(f["dernier_import"]),
        help=f"Fichier : {escape_markdown(f['dernier_fichier'])}",
        border=True,
    )

# --- dossiers behind the rates ------------------------------------------------------------
# Under each rate whose count is computed from the stored records, the active dossiers that
# lack what it counts, for the month of the VA.
MISSING_HEADERS = {
    "dossier_id": "Dossier",
    "date_entree": "Entrée",
    "date_sortie": "Sortie",
    "dernier_pp": "Dernier projet personnalisé",
    "dernier_evenement": "Dernier événement",
    "statut_ins": "Statut INS",
    "date_statut_ins": "Statut INS depuis le",
}


def fr_day(value) -> str:
    return "—" if value is None or value != value else fr_date(value)


def missing_dossiers(container, manque: str) -> None:
    """An expander listing the active dossiers without ``manque`` in the VA month."""
    frame = ui.cached(drilldown.missing_dossiers)(code, au, manque)
    label = (
        f"Dossiers actifs sans {drilldown.MISSING_LABELS[manque]} en {month_short(au)} "
        f"({fr_int(len(frame))})"
    )
    with container.expander(label):
        if frame.empty:
            st.caption("Aucun : chaque dossier actif du mois en a.")
            return
        table = frame.assign(
            statut_ins=frame["statut_ins"].map(lambda s: drilldown.INS_LABELS.get(s, "inconnu"))
        ).rename(columns=MISSING_HEADERS)
        dates = [MISSING_HEADERS[c] for c in MISSING_HEADERS if c.startswith(("date", "dernier"))]
        # Dossier ids are text from the files: escaped in a text table, in a grid beyond.
        ui.table(table, lambda head: head.assign(**{c: head[c].map(fr_day) for c in dates}))
        ui.download_buttons(
            table, f"dossiers_sans_{manque}_{code}_{au:%Y-%m}", key=f"sans_{manque}"
        )


# --- trends -----------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=256)
def trend(_series, key: tuple, label: str, is_rate: bool, **options):
    """`charts.indicator_trend`, built once per ESMS, month, indicator and store version
    (``key``): a dozen figures cost half a second a run. Shared: never mutate it."""
    return charts.indicator_trend(_series, label, is_rate=is_rate, **options)


monthly = ui.cached(indicators.monthly_frame)(finess=(code,))
present = set() if monthly.empty else set(monthly["indicateur"])
criterion_of = {c.indicator: c.code for c in ref.criteria if c.indicator}


def draw_trends() -> None:
    st.caption(
        "Mois sans donnée : trous dans les courbes (jamais des zéros). Zone grisée : fenêtre de "
        f"la VA ({window.text}). Ligne pointillée : seuil de la VA (valeur non nulle) ; en rouge, "
        "un critère qui bloque la VA. Ligne tiretée verte : cible, si le référentiel en fixe une."
    )
    dense = indicators.with_missing_months(monthly, monthly["periode"].min(), months[-1])
    axis_months = sorted(dense["periode"].unique())
    in_va = [i.code for i in ref.indicators if i.code in present and i.code in criterion_of]
    others = [i.code for i in ref.indicators if i.code in present and i.code not in criterion_of]
    version = (str(ui.store_path()), ui.store_version(), ui.perimeter().key, code, au)
    # One tab drawn at a time (on_change="rerun": only the open one is built and sent).
    va_tab, others_tab = st.tabs(
        ["Critères de la VA", "Autres indicateurs"],
        key="tendances",
        on_change="rerun",
    )
    for tab, shown in ((va_tab, in_va), (others_tab, others)):
        if not tab.open:
            continue
        with tab:
            # Two a row, one st.columns per row: on a phone they stack in reading order.
            for row_start in range(0, len(shown), 2):
                columns = st.columns(2)
                for column, ind_code in zip(
                    columns, shown[row_start : row_start + 2], strict=False
                ):
                    fig = trend(
                        dense[dense["indicateur"] == ind_code],
                        (*version, ind_code),
                        ui.SHORT_LABELS.get(ind_code, ind_code),
                        ind_code.startswith("taux_"),
                        window=(window.start, window.end),
                        months=axis_months,
                        criterion=ind_code in criterion_of,
                        blocking=criterion_of.get(ind_code) in blocking,
                        target=ref.targets.get(ind_code),
                    )
                    column.plotly_chart(fig, config=charts.TREND_CONFIG, key=f"trend_{ind_code}")


if not monthly.empty:
    # The curves on request, as on Organisme gestionnaire (they cost this page's first visit
    # about 2.5 s); the criteria table above already gives the verdict.
    curves = ui.on_request(
        "Tendances mensuelles : une courbe par indicateur, avec la fenêtre et le seuil de la VA"
    )
    if curves.open:
        with curves:
            draw_trends()
    if records.computed(au):  # the dossiers behind the rates counted from the records
        for manque, rate_code in drilldown.MISSING_RATES.items():
            if rate_code in present:
                missing_dossiers(st, manque)

# --- peers ------------------------------------------------------------------------------
st.subheader("Position parmi les pairs")
peers = ui.cached(indicators.peer_percentiles)(code, window.start, window.end)
if peers.empty:
    st.info("Pas de taux calculable sur la fenêtre, ou catégorie et région inconnues.")
else:
    peers = peers.assign(
        indicateur=peers["indicateur"].map(ui.SHORT_LABELS),
        groupe=peers["groupe"].map({"categorie": "même catégorie", "region": "même région"}),
    )
    peers.columns = ["Taux", "Valeur", "Comparé à", "ESMS comparés", "Rang centile"]
    st.caption(
        f"Sur {window.text}. Rang centile : part des établissements du groupe dont le taux est "
        "inférieur ou égal (100 % = le meilleur du groupe)."
    )
    ui.text_table(
        ui.french_display(peers, percent=("Valeur", "Rang centile"), integer=("ESMS comparés",))
    )
    ui.download_buttons(peers, f"pairs_{code}", key="peers")

# --- the numbers ------------------------------------------------------------------------
st.subheader("Valeurs mensuelles")
st.caption(
    "Les mêmes chiffres que « dui-metrics indicators --finess-et " + escape_markdown(code) + " »."
)
if monthly.empty:
    st.info("Aucune valeur mensuelle.")
else:
    values = monthly.assign(
        periode=monthly["periode"].map(month_short),
        indicateur=monthly["indicateur"].map(ui.SHORT_LABELS),
    )[["periode", "indicateur", "valeur", "numerateur", "denominateur"]]
    values.columns = ["Mois", "Indicateur", "Valeur", "Numérateur", "Dénominateur"]
    shown = values.copy()
    shown["Valeur"] = [
        (fr_percent(v) if rate else fr_int(v)) if v == v and v is not None else "non calculable"
        for v, rate in zip(values["Valeur"], monthly["est_taux"], strict=True)
    ]
    shown = ui.french_display(shown, integer=("Numérateur", "Dénominateur"))
    for column in ("Numérateur", "Dénominateur"):  # a count only has no numerator: « — »
        shown[column] = shown[column].map(lambda v: "—" if v is None or v != v else v)
    ui.download_buttons(values, f"indicateurs_{code}", key="values")
    # One row per month and indicator (hundreds): the grid, on request; its scripts (1.7 MB)
    # would otherwise weigh on every first visit (bench/elements.py).
    table_box = ui.on_request(
        f"Tableau des valeurs mensuelles ({fr_int(len(shown))} lignes)", key="valeurs"
    )
    if table_box.open:
        with table_box:
            st.dataframe(
                shown,
                hide_index=True,
                height=300,
                column_config={"Indicateur": st.column_config.TextColumn(width="medium")},
            )
