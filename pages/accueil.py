"""Page under construction."""

import streamlit as st

from dui_metrics import ui

ui.page_title("accueil")
st.info("Page en construction.")
