"""Tests for analysis.codebook: perplexity and dead codes against closed forms, and the code
maps of a real model equal its own forward pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jlml_core.analysis import codebook
from jlml_core.config import TrainConfig
from jlml_core.data.batches import to_float_batch
from jlml_core.data.datasets import load_split
from jlml_core.nn.models import build_model


@pytest.mark.parametrize("size", [1, 7, 128])
def test_uniform_use_has_perplexity_k_and_no_dead_codes(size: int) -> None:
    usage = codebook.usage_from_indices(np.tile(np.arange(size), 5), size)
    assert usage.perplexity == pytest.approx(size)
    assert (usage.used, usage.dead) == (size, 0)
    assert usage.counts.tolist() == [5] * size


def test_one_code_everywhere_has_perplexity_one() -> None:
    usage = codebook.usage_from_indices(np.full((3, 7, 7), 4), 16)
    assert usage.perplexity == pytest.approx(1.0)
    assert (usage.used, usage.dead) == (1, 15)


def test_perplexity_is_exp_of_the_entropy() -> None:
    # p = (1/2, 1/4, 1/4, 0): H = 1.5 log 2 nats, perplexity 2^1.5.
    usage = codebook.usage_from_indices(np.array([0, 0, 1, 2]), 4)
    assert usage.perplexity == pytest.approx(2**1.5)
    assert (usage.used, usage.dead) == (3, 1)


def test_code_maps_and_metrics_of_a_model() -> None:
    config = TrainConfig(kind="vq", latent_dim=3, codebook_size=8, seed=2)
    model = build_model(config).eval()
    images = load_split("mnist", "test").subset(50).images
    maps = codebook.code_index_maps(model, images, batch_size=16)
    assert maps.shape == (50, 7, 7) and maps.dtype == np.int64
    assert np.array_equal(maps, model(to_float_batch(images)).indices.numpy())
    metrics = codebook.codebook_metrics(model, images)
    assert metrics["codebook_used"] + metrics["codebook_dead"] == 8
    assert 1.0 <= metrics["codebook_perplexity"] <= metrics["codebook_used"]
    assert metrics["vq_bits_per_image"] == pytest.approx(49 * math.log2(8))
    assert codebook.is_vq(model) and not codebook.is_vq(torch.nn.Linear(1, 1))


def test_a_vq_model_is_not_asked_for_prior_sample_metrics() -> None:
    from pathlib import Path

    from jlml_core.analysis import comparison
    from jlml_core.store.checkpoints import Entry

    config = TrainConfig(kind="vq", latent_dim=3, codebook_size=8)
    metrics = {"test_bce": 60.0, "test_mse": 3.0, "active_units": 100, "knn_accuracy": 0.9}
    assert comparison.missing_evaluation(Entry(Path(config.slug()), config, metrics)) == []
    assert comparison.missing_evaluation(Entry(Path(config.slug()), config, {}))


def test_evaluate_model_records_the_codebook_and_no_sample_metrics() -> None:
    from jlml_core.analysis.evaluation import evaluate_model

    config = TrainConfig(kind="vq", latent_dim=3, codebook_size=8, seed=2)
    model = build_model(config).eval()
    # "auto" loads the shipped digit classifier: a VQ-VAE still gets no prior-sample scores.
    metrics = evaluate_model(model, config, subset=100, n_samples=50)
    assert metrics["sample_fid"] is None and metrics["sample_confidence"] is None
    assert metrics["test_neg_elbo"] is None and metrics["test_kl"] is None
    images = load_split("mnist", "test").subset(100).images
    assert metrics["codebook_perplexity"] == codebook.codebook_usage(model, images).perplexity
    assert metrics["codebook_used"] + metrics["codebook_dead"] == metrics["codebook_size"] == 8
