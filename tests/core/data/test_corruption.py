"""Tests for jlml_core.data.corruption: the denoising autoencoder's input corruption."""

from __future__ import annotations

import pytest
import torch

from jlml_core.data.corruption import corrupt


def _batch() -> torch.Tensor:
    return torch.rand((64, 1, 28, 28), generator=torch.Generator().manual_seed(1))


def test_no_corruption_returns_the_input_itself() -> None:
    x = _batch()
    assert corrupt(x) is x


def test_gaussian_noise_has_the_asked_spread_and_stays_in_range() -> None:
    x = torch.full((256, 1, 28, 28), 0.5)
    noisy = corrupt(x, noise_std=0.1, generator=torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1
    # At 0.5 a noise of std 0.1 is almost never clipped: the spread is the std asked for.
    assert (noisy - x).std().item() == pytest.approx(0.1, rel=0.02)
    assert x.eq(0.5).all()  # the clean batch is left alone


def test_masking_zeroes_the_asked_share_of_pixels() -> None:
    x = torch.ones((256, 1, 28, 28))
    masked = corrupt(x, mask_fraction=0.3, generator=torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert masked.eq(0).float().mean().item() == pytest.approx(0.3, abs=0.01)


def test_same_generator_seed_gives_the_same_corruption_and_keeps_the_layout() -> None:
    x = _batch().contiguous(memory_format=torch.channels_last)
    first = corrupt(x, 0.5, 0.2, torch.Generator().manual_seed(3))
    second = corrupt(x, 0.5, 0.2, torch.Generator().manual_seed(3))
    assert torch.equal(first, second)
    assert first.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(("noise_std", "mask_fraction"), [(-0.1, 0.0), (0.0, 1.0), (0.0, -0.2)])
def test_impossible_amounts_are_refused(noise_std: float, mask_fraction: float) -> None:
    with pytest.raises(ValueError, match="noise_std"):
        corrupt(_batch(), noise_std, mask_fraction)
