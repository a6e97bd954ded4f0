"""The Latent Explorer's figure and the small computations behind its clicks.

The scatter shows every test code in the plane (the identity for a 2-D latent space, a PCA
projection otherwise) with one WebGL trace per class, so legend clicks hide and show classes.
Streamlit reports plot selections only for points, so an invisible dense grid of points
("the plane" trace) sits under the data: a click on empty space selects the nearest grid
point, whose x, y come back like any point's. `click_from_selection` turns that selection
back into a `Click`. The clicked place is marked by Plotly's own `selected` marker style in
the browser, so the figure sent from Python never changes with a click.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.colors import class_color
from jlml_core.figures.images import png_data_url
from jlml_core.figures.payload import typed_array
from jlml_core.inference import latent

GRID_SIZE = 120  # plane points per side: about 5 px apart on a 600 px plot
POINT_SIZE = 4
POINT_OPACITY = 0.75
MARK_COLOR = "#000000"
MARK_SIZE = 13


def axis_titles(projection: latent.Projection) -> tuple[str, str]:
    """Axis names of the plane: the code's own axes, or the two principal components."""
    dim = projection.components.shape[1]
    if dim == 1:
        return "z₁", "(unused: 1-D latent space)"
    if dim == 2:
        return "z₁", "z₂"
    first, second = (100 * projection.explained_variance_ratio).tolist()
    return f"PC 1 ({first:.0f}% of variance)", f"PC 2 ({second:.0f}% of variance)"


def projection_note(projection: latent.Projection) -> str | None:
    """One sentence telling a viewer the plane is a projection (None when it is not)."""
    dim = projection.components.shape[1]
    if dim <= 2:
        return None
    shown = 100 * float(projection.explained_variance_ratio.sum())
    return (
        f"This {dim}-dimensional latent space is shown by its first two principal components, "
        f"which explain {shown:.0f}% of the codes' variance. A click in empty space decodes "
        "the point of this plane (through the mean code) under the cursor."
    )


def latent_scatter(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    *,
    grid_size: int = GRID_SIZE,
    background: np.ndarray | None = None,
    axis_titles: tuple[str, str] = ("z₁", "z₂"),
    height: int = 640,
) -> go.Figure:
    """Test codes in the plane, one WebGL trace per class, over a clickable invisible grid.

    Args:
        points: plane coordinates of the test codes (N, 2).
        labels: class of each code (N,); its row number travels in `customdata`.
        class_names: legend name of each class index.
        x_range, y_range: fixed axis ranges; the grid covers them exactly.
        grid_size: plane points per side of the clickable grid.
        background: optional image (H, W) in [0, 1] stretched under the points over the
            ranges (e.g. `manifold_image`), shown inverted: dark digits on white.
        axis_titles: names of the plane's axes.
        height: figure height in pixels.

    Unselected markers keep their normal look on every trace, so a click does not fade the
    other points; the selected point turns into a large black mark.
    """
    points = np.asarray(points, np.float32)
    labels = np.asarray(labels)
    rows = np.arange(len(points), dtype=np.int32)
    grid = latent.grid_points(x_range, y_range, grid_size)  # (G * G, 2)
    traces: list[go.Scattergl] = [
        go.Scattergl(
            x=typed_array(grid[:, 0]),
            y=typed_array(grid[:, 1]),
            mode="markers",
            name="plane",
            marker=dict(size=POINT_SIZE * 2, color=MARK_COLOR, opacity=0),
            selected=dict(marker=dict(opacity=1, size=MARK_SIZE, color=MARK_COLOR)),
            unselected=dict(marker=dict(opacity=0)),
            hoverinfo="none",
            showlegend=False,
        )
    ]
    for label, name in enumerate(class_names):
        mask = labels == label
        if not mask.any():
            continue
        traces.append(
            go.Scattergl(
                x=typed_array(points[mask, 0]),
                y=typed_array(points[mask, 1]),
                customdata=typed_array(rows[mask]),
                mode="markers",
                name=str(name),
                marker=dict(size=POINT_SIZE, color=class_color(label), opacity=POINT_OPACITY),
                selected=dict(marker=dict(opacity=1, size=MARK_SIZE, color=MARK_COLOR)),
                unselected=dict(marker=dict(opacity=POINT_OPACITY)),
                hovertemplate=f"class {name}<br>test #%{{customdata}}<extra></extra>",
            )
        )
    figure = go.Figure(traces)
    if background is not None:
        figure.add_layout_image(
            source=png_data_url(1.0 - np.asarray(background, np.float32)),
            xref="x",
            yref="y",
            x=x_range[0],
            y=y_range[1],
            sizex=x_range[1] - x_range[0],
            sizey=y_range[1] - y_range[0],
            sizing="stretch",
            xanchor="left",
            yanchor="top",
            layer="below",
            opacity=0.55,
        )
    figure.update_xaxes(range=list(x_range), title=axis_titles[0], zeroline=False)
    figure.update_yaxes(range=list(y_range), title=axis_titles[1], zeroline=False)
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),  # room for the mode bar above the legend
        legend=dict(title="class", itemsizing="constant"),
        hovermode="closest",
        clickmode="event+select",
        dragmode="pan",
        uirevision="latent-scatter",  # keep zoom and legend toggles if Plotly re-renders
    )
    return figure
