"""AppTest for the Generation page: prior samples, interpolation and the two latent grids."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import entry_for, open_page

ROOT = Path(__file__).resolve().parents[2]


def _key(cache_dir: Path, kind: str, latent_dim: int = 2) -> str:
    return entry_for(cache_dir, kind, latent_dim).key


def _page(model_key: str) -> AppTest:
    return open_page("generation", model_key)


def _image(at: AppTest, caption_start: str) -> str:
    """URL of the one image whose caption starts with `caption_start` (it names the bytes)."""
    urls = [
        url
        for image in at.image
        for url, caption in zip(image.value, image.captions, strict=True)
        if caption.startswith(caption_start)
    ]
    assert len(urls) == 1, [c for image in at.image for c in image.captions]
    return urls[0]


def test_prior_grid_changes_with_seed_and_size(app_env: Path) -> None:
    at = _page(_key(app_env, "vae"))
    assert not at.exception
    assert at.title[0].value == "Generation"
    assert not at.warning  # a VAE: no warning about the prior
    first = _image(at, "64 samples, seed 0")
    at.number_input(key="gen_seed").set_value(1).run()
    assert _image(at, "64 samples, seed 1") != first
    at.slider(key="gen_grid").set_value(3).run()
    _image(at, "9 samples")
    # prior grid, strip, rectangle grid, three corners, plane grid (the traversals' tab is lazy)
    assert len(at.image) == 5


def _far_apart_in_angle(cache_dir: Path) -> int:
    """A test digit whose code points away from digit 0's, seen from the origin (on a line
    through the origin, the spherical and the linear path would coincide)."""
    import numpy as np

    from jlml_core.data.datasets import load_split
    from jlml_core.inference import latent
    from jlml_core.store.checkpoints import load_model

    entry = entry_for(cache_dir, "vae")
    codes = latent.encode_images(load_model(entry.path), load_split("mnist", "test").images[:200])
    unit = codes.mu / np.linalg.norm(codes.mu, axis=1, keepdims=True)
    return int(np.argmin(unit @ unit[0]))


def test_interpolation_strip_follows_the_path_and_the_random_pair(app_env: Path) -> None:
    at = _page(_key(app_env, "vae"))
    at.number_input(key="gen_end").set_value(_far_apart_in_angle(app_env)).run()
    linear = _image(at, "Left: test digit #0")
    at.radio(key="gen_method").set_value("spherical").run()
    assert _image(at, "Left: test digit #0") != linear
    next(b for b in at.button if b.label == "Random pair").click().run()
    assert not at.exception
    start, end = at.number_input(key="gen_start").value, at.number_input(key="gen_end").value
    assert start != end and (start, end) != (0, 1)
    _image(at, f"Left: test digit #{start} ")


def test_autoencoder_gets_the_prior_warning(app_env: Path) -> None:
    at = _page(_key(app_env, "ae"))
    assert not at.exception
    assert "plain autoencoder" in at.warning[0].value and "N(0, I)" in at.warning[0].value


def test_higher_dimensional_model_explains_the_pca_plane_and_grids_respond(app_env: Path) -> None:
    at = _page(_key(app_env, "vae", latent_dim=4))
    assert not at.exception
    assert any("principal components" in info.value for info in at.info)
    grid = _image(at, "Decoded 15 × 15 grid")
    at.slider(key="gen_plane_grid").set_value(6).run()
    assert _image(at, "Decoded 6 × 6 grid") != grid
    mosaic = _image(at, "The plane through")
    at.number_input(key="gen_c").set_value(40).run()
    assert _image(at, "The plane through") != mosaic


def test_a_page_run_leaves_no_picture_in_urllibs_url_cache(app_env: Path) -> None:
    import urllib.parse

    at = _page(_key(app_env, "vae"))
    at.number_input(key="gen_seed").set_value(2).run()
    assert not at.exception
    picture = _image(at, "64 samples, seed 2")
    assert len(picture) > 20_000  # an inline PNG mosaic, which st.image parses as a URL
    # app.py empties the cache after each page run; without that it keeps the last 128 URLs
    assert urllib.parse.urlsplit.cache_info().currsize == 0
    urllib.parse.urlparse(picture)
    assert urllib.parse.urlsplit.cache_info().currsize == 1  # the cache this test relies on


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_each_mosaic_downloads_as_the_png_shown(app_env: Path, downloads: dict) -> None:
    entry = entry_for(app_env, "vae")
    at = _page(entry.key)
    assert not at.exception
    shown_as = {  # what each download holds -> the caption of the picture it saves
        "prior_samples": "64 samples, seed 0",
        "interpolation": "Left:",
        "latent_grid": "Decoded",
        "plane_mosaic": "The plane through",
    }
    names = {what: f"{entry.config.slug()}_{what}.png" for what in shown_as}
    buttons = [(button.label, button.help) for button in at.get("download_button")]
    assert buttons == [
        ("Download the picture (PNG)", f"Saves `{name}`.") for name in names.values()
    ]
    for what, caption in shown_as.items():
        offered = downloads[names[what]]
        assert offered.mime == "image/png"
        shown = base64.b64decode(_image(at, caption).split(",", 1)[1])  # the page's data URL
        assert np.array_equal(_pixels(offered.make()), _pixels(shown)), what


def test_the_python_expander_sends_its_code_only_once_opened(app_env: Path) -> None:
    key = _key(app_env, "vae")
    at = _page(key)
    assert any(e.label == "Python" for e in at.expander)
    assert not [c for c in at.code if "own Python" in c.value]  # closed: nothing sent
    at.session_state[f"code_prior_samples_{key}"] = True  # as a click on it does
    at.run()
    assert not at.exception
    (code,) = [c.value for c in at.code if "own Python" in c.value]
    assert key in code and "seed=0" in code.replace(" ", "")
