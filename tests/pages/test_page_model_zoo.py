"""AppTest for the Model Zoo page: the metrics table, latent scatters, distributions, images."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard import cache
from dashboard.zoo_compare import VIEW_TAB, VIEWS
from dashboard.zoo_replay import REPLAY_OPEN, REPLAY_TAB
from jlml_core.store import checkpoints, model_cache
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.store.model_cache import CACHE_ENV
from tests.apptest_helpers import texts
from tests.pages.test_page_loss_comparison import relabelled_copy

ROOT = Path(__file__).resolve().parents[2]


def _zoo() -> AppTest:
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    return at.switch_page("views/model_zoo.py").run()


def _chart_types(at: AppTest) -> list[str]:
    """The trace type of each plotly chart on the page (first trace)."""
    return [json.loads(c.proto.spec)["data"][0]["type"] for c in at.get("plotly_chart")]


_texts = texts


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.fixture
def sweep_env(app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny cache plus copies of the tiny BCE VAE at reconstruction weights 0.5 and 2."""
    folder = tmp_path / "sweep"
    shutil.copytree(app_env, folder)
    vae = next(e for e in CheckpointStore(folder).entries() if e.config.kind == "vae"
               and e.config.loss == "bce")  # fmt: skip
    for weight in (2.0, 0.5):
        relabelled_copy(vae.path, folder, reconstruction_weight=weight)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def test_table_has_a_row_per_model_with_recorded_metrics(app_env: Path) -> None:
    at = _zoo()
    assert not at.exception
    assert at.title[0].value == "Model Zoo"
    table = at.dataframe[0].value
    entries = CheckpointStore(app_env).entries()
    assert sorted(table["key"]) == sorted(e.key for e in entries)
    for column in ("kind", "arch", "latent", "loss", "test −ELBO", "KL", "kNN acc", "IW-NLL"):
        assert column in table.columns
    by_key = table.set_index("key")
    for entry in entries:  # numbers come from metrics.json, never made up
        expected = entry.metrics.get("test_neg_elbo") if entry.config.kind == "vae" else None
        shown = by_key.loc[entry.key, "test −ELBO"]
        assert shown == pytest.approx(expected) if expected is not None else shown != shown
    assert "python -m jlml_core evaluate --model KEY" in _texts(at.info)


def _open_view(at: AppTest, label: str) -> AppTest:
    at.session_state[VIEW_TAB] = label
    return at.run()


def test_scatters_follow_the_multiselect(app_env: Path) -> None:
    at = _zoo()
    assert len(at.multiselect(key="zoo_models").value) == 2
    assert _chart_types(at).count("scattergl") == 2
    # The other views are lazy tabs: their charts and pictures are made once a tab opens.
    assert _chart_types(at).count("box") == 0 and not at.get("image")
    at.multiselect(key="zoo_models").set_value([e.key for e in cache.list_entries()]).run()
    assert not at.exception
    assert _chart_types(at).count("scattergl") == 3
    _open_view(at, VIEWS[1])
    assert not at.exception
    assert _chart_types(at).count("box") == 3 and _chart_types(at).count("scattergl") == 0
    _open_view(at, VIEWS[2])
    images = [url for image in at.get("image") for url in image.value]
    assert len(images) == 6  # reconstructions and samples of each model
    assert len(at.multiselect(key="zoo_models").value) == 3  # the choice outlived the tabs
    at.multiselect(key="zoo_models").set_value([]).run()
    assert "Choose at least one model" in _texts(at.info)


def test_posterior_radius_per_class_and_none_for_an_autoencoder(app_env: Path) -> None:
    at = _zoo()
    keys = [e.key for e in cache.list_entries()]
    at.multiselect(key="zoo_models").set_value(keys).run()
    _open_view(at, VIEWS[1])
    at.radio(key="zoo_quantity").set_value("posterior radius (RMS σ)").run()
    assert not at.exception
    assert _chart_types(at).count("box") == 2  # the two VAEs
    assert "an AE has a single code per image" in _texts(at.caption)
    boxes = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    boxes = [b for b in boxes if b["data"][0]["type"] == "box"]
    assert len(boxes[0]["data"]) == 10  # one box per digit


def test_reconstruction_weight_sweep_in_weight_order(sweep_env: Path) -> None:
    at = _zoo()
    assert at.radio(key="zoo_mode").value == "Pick models"  # two scatters on a first open
    at.radio(key="zoo_mode").set_value("Reconstruction-weight sweep").run()
    titles = [
        json.loads(c.proto.spec)["layout"]["title"]["text"]
        for c in at.get("plotly_chart")
        if json.loads(c.proto.spec)["data"][0]["type"] == "scattergl"
    ]
    assert titles == [f"reconstruction weight {w}" for w in ("0.5", "1", "2")]


