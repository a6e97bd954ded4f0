"""Plotly figures as pure functions (arrays -> go.Figure), testable without Streamlit.

Colours for the ten classes are defined once here so every view agrees.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Plotly's D3 "Category10": distinct, colour-blind-tolerant, and familiar from the original plots.
CLASS_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def class_color(label: int) -> str:
    """The colour of class `label` (0..9) in every view."""
    return CLASS_COLORS[int(label) % len(CLASS_COLORS)]


def image_heatmap(
    image: np.ndarray,
    title: str | None = None,
    colorscale: str = "gray",
    zmin: float = 0.0,
    zmax: float = 1.0,
    height: int = 260,
) -> go.Figure:
    """One image (H, W) as a heat map with square pixels and no axes (crisp at any size)."""
    figure = go.Figure(
        go.Heatmap(
            z=np.asarray(image)[::-1],
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            showscale=False,
            hoverinfo="skip",
        )
    )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    figure.update_layout(
        height=height, margin=dict(l=0, r=0, t=30 if title else 0, b=0), title=title
    )
    return figure
