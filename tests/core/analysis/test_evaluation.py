"""Tests for analysis.evaluation and jlml_core.analysis.classifier on tiny real MNIST models.

The importance-weighted estimate is checked against numerical integration over a 1-D latent;
the classifier against its recorded and re-measured test accuracy.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from jlml_core.analysis import classifier
from jlml_core.analysis.evaluation import (
    evaluate_model,
    importance_weighted_log_likelihood,
    sample_quality,
)
from jlml_core.analysis.metrics import frechet_distance
from jlml_core.config import TrainConfig
from jlml_core.data.batches import to_float_batch
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.nn import losses
from jlml_core.nn.models import Autoencoder, build_model
from jlml_core.training.train import fit

# batch_size 32 gives 63 Adam steps in the one epoch: enough for digit-like codes in ~5 s.
TINY = TrainConfig(
    arch="dense", latent_dim=8, hidden_dim=128, epochs=1, batch_size=32, train_subset=2000
)
SUBSET = 500
EXPECTED_KEYS = {
    "test_bce",
    "test_mse",
    "test_kl",
    "test_neg_elbo",
    "test_iw_nll",
    "iw_samples",
    "active_units",
    "code_spread",
    "posterior_radius",
    "distance_by_class",
    "knn_accuracy",
    "sample_fid",
    "sample_confidence",
    "n_samples",
    "eval_subset",
}
VAE_ONLY = ("test_kl", "test_neg_elbo", "test_iw_nll", "posterior_radius")


@pytest.fixture(scope="module")
def test_images():
    return load_split("mnist", "test").subset(SUBSET)


@pytest.fixture(scope="module")
def tiny_vae(test_images) -> Autoencoder:
    return fit(TINY, test=test_images).model


@pytest.fixture(scope="module")
def digit_classifier() -> classifier.DigitClassifier:
    return classifier.load_classifier()


@pytest.fixture(scope="module")
def vae_metrics(tiny_vae, digit_classifier) -> dict:
    reports = []
    result = evaluate_model(
        tiny_vae,
        TINY,
        subset=SUBSET,
        iw_samples=8,
        classifier=digit_classifier,
        n_samples=SUBSET,
        on_progress=lambda fraction, message: reports.append(fraction),
    )
    result["_progress"] = reports
    return result


def test_metrics_have_every_key_as_plain_json_types(vae_metrics: dict) -> None:
    metrics = {k: v for k, v in vae_metrics.items() if k != "_progress"}
    assert set(metrics) == EXPECTED_KEYS
    assert json.loads(json.dumps(metrics)) == metrics  # survives a JSON round trip unchanged
    for key in EXPECTED_KEYS - {"code_spread", "distance_by_class"}:
        assert type(metrics[key]) in (float, int), key
    assert metrics["eval_subset"] == SUBSET and metrics["iw_samples"] == 8
    assert len(metrics["code_spread"]) == TINY.latent_dim
    assert set(metrics["distance_by_class"]) == {str(digit) for digit in range(10)}
    assert 0 <= metrics["active_units"] <= TINY.latent_dim


def test_progress_runs_from_zero_to_one(vae_metrics: dict) -> None:
    fractions = vae_metrics["_progress"]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_likelihood_values_are_consistent(vae_metrics: dict) -> None:
    m = vae_metrics
    # Same importance samples: log-mean-exp >= mean of logs, so this holds exactly.
    assert m["test_iw_nll"] <= m["test_neg_elbo"] + 1e-6
    assert m["test_kl"] > 0
    # The ELBO averages the reconstruction over q; test_bce decodes the mean: close, not equal.
    assert m["test_neg_elbo"] == pytest.approx(m["test_bce"] + m["test_kl"], rel=0.1)
    assert 0 < m["test_mse"] < m["test_bce"]


def test_codes_separate_digits(vae_metrics: dict) -> None:
    assert vae_metrics["knn_accuracy"] > 0.3


def test_sample_metrics_are_in_range(vae_metrics: dict) -> None:
    assert math.isfinite(vae_metrics["sample_fid"]) and vae_metrics["sample_fid"] > 0
    assert 0.1 <= vae_metrics["sample_confidence"] <= 1.0


def test_autoencoder_has_no_posterior_metrics() -> None:
    config = TrainConfig(kind="ae", arch="dense", hidden_dim=32)
    model = build_model(config).eval()
    result = evaluate_model(model, config, subset=200, classifier=None)
    assert all(result[key] is None for key in VAE_ONLY)
    assert result["sample_fid"] is None and result["sample_confidence"] is None
    assert isinstance(result["active_units"], int) and result["test_bce"] > 0
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    assert importance_weighted_log_likelihood(model, images, "bce") is None


def test_classifier_metrics_are_skipped_off_mnist() -> None:
    config = TrainConfig(dataset="fashion-mnist", arch="dense", hidden_dim=32)
    model = build_model(config).eval()
    result = evaluate_model(model, config, subset=100, iw_samples=2, n_samples=100)
    assert result["sample_fid"] is None and result["sample_confidence"] is None
    assert result["test_iw_nll"] is not None


def test_one_sample_bound_is_the_elbo_and_more_samples_tighten_it(tiny_vae, test_images) -> None:
    images = test_images.images[:100]
    one = importance_weighted_log_likelihood(tiny_vae, images, "bce", k=1)
    assert one.log_likelihood == one.elbo
    many = importance_weighted_log_likelihood(tiny_vae, images, "bce", k=32)
    assert many.log_likelihood > one.log_likelihood + 1.0
    assert importance_weighted_log_likelihood(tiny_vae, images, "bce", k=32) == many  # seeded


@pytest.mark.parametrize("loss", ["bce", "mse", "cb"])
def test_importance_weights_are_exact_when_the_decoder_ignores_z(loss: str, test_images) -> None:
    # With p(x|z) constant in z, log p(x) = log p(x|z) exactly, the IW estimate tends to it for
    # any proposal, and the ELBO falls short by exactly KL(q || p). q = N(0.3, 1.2^2) is wider
    # than the prior, so the importance weights are bounded: 4 x 2500 samples give a standard
    # error of 0.005 nats, while dropping any term of log q or log p(z) costs at least 0.18.
    config = TrainConfig(arch="dense", latent_dim=1, hidden_dim=16, loss=loss)
    model = build_model(config).eval()
    with torch.no_grad():
        model.decoder[0].weight.zero_()  # the decoder's first layer no longer sees z
        model.to_mu.weight.zero_()
        model.to_mu.bias.fill_(0.3)
        model.to_logvar.weight.zero_()
        model.to_logvar.bias.fill_(math.log(1.2**2))
        images = test_images.images[:4]
        x = to_float_batch(images)
        exact = losses.log_likelihood(loss, model.decode(torch.zeros(4, 1)), x).mean().item()
    kl = 0.5 * (1.2**2 + 0.3**2 - 1 - math.log(1.2**2))
    estimate = importance_weighted_log_likelihood(model, images, loss, k=2500)
    assert estimate.log_likelihood == pytest.approx(exact, abs=0.02)
    assert estimate.elbo == pytest.approx(exact - kl, abs=0.02)


def log_marginal_by_quadrature(model: Autoencoder, x: torch.Tensor, loss: str) -> torch.Tensor:
    """log p(x) = log integral p(x|z) N(z; 0, 1) dz on a fine grid, for a 1-D latent: (B,)."""
    z = torch.linspace(-10.0, 10.0, 10001)
    step = float(z[1] - z[0])
    with torch.inference_mode():
        logits = model.decode(z[:, None])  # (G, 1, 28, 28)
        log_px = torch.stack(
            [losses.log_likelihood(loss, logits, image.expand_as(logits)) for image in x]
        )  # (B, G)
    log_prior = -0.5 * z.square() - 0.5 * math.log(2 * math.pi)
    return torch.logsumexp(log_px.double() + log_prior.double(), dim=1) + math.log(step)


def test_importance_weighting_bounds_numerical_integration(test_images) -> None:
    config = TrainConfig(
        arch="dense", latent_dim=1, hidden_dim=64, epochs=1, batch_size=32, train_subset=1000,
        seed=2,
    )  # fmt: skip
    model = fit(config, test=test_images.subset(100)).model
    images = test_images.images[:8]
    exact = log_marginal_by_quadrature(model, to_float_batch(images), "bce").mean().item()
    one = importance_weighted_log_likelihood(model, images, "bce", k=1)
    many = importance_weighted_log_likelihood(model, images, "bce", k=1000)
    # A briefly trained encoder is a poor proposal, so L_1000 is still a few nats short.
    assert one.log_likelihood < many.log_likelihood <= exact + 0.1
    assert exact - many.log_likelihood < 0.5 * (exact - one.log_likelihood)


def test_shipped_classifier_is_accurate(digit_classifier) -> None:
    info = classifier.classifier_info()
    assert info["test_accuracy"] >= 0.99 and info["dataset"] == "mnist"
    assert {"seed", "epochs", "train_data_sha256"} <= set(info)
    weights = classifier.classifier_dir() / classifier.WEIGHTS_FILE
    assert weights.stat().st_size < 2_000_000
    assert classifier.accuracy(digit_classifier, load_split("mnist", "test").subset(2000)) >= 0.98


def test_classifier_features_separate_real_from_noise(digit_classifier, test_images) -> None:
    real = to_float_batch(test_images.images)  # (500, 1, 28, 28)
    features = classifier.features(digit_classifier, real)
    assert features.shape == (SUBSET, classifier.FEATURE_DIM)
    noise = torch.rand(SUBSET, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    noise_features = classifier.features(digit_classifier, noise).numpy()
    half = SUBSET // 2
    real_vs_real = frechet_distance(features[:half].numpy(), features[half:].numpy())
    assert frechet_distance(features.numpy(), noise_features) > 10 * real_vs_real


def test_classifier_round_trip(tmp_path) -> None:
    model = classifier.build_classifier(seed=3).eval()
    folder = classifier.save_classifier(model, {"test_accuracy": 0.1}, tmp_path / "clf")
    loaded = classifier.load_classifier(folder)
    x = torch.rand(4, 1, 28, 28)
    np.testing.assert_array_equal(
        classifier.classify(model, x).probabilities, classifier.classify(loaded, x).probabilities
    )
    assert classifier.classifier_info(folder) == {"test_accuracy": 0.1}
    assert not list(folder.glob(".*"))  # no temporary files left behind


def test_missing_classifier_says_how_to_build_it(tmp_path) -> None:
    with pytest.raises(classifier.ClassifierError, match="python -m jlml_core classifier"):
        classifier.load_classifier(tmp_path)


def test_sample_quality_scores_the_chosen_picture_of_the_samples(
    tiny_vae, test_images, digit_classifier
) -> None:
    lam = sample_quality(tiny_vae, test_images, digit_classifier, n_samples=200)
    mean = sample_quality(tiny_vae, test_images, digit_classifier, n_samples=200, output="cb_mean")
    assert lam != mean  # the continuous Bernoulli's mean is a different (greyer) image
    samples = latent.decode_points(
        tiny_vae, latent.sample_prior(200, 8, 0), "cb_mean", precision="fp32"
    )  # metrics decode in fp32
    scored = classifier.classify(digit_classifier, samples)
    assert mean[1] == pytest.approx(float(scored.probabilities.max(axis=1).mean()), rel=1e-6)
