"""Tests for figures.loss_curves: the loss curves against references, and figure contents."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jlml_core.figures import loss_curves
from jlml_core.figures.colors import CLASS_COLORS
from jlml_core.nn.losses import cb_mean

LAMBDAS = loss_curves.lambda_grid(2001)


@pytest.mark.parametrize("x", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_pixel_losses_match_torch_distributions(x: float) -> None:
    bce, cb_nll = loss_curves.pixel_losses(x, LAMBDAS)
    probs = torch.as_tensor(LAMBDAS)
    target = torch.full_like(probs, x)
    reference_bce = -torch.distributions.Bernoulli(probs=probs, validate_args=False).log_prob(
        target
    )
    reference_cb = -torch.distributions.ContinuousBernoulli(probs=probs).log_prob(target)
    np.testing.assert_allclose(bce, reference_bce.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cb_nll, reference_cb.numpy(), rtol=1e-5, atol=1e-6)


def test_bce_is_smallest_at_lambda_equal_x() -> None:
    for x in (0.2, 0.5, 0.8):
        bce, _ = loss_curves.pixel_losses(x, LAMBDAS)
        assert LAMBDAS[np.argmin(bce)] == pytest.approx(x, abs=1e-3)


@pytest.mark.parametrize("x", [0.2, 0.35, 0.8])
def test_cb_optimum_is_where_the_mean_equals_x(x: float) -> None:
    _, cb_nll = loss_curves.pixel_losses(x, LAMBDAS)
    best = LAMBDAS[np.argmin(cb_nll)]
    mean = cb_mean(torch.logit(torch.tensor(best))).item()
    assert mean == pytest.approx(x, abs=2e-3)
    assert abs(best - 0.5) > abs(x - 0.5)  # further from 1/2 than x


def test_the_gap_between_the_losses_is_log_c() -> None:
    bce, cb_nll = loss_curves.pixel_losses(0.3, LAMBDAS)
    log_c = loss_curves.log_normalizer(LAMBDAS)
    np.testing.assert_allclose(bce - cb_nll, log_c, atol=1e-9)
    assert log_c.min() == pytest.approx(math.log(2), abs=1e-9)
    assert LAMBDAS[np.argmin(log_c)] == pytest.approx(0.5)


def test_loss_curves_figure_has_a_line_and_a_minimum_per_pixel_and_panel() -> None:
    pixels = (0.0, 0.5, 1.0)
    figure = loss_curves.loss_curves_figure(pixels, n_points=51)
    lines = [t for t in figure.data if t.mode == "lines"]
    markers = [t for t in figure.data if t.mode == "markers"]
    assert len(lines) == len(markers) == 2 * len(pixels)
    assert [t.name for t in lines if t.showlegend] == ["x = 0", "x = 0.5", "x = 1"]
    titles = [a.text for a in figure.layout.annotations]
    assert titles == ["Binary cross-entropy", "Continuous Bernoulli NLL"]
    # The BCE minimum for x = 0.5 is marked at lambda = 0.5.
    assert markers[2].x[0] == pytest.approx(0.5)


def test_pixel_colors_are_distinct() -> None:
    colors = loss_curves.pixel_colors(loss_curves.DEFAULT_PIXELS)
    assert len(set(colors)) == len(loss_curves.DEFAULT_PIXELS)


def test_log_normalizer_and_cb_mean_figures() -> None:
    log_c = loss_curves.log_normalizer_figure(n_points=41)
    assert min(log_c.data[0].y) == pytest.approx(math.log(2))
    means = loss_curves.cb_mean_figure(n_points=41)
    identity, mean = means.data
    lam, shown = np.asarray(mean.x), np.asarray(mean.y)
    assert np.all(np.abs(shown - 0.5) <= np.abs(lam - 0.5) + 1e-9)  # pulled towards 1/2
    np.testing.assert_allclose(identity.y, identity.x)


def test_training_curves_figure_one_panel_per_model() -> None:
    history = [
        {"epoch": 1, "train_loss": 200.0, "test_loss": 190.0},
        {"epoch": 2, "train_loss": 180.0, "test_loss": 175.0},
    ]
    figure = loss_curves.training_curves_figure({"bce": history, "cb": history[:1]})
    assert [a.text for a in figure.layout.annotations] == ["bce", "cb"]
    assert len(figure.data) == 4
    train_bce = figure.data[0]
    assert list(train_bce.x) == [1, 2] and list(train_bce.y) == [200.0, 180.0]
    assert figure.data[1].line.dash == "dash"
    assert figure.data[2].xaxis == "x2"


def test_live_training_curves_keep_the_whole_run_on_the_x_axis() -> None:
    history = [{"epoch": 1, "train_loss": 200.0, "test_loss": 190.0}]
    figure = loss_curves.training_curves_figure({"model": history}, epochs=5)
    assert list(figure.layout.xaxis.range) == [0.7, 5.3]
    assert list(figure.data[0].x) == [1]


def test_training_curves_figure_without_history_still_draws() -> None:
    assert len(loss_curves.training_curves_figure({}).data) == 2


def test_metric_bars_leave_out_missing_values() -> None:
    figure = loss_curves.metric_bars_figure(["a", "b", "c"], [1.0, None, float("nan")], "FID")
    assert list(figure.data[0].y) == ["a"]
    assert list(figure.data[0].x) == [1.0]


def test_latent_scatter_uses_class_colours() -> None:
    points = np.arange(40, dtype=float).reshape(20, 2)
    labels = np.arange(20) % 10
    figure = loss_curves.latent_scatter_figure(points, labels, [str(i) for i in range(10)], "z")
    assert len(figure.data) == 10
    assert [t.marker.color for t in figure.data] == list(CLASS_COLORS)
    assert sum(len(t.x) for t in figure.data) == 20
    assert list(figure.data[3].x) == [6.0, 26.0]


def test_class_distribution_has_a_box_per_class() -> None:
    values = np.linspace(0, 1, 30)
    labels = np.arange(30) % 10
    figure = loss_curves.class_distribution_figure(values, labels, list("abcdefghij"), "t", "y")
    assert [t.name for t in figure.data] == list("abcdefghij")
    assert [t.marker.color for t in figure.data] == list(CLASS_COLORS)
    np.testing.assert_allclose(figure.data[0].y, values[labels == 0])
