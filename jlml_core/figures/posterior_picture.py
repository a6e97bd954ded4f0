"""One VAE posterior q(z|x) as a single SVG picture: its ellipses in the plane and decoded samples.

The Latent Explorer shows this for every clicked test digit, and Your digit for a drawn one.
One picture instead of a Plotly chart plus an image strip: a click sends one message fewer
and the browser makes no new WebGL canvas, so the answer shows about a quarter sooner
(docs/benchmarks.md, "Session 7").

Layout: a square plot of the plane framing the posterior's 2-sigma ellipse, a legend under it,
and below that the decoded samples, numbered like their crosses in the plot.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np

from jlml_core.figures.images import png_data_url
from jlml_core.inference.latent import Projection, tile
from jlml_core.inference.posterior import posterior_ellipse

# Sized for the Latent Explorer's panel column (~320 px wide), so it is shown about 1:1.
PLOT_PX = 270  # the square plot's side
LEFT_PX, TOP_PX, RIGHT_PX = 36, 8, 8  # room for the y tick labels; a little air around
TICKS_PX = 18  # the x tick labels' row under the plot
LEGEND_ROW_PX = 16  # the legend under the tick labels: two columns of rows
LEGEND_COLUMN_PX = 150
EDGE_PX = 4  # the legend and the strip of decoded samples start this far from the left edge
NUMBERS_PX = 14  # the sample numbers' row above the strip
STRIP_PAD = 2  # pixels between decoded samples, in the digits' own pixels
FRAME_MARGIN = 1.4  # the plot shows the 2-sigma ellipse's extent times this

POSTERIOR_COLOR = "#1f4fd6"
SAMPLE_COLOR = "#e07b00"
PRIOR_COLOR = "#888"
GRID_COLOR = "#eee"
TEXT_COLOR = "#444"
FONT = 'font-family="sans-serif" font-size="11"'


@dataclass(frozen=True)
class PlotFrame:
    """The square window of the plane a picture shows, and where it lies in pixels.

    Attributes:
        x_range, y_range: the plane's window (low, high) along each axis; equally long.
        left, top, size: the plot square in picture pixels (y grows downwards there).
    """

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    left: float = LEFT_PX
    top: float = TOP_PX
    size: float = PLOT_PX

    def to_pixels(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plane coordinates -> picture pixels (y flipped: up in the plane is up on screen)."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        px = self.left + (np.asarray(x, np.float64) - x0) / (x1 - x0) * self.size
        py = self.top + (y1 - np.asarray(y, np.float64)) / (y1 - y0) * self.size
        return px, py


def frame_posterior(
    mu: np.ndarray, logvar: np.ndarray, projection: Projection, **placement: float
) -> PlotFrame:
    """A square window centred on the 2-sigma ellipse, FRAME_MARGIN times its larger extent.

    A well-trained posterior is tiny beside the prior, so the window frames the posterior; the
    prior's circle then shows as an arc, or not at all.
    """
    x, y = posterior_ellipse(mu, logvar, projection, 2.0)
    cx, cy = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    half = FRAME_MARGIN * max(x.max() - x.min(), y.max() - y.min(), 1e-3) / 2
    return PlotFrame((cx - half, cx + half), (cy - half, cy + half), **placement)


def nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """About `count` round values in [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * 0.999)
    first = math.ceil(low / step - 1e-9) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return np.round(ticks, 12) + 0.0  # + 0.0 turns -0.0 into 0.0


