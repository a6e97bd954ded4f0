"""Deployment switches read from the environment or Streamlit secrets."""

from __future__ import annotations

import os

import streamlit as st

DEMO_ENV = "JLML_DEMO"


def demo_mode() -> bool:
    """Hosted demos hide training: $JLML_DEMO=1 or `demo = true` in .streamlit/secrets.toml."""
    if os.environ.get(DEMO_ENV, "").lower() in {"1", "true", "yes"}:
        return True
    try:
        return bool(st.secrets.get("demo", False))
    except Exception:  # noqa: BLE001 - Streamlit raises its own error when no secrets file exists
        return False
