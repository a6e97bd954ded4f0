"""AppTest for the Loss Comparison page: λ curves, explanation, matched sets, measures, verdict."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache
from jlml_core.analysis import comparison
from jlml_core.analysis import likelihood as lc
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.store import checkpoints
from jlml_core.store.checkpoints import CONFIG_FILE, CheckpointStore
from jlml_core.store.model_cache import CACHE_ENV
from tests.apptest_helpers import texts

ROOT = Path(__file__).resolve().parents[2]


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


NAMED = "tiny named set"
# Recorded sample scores of the copies: the continuous Bernoulli's are worse on purpose.
SAMPLE_SCORES = {"bce": (50.0, 0.9), "cb": (80.0, 0.6), "mse": (45.0, 0.85)}


def _score(folder: Path, fid: float, confidence: float) -> None:
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics |= {"sample_fid": fid, "sample_confidence": confidence, "knn_accuracy": 0.7}
    (folder / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def matched_env(app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny cache plus two matched sets made of relabelled copies of the tiny BCE VAE:
    a named bce/cb/mse set at 3 epochs (standing in for the zoo's) and an unnamed 'cb' twin of
    the tiny VAE itself."""
    folder = tmp_path / "matched"
    shutil.copytree(app_env, folder)
    vae = next(e for e in CheckpointStore(folder).entries() if e.config.kind == "vae"
               and e.config.loss == "bce")  # fmt: skip
    relabelled_copy(vae.path, folder, loss="cb")
    named = [relabelled_copy(vae.path, folder, loss=loss, epochs=3) for loss in SAMPLE_SCORES]
    for config in named:
        _score(CheckpointStore(folder).path_for(config), *SAMPLE_SCORES[config.loss])
    monkeypatch.setattr(comparison, "zoo_matched_configs", lambda: {NAMED: named})
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


def test_lambda_or_the_mean_explained_beside_its_curve(app_env: Path) -> None:
    at = _page()
    assert "λ/(2λ−1) + 1/(2 artanh(1−2λ))" in _texts(at.markdown)
    assert any(t.get("name") == "mean of CB(λ)" for c in _charts(at) for t in c["data"])


def _scores_table(at: AppTest):
    return next(t.value for t in at.table if "pixel MSE" in t.value.columns)


def test_both_matched_sets_with_comparable_tables(matched_env: Path) -> None:
    at = _page()
    assert not at.exception
    group = at.selectbox(key="lc_group")
    assert group.format_func(0) == f"{NAMED} — bce vs cb vs mse"  # named sets come first
    assert group.format_func(1).endswith("— bce vs cb")
    table = _scores_table(at)
    assert list(table["likelihood (shown as)"]) == [
        "BCE", "continuous Bernoulli (λ)", "continuous Bernoulli (mean)", "Gaussian (MSE)"
    ]  # fmt: skip
    assert list(table["sample FID"][:2]) == [50.0, 80.0]  # from metrics.json, λ samples
    assert np.isnan(table["sample FID"][2])  # the mean's samples are scored only on request
    # Pixel error over the whole test set, as the core function measures it.
    entry = next(e for e in CheckpointStore(matched_env).entries() if e.config.epochs == 3)
    model = checkpoints.load_model(entry.path)
    errors = lc.shown_image_errors(model, load_split("mnist", "test").images, ("sigmoid",))
    assert table["pixel MSE"][0] == pytest.approx(errors["sigmoid"].mse)
    assert "test −ELBO" not in table.columns and "IW-NLL" not in table.columns
    iw_nll = next(t.value for t in at.table if "matched set" in t.value.columns)
    assert not at.dataframe  # static tables: no interactive grid to load for a few rows
    assert list(iw_nll["matched set"]) == [NAMED, group.format_func(1).split(" — ")[0]]
    assert {"BCE", "continuous Bernoulli", "Gaussian (MSE)"} <= set(iw_nll.columns)
    assert "Compare down a column only" in _texts(at.caption)

    group.set_value(1).run()
    assert not at.exception
    assert list(_scores_table(at)["likelihood (shown as)"]) == [
        "BCE", "continuous Bernoulli (λ)", "continuous Bernoulli (mean)"
    ]  # fmt: skip


