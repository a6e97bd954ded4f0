"""jlml_core/images.py: PNGs that keep every pixel, at any zlib level."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from jlml_core.figures.images import png_bytes, png_data_url, to_uint8


@pytest.mark.parametrize("compress_level", [1, 6, 9])
@pytest.mark.parametrize("scale", [1, 3])
def test_png_keeps_every_pixel(compress_level: int, scale: int) -> None:
    image = np.random.default_rng(0).random((7, 5)).astype(np.float32)  # (H, W)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(image, scale, compress_level))))
    expected = np.kron(to_uint8(image), np.ones((scale, scale), np.uint8))  # nearest-neighbour
    np.testing.assert_array_equal(decoded, expected)


def test_png_data_url_wraps_the_same_png() -> None:
    image = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    url = png_data_url(image, 2, compress_level=1)
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == png_bytes(image, 2, compress_level=1)
