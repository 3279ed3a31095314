"""dui-metrics dashboard: page config and navigation, nothing else."""

import streamlit as st

st.set_page_config(page_title="dui-metrics · usages du DUI Ségur", page_icon="📊", layout="wide")

navigation = st.navigation(
    {
        "Pilotage": [
            st.Page("pages/accueil.py", title="Accueil", icon="🏠", default=True),
            st.Page("pages/organisme_gestionnaire.py", title="Organisme gestionnaire", icon="🏢"),
            st.Page("pages/etablissement.py", title="Établissement", icon="🏥"),
        ],
        "Analyse": [
            st.Page("pages/comparaison.py", title="Comparaison", icon="🗺️"),
            st.Page("pages/editeur.py", title="Éditeur", icon="💻"),
        ],
        "Données": [
            st.Page("pages/donnees.py", title="Données", icon="📥"),
            st.Page("pages/methode.py", title="Méthode", icon="📖"),
        ],
    }
)
navigation.run()
