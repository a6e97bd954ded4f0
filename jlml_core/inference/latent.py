"""Everything the views compute in latent space, as plain functions returning numpy arrays.

Encodings, decodes, grids over the plane, interpolations, nearest neighbours, a 2-D PCA
projection with its inverse (so a click in the projected plane of a higher-dimensional
space still decodes), and samples from the prior.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch

from jlml_core.config import Precision
from jlml_core.data.batches import to_float_batch, uses_channels_last
from jlml_core.inference.decoder import inference_decoder
from jlml_core.nn.models import Autoencoder, Labels, class_labels
from jlml_core.runtime import precision as precisions

ImageOutput = Literal["sigmoid", "cb_mean"]
Interpolation = Literal["linear", "spherical"]


class Encodings(NamedTuple):
    """Codes of a set of images: `mu` (N, D), and `logvar` (N, D) for a VAE, else None."""

    mu: np.ndarray
    logvar: np.ndarray | None


def _device(model: Autoencoder) -> torch.device:
    return next(model.parameters()).device


def _layout(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if uses_channels_last(model) else x


@torch.inference_mode()
def encode_images(
    model: Autoencoder, images: torch.Tensor, batch_size: int = 1000, labels: Labels = None
) -> Encodings:
    """Encode uint8 images (N, H, W) in batches; the model must be in eval mode.

    Args:
        model: a trained model.
        images: uint8 tensor (N, H, W).
        batch_size: images per forward pass (memory only; same result).
        labels: (N,) class of each image, which a conditional model needs (q(z|x, y));
            None for any other model.
    """
    mus, logvars = [], []
    labels = class_labels(model, labels, len(images))
    for start in range(0, len(images), batch_size):
        x = _layout(model, to_float_batch(images[start : start + batch_size].to(_device(model))))
        y = None if labels is None else labels[start : start + batch_size].to(x.device)
        mu, logvar = model.encode(x) if y is None else model.encode(x, y)
        mus.append(mu.float().cpu())
        if logvar is not None:
            logvars.append(logvar.float().cpu())
    latent_dim = model.latent_dim
    mu = torch.cat(mus).numpy() if mus else np.zeros((0, latent_dim), np.float32)
    logvar = torch.cat(logvars).numpy() if logvars else None
    return Encodings(mu, logvar)


def logits_to_images(logits: torch.Tensor, output: ImageOutput = "sigmoid") -> np.ndarray:
    """Decoder logits (N, 1, H, W) -> images (N, H, W) float32 in [0, 1].

    "sigmoid" shows the decoder's parameter lambda (the Bernoulli mean for BCE models);
    "cb_mean" shows the mean of a continuous Bernoulli with that lambda.
    """
    from jlml_core.nn.losses import (
        cb_mean,  # local: keeps this module importable without the loss zoo
    )

    pixels = torch.sigmoid(logits) if output == "sigmoid" else cb_mean(logits)
    return pixels[:, 0].float().cpu().numpy()


@torch.inference_mode()
def decode_points(
    model: Autoencoder,
    z: np.ndarray,
    output: ImageOutput = "sigmoid",
    batch_size: int | None = None,
    precision: Precision = "auto",
    labels: Labels = None,
) -> np.ndarray:
    """Decode codes (N, D) to images (N, H, W) float32 in [0, 1]; a conditional model needs
    `labels`: (N,) classes, or one class for all the codes.

    "auto" decodes in bf16 on a CPU with bf16 instructions (the dashboard's path), through
    `inference_decoder`. Against fp32, pixels in [0, 1] of the default model differ by 5e-4 on
    average and 0.045 at most (tests/core/runtime/test_precision.py); a continuous-Bernoulli
    mean misses by more at a few pixels (docs/benchmarks.md). Metrics
    pass "fp32". `batch_size` (codes per forward pass; memory and speed only) defaults to the
    decoder's own.
    """
    z = np.asarray(z, dtype=np.float32).reshape(-1, model.latent_dim)
    labels = class_labels(model, labels, len(z))
    device = _device(model)
    decoder = inference_decoder(model, precisions.resolve_precision(precision, device))
    batch_size = batch_size or decoder.batch_size
    images = []
    for start in range(0, len(z), batch_size):
        codes = torch.from_numpy(z[start : start + batch_size]).to(device)
        if labels is not None:  # the decoder's input: (B, D + K)
            codes = model.with_label(codes, labels[start : start + batch_size].to(device))
        images.append(logits_to_images(decoder.decode(codes), output))  # from fp32 logits
    return np.concatenate(images) if images else np.zeros((0, *model.image_shape[1:]), np.float32)


@torch.inference_mode()
def reconstruct(
    model: Autoencoder, images: torch.Tensor, output: ImageOutput = "sigmoid", labels: Labels = None
) -> np.ndarray:
    """Encode uint8 images (N, H, W) and decode their posterior means -> (N, H, W) floats
    (a conditional model with the images' `labels` (N,))."""
    if len(images) == 0:
        return np.zeros((0, *images.shape[1:]), np.float32)
    mu = encode_images(model, images, labels=labels).mu
    return decode_points(model, mu, output, labels=labels)


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> np.ndarray:
    """An n x n grid over a rectangle, rows from top (high y) to bottom: (n * n, 2).

    Top-to-bottom rows make a decoded mosaic read like the scatter plot it covers.
    """
    if n < 1:
        raise ValueError("A grid needs at least one point per side.")
    xs = np.linspace(*x_range, n, dtype=np.float32)
    ys = np.linspace(*y_range, n, dtype=np.float32)[::-1]
    gx, gy = np.meshgrid(xs, ys)  # (n, n) each, row = one y value
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


class Projection(NamedTuple):
    """An affine map between latent space (D) and a plane (2): z ~ mean + p @ components.

    For D = 2 it is the identity; for D = 1 the plane's y is ignored.
    """

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (2, D), orthonormal rows
    explained_variance_ratio: np.ndarray  # (2,)

    @property
    def is_identity(self) -> bool:
        return self.components.shape[1] <= 2 and bool(np.allclose(self.mean, 0))

    def project(self, z: np.ndarray) -> np.ndarray:
        """Codes (N, D) -> plane coordinates (N, 2)."""
        return ((np.asarray(z, np.float32) - self.mean) @ self.components.T).astype(np.float32)

    def lift(self, points: np.ndarray) -> np.ndarray:
        """Plane coordinates (N, 2) -> codes (N, D) on the plane through the data mean."""
        return (np.asarray(points, np.float32) @ self.components + self.mean).astype(np.float32)


def fit_projection(codes: np.ndarray) -> Projection:
    """2-D PCA of codes (N, D); the identity when D <= 2 so clicks map to exact codes."""
    codes = np.asarray(codes, np.float64)
    dim = codes.shape[1]
    if dim <= 2:
        components = np.eye(2, dim, dtype=np.float32)  # D=1: y maps to nothing
        return Projection(np.zeros(dim, np.float32), components, np.ones(2, np.float32) / 2)
    mean = codes.mean(axis=0)
    _, singular, vt = np.linalg.svd(codes - mean, full_matrices=False)
    # Fix each component's sign so the same model always gives the same picture.
    signs = np.sign(vt[:2, np.argmax(np.abs(vt[:2]), axis=1)].diagonal())
    components = vt[:2] * signs[:, None]
    variance = singular**2
    ratio = variance[:2] / variance.sum()
    return Projection(
        mean.astype(np.float32), components.astype(np.float32), ratio.astype(np.float32)
    )


def interpolate(
    z_start: np.ndarray, z_end: np.ndarray, steps: int, method: Interpolation = "linear"
) -> np.ndarray:
    """Codes from `z_start` to `z_end` inclusive: (steps, D).

    "spherical" is slerp (Shoemake 1985; White 2016, "Sampling generative networks"), which
    keeps interpolants at the typical radius of a Gaussian prior instead of cutting inside it.
    """
    if steps < 2:
        raise ValueError("Interpolation needs at least 2 steps.")
    a, b = np.asarray(z_start, np.float64), np.asarray(z_end, np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]  # (steps, 1)
    if method == "linear":
        return ((1 - t) * a + t * b).astype(np.float32)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    cos = np.dot(a, b) / max(norm_a * norm_b, 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    # Parallel: lerp is exact. Antiparallel: no unique great circle, and sin(omega) ~ 0 would
    # blow the path up to ~1e16. Zero: no direction at all.
    if np.sin(omega) < 1e-6 or norm_a < 1e-12 or norm_b < 1e-12:
        return ((1 - t) * a + t * b).astype(np.float32)
    path = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return path.astype(np.float32)


def plane_grid(
    z_a: np.ndarray, z_b: np.ndarray, z_c: np.ndarray, n: int, margin: float = 0.0
) -> np.ndarray:
    """Codes on the plane through three encodings: (n, n, D), the original interpolation mosaic.

    Point (i, j) is z_a + s (z_b - z_a) + t (z_c - z_a) with s, t running over
    [-margin, 1 + margin] along columns and rows, so z_a is top-left, z_b top-right and z_c
    bottom-left.
    """
    a, b, c = (np.asarray(v, np.float32) for v in (z_a, z_b, z_c))
    s = np.linspace(-margin, 1 + margin, n, dtype=np.float32)
    t = s.copy()
    return a + s[None, :, None] * (b - a) + t[:, None, None] * (c - a)


def nearest(codes: np.ndarray, point: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of the k codes (N, D) closest to `point` (D,)."""
    codes = np.asarray(codes, np.float32)
    distances = np.linalg.norm(codes - np.asarray(point, np.float32), axis=1)
    k = min(k, len(codes))
    index = np.argpartition(distances, k - 1)[:k] if k < len(codes) else np.arange(len(codes))
    index = index[np.argsort(distances[index], kind="stable")]
    return index, distances[index]


def sample_prior(n: int, latent_dim: int, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
    """n codes from N(0, temperature^2 I), reproducible by seed: (n, latent_dim)."""
    if temperature < 0:
        raise ValueError("Temperature must be non-negative.")
    generator = np.random.default_rng(seed)
    return (generator.standard_normal((n, latent_dim)) * temperature).astype(np.float32)


def tile(images: np.ndarray, columns: int, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Lay images (N, H, W) out in a grid with `pad` pixels of `fill` between them."""
    images = np.asarray(images, np.float32)
    count, height, width = images.shape
    rows = max(1, -(-count // columns))
    # Each image with its padding below and to the right, then one transpose lays them out
    # (400 digits: 0.10 ms, where a Python loop over them took 0.25).
    cells = np.full((rows * columns, height + pad, width + pad), fill, np.float32)
    cells[:count, :height, :width] = images
    canvas = cells.reshape(rows, columns, height + pad, width + pad).transpose(0, 2, 1, 3)
    canvas = canvas.reshape(rows * (height + pad), columns * (width + pad))
    return np.ascontiguousarray(canvas[: canvas.shape[0] - pad, : canvas.shape[1] - pad])
