"""The principal-angle bars: one per angle, labelled in degrees, on a fixed 0-90 axis."""

from __future__ import annotations

import numpy as np

from jlml_core.figures.pca import principal_angles_figure


def test_principal_angles_bars() -> None:
    figure = principal_angles_figure(np.array([0.1, 0.36]))
    (bars,) = figure.data
    assert list(bars.x) == ["θ1", "θ2"] and list(bars.text) == ["0.10°", "0.36°"]
    assert "largest 0.36°" in figure.layout.title.text
    assert tuple(figure.layout.yaxis.range) == (0, 90)
