"""The OOD histogram: shared bins, every image counted, the marker line and the AUC title."""

from __future__ import annotations

import numpy as np

from jlml_core.figures import ood


def test_bars_are_shares_of_each_set_and_count_every_image() -> None:
    gen = np.random.default_rng(0)
    inside, outside = gen.normal(100, 10, 1000), gen.normal(200, 30, 500)
    outside[0] = 1e6  # beyond the shown range: counted in the last bar
    figure = ood.ood_histogram(
        inside, outside, inside_name="MNIST", outside_name="Fashion", score_name="score"
    )
    first, second = figure.data
    assert first.name == "MNIST (1,000)" and second.name == "Fashion (500)"
    assert np.sum(first.y) == 1.0 and np.isclose(np.sum(second.y), 1.0)
    assert second.y[-1] >= 1 / 500
    np.testing.assert_array_equal(first.x, second.x)  # one set of bins


def test_marker_line_and_auc_title() -> None:
    figure = ood.ood_histogram(
        np.arange(10.0), np.arange(5.0, 15.0), inside_name="a", outside_name="b",
        score_name="negative ELBO", auc=0.875, marker=12.5,
    )  # fmt: skip
    assert "ROC AUC 0.875" in figure.layout.title.text
    (line,) = figure.layout.shapes
    assert line.x0 == line.x1 == 12.5
    assert "your digit: 12.5" in figure.layout.annotations[0].text


def test_equal_scores_still_get_a_range() -> None:
    edges = ood.shared_bins(np.ones(5), np.ones(5), bins=4)
    assert len(edges) == 5 and edges[-1] > edges[0]
