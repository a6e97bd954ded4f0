"""Where tensors live: CUDA, then Apple MPS, then the CPU, unless $JLML_DEVICE names one."""

from __future__ import annotations

import os

import torch

DEVICE_ENV = "JLML_DEVICE"


def pick_device() -> torch.device:
    """CUDA, then Apple MPS, then CPU — or whatever $JLML_DEVICE names."""
    if name := os.environ.get(DEVICE_ENV):
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
