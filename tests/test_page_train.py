"""AppTest for the Train page: validation messages, training into the cache, cancel, demo mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from jlml_core.checkpoints import CACHE_ENV, CheckpointStore
from jlml_core.config import TrainConfig
from tests.apptest_helpers import texts

ROOT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(arch="dense", epochs=1, train_subset=500)


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
    at = _train_page()
    assert not at.exception
    assert at.title[0].value == "Train a model"
    assert [s.value for s in at.subheader][:3] == ["Model", "Loss", "Training"]
    assert "dense" in at.selectbox(key="train_arch").options
    at = _set_tiny_config(at)
    assert "Estimated time: **about 1 s**" in _texts(at.caption)
    assert at.button(key="train_start").label == "Train"


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


def test_trains_a_tiny_model_into_the_cache_and_offers_it(empty_cache: Path) -> None:
    at = _set_tiny_config(_train_page())
    at.button(key="train_start").click().run()
    assert not at.exception
    assert "Trained and saved" in _texts(at.success)
    entries = CheckpointStore(empty_cache).entries()
    assert [e.config for e in entries] == [TINY]
    assert TINY.key() in [e.key for e in cache.list_entries()]  # the listing was refreshed
    at.button(key="open_select").click().run()  # "Select it" picks the model everywhere
    assert at.session_state["model_key"] == TINY.key()
    assert "already trained" in _texts(at.success)  # the same config again: offered, not retrained
    assert not [b for b in at.button if b.key == "train_start" and not b.disabled]
    at.button(key="open_Model Zoo").click().run()  # select and go
    assert at.title[0].value == "Model Zoo"


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
