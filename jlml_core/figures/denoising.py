"""The denoising figure: PSNR against the corruption level, one line per model (arrays -> figure).

The dotted grey line is the corrupted input's own PSNR, what a model that returned its input
would score: a model helps wherever its line runs above it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.template import new_figure

_MODEL_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10))
INPUT_NAME = "noisy input (no model)"


def _finite(values: Sequence[float] | np.ndarray) -> list[float | None]:
    """inf (an uncorrupted input's PSNR) and nan become gaps: Plotly cannot draw them."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, np.float64)]


def psnr_curve_figure(
    levels: Sequence[float] | np.ndarray,
    model_psnr: Mapping[str, Sequence[float] | np.ndarray],
    input_psnr: Sequence[float] | np.ndarray | None = None,
    level_label: str = "noise σ",
    marker: float | None = None,
    height: int = 380,
) -> go.Figure:
    """PSNR (dB) of each model's output against the clean images, by corruption level.

    Args:
        levels: the corruption levels (L,), e.g. sigmas 0..1.
        model_psnr: a line name (the model's label) -> its PSNR at each level (L,).
        input_psnr: the corrupted input's PSNR (L,), drawn dotted grey; None leaves it out.
        level_label: the x axis's title.
        marker: a level to mark with a vertical line (the page's current slider value).
        height: figure height in pixels.

    Returns:
        The figure, one trace per model (then the input's line).
    """
    x = [float(v) for v in levels]
    figure = new_figure()
    for index, (name, values) in enumerate(model_psnr.items()):
        if len(values) != len(x):
            raise ValueError(f"{name}: {len(values)} PSNR values for {len(x)} levels")
        figure.add_trace(
            go.Scatter(
                x=x,
                y=_finite(values),
                name=name,
                mode="lines+markers",
                line=dict(color=_MODEL_COLORS[index % len(_MODEL_COLORS)], width=2.5),
                hovertemplate=f"{name}<br>{level_label} %{{x}}: %{{y:.2f}} dB<extra></extra>",
            )
        )
    if input_psnr is not None:
        figure.add_trace(
            go.Scatter(
                x=x,
                y=_finite(input_psnr),
                name=INPUT_NAME,
                mode="lines",
                line=dict(color="#888888", dash="dot", width=2),
                hovertemplate=f"noisy input<br>{level_label} %{{x}}: %{{y:.2f}} dB<extra></extra>",
            )
        )
    if marker is not None:
        figure.add_vline(x=float(marker), line=dict(color="#444444", width=1, dash="dash"))
    figure.update_layout(
        title=f"Output against the clean digit: PSNR by {level_label} (higher is better)",
        xaxis_title=level_label,
        yaxis_title="PSNR (dB)",
        height=height,
        legend=dict(orientation="h", yanchor="top", y=-0.2, x=0),
        **_LAYOUT,
    )
    return figure
