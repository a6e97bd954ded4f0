"""AppTests for a conditional VAE on the pages: Generation's class picker and ten-class grid,
Your digit's "your digit in every class", labelled reconstructions, and the Latent Explorer's
plain notice."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from jlml_core.config import RECIPES
from jlml_core.data import digit_input, load_split
from jlml_core.inference import latent, reconstruction
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit
from tests.apptest_helpers import open_page
from tests.pages.test_page_your_digit import UPLOAD_KEY, mnist_png
from tests.tiny_configs import TINY_CVAE

CVAE = TINY_CVAE


@pytest.fixture(scope="module")
def cvae_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cvae_cache")
    CheckpointStore(root).save(CVAE, fit(CVAE))
    return root


@pytest.fixture
def cvae_env(cvae_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The dashboard over a cache holding only the tiny CVAE, and an empty zoo."""
    (tmp_path / "zoo").mkdir()
    monkeypatch.setenv("JLML_CACHE_DIR", str(cvae_cache))
    monkeypatch.setenv("JLML_ZOO_DIR", str(tmp_path / "zoo"))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    return cvae_cache


def _images(at: AppTest) -> dict[str, str]:
    """Caption -> image URL of every image on the page."""
    return {
        caption: url
        for image in at.image
        for url, caption in zip(image.value, image.captions, strict=True)
    }


def _find(at: AppTest, start: str) -> str:
    (url,) = [url for caption, url in _images(at).items() if caption.startswith(start)]
    return url


def _pixels(url: str) -> np.ndarray:
    """The greyscale pixels of a data-URL PNG the page shows."""
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_generation_offers_a_class_picker_and_every_class(cvae_env: Path) -> None:
    at = open_page("generation", CVAE.key())
    assert not at.exception
    assert any("is a conditional VAE" in info.value for info in at.info)
    assert not at.tabs  # the unconditional tabs (interpolation, planes) are left out
    picker = at.radio(key="gen_class")
    assert list(picker.options) == [str(c) for c in range(10)] and picker.value == 0
    zeros = _find(at, "64 samples of class 0, seed 0")
    at.radio(key="gen_class").set_value(7).run()
    sevens = _find(at, "64 samples of class 7, seed 0")
    assert sevens != zeros
    # The same codes under another label: the model decodes exactly what the page shows.
    model = CheckpointStore(cvae_env).load(CVAE)
    z = latent.sample_prior(64, 2, 0)
    expected = latent.tile(latent.decode_points(model, z, labels=7), 8)
    shown = _pixels(sevens).astype(np.float32) / 255.0
    scale = shown.shape[0] // expected.shape[0]
    assert np.abs(shown[::scale, ::scale] - expected).mean() < 0.01
    # All ten classes: rows of ten, each row one code.
    grid = _pixels(_find(at, "Each row is one code z"))
    rows = at.slider(key="gen_class_rows").value
    ratio = grid.shape[1] / grid.shape[0]
    assert ratio == pytest.approx((10 * 29 - 1) / (rows * 29 - 1), rel=0.02)
    _find(at, "A 15 × 15 grid over z ∈ [−3, 3]², every point decoded as a 7")


def test_your_digit_in_every_class(cvae_env: Path) -> None:
    at = open_page("your_digit", CVAE.key())
    at.file_uploader(key=UPLOAD_KEY).set_value(("seven.png", mnist_png(0), "image/png")).run()
    assert not at.exception
    label_box = at.selectbox(key="your_digit_label")
    assert "the classifier's guess, 7" in label_box.format_func(label_box.value)
    every = next(i for i in at.image if len(i.value) == 10)
    assert every.captions == [str(c) for c in range(10)]
    # The ten pictures are the drawing's code decoded under labels 0..9.
    prepared = digit_input.mnist_style(digit_input.decode_upload(mnist_png(0)))
    model = CheckpointStore(cvae_env).load(CVAE)
    batch = torch.from_numpy(prepared)[None]
    mu = latent.encode_images(model, batch, labels=[7]).mu
    expected = latent.decode_points(model, np.repeat(mu, 10, 0), labels=np.arange(10))
    for url, picture in zip(every.value, expected, strict=True):
        shown = _pixels(url).astype(np.float32) / 255.0
        scale = shown.shape[0] // 28
        assert np.abs(shown[::scale, ::scale] - picture).mean() < 0.01
    loss = reconstruction.per_image_loss(model, batch, "bce", labels=[7])[0]
    text = " ".join(m.value for m in at.markdown)
    shown_loss = float(re.search(r"under the label: \*\*([\d.]+)\*\*", text).group(1))
    assert shown_loss == pytest.approx(float(loss), abs=0.051)
    # Choosing another label encodes with it.
    at.selectbox(key="your_digit_label").set_value(1).run()
    assert not at.exception
    assert "reconstruction as 1" in _images(at)


def test_reconstructions_use_the_digits_own_labels(cvae_env: Path) -> None:
    at = open_page("reconstructions", CVAE.key())
    assert not at.exception
    test = load_split("mnist", "test")
    model = CheckpointStore(cvae_env).load(CVAE)
    shown = [
        c for image in at.image for c in image.captions if c.startswith("BCE")
    ]  # one per digit
    assert len(shown) == 10
    rows = [
        int(re.match(r"#(\d+)", c).group(1)) for i in at.image for c in i.captions if c[0] == "#"
    ]
    losses = reconstruction.per_image_loss(
        model, test.images[rows], "bce", labels=test.labels[rows]
    )
    for caption, loss in zip(shown, losses, strict=True):
        assert float(caption.split()[-1]) == pytest.approx(float(loss), abs=0.051)


def test_the_latent_explorer_says_why_it_does_not_show_a_conditional_model(cvae_env) -> None:
    at = open_page("latent_explorer", CVAE.key())
    assert not at.exception
    (notice,) = [i.value for i in at.info if "conditional model" in i.value]
    assert "needs a class label" in notice and "Generation" in notice
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("page", ["home", "model_zoo", "loss_comparison", "train"])
def test_the_other_pages_open_with_a_conditional_model_chosen(cvae_env: Path, page: str) -> None:
    at = open_page(page, CVAE.key())
    assert not at.exception, page
    assert not at.error, [e.value for e in at.error]


def test_the_train_page_trains_a_conditional_model(
    cvae_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jlml_core.store.model_cache import CACHE_ENV

    folder = tmp_path / "user_cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    at = open_page("train")
    at.selectbox(key="train_arch").set_value("dense")
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_train_subset").set_value(500)
    at.toggle(key="train_conditional").set_value(True).run()
    config = RECIPES["quick"].config(arch="dense", epochs=1, train_subset=500, conditional=True)
    assert f"key `{config.key()}`" in " ".join(m.value for m in at.markdown)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert "Trained and saved" in " ".join(s.value for s in at.success)
    (entry,) = CheckpointStore(folder).entries()
    assert entry.config == config and CheckpointStore(folder).load(config).conditional
