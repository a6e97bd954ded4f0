"""The latent-space replay as an animated GIF, drawn with Pillow: a file for slides and notes.

One frame per recorded snapshot, on the replay's fixed plane and axes (`replay.replay_plane`),
points in the class colours every view uses, each frame labelled with its epoch and losses.
Frames are drawn straight into a 13-colour palette image: no colour quantisation, so every
point keeps its exact class colour and the file stays small (~25 frames of 2,000 digits are a
few hundred kB).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from jlml_core.figures.colors import CLASS_COLORS
from jlml_core.figures.replay import FRAME_MILLISECONDS, ReplayPlane, loss_text, replay_plane
from jlml_core.figures.replay import snapshot_label as epoch_label
from jlml_core.training.latent_history import LatentHistory

WHITE, BLACK, GREY = 0, 1, 2  # palette indices; the class colours follow from FIRST_CLASS
FIRST_CLASS = 3
LAST_FRAME_MILLISECONDS = 2500  # the trained model's picture stays up a moment before looping
POINT_RADIUS = 2  # px; a disc of 13 pixels
MARGIN, TITLE_HEIGHT, FOOTER_HEIGHT, LEGEND_WIDTH = 16, 30, 26, 130
FONT_SIZE = 13
# The bundled font may lack these; the GIF says the same in ASCII.
_ASCII = str.maketrans({"₁": "1", "₂": "2", "–": "-", "−": "-"})


def _palette() -> list[int]:
    """RGB triples: white, black, light grey, then the ten class colours."""
    colours = ["#ffffff", "#000000", "#d0d0d0", *CLASS_COLORS]
    return [int(c[i : i + 2], 16) for c in colours for i in (1, 3, 5)]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        return ImageFont.load_default()


def _disc(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) offsets of the pixels of a filled disc."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    inside = dy**2 + dx**2 <= radius**2 + radius  # a round disc, not a diamond, at small radii
    return dy[inside], dx[inside]


def _to_pixels(points: np.ndarray, plane: ReplayPlane, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Plane points (N, 2) -> (row, column) pixel indices inside a `size` square (y up)."""
    (x0, x1), (y0, y1) = plane.x_range, plane.y_range
    columns = (points[:, 0] - x0) / (x1 - x0) * (size - 1)
    rows = (1.0 - (points[:, 1] - y0) / (y1 - y0)) * (size - 1)
    return np.rint(rows).astype(np.int64), np.rint(columns).astype(np.int64)


def _scatter(points: np.ndarray, labels: np.ndarray, plane: ReplayPlane, size: int) -> np.ndarray:
    """The plot area (size, size) of palette indices: zero lines, then the points by class."""
    area = np.full((size, size), WHITE, np.uint8)
    zero_row, zero_column = _to_pixels(np.zeros((1, 2)), plane, size)
    if 0 <= zero_row[0] < size:
        area[zero_row[0], :] = GREY
    if 0 <= zero_column[0] < size:
        area[:, zero_column[0]] = GREY
    rows, columns = _to_pixels(points, plane, size)
    shown = np.isfinite(points).all(axis=1)
    dy, dx = _disc(POINT_RADIUS)
    # Class by class, as Plotly stacks one trace per class: later classes lie on top.
    for label in np.unique(labels[shown]):
        mine = shown & (labels == label)
        y = np.clip(rows[mine, None] + dy, 0, size - 1)  # (n, 13)
        x = np.clip(columns[mine, None] + dx, 0, size - 1)
        area[y, x] = FIRST_CLASS + int(label) % len(CLASS_COLORS)
    return area


def _frame(
    area: np.ndarray,
    title: str,
    footer: str,
    class_names: Sequence[str],
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> Image.Image:
    """One GIF frame: title, the plot area in a frame, the axes' ranges below, a legend."""
    size = area.shape[0]
    width = MARGIN + size + MARGIN + LEGEND_WIDTH
    height = TITLE_HEIGHT + size + FOOTER_HEIGHT
    canvas = np.full((height, width), WHITE, np.uint8)
    canvas[TITLE_HEIGHT : TITLE_HEIGHT + size, MARGIN : MARGIN + size] = area
    picture = Image.fromarray(canvas)  # "L"; the palette makes it a "P" image
    picture.putpalette(_palette())
    draw = ImageDraw.Draw(picture)
    draw.rectangle(
        (MARGIN - 1, TITLE_HEIGHT - 1, MARGIN + size, TITLE_HEIGHT + size), outline=BLACK
    )
    draw.text((MARGIN, 8), title.translate(_ASCII), fill=BLACK, font=font)
    draw.text((MARGIN, TITLE_HEIGHT + size + 6), footer.translate(_ASCII), fill=BLACK, font=font)
    legend_x = MARGIN + size + MARGIN
    for label, name in enumerate(class_names):
        y = TITLE_HEIGHT + 4 + 20 * label
        draw.rectangle((legend_x, y + 2, legend_x + 10, y + 12), fill=FIRST_CLASS + label % 10)
        draw.text((legend_x + 16, y), str(name).translate(_ASCII), fill=BLACK, font=font)
    return picture


def history_gif(
    history: LatentHistory,
    class_names: Sequence[str],
    plot_size: int = 440,
    frame_milliseconds: int = FRAME_MILLISECONDS,
    plane: ReplayPlane | None = None,
) -> bytes:
    """A recorded history as an animated GIF that loops: one frame per snapshot.

    Args:
        history: a recorded history (at least one snapshot).
        class_names: legend name of each class index.
        plot_size: side of the square plot area in pixels; the frame adds a title line, the
            axes' ranges below and a legend on the right.
        frame_milliseconds: how long each snapshot shows (the last one longer).
        plane: the history's `replay_plane`, if already computed.

    Returns:
        The GIF file's bytes.
    """
    if len(history) == 0:
        raise ValueError("The history holds no snapshots.")
    plane = plane or replay_plane(history)
    font = _font(FONT_SIZE)
    (x0, x1), (y0, y1) = plane.x_range, plane.y_range
    first, second = plane.axis_titles
    footer = f"{first}: {x0:.1f} to {x1:.1f}   {second}: {y0:.1f} to {y1:.1f}"
    labels = np.asarray(history.labels)
    frames = [
        _frame(
            _scatter(plane.points[t], labels, plane, plot_size),
            f"{epoch_label(history.epochs[t])} · {loss_text(history, t)}",
            footer,
            class_names,
            font,
        )
        for t in range(len(history))
    ]
    durations = [frame_milliseconds] * (len(frames) - 1) + [LAST_FRAME_MILLISECONDS]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0
    )
    return buffer.getvalue()
