"""Figures of how a VAE uses its latent dimensions: the traversal grid, the KL per dimension
as bars (one panel per model, so a beta pair sits side by side) and the collapse numbers over
training. Pure functions of arrays (`analysis.latent_dims`, `inference.traversal`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from jlml_core.analysis.latent_dims import CollapseHistory, LatentDimensions
from jlml_core.figures.template import new_figure, new_subplots
from jlml_core.inference.latent import tile

_LAYOUT = dict(margin=dict(l=60, r=20, t=50, b=50))
ACTIVE_COLOR = "#1f77b4"
INACTIVE_COLOR = "#c7c7c7"
_PAD = 2  # white pixels between the grid's digits


def dimension_label(dim: int) -> str:
    """How the figures name latent dimension `dim` (0-based): "z₁" is dim 0 ... as text "z1"."""
    return f"z{dim + 1}"


def traversal_figure(
    images: np.ndarray,
    dims: Sequence[int],
    values: Sequence[float],
    kl_per_dim: np.ndarray | None = None,
    title: str = "",
    cell: int = 44,
) -> go.Figure:
    """The traversal grid: row r sweeps dimension dims[r] over `values`, as one crisp image.

    Args:
        images: decoded traversal, (R, C, H, W) in [0, 1] (`inference.traversal.traverse`).
        dims: each row's dimension (0-based).
        values: each column's value of that dimension.
        kl_per_dim: the model's KL per dimension (D,), written beside each row's name.
        title: figure title.
        cell: on-screen pixels per digit.
    """
    rows, columns, height, width = images.shape
    mosaic = tile(images.reshape(-1, height, width), columns, pad=_PAD)  # (R*(H+p)-p, ...)
    row_centres = [r * (height + _PAD) + height / 2 - 0.5 for r in range(rows)]
    column_centres = [c * (width + _PAD) + width / 2 - 0.5 for c in range(columns)]

    def row_name(dim: int) -> str:
        kl = "" if kl_per_dim is None else f" · {kl_per_dim[dim]:.2f} nats"
        return dimension_label(dim) + kl

    figure = new_figure(
        go.Heatmap(
            z=mosaic,
            colorscale="gray",
            reversescale=False,
            zmin=0.0,
            zmax=1.0,
            showscale=False,
            hoverinfo="skip",
        )
    )
    figure.update_xaxes(
        tickvals=column_centres,
        ticktext=[f"{v:+g}" for v in values],
        title_text="value of the row's dimension (prior units)",
        side="bottom",
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    figure.update_yaxes(
        tickvals=row_centres,
        ticktext=[row_name(d) for d in dims],
        autorange="reversed",
        scaleanchor="x",
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    figure.update_layout(
        title=title,
        width=cell * columns + 220,
        height=cell * rows + 120,
        **{**_LAYOUT, "margin": dict(l=150, r=20, t=50 if title else 20, b=60)},
    )
    return figure


def kl_bars_figure(models: Mapping[str, LatentDimensions], height: int = 320) -> go.Figure:
    """KL per dimension as bars, largest first, one panel per model on a shared y axis.

    Active dimensions (Burda et al.'s variance test) are blue, inactive ones grey; each panel's
    title gives its active units and I(x; z).

    Args:
        models: model label -> its `LatentDimensions`.
        height: figure height in pixels.
    """
    labels = list(models) or ["(no model)"]
    titles = [
        f"{label}<br><sup>{m.active_units} of {len(m.kl_per_dim)} active · "
        f"I(x; z) ≈ {m.mutual_information:.2f} nats</sup>"
        for label, m in models.items()
    ] or labels
    figure = new_subplots(
        rows=1, cols=len(labels), subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.05
    )
    for col, dims in enumerate(models.values(), start=1):
        order = dims.order
        figure.add_trace(
            go.Bar(
                x=[dimension_label(d) for d in order],
                y=dims.kl_per_dim[order],
                marker_color=[ACTIVE_COLOR if dims.active[d] else INACTIVE_COLOR for d in order],
                customdata=dims.variance[order],
                hovertemplate="%{x}: KL %{y:.3f} nats<br>Var(mean) %{customdata:.3f}"
                "<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    figure.update_yaxes(title_text="KL (nats, test mean)", row=1, col=1)
    figure.update_xaxes(title_text="dimension, largest KL first")
    figure.update_layout(height=height, **{**_LAYOUT, "margin": dict(l=60, r=20, t=80, b=50)})
    return figure


def collapse_history_figure(history: CollapseHistory, height: int = 300) -> go.Figure:
    """The collapse numbers after each epoch: KL of each dimension, active units, I(x; z).

    Args:
        history: what training recorded (`analysis.latent_dims.collapse_history`).
        height: figure height in pixels.
    """
    figure = new_subplots(
        rows=1,
        cols=3,
        subplot_titles=["KL per dimension (nats)", "active units", "I(x; z) estimate (nats)"],
        horizontal_spacing=0.08,
    )
    epochs = history.epochs
    for dim in range(history.kl_per_dim.shape[1]):
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=history.kl_per_dim[:, dim],
                mode="lines+markers",
                name=dimension_label(dim),
                hovertemplate=f"{dimension_label(dim)}, epoch %{{x}}: %{{y:.3f}} nats"
                "<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for col, values, name in (
        (2, history.active_units, "active units"),
        (3, history.mutual_information, "I(x; z)"),
    ):
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=values,
                mode="lines+markers",
                name=name,
                line=dict(color="#444"),
                showlegend=False,
                hovertemplate=f"epoch %{{x}}: {name} %{{y:.3g}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    dims = history.kl_per_dim.shape[1]
    figure.update_yaxes(range=[-0.3, dims + 0.3], dtick=1 if dims <= 16 else None, row=1, col=2)
    figure.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 12 else None)
    figure.update_layout(height=height, legend=dict(orientation="h", y=-0.3), **_LAYOUT)
    return figure
