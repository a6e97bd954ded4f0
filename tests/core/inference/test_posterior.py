"""Posterior ellipses, samples and overlays: against closed forms and Monte Carlo."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from jlml_core.figures.payload import from_typed_array
from jlml_core.figures.posterior_traces import cloud_trace, posterior_traces, with_traces
from jlml_core.inference.latent import fit_projection
from jlml_core.inference.posterior import (
    ellipse_outlines,
    kl_to_prior,
    posterior_ellipse,
    projected_covariance,
    sample_posterior,
)

IDENTITY_2D = fit_projection(np.zeros((3, 2)))


@pytest.mark.parametrize("n_sigma", [1.0, 2.0])
def test_a_2d_ellipse_is_axis_aligned_with_radii_n_sigma_times_the_std(n_sigma: float) -> None:
    mu, logvar = np.array([0.5, -1.0]), np.array([np.log(0.09), np.log(0.0025)])  # std .3, .05
    x, y = posterior_ellipse(mu, logvar, IDENTITY_2D, n_sigma, points=401)
    assert x.max() - mu[0] == pytest.approx(n_sigma * 0.3, rel=1e-4)
    assert mu[0] - x.min() == pytest.approx(n_sigma * 0.3, rel=1e-4)
    assert y.max() - mu[1] == pytest.approx(n_sigma * 0.05, rel=1e-4)
    # every vertex lies on ((x - mx) / rx)^2 + ((y - my) / ry)^2 = 1
    radius = np.hypot((x - mu[0]) / (n_sigma * 0.3), (y - mu[1]) / (n_sigma * 0.05))
    np.testing.assert_allclose(radius, 1.0, rtol=1e-5)
    assert (x[0], y[0]) == pytest.approx((x[-1], y[-1]))  # closed


def test_a_projected_ellipse_matches_a_monte_carlo_posterior() -> None:
    rng = np.random.default_rng(0)
    codes = (
        rng.standard_normal((500, 6))
        * np.array([3.0, 2.0, 1.0, 0.5, 0.3, 0.1])
        @ np.linalg.qr(rng.standard_normal((6, 6)))[0]
    )
    projection = fit_projection(codes)
    mu, logvar = rng.standard_normal(6), np.log(rng.uniform(0.05, 1.0, 6))
    samples = projection.project(sample_posterior(mu, logvar, 200_000, seed=1)).astype(float)
    covariance = np.cov(samples.T)  # (2, 2)
    np.testing.assert_allclose(projected_covariance(logvar, projection), covariance, rtol=0.02)
    centre = projection.project(mu[None].astype(np.float32))[0]
    inverse = np.linalg.inv(covariance)

    def mahalanobis(points: np.ndarray) -> np.ndarray:
        offset = points - centre
        return np.sqrt(np.einsum("ni,ij,nj->n", offset, inverse, offset))

    for n_sigma, inside in [(1, 1 - np.exp(-0.5)), (2, 1 - np.exp(-2.0))]:
        x, y = posterior_ellipse(mu, logvar, projection, n_sigma)
        np.testing.assert_allclose(mahalanobis(np.stack([x, y], 1)), n_sigma, rtol=0.02)
        assert np.mean(mahalanobis(samples) <= n_sigma) == pytest.approx(inside, abs=0.005)


def test_posterior_samples_have_the_posteriors_moments_and_repeat_by_seed() -> None:
    mu, logvar = np.array([1.0, -2.0, 0.0]), np.log(np.array([0.25, 1.0, 4.0]))
    z = sample_posterior(mu, logvar, 50_000, seed=3)
    assert z.shape == (50_000, 3) and z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), mu, atol=0.03)
    np.testing.assert_allclose(z.std(0), [0.5, 1.0, 2.0], rtol=0.02)
    np.testing.assert_array_equal(
        sample_posterior(mu, logvar, 4, 7), sample_posterior(mu, logvar, 4, 7)
    )


def test_many_ellipses_are_one_line_broken_by_gaps() -> None:
    mu = np.array([[0.0, 0.0], [5.0, 5.0], [-3.0, 1.0]])
    logvar = np.zeros((3, 2))
    x, y = ellipse_outlines(mu, logvar, IDENTITY_2D, points=33)
    assert x.shape == (3 * 34,) and np.isnan(x[33::34]).all() and np.isnan(y[33::34]).all()
    np.testing.assert_allclose(np.nanmax(x[34:67]), 6.0)
    trace = go.Scattergl(cloud_trace(mu, logvar, IDENTITY_2D))  # validates the spec
    assert trace.mode == "lines" and trace.hoverinfo == "skip"
    assert np.isnan(from_typed_array(trace.x)).sum() == 3
    points = go.Scattergl(cloud_trace(mu, None, IDENTITY_2D))  # an AE: the codes themselves
    assert points.mode == "markers"
    np.testing.assert_allclose(from_typed_array(points.x), mu[:, 0])


def test_overlay_marks_the_code_with_two_ellipses_and_leaves_the_figure_alone() -> None:
    base = go.Figure(go.Scattergl(x=[0, 1], y=[0, 1], name="3"))
    base.update_layout(height=640)
    before = base.to_plotly_json()
    traces = posterior_traces(np.array([0.2, 0.4]), np.log(np.array([0.04, 0.01])), IDENTITY_2D)
    combined = with_traces(base, traces)
    assert [t.name for t in combined.data] == [
        "3",
        "your digit: 1σ",
        "your digit: 2σ",
        "your digit",
    ]
    assert (combined.data[-1].x[0], combined.data[-1].y[0]) == pytest.approx((0.2, 0.4))
    assert from_typed_array(combined.data[2].x).max() == pytest.approx(
        0.2 + 2 * 0.2, rel=1e-3
    )  # 64 vertices
    assert combined.layout.height == 640
    assert base.to_plotly_json() == before  # the cached figure is not touched
    marker_only = posterior_traces(np.array([0.2, 0.4]), None, IDENTITY_2D)  # an AE
    assert [t["name"] for t in marker_only] == ["your digit"]
    go.Figure(combined.to_dict())  # unvalidated on the way in, valid all the same


def test_kl_to_the_prior_matches_torch() -> None:
    import torch
    from torch.distributions import Normal, kl_divergence

    mu, logvar = np.array([0.3, -1.2, 2.0]), np.array([-0.5, 0.4, -3.0])
    expected = kl_divergence(
        Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar))), Normal(0.0, 1.0)
    ).sum()
    assert kl_to_prior(mu, logvar) == pytest.approx(float(expected))
    assert kl_to_prior(np.zeros(4), np.zeros(4)) == 0.0


def test_overlays_wider_than_the_codes_widen_the_axes() -> None:
    base = go.Figure(go.Scattergl(x=[0, 0.1], y=[0, 0.1]))
    base.update_xaxes(range=[-0.1, 0.2])
    base.update_yaxes(range=[-0.1, 0.2])
    collapsed = cloud_trace(np.zeros((2, 2)), np.zeros((2, 2)), IDENTITY_2D)  # the prior's size
    wide = with_traces(base, [collapsed])
    (x0, x1), (y0, y1) = wide.layout.xaxis.range, wide.layout.yaxis.range
    assert x0 < -1.0 < 1.0 < x1 and y0 < -1.0 < 1.0 < y1
    assert list(base.layout.xaxis.range) == [-0.1, 0.2]
    narrow = with_traces(
        base, posterior_traces(np.array([0.05, 0.05]), np.full(2, -9.0), IDENTITY_2D)
    )
    assert list(narrow.layout.xaxis.range) == [-0.1, 0.2]  # inside: the view is kept
