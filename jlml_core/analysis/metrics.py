"""Model-free metrics on codes and features: plain functions of arrays, no model loading.

References:
    Heusel et al. (2017), "GANs trained by a two time-scale update rule converge to a local
    Nash equilibrium", NeurIPS (the Fréchet distance between feature Gaussians, FID).
    Burda, Grosse & Salakhutdinov (2016), "Importance weighted autoencoders", ICLR
    (active units: dimensions whose posterior mean varies with the input).
"""

from __future__ import annotations

import numpy as np
import torch


def _mean_and_covariance(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and unbiased covariance (F, F) of features (N, F), in float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features of shape (N >= 2, F), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], -1)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition.

    Rounding can leave tiny negative eigenvalues in a PSD matrix; they are clipped to 0.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between Gaussians fitted to two feature sets.

    Heusel et al. (2017), eq. 6:
    ``||m1 - m2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)``. Writing the cross term
    with the symmetric S1^1/2 S2 S1^1/2 (same eigenvalues as S1 S2) lets both square roots be
    symmetric eigendecompositions in float64, without scipy's ``sqrtm`` and its complex parts.

    Args:
        features_a: (N_a, F) features of one image set, e.g. real test images.
        features_b: (N_b, F) features of the other, e.g. model samples.

    Returns:
        The squared distance (the value reported as "FID"), >= 0. It is biased upwards for
        small N, so only compare values computed with the same numbers of images.
    """
    mean_a, cov_a = _mean_and_covariance(features_a)
    mean_b, cov_b = _mean_and_covariance(features_b)
    if mean_a.shape != mean_b.shape:
        raise ValueError(f"feature sizes differ: {mean_a.shape[0]} vs {mean_b.shape[0]}")
    sqrt_a = _sqrt_psd(cov_a)  # (F, F)
    cross = sqrt_a @ cov_b @ sqrt_a
    cross_eigenvalues = np.linalg.eigvalsh((cross + cross.T) / 2)  # symmetrise rounding error
    trace_sqrt_cross = np.sqrt(np.clip(cross_eigenvalues, 0.0, None)).sum()
    distance = (
        np.square(mean_a - mean_b).sum()
        + np.trace(cov_a)
        + np.trace(cov_b)
        - 2.0 * trace_sqrt_cross
    )
    return float(max(distance, 0.0))


def knn_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    k: int = 5,
    chunk_size: int = 512,
) -> float:
    """Accuracy of a k-nearest-neighbour classifier (Euclidean) in code space.

    Each test code takes the majority label of its k nearest training codes; a tie goes to the
    tied class whose member is nearest. Distances are computed in chunks of test codes, so
    memory stays at chunk_size x N_train floats (60,000 x 10,000 takes a few seconds).

    Args:
        train_codes: (N_train, D) codes of labelled reference images.
        train_labels: (N_train,) integer labels.
        test_codes: (N_test, D) codes to classify.
        test_labels: (N_test,) their true labels.
        k: neighbours per vote (capped at N_train).
        chunk_size: test codes per distance matrix.

    Returns:
        The share of test codes classified correctly, in [0, 1].
    """
    train = torch.as_tensor(np.asarray(train_codes, np.float32))
    test = torch.as_tensor(np.asarray(test_codes, np.float32))
    train_y = torch.as_tensor(np.asarray(train_labels, np.int64))
    test_y = torch.as_tensor(np.asarray(test_labels, np.int64))
    if len(train) == 0 or len(test) == 0:
        raise ValueError("knn_accuracy needs at least one training and one test code")
    k = min(k, len(train))
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    ranks = torch.arange(k).expand(chunk_size, k)  # (C, k) 0 = nearest
    correct = 0
    for start in range(0, len(test), chunk_size):
        queries = test[start : start + chunk_size]  # (C, D)
        distances = torch.cdist(queries, train)  # (C, N_train)
        neighbours = distances.topk(k, dim=1, largest=False, sorted=True).indices  # (C, k)
        votes = train_y[neighbours]  # (C, k) labels, nearest first
        rows = len(queries)
        counts = torch.zeros(rows, num_classes, dtype=torch.int64)
        counts.scatter_add_(1, votes, torch.ones_like(votes))  # (C, classes)
        first_rank = torch.full((rows, num_classes), k, dtype=torch.int64)
        first_rank.scatter_reduce_(1, votes, ranks[:rows], reduce="amin")  # (C, classes)
        # More votes wins; among equal votes the class met first (k - rank in 0..k < k + 1).
        score = counts * (k + 1) + (k - first_rank)
        correct += int((score.argmax(dim=1) == test_y[start : start + chunk_size]).sum())
    return correct / len(test)


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """Number of latent dimensions whose posterior mean varies across the data.

    Burda et al. (2016), sec. 5.2: dimension d is active if Cov_x(E_q(z|x)[z_d]) > 0.01. An
    inactive dimension carries no information about x: its posterior has collapsed to the prior.

    Args:
        mu: (N, D) posterior means (or an AE's codes) of a data set.
        threshold: variance a dimension must exceed to count.
    """
    return int((code_spread(mu) ** 2 > threshold).sum())


def code_spread(mu: np.ndarray) -> np.ndarray:
    """Standard deviation over the data of each dimension of the posterior means: (D,)."""
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or len(mu) == 0:
        raise ValueError(f"need codes of shape (N >= 1, D), got {mu.shape}")
    return mu.std(axis=0)


def posterior_radius(logvar: np.ndarray) -> float:
    """Mean over the data of the RMS posterior standard deviation, sqrt(mean_d exp(logvar)).

    About 1 when posteriors have collapsed onto the N(0, I) prior, much smaller when the
    encoder is certain. (An AE has no posterior; callers report None.)

    Args:
        logvar: (N, D) posterior log-variances.
    """
    logvar = np.asarray(logvar, np.float64)
    if logvar.ndim != 2 or len(logvar) == 0:
        raise ValueError(f"need log-variances of shape (N >= 1, D), got {logvar.shape}")
    return float(np.sqrt(np.exp(logvar).mean(axis=1)).mean())


def code_norms(mu: np.ndarray) -> np.ndarray:
    """Euclidean norm ||mu|| of each code (N, D) -> (N,), e.g. to plot their distribution."""
    return np.linalg.norm(np.asarray(mu, np.float64), axis=1)


def distance_from_origin_by_class(mu: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """Mean distance ||mu|| from the origin of the codes of each class present.

    Under a N(0, I) prior a well-used code sits at radius about sqrt(D); a class far outside
    that decodes well but is rarely reached by prior samples.

    Args:
        mu: (N, D) codes.
        labels: (N,) integer labels.

    Returns:
        Class index -> mean norm, for the classes that occur, in ascending class order.
    """
    norms = code_norms(mu)
    labels = np.asarray(labels)
    if labels.shape != norms.shape:
        raise ValueError(f"need one label per code: {labels.shape} labels, {norms.shape} codes")
    return {int(c): float(norms[labels == c].mean()) for c in np.unique(labels)}
