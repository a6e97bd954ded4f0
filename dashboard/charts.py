"""Every chart the dashboard shows, and every file it offers, go through here.

`show_chart` sets what Plotly's camera button ("Download plot" in the chart's toolbar) saves:
a file named after the model and the figure, at `PRINT_SCALE` times its size on screen, as PNG
or SVG. Plotly.js gives that button a single format, and Streamlit hands Plotly the chart's
config as JSON, so no second, custom button (it would need a JavaScript click handler) can be
added. Instead the sidebar's `image_format_picker` chooses the format for every chart: PNG by
default, SVG for lines and text that stay sharp at any size (a WebGL scatter's points, such as
the Latent Explorer's, are a bitmap inside Plotly's SVG, drawn at the same scale).

`download_button` offers a file (CSV, PNG, GIF) that is only made when it is clicked, so a
page pays nothing for it on a rerun, and clicking it does not rerun the page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from jlml_core.config import TrainConfig
from jlml_core.figures.exports import file_stem

IMAGE_FORMAT_KEY = "chart_image_format"
IMAGE_FORMATS = {"png": "PNG", "svg": "SVG"}
PRINT_SCALE = 3  # a 700-px chart saves as 2,100 px: about 7 inches at 300 dpi
MIME_TYPES = {
    ".csv": "text/csv", ".png": "image/png", ".gif": "image/gif", ".html": "text/html",
}  # fmt: skip


def image_format() -> str:
    """What the camera buttons save on this run: "png" (the default) or "svg"."""
    chosen = st.session_state.get(IMAGE_FORMAT_KEY)
    return chosen if chosen in IMAGE_FORMATS else "png"


def chart_config(
    name: str,
    model: TrainConfig | None = None,
    config: dict[str, Any] | None = None,
    image_format: str = "png",
) -> dict[str, Any]:
    """Plotly's config for a chart: `config` plus the camera button's file name, format, scale.

    Args:
        name: what the chart shows, for the file name ("latent_scatter").
        model: the model it shows (None for a chart of many models, or of none).
        config: the chart's own Plotly config (scroll zoom, a static plot, ...).
        image_format: "png" or "svg".
    """
    options = {"format": image_format, "filename": file_stem(name, model), "scale": PRINT_SCALE}
    return {**(config or {}), "toImageButtonOptions": options}


def show_chart(
    figure: go.Figure,
    *,
    name: str,
    model: TrainConfig | None = None,
    where: DeltaGenerator | None = None,
    config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """`st.plotly_chart` whose camera button saves a named print-size PNG or SVG.

    Args:
        figure: the figure, passed as it is (a cached figure stays the same object).
        name: what the chart shows, for the saved file's name.
        model: the model it shows; its name starts the file name.
        where: the container or placeholder to draw in (default: the current one).
        config: the chart's own Plotly config, kept.
        **kwargs: the rest of `st.plotly_chart`'s arguments (key, alt, on_select, ...).

    Returns:
        What `st.plotly_chart` returns (the selection state when `on_select` is set).
    """
    return (where or st).plotly_chart(
        figure, config=chart_config(name, model, config, image_format()), **kwargs
    )


def image_format_picker() -> None:
    """The sidebar's choice of what every chart's camera button saves."""
    st.radio(
        "Charts' camera button saves",
        list(IMAGE_FORMATS),
        format_func=IMAGE_FORMATS.get,
        horizontal=True,
        key=IMAGE_FORMAT_KEY,
        help=f"PNG at {PRINT_SCALE}× the size on screen, for print; SVG keeps lines and text "
        "sharp at any size (a scatter of thousands of points is a picture inside it).",
    )


def download_button(
    label: str,
    data: Callable[[], str | bytes],
    file_name: str,
    *,
    key: str,
    icon: str = ":material/download:",
) -> None:
    """A button that saves `file_name`, made by calling `data` only when it is clicked.

    Args:
        label: the button's text.
        data: makes the file's content (text or bytes); runs on the click, not on every rerun.
        file_name: the saved file's name; its extension sets the MIME type.
        key: widget key.
        icon: the button's icon (a handout to print shows a printer).
    """
    st.download_button(
        label,
        data,
        file_name=file_name,
        mime=MIME_TYPES.get(PurePath(file_name).suffix),
        key=key,
        on_click="ignore",  # the page stays as it is
        icon=icon,
        help=f"Saves `{file_name}`.",
    )
