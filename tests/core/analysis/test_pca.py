"""PCA and principal angles against closed forms; a linear AE built from PCA matches it exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jlml_core.analysis import pca
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.nn.models import build_model


@pytest.fixture(scope="module")
def mnist_slice() -> torch.Tensor:
    """2,000 real MNIST training digits, uint8 (N, 28, 28)."""
    return load_split("mnist", "train").images[:2000]


@pytest.fixture(scope="module")
def fitted(mnist_slice: torch.Tensor) -> pca.PCA:
    return pca.fit_pca(mnist_slice)


def test_components_are_orthonormal_and_eigenvalues_descend(fitted: pca.PCA) -> None:
    v = fitted.components  # (784, 784)
    np.testing.assert_allclose(v.T @ v, np.eye(784), atol=1e-10)
    assert np.all(np.diff(fitted.eigenvalues) <= 1e-12)
    assert fitted.eigenvalues.min() >= 0.0


@pytest.mark.parametrize("k", [1, 2, 16, 100])
def test_reconstruction_error_is_the_sum_of_discarded_eigenvalues(
    fitted: pca.PCA, mnist_slice: torch.Tensor, k: int
) -> None:
    # On the images PCA was fitted to, mean squared error per image = sum_{i > k} lambda_i.
    assert pca.pca_mse(fitted, mnist_slice, k) == pytest.approx(
        fitted.discarded_variance(k), rel=1e-9
    )


def test_all_components_reconstruct_exactly(fitted: pca.PCA, mnist_slice: torch.Tensor) -> None:
    rebuilt = pca.pca_reconstruct(fitted, mnist_slice[:10], 784)
    np.testing.assert_allclose(rebuilt, mnist_slice[:10].numpy() / 255.0, atol=1e-9)


def test_eigenvalues_match_numpy_svd(fitted: pca.PCA, mnist_slice: torch.Tensor) -> None:
    x = mnist_slice.reshape(len(mnist_slice), -1).numpy() / 255.0
    singular = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    np.testing.assert_allclose(fitted.eigenvalues[:50], singular[:50] ** 2 / len(x), rtol=1e-9)


def test_angles_of_a_subspace_with_itself_are_zero() -> None:
    a = torch.randn(784, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mixed = a @ torch.randn(16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    angles = pca.principal_angles(a, mixed)  # same span, other basis
    assert angles.shape == (16,)
    assert np.all(angles < 1e-5)  # degrees: the sine branch keeps digits arccos would lose


def test_orthogonal_subspaces_are_90_degrees_apart() -> None:
    eye = np.eye(10)
    np.testing.assert_allclose(pca.principal_angles(eye[:, :3], eye[:, 3:6]), [90.0] * 3)


@pytest.mark.parametrize("theta", [0.05, 1.0, 30.0, 44.9, 45.1, 60.0, 89.0])
def test_a_plane_turned_by_theta(theta: float) -> None:
    # span{e1, e2} against span{e1, cos t e2 + sin t e3}: angles (0, t) exactly.
    t = math.radians(theta)
    a = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    b = np.array([[1.0, 0.0], [0.0, math.cos(t)], [0.0, math.sin(t)]])
    np.testing.assert_allclose(pca.principal_angles(a, b), [0.0, theta], atol=1e-9)


def test_angles_match_scipy() -> None:
    from scipy import linalg

    gen = np.random.default_rng(3)
    a, b = gen.normal(size=(50, 4)), gen.normal(size=(50, 6))
    expected = np.sort(np.degrees(linalg.subspace_angles(a, b)))
    np.testing.assert_allclose(pca.principal_angles(a, b), expected, atol=1e-9)


def test_a_linear_ae_set_to_pca_matches_it(fitted: pca.PCA, mnist_slice: torch.Tensor) -> None:
    # The decoder spans PCA's top-k subspace through a non-orthogonal basis (as a trained
    # linear AE does); the encoder undoes the mixing. Reconstructions are then PCA's.
    k = 4
    config = TrainConfig(kind="ae", arch="dense", loss="mse", linear=True, latent_dim=k)
    model = build_model(config).eval()
    basis = fitted.basis(k)  # (784, k)
    mixing = np.array([[2.0, 1.0, 0, 0], [0, 1.0, 0.5, 0], [0, 0, 3.0, 0], [0.2, 0, 0, 1.0]])
    with torch.no_grad():
        model.decoder[0].weight.copy_(torch.from_numpy(basis @ mixing))
        model.decoder[0].bias.copy_(torch.from_numpy(fitted.mean))
        encoder = np.linalg.inv(mixing) @ basis.T  # (k, 784)
        model.to_mu.weight.copy_(torch.from_numpy(encoder))
        model.to_mu.bias.copy_(torch.from_numpy(-encoder @ fitted.mean))
    result = pca.compare_with_pca(model, fitted, mnist_slice[:500])
    assert result.k == k
    assert result.model_mse == pytest.approx(result.pca_mse, rel=1e-4)  # float32 model
    assert result.angles_degrees.max() < 0.05


def test_a_trained_linear_ae_approaches_pca(fitted: pca.PCA, mnist_slice: torch.Tensor) -> None:
    from jlml_core.data.datasets import ImageDataset
    from jlml_core.training.train import fit

    config = TrainConfig(
        kind="ae", arch="dense", loss="mse", linear=True, latent_dim=2, epochs=20,
        learning_rate=1e-2, schedule="cosine", batch_size=32, precision="fp32",
    )  # fmt: skip
    labels = torch.zeros(len(mnist_slice), dtype=torch.int64)
    data = ImageDataset(mnist_slice, labels, "mnist", "train", tuple("0123456789"))
    model = fit(config, data, data.subset(200), record_latents=False).model
    result = pca.compare_with_pca(model, fitted, mnist_slice)
    assert result.relative_gap < 0.02  # within 2 % of PCA's MSE on the same digits
    # The first direction is found first; the second is still turning (on 2,000 digits
    # lambda_2 and lambda_3 are close, so that angle costs little error).
    assert result.angles_degrees[0] < 5.0
    assert result.angles_degrees[1] < 45.0


def test_a_nonlinear_model_has_no_decoder_matrix() -> None:
    model = build_model(TrainConfig(kind="ae", arch="dense", latent_dim=2))
    with pytest.raises(ValueError, match="linear"):
        pca.decoder_columns(model)


def test_k_out_of_range(fitted: pca.PCA) -> None:
    with pytest.raises(ValueError, match="k must be between 1 and 784"):
        fitted.basis(0)
