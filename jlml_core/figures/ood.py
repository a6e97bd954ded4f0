"""Out-of-distribution histograms: a model's scores of its own test images against another
dataset's, with an optional marker for one image (arrays -> go.Figure)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.template import new_figure

INSIDE_COLOR = "#4c72b0"
OUTSIDE_COLOR = "#dd8452"
MARK_COLOR = "#000000"
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10))


def shared_bins(
    inside: np.ndarray, outside: np.ndarray, bins: int = 60, tail: float = 0.5
) -> np.ndarray:
    """Bin edges (bins + 1,) shared by both histograms, spanning the pooled scores from the
    `tail` to the 100 - `tail` percentile, so a few extreme images do not squash the rest."""
    pooled = np.concatenate([np.asarray(inside), np.asarray(outside)])
    low, high = np.percentile(pooled, [tail, 100.0 - tail])
    if not high > low:
        high = low + 1.0
    return np.linspace(low, high, bins + 1)


def ood_histogram(
    inside: np.ndarray,
    outside: np.ndarray,
    *,
    inside_name: str,
    outside_name: str,
    score_name: str,
    auc: float | None = None,
    marker: float | None = None,
    marker_name: str = "your digit",
    bins: int = 60,
    height: int = 360,
) -> go.Figure:
    """Two overlaid histograms of scores, as shares of each set, and a line at `marker`.

    Scores beyond the shared range are counted in its end bins, so every image is in a bar.

    Args:
        inside: scores of the model's own test images, (N,).
        outside: scores of the other dataset's, (M,).
        inside_name: legend name of `inside` (e.g. "MNIST test digits").
        outside_name: legend name of `outside`.
        score_name: the x axis ("negative ELBO", "reconstruction loss"); nats.
        auc: the ROC AUC, shown in the title when given.
        marker: one image's score, drawn as a vertical line (None: no line).
        marker_name: the line's label.
        bins: number of bars.
        height: figure height in pixels.
    """
    edges = shared_bins(inside, outside, bins)
    centres = (edges[:-1] + edges[1:]) / 2  # (bins,)
    width = edges[1] - edges[0]
    figure = new_figure()
    for scores, name, color in (
        (inside, inside_name, INSIDE_COLOR),
        (outside, outside_name, OUTSIDE_COLOR),
    ):
        clipped = np.clip(np.asarray(scores, np.float64), edges[0], edges[-1])
        counts, _ = np.histogram(clipped, edges)
        figure.add_bar(
            x=centres,
            y=counts / max(len(scores), 1),
            width=width,
            name=f"{name} ({len(scores):,})",
            marker_color=color,
            opacity=0.6,
            hovertemplate=f"{name}<br>{score_name} %{{x:.1f}}<br>share %{{y:.3f}}<extra></extra>",
        )
    if marker is not None and np.isfinite(marker):
        shown = float(np.clip(marker, edges[0], edges[-1]))
        figure.add_vline(
            x=shown,
            line=dict(color=MARK_COLOR, width=2, dash="dash"),
            annotation_text=f"{marker_name}: {marker:.1f}",
            annotation_position="top",
        )
    title = f"{score_name[:1].upper()}{score_name[1:]} under the model (nats)"
    if auc is not None:
        title += f" · ROC AUC {auc:.3f}"
    figure.update_layout(
        barmode="overlay",
        height=height,
        title=title,
        xaxis_title=f"{score_name} (nats; higher = less like the training data)",
        yaxis_title="share of images",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"),
        **_LAYOUT,
    )
    return figure