def test_empty_state_points_to_the_zoo_command(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(model_cache.CACHE_ENV, str(tmp_path / "nothing"))
    at = _zoo()
    assert not at.exception
    assert "python -m jlml_core zoo" in _texts(at.info)
    assert not at.dataframe


def test_replay_steps_through_the_recorded_codes_with_their_losses(app_env: Path) -> None:
    vae = next(e for e in CheckpointStore(app_env).entries() if e.config.kind == "vae"
               and e.config.latent_dim == 2)  # fmt: skip
    history = checkpoints.read_latent_history(vae.path)
    at = _zoo()
    assert not at.exception
    assert "Watch the latent space form" in [h.value for h in at.header]
    assert not at.select_slider  # the section runs once asked
    at.toggle(key=REPLAY_OPEN).set_value(True).run()
    at.selectbox(key="zoo_replay_model").set_value(vae.key).run()
    slider = at.select_slider(key="zoo_replay_step")
    assert slider.value == len(history) - 1  # opens on the trained model
    shown = {m.label: m.value for m in at.metric}
    assert shown["moment"] == "epoch 2"
    assert shown["test loss"] == f"{float(history.test_loss[-1]):.4g}"

    slider.set_value(0).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert (shown["moment"], shown["optimiser steps"]) == ("epoch 0", "0")
    assert shown["train loss"] == "–"  # nothing trained yet
    assert shown["test loss"] == f"{float(history.test_loss[0]):.4g}"
    titles = [spec["layout"].get("title", {}).get("text", "") for spec in _specs(at)]
    assert any(t.startswith("epoch 0 · train loss – · test loss") for t in titles)

    at.select_slider(key="zoo_replay_step").set_value(3).run()
    shown = {m.label: m.value for m in at.metric}
    assert (shown["moment"], shown["optimiser steps"]) == ("epoch 0.25", f"{history.steps[3]:,}")
    # The "Play" tab is lazy: its animation is built only once a visitor opens the tab.
    assert not [spec for spec in _specs(at) if spec.get("frames")]
    at.session_state[REPLAY_TAB] = "Play"
    at.run()
    assert not at.exception
    assert not at.metric  # the closed "Step through" tab did not run
    animation = next(spec for spec in _specs(at) if spec.get("frames"))
    assert len(animation["frames"]) == len(history)
    assert len(animation["frames"][0]["data"]) == 10  # one trace per digit class


def test_the_table_downloads_as_csv_and_the_replay_as_a_gif(app_env: Path, downloads: dict) -> None:
    vae = next(e for e in CheckpointStore(app_env).entries() if e.config.kind == "vae"
               and e.config.latent_dim == 2)  # fmt: skip
    at = _zoo()
    at.toggle(key=REPLAY_OPEN).set_value(True).run()
    at.selectbox(key="zoo_replay_model").set_value(vae.key).run()
    at.session_state[REPLAY_TAB] = "Play"  # the GIF is offered beside the animation
    at.run()
    assert not at.exception
    gif_name = f"{vae.config.slug()}_latent_replay.gif"
    buttons = {button.label: button.help for button in at.get("download_button")}
    assert buttons == {
        "Download the table (CSV)": "Saves `jlml_model_zoo_metrics.csv`.",
        "Download the replay (GIF)": f"Saves `{gif_name}`.",
    }
    shown = at.dataframe[0].value
    header, *rows = csv.reader(io.StringIO(downloads["jlml_model_zoo_metrics.csv"].make()))
    assert header == list(shown.columns)
    assert [row[header.index("key")] for row in rows] == list(shown["key"])
    elbo = header.index("test −ELBO")  # an AE has none: an empty cell, NaN in the table
    read = [float(row[elbo] or "nan") for row in rows]
    assert read == pytest.approx(list(shown["test −ELBO"]), nan_ok=True)

    assert downloads[gif_name].mime == "image/gif"
    gif = Image.open(io.BytesIO(downloads[gif_name].make()))
    assert gif.n_frames == len(checkpoints.read_latent_history(vae.path))


def test_the_default_comparison_pairs_the_model_with_one_of_its_dataset(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jlml_core.store.model_cache import ZOO_ENV
    from jlml_core.store.zoo import DEFAULT_MODEL, zoo_keys

    monkeypatch.setenv(ZOO_ENV, str(ROOT / "checkpoints"))  # the shipped zoo, Fashion-MNIST too
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["model_key"] = zoo_keys()[DEFAULT_MODEL]
    at = at.run().switch_page("views/model_zoo.py").run()
    assert not at.exception
    chosen = at.multiselect(key="zoo_models").value
    by_key = {e.key: e for e in cache.list_entries()}
    assert chosen[0] == zoo_keys()[DEFAULT_MODEL]
    assert [by_key[k].config.dataset for k in chosen] == ["mnist", "mnist"]
