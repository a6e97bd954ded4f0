"""dashboard/cache.py and figure_cache.py outside a running app: pictures, cached by content.

(That importing either changes nothing process-wide is checked in test_server.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import figure_cache, images
from jlml_core.figures.images import png_data_url


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shapes the PNG encoder behind the picture cache was asked for (from a cleared cache)."""
    calls = []

    def encode(image: np.ndarray, scale: int, compress_level: int) -> str:
        calls.append(image.shape)
        return png_data_url(image, scale, compress_level)

    figure_cache.cached_png_data_url.clear()
    monkeypatch.setattr(figure_cache, "png_data_url", encode)
    yield calls
    figure_cache.cached_png_data_url.clear()


def test_cached_png_data_url_is_the_core_encoders_url_encoded_once(encodes: list) -> None:
    mosaic = np.random.default_rng(0).random((200, 200), dtype=np.float32)
    url = figure_cache.cached_png_data_url(mosaic, 2, images.COMPRESS_LEVEL)
    assert url == png_data_url(mosaic, 2, images.COMPRESS_LEVEL)
    assert url.startswith("data:image/png;base64,")
    again = figure_cache.cached_png_data_url(mosaic.copy(), 2, images.COMPRESS_LEVEL)
    assert again == url and encodes == [(200, 200)]  # same content: served from the cache


def test_picture_url_caches_mosaics_but_not_single_digits(encodes: list) -> None:
    digit = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)  # 112 x 112 shown
    mosaic = np.tile(digit, (6, 6))  # 168 x 168, shown 672 x 672
    assert digit.size * 16 < images.CACHE_FROM_PIXELS <= mosaic.size * 16
    assert images.picture_url(digit, 4) == png_data_url(digit, 4, images.COMPRESS_LEVEL)
    assert images.picture_url(mosaic, 4) == png_data_url(mosaic, 4, images.COMPRESS_LEVEL)
    assert encodes == [mosaic.shape]  # only the mosaic went through the cache
