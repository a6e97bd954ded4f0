"""AppTest for the Home page: the story, the diagram, links, and the no-model empty state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from jlml_core.nn.models import build_model
from jlml_core.store import model_cache
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import FitResult, Progress

ROOT = Path(__file__).resolve().parents[2]
TRAIN_LABEL = "Train the default model"


def _home(model_key: str | None = None) -> AppTest:
    """Run the app's Home page, with the model `model_key` chosen in the sidebar."""
    cache.refresh_entries()  # the listing is cached across runs in this process
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if model_key is not None:
        at.session_state["model_key"] = model_key  # the sidebar's model picker
    return at.run()


def _key(cache_dir: Path, kind: str) -> str:
    return next(e.key for e in CheckpointStore(cache_dir).entries() if e.config.kind == kind)


def _diagram_text(at: AppTest) -> str:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    figure = json.loads(charts[0].proto.spec)
    return " ".join(a["text"] for a in figure["layout"]["annotations"])


@pytest.fixture
def empty_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No zoo, an empty user cache."""
    for name, env in (("cache", model_cache.CACHE_ENV), ("zoo", model_cache.ZOO_ENV)):
        (tmp_path / name).mkdir()
        monkeypatch.setenv(env, str(tmp_path / name))
    monkeypatch.chdir(ROOT)
    return tmp_path / "cache"


def test_with_models_shows_story_diagram_glance_and_links(app_env: Path) -> None:
    at = _home()
    assert not at.exception
    assert at.title[0].value == "JL-ML Autoencoder Lab"
    assert any("bottleneck" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.label == TRAIN_LABEL]
    assert [s.value for s in at.subheader][:1] == ["At a glance"]
    assert any("Reconstruction" in m.label for m in at.metric)
    links = {link.proto.label: link.proto.page for link in at.get("page_link")}
    titles = ("Reconstructions", "Latent Explorer", "Your digit", "Generation", "Loss Comparison")
    for title in (*titles, "Train"):
        assert title in links


def test_diagram_follows_the_selected_model(app_env: Path) -> None:
    at = _home(_key(app_env, "ae"))
    text = _diagram_text(at)
    assert "μ" not in text and "64" in text  # an AE with the tiny dense hidden layer
    assert any("AE · dense" in m.value for m in at.markdown)
    assert any("plain autoencoder with a 2-D code" in c.value for c in at.caption)
    assert "μ" in _diagram_text(_home(_key(app_env, "vae")))


def test_empty_state_offers_the_default_model(empty_env: Path) -> None:
    at = _home()
    assert not at.exception
    assert any("No trained model yet" in i.value for i in at.info)
    assert [b for b in at.button if b.label == TRAIN_LABEL]
    assert "32×14×14" in _diagram_text(at)  # cnn_shallow, drawn before any model exists


def test_train_button_trains_the_default_config_and_shows_it(
    empty_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_get_or_train(config, *, stores=None, on_progress=None):
        calls.append(config)
        on_progress(Progress(1, config.epochs, 5, 10, 300.0, 290.0, 10.0))
        # An untrained model of the right shape stands in for a minute of training.
        CheckpointStore(empty_env).save(config, FitResult(build_model(config).eval()))

    monkeypatch.setattr(model_cache, "get_or_train", fake_get_or_train)
    at = _home()
    next(b for b in at.button if b.label == TRAIN_LABEL).click().run()
    assert not at.exception
    assert [(c.arch, c.kind, c.latent_dim, c.epochs) for c in calls] == [
        ("cnn_shallow", "vae", 2, 5)
    ]
    assert not [b for b in at.button if b.label == TRAIN_LABEL]
    assert any("cnn_shallow" in m.value for m in at.markdown)


def test_demo_mode_offers_no_training(empty_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JLML_DEMO", "1")
    at = _home()
    assert not at.exception
    assert not [b for b in at.button if b.label == TRAIN_LABEL]
    assert "No trained model is available" in at.warning[0].value
    assert "Train" not in {link.proto.label for link in at.get("page_link")}
