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

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import plotly.graph_objects as go

from . import latent
from .images import png_bytes
from .models import Autoencoder
from .plots import class_color

ClickKind = Literal["digit", "plane"]

GRID_SIZE = 120  # plane points per side: about 5 px apart on a 600 px plot
POINT_SIZE = 4
POINT_OPACITY = 0.75
MARK_COLOR = "#000000"
MARK_SIZE = 13


class Click(NamedTuple):
    """What a click chose: a test digit (`row` is its test-set index) or a place in the plane.

    `x`, `y` are plane coordinates (projected for a latent space of more than 2 dimensions).
    """

    kind: ClickKind
    row: int | None
    x: float
    y: float


def click_from_selection(selection: Mapping[str, Any] | None) -> Click | None:
    """Read a Streamlit Plotly selection (`event.selection` or its dict) as a `Click`.

    Digit points carry their test-set row in `customdata` (a point's index counts within
    its own trace only); plane points carry none. With several points selected (a
    shift-click), the last one listed wins. Anything unreadable gives None.
    """
    if not selection:
        return None
    points = selection.get("points") or []
    for point in reversed(points):
        try:
            x, y = float(point["x"]), float(point["y"])
        except (KeyError, TypeError, ValueError):
            continue
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        row = point.get("customdata")
        if isinstance(row, Sequence) and not isinstance(row, str):
            row = row[0] if len(row) else None
        if row is None:
            return Click("plane", None, x, y)
        try:
            return Click("digit", int(row), x, y)
        except (TypeError, ValueError):
            return Click("plane", None, x, y)
    return None


def plane_extent(
    points: np.ndarray, margin: float = 0.08
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold every point (N, 2) plus `margin` of the span on each side.

    An axis along which all points agree (a 1-D latent space has y = 0 everywhere) gets the
    other axis's span, so the plane never collapses to a sliver.
    """
    points = np.asarray(points, np.float64)
    if len(points) == 0 or not np.isfinite(points).all():
        return (-3.0, 3.0), (-3.0, 3.0)
    low, high = points.min(axis=0), points.max(axis=0)
    span = high - low
    widest = span.max() if span.max() > 1e-6 else 1.0
    span = np.where(span > 1e-6, span, widest)
    center, half = (low + high) / 2, span * (0.5 + margin)
    return (float(center[0] - half[0]), float(center[0] + half[0])), (
        float(center[1] - half[1]),
        float(center[1] + half[1]),
    )


def cell_centers(x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> np.ndarray:
    """Centres of an n x n tiling of the rectangle, rows top to bottom: (n * n, 2).

    Decoding these and tiling the images with `latent.tile(..., pad=0)` gives a mosaic that
    covers the rectangle exactly, each digit sitting where its code lies.
    """
    half_x = (x_range[1] - x_range[0]) / (2 * n)
    half_y = (y_range[1] - y_range[0]) / (2 * n)
    return latent.grid_points(
        (x_range[0] + half_x, x_range[1] - half_x), (y_range[0] + half_y, y_range[1] - half_y), n
    )


def manifold_image(
    model: Autoencoder,
    projection: latent.Projection,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    n: int,
    output: latent.ImageOutput = "sigmoid",
) -> np.ndarray:
    """Decoded digits tiled over a rectangle of the plane: (n * H, n * W) floats in [0, 1]."""
    codes = projection.lift(cell_centers(x_range, y_range, n))  # (n * n, D)
    return latent.tile(latent.decode_points(model, codes, output), n, pad=0)


def decode_position(
    model: Autoencoder,
    projection: latent.Projection,
    x: float,
    y: float,
    output: latent.ImageOutput = "sigmoid",
) -> tuple[np.ndarray, np.ndarray]:
    """The code at plane position (x, y) and its decoded image: ((D,), (H, W))."""
    code = projection.lift(np.array([[x, y]], np.float32))  # (1, D)
    return code[0], latent.decode_points(model, code, output)[0]


def image_output_for(loss: str) -> latent.ImageOutput:
    """Show a continuous-Bernoulli model's mean image; other models' sigmoid of the logits."""
    return "cb_mean" if loss == "cb" else "sigmoid"


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


def typed_array(values: np.ndarray) -> dict[str, str]:
    """A numeric array in Plotly's base64 typed-array form, `{"dtype": "f4", "bdata": ...}`.

    Plotly would produce the same JSON from a numpy array, but only after walking and copying
    it on every serialisation; handing it over pre-encoded halves the time Streamlit spends
    sending the 24,400-point figure on each click.
    """
    values = np.ascontiguousarray(values)
    if values.dtype.kind == "f":
        values, dtype = values.astype("<f4", copy=False), "f4"
    elif len(values) and values.min() >= 0 and values.max() < 2**16:
        # Row numbers of a 10,000-image test set: 2 bytes each instead of 4 makes the scatter's
        # JSON, which Streamlit re-serialises and hashes on every click, 14 % smaller.
        values, dtype = values.astype("<u2", copy=False), "u2"
    else:
        values, dtype = values.astype("<i4", copy=False), "i4"
    return {"dtype": dtype, "bdata": base64.b64encode(values.tobytes()).decode("ascii")}


def from_typed_array(spec: Mapping[str, str]) -> np.ndarray:
    """Inverse of `typed_array` (for tests and for reading a figure back)."""
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype="<" + spec["dtype"])


def _png_data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


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
            source=_png_data_url(1.0 - np.asarray(background, np.float32)),
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
