"""A VAE's posterior q(z|x) = N(mu, diag(exp(logvar))) on screen: ellipses, samples, overlays.

In the Latent Explorer's plane a posterior is drawn as its n-sigma ellipses: the points at
Mahalanobis distance n from the mean. For a 2-D latent space that is axis-aligned with radii
n exp(logvar / 2); for more dimensions the page shows a PCA plane z -> (z - m) P^T, through
which a Gaussian stays Gaussian with covariance P Sigma P^T (2 x 2), whose eigenvectors and
eigenvalues give the ellipse's axes and squared radii. An autoencoder has no posterior: its
code is a single point.
"""

from __future__ import annotations

import numpy as np

from jlml_core.inference.latent import Projection

ELLIPSE_POINTS = 64


def projected_covariance(logvar: np.ndarray, projection: Projection) -> np.ndarray:
    """Covariance (2, 2) in the plane of a diagonal Gaussian with log-variances `logvar` (D,)."""
    components = np.asarray(projection.components, np.float64)  # (2, D)
    variance = np.exp(np.asarray(logvar, np.float64))  # (D,)
    return (components * variance) @ components.T


def posterior_ellipse(
    mu: np.ndarray,
    logvar: np.ndarray,
    projection: Projection,
    n_sigma: float = 1.0,
    points: int = ELLIPSE_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The n-sigma ellipse of N(mu, diag(exp(logvar))) in the plane, as a closed outline.

    Args:
        mu: posterior mean (D,).
        logvar: posterior log-variance (D,).
        projection: the page's plane (identity for D = 2).
        n_sigma: Mahalanobis radius of the outline.
        points: vertices of the outline (the last repeats the first).

    Returns:
        x, y of the outline, each (points,).
    """
    centre = projection.project(np.asarray(mu, np.float32)[None])[0].astype(np.float64)  # (2,)
    eigenvalues, eigenvectors = np.linalg.eigh(projected_covariance(logvar, projection))
    radii = n_sigma * np.sqrt(np.clip(eigenvalues, 0.0, None))  # (2,)
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(angle), np.sin(angle)])  # (2, points)
    outline = centre[:, None] + eigenvectors @ (radii[:, None] * circle)  # (2, points)
    return outline[0], outline[1]


def sample_posterior(mu: np.ndarray, logvar: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n codes from N(mu, diag(exp(logvar))), reproducible by seed: (n, D)."""
    mu = np.asarray(mu, np.float64)
    noise = np.random.default_rng(seed).standard_normal((n, mu.shape[-1]))
    return (mu + np.exp(0.5 * np.asarray(logvar, np.float64)) * noise).astype(np.float32)


def ellipse_outlines(
    mu: np.ndarray,
    logvar: np.ndarray,
    projection: Projection,
    n_sigma: float = 1.0,
    points: int = 33,
) -> tuple[np.ndarray, np.ndarray]:
    """The n-sigma ellipses of many posteriors (N, D) joined into one line with NaN breaks.

    One trace with gaps draws hundreds of ellipses far faster than one trace each.

    Returns:
        x, y, each (N * (points + 1),).
    """
    xs, ys = [], []
    gap = np.array([np.nan])
    for m, lv in zip(np.asarray(mu), np.asarray(logvar), strict=True):
        x, y = posterior_ellipse(m, lv, projection, n_sigma, points)
        xs += [x, gap]
        ys += [y, gap]
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def kl_to_prior(mu: np.ndarray, logvar: np.ndarray) -> float:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in nats (Kingma & Welling 2014, App. B)."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return float(0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar))