def test_cb_images_as_lambda_and_mean_side_by_side_by_default(matched_env: Path) -> None:
    at = _page()
    assert at.radio(key="lc_output").value == "λ and the mean side by side"
    titles = [c.value for c in at.caption if c.value.startswith("**")]
    assert [t.split("**")[1] for t in titles[:4]] == [
        "BCE", "continuous Bernoulli (λ)", "continuous Bernoulli (mean)", "Gaussian (MSE)"
    ]  # fmt: skip
    both = _image_urls(at)
    assert len(both) == 1 + 2 * 4  # originals, then reconstructions and samples of each
    at.radio(key="lc_output").set_value("the mean only").run()
    mean_only = _image_urls(at)
    assert len(mean_only) == 1 + 2 * 3
    at.radio(key="lc_output").set_value("λ only").run()
    lambda_only = _image_urls(at)
    assert len(lambda_only) == 1 + 2 * 3
    assert set(mean_only) - set(lambda_only)  # the mean's pictures differ from λ's
    assert "continuous Bernoulli (mean)" in _scores_table(at)["likelihood (shown as)"].values


def test_conclusion_follows_the_measured_numbers(matched_env: Path) -> None:
    at = _page()
    assert "What this comparison shows" in [s.value for s in at.subheader]
    text = _texts(at.markdown)
    # Same weights under both labels: equally sharp images; the recorded CB samples are worse.
    assert "λ reconstructions are about as sharp as BCE's" in text
    assert "prior samples are worse than BCE's" in text
    assert "MNIST-FID 80.0 against 50.0" in text and "confidence 0.60 against 0.90" in text
    assert "Loaiza-Ganem & Cunningham (2019)" in text and "do not show it" in text
    assert "kNN accuracy: BCE 70.0%" in text


@pytest.mark.slow  # scores 10,000 samples and 10,000 test digits with the classifier
def test_scoring_the_means_samples_fills_in_their_fid(matched_env: Path) -> None:
    at = _page()
    at.toggle(key="lc_score_mean").set_value(True).run(timeout=600)
    assert not at.exception
    table = _scores_table(at)
    fid, confidence = table["sample FID"][2], table["confidence"][2]
    assert fid > 0 and 0 < confidence <= 1
    assert f"its samples have MNIST-FID {fid:.1f} (λ: 80.0)" in _texts(at.markdown)


def test_matched_models_training_curves(matched_env: Path) -> None:
    at = _page()
    curves = next(c for c in _charts(at) if "train" in {t.get("name") for t in c["data"]})
    assert [a["text"] for a in curves["layout"]["annotations"]] == ["bce", "cb", "mse"]
    assert "python -m jlml_core evaluate --model" in _texts(at.code)  # no IW-NLL recorded


def test_both_tables_download_as_csv(matched_env: Path, downloads: dict) -> None:
    at = _page()
    assert not at.exception
    bce = next(e for e in CheckpointStore(matched_env).entries()
               if e.config.epochs == 3 and e.config.loss == "bce")  # fmt: skip
    scores_name = f"{bce.config.slug()}_likelihood_scores.csv"  # named after the set's first
    buttons = [(button.label, button.help) for button in at.get("download_button")]
    assert buttons == [
        ("Download the table (CSV)", f"Saves `{scores_name}`."),
        ("Download the table (CSV)", "Saves `jlml_iw_nll_by_likelihood.csv`."),
    ]
    header, *rows = csv.reader(io.StringIO(downloads[scores_name].make()))
    table = _scores_table(at)
    assert header == list(table.columns)
    assert [row[0] for row in rows] == list(table["likelihood (shown as)"])
    assert float(rows[0][1]) == pytest.approx(table["pixel MSE"][0])
    header, *rows = csv.reader(io.StringIO(downloads["jlml_iw_nll_by_likelihood.csv"].make()))
    assert header[0] == "matched set" and [row[0] for row in rows][0] == NAMED
