"""Figures of a VQ-VAE's codes (arrays -> go.Figure): a digit's map of code indices and the
codebook's usage over a data set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10))
# A cyclic scale: neighbouring indices are unrelated codes, so no colour order is implied
# beyond telling equal indices apart.
_INDEX_SCALE = "HSV"


def code_maps_figure(
    maps: np.ndarray, codebook_size: int, titles: Sequence[str] | None = None
) -> go.Figure:
    """Side-by-side heatmaps of code-index maps, each cell labelled with its index.

    Args:
        maps: (N, h, w) integer code indices, row 0 at the top of the image.
        codebook_size: K, fixing the colour scale so equal indices share a colour across maps.
        titles: one per map (default: none).

    Returns:
        A figure with N heatmaps in a row.
    """
    maps = np.asarray(maps)
    count = len(maps)
    figure = make_subplots(
        rows=1,
        cols=max(count, 1),
        subplot_titles=list(titles) if titles is not None else None,
        horizontal_spacing=0.02,
    )
    for column, grid in enumerate(maps, start=1):
        figure.add_trace(
            go.Heatmap(
                z=grid,
                text=grid.astype(str),
                texttemplate="%{text}",
                textfont=dict(size=9),
                zmin=0,
                zmax=codebook_size - 1,
                colorscale=_INDEX_SCALE,
                showscale=False,
                hovertemplate="row %{y}, column %{x}: code %{z}<extra></extra>",
            ),
            row=1,
            col=column,
        )
    figure.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x")
    figure.update_xaxes(showticklabels=False)
    figure.update_layout(**_LAYOUT, height=220 if count > 1 else 320)
    return figure


def codebook_usage_figure(counts: np.ndarray, perplexity: float | None = None) -> go.Figure:
    """Bar chart of how many grid positions chose each code; dead codes marked on the axis.

    Args:
        counts: (K,) usage counts.
        perplexity: shown in the title when given.

    Returns:
        Bars over code indices 0..K-1 (a dead code has no bar and a red tick).
    """
    counts = np.asarray(counts)
    size = len(counts)
    dead = np.flatnonzero(counts == 0)
    used = size - len(dead)
    title = f"Codebook usage on the test set: {used} of {size} codes used"
    if perplexity is not None:
        title += f", perplexity {perplexity:.1f}"
    figure = go.Figure(
        go.Bar(
            x=np.arange(size),
            y=counts,
            marker_color="#4c72b0",
            hovertemplate="code %{x}: chosen %{y:,} times<extra></extra>",
            name="used",
        )
    )
    if len(dead):
        figure.add_trace(
            go.Scatter(
                x=dead,
                y=np.zeros(len(dead)),
                mode="markers",
                marker=dict(symbol="line-ns-open", color="#c44e52", size=10),
                hovertemplate="code %{x}: never chosen<extra></extra>",
                name="dead",
            )
        )
    figure.update_layout(
        **_LAYOUT,
        title=title,
        xaxis_title="code index",
        yaxis_title="grid positions",
        height=300,
        showlegend=bool(len(dead)),
        bargap=0.1,
    )
    return figure
