"""Éditeur: for every client ESMS, are INS, DMP, MSSanté and the three rates non-zero?"""

import streamlit as st

from dui_metrics import editor_export, indicators, ui, va
from dui_metrics.formats import fr_int, month_short

ALL_ORDERS = "Tous les bons de commande"

ui.page_title(
    "Éditeur",
    "Pour chaque établissement client : INS, DMP, MSSanté et les trois taux ESMS numérique "
    "sont-ils non nuls ? Qu'est-ce qui manque, bon de commande par bon de commande ?",
)
esms = ui.establishments()
months = ui.months()
editors = sorted(esms["editeur"].dropna().unique())
ui.stop_unless(
    bool(editors),
    "Aucun éditeur n'est renseigné : importez un référentiel des établissements avec une "
    "colonne « Éditeur ».",
)

left, middle, right = st.columns([3, 2, 1])
editeur = left.selectbox(
    "Éditeur", editors, key="editeur", bind="query-params", placeholder="Choisir…"
)
orders = editor_export.orders_of(esms, editeur)
commande = middle.selectbox(
    "Bon de commande",
    [None, *orders],
    format_func=lambda v: ALL_ORDERS if v is None else v,
    key="commande",
    placeholder="Choisir…",
    bind="query-params",
    disabled=not orders,
    help=None if orders else "Aucun bon de commande renseigné pour cet éditeur.",
)
if commande not in orders:  # kept from another page or editor (the key is shared)
    commande = None
au = ui.va_month(right, months)
clients = editor_export.clients(esms, editeur, commande)
question = {"au": au, "editeur": editeur, "commande": commande}
window = ui.cached(va.va_window)(au)
checks = ui.readiness_table(**question)
counts = ui.readiness_summary(**question)
st.caption(f"Fenêtre de la VA : {window.text}.")

# One row on a computer; on a phone the cards wrap, each as wide as its label.
cards = st.container(horizontal=True)
cards.metric("ESMS clients", fr_int(len(clients)), border=True, width="stretch")
for outcome, key in editor_export.COUNT_KEYS.items():
    cards.metric(va.OUTCOME_COUNTS[outcome], fr_int(counts[key]), border=True, width="stretch")

st.subheader("Bons de commande")
by_order = editor_export.order_outcomes(checks, clients)
if by_order.empty:
    st.info("Aucun établissement client pour cette sélection.")
else:
    headers = {
        "issue": "VA",
        "commande": "Bon de commande",
        "og_nom": "Organisme gestionnaire",
        "nb_esms": "ESMS",
        "pretes": "Prêts",
        "bloquees_zero": "Bloqués par un zéro",
        "bloquees_donnees": "Bloqués faute de données",
    }
    table = by_order[list(headers)].rename(columns=headers)
    table["VA"] = table["VA"].map(ui.OUTCOME_LABELS)  # the files get words (`ui.file_frame`)
    ui.table(table)
    ui.download_buttons(
        table,
        editor_export.file_stem(editeur, commande, window.end, kind="commandes"),
        key="orders",
    )

st.subheader("Établissements clients × critères")
st.caption(
    f"{ui.STATUS_LABELS[va.OK]} : non nul · {ui.STATUS_LABELS[va.ZERO]} : données reçues "
    f"mais nulles · {ui.STATUS_LABELS[va.MISSING]} : aucune donnée sur la fenêtre. Un zéro "
    "bloque la VA comme un manque. Un tableau par verdict, les établissements bloqués d'abord."
)
matrix = editor_export.client_matrix(checks, clients)
if not matrix.empty:
    fresh = ui.cached(indicators.freshness)(finess=tuple(clients["finess_et"]))
    last_month = fresh.set_index("finess_et")["dernier_mois"].dropna().map(month_short)
    criteria = [c for c in matrix.columns if c in va.CRITERION_HEADERS]
    shown = matrix.assign(
        dernier_mois=matrix["finess_et"].map(last_month).fillna("aucun"),
        **{c: matrix[c].map(ui.STATUS_LABELS) for c in criteria},
    ).rename(
        columns={
            "commande": "Bon de commande",
            "raison_sociale": "Établissement",
            "finess_et": "FINESS ET",
            "dernier_mois": "Dernier mois reçu",
            **va.CRITERION_HEADERS,
        }
    )
    # The verdict heads each table (a verdict column and the criteria would not fit a
    # 1440 px screen beside the names); the name and the criteria first, the references
    # after (scrolled to on a phone).
    columns = [
        "Établissement",
        *(va.CRITERION_HEADERS[c] for c in criteria),
        "Dernier mois reçu",
        *(["Bon de commande"] if commande is None else []),  # one order: nothing to say
        "FINESS ET",
    ]
    shown = shown[columns]
    for outcome in editor_export.URGENCY:
        rows = shown[matrix["issue"].eq(outcome).to_numpy()]
        if not rows.empty:
            icon = ui.OUTCOME_LABELS[outcome].split()[0]
            st.markdown(f"**{icon} {va.OUTCOME_COUNTS[outcome]} : {fr_int(len(rows))}**")
            ui.table(rows)

    st.markdown("**Fichier de preuves, critère par critère**")
    st.caption(
        "Une ligne par établissement et critère : bon de commande, organisme gestionnaire, "
        "date de déploiement, verdict de l'établissement, statut (ok, zéro, manquant), valeur "
        f"(nombre ou taux), fenêtre {window.text} et détail. À joindre à la demande de solde."
    )
    stem = editor_export.file_stem(editeur, commande, window.end)
    # Built when a button is clicked, from what this run holds (no Streamlit call there).
    proofs = lambda: editor_export.proof_table(checks, clients, window)  # noqa: E731
    ui.file_buttons(
        stem,
        "proofs",
        csv=lambda: editor_export.to_csv(proofs()),
        xlsx=lambda: editor_export.to_xlsx(proofs()),
        what="Preuves ",
    )

st.subheader("Dossiers de preuves de la VA")
packs = (
    clients.dropna(subset=["commande", "finess_ej"])
    .drop_duplicates(["commande", "finess_ej"])
    .sort_values(["commande", "finess_ej"])
)
if packs.empty:
    st.info("Aucun bon de commande renseigné : pas de dossier de preuves à préparer.")
else:
    choices = list(zip(packs["commande"], packs["finess_ej"], strict=True))
    og_names = dict(
        zip(packs["finess_ej"], packs["og_nom"].fillna(packs["finess_ej"]), strict=True)
    )
    pack_order, og = st.selectbox(
        "Bon de commande et organisme gestionnaire",
        choices,
        format_func=lambda c: f"{c[0]} – {og_names[c[1]]} ({c[1]})",
        key="pack_commande",
        placeholder="Choisir…",
        help="Le dossier de preuves de la VA d'un bon de commande : le PDF que l'organisme "
        "gestionnaire signe et le classeur des chiffres, à joindre à la demande de solde.",
    )
    ui.evidence_downloads(og, pack_order, au, None, key="pack")
