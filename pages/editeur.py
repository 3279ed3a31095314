"""Éditeur: for every client ESMS, are INS, DMP, MSSanté and the three rates non-zero?"""

import streamlit as st

from dui_metrics import indicators, ui, va
from dui_metrics.formats import fr_int, month_short

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

left, right = st.columns([3, 1])
editeur = left.selectbox("Éditeur", editors, key="editeur", bind="query-params")
au = right.selectbox(
    "Mois de la VA", list(reversed(months)), format_func=month_short, key="au", bind="query-params"
)
clients = esms[esms["editeur"] == editeur]
question = {"au": au, "editeur": editeur}
window = ui.cached(va.va_window)(au)
counts = ui.readiness_summary(**question)
st.caption(f"Fenêtre de la VA : {window.text}.")

a, b, c = st.columns(3)
a.metric("ESMS clients", fr_int(len(clients)), border=True)
b.metric("✅ ESMS prêts", fr_int(counts["pretes"]), border=True)
c.metric("⛔ ESMS bloquants", fr_int(counts["bloquees"] + counts["sans_donnees"]), border=True)

st.subheader("Bons de commande")
orders = va.group_readiness(ui.readiness_table(**question), clients, "commande")
if orders.empty:
    st.info("Aucun bon de commande renseigné pour cet éditeur.")
else:
    og_of_order = clients.drop_duplicates("commande").set_index("commande")["og_nom"]
    orders = orders.assign(
        og=orders["commande"].map(og_of_order),
        bloquants=orders["nb_esms"] - orders["nb_prets"],
        pret=orders["pret"].map({True: "✅ prêt pour la VA", False: "⛔ bloqué"}),
    )[["commande", "og", "nb_esms", "bloquants", "pret"]]
    orders["commande"] = orders["commande"].fillna("(sans bon de commande)")
    orders.columns = ["Bon de commande", "Organisme gestionnaire", "ESMS", "ESMS bloquants", "VA"]
    ui.table(orders)
    ui.download_buttons(orders, f"commandes_{editeur}", key="orders")

st.subheader("Dossiers de preuves par bon de commande")
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
    commande, og = st.selectbox(
        "Bon de commande",
        choices,
        format_func=lambda c: f"{c[0]} – {og_names[c[1]]} ({c[1]})",
        key="pack_commande",
        help="Le dossier de preuves de la VA d'un bon de commande : le PDF que l'organisme "
        "gestionnaire signe et le classeur des chiffres, à joindre à la demande de solde.",
    )
    ui.evidence_downloads(og, commande, au, None, key="pack")

st.subheader("Établissements clients × critères")
st.caption(
    "✅ non nul · ⚠️ zéro (données reçues mais nulles) · ❌ manquant (aucune donnée sur la "
    "fenêtre). Regroupés par bon de commande, les établissements bloquants d'abord."
)
matrix = ui.readiness_matrix(**question)
fresh = ui.cached(indicators.freshness)(finess=tuple(clients["finess_et"]))
last_month = fresh.set_index("finess_et")["dernier_mois"].map(month_short)
if not matrix.empty:
    matrix["Dernier mois reçu"] = matrix["FINESS ET"].map(last_month).fillna("aucun")
    matrix = matrix.drop(columns=["Organisme gestionnaire", "Déployé"])
    first = ["Bon de commande", "Établissement", "FINESS ET", "VA"]
    matrix = matrix[first + [c for c in matrix.columns if c not in first]]
    matrix = matrix.sort_values(
        ["Bon de commande", "VA"], key=lambda s: s.fillna(""), ignore_index=True
    )
    ui.table(matrix)
    ui.download_buttons(matrix, f"clients_{editeur}", key="clients")
