"""AppTest for the Train page: measured estimate, validation messages, training into the cache
with a live latent scatter and time left, cancel, demo mode."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard import cache
from jlml_core.config import RECIPES
from jlml_core.figures.payload import from_typed_array
from jlml_core.store.checkpoints import CheckpointStore, read_latent_history
from jlml_core.store.model_cache import CACHE_ENV
from tests.apptest_helpers import texts

ROOT = Path(__file__).resolve().parents[2]
# The page starts from the quick recipe; the tests change only these three fields.
TINY = RECIPES["quick"].config(arch="dense", epochs=1, train_subset=500)


def _train_page() -> AppTest:
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    return at.switch_page("views/train.py").run()


def _set_tiny_config(at: AppTest) -> AppTest:
    at.selectbox(key="train_arch").set_value("dense")
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_train_subset").set_value(500)
    return at.run()


@pytest.fixture
def empty_cache(app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Train into a fresh folder, not into the shared tiny cache."""
    folder = tmp_path / "user_cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


_texts = texts


def test_shows_the_config_form_and_an_estimate(empty_cache: Path) -> None:
    cache._measured.clear()  # speeds other tests of this process measured (server-wide)
    at = _train_page()
    assert not at.exception
    assert at.title[0].value == "Train a model"
    assert [s.value for s in at.subheader][:3] == ["Model", "Loss", "Training"]
    assert "dense" in at.selectbox(key="train_arch").options
    # The first open measures nothing (it would cost seconds); the estimate is one click away.
    assert at.selectbox(key="train_recipe").value == "quick"
    assert "Estimated time" not in _texts(at.caption)
    assert "about a minute" in _texts(at.caption)
    at.button(key="train_estimate").click().run()
    caption = _texts(at.caption)
    assert "Estimated time: **about" in caption
    assert "images/s for `cnn_shallow` training" in caption  # the default config, measured
    at = _set_tiny_config(at)
    assert "Estimated time" not in _texts(at.caption)  # another shape: not measured yet
    at.button(key="train_estimate").click().run()
    caption = _texts(at.caption)
    assert "measured here:" in caption and "images/s for `dense` training" in caption
    assert "1 torch thread" in caption  # the dashboard's thread count is part of the measurement
    assert at.button(key="train_start").label == "Train"
    assert not [b for b in at.button if b.key == "train_estimate"]  # measured: no button


def test_the_recipe_fills_its_fields_and_the_quick_one_evaluates_at_the_end(
    empty_cache: Path,
) -> None:
    at = _train_page()
    assert at.toggle(key="train_evaluate_every_epoch").value is False  # the quick recipe's
    at.selectbox(key="train_recipe").set_value("full").run()
    assert not at.exception
    full = RECIPES["full"].config()
    assert f"key `{full.key()}`" in _texts(at.markdown)  # the shipped default's key
    for field in ("epochs", "learning_rate", "hidden_dim"):
        assert at.number_input(key=f"train_{field}").value == getattr(full, field)
    assert at.selectbox(key="train_schedule").value == full.schedule
    assert at.toggle(key="train_evaluate_every_epoch").value is True
    at.selectbox(key="train_recipe").set_value("quick").run()
    assert at.number_input(key="train_epochs").value == RECIPES["quick"].config().epochs
    assert at.toggle(key="train_evaluate_every_epoch").value is False


@pytest.mark.parametrize(
    ("widget", "value", "message"),
    [
        ("train_latent_dim", 0, "latent_dim must be between 1 and 256, not 0"),
        ("train_epochs", -1, "epochs must be between 1 and 10000"),
        ("train_learning_rate", 0.0, "learning_rate must be greater than 0.0"),
    ],
)
def test_a_bad_value_shows_the_config_error_not_a_traceback(
    empty_cache: Path, widget: str, value: float, message: str
) -> None:
    at = _train_page()
    at.number_input(key=widget).set_value(value).run()
    assert not at.exception
    assert message in _texts(at.error)
    assert not [b for b in at.button if b.key == "train_start" and not b.disabled]


def test_trains_a_tiny_model_into_the_cache_and_offers_it(
    empty_cache: Path, downloads: dict
) -> None:
    at = _set_tiny_config(_train_page())
    at.button(key="train_start").click().run()
    assert not at.exception
    assert "Trained and saved" in _texts(at.success)
    assert "(estimated about" in _texts(at.success)
    # The last live pictures stay: the codes after epoch 1 and the loss curves.
    titles = [_chart_title(chart) for chart in at.get("plotly_chart")]
    assert titles[0].startswith("Epoch 1.00 · train loss")
    assert len(_chart_traces(at.get("plotly_chart")[0])) == 10  # one trace per digit class
    entries = CheckpointStore(empty_cache).entries()
    assert [e.config for e in entries] == [TINY]
    # The codes recorded while it trained download as a GIF, one frame per snapshot.
    gif_name = f"{TINY.slug()}_latent_replay.gif"
    (button,) = at.get("download_button")
    assert (button.label, button.help) == ("Download the replay (GIF)", f"Saves `{gif_name}`.")
    gif = Image.open(io.BytesIO(downloads[gif_name].make()))
    assert gif.n_frames == len(read_latent_history(entries[0].path))
    assert TINY.key() in [e.key for e in cache.list_entries()]  # the listing was refreshed
    at.button(key="open_select").click().run()  # "Select it" picks the model everywhere
    assert at.session_state["model_key"] == TINY.key()
    assert "already trained" in _texts(at.success)  # the same config again: offered, not retrained
    assert not [b for b in at.button if b.key == "train_start" and not b.disabled]
    at.button(key="open_Model Zoo").click().run()  # select and go
    assert at.title[0].value == "Model Zoo"


