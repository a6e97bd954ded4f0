"""The posterior-collapse numbers against closed forms: KL per dimension, active units, I(x; z)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from jlml_core.nn import latent_stats


def _sample(mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0) -> torch.Tensor:
    noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed), dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * noise


def test_mean_kl_per_dimension_matches_torch_distributions() -> None:
    generator = torch.Generator().manual_seed(1)
    mu = torch.randn(50, 4, generator=generator)
    logvar = torch.randn(50, 4, generator=generator)
    reference = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).mean(0)
    torch.testing.assert_close(
        latent_stats.mean_kl_per_dimension(mu, logvar), reference.double(), rtol=1e-5, atol=1e-6
    )


def test_active_dimensions_follow_the_variance_threshold() -> None:
    # Dimension d's posterior means are +-s_d: a population variance of exactly s_d^2.
    spreads = torch.tensor([0.0, 0.05, 0.2, 1.0])  # variances 0, 0.0025, 0.04, 1
    signs = torch.tensor([1.0, -1.0]).repeat(100)[:, None]  # (200, 1)
    mu = signs * spreads  # (200, 4)
    torch.testing.assert_close(latent_stats.code_variance(mu), spreads.double().square())
    assert latent_stats.active_dimensions(mu).tolist() == [False, False, True, True]
    assert latent_stats.active_dimensions(mu, threshold=0.001).tolist() == [False, True, True, True]


def test_posterior_equal_to_the_prior_carries_nothing() -> None:
    # q(z|x) = N(0, I) for every x: the aggregate posterior is the prior, I(x; z) = 0.
    mu, logvar = torch.zeros(10_000, 3), torch.zeros(10_000, 3)
    z = _sample(mu, logvar)
    numbers = latent_stats.collapse_numbers(mu, logvar, z, samples=2000)
    assert numbers["active_units"] == 0
    assert numbers["kl_per_dim"] == (0.0, 0.0, 0.0)
    # Monte Carlo error only: std sqrt(D / 2) / sqrt(2000) = 0.027.
    assert abs(numbers["mutual_information"]) < 0.1


def test_two_separated_clusters_carry_log_2() -> None:
    # Half the images at mu = +5, half at -5, sigma = 0.1: z names the cluster, nothing more.
    mu = torch.tensor([5.0, -5.0]).repeat(2000)[:, None]  # (4000, 1)
    logvar = torch.full_like(mu, 2 * math.log(0.1))
    mi = latent_stats.mutual_information(mu, logvar, _sample(mu, logvar))
    # Monte Carlo error of the sampled log-densities: std sqrt(1/2) / sqrt(4000) = 0.011.
    assert mi == pytest.approx(math.log(2), abs=0.035)


def test_gaussian_channel_matches_its_closed_form() -> None:
    # x ~ N(0, 1), q(z|x) = N(x, 0.5^2): I(x; z) = 1/2 log(1 + 1 / 0.25) = 0.8047 nats.
    generator = torch.Generator().manual_seed(2)
    mu = torch.randn(8000, 1, generator=generator)
    logvar = torch.full_like(mu, 2 * math.log(0.5))
    mi = latent_stats.mutual_information(mu, logvar, _sample(mu, logvar, seed=3), samples=3000)
    assert mi == pytest.approx(0.5 * math.log(5.0), abs=0.04)
    # Independent dimensions add: two such channels carry twice as much.
    mu2 = torch.randn(8000, 2, generator=generator)
    logvar2 = torch.full_like(mu2, 2 * math.log(0.5))
    mi2 = latent_stats.mutual_information(mu2, logvar2, _sample(mu2, logvar2, seed=4), samples=3000)
    assert mi2 == pytest.approx(math.log(5.0), abs=0.08)


def test_estimate_is_capped_at_log_n_and_subsampling_agrees() -> None:
    # Posteriors far narrower than the gaps between images: z identifies the image, so the
    # estimate reaches its ceiling log N (up to the sampled log-densities' Monte Carlo error,
    # std sqrt(1/2) / sqrt(M): 0.022 for M = 1000, 0.07 for M = 100).
    mu = torch.arange(1000, dtype=torch.float64)[:, None] * 10.0
    logvar = torch.full_like(mu, -10.0)
    z = _sample(mu, logvar)
    assert latent_stats.mutual_information(mu, logvar, z) == pytest.approx(math.log(1000), abs=0.08)
    subsampled = latent_stats.mutual_information(mu, logvar, z, samples=100)
    assert subsampled == pytest.approx(math.log(1000), abs=0.25)


def test_log_aggregate_posterior_matches_a_direct_mixture() -> None:
    generator = torch.Generator().manual_seed(5)
    mu = torch.randn(7, 3, generator=generator)
    logvar = torch.randn(7, 3, generator=generator) * 0.5
    z = torch.randn(5, 3, generator=generator)
    components = Normal(mu, torch.exp(0.5 * logvar))  # batch (7, 3)
    log_densities = components.log_prob(z[:, None, :]).sum(-1)  # (5, 7)
    reference = torch.logsumexp(log_densities, dim=1) - math.log(7)
    got = latent_stats.log_aggregate_posterior(z, mu, logvar, chunk=2)
    torch.testing.assert_close(got, reference.double(), rtol=1e-5, atol=1e-5)
