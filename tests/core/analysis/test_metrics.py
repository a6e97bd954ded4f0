"""Tests for analysis.metrics against closed forms, constructed data and brute force."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from jlml_core.analysis.metrics import (
    active_units,
    code_norms,
    code_spread,
    distance_from_origin_by_class,
    frechet_distance,
    knn_accuracy,
    posterior_radius,
)
from jlml_core.nn import losses


def gaussian_with_moments(
    mean: np.ndarray, covariance: np.ndarray, n: int = 500, seed: int = 0
) -> np.ndarray:
    """n points (n, F) whose sample mean and unbiased covariance are exactly the given ones."""
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, len(mean)))
    points -= points.mean(axis=0)
    # Whiten to identity sample covariance, then colour with a square root of `covariance`.
    whitening = np.linalg.cholesky(np.linalg.inv(np.atleast_2d(np.cov(points, rowvar=False))))
    colouring = np.linalg.cholesky(covariance)
    return points @ whitening @ colouring.T + mean


def test_construction_has_exact_moments() -> None:
    covariance = np.array([[2.0, 0.5], [0.5, 1.0]])
    points = gaussian_with_moments(np.array([1.0, -2.0]), covariance)
    np.testing.assert_allclose(points.mean(axis=0), [1.0, -2.0], atol=1e-12)
    np.testing.assert_allclose(np.cov(points, rowvar=False), covariance, atol=1e-12)


def test_frechet_of_identical_sets_is_zero() -> None:
    features = np.random.default_rng(1).standard_normal((300, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_of_shifted_set_is_squared_shift() -> None:
    features = np.random.default_rng(2).standard_normal((300, 8))
    shift = np.arange(8) / 4.0
    expected = float(np.square(shift).sum())
    assert frechet_distance(features, features + shift) == pytest.approx(expected, rel=1e-9)


def test_frechet_matches_closed_form_in_one_dimension() -> None:
    # For scalars the distance is (m1 - m2)^2 + (s1 - s2)^2.
    a = gaussian_with_moments(np.array([0.5]), np.array([[4.0]]))
    b = gaussian_with_moments(np.array([-1.0]), np.array([[0.25]]), seed=1)
    assert frechet_distance(a, b) == pytest.approx(1.5**2 + (2.0 - 0.5) ** 2, rel=1e-9)


def test_frechet_matches_closed_form_for_non_commuting_covariances() -> None:
    # For 2x2 PSD M, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); with M = S1^1/2 S2 S1^1/2,
    # tr M = tr(S1 S2) and det M = det S1 det S2.
    mean_a, mean_b = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    cov_a = np.array([[2.0, 0.9], [0.9, 1.0]])
    cov_b = np.array([[0.5, -0.3], [-0.3, 3.0]])
    assert not np.allclose(cov_a @ cov_b, cov_b @ cov_a)
    trace_sqrt = np.sqrt(
        np.trace(cov_a @ cov_b) + 2 * np.sqrt(np.linalg.det(cov_a) * np.linalg.det(cov_b))
    )
    expected = np.square(mean_a - mean_b).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    a = gaussian_with_moments(mean_a, cov_a)
    b = gaussian_with_moments(mean_b, cov_b, seed=3)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-9)


def test_frechet_handles_rank_deficient_covariances() -> None:
    # 10 points in 32 dimensions: singular covariances, where sqrtm-based code goes complex.
    rng = np.random.default_rng(4)
    distance = frechet_distance(rng.standard_normal((10, 32)), rng.standard_normal((10, 32)))
    assert np.isfinite(distance) and distance > 0


def test_frechet_rejects_mismatched_features() -> None:
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_knn_perfect_label_encoder_scores_one() -> None:
    rng = np.random.default_rng(5)
    train_labels, test_labels = rng.integers(0, 10, 600), rng.integers(0, 10, 200)
    one_hot = np.eye(10, dtype=np.float32)
    accuracy = knn_accuracy(one_hot[train_labels], train_labels, one_hot[test_labels], test_labels)
    assert accuracy == 1.0


def test_knn_tie_goes_to_nearest_class() -> None:
    train_codes = np.array([[0.0], [1.0]])  # label 1 at 0, label 0 at 1
    train_labels = np.array([1, 0])
    test_codes = np.array([[0.1], [0.9]])
    accuracy = knn_accuracy(train_codes, train_labels, test_codes, np.array([1, 0]), k=2)
    assert accuracy == 1.0


def brute_force_knn(train, train_labels, test, k) -> np.ndarray:
    """Predictions by sorting all distances and counting votes in Python."""
    predictions = []
    for query in test:
        order = np.argsort(np.linalg.norm(train - query, axis=1), kind="stable")[:k]
        votes = [int(train_labels[i]) for i in order]
        counts = Counter(votes)
        best = max(counts.values())
        predictions.append(next(label for label in votes if counts[label] == best))
    return np.array(predictions)


@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_matches_brute_force(k: int) -> None:
    rng = np.random.default_rng(6)
    train, test = rng.standard_normal((300, 3)), rng.standard_normal((97, 3))
    train_labels, test_labels = rng.integers(0, 4, 300), rng.integers(0, 4, 97)
    expected = np.mean(brute_force_knn(train, train_labels, test, k) == test_labels)
    # chunk_size 10 leaves a ragged last chunk of 7.
    accuracy = knn_accuracy(train, train_labels, test, test_labels, k=k, chunk_size=10)
    assert accuracy == pytest.approx(expected)


def test_standard_normal_posterior_has_zero_kl_and_unit_radius() -> None:
    mu, logvar = torch.zeros(50, 8), torch.zeros(50, 8)
    assert losses.kl_standard_normal(mu, logvar, reduction="sum").item() == 0.0
    assert posterior_radius(logvar.numpy()) == pytest.approx(1.0)


def test_posterior_radius_is_rms_standard_deviation() -> None:
    # Standard deviations 1 and 7 in two dims: RMS = sqrt((1 + 49) / 2) = 5.
    logvar = np.log(np.array([[1.0, 49.0], [1.0, 49.0]]))
    assert posterior_radius(logvar) == pytest.approx(5.0)


def test_active_units_counts_dimensions_above_threshold() -> None:
    # Standard deviations 1, 0.2, 0.05 and 0: variances 1, 0.04, 0.0025, 0.
    base = gaussian_with_moments(np.zeros(4), np.eye(4), n=200)
    mu = base * np.sqrt(200 / (200 - 1)) * np.array([1.0, 0.2, 0.05, 0.0]) + 3.0
    np.testing.assert_allclose(code_spread(mu), [1.0, 0.2, 0.05, 0.0], atol=1e-12)
    assert active_units(mu) == 2
    assert active_units(mu, threshold=0.001) == 3


def test_distance_by_class_on_constructed_codes() -> None:
    mu = np.array([[3.0, 4.0], [-3.0, 4.0], [0.0, 1.0], [0.0, -3.0], [0.0, 0.0]])
    labels = np.array([0, 0, 1, 1, 7])
    np.testing.assert_allclose(code_norms(mu), [5.0, 5.0, 1.0, 3.0, 0.0])
    assert distance_from_origin_by_class(mu, labels) == {0: 5.0, 1: 2.0, 7: 0.0}
