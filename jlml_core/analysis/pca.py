"""PCA of a dataset and how close a linear autoencoder comes to it.

The textbook result (Baldi & Hornik 1989, "Neural networks and principal component analysis";
Bourlard & Kamp 1988): a linear autoencoder trained with squared error has its optimum where
the decoder's columns span the same k-dimensional subspace as the top-k principal components,
so its reconstructions equal PCA's at the same k, though its columns need not be orthogonal
or ordered. Two numbers measure that here: the test MSE of both, and the principal angles
between the decoder's column space and PCA's subspace (Björck & Golub 1973), which are 0
degrees when the subspaces coincide.

Everything runs in float64: the covariance of 60,000 images sums 60,000 products per entry.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from jlml_core.data.batches import to_float_batch
from jlml_core.nn.models import Autoencoder

# Rows per chunk of the covariance sum: 10,000 x 784 float64 is 63 MB at a time.
_CHUNK = 10_000


class PCA(NamedTuple):
    """Principal components of a set of images, flattened to P pixels.

    Attributes:
        mean: the mean image, (P,).
        components: orthonormal principal directions as columns, largest variance first, (P, P).
        eigenvalues: the variance along each direction (covariance divided by N), descending, (P,).
        image_shape: (H, W) of one image, to shape reconstructions back.
    """

    mean: np.ndarray
    components: np.ndarray
    eigenvalues: np.ndarray
    image_shape: tuple[int, int]

    def basis(self, k: int) -> np.ndarray:
        """The top-k principal directions as orthonormal columns, (P, k)."""
        _check_k(k, len(self.eigenvalues))
        return self.components[:, :k]

    def discarded_variance(self, k: int) -> float:
        """Sum of the eigenvalues after the first k: PCA's mean squared error per image on the
        data it was fitted to (the closed form of its reconstruction error)."""
        _check_k(k, len(self.eigenvalues))
        return float(self.eigenvalues[k:].sum())


class LinearComparison(NamedTuple):
    """A linear autoencoder against PCA at the same k on one set of images.

    Attributes:
        k: the code size (and the number of principal components).
        model_mse: the model's mean squared error per image (summed over pixels).
        pca_mse: PCA's, at the same k, same images.
        angles_degrees: principal angles between the decoder's column space and PCA's top-k
            subspace, ascending, (k,).
    """

    k: int
    model_mse: float
    pca_mse: float
    angles_degrees: np.ndarray

    @property
    def relative_gap(self) -> float:
        """(model MSE - PCA MSE) / PCA MSE: 0.02 is 2 % worse than PCA."""
        return (self.model_mse - self.pca_mse) / self.pca_mse


def _check_k(k: int, most: int) -> None:
    if not 1 <= k <= most:
        raise ValueError(f"k must be between 1 and {most}, not {k}.")


def _flat(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Images (N, H, W), uint8 0..255 or floats in [0, 1], as float64 rows (N, P)."""
    images = torch.as_tensor(images)
    flat = images.reshape(len(images), -1).double()
    return flat / 255.0 if images.dtype == torch.uint8 else flat


def fit_pca(images: torch.Tensor | np.ndarray) -> PCA:
    """PCA of a set of images through the eigendecomposition of their P x P covariance.

    Args:
        images: (N, H, W) uint8 pixels (as datasets hold them) or floats in [0, 1].

    Returns:
        The mean, components and eigenvalues; the covariance divides by N (not N - 1), so
        `PCA.discarded_variance` is exactly the mean squared error on these images.
    """
    images = torch.as_tensor(images)
    count, height, width = images.shape
    pixels = height * width
    total = torch.zeros(pixels, dtype=torch.float64)
    for start in range(0, count, _CHUNK):
        total += _flat(images[start : start + _CHUNK]).sum(dim=0)
    mean = total / count  # (P,)
    covariance = torch.zeros(pixels, pixels, dtype=torch.float64)
    for start in range(0, count, _CHUNK):
        centred = _flat(images[start : start + _CHUNK]) - mean  # (chunk, P)
        covariance += centred.T @ centred
    covariance /= count
    eigenvalues, vectors = torch.linalg.eigh(covariance)  # ascending
    # Rounding can leave the null space's eigenvalues at -1e-17: variance is never negative.
    eigenvalues = eigenvalues.flip(0).clamp(min=0.0)
    return PCA(mean.numpy(), vectors.flip(1).numpy(), eigenvalues.numpy(), (height, width))


def pca_reconstruct(pca: PCA, images: torch.Tensor | np.ndarray, k: int) -> np.ndarray:
    """Images projected onto the mean plus the top-k principal directions: (N, H, W) float64,
    not clipped to [0, 1] (clip for display only: the error is measured on these values)."""
    basis = torch.from_numpy(pca.basis(k))  # (P, k)
    mean = torch.from_numpy(pca.mean)
    centred = _flat(images) - mean  # (N, P)
    rebuilt = (centred @ basis) @ basis.T + mean  # (N, P)
    return rebuilt.reshape(-1, *pca.image_shape).numpy()


