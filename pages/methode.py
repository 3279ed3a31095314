"""Page under construction."""

import streamlit as st

from dui_metrics import ui

ui.page_title("methode")
st.info("Page en construction.")
