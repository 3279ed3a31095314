"""dui-metrics dashboard: page config and navigation, nothing else."""

import streamlit as st

st.set_page_config(page_title="dui-metrics · usages du DUI Ségur", page_icon="📊", layout="wide")

navigation = st.navigation(
    {
        "Pilotage": [
            st.Page(
                "pages/verification_aptitude.py", title="Vérification d'aptitude", default=True
            ),
        ],
    }
)
navigation.run()
