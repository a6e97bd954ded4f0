"""How a VAE uses its latent dimensions: KL per dimension, active units and I(x; z), for a
model or for codes already computed, and as recorded during training.

The numbers come from `nn.latent_stats` (the same code `training.evaluate` records after every
epoch); this module applies it to a whole test set and reads the training history.
Collapse in one picture: a dimension whose KL is ~0 nats and whose posterior mean does not
vary (inactive, Burda et al. 2016) is switched off; a larger beta (Higgins et al. 2017, "beta-
VAE") switches more of them off, and free bits (Kingma et al. 2016) keeps them on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from jlml_core.inference import latent
from jlml_core.nn import latent_stats
from jlml_core.nn.models import Autoencoder


class LatentDimensions(NamedTuple):
    """One model's latent dimensions over a data set.

    Attributes:
        kl_per_dim: mean KL(q(z_d|x) || N(0, 1)) of each dimension in nats, (D,).
        variance: Cov_x(E_q[z_d]), the spread of each dimension's posterior mean, (D,).
        active: variance above `latent_stats.ACTIVE_THRESHOLD` (0.01), (D,) bool.
        mutual_information: the aggregate-posterior estimate of I(x; z) in nats.
    """

    kl_per_dim: np.ndarray
    variance: np.ndarray
    active: np.ndarray
    mutual_information: float

    @property
    def active_units(self) -> int:
        """How many dimensions are active."""
        return int(self.active.sum())

    @property
    def order(self) -> np.ndarray:
        """Dimension indices by KL, largest first (ties by index): (D,)."""
        return np.argsort(-self.kl_per_dim, kind="stable")


def latent_dimensions(
    mu: np.ndarray,
    logvar: np.ndarray,
    seed: int = 0,
    samples: int | None = None,
    mutual_information: float | None = None,
) -> LatentDimensions:
    """The latent dimensions' numbers from a data set's posteriors.

    Args:
        mu: posterior means, (N, D).
        logvar: posterior log-variances, (N, D).
        seed: seeds the one posterior sample per image behind the mutual information.
        samples: samples the mutual information scores (None: all N; see
            `latent_stats.mutual_information`).
        mutual_information: that estimate, already computed from these posteriors with this
            seed and `samples` (a zoo model's `test_codes.EncodedTestSet` ships it); it is the
            one slow number here.

    Raises:
        ValueError: without log-variances (an AE has no posterior to measure).
    """
    if logvar is None:
        raise ValueError("KL per dimension and I(x; z) need a VAE's posteriors (logvar is None).")
    mu_t = torch.as_tensor(np.asarray(mu, np.float32))
    logvar_t = torch.as_tensor(np.asarray(logvar, np.float32))
    if mutual_information is None:
        noise = torch.randn(mu_t.shape, generator=torch.Generator().manual_seed(seed))
        z = mu_t + torch.exp(0.5 * logvar_t) * noise  # (N, D)
        mutual_information = latent_stats.mutual_information(mu_t, logvar_t, z, samples)
    return LatentDimensions(
        kl_per_dim=latent_stats.mean_kl_per_dimension(mu_t, logvar_t).numpy(),
        variance=latent_stats.code_variance(mu_t).numpy(),
        active=latent_stats.active_dimensions(mu_t).numpy(),
        mutual_information=mutual_information,
    )


def measure_model(
    model: Autoencoder, images: torch.Tensor, seed: int = 0, samples: int | None = None
) -> LatentDimensions:
    """Encode uint8 images (N, H, W) with a VAE and measure its latent dimensions.

    Raises:
        ValueError: for an AE.
    """
    codes = latent.encode_images(model.eval(), images)
    return latent_dimensions(codes.mu, codes.logvar, seed, samples)


class CollapseHistory(NamedTuple):
    """The posterior-collapse numbers a training run recorded after each epoch.

    Attributes:
        epochs: epoch numbers that recorded them, (E,).
        kl_per_dim: KL of each dimension after each of those epochs, (E, D).
        active_units: (E,) ints.
        mutual_information: (E,) nats.
    """

    epochs: np.ndarray
    kl_per_dim: np.ndarray
    active_units: np.ndarray
    mutual_information: np.ndarray


def collapse_history(history: Sequence[Mapping[str, Any]]) -> CollapseHistory | None:
    """The collapse numbers of a per-epoch history; None when no epoch recorded them (an AE,
    or a model trained before they were recorded: a missing key means "not recorded")."""
    records = [r for r in history if "test_kl_per_dim" in r]
    if not records:
        return None
    return CollapseHistory(
        epochs=np.array([r.get("epoch", i + 1) for i, r in enumerate(records)], np.float64),
        kl_per_dim=np.array([r["test_kl_per_dim"] for r in records], np.float64),
        active_units=np.array([r.get("test_active_units", -1) for r in records], np.int64),
        mutual_information=np.array(
            [r.get("test_mutual_information", np.nan) for r in records], np.float64
        ),
    )
