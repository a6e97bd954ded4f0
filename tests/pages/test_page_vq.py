"""AppTest of every page with a VQ-VAE selected: none crashes, and the pages that show the
codebook (Reconstructions, Latent Explorer) show it, while Generation says it has no prior."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from jlml_core.config import TrainConfig
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit
from tests.apptest_helpers import open_page, texts

TINY_VQ = TrainConfig(
    kind="vq", latent_dim=4, codebook_size=16, epochs=1, train_subset=2000, seed=1
)
PAGES = [
    "home",
    "lessons",
    "reconstructions",
    "latent_explorer",
    "your_digit",
    "generation",
    "loss_comparison",
    "model_zoo",
    "train",
]


@pytest.fixture(scope="module")
def vq_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint cache holding one tiny VQ-VAE."""
    root = tmp_path_factory.mktemp("vq_cache")
    CheckpointStore(root).save(TINY_VQ, fit(TINY_VQ, record_latents=False))
    return root


@pytest.fixture
def vq_env(vq_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The dashboard over the tiny VQ-VAE and an empty zoo; the model's key."""
    empty_zoo = tmp_path / "empty_zoo"
    empty_zoo.mkdir()
    monkeypatch.setenv("JLML_CACHE_DIR", str(vq_cache))
    monkeypatch.setenv("JLML_ZOO_DIR", str(empty_zoo))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    return TINY_VQ.key()


def _all_text(at: AppTest) -> str:
    return " ".join(
        texts(elements) for elements in (at.markdown, at.info, at.caption, at.warning, at.subheader)
    )


@pytest.mark.parametrize("page", PAGES)
def test_no_page_crashes_with_a_vq_model(vq_env: str, page: str) -> None:
    at = open_page(page, vq_env)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, texts(at.error)


def _chart_titles(at: AppTest) -> str:
    import json

    return " ".join(
        json.dumps(json.loads(chart.proto.spec).get("layout", {}).get("title", ""))
        for chart in at.get("plotly_chart")
    )


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_reconstructions_show_code_maps_and_codebook_usage(vq_env: str) -> None:
    at = open_page("reconstructions", vq_env)
    assert not at.exception
    assert "Codes — " in texts(at.markdown)
    metrics = _metrics(at)
    assert set(metrics) >= {"Perplexity", "Codes used", "Dead codes"}
    used, of_k = metrics["Codes used"].split(" of ")
    assert of_k == "16" and 1 <= int(used) <= 16
    assert int(metrics["Dead codes"]) == 16 - int(used)
    assert 1.0 <= float(metrics["Perplexity"]) <= int(used)
    assert "Codebook usage on the test set" in _chart_titles(at)


def test_latent_explorer_shows_a_digits_code_map(vq_env: str) -> None:
    at = open_page("latent_explorer", vq_env)
    assert not at.exception
    assert "The code: a grid of codebook indices" in texts(at.subheader)
    at.number_input(key="vq_digit").set_value(7).run()
    assert not at.exception
    assert any("#7 · " in caption for image in at.image for caption in image.captions)
    assert "Perplexity" in _metrics(at)


def test_generation_says_a_vq_model_has_no_prior(vq_env: str) -> None:
    at = open_page("generation", vq_env)
    assert not at.exception
    assert "no prior to sample from" in texts(at.info)
    assert not at.get("tab")  # the page stops before its sampling tabs


@pytest.fixture
def train_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Train page over an empty user cache and an empty zoo; the cache folder."""
    folder, zoo = tmp_path / "user_cache", tmp_path / "empty_zoo"
    zoo.mkdir()
    monkeypatch.setenv("JLML_CACHE_DIR", str(folder))
    monkeypatch.setenv("JLML_ZOO_DIR", str(zoo))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    return folder


def _train_page_with_vq() -> AppTest:
    from dashboard import cache

    cache.refresh_entries()
    app = str(Path(__file__).resolve().parents[2] / "app.py")
    at = AppTest.from_file(app, default_timeout=120).switch_page("views/train.py").run()
    at.radio(key="train_kind").set_value("vq").run()
    return at


def test_train_page_trains_a_vq_model(train_env: Path) -> None:
    at = _train_page_with_vq()
    at.number_input(key="train_latent_dim").set_value(4)
    at.number_input(key="train_codebook_size").set_value(8)
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_train_subset").set_value(500).run()
    assert not at.exception and not at.error
    at.button(key="train_start").click().run()
    assert not at.exception
    assert "Trained and saved" in texts(at.success)
    (entry,) = CheckpointStore(train_env).entries()
    assert (entry.config.kind, entry.config.codebook_size, entry.config.latent_dim) == ("vq", 8, 4)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train_codebook_size": 0}, "codebook_size must be between 1"),
        ({"train_commitment_weight": -1.0}, "commitment_weight must be at least 0"),
    ],
)
def test_train_page_names_a_bad_vq_field(train_env: Path, changes: dict, message: str) -> None:
    at = _train_page_with_vq()
    for key, value in changes.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception
    assert message in texts(at.error)


def test_train_page_refuses_a_vq_model_on_another_architecture(train_env: Path) -> None:
    at = _train_page_with_vq()
    at.selectbox(key="train_arch").set_value("dense").run()
    assert "arch: a VQ-VAE needs a grid of codes" in texts(at.error)


def test_home_names_the_vq_model_and_its_layers_in_words(vq_env: str) -> None:
    at = open_page("home", vq_env)
    assert not at.exception
    assert "A VQ-VAE (a 7 × 7 grid of codes, each one of 16 vectors)" in texts(at.caption)
    assert "replaced by the nearest of 16 codebook vectors" in texts(at.info)
