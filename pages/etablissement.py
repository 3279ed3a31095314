"""Page under construction."""

import streamlit as st

from dui_metrics import ui

ui.page_title("etablissement")
st.info("Page en construction.")
