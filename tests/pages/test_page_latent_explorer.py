"""AppTest for the Latent Explorer: the scatter it sends, the detail panel, the projection note.

AppTest cannot click a Plotly chart, so the panel is driven through the page's index box (the
same path as a click on a digit); tests/test_browser.py clicks the real chart.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from dashboard.images import COMPRESS_LEVEL
from jlml_core.data.datasets import load_split
from jlml_core.figures import posterior_picture
from jlml_core.figures.images import png_data_url
from jlml_core.figures.payload import from_typed_array
from jlml_core.inference import latent, posterior, reconstruction
from jlml_core.store import checkpoints
from tests.apptest_helpers import entry_for, open_page

ROOT = Path(__file__).resolve().parents[2]


def _entry(cache_dir: Path, kind: str, latent_dim: int = 2) -> checkpoints.Entry:
    return entry_for(cache_dir, kind, latent_dim)


def _page(entry: checkpoints.Entry) -> AppTest:
    return open_page("latent_explorer", entry.key)


def _figure(at: AppTest, key: str = "latent_scatter") -> dict:
    (chart,) = [chart for chart in at.get("plotly_chart") if chart.proto.id.endswith(key)]
    return json.loads(chart.proto.spec)


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _image_count(at: AppTest) -> int:
    return sum(len(image.value) for image in at.image)


def test_scatter_of_every_test_digit_and_an_empty_panel(app_env: Path) -> None:
    entry = _entry(app_env, "vae")
    at = _page(entry)
    assert not at.exception
    assert at.title[0].value == "Latent Explorer"
    assert "10,000 test digits" in at.caption[0].value
    assert not any("principal components" in info.value for info in at.info)  # 2-D: no PCA
    assert any("Click a digit" in info.value for info in at.info)
    (centre,) = at.image  # the plane's centre, decoded: what a click will show
    model = checkpoints.load_model(entry.path)
    expected = latent.decode_points(model, np.zeros((1, 2), np.float32))[0]  # 2-D: z = 0
    assert centre.value == [png_data_url(expected, 4, COMPRESS_LEVEL)]
    assert centre.captions == ["the plane's centre (0, 0), decoded"]
    figure = _figure(at)
    plane, *classes = figure["data"]
    assert [trace["type"] for trace in figure["data"]] == ["scattergl"] * 11
    assert [trace["name"] for trace in classes] == [str(d) for d in range(10)]
    assert "customdata" not in plane and all("customdata" in trace for trace in classes)
    assert figure["layout"]["xaxis"]["title"]["text"] == "z₁"
    assert not figure["layout"].get("images")
    assert any(e.label == "How clicking works" for e in at.expander)


def test_picking_a_digit_shows_it_with_its_reconstruction_loss_and_neighbours(
    app_env: Path,
) -> None:
    entry = _entry(app_env, "vae")
    at = _page(entry)
    figure_before = _figure(at)
    at.number_input(key="latent_row").set_value(7).run()
    assert not at.exception
    test = load_split("mnist", "test")
    text = _markdown(at)
    assert f"**Test digit #7** · class **{int(test.labels[7])}**" in text
    assert _image_count(at) == 2 + 1 + 8  # original, reconstruction, samples, 8 neighbours
    assert at.image[0].captions == ["original", "reconstruction"]
    shown = float(re.search(r"Reconstruction loss \(BCE\): \*\*([\d.]+)\*\*", text).group(1))
    model = checkpoints.load_model(entry.path)
    expected = reconstruction.per_image_loss(model, test.images[7:8], "bce")[0]
    assert shown == pytest.approx(float(expected), abs=0.051)
    assert any("Updated in" in caption.value for caption in at.caption)
    assert _figure(at) == figure_before  # the big figure does not change with the choice

    at.number_input(key="latent_row").set_value(8).run()
    assert f"**Test digit #8** · class **{int(test.labels[8])}**" in _markdown(at)
    assert "#7" not in _markdown(at)


def test_a_4d_model_is_shown_as_a_projection(app_env: Path) -> None:
    at = _page(_entry(app_env, "vae", latent_dim=4))
    assert not at.exception
    note = next(info.value for info in at.info if "principal components" in info.value)
    assert "4-dimensional" in note and "% of the codes' variance" in note
    assert _figure(at)["layout"]["xaxis"]["title"]["text"].startswith("PC 1 (")
    at.number_input(key="latent_row").set_value(3).run()
    assert "Nearest test digits in all 4 dimensions" in _markdown(at)
    assert "CB NLL" in _markdown(at)


def test_background_of_decoded_digits_follows_its_controls(app_env: Path) -> None:
    at = _page(_entry(app_env, "ae"))
    assert at.slider(key="latent_background_size").disabled
    at.checkbox(key="latent_background").check().run()
    assert not at.exception
    (image,) = _figure(at)["layout"]["images"]
    assert image["source"].startswith("data:image/png;base64,") and image["layer"] == "below"
    at.slider(key="latent_background_size").set_value(10).run()
    (smaller,) = _figure(at)["layout"]["images"]
    assert smaller["source"] != image["source"]
    at.checkbox(key="latent_background").uncheck().run()
    assert not _figure(at)["layout"].get("images")


def test_a_chosen_digit_stays_chosen_under_another_model(app_env: Path) -> None:
    at = _page(_entry(app_env, "vae"))
    at.number_input(key="latent_row").set_value(11).run()
    at.selectbox(key="model_key").set_value(_entry(app_env, "ae").key).run()
    assert not at.exception
    assert "**Test digit #11**" in _markdown(at)
    assert at.caption[0].value.startswith("Where AE ")


def test_a_vae_digit_shows_its_posterior_ellipses_and_decoded_samples(app_env: Path) -> None:
    entry = _entry(app_env, "vae")
    at = _page(entry)
    at.number_input(key="latent_row").set_value(7).run()
    assert not at.exception
    assert "**Posterior q(z|x)**" in _markdown(at) and "KL to the prior" in _markdown(at)
    (picture,) = [image for image in at.image if "q(z|x)" in (image.captions or [""])[0]]
    assert len(at.get("plotly_chart")) == 1  # the panel is one picture, not a second chart
    header, encoded = picture.value[0].split(",", 1)
    assert header == "data:image/svg+xml;base64"
    model = checkpoints.load_model(entry.path)
    encodings = latent.encode_images(model, load_split("mnist", "test").images[7:8])
    mu, logvar = encodings.mu[0], encodings.logvar[0]
    samples = posterior.sample_posterior(mu, logvar, 8, seed=0)
    decoded = latent.decode_points(model, samples)
    projection = latent.fit_projection(
        latent.encode_images(model, load_split("mnist", "test").images).mu
    )
    expected = posterior_picture.posterior_svg(mu, logvar, projection, samples, decoded)
    assert base64.b64decode(encoded).decode("utf-8") == expected  # this digit's posterior
    assert "samples 1–8" in picture.captions[0]
    assert _image_count(at) == 2 + 1 + 8  # digit and reconstruction, the posterior, neighbours


def test_an_ae_digit_has_no_posterior_panel(app_env: Path) -> None:
    at = _page(_entry(app_env, "ae"))
    at.number_input(key="latent_row").set_value(7).run()
    assert not at.exception
    assert "Posterior" not in _markdown(at)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize(("kind", "name", "mode"), [
    ("vae", "300 posteriors (1σ)", "lines"), ("ae", "codes (AE: no posterior)", "markers"),
])  # fmt: skip
def test_the_posterior_toggle_overlays_300_test_posteriors(
    app_env: Path, kind: str, name: str, mode: str
) -> None:
    at = _page(_entry(app_env, kind))
    plain = _figure(at)
    at.checkbox(key="latent_posteriors").check().run()
    assert not at.exception
    figure = _figure(at)
    assert figure["data"][:-1] == plain["data"]
    cloud = figure["data"][-1]
    assert (cloud["name"], cloud["mode"], cloud["hoverinfo"]) == (name, mode, "skip")
    x = from_typed_array(cloud["x"])
    assert len(x) == (300 * 34 if mode == "lines" else 300)
    at.number_input(key="latent_row").set_value(5).run()  # a click keeps the same figure
    assert _figure(at) == figure
    at.checkbox(key="latent_posteriors").uncheck().run()
    assert _figure(at) == plain


def test_the_latent_codes_download_as_csv_named_after_the_model(
    app_env: Path, downloads: dict
) -> None:
    entry = _entry(app_env, "vae", latent_dim=4)
    at = _page(entry)
    assert not at.exception
    name = f"{entry.config.slug()}_latent_codes.csv"
    (button,) = at.get("download_button")
    assert (button.label, button.help) == ("Download the latent codes (CSV)", f"Saves `{name}`.")
    assert downloads[name].mime == "text/csv"
    header, *rows = csv.reader(io.StringIO(downloads[name].make()))
    assert header == ["index", "label", "z1", "z2", "z3", "z4"]
    assert [int(row[0]) for row in rows] == list(range(10_000))
    assert [int(row[1]) for row in rows] == load_split("mnist", "test").labels.tolist()
    codes = np.array([[float(value) for value in row[2:]] for row in rows])
    np.testing.assert_allclose(codes, cache.encodings_for(entry).mu, rtol=1e-6, atol=1e-7)
