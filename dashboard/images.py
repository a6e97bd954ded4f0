"""Showing digit images crisply: enlarged with nearest-neighbour before the browser sees them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import streamlit as st

from jlml_core.figures.images import png_data_url

from .figure_cache import cached_png_data_url

DEFAULT_SCALE = 4  # 28 px -> 112 px: large enough to see strokes, small enough for a row of 10
# zlib level 1 instead of PIL's 6: a mosaic encodes about three times faster for a somewhat larger
# PNG; a page update is one local message, and the server's CPU is shared.
COMPRESS_LEVEL = 1
# Pictures from this many pixels on (a mosaic; not a 28 x 28 digit) are cached by content: a
# Generation rerun redraws four mosaics of which one control changed one.
CACHE_FROM_PIXELS = 100_000


def picture_url(image: np.ndarray, scale: int) -> str:
    """A float image as an inline PNG data URL, large pictures from the cache.

    Streamlit re-encodes PIL images without alpha as JPEG (blurry strokes) and serves each one
    as a separate download; an inline PNG stays exact and arrives with the page update.
    """
    if image.size * scale * scale >= CACHE_FROM_PIXELS:
        return cached_png_data_url(image, scale, COMPRESS_LEVEL)
    return png_data_url(image, scale, COMPRESS_LEVEL)


def show_images(
    images: np.ndarray | Sequence[np.ndarray],
    captions: Sequence[str] | None = None,
    scale: int = DEFAULT_SCALE,
    *,
    alts: Sequence[str],
) -> None:
    """Show float images (N, H, W) in [0, 1] side by side, each with an optional caption.

    Args:
        images: the pictures.
        captions: one caption per picture, or None.
        scale: nearest-neighbour enlargement.
        alts: one text alternative per picture for screen readers (what it shows, with its
            number), required so no picture reaches the page without one.
    """
    pictures = [picture_url(image, scale) for image in images]
    if not pictures:
        st.caption("Nothing to show.")
        return
    if len(alts) != len(pictures) or not all(alts):
        raise ValueError(f"need {len(pictures)} non-empty alt texts, got {list(alts)}")
    st.image(pictures, caption=list(captions) if captions is not None else None, alt=list(alts))


def show_image(image: np.ndarray, caption: str | None = None, scale: int = 8, *, alt: str) -> None:
    """Show one float image (H, W), enlarged `scale` times without smoothing.

    `alt` is the text a screen reader reads instead (what it shows, with its key number).
    """
    if not alt:
        raise ValueError("an image needs a non-empty alt text")
    st.image(picture_url(image, scale), caption=caption, alt=alt)


def crisp_scale(image: np.ndarray, width: int) -> int:
    """The whole-number enlargement (1 to 8) that makes `image` at least `width` px wide."""
    return int(np.clip(-(-width // image.shape[1]), 1, 8))  # ceil(width / image width)


def show_wide_image(
    image: np.ndarray,
    caption: str,
    *,
    alt: str,
    width: int,
    download: Callable[[np.ndarray, int], None] | None = None,
) -> None:
    """Show a mosaic or strip (H, W) enlarged crisply to about `width` px.

    With `download`, call it with the image and its scale to offer the picture as a file.
    """
    scale = crisp_scale(image, width)
    show_image(image, caption, scale=scale, alt=alt)
    if download is not None:
        download(image, scale)
