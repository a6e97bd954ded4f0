"""Showing digit images crisply: enlarged with nearest-neighbour before the browser sees them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from jlml_core.images import to_pil

DEFAULT_SCALE = 4  # 28 px -> 112 px: large enough to see strokes, small enough for a row of 10


def show_images(
    images: np.ndarray | Sequence[np.ndarray],
    captions: Sequence[str] | None = None,
    scale: int = DEFAULT_SCALE,
) -> None:
    """Show float images (N, H, W) in [0, 1] side by side, each with an optional caption."""
    pictures = [to_pil(image, scale) for image in images]
    if not pictures:
        st.caption("Nothing to show.")
        return
    st.image(pictures, caption=list(captions) if captions is not None else None)


def show_image(image: np.ndarray, caption: str | None = None, scale: int = 8) -> None:
    """Show one float image (H, W), enlarged `scale` times without smoothing."""
    st.image(to_pil(image, scale), caption=caption)
