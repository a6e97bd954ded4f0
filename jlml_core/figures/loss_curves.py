"""Figures for comparing losses and models (arrays -> go.Figure), testable without Streamlit.

The loss curves follow Loaiza-Ganem & Cunningham (2019), "The continuous Bernoulli: fixing a
pervasive error in variational autoencoders", NeurIPS: binary cross-entropy treats a grey
pixel x in [0, 1] as if it were a Bernoulli outcome in {0, 1}; the continuous Bernoulli adds
the normaliser log C(lambda) that makes it a density on [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import sample_colorscale

from jlml_core.figures.colors import class_color
from jlml_core.figures.template import new_figure, new_subplots
from jlml_core.nn import losses

DEFAULT_PIXELS: tuple[float, ...] = (0.0, 0.2, 0.5, 0.8, 1.0)
# Distinct from the class colours on purpose: these lines are pixel values, not digits.
_PIXEL_SCALE = "Viridis"
_MODEL_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10))


def lambda_grid(n: int = 399, eps: float = 0.005) -> np.ndarray:
    """n decoder outputs lambda evenly spaced in [eps, 1 - eps] (the losses diverge at 0 and 1)."""
    return np.linspace(eps, 1.0 - eps, n)


def _logits(lambdas: np.ndarray) -> torch.Tensor:
    lam = torch.as_tensor(np.asarray(lambdas, np.float64))
    return torch.log(lam) - torch.log1p(-lam)  # inverse sigmoid, (N,)


def pixel_losses(x: float, lambdas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BCE and continuous Bernoulli NLL of one pixel value `x` for each decoder output lambda.

    Each lambda is scored as a one-pixel image, so the per-image values of `losses.bce` and
    `losses.continuous_bernoulli_nll` (reduction "none") are the per-pixel losses.

    Returns:
        (bce, cb_nll), each of shape (N,) in nats.
    """
    logits = _logits(lambdas)[:, None]  # (N, 1): N one-pixel images
    target = torch.full_like(logits, float(x))
    bce = losses.bce(logits, target, reduction="none")  # (N,)
    cb_nll = losses.continuous_bernoulli_nll(logits, target, reduction="none")
    return bce.numpy(), cb_nll.numpy()


def log_normalizer(lambdas: np.ndarray) -> np.ndarray:
    """log C(lambda) of the continuous Bernoulli for each lambda: (N,)."""
    return losses.cb_log_normalizer(_logits(lambdas)).numpy()


def pixel_colors(pixel_values: Sequence[float]) -> list[str]:
    """One colour per pixel value, dark for black pixels and light for white ones."""
    return sample_colorscale(_PIXEL_SCALE, [0.9 * float(v) for v in pixel_values])


