"""AppTest for the Loss Comparison page: λ curves, explanation, λ vs mean, matched models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from jlml_core.checkpoints import CACHE_ENV, CONFIG_FILE, CheckpointStore
from jlml_core.config import TrainConfig
from tests.apptest_helpers import texts

ROOT = Path(__file__).resolve().parent.parent


def relabelled_copy(entry_folder: Path, cache_dir: Path, **changes: object) -> TrainConfig:
    """Copy a cached model under a config with some fields changed (same weights).

    A cheap stand-in for training a matched model: the pages only read the config to group and
    label models, and the copied weights fit any config with the same architecture.
    """
    store = CheckpointStore(entry_folder.parent)
    config = store.read_entry(entry_folder).config.replace(**changes)
    target = CheckpointStore(cache_dir).path_for(config)
    shutil.copytree(entry_folder, target)
    (target / CONFIG_FILE).write_text(json.dumps(config.to_dict()))
    return config


def _page(path: str = "views/loss_comparison.py") -> AppTest:
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    return at.switch_page(path).run()


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _image_urls(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


_texts = texts


@pytest.fixture
def matched_env(app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny cache plus a 'cb' twin of the tiny BCE VAE: a pair that differs only in loss."""
    folder = tmp_path / "matched"
    shutil.copytree(app_env, folder)
    vae = next(e for e in CheckpointStore(folder).entries() if e.config.kind == "vae"
               and e.config.loss == "bce")  # fmt: skip
    relabelled_copy(vae.path, folder, loss="cb")
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def test_shows_the_lambda_curves_and_why_bce_is_not_a_likelihood(app_env: Path) -> None:
    at = _page()
    assert not at.exception
    assert at.title[0].value == "Loss Comparison"
    curves = next(c for c in _charts(at) if c["layout"].get("annotations"))
    titles = [a["text"] for a in curves["layout"]["annotations"]]
    assert titles[:2] == ["Binary cross-entropy", "Continuous Bernoulli NLL"]
    legend = [t["name"] for t in curves["data"] if t.get("showlegend") is not False]
    assert legend == ["x = 0", "x = 0.2", "x = 0.5", "x = 0.8", "x = 1"]
    text = _texts(at.markdown)
    assert "not a proper likelihood" in text
    assert "does not integrate to 1" in text
    assert "Loaiza-Ganem & Cunningham (2019)" in text
    assert any("log C(λ)" in c["layout"]["title"]["text"] for c in _charts(at)
               if c["layout"].get("title"))  # fmt: skip


def test_pixel_values_drive_the_curves(app_env: Path) -> None:
    at = _page()
    at.multiselect(key="lc_pixels").set_value([0.3]).run()
    names = {t["name"] for c in _charts(at) for t in c["data"] if "name" in t}
    assert "x = 0.3" in names and "x = 0.2" not in names
    at.multiselect(key="lc_pixels").set_value([]).run()
    assert not at.exception
    assert "Choose at least one pixel value" in _texts(at.info)


def test_without_matched_models_suggests_the_zoo(app_env: Path) -> None:
    at = _page()  # the tiny models differ in more than their loss
    assert "python -m jlml_core zoo" in _texts(at.info)
    assert not [s for s in at.selectbox if s.key == "lc_group"]


def test_switching_lambda_and_mean_changes_the_cb_images(app_env: Path) -> None:
    at = _page()
    assert at.selectbox(key="lc_cb_model").value is not None  # the tiny z=4 CB model
    before, brightness_before = _image_urls(at), _texts(at.caption)
    assert len(before) == 2  # its reconstructions and its samples
    at.radio(key="lc_output").set_value("mean of the distribution").run()
    assert not at.exception
    after = _image_urls(at)
    assert len(after) == 2 and set(after).isdisjoint(before)
    assert _texts(at.caption) != brightness_before


def test_matched_models_side_by_side_with_curves_and_metrics(matched_env: Path) -> None:
    at = _page()
    assert not at.exception
    assert "bce vs cb" in at.selectbox(key="lc_group").format_func(0)
    subheaders = [s.value for s in at.subheader]
    assert {"Test images", "loss = bce", "loss = cb", "Training curves", "Metrics"} <= set(
        subheaders
    )
    curves = next(c for c in _charts(at) if "train" in {t.get("name") for t in c["data"]})
    assert [a["text"] for a in curves["layout"]["annotations"]] == ["bce", "cb"]
    table = at.dataframe[0].value
    assert list(table["loss"]) == ["bce", "cb"]
    assert "test −ELBO" in table.columns
    assert "python -m jlml_core evaluate --model" in _texts(at.code)
    # 1 originals + 2 x (reconstructions, samples) here, plus the CB section's 2 images
    assert len(_image_urls(at)) == 7
