"""Figures of a VQ-VAE's codes (arrays -> go.Figure): a digit's map of code indices and the
codebook's usage over a data set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.template import new_figure, new_subplots

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))
# Maps per row of the figure: ten 7 x 7 maps in one row leave each too small to read.
MAPS_PER_ROW = 5
# Neighbouring indices are unrelated codes, so each index gets the hue index * golden ratio
# (mod 1) on a cyclic scale: consecutive indices land far apart, equal indices share a colour.
_GOLDEN = 0.6180339887498949
_INDEX_SCALE = "HSV"


def index_hues(indices: np.ndarray) -> np.ndarray:
    """Each code index's position on the cyclic colour scale, in [0, 1)."""
    return np.mod(np.asarray(indices, dtype=np.float64) * _GOLDEN, 1.0)


def code_maps_figure(maps: np.ndarray, titles: Sequence[str] | None = None) -> go.Figure:
    """Heatmaps of code-index maps, `MAPS_PER_ROW` to a row, each cell labelled with its index.

    Args:
        maps: (N, h, w) integer code indices, row 0 at the top of the image.
        titles: one per map (default: none).

    Returns:
        A figure with N heatmaps; equal indices have equal colours across all of them.
    """
    maps = np.asarray(maps)
    count = max(len(maps), 1)
    rows, columns = -(-count // MAPS_PER_ROW), min(count, MAPS_PER_ROW)
    figure = new_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=list(titles) if titles is not None else None,
        horizontal_spacing=0.03,
        vertical_spacing=0.08,
    )
    for number, grid in enumerate(maps):
        figure.add_trace(
            go.Heatmap(
                z=index_hues(grid),
                text=grid.astype(str),
                texttemplate="%{text}",
                textfont=dict(size=10 if count > 1 else 14),
                zmin=0.0,
                zmax=1.0,
                colorscale=_INDEX_SCALE,
                showscale=False,
                hovertemplate="row %{y}, column %{x}: code %{text}<extra></extra>",
            ),
            row=number // MAPS_PER_ROW + 1,
            col=number % MAPS_PER_ROW + 1,
        )
    for number in range(count):  # square cells: each map's y axis keeps its x axis's scale
        suffix = "" if number == 0 else str(number + 1)
        figure.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    figure.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    figure.update_layout(**_LAYOUT, height=230 * rows if count > 1 else 360)
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
    figure = new_figure(
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
