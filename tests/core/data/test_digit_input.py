"""Turning a user's picture into an MNIST-style digit: preprocessing and every bad upload."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from jlml_core.data.datasets import load_split
from jlml_core.data.digit_input import (
    BOX,
    DigitInputError,
    EmptyPictureError,
    canvas_to_gray,
    centre_of_mass,
    decode_upload,
    mnist_style,
)


def _dark_on_light_seven(height: int = 300, width: int = 240) -> np.ndarray:
    """A large, off-centre '7' in black ink on white paper: luminance (H, W)."""
    gray = np.ones((height, width), np.float32)
    gray[40:60, 120:220] = 0.0  # top bar
    for row in range(60, 260):  # the diagonal stroke
        column = 220 - (row - 60) * 100 // 200
        gray[row, column - 12 : column + 12] = 0.0
    return gray


def _png(image: Image.Image, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=save.pop("format", "PNG"), **save)
    return buffer.getvalue()


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (of 255) of two digits, allowing a shift of one pixel.

    A few noisy pixels can move a centre of mass across a pixel boundary; that whole-pixel
    placement is not what these tests are about.
    """
    a, b = a.astype(float), b.astype(float)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return min(float(np.abs(np.roll(a, shift, (0, 1)) - b).mean()) for shift in shifts)


def _bounding_box(image: np.ndarray) -> tuple[int, int]:
    rows, columns = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    return rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1


def test_a_large_off_centre_dark_on_light_digit_comes_out_like_mnist() -> None:
    digit = mnist_style(_dark_on_light_seven())
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit[0].max() == 0 and digit[:, 0].max() == 0  # inverted: black background
    assert digit.max() == 255  # white ink
    assert max(_bounding_box(digit)) == BOX
    row, column = centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(column - 14) <= 0.5


def test_light_on_dark_is_not_inverted_and_a_tiny_digit_is_enlarged() -> None:
    gray = np.zeros((100, 100), np.float32)
    gray[10:16, 70:72] = 1.0  # a 6 x 2 px "1" near the corner
    digit = mnist_style(gray)
    assert digit[0].max() == 0
    height, width = _bounding_box(digit)
    assert height == BOX and width < 10
    assert abs(centre_of_mass(digit)[1] - 14) <= 0.5


def test_paper_grain_is_background_not_ink() -> None:
    noisy = _dark_on_light_seven() * 0.8 + 0.1  # grey ink on grey paper
    noisy += np.random.default_rng(0).uniform(0.0, 0.08, noisy.shape).astype(np.float32)
    assert _distance(mnist_style(noisy), mnist_style(_dark_on_light_seven())) < 4


def test_a_real_mnist_digit_round_trips_close_to_itself() -> None:
    test = load_split("mnist", "test")
    for row in range(20):
        original = test.images[row].numpy()
        again = mnist_style(original / 255.0)
        assert np.abs(again.astype(float) - original).mean() < 6  # of 255
        # and drawn dark-on-light, four times larger, it gives the same picture
        big = np.kron(1.0 - original / 255.0, np.ones((4, 4)))
        assert np.abs(mnist_style(big).astype(float) - original).mean() < 20


@pytest.mark.parametrize("gray", [np.ones((280, 280)), np.zeros((280, 280)), np.full((5, 5), 0.5)])
def test_an_empty_picture_gives_a_message(gray: np.ndarray) -> None:
    with pytest.raises(EmptyPictureError, match="no digit"):
        mnist_style(gray)


def test_an_empty_canvas_gives_a_message_and_a_drawn_one_a_digit() -> None:
    rgba = np.zeros((280, 280, 4), np.uint8)  # the canvas: transparent where nothing is drawn
    with pytest.raises(EmptyPictureError, match="no digit"):
        mnist_style(canvas_to_gray(rgba))
    rgba[50:230, 130:150] = (0, 0, 0, 255)  # one black stroke
    digit = mnist_style(canvas_to_gray(rgba))
    assert _bounding_box(digit)[0] == BOX and digit.max() == 255


def test_a_canvas_of_no_pixels_is_empty_and_nan_pixels_are_refused() -> None:
    with pytest.raises(EmptyPictureError, match="no digit"):
        mnist_style(canvas_to_gray(np.zeros((0, 0, 4), np.uint8)))
    nan_tiff = _png(Image.fromarray(np.array([[0.0, np.nan]], np.float32)), format="TIFF")
    with pytest.raises(DigitInputError, match="not numbers"):
        decode_upload(nan_tiff)


def test_an_uploaded_png_reads_as_luminance() -> None:
    gray = decode_upload(_png(Image.fromarray((_dark_on_light_seven() * 255).astype(np.uint8))))
    assert gray.shape == (300, 240) and gray.dtype == np.float32
    assert gray.min() == 0.0 and gray.max() == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),  # a PNG signature, nothing more
        (b"x" * 1_000_001, "limit is 1 MB"),
    ],
)
def test_bad_uploads_give_one_line_messages(data: bytes, message: str) -> None:
    with pytest.raises(DigitInputError, match=message) as error:
        decode_upload(data)
    assert "\n" not in str(error.value)


def test_huge_dimensions_are_refused_before_decoding() -> None:
    # A 1 x 1 PNG whose header claims 50,000 x 50,000: a decompression bomb's first bytes.
    data = bytearray(_png(Image.new("L", (1, 1))))
    data[16:24] = struct.pack(">II", 50_000, 50_000)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    data = bytes(data)
    with pytest.raises(DigitInputError, match="pixels"):
        decode_upload(data)
    with pytest.raises(DigitInputError, match="200 × 200 pixels"):
        decode_upload(_png(Image.new("L", (200, 200))), max_pixels=100 * 100)


def test_an_animation_is_refused() -> None:
    frames = [Image.new("L", (28, 28), shade) for shade in (0, 255)]
    data = _png(frames[0], format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(DigitInputError, match="animated"):
        decode_upload(data)


def _seven_image(mode: str) -> Image.Image:
    ink = _dark_on_light_seven() < 0.5  # (H, W) bool
    if mode == "RGBA":  # black ink on a transparent background
        pixels = np.zeros((*ink.shape, 4), np.uint8)
        pixels[ink, 3] = 255
        return Image.fromarray(pixels, "RGBA")
    if mode == "LA":
        pixels = np.zeros((*ink.shape, 2), np.uint8)
        pixels[ink, 1] = 255
        return Image.fromarray(pixels, "LA")
    if mode == "I;16":  # 16-bit: white is 65535
        return Image.fromarray(np.where(ink, 0, 65535).astype(np.uint16))
    gray = Image.fromarray(np.where(ink, 0, 255).astype(np.uint8), "L")
    if mode == "CMYK":
        return gray.convert("RGB").convert("CMYK")
    if mode == "P":
        return gray.convert("RGB").convert("P")
    return gray.convert(mode)


@pytest.mark.parametrize(("mode", "format"), [
    ("RGBA", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("I;16", "PNG"), ("CMYK", "JPEG"),
    ("CMYK", "TIFF"), ("RGB", "JPEG"), ("1", "BMP"),
])  # fmt: skip
def test_every_image_mode_gives_the_same_digit(mode: str, format: str) -> None:
    expected = mnist_style(_dark_on_light_seven())
    image = _seven_image(mode)
    data = _png(image, format=format)
    if format == "PNG" and mode != "P":
        assert Image.open(io.BytesIO(data)).mode in {mode, "I", "I;16"}
    digit = mnist_style(decode_upload(data))
    assert _distance(digit, expected) < (4 if format == "JPEG" else 1)
