"""Posteriors as Plotly traces on the latent scatter: ellipses of one code, clouds of many.

The math (ellipses, samples, KL) lives in `jlml_core.inference.posterior`; this module only
turns it into trace specs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.payload import Trace, figure_of, from_typed_array, typed_array
from jlml_core.inference.latent import Projection
from jlml_core.inference.posterior import ellipse_outlines, posterior_ellipse

SIGMA_STYLES = {1: dict(width=2.5, dash="solid"), 2: dict(width=1.5, dash="dash")}


YOURS_COLOR = "#d6006f"  # magenta: distinct from every class colour of the scatter


CLOUD_COLOR = "rgba(40, 40, 40, 0.35)"


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
