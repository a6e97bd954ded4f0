"""Tests for jlml_core.analysis.denoising: PSNR by closed form, repeatable corruption, and a
denoising model trained on real MNIST beating its plain twin on noisy digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jlml_core.analysis import denoising
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.training.train import fit


def test_psnr_of_a_constant_error_is_its_closed_form() -> None:
    clean = np.zeros((3, 28, 28))
    estimate = clean + np.array([0.1, 0.01, 0.5])[:, None, None]  # RMS error e per image
    # PSNR = 10 log10(1 / e^2) = -20 log10(e): 20, 40 and 6.02 dB.
    expected = -20 * np.log10([0.1, 0.01, 0.5])
    np.testing.assert_allclose(denoising.psnr(clean, estimate), expected, rtol=1e-12)
    np.testing.assert_allclose(denoising.mse(clean, estimate), [0.01, 1e-4, 0.25], rtol=1e-12)
    # A peak of 255 (uint8 images) adds 20 log10(255) dB to errors measured in those units.
    scaled = denoising.psnr(clean * 255, estimate * 255, peak=255.0)
    np.testing.assert_allclose(scaled, expected, rtol=1e-12)


def test_psnr_is_infinite_for_an_exact_copy_and_per_image() -> None:
    clean = np.random.default_rng(0).random((2, 5, 5))
    estimate = clean.copy()
    estimate[1, 0, 0] += 0.5  # one pixel off by 0.5 in 25: MSE 0.01, 20 dB
    values = denoising.psnr(clean, estimate)
    assert np.isinf(values[0]) and values[1] == pytest.approx(20.0)


def _grey(n: int = 64) -> torch.Tensor:
    return torch.full((n, 28, 28), 128, dtype=torch.uint8)  # 0.502: noise is rarely clipped


def test_noisy_input_scores_the_gaussian_closed_form() -> None:
    # Gaussian noise of std sigma on a mid-grey image: MSE = sigma^2 while clipping at 0 and 1
    # (4.98 sigma away for sigma = 0.1) is negligible, so PSNR = -20 log10(sigma) = 20 dB.
    x = denoising.corrupt_images(_grey(), noise_std=0.1, seed=3)
    clean = np.full((64, 28, 28), 128 / 255)
    assert denoising.mse(clean, x[:, 0].numpy()).mean() == pytest.approx(0.01, rel=0.02)
    assert denoising.psnr(clean, x[:, 0].numpy()).mean() == pytest.approx(20.0, abs=0.1)
    # Masking a share f of pixels of value v: MSE = f v^2.
    masked = denoising.corrupt_images(_grey(), mask_fraction=0.3, seed=3)[:, 0].numpy()
    assert denoising.mse(clean, masked).mean() == pytest.approx(0.3 * (128 / 255) ** 2, rel=0.02)


def test_corruption_is_repeatable_by_seed() -> None:
    first = denoising.corrupt_images(_grey(8), 0.5, 0.2, seed=1)
    assert torch.equal(first, denoising.corrupt_images(_grey(8), 0.5, 0.2, seed=1))
    assert not torch.equal(first, denoising.corrupt_images(_grey(8), 0.5, 0.2, seed=2))
    assert first.shape == (8, 1, 28, 28) and first.min() >= 0 and first.max() <= 1


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_split("mnist", "test").images[:300]  # uint8 (300, 28, 28)


@pytest.fixture(scope="module")
def twins() -> dict[str, torch.nn.Module]:
    """A plain and a denoising dense VAE on 5,000 real digits, alike but for the input noise.

    Small batches and a higher learning rate: with the defaults three epochs of 5,000 digits
    decode little more than the mean digit, and neither model cleans anything.
    """
    base = dict(arch="dense", kind="vae", latent_dim=8, hidden_dim=64, epochs=3, seed=1)
    base |= dict(train_subset=5000, batch_size=32, learning_rate=2e-3)
    return {
        name: fit(TrainConfig(noise_std=sigma, **base)).model.eval()
        for name, sigma in (("plain", 0.0), ("denoising", 0.5))
    }


def test_without_noise_the_output_is_the_page_s_reconstruction(digits, twins) -> None:
    model = twins["plain"]
    noisy, output = denoising.denoise(model, digits[:20])
    np.testing.assert_array_equal(noisy, digits[:20].numpy() / np.float32(255))
    # atol: the page's decoder may run in bf16; this one decodes in fp32 for the measurements.
    np.testing.assert_allclose(output, latent.reconstruct(model, digits[:20]), atol=5e-3)
    # The batch size is memory only.
    x = denoising.corrupt_images(digits[:20], 0.5, seed=0)
    np.testing.assert_allclose(
        denoising.reconstruct_floats(model, x, batch_size=7),
        denoising.reconstruct_floats(model, x),
        atol=1e-6,
    )


def test_the_denoising_twin_wins_on_noisy_digits(digits, twins) -> None:
    sigmas = (0.0, 0.5, 1.0)
    curves = {name: denoising.noise_curve(m, digits, sigmas) for name, m in twins.items()}
    plain, denoiser = curves["plain"], curves["denoising"]
    assert plain.levels.tolist() == list(sigmas)
    # The same seeded noise for both: the input's own scores agree exactly.
    np.testing.assert_array_equal(plain.input_psnr, denoiser.input_psnr)
    assert np.isinf(plain.input_psnr[0]) and plain.input_mse[0] == 0
    # Jensen: the mean of per-image PSNRs is at least the PSNR of the mean MSE (-log is convex).
    assert (plain.psnr >= -10 * np.log10(plain.mse)).all()
    # At sigma = 0.5 the noisy input is far worse than any reconstruction of a digit, and the
    # model trained on such inputs cleans them better than the one trained on clean digits.
    # (Measured when written: 13.7 dB against the input's 9.4 and the plain twin's 11.4.)
    assert denoiser.psnr[1] > denoiser.input_psnr[1] + 3
    assert denoising.psnr_gain(denoiser, plain, 0.5) > 1.0
    assert denoising.psnr_gain(denoiser, plain, 0.5) == pytest.approx(
        denoiser.psnr[1] - plain.psnr[1]
    )
    with pytest.raises(KeyError, match="0.3"):
        plain.at(0.3)


def test_a_mask_curve_varies_the_masked_share(digits, twins) -> None:
    curve = denoising.noise_curve(twins["plain"], digits[:50], (0.0, 0.5), "mask_fraction")
    assert curve.along == "mask_fraction"
    assert curve.input_mse[1] > curve.input_mse[0] == 0
    with pytest.raises(ValueError, match="along"):
        denoising.noise_curve(twins["plain"], digits[:5], (0.1,), "blur")  # type: ignore[arg-type]
