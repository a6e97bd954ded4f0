"""AppTest for Your digit: an uploaded picture is shown as MNIST, reconstructed and placed.

AppTest cannot draw on the canvas component (tests/test_browser.py does, with the mouse), so
these tests drive the page through its file uploader.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from jlml_core.data import digit_input, load_split
from jlml_core.inference import latent, reconstruction
from jlml_core.store import checkpoints
from tests.apptest_helpers import entry_for, open_page

UPLOAD_KEY = "your_digit_upload"


def mnist_png(row: int = 0, scale: int = 8) -> bytes:
    """Test digit `row` drawn large and dark on light, as a photo of paper would be."""
    digit = load_split("mnist", "test").images[row].numpy()
    paper = 255 - np.kron(digit, np.ones((scale, scale), np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(paper).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _figures(at: AppTest) -> dict[str, dict]:
    return {chart.proto.id: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def _scatter(at: AppTest) -> dict:
    return next(f for f in _figures(at).values() if len(f["data"]) > 10)


def test_before_any_input_the_page_asks_for_a_digit(app_env) -> None:
    at = open_page("your_digit", entry_for(app_env, "vae").key)
    assert not at.exception
    assert at.title[0].value == "Your digit"
    assert any("Draw a digit in the box" in info.value for info in at.info)
    assert at.file_uploader(key=UPLOAD_KEY).label.startswith("**Or upload a picture** (at most 1")


def test_an_uploaded_png_is_prepared_reconstructed_and_marked_in_the_scatter(app_env) -> None:
    entry = entry_for(app_env, "vae")
    at = open_page("your_digit", entry.key)
    at.file_uploader(key=UPLOAD_KEY).set_value(("seven.png", mnist_png(0), "image/png")).run()
    assert not at.exception
    assert at.image[0].captions == ["your digit, as MNIST", "reconstruction"]
    # the loss shown is the model's loss of the preprocessed picture
    prepared = digit_input.mnist_style(digit_input.decode_upload(mnist_png(0)))
    model = checkpoints.load_model(entry.path)
    expected = reconstruction.per_image_loss(model, torch.from_numpy(prepared)[None], "bce")[0]
    text = _markdown(at)
    shown = float(re.search(r"Reconstruction loss \(BCE\): \*\*([\d.]+)\*\*", text).group(1))
    assert shown == pytest.approx(float(expected), abs=0.051)
    assert "**Posterior q(z|x)**" in text and "KL to the prior" in text
    # the scatter: the 11 cached traces, then the 1σ and 2σ ellipses and the star at mu
    scatter = _scatter(at)
    names = [trace.get("name") for trace in scatter["data"]]
    assert names[-3:] == ["your digit: 1σ", "your digit: 2σ", "your digit"]
    mu = latent.encode_images(model, torch.from_numpy(prepared)[None]).mu[0]
    star = scatter["data"][-1]
    assert (star["x"][0], star["y"][0]) == pytest.approx(tuple(mu), abs=1e-4)
    assert "Nearest test digits" in text
    assert any(image.captions and "d=" in image.captions[0] for image in at.image)


def test_a_bad_upload_gives_one_line_and_the_page_recovers(app_env) -> None:
    at = open_page("your_digit", entry_for(app_env, "ae").key)
    at.file_uploader(key=UPLOAD_KEY).set_value(("notes.txt", b"hello", "text/plain")).run()
    assert not at.exception
    (error,) = at.error
    assert "not an image" in error.value and "\n" not in error.value
    assert not at.get("plotly_chart")
    at.file_uploader(key=UPLOAD_KEY).set_value(("empty.png", b"", "image/png")).run()
    assert "empty" in at.error[0].value
    at.file_uploader(key=UPLOAD_KEY).set_value(("three.png", mnist_png(18), "image/png")).run()
    assert not at.exception and not at.error
    assert "no posterior" in " ".join(c.value for c in at.caption)  # an AE: a point
    assert [t.get("name") for t in _scatter(at)["data"]][-1] == "your digit"
