"""JL-ML Autoencoder Lab — the Streamlit entry point.

Routes over the pages in `views/` with st.navigation and owns the shared model sidebar.
Run: ``streamlit run app.py``. (The folder is not called `pages/` on purpose: a folder of that
name beside the entry script switches Streamlit into its legacy auto-discovery mode until
st.navigation first runs, so a bookmarked page opened first would run without this router.)
"""

from __future__ import annotations

import streamlit as st

from dashboard.settings import demo_mode
from dashboard.sidebar import render_sidebar

st.set_page_config(page_title="JL-ML Autoencoder Lab", page_icon=":material/draw:", layout="wide")

pages = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/reconstructions.py", title="Reconstructions", icon=":material/compare:"),
    st.Page("views/latent_explorer.py", title="Latent Explorer", icon=":material/explore:"),
    st.Page("views/your_digit.py", title="Your digit", icon=":material/gesture:"),
    st.Page("views/generation.py", title="Generation", icon=":material/auto_awesome:"),
    st.Page("views/loss_comparison.py", title="Loss Comparison", icon=":material/balance:"),
    st.Page("views/model_zoo.py", title="Model Zoo", icon=":material/leaderboard:"),
]
if not demo_mode():
    pages.append(st.Page("views/train.py", title="Train", icon=":material/model_training:"))

navigation = st.navigation(pages)
render_sidebar()
navigation.run()
