"""Latent Explorer figure: pure functions, tiny synthetic inputs."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from jlml_core.config import TrainConfig
from jlml_core.figures.colors import CLASS_COLORS
from jlml_core.figures.latent_scatter import axis_titles, latent_scatter, projection_note
from jlml_core.figures.payload import from_typed_array, typed_array
from jlml_core.inference import latent
from jlml_core.inference.plane import (
    cell_centers,
    decode_position,
    image_output_for,
    manifold_image,
    plane_extent,
)
from jlml_core.nn.models import build_model

NAMES = tuple(str(i) for i in range(10))


@pytest.mark.parametrize(
    ("values", "compact"),
    [
        (np.array([0.5, -1.25, 3e9], np.float64), np.float32),
        (np.arange(-3, 40_000, dtype=np.int64), np.int32),
        (np.arange(0, 70_000, dtype=np.int64), np.int32),
        (np.arange(0, 10_000, dtype=np.int64), np.uint16),  # test-set row numbers
    ],
)
def test_typed_array_round_trip_matches_plotly(values, compact) -> None:
    spec = typed_array(values)
    expected = values.astype(compact)
    np.testing.assert_array_equal(from_typed_array(spec), expected)
    plotly_spec = go.Figure(go.Scattergl(x=expected)).to_dict()
    assert plotly_spec["data"][0]["x"] == spec  # the exact form Plotly itself would send


def test_plane_extent_holds_every_point_with_margin() -> None:
    points = np.array([[-1.0, 0.0], [3.0, 10.0]])
    (x0, x1), (y0, y1) = plane_extent(points, margin=0.1)
    assert (x0, x1) == pytest.approx((-1.4, 3.4))
    assert (y0, y1) == pytest.approx((-1.0, 11.0))


def test_plane_extent_never_collapses() -> None:
    line = np.stack([np.linspace(-2, 2, 5), np.zeros(5)], axis=1)  # a 1-D latent space
    (x0, x1), (y0, y1) = plane_extent(line, margin=0.0)
    assert x1 - x0 == pytest.approx(4.0) and y1 - y0 == pytest.approx(4.0)
    assert plane_extent(np.zeros((0, 2))) == ((-3.0, 3.0), (-3.0, 3.0))


def test_cell_centers_tile_the_rectangle() -> None:
    centers = cell_centers((0.0, 4.0), (0.0, 2.0), 2)
    np.testing.assert_allclose(centers, [[1.0, 1.5], [3.0, 1.5], [1.0, 0.5], [3.0, 0.5]])


def _scatter(n: int = 200, **kwargs):
    rng = np.random.default_rng(0)
    points = rng.standard_normal((n, 2)).astype(np.float32)
    labels = np.arange(n) % 10
    x_range, y_range = plane_extent(points)
    return points, labels, latent_scatter(points, labels, NAMES, x_range, y_range, **kwargs)


def test_scatter_has_one_webgl_trace_per_class_with_row_ids() -> None:
    points, labels, figure = _scatter(grid_size=7)
    plane, *classes = figure.data
    assert [trace.type for trace in figure.data] == ["scattergl"] * 11
    assert [trace.name for trace in classes] == list(NAMES)
    assert [trace.marker.color for trace in classes] == list(CLASS_COLORS)
    rows = np.concatenate([from_typed_array(trace.customdata) for trace in classes])
    assert sorted(rows.tolist()) == list(range(len(points)))
    for trace in classes:
        row = from_typed_array(trace.customdata)
        np.testing.assert_array_equal(from_typed_array(trace.x), points[row, 0])
        np.testing.assert_array_equal(from_typed_array(trace.y), points[row, 1])
        assert set(labels[row]) == {int(trace.name)}
    assert len(from_typed_array(plane.x)) == 49
    assert plane.customdata is None and plane.marker.opacity == 0


def test_a_selection_does_not_fade_unselected_points() -> None:
    _, _, figure = _scatter()
    for trace in figure.data:
        assert trace.unselected.marker.opacity == trace.marker.opacity
        assert trace.selected.marker.opacity == 1  # the clicked point shows as the mark


def test_plane_grid_covers_the_axis_ranges() -> None:
    _, _, figure = _scatter(grid_size=5)
    plane = figure.data[0]
    plane_x, plane_y = from_typed_array(plane.x), from_typed_array(plane.y)
    assert min(plane_x) == pytest.approx(figure.layout.xaxis.range[0])
    assert max(plane_x) == pytest.approx(figure.layout.xaxis.range[1])
    assert min(plane_y) == pytest.approx(figure.layout.yaxis.range[0])
    assert max(plane_y) == pytest.approx(figure.layout.yaxis.range[1])


def test_scatter_is_identical_when_rebuilt_and_carries_a_background() -> None:
    assert pio.to_json(_scatter()[2]) == pio.to_json(_scatter()[2])
    assert not _scatter()[2].layout.images
    _, _, figure = _scatter(background=np.zeros((56, 56)))
    (image,) = figure.layout.images
    assert image.source.startswith("data:image/png;base64,") and image.layer == "below"
    assert image.x == figure.layout.xaxis.range[0] and image.y == figure.layout.yaxis.range[1]
    json.loads(pio.to_json(figure))  # serialisable as sent to the browser


@pytest.fixture(scope="module")
def model_4d():
    return build_model(TrainConfig(arch="dense", latent_dim=4, hidden_dim=16)).eval()


def test_decode_position_lifts_plane_points(model_4d) -> None:
    codes = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    projection = latent.fit_projection(codes)
    code, image = decode_position(model_4d, projection, 0.5, -0.25)
    assert code.shape == (4,) and image.shape == (28, 28)
    np.testing.assert_allclose(projection.project(code[None])[0], [0.5, -0.25], atol=1e-5)
    np.testing.assert_allclose(image, latent.decode_points(model_4d, code[None])[0], atol=1e-6)


def test_manifold_image_tiles_decoded_cell_centres(model_4d) -> None:
    projection = latent.fit_projection(np.eye(4, dtype=np.float32))
    mosaic = manifold_image(model_4d, projection, (-1.0, 1.0), (-2.0, 2.0), 3)
    assert mosaic.shape == (84, 84)
    top_left = projection.lift(cell_centers((-1.0, 1.0), (-2.0, 2.0), 3)[:1])
    np.testing.assert_allclose(
        mosaic[:28, :28], latent.decode_points(model_4d, top_left)[0], atol=1e-6
    )


def test_axis_titles_and_projection_note() -> None:
    identity = latent.fit_projection(np.zeros((3, 2)))
    assert axis_titles(identity) == ("z₁", "z₂") and projection_note(identity) is None
    codes = np.random.default_rng(2).standard_normal((100, 5)) * [5, 2, 1, 1, 1]
    pca = latent.fit_projection(codes)
    assert axis_titles(pca)[0].startswith("PC 1 (")
    note = projection_note(pca)
    assert "5-dimensional" in note and f"{100 * pca.explained_variance_ratio.sum():.0f}%" in note


def test_image_output_for() -> None:
    assert image_output_for("cb") == "cb_mean" and image_output_for("bce") == "sigmoid"
