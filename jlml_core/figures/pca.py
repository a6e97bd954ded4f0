"""The principal angles between a linear autoencoder's decoder and PCA (arrays -> go.Figure)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.template import new_figure

BAR_COLOR = "#4c72b0"
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10))


def principal_angles_figure(angles_degrees: np.ndarray, height: int = 280) -> go.Figure:
    """One bar per principal angle (ascending, in degrees) on a 0-90 degree axis, so near-zero
    bars read as "the same subspace" and a 90-degree bar as a direction PCA does not have.

    Args:
        angles_degrees: the angles from `analysis.pca.principal_angles`, (k,).
        height: figure height in pixels.
    """
    angles = np.asarray(angles_degrees, np.float64)
    labels = [f"θ{i + 1}" for i in range(len(angles))]
    figure = new_figure(
        go.Bar(
            x=labels,
            y=angles,
            marker_color=BAR_COLOR,
            text=[f"{a:.2f}°" for a in angles],
            textposition="outside",
            hovertemplate="%{x}: %{y:.3f}°<extra></extra>",
        )
    )
    largest = float(angles.max()) if len(angles) else 0.0
    figure.update_layout(
        height=height,
        title=f"Principal angles to PCA's subspace (largest {largest:.2f}°)",
        yaxis=dict(title="degrees", range=[0, 90], dtick=15),
        xaxis_title="angle, smallest first",
        showlegend=False,
        **_LAYOUT,
    )
    return figure
