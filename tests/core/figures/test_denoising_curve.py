"""Tests for jlml_core.figures.denoising: the PSNR-by-noise curve."""

from __future__ import annotations

import numpy as np
import pytest

from jlml_core.figures.denoising import INPUT_NAME, psnr_curve_figure

LEVELS = (0.0, 0.5, 1.0)


def test_one_line_per_model_then_the_noisy_input() -> None:
    figure = psnr_curve_figure(
        LEVELS,
        {"denoising": [21.0, 18.5, 14.0], "plain": [21.5, 12.0, 8.0]},
        input_psnr=[np.inf, 8.5, 5.0],
        marker=0.5,
    )
    names = [trace.name for trace in figure.data]
    assert names == ["denoising", "plain", INPUT_NAME]
    assert list(figure.data[0].y) == [21.0, 18.5, 14.0]
    assert list(figure.data[0].x) == list(LEVELS)
    # An uncorrupted input's infinite PSNR is a gap, not a point Plotly cannot draw.
    assert figure.data[2].y[0] is None and figure.data[2].y[1] == 8.5
    assert figure.data[2].line.dash == "dot"
    assert figure.layout.shapes[0].x0 == 0.5  # the slider's level
    assert figure.layout.xaxis.title.text == "noise σ"
    assert figure.layout.yaxis.title.text == "PSNR (dB)"
    assert "PSNR by noise σ" in figure.layout.title.text


def test_without_input_or_marker_only_the_models() -> None:
    figure = psnr_curve_figure((0.0, 0.3), {"m": [10.0, 9.0]}, level_label="masked fraction")
    assert len(figure.data) == 1 and not figure.layout.shapes
    assert figure.layout.xaxis.title.text == "masked fraction"


def test_a_line_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="2 PSNR values for 3 levels"):
        psnr_curve_figure(LEVELS, {"m": [1.0, 2.0]})
