"""Tests for figures.codebook: the code-map heatmaps and the usage bar chart."""

from __future__ import annotations

import numpy as np

from jlml_core.figures.codebook import code_maps_figure, codebook_usage_figure, index_hues


def test_code_maps_figure_draws_one_labelled_heatmap_per_map() -> None:
    maps = np.arange(7 * 7 * 7).reshape(7, 7, 7) % 16
    figure = code_maps_figure(maps, [f"#{i}" for i in range(7)])
    assert len(figure.data) == 7
    for trace, grid in zip(figure.data, maps, strict=True):
        assert trace.type == "heatmap"
        assert np.array_equal(np.asarray(trace.text), grid.astype(str))
        # Equal indices, equal colours; consecutive ones far apart on the cyclic scale.
        assert np.allclose(np.asarray(trace.z), index_hues(grid))
        assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    assert [a.text for a in figure.layout.annotations] == [f"#{i}" for i in range(7)]
    assert figure.data[5].xaxis == "x6" and figure.layout.xaxis6.anchor == "y6"  # row 2
    assert figure.layout.yaxis6.scaleanchor == "x6"  # square cells


def test_index_hues_spread_neighbouring_indices() -> None:
    hues = index_hues(np.arange(128))
    assert np.all((hues >= 0) & (hues < 1))
    steps = np.abs(np.diff(hues))
    assert np.min(np.minimum(steps, 1 - steps)) > 0.3  # at least 0.38 of the circle apart


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
