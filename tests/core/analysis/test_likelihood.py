"""Tests for analysis.likelihood: shown-image errors, comparable rows, the verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jlml_core.analysis import likelihood as lc
from jlml_core.config import TrainConfig
from jlml_core.inference import latent
from jlml_core.nn.models import build_model
from jlml_core.store.checkpoints import Entry

CONFIG = TrainConfig(arch="dense", latent_dim=2, hidden_dim=32, loss="cb", seed=3)


def _images(n: int = 40) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), generator=generator, dtype=torch.uint8)
    images[:, :, :10] = 0  # some pure black, like MNIST's background
    return images


def _edges(images: np.ndarray) -> float:
    images = images.astype(np.float64)
    return float((np.diff(images, axis=2) ** 2).sum() + (np.diff(images, axis=1) ** 2).sum())


def test_shown_image_errors_match_a_numpy_reference_for_lambda_and_the_mean() -> None:
    torch.manual_seed(0)
    model = build_model(CONFIG).eval()
    images = _images()
    errors = lc.shown_image_errors(model, images, ("sigmoid", "cb_mean"), batch_size=16)
    target = images.numpy().astype(np.float64) / 255
    for output in ("sigmoid", "cb_mean"):
        mu = latent.encode_images(model, images).mu  # metrics decode in fp32, as here
        shown = latent.decode_points(model, mu, output, precision="fp32").astype(np.float64)
        assert errors[output].mse == pytest.approx(((shown - target) ** 2).mean(), rel=1e-5)
        assert errors[output].mae == pytest.approx(np.abs(shown - target).mean(), rel=1e-5)
        assert errors[output].sharpness == pytest.approx(_edges(shown) / _edges(target), rel=1e-5)
    # The mean lies between λ and 1/2: a greyer, smoother picture than λ.
    assert errors["cb_mean"].sharpness < errors["sigmoid"].sharpness


def test_edge_energy_is_zero_for_flat_images_and_counts_both_directions() -> None:
    assert float(lc.edge_energy(torch.full((2, 5, 5), 0.3))) == 0.0
    stripe = torch.zeros(1, 3, 3)
    stripe[0, 1, 1] = 1.0  # one bright pixel: 4 neighbours differ by 1
    assert float(lc.edge_energy(stripe)) == pytest.approx(4.0)


def _scores(loss: str, output: str = "sigmoid", **numbers: float) -> lc.ShownScores:
    fields = dict(pixel_mse=0.05, pixel_mae=0.1, sharpness=0.2, knn_accuracy=0.9,
                  sample_fid=100.0, sample_confidence=0.8) | numbers  # fmt: skip
    return lc.ShownScores(name=loss, loss=loss, output=output, **fields)


def test_verdict_when_the_continuous_bernoulli_is_sharper_and_its_samples_better() -> None:
    text = "\n".join(
        lc.conclusion(
            [
                _scores("bce", sharpness=0.20, sample_fid=100.0, sample_confidence=0.80),
                _scores("cb", sharpness=0.30, sample_fid=60.0, sample_confidence=0.90),
                _scores("cb", "cb_mean", sharpness=0.12, pixel_mse=0.06),
            ]
        )
    )
    assert "λ reconstructions are sharper than BCE's" in text
    assert "edge energy is 0.30 of the test digits' against 0.20" in text
    assert "prior samples are better than BCE's" in text
    assert "MNIST-FID 60.0 against 100.0" in text
    assert "Loaiza-Ganem & Cunningham (2019)" in text
    assert "This lab's models agree: the continuous Bernoulli's λ gives images sharper" in text


def test_verdict_when_the_continuous_bernoulli_is_not_sharper() -> None:
    text = "\n".join(
        lc.conclusion(
            [
                _scores("bce", sharpness=0.20, pixel_mse=0.040, sample_fid=900.0),
                _scores(
                    "cb", sharpness=0.15, pixel_mse=0.065, sample_fid=1700.0, sample_confidence=0.39
                ),  # fmt: skip
                _scores("mse", pixel_mse=0.041),
            ]
        )
    )
    assert "λ reconstructions are blurrier than BCE's" in text
    assert "further from the test digits (pixel MSE 0.0650 against 0.0400" in text
    assert "prior samples are worse than BCE's" in text
    assert "do not show it" in text and "agree" not in text
    assert "Gaussian (MSE) 0.0410" in text  # every likelihood's λ numbers, side by side


def test_verdict_is_mixed_and_says_about_the_same_within_three_percent() -> None:
    paragraphs = lc.conclusion(
        [
            _scores("bce", sharpness=0.200),
            _scores("cb", sharpness=0.205, sample_fid=50.0, sample_confidence=0.95),
        ]  # fmt: skip
    )
    text = "\n".join(paragraphs)
    assert "about as sharp as BCE's" in text
    assert "agree only in part" in text


def test_lambda_against_the_mean_says_which_is_closer_to_the_data() -> None:
    closer_mean = lc.conclusion(
        [_scores("cb", pixel_mse=0.065), _scores("cb", "cb_mean", pixel_mse=0.058)]
    )
    assert any("the mean, though greyer, is the closer picture" in p for p in closer_mean)
    closer_lambda = lc.conclusion(
        [_scores("cb", pixel_mse=0.040), _scores("cb", "cb_mean", pixel_mse=0.058)]
    )
    assert any("λ is both sharper and closer" in p for p in closer_lambda)


def test_missing_numbers_leave_their_sentences_out() -> None:
    rows = [_scores("bce", sample_fid=None), _scores("cb", sample_fid=None)]  # type: ignore[arg-type]
    text = "\n".join(lc.conclusion(rows))
    assert "Samples." not in text and "Sharpness." in text
    assert lc.conclusion([]) == []


def _entry(loss: str, **metrics: float) -> Entry:
    config = CONFIG.replace(loss=loss)
    return Entry(Path(config.slug()), config, dict(metrics))


def test_shown_scores_give_a_cb_model_two_rows_and_read_lambda_scores_from_metrics() -> None:
    errors = {
        "sigmoid": lc.PixelErrors(0.06, 0.12, 0.2),
        "cb_mean": lc.PixelErrors(0.05, 0.13, 0.1),
    }
    entry = _entry("cb", knn_accuracy=0.4, sample_fid=1757.8, sample_confidence=0.39)
    rows = lc.shown_scores(entry, errors, {"cb_mean": (1830.6, 0.33)})
    assert [r.title for r in rows] == ["continuous Bernoulli (λ)", "continuous Bernoulli (mean)"]
    assert (rows[0].pixel_mse, rows[0].sample_fid) == (0.06, 1757.8)
    assert (rows[1].pixel_mse, rows[1].sample_fid, rows[1].sample_confidence) == (
        0.05,
        1830.6,
        0.33,
    )
    assert rows[0].knn_accuracy == rows[1].knn_accuracy == 0.4
    table = lc.scores_table(rows)
    assert list(table[0]) == ["likelihood (shown as)", "pixel MSE", "pixel MAE", "sharpness",
                              "kNN acc", "sample FID", "confidence"]  # fmt: skip
    bce = lc.shown_scores(_entry("bce"), {"sigmoid": errors["sigmoid"]})
    assert [r.title for r in bce] == ["BCE"] and bce[0].sample_fid is None  # never made up


def test_iw_nll_table_has_one_column_per_likelihood() -> None:
    sets = {
        "z = 2": [_entry("bce", test_iw_nll=146.0), _entry("cb", test_iw_nll=-4100.0)],
        "z = 16": [_entry("bce", test_iw_nll=98.0), _entry("mse")],
    }
    table = lc.iw_nll_by_likelihood(sets)
    assert table[0] == {"matched set": "z = 2", "BCE": 146.0, "continuous Bernoulli": -4100.0,
                        "Gaussian (MSE)": None}  # fmt: skip
    assert table[1]["BCE"] == 98.0 and table[1]["Gaussian (MSE)"] is None


def test_shown_pairs_draw_bce_and_mse_as_lambda_and_cb_as_chosen() -> None:
    entries = [Entry(Path(loss), TrainConfig(loss=loss), {}) for loss in ("bce", "cb", "mse")]
    bce, cb, mse = entries
    assert lc.shown_pairs(entries, ("cb_mean",)) == [
        (bce, "sigmoid"), (cb, "cb_mean"), (mse, "sigmoid"),
    ]  # fmt: skip
    both = lc.shown_pairs(entries, ("sigmoid", "cb_mean"))
    assert [(e.config.loss, o) for e, o in both] == [
        ("bce", "sigmoid"), ("cb", "sigmoid"), ("cb", "cb_mean"), ("mse", "sigmoid"),
    ]  # fmt: skip
