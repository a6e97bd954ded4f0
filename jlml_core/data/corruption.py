"""Input corruption for denoising autoencoders (Vincent et al. 2008, "Extracting and Composing
Robust Features with Denoising Autoencoders").

The model sees a corrupted image and is scored against the clean one, so it must learn what a
digit looks like rather than copy its input. Two corruptions, as the literature uses them:
additive Gaussian noise (clipped back to [0, 1], the pixel range) and masking (a random share
of pixels set to 0).
"""

from __future__ import annotations

import torch


def corrupt(
    x: torch.Tensor,
    noise_std: float = 0.0,
    mask_fraction: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A corrupted copy of a float batch in [0, 1]; `x` itself when both amounts are 0.

    Args:
        x: images (B, C, H, W) in [0, 1], any device and memory layout.
        noise_std: standard deviation of the added Gaussian noise (0: none).
        mask_fraction: share of pixels set to 0, drawn independently per pixel (0: none).
        generator: a CPU generator for the random draws (repeatable corruption).

    Returns:
        A new tensor of x's shape, dtype, device and layout, clipped to [0, 1].
    """
    if noise_std < 0 or not 0 <= mask_fraction < 1:
        raise ValueError(
            f"noise_std must be >= 0 and mask_fraction in [0, 1), got {noise_std}, {mask_fraction}"
        )
    if noise_std == 0 and mask_fraction == 0:
        return x
    # Drawn on the CPU from the given generator, so the same seed corrupts the same way on
    # any device.
    out = x
    if noise_std > 0:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        out = (out + noise_std * noise.to(x.device)).clamp_(0.0, 1.0)
    if mask_fraction > 0:
        keep = torch.rand(x.shape, generator=generator) >= mask_fraction
        out = out * keep.to(device=x.device, dtype=x.dtype)
    return out.contiguous(memory_format=_layout(x))


def _layout(x: torch.Tensor) -> torch.memory_format:
    if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format