def tick_label(value: float, step: float) -> str:
    """A tick value with as many decimals as its step needs."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step * 10**decimals, 6) % 1:  # a step of 2.5, 0.25, ...
        decimals += 1
    return f"{value:.{decimals}f}".replace("-", "−")


def _points(x: np.ndarray, y: np.ndarray) -> str:
    """SVG `points`: pixel pairs to a tenth of a pixel."""
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x.tolist(), y.tolist(), strict=True))


def _star(cx: float, cy: float, outer: float = 9.0, inner: float = 4.0) -> str:
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, outer, inner)
    return _points(cx + radii * np.cos(angles), cy - radii * np.sin(angles))


def _cross(cx: float, cy: float, half: float = 4.5) -> str:
    return (
        f"M{cx - half:.1f},{cy - half:.1f}L{cx + half:.1f},{cy + half:.1f}"
        f"M{cx - half:.1f},{cy + half:.1f}L{cx + half:.1f},{cy - half:.1f}"
    )


def _axes(frame: PlotFrame) -> list[str]:
    """Grid lines and tick labels of both axes, and the plot's border."""
    parts = []
    for axis, (low, high) in (("x", frame.x_range), ("y", frame.y_range)):
        ticks = nice_ticks(low, high)
        step = float(ticks[1] - ticks[0]) if len(ticks) > 1 else (high - low)
        for value in ticks:
            label = tick_label(float(value), step)
            if axis == "x":
                px = frame.to_pixels(np.array([value]), np.array([low]))[0][0]
                parts.append(
                    f'<line x1="{px:.1f}" y1="{frame.top}" x2="{px:.1f}" '
                    f'y2="{frame.top + frame.size}" stroke="{GRID_COLOR}"/>'
                    f'<text x="{px:.1f}" y="{frame.top + frame.size + 13}" '
                    f'text-anchor="middle">{label}</text>'
                )
            else:
                py = frame.to_pixels(np.array([frame.x_range[0]]), np.array([value]))[1][0]
                parts.append(
                    f'<line x1="{frame.left}" y1="{py:.1f}" x2="{frame.left + frame.size}" '
                    f'y2="{py:.1f}" stroke="{GRID_COLOR}"/>'
                    f'<text x="{frame.left - 4}" y="{py + 4:.1f}" text-anchor="end">{label}</text>'
                )
    parts.append(
        f'<rect x="{frame.left}" y="{frame.top}" width="{frame.size}" height="{frame.size}" '
        f'fill="none" stroke="#ccc"/>'
    )
    return parts


def _legend(x: float, y: float, samples: int) -> list[str]:
    """What each mark means: two columns of rows, the first row's centre line at height y."""

    def line(left: float, row_y: float, style: str) -> str:
        return f'<line x1="{left}" y1="{row_y}" x2="{left + 22}" y2="{row_y}" {style}/>'

    def star(left: float, row_y: float) -> str:
        return f'<polygon points="{_star(left + 11, row_y, 7, 3)}" fill="{POSTERIOR_COLOR}"/>'

    def cross(left: float, row_y: float) -> str:
        return f'<path d="{_cross(left + 11, row_y, 4)}" stroke="{SAMPLE_COLOR}" stroke-width="2"/>'

    prior = f'stroke="{PRIOR_COLOR}" stroke-width="1.5" stroke-dasharray="2 3"'
    one_sigma = f'stroke="{POSTERIOR_COLOR}" stroke-width="2.5"'
    two_sigma = f'stroke="{POSTERIOR_COLOR}" stroke-width="1.5" stroke-dasharray="6 4"'
    columns = [
        [(lambda a, b: line(a, b, prior), "prior N(0, I): 1σ"),
         (lambda a, b: line(a, b, one_sigma), "q(z|x): 1σ"),
         (lambda a, b: line(a, b, two_sigma), "q(z|x): 2σ")],
        [(star, "its mean μ")] + ([(cross, f"{samples} samples")] if samples else []),
    ]  # fmt: skip
    parts = []
    for c, rows in enumerate(columns):
        left = x + c * LEGEND_COLUMN_PX
        for r, (mark, text) in enumerate(rows):
            row_y = y + r * LEGEND_ROW_PX
            parts.append(mark(left, row_y) + f'<text x="{left + 30}" y="{row_y + 4}">{text}</text>')
    return parts


