"""JL-ML Autoencoder Lab — the Streamlit entry point.

Routes over the pages in `pages/` (registered explicitly, so Streamlit's auto-discovery stays
off) and owns the shared model sidebar. Run: ``streamlit run app.py``.
"""

from __future__ import annotations

import os

import streamlit as st

from dashboard.sidebar import render_sidebar

DEMO_ENV = "JLML_DEMO"


def demo_mode() -> bool:
    """Hosted demos hide training: $JLML_DEMO=1 or `demo = true` in .streamlit/secrets.toml."""
    if os.environ.get(DEMO_ENV, "").lower() in {"1", "true", "yes"}:
        return True
    try:
        return bool(st.secrets.get("demo", False))
    except (FileNotFoundError, KeyError, AttributeError):
        return False
    except Exception:  # noqa: BLE001 - Streamlit raises its own error when no secrets exist
        return False


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