def loss_curves_figure(
    pixel_values: Sequence[float] = DEFAULT_PIXELS, n_points: int = 399, height: int = 420
) -> go.Figure:
    """BCE (left) and continuous Bernoulli NLL (right) as functions of lambda, one line per x.

    A marker on each line shows where it is smallest: at lambda = x for BCE; further from 1/2
    for the continuous Bernoulli, whose mean (not lambda) equals x at its optimum.
    """
    lambdas = lambda_grid(n_points)
    figure = new_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.08,
        subplot_titles=("Binary cross-entropy", "Continuous Bernoulli NLL"),
    )
    for x, color in zip(pixel_values, pixel_colors(pixel_values), strict=True):
        for col, values in enumerate(pixel_losses(x, lambdas), start=1):
            best = int(np.argmin(values))
            figure.add_trace(
                go.Scatter(
                    x=lambdas,
                    y=values,
                    mode="lines",
                    line=dict(color=color, width=2.5),
                    name=f"x = {x:g}",
                    legendgroup=f"{x:g}",
                    showlegend=col == 1,
                    hovertemplate="λ=%{x:.3f}<br>loss=%{y:.3f}<extra>" + f"x = {x:g}</extra>",
                ),
                row=1,
                col=col,
            )
            figure.add_trace(
                go.Scatter(
                    x=[lambdas[best]],
                    y=[values[best]],
                    mode="markers",
                    marker=dict(color=color, size=10, line=dict(color="white", width=1.5)),
                    legendgroup=f"{x:g}",
                    showlegend=False,
                    hovertemplate=f"minimum for x = {x:g}: λ = {lambdas[best]:.3f}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    figure.update_xaxes(title_text="decoder output λ", range=[0, 1])
    figure.update_yaxes(title_text="loss per pixel (nats)", row=1, col=1)
    figure.update_layout(
        height=height, legend=dict(title="pixel value", orientation="h", y=-0.2), **_LAYOUT
    )
    return figure


def log_normalizer_figure(n_points: int = 399, height: int = 420) -> go.Figure:
    """log C(lambda): what BCE leaves out. Its minimum is log 2 at lambda = 1/2."""
    lambdas = lambda_grid(n_points)
    figure = new_figure(
        go.Scatter(
            x=lambdas,
            y=log_normalizer(lambdas),
            mode="lines",
            line=dict(color="#c44e52", width=2.5),
            name="log C(λ)",
            hovertemplate="λ=%{x:.3f}<br>log C=%{y:.3f}<extra></extra>",
        )
    )
    figure.add_hline(
        y=float(np.log(2.0)),
        line=dict(color="grey", dash="dot"),
        annotation_text="log 2 at λ = ½",
        annotation_position="top left",
    )
    figure.update_xaxes(title_text="decoder output λ", range=[0, 1])
    figure.update_yaxes(title_text="log C(λ) (nats)")
    figure.update_layout(height=height, title="log C(λ), the missing normaliser", **_LAYOUT)
    return figure


def cb_mean_figure(n_points: int = 399, height: int = 320) -> go.Figure:
    """Mean of the continuous Bernoulli against its parameter lambda, with the line mean = lambda.

    The mean lies between lambda and 1/2: a continuous-Bernoulli decoder's average image is
    greyer than the lambda image it outputs.
    """
    lambdas = lambda_grid(n_points)
    means = losses.cb_mean(_logits(lambdas)).numpy()
    figure = new_figure()
    figure.add_trace(
        go.Scatter(
            x=lambdas,
            y=lambdas,
            mode="lines",
            line=dict(color="grey", dash="dot"),
            name="λ itself",
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=lambdas,
            y=means,
            mode="lines",
            line=dict(color="#4c72b0", width=2.5),
            name="mean of CB(λ)",
            hovertemplate="λ=%{x:.3f}<br>mean=%{y:.3f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="λ", range=[0, 1])
    figure.update_yaxes(title_text="pixel value shown", range=[0, 1])
    figure.update_layout(
        height=height,
        title=dict(text="What a pixel shows: λ or the mean", font=dict(size=13)),
        legend=dict(orientation="h", y=-0.3),
        **_LAYOUT,
    )
    return figure


def training_curves_figure(
    histories: Mapping[str, Sequence[Mapping[str, float]]],
    height: int = 320,
    epochs: int | None = None,
) -> go.Figure:
    """Train (solid) and test (dashed) loss per epoch, one panel per model.

    Panels keep their own y axes: models trained with different losses measure different
    things (a continuous Bernoulli NLL can be negative), so one shared scale would mislead.

    Args:
        histories: model label -> per-epoch records with "epoch", "train_loss", "test_loss".
        height: figure height in pixels.
        epochs: fix the x axis to this many epochs (a live chart that fills up as it trains).
    """
    labels = list(histories) or ["(no history)"]
    figure = new_subplots(rows=1, cols=len(labels), subplot_titles=labels, horizontal_spacing=0.06)
    for col, label in enumerate(labels, start=1):
        records = histories.get(label, [])
        color = _MODEL_COLORS[(col - 1) % len(_MODEL_COLORS)]
        epoch_numbers = [r.get("epoch", i + 1) for i, r in enumerate(records)]
        for key, name, dash in (("train_loss", "train", "solid"), ("test_loss", "test", "dash")):
            figure.add_trace(
                go.Scatter(
                    x=epoch_numbers,
                    y=[r.get(key) for r in records],
                    mode="lines+markers",
                    line=dict(color=color, dash=dash, width=2),
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    hovertemplate="epoch %{x}<br>" + name + " loss %{y:.2f}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    longest = epochs or max((len(records) for records in histories.values()), default=0)
    figure.update_xaxes(title_text="epoch", dtick=1 if longest <= 12 else None)
    if epochs is not None:
        figure.update_xaxes(range=[0.7, epochs + 0.3])
    figure.update_yaxes(title_text="loss", row=1, col=1)
    figure.update_layout(height=height, legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return figure


def metric_bars_figure(
    labels: Sequence[str], values: Sequence[float | None], title: str, height: int = 320
) -> go.Figure:
    """One horizontal bar per model; models without the metric (None or NaN) are left out."""
    kept = [
        (label, float(value))
        for label, value in zip(labels, values, strict=True)
        if value is not None and np.isfinite(value)
    ]
    figure = new_figure(
        go.Bar(
            x=[value for _, value in kept],
            y=[label for label, _ in kept],
            orientation="h",
            marker_color=_MODEL_COLORS[0],
            hovertemplate="%{y}<br>%{x:.4g}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(
        height=max(height, 60 + 28 * len(kept)), title=title, xaxis_title=title, **_LAYOUT
    )
    return figure


def latent_scatter_figure(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    title: str = "",
    height: int = 340,
    show_legend: bool = False,
) -> go.Figure:
    """Codes in a plane (N, 2) coloured by class, one WebGL trace per class."""
    points = np.asarray(points)
    labels = np.asarray(labels)
    figure = new_figure()
    for index, name in enumerate(class_names):
        chosen = labels == index
        figure.add_trace(
            go.Scattergl(
                x=points[chosen, 0],
                y=points[chosen, 1],
                mode="markers",
                marker=dict(color=class_color(index), size=3, opacity=0.7),
                name=str(name),
                hovertemplate=f"{name}<extra></extra>",
            )
        )
    figure.update_yaxes(scaleanchor="x", scaleratio=1)
    figure.update_layout(
        height=height,
        title=dict(text=title, font=dict(size=13)),
        showlegend=show_legend,
        legend=dict(orientation="h", y=-0.12, itemsizing="constant", font=dict(size=11)),
        **{**_LAYOUT, "margin": dict(l=10, r=10, t=40, b=10)},
    )
    return figure


def class_distribution_figure(
    values: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    title: str = "",
    y_title: str = "",
    height: int = 320,
) -> go.Figure:
    """A box per class of a per-image quantity (N,), in the class colours."""
    values = np.asarray(values)
    labels = np.asarray(labels)
    figure = new_figure()
    for index, name in enumerate(class_names):
        figure.add_trace(
            go.Box(
                y=values[labels == index],
                name=str(name),
                marker_color=class_color(index),
                boxpoints=False,
                showlegend=False,
            )
        )
    figure.update_layout(
        height=height,
        title=dict(text=title, font=dict(size=13)),
        yaxis_title=y_title,
        **{**_LAYOUT, "margin": dict(l=10, r=10, t=40, b=10)},
    )
    return figure
