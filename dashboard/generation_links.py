"""Generation's number controls as a shared link sets them: clamped into their widgets' ranges,
seeded once, and the interpolation's random pair. Moved out of views/generation.py so the page
stays layout (and within its 250 lines)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from . import links
from .settings import Limits


def clamp_links(size: int, bounds: Limits) -> None:
    """Clamp every Generation number a link may carry into its widget's range."""
    for key, low, high in (
        ("gen_grid", 2, bounds.prior_grid), ("gen_seed", 0, 2**31 - 1),
        ("gen_temperature", 0.0, 2.0), ("gen_start", 0, size - 1), ("gen_end", 0, size - 1),
        ("gen_a", 0, size - 1), ("gen_b", 0, size - 1), ("gen_c", 0, size - 1),
        ("gen_steps", 3, bounds.interpolation_steps), ("gen_plane_grid", 5, bounds.plane_grid),
        ("gen_mosaic_grid", 3, bounds.mosaic_grid), ("gen_margin", 0.0, 0.5),
    ):  # fmt: skip
        links.clamp_param(key, low, high)  # a link's number, clamped into its widget's range


def default_value(key: str, value: int) -> None:
    """Seed a widget's value once, so callbacks (random pair) may change it later."""
    st.session_state.setdefault(key, value)


def random_pair(size: int) -> None:
    """Callback: two different random test digits as the interpolation's ends."""
    first, second = np.random.default_rng().choice(size, 2, replace=False)
    st.session_state["gen_start"], st.session_state["gen_end"] = int(first), int(second)
