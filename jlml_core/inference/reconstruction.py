"""How well a model reconstructs single images: per-image loss, worst cases, pixel errors.

Also the small choices behind the Reconstructions view — which test digits to show (at random
with a seed, by class, by a typed list of indices, or the worst reconstructed) — kept here as
plain functions so they are tested without Streamlit.
"""

from __future__ import annotations

import numpy as np
import torch

from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.inference import latent
from jlml_core.nn import losses
from jlml_core.nn.models import Autoencoder, Labels, class_labels

# Error maps sit next to white-on-black digits, so exact pixels are black in both scales:
# |error| runs up matplotlib's "inferno"; signed error runs from blue (missed ink) through
# black to orange (added ink), like Plotly's "icefire".
_ABS_ANCHORS = np.array(
    [[0.0, 0.0, 0.02], [0.34, 0.06, 0.43], [0.73, 0.21, 0.33], [0.98, 0.55, 0.04],
     [0.99, 1.0, 0.64]],
    np.float32,
)  # fmt: skip
_SIGNED_ANCHORS = np.array(
    [[0.55, 0.85, 1.0], [0.13, 0.45, 0.85], [0.0, 0.0, 0.0], [0.80, 0.22, 0.10],
     [1.0, 0.72, 0.40]],
    np.float32,
)  # fmt: skip


@torch.inference_mode()
def per_image_loss(
    model: Autoencoder,
    images: torch.Tensor,
    loss: losses.Reconstruction,
    batch_size: int = 1000,
    labels: Labels = None,
) -> np.ndarray:
    """Reconstruction loss of each image when its posterior mean is decoded, in nats: (N,).

    This is the reconstruction term of the training objective (summed over pixels), without
    the KL term, so it measures only how far the decoded image is from the input.

    Args:
        model: a trained model in eval mode.
        images: uint8 images (N, H, W).
        loss: the model's reconstruction loss name ("bce", "mse" or "cb").
        batch_size: images per forward pass (memory only; same result).
        labels: the images' classes (N,), which a conditional model encodes and decodes with.
    """
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    labels = class_labels(model, labels, len(images))
    values = []
    for start in range(0, len(images), batch_size):
        x = prepare_batch(images[start : start + batch_size], device, channels_last)
        if labels is None:
            mu, _ = model.encode(x)  # decode the mean: the reconstruction the views show
            logits = model.decode(mu)  # (B, 1, H, W)
        else:
            y = labels[start : start + batch_size].to(device)
            logits = model.decode(model.encode(x, y)[0], y)
        values.append(losses.reconstruction_loss(loss, logits, x, reduction="none").float().cpu())
    return torch.cat(values).numpy() if values else np.zeros(0, np.float32)


@torch.inference_mode()
def decode_with_loss(
    model: Autoencoder,
    code: np.ndarray,
    image: torch.Tensor,
    loss: losses.Reconstruction,
    output: latent.ImageOutput = "sigmoid",
    label: int | None = None,
) -> tuple[np.ndarray, float]:
    """One image's code (D,) decoded, and the reconstruction loss of that decode, in nats.

    For an image whose code (its posterior mean) is known already: one decoder pass gives the
    picture and `per_image_loss`'s number, without encoding the image again.

    Args:
        model: a trained model in eval mode.
        code: the image's posterior mean (D,).
        image: the uint8 image (H, W) the loss compares against.
        loss: the model's reconstruction loss name.
        output: how logits become the shown picture (see `latent.logits_to_images`).
        label: the image's class, for a conditional model (None for any other).

    Returns:
        The decoded picture (H, W) in [0, 1] and its loss.
    """
    device = next(model.parameters()).device
    x = prepare_batch(image[None], device, uses_channels_last(model))
    z = torch.as_tensor(np.asarray(code, np.float32).reshape(1, model.latent_dim), device=device)
    labels = class_labels(model, label, 1)
    logits = model.decode(z) if labels is None else model.decode(z, labels.to(device))
    value = losses.reconstruction_loss(loss, logits, x, reduction="none").float()[0]
    return latent.logits_to_images(logits.float(), output)[0], float(value)


def worst_reconstructed(per_image: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` highest losses, worst first (ties keep index order)."""
    per_image = np.asarray(per_image)
    order = np.argsort(-per_image, kind="stable")
    return order[: max(0, count)]


def pixel_error(
    original: np.ndarray, reconstruction: np.ndarray, signed: bool = False
) -> np.ndarray:
    """Per-pixel error of reconstructions, same shape as the inputs.

    Args:
        original: images in [0, 1], (N, H, W).
        reconstruction: decoded images in [0, 1], (N, H, W).
        signed: return x_hat - x (positive: ink the decoder added; negative: ink it missed)
            instead of |x - x_hat|.
    """
    difference = np.asarray(reconstruction, np.float32) - np.asarray(original, np.float32)
    return difference if signed else np.abs(difference)


def error_colors(error: np.ndarray, signed: bool = False) -> np.ndarray:
    """Colour error maps for display: (...) in [0, 1] or [-1, 1] -> (..., 3) RGB in [0, 1].

    |error| runs from black (exact) through purple and orange to pale yellow (off by the full
    range); signed error is diverging: light blue (-1, missed ink), black (0), orange (+1, added
    ink).
    """
    error = np.asarray(error, np.float32)
    if signed:
        position, anchors = (np.clip(error, -1.0, 1.0) + 1.0) / 2.0, _SIGNED_ANCHORS
    else:
        position, anchors = np.clip(np.abs(error), 0.0, 1.0), _ABS_ANCHORS
    stops = np.linspace(0.0, 1.0, len(anchors))
    channels = [np.interp(position, stops, anchors[:, c]) for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)


def pick_random(size: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` distinct indices of range(size), reproducible by seed (all of them if fewer)."""
    generator = np.random.default_rng(seed)
    return np.sort(generator.choice(size, size=min(count, size), replace=False))


def pick_class(labels: np.ndarray, label: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` distinct indices of images whose label is `label`, reproducible by seed."""
    candidates = np.flatnonzero(np.asarray(labels) == label)
    if len(candidates) == 0:
        return candidates
    return candidates[pick_random(len(candidates), count, seed)]
