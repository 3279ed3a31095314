"""dui-metrics dashboard: page config, the login gate and navigation, nothing else.

`streamlit run app.py` finds ``app`` below: imported once as the server's module, this file
only builds the server, which prepares the pages in the background (`dui_metrics.server`).
Each page view runs it as a script (``__main__``): the dashboard itself. The login gate
(`dui_metrics.login`) comes before the navigation is built: a visitor it stops gets neither a
page nor the menu, whatever the page URL.
"""

import streamlit as st

if __name__ != "__main__":  # imported by `streamlit run`: the server
    from starlette.middleware import Middleware

    from dui_metrics.document import FrenchDocument
    from dui_metrics.server import lifespan

    app = st.App(__file__, lifespan=lifespan, middleware=[Middleware(FrenchDocument)])
else:  # a page view
    st.set_page_config(
        page_title="dui-metrics · usages du DUI Ségur", page_icon="📊", layout="wide"
    )
    from dui_metrics import login, theme, ui

    st.html(theme.STYLE)  # app-wide CSS: labels that wrap, a phone's width, French uploader
    login.gate()
    navigation = st.navigation(
        {
            "Pilotage": [
                st.Page("pages/accueil.py", title="Accueil", icon="🏠", default=True),
                st.Page(
                    "pages/organisme_gestionnaire.py", title="Organisme gestionnaire", icon="🏢"
                ),
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
    ui.run_page(navigation)
