"""A VAE's posterior q(z|x) = N(mu, diag(exp(logvar))) on screen: ellipses, samples, overlays.

In the Latent Explorer's plane a posterior is drawn as its n-sigma ellipses: the points at
Mahalanobis distance n from the mean. For a 2-D latent space that is axis-aligned with radii
n exp(logvar / 2); for more dimensions the page shows a PCA plane z -> (z - m) P^T, through
which a Gaussian stays Gaussian with covariance P Sigma P^T (2 x 2), whose eigenvectors and
eigenvalues give the ellipse's axes and squared radii. An autoencoder has no posterior: its
code is a single point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .latent import Projection
from .latent_plots import from_typed_array, typed_array

ELLIPSE_POINTS = 64
SIGMA_STYLES = {1: dict(width=2.5, dash="solid"), 2: dict(width=1.5, dash="dash")}
YOURS_COLOR = "#d6006f"  # magenta: distinct from every class colour of the scatter
CLOUD_COLOR = "rgba(40, 40, 40, 0.35)"


def projected_covariance(logvar: np.ndarray, projection: Projection) -> np.ndarray:
    """Covariance (2, 2) in the plane of a diagonal Gaussian with log-variances `logvar` (D,)."""
    components = np.asarray(projection.components, np.float64)  # (2, D)
    variance = np.exp(np.asarray(logvar, np.float64))  # (D,)
    return (components * variance) @ components.T


def posterior_ellipse(
    mu: np.ndarray,
    logvar: np.ndarray,
    projection: Projection,
    n_sigma: float = 1.0,
    points: int = ELLIPSE_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The n-sigma ellipse of N(mu, diag(exp(logvar))) in the plane, as a closed outline.

    Args:
        mu: posterior mean (D,).
        logvar: posterior log-variance (D,).
        projection: the page's plane (identity for D = 2).
        n_sigma: Mahalanobis radius of the outline.
        points: vertices of the outline (the last repeats the first).

    Returns:
        x, y of the outline, each (points,).
    """
    centre = projection.project(np.asarray(mu, np.float32)[None])[0].astype(np.float64)  # (2,)
    eigenvalues, eigenvectors = np.linalg.eigh(projected_covariance(logvar, projection))
    radii = n_sigma * np.sqrt(np.clip(eigenvalues, 0.0, None))  # (2,)
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(angle), np.sin(angle)])  # (2, points)
    outline = centre[:, None] + eigenvectors @ (radii[:, None] * circle)  # (2, points)
    return outline[0], outline[1]