def squared_errors(images: torch.Tensor | np.ndarray, rebuilt: np.ndarray) -> np.ndarray:
    """Squared error of each reconstruction, summed over its pixels: (N,) float64."""
    difference = _flat(images) - _flat(torch.as_tensor(rebuilt, dtype=torch.float64))
    return difference.square().sum(dim=1).numpy()


def pca_mse(pca: PCA, images: torch.Tensor | np.ndarray, k: int) -> float:
    """PCA's mean squared error per image (summed over pixels) at k components."""
    return float(squared_errors(images, pca_reconstruct(pca, images, k)).mean())


def _orthonormal(columns: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis (P, r) of the column space of a full-rank (P, r) matrix."""
    q, _ = torch.linalg.qr(columns.double())
    return q


def principal_angles(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Principal angles between the column spaces of `a` (P, r) and `b` (P, s), in degrees.

    Björck & Golub (1973): with orthonormal bases Q_a, Q_b, the singular values of
    Q_a^T Q_b are the cosines of the angles. Arccos loses digits near 0 degrees (cos 0.1
    degree = 1 - 1.5e-6), so angles below 45 degrees come from the sines instead: the singular
    values of Q_b - Q_a Q_a^T Q_b (Knyazev & Argentati 2002).

    Args:
        a: a full-rank matrix whose columns span the first subspace.
        b: the same for the second (same number of rows).

    Returns:
        min(r, s) angles in degrees, ascending, in [0, 90].
    """
    q_a, q_b = _orthonormal(torch.as_tensor(a)), _orthonormal(torch.as_tensor(b))
    if q_a.shape[1] < q_b.shape[1]:
        q_a, q_b = q_b, q_a  # the sines below need the larger space first
    count = q_b.shape[1]
    overlap = q_a.T @ q_b  # (r, s)
    cosines = torch.linalg.svdvals(overlap).clamp(0.0, 1.0)  # descending: angles ascending
    sines = torch.linalg.svdvals(q_b - q_a @ overlap).clamp(0.0, 1.0)  # descending
    from_cos = torch.rad2deg(torch.arccos(cosines[:count]))
    from_sin = torch.rad2deg(torch.arcsin(sines.flip(0)[:count]))
    return torch.where(from_cos < 45.0, from_sin, from_cos).numpy()


def decoder_columns(model: Autoencoder) -> np.ndarray:
    """The (P, k) weight of a linear autoencoder's decoder: its columns span the subspace
    that every reconstruction (minus the decoder's bias) lies in.

    Raises:
        ValueError: for a model that is not a linear autoencoder.
    """
    if not getattr(model, "linear", False):
        raise ValueError("Only a linear autoencoder's decoder is one matrix; this model's is not.")
    linear = model.decoder[0]  # nn.Linear(k, P): weight (P, k)
    return linear.weight.detach().double().numpy()


@torch.inference_mode()
def model_reconstruct(
    model: Autoencoder, images: torch.Tensor, batch_size: int = 1000
) -> np.ndarray:
    """The pixel values a model gives for images (N, H, W) uint8, decoding the code (the
    posterior mean for a VAE): (N, H, W) float64. A linear model's values are not clipped
    (what its loss and PCA's error measure); any other model's are its sigmoid output."""
    model.eval()
    values = []
    for start in range(0, len(images), batch_size):
        x = to_float_batch(images[start : start + batch_size])  # (B, 1, H, W)
        mu, _ = model.encode(x)
        decoded = model.decoder[:-1](mu) if model.linear else torch.sigmoid(model.decode(mu))
        values.append(decoded.double().reshape(len(x), *images.shape[1:]))
    return torch.cat(values).numpy()


def compare_with_pca(model: Autoencoder, pca: PCA, images: torch.Tensor) -> LinearComparison:
    """A model's MSE beside PCA's at k = its code size, and, for a linear autoencoder, the
    principal angles between its decoder's column space and PCA's top-k subspace.

    Args:
        model: a trained model of latent size k.
        pca: PCA fitted to the model's training images (`fit_pca`).
        images: (N, H, W) uint8 images to measure on (the test split).

    Returns:
        The comparison; `angles_degrees` is empty for a model that is not linear.
    """
    k = model.latent_dim
    model_mse = float(squared_errors(images, model_reconstruct(model, images)).mean())
    angles = np.zeros(0)
    if getattr(model, "linear", False):
        angles = principal_angles(decoder_columns(model), pca.basis(k))
    return LinearComparison(k, model_mse, pca_mse(pca, images, k), angles)
