"""Figures of latent snapshots: pure functions on tiny synthetic codes."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from jlml_core.figures.colors import CLASS_COLORS
from jlml_core.figures.history_scatter import (
    grow_extent,
    history_extent,
    plane_points,
    snapshot_scatter,
)
from jlml_core.inference import latent

NAMES = tuple(str(i) for i in range(10))


def test_snapshot_scatter_draws_each_class_in_its_colour_on_fixed_axes():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(50, 2)).astype(np.float32)
    labels = np.arange(50) % 10
    labels[labels == 7] = 3  # class 7 absent: no empty trace for it
    figure = snapshot_scatter(
        mu, labels, NAMES, title="epoch 0.25", x_range=(-5.0, 5.0), y_range=(-4.0, 4.0)
    )
    assert isinstance(figure, go.Figure)
    names = [trace.name for trace in figure.data]
    assert names == [n for n in NAMES if n != "7"]
    for trace in figure.data:
        label = int(trace.name)
        assert trace.marker.color == CLASS_COLORS[label]
        np.testing.assert_allclose(trace.x, mu[labels == label, 0])
        np.testing.assert_allclose(trace.y, mu[labels == label, 1])
    assert sum(len(trace.x) for trace in figure.data) == 50
    assert tuple(figure.layout.xaxis.range) == (-5.0, 5.0)
    assert tuple(figure.layout.yaxis.range) == (-4.0, 4.0)
    assert figure.layout.title.text == "epoch 0.25"


def test_snapshot_scatter_hover_shows_posterior_sigma_from_logvar():
    mu = np.zeros((4, 2), np.float32)
    logvar = np.log(np.array([[1.0, 1.0], [0.25, 0.25], [4.0, 4.0], [0.5, 0.5]]))
    figure = snapshot_scatter(
        mu, np.zeros(4, int), NAMES, title="t", x_range=(-1, 1), y_range=(-1, 1), logvar=logvar
    )
    (trace,) = figure.data
    np.testing.assert_allclose(trace.customdata, [1.0, 0.5, 2.0, np.sqrt(0.5)])
    assert "posterior σ" in trace.hovertemplate


def test_snapshot_scatter_draws_1d_codes_on_the_x_axis_and_checks_labels():
    figure = snapshot_scatter(
        np.array([[1.0], [2.0]]), np.array([0, 1]), NAMES, title="t", x_range=(0, 3),
        y_range=(-1, 1),
    )  # fmt: skip
    assert [list(t.y) for t in figure.data] == [[0.0], [0.0]]
    with pytest.raises(ValueError, match="labels"):
        snapshot_scatter(np.zeros((3, 2)), np.zeros(2), NAMES, title="", x_range=(0, 1),
                         y_range=(0, 1))  # fmt: skip


def test_plane_points_passes_2d_through_and_projects_wider_codes_by_pca():
    rng = np.random.default_rng(1)
    flat = rng.normal(size=(30, 2)).astype(np.float32)
    np.testing.assert_array_equal(plane_points(flat), flat)
    wide = rng.normal(size=(30, 6)).astype(np.float32) * np.array([5, 3, 0.1, 0.1, 0.1, 0.1])
    expected = latent.fit_projection(wide).project(wide)
    np.testing.assert_allclose(plane_points(wide), expected, atol=1e-5)
    projection = latent.fit_projection(wide[:10])  # a shared projection is honoured
    np.testing.assert_allclose(plane_points(wide, projection), projection.project(wide))


def test_history_extent_holds_every_snapshot():
    rng = np.random.default_rng(2)
    history = rng.normal(size=(5, 40, 2)) * np.arange(1, 6)[:, None, None]  # spreads out
    (x_low, x_high), (y_low, y_high) = history_extent(history)
    assert x_low < history[..., 0].min() and x_high > history[..., 0].max()
    assert y_low < history[..., 1].min() and y_high > history[..., 1].max()
    assert history_extent(np.full((2, 3, 2), np.nan)) == ((-3.0, 3.0), (-3.0, 3.0))
    with pytest.raises(ValueError):
        history_extent(np.zeros((3, 4, 5)))  # project wide codes first


def test_grow_extent_only_widens_and_by_a_real_step():
    first = grow_extent(None, np.array([[-1.0, -1.0], [1.0, 1.0]]))
    same = grow_extent(first, np.array([[0.0, 0.0], [0.5, -0.5]]))
    assert same == first  # codes inside: axes unchanged
    grown = grow_extent(first, np.array([[0.0, 0.0], [first[0][1] + 0.01, 0.0]]))
    (low, high), y_range = grown
    assert low == first[0][0] and y_range == first[1]
    assert high >= first[0][1] + 0.25 * (first[0][1] - first[0][0])