def sample_posterior(mu: np.ndarray, logvar: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n codes from N(mu, diag(exp(logvar))), reproducible by seed: (n, D)."""
    mu = np.asarray(mu, np.float64)
    noise = np.random.default_rng(seed).standard_normal((n, mu.shape[-1]))
    return (mu + np.exp(0.5 * np.asarray(logvar, np.float64)) * noise).astype(np.float32)


def ellipse_outlines(
    mu: np.ndarray,
    logvar: np.ndarray,
    projection: Projection,
    n_sigma: float = 1.0,
    points: int = 33,
) -> tuple[np.ndarray, np.ndarray]:
    """The n-sigma ellipses of many posteriors (N, D) joined into one line with NaN breaks.

    One trace with gaps draws hundreds of ellipses far faster than one trace each.

    Returns:
        x, y, each (N * (points + 1),).
    """
    xs, ys = [], []
    gap = np.array([np.nan])
    for m, lv in zip(np.asarray(mu), np.asarray(logvar), strict=True):
        x, y = posterior_ellipse(m, lv, projection, n_sigma, points)
        xs += [x, gap]
        ys += [y, gap]
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


Trace = dict[str, Any]  # a Plotly trace spec, e.g. {"type": "scattergl", "x": ..., ...}


def figure_of(traces: Sequence[Trace | go.BaseTraceType], layout: Any) -> go.Figure:
    """A figure from trace specs, built without Plotly's per-property validation.

    Validation makes building even a 5-trace figure cost about 9 ms (and its first use several
    hundred), too much for a click's 50 ms budget; unvalidated, with numbers as typed arrays
    and no template, building and serialising it takes about 1 ms. The specs here are fixed
    in code and tests rebuild them with validation on, so nothing is lost.
    """
    return go.Figure(data=list(traces), layout=layout, _validate=False)


def cloud_trace(
    mu: np.ndarray, logvar: np.ndarray | None, projection: Projection, n_sigma: float = 1.0
) -> Trace:
    """The 1-sigma ellipses of many test digits' posteriors as one trace (points for an AE)."""
    if logvar is None:
        points = projection.project(mu)
        return dict(
            type="scattergl", x=typed_array(points[:, 0]), y=typed_array(points[:, 1]),
            mode="markers", name="codes (AE: no posterior)", hoverinfo="skip",
            marker=dict(size=7, color="rgba(0,0,0,0)", line=dict(width=1.2, color="#333")),
        )  # fmt: skip
    x, y = ellipse_outlines(mu, logvar, projection, n_sigma)
    return dict(
        type="scattergl", x=typed_array(x), y=typed_array(y), mode="lines",
        name=f"{len(mu)} posteriors (1σ)", line=dict(width=1, color=CLOUD_COLOR),
        hoverinfo="skip", connectgaps=False,
    )  # fmt: skip


def posterior_traces(
    mu: np.ndarray,
    logvar: np.ndarray | None,
    projection: Projection,
    name: str = "your digit",
    color: str = YOURS_COLOR,
    sigmas: Sequence[int] = (1, 2),
) -> list[Trace]:
    """A marked code and, for a VAE, its posterior's 1-sigma and 2-sigma ellipses.

    WebGL traces, like the scatter's: Plotly draws its WebGL layer over SVG traces, so an SVG
    star would hide behind the 10,000 points.
    """
    traces = []
    if logvar is not None:
        for n_sigma in sigmas:
            x, y = posterior_ellipse(mu, logvar, projection, n_sigma)
            traces.append(
                dict(
                    type="scattergl", x=typed_array(x), y=typed_array(y), mode="lines",
                    name=f"{name}: {n_sigma}σ", hoverinfo="skip",
                    line=dict(color=color, **SIGMA_STYLES.get(n_sigma, {})),
                )
            )  # fmt: skip
    centre = projection.project(np.asarray(mu, np.float32)[None])[0]
    traces.append(
        dict(
            type="scattergl", x=[float(centre[0])], y=[float(centre[1])], mode="markers",
            name=name, hovertemplate=f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            marker=dict(symbol="star", size=20, color=color, line=dict(width=1.5, color="white")),
        )
    )  # fmt: skip
    return traces


def _values(values: Any) -> np.ndarray:
    """A trace's x or y as floats, whether a typed array, a list or an array."""
    if isinstance(values, dict):
        return from_typed_array(values).astype(np.float64)
    return np.asarray(values if values is not None else [], np.float64)


def with_traces(figure: go.Figure, traces: Sequence[Trace]) -> go.Figure:
    """A new figure: `figure`'s traces and layout plus `traces` on top (`figure` is unchanged).

    The cached scatter is shared by every session, so overlays go on a copy. Its axis ranges
    grow to hold the new traces: a collapsed posterior is as wide as the prior, far wider than
    the codes, and the point is to see that.
    """
    layout = figure.layout.to_plotly_json()  # a copy
    for axis in ("x", "y"):
        values = np.concatenate([_values(trace.get(axis)) for trace in traces] or [np.zeros(0)])
        values = values[np.isfinite(values)]
        current = layout.get(f"{axis}axis", {}).get("range")
        if current is None or len(values) == 0:
            continue
        low, high = min(current[0], values.min()), max(current[1], values.max())
        if (low, high) != tuple(current):
            margin = 0.04 * (high - low)
            layout[f"{axis}axis"] = {
                **layout[f"{axis}axis"],
                "range": [low - margin, high + margin],
            }
    return figure_of([*figure.data, *traces], layout)


def kl_to_prior(mu: np.ndarray, logvar: np.ndarray) -> float:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in nats (Kingma & Welling 2014, App. B)."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return float(0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar))
