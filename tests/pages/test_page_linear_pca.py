"""AppTest for Reconstructions' "Linear AE vs PCA" section: a linear AE against PCA at the same k
(rows, both MSEs, the principal angles); any other model behind a toggle, without angles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from jlml_core.config import TrainConfig
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit
from tests.apptest_helpers import entry_for, open_page

ROOT = Path(__file__).resolve().parents[2]
LINEAR = TrainConfig(
    kind="ae", arch="dense", loss="mse", linear=True, latent_dim=2, epochs=2,
    train_subset=3000, learning_rate=1e-2, seed=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def linear_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding one tiny linear autoencoder."""
    root = tmp_path_factory.mktemp("linear_cache")
    CheckpointStore(root).save(LINEAR, fit(LINEAR))
    return root


@pytest.fixture
def linear_env(linear_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty_zoo = tmp_path / "empty_zoo"
    empty_zoo.mkdir()
    monkeypatch.setenv("JLML_CACHE_DIR", str(linear_cache))
    monkeypatch.setenv("JLML_ZOO_DIR", str(empty_zoo))
    monkeypatch.chdir(ROOT)
    return linear_cache


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def test_a_linear_ae_is_shown_beside_pca_with_its_angles(linear_env: Path) -> None:
    at = open_page("reconstructions", LINEAR.key())
    assert not at.exception
    assert "Linear AE vs PCA" in [h.value for h in at.subheader]
    metrics = _metrics(at)
    ae_mse = float(metrics["Test MSE, linear AE"])
    pca_mse = float(metrics["Test MSE, PCA"])
    # PCA is the optimum of this model's objective: a linear AE can only match or trail it.
    assert 20.0 < pca_mse <= ae_mse
    largest = float(metrics["Largest principal angle"].rstrip("°"))
    assert 0.0 <= largest <= 90.0
    (chart,) = [c for c in at.get("plotly_chart") if "Principal angles" in c.proto.spec]
    assert len(json.loads(chart.proto.spec)["data"][0]["y"]["bdata"]) > 0  # the k bars
    # 10 originals and 10 reconstructions above, then 10 linear AE and 10 PCA in the section.
    squared = [c for c in _captions(at) if re.fullmatch(r"SE \d+\.\d", c)]
    assert len(squared) == 20
    assert any("top 2 principal components" in m.value for m in at.markdown)


def test_another_model_compares_with_pca_only_when_asked(app_env: Path) -> None:
    at = open_page("reconstructions", entry_for(app_env, "ae").key)
    assert not at.exception
    assert "Linear AE vs PCA" in [h.value for h in at.subheader]
    assert not at.metric  # behind the toggle: no PCA fitted yet
    assert any("linear-ae-z2" in c.value for c in at.caption)
    at.toggle(key="recon_pca").set_value(True).run()
    assert not at.exception
    metrics = _metrics(at)
    assert set(metrics) == {"Test MSE, model", "Test MSE, PCA"}
    assert any("Principal angles need" in i.value for i in at.info)
    assert "%" in at.metric[1].proto.delta


@pytest.mark.parametrize("page", ["latent_explorer", "generation", "your_digit", "model_zoo"])
def test_every_page_opens_with_a_linear_ae(linear_env: Path, page: str) -> None:
    at = open_page(page, LINEAR.key())
    assert not at.exception
    assert not at.error