def posterior_svg(
    mu: np.ndarray,
    logvar: np.ndarray,
    projection: Projection,
    samples: np.ndarray,
    decoded: np.ndarray,
) -> str:
    """The picture of one posterior N(mu, diag(exp(logvar))) as an SVG document.

    Args:
        mu, logvar: the posterior (D,) each.
        projection: the page's plane (identity for D = 2).
        samples: codes (S, D) drawn from the posterior, marked 1..S in the plot.
        decoded: those codes decoded, images (S, H, W) in [0, 1], shown in a row below.

    Returns:
        A standalone SVG (its decoded samples inline as a PNG), about 4-8 KB.
    """
    if len(samples) != len(decoded):
        raise ValueError(f"{len(samples)} samples but {len(decoded)} decoded images")
    frame = frame_posterior(mu, logvar, projection)
    width = LEFT_PX + PLOT_PX + RIGHT_PX
    clip = 'clip-path="url(#plot)"'
    parts = [
        f'<clipPath id="plot"><rect x="{frame.left}" y="{frame.top}" width="{frame.size}" '
        f'height="{frame.size}"/></clipPath>',
        '<rect width="100%" height="100%" fill="white"/>',
        *_axes(frame),
    ]
    prior = frame.to_pixels(*posterior_ellipse(np.zeros(len(mu)), np.zeros(len(mu)), projection))
    parts.append(
        f'<polyline {clip} points="{_points(*prior)}" fill="none" stroke="{PRIOR_COLOR}" '
        f'stroke-width="1.5" stroke-dasharray="2 3"/>'
    )
    for n_sigma, style in ((2, 'stroke-width="1.5" stroke-dasharray="6 4"'),
                           (1, 'stroke-width="2.5"')):  # fmt: skip
        outline = frame.to_pixels(*posterior_ellipse(mu, logvar, projection, n_sigma))
        parts.append(
            f'<polyline {clip} points="{_points(*outline)}" fill="none" '
            f'stroke="{POSTERIOR_COLOR}" {style} data-sigma="{n_sigma}"/>'
        )
    if len(samples):
        points = projection.project(np.asarray(samples, np.float32))
        sx, sy = frame.to_pixels(points[:, 0], points[:, 1])
        for i, (x, y) in enumerate(zip(sx, sy, strict=True)):
            parts.append(
                f'<g {clip} data-sample="{i + 1}"><path d="{_cross(x, y)}" stroke="{SAMPLE_COLOR}" '
                f'stroke-width="2"/><text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" '
                f'fill="{SAMPLE_COLOR}">{i + 1}</text></g>'
            )
    centre = projection.project(np.asarray(mu, np.float32)[None])[0]
    cx, cy = (float(v[0]) for v in frame.to_pixels(centre[:1], centre[1:]))
    parts.append(
        f'<polygon points="{_star(cx, cy)}" fill="{POSTERIOR_COLOR}" stroke="white" '
        f'stroke-width="1.5" data-mean="{cx:.2f},{cy:.2f}"/>'
    )
    legend_top = TOP_PX + PLOT_PX + TICKS_PX + LEGEND_ROW_PX / 2
    parts += _legend(EDGE_PX, legend_top, len(samples))
    height = legend_top + 2.5 * LEGEND_ROW_PX
    if len(decoded):
        strip = tile(decoded, len(decoded), pad=STRIP_PAD)  # (H, S * (W + pad) - pad)
        strip_width = width - 2 * EDGE_PX
        scale = strip_width / strip.shape[1]
        strip_height = strip.shape[0] * scale
        top = height + NUMBERS_PX
        cell, half = decoded.shape[2] + STRIP_PAD, decoded.shape[2] / 2  # in the digits' pixels
        numbers = "".join(
            f'<text x="{EDGE_PX + (i * cell + half) * scale:.1f}" y="{top - 3:.1f}" '
            f'text-anchor="middle" fill="{SAMPLE_COLOR}">{i + 1}</text>'
            for i in range(len(decoded))
        )
        strip_url = png_data_url(strip, 1, compress_level=1)
        parts.append(
            f'<g data-strip="decoded samples">{numbers}<image x="{EDGE_PX}" y="{top:.1f}" '
            f'width="{strip_width:.1f}" height="{strip_height:.1f}" preserveAspectRatio="none" '
            f'style="image-rendering:pixelated" href="{strip_url}"/></g>'
        )
        height = top + strip_height + 4
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" {FONT} fill="{TEXT_COLOR}">'
    )
    return head + "".join(parts) + "</svg>"


def svg_data_url(svg: str) -> str:
    """An SVG document as an inline `data:` URL, for an <img> (or st.image) to show."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
