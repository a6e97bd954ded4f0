"""A user's own digit, drawn or uploaded, turned into an MNIST-style 28 x 28 image.

MNIST's digits were made by scaling each scanned digit's ink to fit a 20 x 20 box (keeping its
aspect ratio, anti-aliased), then placing it in a 28 x 28 field so that its centre of mass
sits at the field's centre (LeCun, Cortes & Burges, "The MNIST database"). `mnist_style` does
the same to any greyscale picture, so a model sees a drawing the way it saw its training data.
`decode_upload` reads uploaded bytes defensively: every way an upload can be unusable raises
a `DigitInputError` whose message is one sentence a student can act on.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIDE = 28  # MNIST field
BOX = 20  # MNIST's box for the ink's longest side
MAX_UPLOAD_BYTES = 1_000_000
MAX_UPLOAD_PIXELS = 4096 * 4096
_MIN_INK = 0.05  # strongest ink below this (on a 0..1 scale) counts as an empty picture
_NO_DIGIT = "There is no digit in the picture yet: draw or upload one."
# What Pillow raises for a damaged file: its decoders' errors, and the parsing errors that
# `Image.open` itself reads as "not an image" but that a later seek or load lets through.
_DAMAGED_FILE_ERRORS = (OSError, ValueError, SyntaxError, TypeError, IndexError, struct.error)


class DigitInputError(ValueError):
    """An upload or drawing that cannot become a digit; the message is one line for the user."""


class EmptyPictureError(DigitInputError):
    """A picture without ink (an empty canvas): nothing is wrong, there is just no digit yet."""


def decode_upload(
    data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS
) -> np.ndarray:
    """Read an uploaded image file as greyscale luminance: (H, W) float32 in [0, 1].

    Dimensions are checked before any pixel is decoded (PIL's `Image.open` reads only the
    header), so a small file that claims a huge image (a decompression bomb) costs nothing.

    Args:
        data: the file's bytes.
        max_bytes: largest accepted file.
        max_pixels: largest accepted width x height.

    Raises:
        DigitInputError: empty file, file too large, not an image, too many pixels, an
            animation, a damaged file, or pixels that are not numbers.
    """
    if not data:
        raise DigitInputError("The file is empty (0 bytes); upload a PNG or JPEG of a digit.")
    if len(data) > max_bytes:
        raise DigitInputError(
            f"The file is {len(data) / 1e6:.2f} MB; the limit is {max_bytes / 1e6:g} MB."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DigitInputError("The image has far too many pixels; upload a smaller one.") from error
    except (UnidentifiedImageError, *_DAMAGED_FILE_ERRORS) as error:
        raise DigitInputError(
            "That file is not an image this page can read; upload a PNG, JPEG, GIF, BMP or WebP."
        ) from error
    width, height = image.size
    if width * height > max_pixels or width < 1 or height < 1:
        raise DigitInputError(
            f"The image is {width} × {height} pixels; the limit is "
            f"{max_pixels / 1e6:.0f} megapixels."
        )
    try:
        animated = getattr(image, "n_frames", 1) > 1  # counting frames reads past the first
        if not animated:
            image.load()
            image = ImageOps.exif_transpose(image)  # phone photos store their rotation in EXIF
    except _DAMAGED_FILE_ERRORS as error:
        reason = " ".join(str(error).split()) or type(error).__name__  # one line, never empty
        raise DigitInputError(f"The image could not be decoded ({reason}).") from error
    if animated:
        raise DigitInputError("The image is animated; upload a single still picture.")
    return to_gray(image)


def to_gray(image: Image.Image) -> np.ndarray:
    """Any PIL image as luminance (H, W) float32 in [0, 1]; transparency composited on white.

    16- and 32-bit integer images are scaled by their bit depth (PIL's own conversion to "L"
    would clip them), palettes and CMYK go through RGB.

    Raises:
        DigitInputError: for a floating-point image with NaN pixels (no luminance to show).
    """
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        pixels = np.asarray(image, np.float64)
        # "I" holds 16-bit PNGs in older Pillows; a value above 16 bits means a 32-bit image.
        depth = 65535.0 if mode.startswith("I;16") or pixels.max() <= 65535 else 2.0**32 - 1
        return np.clip(pixels / depth, 0.0, 1.0).astype(np.float32)
    if mode == "F":
        pixels = np.asarray(image, np.float64)
        if np.isnan(pixels).any():
            raise DigitInputError("The image has pixels that are not numbers (NaN); upload a PNG.")
        return np.clip(pixels / (255.0 if pixels.max() > 1.0 else 1.0), 0, 1).astype(np.float32)
    if mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    elif mode not in {"L", "RGB", "1"}:
        image = image.convert("RGB")  # CMYK, P, YCbCr, LAB, HSV
    return np.asarray(image.convert("L"), np.float32) / 255.0


def canvas_to_gray(rgba: np.ndarray) -> np.ndarray:
    """A drawing canvas's RGBA pixels (H, W, 4) uint8 -> luminance (H, W) on white, in [0, 1].

    The canvas leaves undrawn pixels transparent, so they are composited on white.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise DigitInputError("The drawing came back in an unexpected shape; draw again.")
    return to_gray(Image.fromarray(rgba.astype(np.uint8), "RGBA"))


