"""Accueil: what the store holds, how fresh it is, the headline VA status, where to go next."""

import streamlit as st

from dui_metrics import overview, ui, va
from dui_metrics.formats import fr_date, fr_int, month_short

ui.page_title(
    "Suivi des usages du DUI Ségur",
    "Indicateurs TBB.1 (INS, DMP, MSSanté), taux ESMS numérique et préparation de la "
    "vérification d'aptitude, par établissement et par organisme gestionnaire.",
)
facts = ui.cached(overview.store_overview)()
if not facts["nb_esms"]:
    st.warning("Le magasin ne contient encore aucun établissement : importez vos exports.")
    st.page_link("pages/donnees.py", label="Importer des exports", icon="📥")
    st.stop()

st.subheader("Contenu du magasin")
a, b, c, d = st.columns(4)
a.metric("Établissements (ESMS)", fr_int(facts["nb_esms"]), border=True)
b.metric("Organismes gestionnaires", fr_int(facts["nb_og"]), border=True)
period = (
    f"{month_short(facts['premier_mois'])} – {month_short(facts['dernier_mois'])}"
    if facts["dernier_mois"]
    else "aucun"
)
c.metric("Mois de données", fr_int(facts["nb_mois"]), help=period, border=True)
d.metric(
    "Dernier import",
    fr_date(facts["dernier_import"]) if facts["dernier_import"] else "—",
    help=f"{fr_int(facts['nb_imports'])} fichiers importés au total",
    border=True,
)
st.caption(f"Période couverte : {period}.")

st.subheader("Vérification d'aptitude")
window = ui.cached(va.va_window)(None)
counts = ui.readiness_summary()
st.caption(f"Fenêtre de la VA : {window.text} (les mois les plus récents du magasin).")
ui.readiness_metrics(counts)
sentence = ui.blocked_sentence(counts, window.text)
if sentence:
    st.error(sentence + " Les écarts, ESMS par ESMS : page Organisme gestionnaire.", icon="⛔")
else:
    st.success(f"Tous les établissements remplissent les critères sur {window.text}.", icon="✅")

st.subheader("Fraîcheur des exports par éditeur")
editors = ui.cached(overview.editors)()
if editors.empty:
    st.info("Aucun éditeur renseigné dans le référentiel des établissements.")
else:
    table = editors.assign(
        nb_esms=editors["nb_esms"].map(fr_int),
        dernier_mois=editors["dernier_mois"].map(lambda m: month_short(m) if m == m and m else "—"),
        dernier_import=editors["dernier_import"].map(
            lambda t: fr_date(t) if t == t and t is not None else "—"
        ),
    )
    headers = ["Éditeur", "ESMS clients", "Dernier mois reçu", "Dernier import"]
    table.columns = headers
    ui.text_table(table)  # one row per editor
    # The files keep the months and dates as dates (a spreadsheet sorts and filters them).
    ui.download_buttons(editors.set_axis(headers, axis=1), "fraicheur_editeurs", key="editors")

st.subheader("Où aller ensuite ?")
left, middle, right = st.columns(3)
with left:
    st.markdown("**Direction d'OG** : puis-je signer la VA ?")
    st.page_link("pages/organisme_gestionnaire.py", label="Organisme gestionnaire", icon="🏢")
with middle:
    st.markdown("**ARS / GRADeS** : comment se comparent les établissements ?")
    st.page_link("pages/comparaison.py", label="Comparaison", icon="🗺️")
with right:
    st.markdown("**Éditeur** : chaque client est-il non nul ?")
    st.page_link("pages/editeur.py", label="Éditeur", icon="💻")
st.page_link("pages/methode.py", label="Définitions et règles de calcul", icon="📖")
