"""The latent plane decoded: the extent of a set of codes, the cells of a grid over it, and the
images a point or a whole grid of points decodes to."""

from __future__ import annotations

import numpy as np

from jlml_core.inference import latent
from jlml_core.nn.models import Autoencoder


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
