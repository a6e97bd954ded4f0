"""The traversal grid, KL bars and collapse-history figures, built from known arrays."""

from __future__ import annotations

import numpy as np

from jlml_core.analysis.latent_dims import CollapseHistory, LatentDimensions
from jlml_core.figures import traversal


def _dims(kl: list[float], variance: list[float]) -> LatentDimensions:
    variance_array = np.array(variance)
    return LatentDimensions(np.array(kl), variance_array, variance_array > 0.01, 1.23)


def test_traversal_figure_lays_out_rows_and_columns() -> None:
    images = np.zeros((3, 5, 28, 28), np.float32)
    images[1, 2] = 1.0  # one white digit: row 1, column 2
    figure = traversal.traversal_figure(
        images, [4, 0, 2], np.linspace(-3, 3, 5), kl_per_dim=np.arange(5.0)
    )
    mosaic = np.asarray(figure.data[0].z)
    assert mosaic.shape == (3 * 30 - 2, 5 * 30 - 2)
    assert mosaic[30:58, 60:88].min() == 1.0  # the white digit where row 1, column 2 sits
    assert list(figure.layout.yaxis.ticktext) == [
        "z5 · 4.00 nats",
        "z1 · 0.00 nats",
        "z3 · 2.00 nats",
    ]
    assert list(figure.layout.xaxis.ticktext) == ["-3", "-1.5", "+0", "+1.5", "+3"]


def test_kl_bars_sort_largest_first_and_grey_out_inactive_dimensions() -> None:
    dims = _dims([0.01, 3.0, 0.5], [0.001, 0.9, 0.2])
    figure = traversal.kl_bars_figure({"β = 1": dims, "β = 4": dims})
    bars = figure.data[0]
    assert list(bars.x) == ["z2", "z3", "z1"]
    assert list(bars.y) == [3.0, 0.5, 0.01]
    assert list(bars.marker.color) == [
        traversal.ACTIVE_COLOR,
        traversal.ACTIVE_COLOR,
        traversal.INACTIVE_COLOR,
    ]
    assert len(figure.data) == 2
    assert "2 of 3 active" in figure.layout.annotations[0].text
    assert "1.23 nats" in figure.layout.annotations[0].text


def test_collapse_history_figure_draws_each_dimension_and_the_two_totals() -> None:
    history = CollapseHistory(
        epochs=np.array([1.0, 2.0]),
        kl_per_dim=np.array([[1.0, 0.1], [2.0, 0.0]]),
        active_units=np.array([2, 1]),
        mutual_information=np.array([3.0, 4.0]),
    )
    figure = traversal.collapse_history_figure(history)
    assert [trace.name for trace in figure.data] == ["z1", "z2", "active units", "I(x; z)"]
    assert list(figure.data[1].y) == [0.1, 0.0]
    assert list(figure.data[2].y) == [2, 1]
    assert list(figure.data[3].y) == [3.0, 4.0]
