"""How a VQ-VAE uses its codebook: usage counts, perplexity and dead codes over a data set.

Perplexity exp(H(p)), with p the share of grid positions that chose each code, is the number
of equally used codes that would have the same entropy: K when every code is used equally, 1
when one code takes every position (van den Oord et al. 2017 and later VQ papers report it).
A dead code is one that no position of any image chose.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch

from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.nn.vq import VQVAE


class CodebookUsage(NamedTuple):
    """Codebook use over a set of images.

    Attributes:
        counts: (K,) int64, how many grid positions chose each code.
        perplexity: exp of the entropy (nats) of `counts / counts.sum()`, between 1 and K.
        used: codes chosen at least once.
        dead: codes never chosen (K - used).
    """

    counts: np.ndarray
    perplexity: float
    used: int
    dead: int


def is_vq(model: object) -> bool:
    """True for a VQ-VAE (pages and metrics branch on it)."""
    return isinstance(model, VQVAE)


@torch.inference_mode()
def code_index_maps(model: VQVAE, images: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """The chosen code at each grid position of uint8 images (N, H, W) -> (N, h, w) int64."""
    model.eval()
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    maps = [
        model.code_indices(prepare_batch(images[start : start + batch_size], device, channels_last))
        for start in range(0, len(images), batch_size)
    ]
    if not maps:
        return np.zeros((0, *model.grid[1:]), np.int64)
    return torch.cat(maps).cpu().numpy()


def usage_from_indices(indices: np.ndarray, codebook_size: int) -> CodebookUsage:
    """Usage counts, perplexity and dead codes of index maps (any shape) into K codes."""
    counts = np.bincount(np.asarray(indices).ravel(), minlength=codebook_size).astype(np.int64)
    total = counts.sum()
    if total == 0:
        return CodebookUsage(counts, 1.0, 0, codebook_size)
    p = counts[counts > 0] / total
    entropy = float(-(p * np.log(p)).sum())  # nats
    used = int((counts > 0).sum())
    return CodebookUsage(counts, math.exp(entropy), used, codebook_size - used)


def codebook_usage(model: VQVAE, images: torch.Tensor) -> CodebookUsage:
    """`usage_from_indices` of the model's code maps of uint8 images (N, H, W)."""
    return usage_from_indices(code_index_maps(model, images), model.codebook_size)


def codebook_metrics(model: VQVAE, images: torch.Tensor) -> dict[str, Any]:
    """The codebook's test-set numbers as the zoo manifest records them (plain JSON).

    Keys: ``codebook_size`` (K), ``codebook_used``, ``codebook_dead``, ``codebook_perplexity``,
    and ``vq_bits_per_image``: the information a code map can carry, h * w * log2 K bits.
    """
    usage = codebook_usage(model, images)
    positions = model.grid[1] * model.grid[2]
    return {
        "codebook_size": model.codebook_size,
        "codebook_used": usage.used,
        "codebook_dead": usage.dead,
        "codebook_perplexity": usage.perplexity,
        "vq_bits_per_image": positions * math.log2(model.codebook_size),
    }
