"""Latent traversals: one digit's code with one dimension swept, decoded (Higgins et al. 2017,
"beta-VAE", fig. 1-2 draw these).

A row holds every latent value but one at the chosen digit's code and sets that one dimension
to each of the columns' values, in prior units: -3..3 spans 99.7 % of N(0, 1). A dimension the
model switched off decodes the same digit across its row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jlml_core.inference.latent import ImageOutput, decode_points
from jlml_core.nn.models import Autoencoder


def traversal_values(count: int = 9, limit: float = 3.0) -> np.ndarray:
    """`count` evenly spaced values from -limit to limit: (count,)."""
    if count < 2 or limit <= 0:
        raise ValueError(f"need count >= 2 and limit > 0, got {count}, {limit}")
    return np.linspace(-limit, limit, count, dtype=np.float32)


def traversal_codes(code: np.ndarray, dims: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Copies of `code` (D,) with dimension dims[r] set to values[c]: (R, C, D).

    Raises:
        ValueError: for a dimension outside 0..D-1.
    """
    code = np.asarray(code, np.float32).reshape(-1)
    if any(not 0 <= d < len(code) for d in dims):
        raise ValueError(f"dimensions {list(dims)} outside 0..{len(code) - 1}")
    values = np.asarray(values, np.float32)
    codes = np.tile(code, (len(dims), len(values), 1))  # (R, C, D)
    for row, dim in enumerate(dims):
        codes[row, :, dim] = values
    return codes


def traverse(
    model: Autoencoder,
    code: np.ndarray,
    dims: Sequence[int],
    values: np.ndarray,
    output: ImageOutput = "sigmoid",
) -> np.ndarray:
    """Decode the traversal of `code` (D,) along `dims` over `values`: (R, C, H, W) in [0, 1].

    Args:
        model: a trained model in eval mode.
        code: the digit's code (a VAE's posterior mean).
        dims: the rows' dimensions, e.g. `LatentDimensions.order[:10]`.
        values: the columns' values (`traversal_values`).
        output: how logits become pixels (`latent.logits_to_images`).
    """
    codes = traversal_codes(code, dims, values)  # (R, C, D)
    images = decode_points(model, codes.reshape(-1, codes.shape[-1]), output)  # (R*C, H, W)
    return images.reshape(len(dims), len(values), *images.shape[1:])
