"""dashboard/cache.py and figure_cache.py outside a running app: pictures, cached by content;
the test codes, losses and pixel errors read from a model's shipped file, not computed.

(That importing either changes nothing process-wide is checked in test_server.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import streamlit as st

from dashboard import cache, figure_cache, images
from jlml_core.analysis import likelihood
from jlml_core.data.datasets import load_split
from jlml_core.figures.images import png_data_url
from jlml_core.inference import latent, reconstruction
from jlml_core.jobs.zoo_build import encode_test_set
from jlml_core.store import test_codes
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.store.model_cache import CACHE_ENV
from tests.apptest_helpers import entry_for


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


# --- the encoded test sets shipped beside the zoo's checkpoints ---------------------------------


@pytest.fixture
def shipped_cache(app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the tiny cache whose every model ships its encoded test set, as the zoo's do;
    the dashboard's caches start empty, as in a fresh server."""
    folder = tmp_path / "shipped"
    shutil.copytree(app_env, folder)
    for entry in CheckpointStore(folder).entries():
        digest = test_codes.images_digest(load_split(entry.config.dataset, "test").images)
        test_codes.write_encoded_test_set(entry.path, encode_test_set(entry.path), digest)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield folder
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the whole-test-set computations the dashboard ran, in order."""
    calls = []
    for module, name in (
        (latent, "encode_images"),
        (reconstruction, "per_image_loss"),
        (likelihood, "shown_image_errors"),
    ):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k)
        )
    return calls


def test_shipped_test_codes_are_read_not_computed(shipped_cache: Path, computed: list) -> None:
    for entry in cache.list_entries():
        shipped = test_codes.read_encoded_test_set(
            entry.path, test_codes.images_digest(cache.test_set(entry.config.dataset).images)
        )
        encodings = cache.encodings_for(entry)
        np.testing.assert_array_equal(encodings.mu, shipped.mu)
        assert (encodings.logvar is None) == (not entry.config.is_variational)
        np.testing.assert_array_equal(cache.test_losses_for(entry), shipped.losses)
        assert cache.projected_codes_for(entry).shape == (len(shipped.mu), 2)
        errors = cache.shown_image_errors_for(entry)
        assert set(errors) == set(likelihood.outputs_for(entry.config.loss))
        for output, error in errors.items():
            assert error._asdict() == pytest.approx(shipped.pixel_errors[output])
    assert computed == []  # nothing encoded, decoded or scored


def test_shipped_codes_equal_the_models_own_encodings(shipped_cache: Path) -> None:
    entry = entry_for(shipped_cache, "vae")
    images = cache.test_set(entry.config.dataset).images
    own = latent.encode_images(cache.model_for(entry), images)
    shipped = cache.encodings_for(entry)
    np.testing.assert_allclose(shipped.mu, own.mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(shipped.logvar, own.logvar, rtol=2**-11, atol=1e-5)  # float16
    losses = reconstruction.per_image_loss(cache.model_for(entry), images, entry.config.loss)
    np.testing.assert_allclose(cache.test_losses_for(entry), losses, rtol=1e-5)


def test_the_latent_dimensions_take_the_shipped_mutual_information(
    shipped_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import latent_dims_view
    from jlml_core.analysis import latent_dims
    from jlml_core.nn import latent_stats
    from jlml_core.nn.latent_stats import MI_SAMPLES

    entry = entry_for(shipped_cache, "vae")
    encodings = cache.encodings_for(entry)
    # What the page would compute from the very codes it reads: what the file ships.
    expected = latent_dims.latent_dimensions(encodings.mu, encodings.logvar, samples=MI_SAMPLES)
    monkeypatch.setattr(latent_stats, "mutual_information", _no_call)
    shown = latent_dims_view.dimensions_for(entry)
    assert shown.mutual_information == pytest.approx(expected.mutual_information, rel=1e-9)
    np.testing.assert_array_equal(shown.kl_per_dim, expected.kl_per_dim)


def _no_call(*args: object, **kwargs: object) -> float:
    raise AssertionError("computed, though the model ships its I(x; z)")


def test_stale_shipped_codes_are_ignored_and_the_test_set_encoded(
    shipped_cache: Path, computed: list
) -> None:
    entry = entry_for(shipped_cache, "vae")
    other = entry_for(shipped_cache, "ae")
    # The AE's file beside the VAE's weights: computed from other weights, so stale.
    shutil.copy(other.path / test_codes.TEST_CODES_FILE, entry.path / test_codes.TEST_CODES_FILE)
    encodings = cache.encodings_for(entry)
    assert computed == ["encode_images"]
    assert encodings.logvar is not None and encodings.logvar.shape == encodings.mu.shape
    cache.test_losses_for(entry)
    cache.shown_image_errors_for(entry)
    assert computed == ["encode_images", "per_image_loss", "shown_image_errors"]
