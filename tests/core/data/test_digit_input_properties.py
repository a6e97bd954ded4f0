"""Any upload, any canvas: an MNIST-style digit or a one-line `DigitInputError`, nothing else.

Hypothesis feeds the page's path (`decode_upload` then `mnist_style`, `canvas_to_gray` then
`mnist_style`) arbitrary bytes, real small images in every format and mode the page names,
truncated or with a damaged byte, and canvas arrays of any shape.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from jlml_core.data.digit_input import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_PIXELS,
    SIDE,
    DigitInputError,
    canvas_to_gray,
    decode_upload,
    mnist_style,
)

# Pillow warns about each damaged file it still reads; damaged files are the point here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")
# Few examples, no deadline, no example database in the worktree: a few seconds per run.
PROPERTY = settings(max_examples=200, deadline=None, database=None)

# The modes each format saves as such, so every one of them reaches decode_upload.
MODES = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "JPEG": ["L", "RGB", "CMYK", "YCbCr"],
    "GIF": ["L", "P", "RGB", "RGBA"],
    "BMP": ["1", "L", "P", "RGB"],
    "TIFF": ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "I;16", "I", "F"],
    "WEBP": ["L", "RGB", "RGBA"],
}


def _encode(image: Image.Image, format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


@st.composite
def images(draw: st.DrawFn) -> bytes:
    """A real small image file: random format, mode, size and pixels (a stroke or noise)."""
    format = draw(st.sampled_from(sorted(MODES)))
    mode = draw(st.sampled_from(MODES[format]))
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    if mode in {"I", "F"}:  # 32-bit pixels: any value a TIFF can hold, NaN and infinity too
        dtype = np.int32 if mode == "I" else np.float32
        return _encode(Image.fromarray(draw(hnp.arrays(dtype, (height, width)))), format)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gray = np.full((height, width), draw(st.sampled_from([0, 255, 128])), np.uint8)
    if draw(st.booleans()):
        gray = rng.integers(0, 256, (height, width), dtype=np.uint8)  # noise, e.g. a photo
    else:  # a stroke of the other colour
        top, left = rng.integers(0, height), rng.integers(0, width)
        gray[top : top + rng.integers(1, height + 1), left : left + 3] = 255 - gray[0, 0]
    alpha = Image.fromarray(rng.integers(0, 256, gray.shape, dtype=np.uint8))
    image = Image.fromarray(gray)  # mode "L"
    if mode == "I;16":
        image = Image.fromarray(gray.astype(np.uint16) * 257)
    elif mode == "LA":
        image = Image.merge("LA", [image, alpha])
    elif mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(alpha)
    elif mode != "L":
        image = image.convert("RGB").convert(mode)
    return _encode(image, format)


def _damaged(data: bytes, cut: int, position: int, byte: int, damage: str) -> bytes:
    """`data` cut short or with one byte changed, as a failed upload or a bad disk leaves it."""
    if damage == "cut":
        return data[: cut % (len(data) + 1)]
    position %= len(data)
    return data[:position] + bytes([byte]) + data[position + 1 :]


def _tiff_with_an_empty_second_page() -> bytes:
    """A 2 x 2 TIFF whose next page has no tags: counting its pages raised TypeError."""
    data = bytearray(_encode(Image.new("L", (2, 2), 255), "TIFF"))
    first = struct.unpack("<I", data[4:8])[0]  # offset of the first page's directory
    (tags,) = struct.unpack("<H", data[first : first + 2])
    next_page = first + 2 + 12 * tags  # where the offset of the next directory is kept
    data[next_page : next_page + 4] = struct.pack("<I", len(data))
    return bytes(data + struct.pack("<HI", 0, 0))  # a directory of no tags, and no page after


UPLOADS = st.one_of(
    st.binary(max_size=2048),
    images(),
    st.builds(
        _damaged,
        images(),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
        st.integers(0, 255),
        st.sampled_from(["cut", "byte"]),
    ),
)


def _assert_digit_or_message(read) -> None:
    """`read()` gives an MNIST-style digit or raises DigitInputError with a one-line message."""
    try:
        digit = mnist_style(read())
    except DigitInputError as error:
        message = str(error)
        assert message and "\n" not in message, repr(message)
        return
    assert digit.shape == (SIDE, SIDE) and digit.dtype == np.uint8
    assert digit.max() == 255  # a digit's strongest ink is full white, as in MNIST


@PROPERTY
@given(UPLOADS)
@example(b"")
@example(_encode(Image.new("L", (30, 20)), "GIF")[:40])
@example(_tiff_with_an_empty_second_page())  # found by this property: TypeError
@example(_encode(Image.fromarray(np.array([[0, np.nan]], np.float32)), "TIFF"))  # ValueError
def test_any_upload_is_a_digit_or_a_one_line_message(data: bytes) -> None:
    _assert_digit_or_message(lambda: decode_upload(data))


@PROPERTY
@given(images(), st.integers(1, MAX_UPLOAD_BYTES), st.integers(1, MAX_UPLOAD_PIXELS))
def test_any_limits_give_a_digit_or_a_one_line_message(data, max_bytes, max_pixels) -> None:
    _assert_digit_or_message(lambda: decode_upload(data, max_bytes, max_pixels))


CANVASES = st.one_of(
    hnp.arrays(np.uint8, st.tuples(st.integers(0, 40), st.integers(0, 40), st.just(4))),
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=8)),
)


@PROPERTY
@given(CANVASES)
@example(np.zeros((0, 0, 4), np.uint8))  # found by this property: IndexError
@example(np.zeros((3, 0, 4), np.uint8))
def test_any_canvas_is_a_digit_or_a_one_line_message(rgba: np.ndarray) -> None:
    _assert_digit_or_message(lambda: canvas_to_gray(rgba))
