"""The posterior picture: one SVG whose marks sit where the posterior, prior and samples are."""

from __future__ import annotations

import base64
import io
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from jlml_core.figures.images import to_uint8
from jlml_core.figures.posterior_picture import (
    STRIP_PAD,
    frame_posterior,
    nice_ticks,
    posterior_svg,
    svg_data_url,
    tick_label,
)
from jlml_core.inference.latent import fit_projection, tile
from jlml_core.inference.posterior import sample_posterior

SVG = "{http://www.w3.org/2000/svg}"
IDENTITY_2D = fit_projection(np.zeros((3, 2)))


def _points(element: ElementTree.Element) -> np.ndarray:
    """A polyline's or polygon's vertices (N, 2) in pixels."""
    return np.array([[float(v) for v in pair.split(",")] for pair in element.get("points").split()])


def _picture(mu, logvar, projection=IDENTITY_2D, samples: int = 8):
    drawn = sample_posterior(mu, logvar, samples, seed=0)
    decoded = np.random.default_rng(1).random((samples, 28, 28)).astype(np.float32)
    svg = posterior_svg(np.asarray(mu), np.asarray(logvar), projection, drawn, decoded)
    return ElementTree.fromstring(svg), drawn, decoded


def test_ticks_are_round_numbers_inside_the_range() -> None:
    np.testing.assert_allclose(nice_ticks(0.0, 1.0), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ticks = nice_ticks(-0.37, 0.41)
    np.testing.assert_allclose(ticks, [-0.2, 0.0, 0.2, 0.4])
    assert not np.signbit(ticks[1])  # the zero tick is 0.0, never -0.0 (labelled "−0.0")
    ticks = nice_ticks(1.2, 13.7)
    assert ticks[0] >= 1.2 and ticks[-1] <= 13.7 and np.allclose(np.diff(ticks), 2.5)
    assert [tick_label(v, 2.5) for v in ticks[:2]] == ["2.5", "5.0"]
    assert tick_label(-0.2, 0.2) == "−0.2" and tick_label(3.0, 1.0) == "3"


def test_the_frame_centres_the_posterior_and_shows_its_2_sigma_ellipse_with_a_margin() -> None:
    mu, logvar = np.array([3.0, -2.0]), np.log(np.array([0.01, 0.0025]))  # sigma 0.1, 0.05
    frame = frame_posterior(mu, logvar, IDENTITY_2D)
    (x0, x1), (y0, y1) = frame.x_range, frame.y_range
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((3.0, -2.0), abs=1e-3)
    assert x1 - x0 == pytest.approx(1.4 * 4 * 0.1, rel=1e-3) == y1 - y0  # square
    px, py = frame.to_pixels(np.array([x0, x1]), np.array([y1, y0]))  # up in the plane is up
    np.testing.assert_allclose(px, [frame.left, frame.left + frame.size])
    np.testing.assert_allclose(py, [frame.top, frame.top + frame.size])


def test_ellipses_mean_and_samples_are_drawn_where_they_lie_in_the_plane() -> None:
    mu, logvar = np.array([0.5, -1.0]), np.log(np.array([0.09, 0.04]))  # sigma 0.3, 0.2
    svg, samples, _ = _picture(mu, logvar)
    frame = frame_posterior(mu, logvar, IDENTITY_2D)
    px_per_unit = frame.size / (frame.x_range[1] - frame.x_range[0])
    outlines = {line.get("data-sigma"): _points(line) for line in svg.iter(f"{SVG}polyline")
                if line.get("data-sigma")}  # fmt: skip
    for n_sigma, outline in ((1, outlines["1"]), (2, outlines["2"])):
        width, height = np.ptp(outline, axis=0)
        assert width == pytest.approx(2 * n_sigma * 0.3 * px_per_unit, rel=1e-2)
        assert height == pytest.approx(2 * n_sigma * 0.2 * px_per_unit, rel=1e-2)
    (mean,) = [p for p in svg.iter(f"{SVG}polygon") if p.get("data-mean")]
    expected = np.concatenate(frame.to_pixels(mu[:1], mu[1:]))
    np.testing.assert_allclose([float(v) for v in mean.get("data-mean").split(",")], expected,
                               atol=0.01)  # fmt: skip
    marks = [g for g in svg.iter(f"{SVG}g") if g.get("data-sample")]
    assert [g.get("data-sample") for g in marks] == [str(i) for i in range(1, 9)]
    for mark, (x, y) in zip(marks, samples, strict=True):
        label = mark.find(f"{SVG}text")
        assert label.text == mark.get("data-sample")
        sx, sy = frame.to_pixels(np.array([x]), np.array([y]))
        assert float(label.get("x")) == pytest.approx(sx[0], abs=0.06)
        assert mark.get("clip-path") == "url(#plot)"  # a far sample is cut at the plot's edge


def test_a_collapsed_posteriors_1_sigma_ellipse_is_the_priors_circle() -> None:
    projection = fit_projection(np.random.default_rng(0).standard_normal((100, 4)))
    centre = projection.project(np.zeros((1, 4), np.float32))[0]
    svg, _, _ = _picture(np.zeros(4), np.zeros(4), projection)  # q(z|x) = N(0, I)
    lines = [line for line in svg.iter(f"{SVG}polyline") if line.get("clip-path")]
    prior, one_sigma = lines[0], next(line for line in lines if line.get("data-sigma") == "1")
    assert prior.get("stroke-dasharray") == "2 3"
    np.testing.assert_allclose(_points(prior), _points(one_sigma), atol=0.11)
    frame = frame_posterior(np.zeros(4), np.zeros(4), projection)
    cx, cy = frame.to_pixels(centre[:1], centre[1:])
    radius = np.hypot(*(_points(prior) - [cx[0], cy[0]]).T)
    px_per_unit = frame.size / (frame.x_range[1] - frame.x_range[0])
    np.testing.assert_allclose(radius, px_per_unit, atol=0.08)  # a unit circle, to 0.1 px


def test_the_decoded_samples_are_inline_in_order_under_their_numbers() -> None:
    svg, _, decoded = _picture(np.array([0.0, 0.0]), np.full(2, -3.0))
    (image,) = svg.iter(f"{SVG}image")  # one strip, not one picture per sample
    header, encoded = image.get("href").split(",", 1)
    assert header == "data:image/png;base64"
    strip = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))
    np.testing.assert_array_equal(strip, to_uint8(tile(decoded, 8, pad=STRIP_PAD)))
    (strip_group,) = [g for g in svg.iter(f"{SVG}g") if g.get("data-strip")]
    numbers = list(strip_group.iter(f"{SVG}text"))
    assert all(float(t.get("y")) < float(image.get("y")) for t in numbers)
    assert [t.text for t in numbers] == [str(i) for i in range(1, 9)]
    xs = [float(t.get("x")) for t in numbers]
    left, width = float(image.get("x")), float(image.get("width"))
    assert xs == sorted(xs) and left < xs[0] and xs[-1] < left + width


def test_samples_and_their_decodes_must_match() -> None:
    mu, logvar = np.zeros(2), np.zeros(2)
    with pytest.raises(ValueError, match="3 samples but 2 decoded"):
        posterior_svg(mu, logvar, IDENTITY_2D, np.zeros((3, 2)), np.zeros((2, 28, 28)))


def test_no_samples_draws_no_strip_and_no_sample_legend() -> None:
    svg, _, _ = _picture(np.zeros(2), np.zeros(2), samples=0)
    assert svg.find(f".//{SVG}image") is None
    assert not any("samples" in (t.text or "") for t in svg.iter(f"{SVG}text"))


def test_the_data_url_holds_the_svg() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><text>μ ≥ 0</text></svg>'
    header, encoded = svg_data_url(svg).split(",", 1)
    assert header == "data:image/svg+xml;base64"
    assert base64.b64decode(encoded).decode("utf-8") == svg
