"""Batches as the models take them: uint8 (B, H, W) -> float (B, 1, H, W) in [0, 1].

Training, inference and evaluation all prepare batches here, so none of them needs another's
module for it (inference never imports training).
"""

from __future__ import annotations

import torch

from jlml_core.nn.models import Autoencoder


def to_float_batch(images_uint8: torch.Tensor) -> torch.Tensor:
    """Converts a batch of uint8 images to the float input the models expect.

    Args:
        images_uint8: ``(B, H, W)`` uint8 pixels in 0..255.

    Returns:
        ``(B, 1, H, W)`` float32 in [0, 1], on the same device.

    Raises:
        ValueError: If the input is not a 3-D uint8 tensor.
    """
    if images_uint8.ndim != 3 or images_uint8.dtype != torch.uint8:
        raise ValueError(
            f"expected (B, H, W) uint8 images, got {tuple(images_uint8.shape)} {images_uint8.dtype}"
        )
    return images_uint8.unsqueeze(1).to(torch.float32).div_(255.0)  # (B, 1, H, W)


def uses_channels_last(model: Autoencoder) -> bool:
    """Conv models train faster in NHWC; dense ones gain nothing from it."""
    return any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in model.modules())


def prepare_batch(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 (B, H, W) -> float (B, 1, H, W) in [0, 1] on `device`, in the model's layout."""
    x = to_float_batch(images.to(device, non_blocking=True))
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
