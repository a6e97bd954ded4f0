"""Showing digit images crisply: enlarged with nearest-neighbour before the browser sees them."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
import streamlit as st

from jlml_core.images import png_bytes

DEFAULT_SCALE = 4  # 28 px -> 112 px: large enough to see strokes, small enough for a row of 10


def png_data_url(image: np.ndarray, scale: int) -> str:
    """A float image as an inline PNG data URL.

    Streamlit re-encodes PIL images without alpha as JPEG (blurry strokes) and serves each one
    as a separate download; an inline PNG stays exact and arrives with the page update.
    """
    return "data:image/png;base64," + base64.b64encode(png_bytes(image, scale)).decode("ascii")


def show_images(
    images: np.ndarray | Sequence[np.ndarray],
    captions: Sequence[str] | None = None,
    scale: int = DEFAULT_SCALE,
) -> None:
    """Show float images (N, H, W) in [0, 1] side by side, each with an optional caption."""
    pictures = [png_data_url(image, scale) for image in images]
    if not pictures:
        st.caption("Nothing to show.")
        return
    st.image(pictures, caption=list(captions) if captions is not None else None)


def show_image(image: np.ndarray, caption: str | None = None, scale: int = 8) -> None:
    """Show one float image (H, W), enlarged `scale` times without smoothing."""
    st.image(png_data_url(image, scale), caption=caption)
