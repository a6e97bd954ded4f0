"""OOD scores: the rank AUC against its definition, the VAE score against evaluate's ELBO, and
a real digit model telling MNIST from Fashion-MNIST."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from jlml_core.analysis import ood
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.inference import reconstruction
from jlml_core.nn.models import build_model
from jlml_core.training.objective import evaluate
from jlml_core.training.train import fit


def _pairwise_auc(inside: np.ndarray, outside: np.ndarray) -> float:
    """The definition: P(outside > inside) + P(tie) / 2 over all pairs."""
    greater = (outside[:, None] > inside[None, :]).mean()
    ties = (outside[:, None] == inside[None, :]).mean()
    return float(greater + 0.5 * ties)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=30),
    st.lists(st.integers(0, 6), min_size=1, max_size=30),
)
def test_rank_auc_equals_the_pairwise_definition(inside: list[int], outside: list[int]) -> None:
    # Small integers: many ties, which the average ranks must share out exactly.
    a, b = np.array(inside, float), np.array(outside, float)
    assert ood.roc_auc(a, b) == pytest.approx(_pairwise_auc(a, b), abs=1e-12)


def test_auc_extremes() -> None:
    assert ood.roc_auc(np.arange(5.0), np.arange(5.0, 9.0)) == 1.0
    assert ood.roc_auc(np.arange(5.0, 9.0), np.arange(5.0)) == 0.0
    assert ood.roc_auc(np.ones(4), np.ones(7)) == 0.5


def test_auc_refuses_empty_or_nan() -> None:
    with pytest.raises(ValueError, match="one score on each side"):
        ood.roc_auc(np.zeros(0), np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        ood.roc_auc(np.array([np.nan]), np.ones(3))


def test_share_below() -> None:
    assert ood.share_below(2.0, np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.375)


def test_supports_ood_says_why_not() -> None:
    assert ood.supports_ood(TrainConfig()) is None
    assert "conditional" in ood.supports_ood(TrainConfig(conditional=True))
    assert "kind 'vq'" in ood.supports_ood(TrainConfig(kind="vq"))
    assert "custom" in ood.supports_ood(TrainConfig(dataset="/some/folder"))


@pytest.fixture(scope="module")
def digit_vae():
    config = TrainConfig(
        arch="dense", kind="vae", latent_dim=2, hidden_dim=64, epochs=2, train_subset=3000,
        seed=1, precision="fp32",
    )  # fmt: skip
    return config, fit(config, record_latents=False).model


def test_vae_score_is_the_negative_elbo_that_evaluate_reports(digit_vae) -> None:
    config, model = digit_vae
    test = load_split("mnist", "test").subset(500)
    scores = ood.ood_scores(model, test.images, config, samples=64)
    # evaluate's one-sample estimate is noisier; their means agree to well within a nat.
    assert scores.mean() == pytest.approx(evaluate(model, test, config).neg_elbo, abs=1.0)
    # More draws leave the closed-form KL and average the likelihood: the scores repeat.
    np.testing.assert_array_equal(scores, ood.ood_scores(model, test.images, config, samples=64))


def test_ae_score_is_the_reconstruction_loss() -> None:
    config = TrainConfig(kind="ae", arch="dense", latent_dim=2, hidden_dim=16)
    model = build_model(config).eval()
    images = load_split("mnist", "test").images[:50]
    np.testing.assert_allclose(
        ood.ood_scores(model, images, config),
        reconstruction.per_image_loss(model, images, "bce"),
        rtol=1e-6,
    )


def test_a_digit_model_finds_fashion_images_unlike_digits(digit_vae) -> None:
    config, model = digit_vae
    digits = load_split("mnist", "test").images[:1000]
    clothes = load_split("fashion-mnist", "test").images[:1000]
    result = ood.ood_evaluation(model, config, digits, clothes, samples=1)
    assert result.score_name == "negative ELBO"
    assert result.inside.shape == result.outside.shape == (1000,)
    assert result.auc > 0.9
    assert result.outside.mean() > result.inside.mean()


def test_batch_size_does_not_change_the_scores(digit_vae) -> None:
    config, model = digit_vae
    images = load_split("mnist", "test").images[:300]
    a = ood.ood_scores(model, images, config, batch_size=1000)
    b = ood.ood_scores(model, images, config, batch_size=70)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    assert torch.is_tensor(images)
