"""Figures of the latent space as it forms during training (`latent_history` snapshots).

One pure function draws one snapshot; the Train page redraws it live as snapshots arrive and
the Model Zoo page replays a stored `LatentHistory` with it. Both keep the axis ranges fixed
across snapshots (`history_extent`, or ranges that only grow while training runs), so a digit
that moves on screen moved in latent space, not because the axes rescaled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.colors import class_color
from jlml_core.figures.template import new_figure
from jlml_core.inference import latent
from jlml_core.inference.plane import plane_extent

Range = tuple[float, float]

POINT_SIZE = 4
POINT_OPACITY = 0.7


def plane_points(mu: np.ndarray, projection: latent.Projection | None = None) -> np.ndarray:
    """Codes (N, D) -> plane coordinates (N, 2).

    D = 2 is drawn as is and D = 1 along the x axis (y = 0). Wider codes need a projection;
    without one, the 2-D PCA of these very codes is used (`latent.fit_projection`).
    """
    mu = np.asarray(mu, np.float32)
    if mu.ndim != 2:
        raise ValueError(f"Codes must be (N, D), got shape {mu.shape}.")
    if mu.shape[1] == 1:
        return np.concatenate([mu, np.zeros_like(mu)], axis=1)
    if mu.shape[1] == 2 and projection is None:
        return mu
    return (projection or latent.fit_projection(mu)).project(mu)


def history_extent(mu_all: np.ndarray, margin: float = 0.08) -> tuple[Range, Range]:
    """Axis ranges that hold every snapshot's plane points, for a replay with fixed axes.

    Args:
        mu_all: plane points of all snapshots, (T, N, 2) or (N, 2); a (T, N, 1) or (N, 1)
            array of 1-D codes gets y = 0. Project wider codes first (`plane_points` with
            one shared projection).
        margin: share of the span added on each side.

    Returns:
        (x_range, y_range); (-3, 3) each when there are no finite points.
    """
    points = np.asarray(mu_all, np.float64)
    if points.ndim < 2 or points.shape[-1] > 2:
        raise ValueError(f"Expected plane points (..., 2) or codes (..., 1), got {points.shape}.")
    points = points.reshape(-1, points.shape[-1])
    if points.shape[1] == 1:
        points = np.concatenate([points, np.zeros_like(points)], axis=1)
    points = points[np.isfinite(points).all(axis=1)]
    return plane_extent(points, margin)


def grow_extent(current: tuple[Range, Range] | None, points: np.ndarray) -> tuple[Range, Range]:
    """`current` widened (never narrowed) to hold `points` (N, 2), for axes during a live run.

    While training runs the later snapshots are unknown, so the axes start around the first
    snapshot and only grow, by at least a quarter of their span at a time: they change rarely
    and the picture does not jump back and forth.
    """
    wanted = history_extent(points)
    if current is None:
        return wanted
    grown = []
    for (low, high), (want_low, want_high) in zip(current, wanted, strict=True):
        step = 0.25 * (high - low)
        if want_low < low:
            low = min(want_low, low - step)
        if want_high > high:
            high = max(want_high, high + step)
        grown.append((float(low), float(high)))
    return grown[0], grown[1]


def snapshot_scatter(
    mu: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str,
    x_range: Range,
    y_range: Range,
    logvar: np.ndarray | None = None,
    axis_titles: tuple[str, str] = ("z₁", "z₂"),
    height: int = 520,
) -> go.Figure:
    """One snapshot's codes in the plane, coloured by class, on fixed axes.

    Args:
        mu: plane coordinates (N, 2) of the recorded digits (see `plane_points`); (N, 1)
            codes are drawn along the x axis.
        labels: class index of each digit (N,).
        class_names: legend name of each class index.
        title: figure title, e.g. the epoch and losses of the snapshot.
        x_range, y_range: fixed axis ranges (`history_extent` or `grow_extent`).
        logvar: optional posterior log-variances (N, D); the hover then shows each digit's
            RMS posterior standard deviation.
        axis_titles: names of the plane's axes ("PC 1", "PC 2" for a projection).
        height: figure height in pixels.

    Returns:
        SVG scatter (one trace per class, so legend clicks hide classes); a few thousand
        points, and redrawing SVG often is kinder to browsers than many WebGL contexts.
    """
    points = plane_points(mu) if np.asarray(mu).shape[-1] == 1 else np.asarray(mu, np.float32)
    labels = np.asarray(labels)
    if len(labels) != len(points):
        raise ValueError(f"{len(points)} codes but {len(labels)} labels.")
    sigma = None
    if logvar is not None:
        sigma = np.sqrt(np.exp(np.asarray(logvar, np.float64)).mean(axis=1))  # (N,)
    figure = new_figure()
    for label, name in enumerate(class_names):
        mask = labels == label
        if not mask.any():
            continue
        hover = f"class {name}<br>(%{{x:.2f}}, %{{y:.2f}})"
        figure.add_trace(
            go.Scatter(
                x=points[mask, 0],
                y=points[mask, 1],
                customdata=None if sigma is None else sigma[mask],
                mode="markers",
                name=str(name),
                marker=dict(size=POINT_SIZE, color=class_color(label), opacity=POINT_OPACITY),
                hovertemplate=hover
                + ("" if sigma is None else "<br>posterior σ %{customdata:.2f}")
                + "<extra></extra>",
            )
        )
    figure.update_xaxes(range=list(x_range), title=axis_titles[0], zeroline=False)
    figure.update_yaxes(range=list(y_range), title=axis_titles[1], zeroline=False)
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(title="class", itemsizing="constant"),
        hovermode="closest",
        uirevision="snapshot-scatter",  # legend toggles survive a redraw with new codes
    )
    return figure
