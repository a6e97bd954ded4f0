"""JL-ML Autoencoder Lab — the Streamlit entry point.

Routes over the pages in `views/` with st.navigation and owns the shared model sidebar.
Run: ``streamlit run app.py``. (The folder is not called `pages/` on purpose: a folder of that
name beside the entry script switches Streamlit into its legacy auto-discovery mode until
st.navigation first runs, so a bookmarked page opened first would run without this router.)
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import cache, charts, server
from dashboard.settings import demo_mode
from dashboard.sidebar import render_sidebar

# The server's process-wide settings (torch threads, malloc arenas): the first run applies them,
# every later run finds them applied. Importing the dashboard's modules changes nothing global.
server.configure()

# Page files by absolute path: st.Page resolves relative ones against the entry script's folder,
# and deploy/streamlit_app.py (the Community Cloud entry) runs this file from another folder.
VIEWS = Path(__file__).resolve().parent / "views"

# An emoji icon: the browser draws it itself. A Material icon as the tab's icon is fetched from
# fonts.gstatic.com, which an offline laptop or a locked-down school network cannot reach.
st.set_page_config(page_title="JL-ML Autoencoder Lab", page_icon="✍️", layout="wide")
if demo_mode():
    # Strangers see no traceback or file path and no Deploy button. These take effect from a
    # session's next rerun (the first page has its config already); `make demo` sets the same
    # through the environment, so even a fresh session's first page never shows them.
    st.set_option("client.showErrorDetails", "none")
    st.set_option("client.toolbarMode", "viewer")
    server.warm_up_in_background(cache.warm_up)  # no visitor pays for encoding the test set

pages = [
    st.Page(VIEWS / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(VIEWS / "lessons.py", title="Lessons", icon=":material/school:"),
    st.Page(VIEWS / "reconstructions.py", title="Reconstructions", icon=":material/compare:"),
    st.Page(VIEWS / "latent_explorer.py", title="Latent Explorer", icon=":material/explore:"),
    st.Page(VIEWS / "your_digit.py", title="Your digit", icon=":material/gesture:"),
    st.Page(VIEWS / "generation.py", title="Generation", icon=":material/auto_awesome:"),
    st.Page(VIEWS / "loss_comparison.py", title="Loss Comparison", icon=":material/balance:"),
    st.Page(VIEWS / "model_zoo.py", title="Model Zoo", icon=":material/leaderboard:"),
]
if not demo_mode():
    pages.append(st.Page(VIEWS / "train.py", title="Train", icon=":material/model_training:"))

navigation = st.navigation(pages)
render_sidebar()
with st.sidebar:
    charts.image_format_picker()  # what every chart's camera button saves, on every page
try:
    navigation.run()
finally:
    server.after_run()  # hands back the buffers the run freed
