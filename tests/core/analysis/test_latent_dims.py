"""analysis.latent_dims on known posteriors (the estimators' closed forms: tests/core/nn)."""

from __future__ import annotations

import numpy as np
import pytest

from jlml_core.analysis.latent_dims import latent_dimensions


def test_a_switched_off_dimension_has_no_kl_and_is_inactive() -> None:
    rng = np.random.default_rng(0)
    mu = np.stack([rng.standard_normal(2000), np.zeros(2000)], axis=1)  # (N, 2)
    logvar = np.stack([np.full(2000, np.log(0.01)), np.zeros(2000)], axis=1)
    dims = latent_dimensions(mu, logvar, samples=1000)
    assert dims.active.tolist() == [True, False]
    assert dims.active_units == 1
    assert dims.order.tolist() == [0, 1]
    # KL of N(m, 0.01) to N(0, 1), averaged: 1/2 (E m^2 + 0.01 - 1 - ln 0.01) = 1.81 nats.
    assert dims.kl_per_dim[0] == pytest.approx(0.5 * (1 + 0.01 - 1 - np.log(0.01)), abs=0.05)
    assert dims.kl_per_dim[1] == 0.0
    # x ~ N(0, 1) through a 0.1-sigma channel: I = 1/2 ln(1 + 1/0.01) = 2.31 nats.
    assert dims.mutual_information == pytest.approx(0.5 * np.log(101.0), abs=0.1)


def test_an_autoencoder_has_no_posterior_to_measure() -> None:
    with pytest.raises(ValueError, match="VAE"):
        latent_dimensions(np.zeros((3, 2)), None)
