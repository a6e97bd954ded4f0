"""Tests for figures.codebook: the code-map heatmaps and the usage bar chart."""

from __future__ import annotations

import numpy as np

from jlml_core.figures.codebook import code_maps_figure, codebook_usage_figure


def test_code_maps_figure_draws_one_labelled_heatmap_per_map() -> None:
    maps = np.arange(2 * 7 * 7).reshape(2, 7, 7) % 16
    figure = code_maps_figure(maps, 16, ["#0", "#1"])
    assert len(figure.data) == 2
    for trace, grid in zip(figure.data, maps, strict=True):
        assert trace.type == "heatmap" and np.array_equal(np.asarray(trace.z), grid)
        assert (trace.zmin, trace.zmax) == (0, 15)  # one colour per code across maps
    assert [a.text for a in figure.layout.annotations] == ["#0", "#1"]


def test_usage_figure_marks_dead_codes_and_names_the_counts() -> None:
    counts = np.array([5, 0, 3, 0])
    figure = codebook_usage_figure(counts, perplexity=1.9)
    bars, dead = figure.data
    assert list(bars.y) == [5, 0, 3, 0]
    assert list(dead.x) == [1, 3]
    assert "2 of 4 codes used" in figure.layout.title.text
    assert "perplexity 1.9" in figure.layout.title.text


def test_usage_figure_without_dead_codes_has_only_bars() -> None:
    figure = codebook_usage_figure(np.array([1, 2, 3]))
    assert len(figure.data) == 1 and "3 of 3" in figure.layout.title.text
