"""Encoder/decoder families, kept apart from the objective (AE or VAE) that uses them.

Each family is one entry in a plain dict registry. An encoder maps images (B, C, H, W) to a
feature vector (B, F); the model adds the latent heads. A decoder maps codes (B, D) to logits
(B, C, H, W). A user's own pair is one more `register_architecture` call, after which it
trains, caches, and shows in the CLI and dashboard like the built-in ones.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from jlml_core.nn.layers import Conv2dViaFold, ConvTranspose2dBiasAfter

ImageShape = tuple[int, int, int]  # (channels, height, width)


@dataclass(frozen=True)
class Architecture:
    """A named encoder/decoder pair.

    Attributes:
        name: registry key, used in configs and on the command line.
        build_encoder: (image_shape, hidden_dim) -> (module, feature_dim).
        build_decoder: (image_shape, latent_dim, hidden_dim) -> module returning logits.
        default_hidden_dim: width used when a config leaves `hidden_dim` as None.
        description: one line for menus and `--help`.
    """

    name: str
    build_encoder: Callable[[ImageShape, int], tuple[nn.Module, int]]
    build_decoder: Callable[[ImageShape, int, int], nn.Module]
    default_hidden_dim: int
    description: str


ARCHITECTURES: dict[str, Architecture] = {}
PLUGINS_ENV = "JLML_PLUGINS"


def register_architecture(architecture: Architecture, *, overwrite: bool = False) -> Architecture:
    """Add an encoder/decoder pair to the registry.

    Args:
        architecture: the pair to add.
        overwrite: replace an existing entry of the same name instead of raising.

    Returns:
        The architecture, so the call can be used as an expression.
    """
    if architecture.name in ARCHITECTURES and not overwrite:
        raise ValueError(f"An architecture named {architecture.name!r} is already registered.")
    ARCHITECTURES[architecture.name] = architecture
    return architecture


def load_plugins() -> None:
    """Import the modules named in $JLML_PLUGINS (comma-separated) so they can register.

    This is how a user architecture reaches the CLI and the dashboard, which do not import the
    user's code themselves.
    """
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ImportError(
                f"Could not import plugin module {module!r} listed in ${PLUGINS_ENV}: {error}"
            ) from error


def get_architecture(name: str) -> Architecture:
    """Look up an architecture by name, with the list of known ones in the error."""
    if name not in ARCHITECTURES:
        load_plugins()
    if name not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise KeyError(f"Unknown architecture {name!r}. Known architectures: {known}.")
    return ARCHITECTURES[name]


class Reshape(nn.Module):
    """Reshape the non-batch dims: (B, prod(shape)) -> (B, *shape)."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def _pixels(image_shape: ImageShape) -> int:
    channels, height, width = image_shape
    return channels * height * width


# Every ReLU below is in place: each follows a layer whose backward keeps its input, not its
# output, so nothing autograd needs is overwritten, and the values are the same bit for bit;
# it saves a pass over the activation and its allocation (fp32 evaluation of `cnn_shallow`
# 2.8 -> 2.4 s for the 10,000 test digits; docs/benchmarks.md, "Time to quality").

# --- dense: one hidden layer each way -------------------------------------------------------


def _dense_encoder(image_shape: ImageShape, hidden_dim: int) -> tuple[nn.Module, int]:
    module = nn.Sequential(
        nn.Flatten(), nn.Linear(_pixels(image_shape), hidden_dim), nn.ReLU(inplace=True)
    )
    return module, hidden_dim


def _dense_decoder(image_shape: ImageShape, latent_dim: int, hidden_dim: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(latent_dim, hidden_dim),
        nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, _pixels(image_shape)),
        Reshape(*image_shape),
    )


# --- cnn_shallow: the Keras VAE example's pair -----------------------------------------------


def _require_divisible(image_shape: ImageShape, factor: int, name: str) -> tuple[int, int]:
    _, height, width = image_shape
    if height % factor or width % factor:
        raise ValueError(f"{name} needs image sides divisible by {factor}, got {height}x{width}.")
    return height // factor, width // factor