def ink(gray: np.ndarray) -> np.ndarray:
    """Luminance (H, W) -> ink (H, W) in [0, 1]: 0 is background, more is ink.

    A picture whose border is mostly light is dark-on-light (paper), so it is inverted. The
    background level comes from the border itself: its median plus twice its spread up to the
    99th percentile, so paper grain, JPEG noise and a grey page count as no ink, while a clean
    drawing (a constant border) keeps every faint anti-aliased pixel.
    """
    gray = np.asarray(gray, np.float32)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:
        gray, border = 1.0 - gray, 1.0 - border
    median = float(np.median(border))
    background = median + 2.0 * (float(np.percentile(border, 99)) - median)
    if background >= 1.0:
        return np.zeros_like(gray)
    return np.clip((gray - background) / (1.0 - background), 0.0, 1.0)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Row and column of an image's centre of mass, in pixel-index coordinates."""
    image = np.asarray(image, np.float64)
    total = image.sum()
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def mnist_style(gray: np.ndarray) -> np.ndarray:
    """Preprocess a greyscale picture of one digit as MNIST was made: (28, 28) uint8.

    White ink on black, the strongest ink at 255; the ink's bounding box scaled (anti-aliased,
    aspect kept) so its longer side is 20 px, then placed so its centre of mass is at (14, 14),
    the mean centre of MNIST's own digits, to the nearest pixel (a whole-pixel shift keeps
    strokes crisp).

    Args:
        gray: luminance (H, W) in [0, 1], dark-on-light or light-on-dark.

    Raises:
        EmptyPictureError: when the picture holds no ink.
    """
    if np.size(gray) == 0:  # a canvas of no pixels has no border to tell paper from ink
        raise EmptyPictureError(_NO_DIGIT)
    strokes = ink(gray)  # (H, W)
    if strokes.max() < _MIN_INK:
        raise EmptyPictureError(_NO_DIGIT)
    rows = np.flatnonzero(strokes.any(axis=1))
    columns = np.flatnonzero(strokes.any(axis=0))
    crop = strokes[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # LANCZOS over a float image: anti-aliased when shrinking, smooth when enlarging.
    box = Image.fromarray(crop.astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS)
    patch = np.clip(np.asarray(box, np.float32), 0.0, None)  # (h, w) with max(h, w) = 20
    if patch.max() <= 0:
        raise EmptyPictureError(_NO_DIGIT)
    patch /= patch.max()  # MNIST's strokes peak at full white; so does a pencil drawing here
    centre_row, centre_column = centre_of_mass(patch)
    top = int(np.clip(round(SIDE / 2 - centre_row), 0, SIDE - patch.shape[0]))
    left = int(np.clip(round(SIDE / 2 - centre_column), 0, SIDE - patch.shape[1]))
    field = np.zeros((SIDE, SIDE), np.float32)
    field[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return (field * 255.0 + 0.5).astype(np.uint8)