def _chart_spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def _chart_title(chart) -> str:
    title = _chart_spec(chart)["layout"].get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title)


def _chart_traces(chart) -> list[dict]:
    return _chart_spec(chart)["data"]


def _values(array) -> np.ndarray:
    """A trace's coordinates, whether Plotly sent them as a list or as a typed array."""
    return from_typed_array(array) if isinstance(array, dict) else np.asarray(array)


def _live_training_script() -> None:
    """Trains a tiny model under `LiveTraining` and stops it after the snapshot at step 2."""
    import streamlit as st

    from dashboard.live_training import LiveTraining
    from jlml_core.config import TrainConfig  # AppTest runs this source alone
    from jlml_core.data.datasets import load_split
    from jlml_core.training.calibration import measure_throughput
    from jlml_core.training.train import TrainingCancelled, fit

    config = TrainConfig(arch="dense", hidden_dim=16, epochs=1, train_subset=1000)
    test = load_split("mnist", "test")
    live = LiveTraining(config, "tiny", measure_throughput(config, steps=2), test.labels.numpy(),
                        test.class_names)  # fmt: skip

    def report(progress):
        live(progress)
        return progress.step < 2  # 8 steps per epoch: snapshots after steps 0, 1, 2, 4

    try:
        fit(config, on_progress=report)
    except TrainingCancelled:
        st.write("stopped")


def test_live_training_shows_time_left_and_the_scatter_of_the_latest_snapshot(
    app_env: Path,
) -> None:
    at = AppTest.from_function(_live_training_script, default_timeout=120).run()
    assert not at.exception
    assert "stopped" in _texts(at.markdown)
    (bar,) = at.get("progress")
    text = bar.proto.text
    assert text.startswith("Epoch 1 of 1 · step 2 of 8 · running loss")
    # "… left", or "finishing" when the measured speed says under half a second remains
    assert "elapsed · " in text and (text.endswith("left") or text.endswith("finishing"))
    (chart,) = at.get("plotly_chart")  # one placeholder, redrawn for every snapshot
    assert _chart_title(chart).startswith("Epoch 0.25 · train loss")
    traces = _chart_traces(chart)
    assert (
        sum(len(_values(t["x"])) for t in traces) == 2000
    )  # the recorded digits, coloured by class
    layout = _chart_spec(chart)["layout"]
    (x_low, x_high), (y_low, y_high) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    for trace in traces:  # the axes hold every code drawn
        x, y = _values(trace["x"]), _values(trace["y"])
        assert x_low < x.min() and x.max() < x_high and y_low < y.min() and y.max() < y_high


def test_an_interrupted_run_reports_cancelled_and_saves_nothing(empty_cache: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["train_running"] = {"config": TINY.to_dict(), "label": "tiny"}
    at.switch_page("views/train.py").run()
    assert not at.exception
    assert "was cancelled; nothing was saved" in _texts(at.warning)
    assert CheckpointStore(empty_cache).entries() == []
    at.run()  # the message is shown once
    assert not at.warning


def test_demo_mode_hides_training(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JLML_DEMO", "1")
    at = AppTest.from_file(str(ROOT / "views" / "train.py"), default_timeout=60).run()
    assert not at.exception
    assert "switched off in this demo" in _texts(at.info)
    assert not at.number_input
    assert not at.button


def test_family_preset_fills_the_fields_and_the_config_names_an_impossible_one(
    empty_cache: Path,
) -> None:
    at = _train_page()
    at.selectbox(key="train_family").set_value("Linear AE (compare with PCA)").run()
    assert not at.exception
    assert at.radio(key="train_kind").value == "ae"
    assert at.selectbox(key="train_arch").value == "dense"
    assert at.selectbox(key="train_loss").value == "mse"
    assert at.toggle(key="train_linear").value is True
    assert "This configuration cannot be trained" not in _texts(at.error)
    linear = RECIPES["quick"].config(kind="ae", arch="dense", loss="mse", linear=True)
    assert f"key `{linear.key()}`" in _texts(at.markdown)  # the quick recipe, made linear
    # A linear "CNN" cannot be: the config's one-line message names the field.
    at.selectbox(key="train_arch").set_value("cnn_shallow").run()
    assert "linear: a linear autoencoder has no convolutions" in _texts(at.error)
    # Another preset first puts every family field back to its default.
    at.selectbox(key="train_family").set_value("Denoising VAE (σ = 0.5)").run()
    assert at.toggle(key="train_linear").value is False
    assert at.number_input(key="train_noise_std").value == 0.5
    assert at.radio(key="train_kind").value == "vae" and not at.error
