"""JL-ML Autoencoder Lab — the Streamlit entry point.

Routes over the pages in `pages/` (registered explicitly, so Streamlit's auto-discovery stays
off) and owns the shared model sidebar. Run: ``streamlit run app.py``.
"""

from __future__ import annotations

import streamlit as st

from dashboard.settings import demo_mode
from dashboard.sidebar import render_sidebar

st.set_page_config(page_title="JL-ML Autoencoder Lab", page_icon="🔢", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/reconstructions.py", title="Reconstructions", icon="🔁"),
    st.Page("pages/latent_explorer.py", title="Latent Explorer", icon="🧭"),
    st.Page("pages/generation.py", title="Generation", icon="✨"),
    st.Page("pages/loss_comparison.py", title="Loss Comparison", icon="⚖️"),
    st.Page("pages/model_zoo.py", title="Model Zoo", icon="📊"),
]
if not demo_mode():
    pages.append(st.Page("pages/train.py", title="Train", icon="🏋️"))

navigation = st.navigation(pages)
render_sidebar()
navigation.run()
