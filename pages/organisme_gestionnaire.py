"""Vérification d'aptitude: for an OG and a month, which ESMS are ready and what blocks the others."""

import streamlit as st

from dui_metrics import ui
from dui_metrics.formats import fr_int

st.title("Vérification d'aptitude (VA)")
ui.demo_banner()

path, version = str(ui.store_path()), ui.store_version()
esms = ui.establishments(path, version)
months = ui.months(path, version)
ref = ui.referentiel()

ogs = esms.dropna(subset=["finess_ej"]).drop_duplicates("finess_ej").sort_values("og_nom")
og_names = dict(zip(ogs["finess_ej"], ogs["og_nom"].fillna(ogs["finess_ej"]), strict=True))

left, right = st.columns(2)
og = left.selectbox(
    "Organisme gestionnaire",
    [None, *og_names],
    format_func=lambda v: "Tous les organismes" if v is None else f"{og_names[v]} ({v})",
    key="og",
    bind="query-params",
)
au = right.selectbox(
    "Mois de la VA",
    list(reversed(months)),
    format_func=ui.month_label,
    key="au",
    bind="query-params",
    help=f"La VA regarde les {ref.va_window_months} mois civils se terminant par ce mois.",
)

if not months and esms.empty:
    st.warning("Le magasin est vide : importez des exports avec « dui-metrics ingest ».")
    st.stop()

checks = ui.readiness(path, version, au, og)
counts = ui.readiness_summary(path, version, au, og)
a, b, c = st.columns(3)
a.metric("ESMS prêts pour la VA", fr_int(counts["pretes"]))
b.metric("ESMS bloqués", fr_int(counts["bloquees"]))
c.metric("ESMS sans données sur la fenêtre", fr_int(counts["sans_donnees"]))

st.subheader("Critères par établissement")
st.caption(
    "✅ ok : valeur non nulle · ⚠️ zéro : données reçues mais nulles · ❌ manquant : aucune "
    "donnée sur la fenêtre. Un ESMS est prêt pour la VA quand tous ses critères sont ok."
)
matrix = ui.status_matrix(checks, esms)
st.dataframe(matrix, hide_index=True)

st.subheader("Écarts à combler")
gaps = checks[(checks["statut"] != "ok") & (checks["critere"] != "va")]
if gaps.empty:
    st.success("Aucun écart : tous les ESMS sélectionnés sont prêts pour la VA.")
else:
    names = esms.set_index("finess_et")["raison_sociale"]
    table = gaps.assign(
        etablissement=gaps["finess_et"].map(names),
        critere=gaps["critere"].map(ui.CRITERION_HEADERS),
        statut=gaps["statut"].map(ui.STATUS_LABELS),
    )[["etablissement", "finess_et", "critere", "statut", "detail"]]
    table.columns = ["Établissement", "FINESS ET", "Critère", "Statut", "Écart"]
    st.dataframe(table, hide_index=True)
    st.download_button(
        "Télécharger les écarts (CSV)",
        table.to_csv(index=False, sep=";").encode("utf-8-sig"),
        file_name="ecarts_va.csv",
        mime="text/csv",
    )