def _cnn_shallow_encoder(image_shape: ImageShape, hidden_dim: int) -> tuple[nn.Module, int]:
    channels = image_shape[0]
    small_h, small_w = _require_divisible(image_shape, 4, "cnn_shallow")
    module = nn.Sequential(
        nn.Conv2d(channels, 32, 3, stride=2, padding=1),  # (B, 32, H/2, W/2)
        nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (B, 64, H/4, W/4)
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(64 * small_h * small_w, hidden_dim),
        nn.ReLU(inplace=True),
    )
    return module, hidden_dim


def _cnn_shallow_decoder(image_shape: ImageShape, latent_dim: int, hidden_dim: int) -> nn.Module:
    channels = image_shape[0]
    small_h, small_w = _require_divisible(image_shape, 4, "cnn_shallow")
    return nn.Sequential(
        nn.Linear(latent_dim, 32 * small_h * small_w),
        nn.ReLU(inplace=True),
        Reshape(32, small_h, small_w),  # (B, 32, H/4, W/4)
        # (B, 64, H/2, W/2); the fast layers compute exactly what nn.ConvTranspose2d/Conv2d do.
        ConvTranspose2dBiasAfter(32, 64, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(inplace=True),
        ConvTranspose2dBiasAfter(64, 32, 3, stride=2, padding=1, output_padding=1),  # (B, 32, H, W)
        nn.ReLU(inplace=True),
        Conv2dViaFold(32, channels, 3, padding=1),  # (B, C, H, W) logits
    )


# --- cnn_deep: four conv stages with pooling, dense 200/100 ----------------------------------

_DEEP_CHANNELS = (16, 32, 64, 64)


def _conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


def _cnn_deep_encoder(image_shape: ImageShape, hidden_dim: int) -> tuple[nn.Module, int]:
    channels = image_shape[0]
    small_h, small_w = _require_divisible(image_shape, 4, "cnn_deep")
    c1, c2, c3, c4 = _DEEP_CHANNELS
    module = nn.Sequential(
        *_conv_block(channels, c1),
        nn.MaxPool2d(2),  # (B, 16, H/2, W/2)
        *_conv_block(c1, c2),
        nn.MaxPool2d(2),  # (B, 32, H/4, W/4)
        *_conv_block(c2, c3),
        *_conv_block(c3, c4),  # (B, 64, H/4, W/4)
        nn.Flatten(),
        nn.Linear(c4 * small_h * small_w, 2 * hidden_dim),
        nn.ReLU(inplace=True),
        nn.Linear(2 * hidden_dim, hidden_dim),
        nn.ReLU(inplace=True),
    )
    return module, hidden_dim


def _cnn_deep_decoder(image_shape: ImageShape, latent_dim: int, hidden_dim: int) -> nn.Module:
    channels = image_shape[0]
    small_h, small_w = _require_divisible(image_shape, 4, "cnn_deep")
    c1, c2, c3, c4 = _DEEP_CHANNELS
    return nn.Sequential(
        nn.Linear(latent_dim, hidden_dim),
        nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, 2 * hidden_dim),
        nn.ReLU(inplace=True),
        nn.Linear(2 * hidden_dim, c4 * small_h * small_w),
        nn.ReLU(inplace=True),
        Reshape(c4, small_h, small_w),  # (B, 64, H/4, W/4)
        *_conv_block(c4, c3),
        *_conv_block(c3, c2),
        nn.Upsample(scale_factor=2),  # (B, 32, H/2, W/2)
        *_conv_block(c2, c1),
        nn.Upsample(scale_factor=2),  # (B, 16, H, W)
        nn.Conv2d(c1, channels, 3, padding=1),  # (B, C, H, W) logits
    )


register_architecture(
    Architecture(
        "dense",
        _dense_encoder,
        _dense_decoder,
        512,
        "one dense hidden layer each way (the original project's MLP)",
    )
)
register_architecture(
    Architecture(
        "cnn_shallow",
        _cnn_shallow_encoder,
        _cnn_shallow_decoder,
        16,
        "two stride-2 convolutions, mirrored by transposed convolutions (Keras VAE example)",
    )
)
register_architecture(
    Architecture(
        "cnn_deep",
        _cnn_deep_encoder,
        _cnn_deep_decoder,
        100,
        "four conv stages with pooling and dense layers 200/100, mirrored",
    )
)
