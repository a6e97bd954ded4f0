"""Every page over the tiny models: each picture and chart has a text alternative for screen
readers, and each page offers the Python that reproduces its main figure."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import entry_for, open_page
from tests.pages.test_page_your_digit import UPLOAD_KEY, mnist_png

PAGES = [
    "home",
    "reconstructions",
    "latent_explorer",
    "your_digit",
    "generation",
    "loss_comparison",
    "model_zoo",
    "train",
]


def _alts(at: AppTest) -> tuple[list[str], list[str]]:
    """The alt text of every picture and of every plotly chart on the page."""
    images = [img.alt for element in at.image for img in element.proto.imgs]
    charts = [chart.proto.alt for chart in at.get("plotly_chart")]
    return images, charts


def _prepare(page: str, at: AppTest) -> AppTest:
    """Bring up the page's pictures that need a choice first."""
    if page == "your_digit":
        value = ("seven.png", mnist_png(0), "image/png")
        return at.file_uploader(key=UPLOAD_KEY).set_value(value).run()
    if page == "latent_explorer":
        return at.number_input(key="latent_row").set_value(3).run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_picture_and_chart_has_alt_text_and_the_page_shows_python(page: str, app_env) -> None:
    at = _prepare(page, open_page(page, entry_for(app_env, "vae").key))
    assert not at.exception
    images, charts = _alts(at)
    if page in {"reconstructions", "latent_explorer", "your_digit", "generation"}:
        assert images, f"{page} showed no picture"
    if page in {"home", "latent_explorer", "your_digit", "loss_comparison"}:
        assert charts, f"{page} showed no chart"
    assert all(alt.strip() for alt in images), f"{page}: a picture without alt text: {images}"
    assert all(alt.strip() for alt in charts), f"{page}: a chart without alt text: {charts}"
    assert any(e.label == "Python" for e in at.expander), f"{page} shows no Python expander"


def test_alt_text_names_what_a_reconstruction_shows(app_env) -> None:
    entry = entry_for(app_env, "vae")
    at = open_page("latent_explorer", entry.key)
    at = at.number_input(key="latent_row").set_value(3).run()
    images, _ = _alts(at)
    reconstruction = next(alt for alt in images if alt.startswith("reconstruction of"))
    assert entry.label in reconstruction and "nats" in reconstruction
    assert "test digit #3" in images[0]
