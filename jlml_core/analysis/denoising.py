"""How well a model cleans a corrupted digit: PSNR and MSE against the clean image, by noise level.

A denoising autoencoder (Vincent et al. 2008, "Extracting and Composing Robust Features with
Denoising Autoencoders") is trained on corrupted inputs and scored against the clean ones
(`jlml_core.data.corruption.corrupt`, used by training). Here any trained model gets the same
test: corrupt the test digits with Gaussian noise of std sigma (and/or mask a share of their
pixels), encode, decode the posterior mean, and compare the output with the clean digit.

The peak signal-to-noise ratio of an estimate x_hat of an image x with pixels in [0, 1] is
PSNR = 10 log10(1 / MSE), MSE the mean squared pixel error: 20 dB is an RMS error of 0.1 per
pixel; every +6 dB halves it. Curves report the mean over images of each image's PSNR (the
usual convention in the denoising literature), beside the corrupted input's own PSNR: what
"doing nothing" scores.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch

from jlml_core.data.batches import to_float_batch, uses_channels_last
from jlml_core.data.corruption import corrupt
from jlml_core.inference import latent
from jlml_core.nn.models import Autoencoder

Along = Literal["noise_std", "mask_fraction"]
ALONG_LABELS: dict[str, str] = {"noise_std": "noise σ", "mask_fraction": "masked fraction"}
# The levels of the measured curve (docs/families/denoising.md): sigma 0, 0.1, ..., 1.
SIGMAS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
MASK_FRACTIONS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))


class Denoised(NamedTuple):
    """Corrupted inputs and what a model makes of them, both (N, H, W) float32 in [0, 1]."""

    noisy: np.ndarray
    output: np.ndarray


class NoiseCurve(NamedTuple):
    """A model's scores at each corruption level (all arrays (L,)).

    Attributes:
        along: which corruption varies ("noise_std" or "mask_fraction").
        levels: its values.
        psnr: mean per-image PSNR of the model's output against the clean images, dB.
        mse: mean squared pixel error of the output.
        input_psnr: the same for the corrupted input itself (inf at level 0: no corruption).
        input_mse: the corrupted input's mean squared pixel error.
    """

    along: str
    levels: np.ndarray
    psnr: np.ndarray
    mse: np.ndarray
    input_psnr: np.ndarray
    input_mse: np.ndarray

    def at(self, level: float) -> int:
        """The index of `level` among `levels` (KeyError if it was not measured)."""
        hits = np.flatnonzero(np.isclose(self.levels, level))
        if len(hits) == 0:
            raise KeyError(f"{self.along} = {level} is not on this curve: {self.levels.tolist()}")
        return int(hits[0])


def mse(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Mean squared pixel error of each image: (N, H, W) pairs -> (N,), float64."""
    difference = np.asarray(estimate, np.float64) - np.asarray(clean, np.float64)
    return (difference**2).reshape(len(difference), -1).mean(axis=1)


def psnr(clean: np.ndarray, estimate: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio of each image in dB: 10 log10(peak² / MSE), (N,).

    Args:
        clean: the reference images (N, H, W).
        estimate: the images judged against them (N, H, W).
        peak: the largest possible pixel value (1 for images in [0, 1]).

    Returns:
        (N,) float64; inf for an image equal to its reference.
    """
    errors = mse(clean, estimate)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(peak**2 / errors)


def corrupt_images(
    images: torch.Tensor, noise_std: float = 0.0, mask_fraction: float = 0.0, seed: int = 0
) -> torch.Tensor:
    """uint8 images (N, H, W) -> corrupted float batch (N, 1, H, W) in [0, 1], repeatable.

    The whole set is corrupted in one draw from a generator seeded with `seed`, so every model
    (and every batch size) sees the very same noisy digits at a given level.
    """
    generator = torch.Generator().manual_seed(seed)
    return corrupt(to_float_batch(images), noise_std, mask_fraction, generator)


@torch.inference_mode()
def reconstruct_floats(
    model: Autoencoder,
    x: torch.Tensor,
    output: latent.ImageOutput = "sigmoid",
    batch_size: int = 1000,
) -> np.ndarray:
    """Float images (N, 1, H, W) in [0, 1] -> the decoded posterior means (N, H, W) in [0, 1]."""
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    pieces = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size].to(device)
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        mu, _ = model.encode(batch)  # (B, D): the mean, as the views decode it
        pieces.append(latent.logits_to_images(model.decode(mu).float(), output))
    return np.concatenate(pieces) if pieces else np.zeros((0, *x.shape[2:]), np.float32)


def denoise(
    model: Autoencoder,
    images: torch.Tensor,
    noise_std: float = 0.0,
    mask_fraction: float = 0.0,
    seed: int = 0,
    output: latent.ImageOutput = "sigmoid",
) -> Denoised:
    """Corrupt uint8 images (N, H, W) as `corrupt_images` does and reconstruct them.

    Args:
        model: a trained model in eval mode.
        images: uint8 test images (N, H, W).
        noise_std: std of the Gaussian noise added to each pixel (then clipped to [0, 1]).
        mask_fraction: share of pixels set to 0.
        seed: the corruption's seed.
        output: how decoder logits become pixels (see `latent.logits_to_images`).

    Returns:
        The noisy inputs and the model's outputs, each (N, H, W) in [0, 1].
    """
    x = corrupt_images(images, noise_std, mask_fraction, seed)  # (N, 1, H, W)
    return Denoised(x[:, 0].numpy(), reconstruct_floats(model, x, output))


def noise_curve(
    model: Autoencoder,
    images: torch.Tensor,
    levels: tuple[float, ...] | list[float] = SIGMAS,
    along: Along = "noise_std",
    other: float = 0.0,
    seed: int = 0,
    output: latent.ImageOutput = "sigmoid",
) -> NoiseCurve:
    """PSNR and MSE of a model's outputs against the clean images at each corruption level.

    Args:
        model: a trained model in eval mode.
        images: uint8 test images (N, H, W), the clean targets.
        levels: the values of the varied corruption, e.g. sigmas 0, 0.1, ..., 1.
        along: which corruption varies: "noise_std" or "mask_fraction".
        other: the fixed amount of the other corruption at every level.
        seed: the corruption's seed (the same noise at each level for every model).
        output: how decoder logits become pixels.

    Returns:
        The curve; its `input_psnr` is the corrupted input's own score.
    """
    if along not in ALONG_LABELS:
        raise ValueError(f"along must be one of {list(ALONG_LABELS)}, got {along!r}")
    clean = to_float_batch(images)[:, 0].numpy()  # (N, H, W)
    rows = []
    for level in levels:
        amounts = (level, other) if along == "noise_std" else (other, level)
        noisy, decoded = denoise(model, images, *amounts, seed=seed, output=output)
        rows.append(
            (
                psnr(clean, decoded).mean(),
                mse(clean, decoded).mean(),
                psnr(clean, noisy).mean(),
                mse(clean, noisy).mean(),
            )
        )
    table = np.array(rows, np.float64).reshape(len(rows), 4)  # (L, 4)
    return NoiseCurve(along, np.asarray(levels, np.float64), *table.T)


def psnr_gain(denoising: NoiseCurve, plain: NoiseCurve, level: float) -> float:
    """How many dB the denoising model's PSNR exceeds the plain model's at `level`."""
    return float(denoising.psnr[denoising.at(level)] - plain.psnr[plain.at(level)])
