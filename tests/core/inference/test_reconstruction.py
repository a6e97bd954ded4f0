"""Tests for inference.reconstruction: per-image loss against `evaluate`, picking and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import ImageDataset
from jlml_core.inference import reconstruction
from jlml_core.inference.latent import encode_images, reconstruct
from jlml_core.inference.reconstruction import (
    decode_with_loss,
    error_colors,
    per_image_loss,
    pick_class,
    pick_random,
    pixel_error,
    worst_reconstructed,
)
from jlml_core.nn.models import build_model
from jlml_core.training.objective import evaluate


def _images(count: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 28, 28), generator=generator, dtype=torch.uint8)


@pytest.mark.parametrize("loss", ["bce", "mse", "cb"])
@pytest.mark.parametrize(
    ("kind", "arch"), [("vae", "dense"), ("ae", "dense"), ("vae", "cnn_shallow")]
)
def test_per_image_loss_averages_to_evaluate(kind: str, arch: str, loss: str) -> None:
    config = TrainConfig(kind=kind, arch=arch, loss=loss, hidden_dim=8, latent_dim=3)
    model = build_model(config).eval()
    images = _images(12)
    dataset = ImageDataset(
        images, torch.zeros(12, dtype=torch.int64), "synthetic", "test", tuple("0123456789")
    )
    per_image = per_image_loss(model, images, loss, batch_size=5)  # uneven batches on purpose
    assert per_image.shape == (12,)
    reference = evaluate(model, dataset, config).reconstruction
    assert per_image.mean() == pytest.approx(reference, rel=1e-5)


def test_per_image_loss_is_per_image_and_empty_safe() -> None:
    model = build_model(TrainConfig(arch="dense", hidden_dim=8)).eval()
    images = _images(4)
    together = per_image_loss(model, images, "bce")
    alone = np.concatenate([per_image_loss(model, images[i : i + 1], "bce") for i in range(4)])
    np.testing.assert_allclose(together, alone, rtol=1e-5)
    assert per_image_loss(model, images[:0], "bce").shape == (0,)


def test_worst_reconstructed_orders_worst_first_and_breaks_ties_by_index() -> None:
    losses = np.array([3.0, 9.0, 1.0, 9.0, 5.0])
    assert worst_reconstructed(losses, 3).tolist() == [1, 3, 4]
    assert worst_reconstructed(losses, 10).tolist() == [1, 3, 4, 0, 2]
    assert worst_reconstructed(losses, 0).tolist() == []


def test_pixel_error_absolute_and_signed() -> None:
    original = np.array([[[0.0, 1.0, 0.5]]])
    decoded = np.array([[[0.25, 0.5, 0.5]]])
    np.testing.assert_allclose(pixel_error(original, decoded), [[[0.25, 0.5, 0.0]]])
    # signed is x_hat - x: positive where the decoder added ink, negative where it missed some
    np.testing.assert_allclose(pixel_error(original, decoded, signed=True), [[[0.25, -0.5, 0.0]]])


def test_error_colors_are_black_when_exact_and_diverge_by_sign() -> None:
    colors = error_colors(np.array([[0.0, 1.0, -1.0]]), signed=True)
    assert colors.shape == (1, 3, 3)
    np.testing.assert_allclose(colors[0, 0], [0.0, 0.0, 0.0])
    added, missed = colors[0, 1], colors[0, 2]
    assert added[0] > added[2] and missed[2] > missed[0]  # orange versus blue
    absolute = error_colors(np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(absolute[0], [0.0, 0.0, 0.02])
    assert absolute[0].sum() < absolute[1].sum() < absolute[2].sum()  # brighter as error grows
    assert absolute.min() >= 0.0 and absolute.max() <= 1.0
    np.testing.assert_allclose(error_colors(np.array([-0.5])), error_colors(np.array([0.5])))


def test_pick_random_is_distinct_in_range_and_reproducible() -> None:
    picked = pick_random(100, 10, seed=3)
    assert len(set(picked.tolist())) == 10 and picked.min() >= 0 and picked.max() < 100
    assert picked.tolist() == pick_random(100, 10, seed=3).tolist()
    assert picked.tolist() != pick_random(100, 10, seed=4).tolist()
    assert sorted(pick_random(5, 10).tolist()) == [0, 1, 2, 3, 4]


def test_pick_class_only_returns_that_class() -> None:
    labels = np.array([0, 1, 2, 1, 1, 0, 1])
    picked = pick_class(labels, 1, 3, seed=0)
    assert len(picked) == 3 and set(labels[picked].tolist()) == {1}
    assert len(pick_class(labels, 1, 10)) == 4
    assert len(pick_class(labels, 7, 3)) == 0


def test_module_has_no_streamlit_dependency() -> None:
    assert "streamlit" not in reconstruction.__dict__


@pytest.mark.parametrize("loss", ["bce", "mse", "cb"])
def test_decode_with_loss_matches_per_image_loss_and_the_reconstruction(loss: str) -> None:
    model = build_model(TrainConfig(kind="vae", arch="cnn_shallow", latent_dim=2, loss=loss)).eval()
    images = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    codes = encode_images(model, images).mu
    output = "cb_mean" if loss == "cb" else "sigmoid"
    expected_losses = per_image_loss(model, images, loss)
    expected_pictures = reconstruct(model, images, output)
    for row in range(3):
        picture, value = decode_with_loss(model, codes[row], images[row], loss, output)
        assert value == pytest.approx(float(expected_losses[row]), rel=1e-4, abs=1e-3)
        assert picture.shape == (28, 28)
        assert np.abs(picture - expected_pictures[row]).max() < 0.05  # bf16 decode there
