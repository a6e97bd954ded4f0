"""Tests for analysis.comparison: metric rows, matched model sets, radii, time estimates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from jlml_core.analysis import comparison, metrics
from jlml_core.config import TrainConfig
from jlml_core.store.checkpoints import Entry

BASE = TrainConfig(arch="dense", latent_dim=2, epochs=1)


def _entry(config: TrainConfig = BASE, **recorded: float) -> Entry:
    return Entry(Path(config.slug()), config, dict(recorded))


def test_metrics_row_reads_config_and_recorded_metrics() -> None:
    row = comparison.metrics_row(_entry(test_neg_elbo=150.0, test_kl=5.5, knn_accuracy=0.9))
    assert row["key"] == BASE.key()
    assert (row["kind"], row["arch"], row["latent"], row["loss"]) == ("VAE", "dense", 2, "bce")
    assert row["test −ELBO"] == 150.0
    assert row["KL"] == 5.5
    assert row["kNN acc"] == 0.9
    assert row["sample FID"] is None  # not recorded: empty, never made up


def test_metrics_row_column_order_is_config_then_metrics() -> None:
    row = comparison.metrics_row(_entry())
    titles = [column.title for column in comparison.METRIC_COLUMNS]
    assert list(row)[-len(titles) :] == titles
    assert list(row)[:2] == ["model", "key"]


@pytest.mark.parametrize(("loss", "expected"), [("bce", 101.0), ("cb", None), ("mse", None)])
def test_recon_bce_falls_back_to_training_reconstruction_for_bce_only(
    loss: str, expected: float | None
) -> None:
    entry = _entry(BASE.replace(loss=loss), test_reconstruction=101.0)
    assert comparison.metric_value(entry, "test_bce") == expected


def test_recorded_test_bce_wins_over_the_fallback() -> None:
    entry = _entry(BASE.replace(loss="cb"), test_bce=99.0, test_reconstruction=-1000.0)
    assert comparison.metric_value(entry, "test_bce") == 99.0


def test_autoencoder_has_no_kl_or_elbo() -> None:
    entry = _entry(BASE.replace(kind="ae"), test_kl=0.0, test_neg_elbo=1.0, test_iw_nll=2.0)
    assert comparison.metric_value(entry, "test_kl") is None
    assert comparison.metric_value(entry, "test_neg_elbo") is None
    assert comparison.metric_value(entry, "test_iw_nll") is None
    assert comparison.metrics_row(entry)["KL weight"] is None


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "12", [1.0], True, None])
def test_non_numbers_read_as_missing(bad: object) -> None:
    assert comparison.metric_value(_entry(sample_fid=bad), "sample_fid") is None


def test_metrics_table_keeps_entry_order() -> None:
    entries = [_entry(BASE.replace(latent_dim=d)) for d in (3, 1, 2)]
    assert [row["latent"] for row in comparison.metrics_table(entries)] == [3, 1, 2]


def test_missing_evaluation_lists_what_evaluate_would_add() -> None:
    assert comparison.missing_evaluation(_entry()) == list(comparison.EVALUATION_METRICS)
    ae = _entry(BASE.replace(kind="ae"))
    assert "test_iw_nll" not in comparison.missing_evaluation(ae)
    complete = {key: 1.0 for key in comparison.EVALUATION_METRICS}
    assert comparison.missing_evaluation(_entry(**complete)) == []


def test_fashion_models_are_not_asked_for_mnist_sample_scores() -> None:
    # The sample-quality scores come from an MNIST digit classifier.
    fashion = _entry(BASE.replace(dataset="fashion-mnist"))
    missing = comparison.missing_evaluation(fashion)
    assert "sample_fid" not in missing and "sample_confidence" not in missing
    assert "knn_accuracy" in missing


def test_evaluate_command_names_the_key() -> None:
    assert comparison.evaluate_command(_entry()) == (
        f"python -m jlml_core evaluate --model {BASE.key()}"
    )


def test_groups_differing_only_in_loss() -> None:
    cb, mse, bce = (_entry(BASE.replace(loss=loss)) for loss in ("cb", "mse", "bce"))
    other_latent = _entry(BASE.replace(loss="cb", latent_dim=4))
    other_two_fields = _entry(BASE.replace(loss="mse", seed=3))
    groups = comparison.groups_differing_only_in(
        [cb, other_latent, mse, other_two_fields, bce], "loss"
    )
    assert groups == [[bce, cb, mse]]  # ordered by loss; the others have no partner


def test_groups_count_a_duplicated_config_once_and_come_largest_first() -> None:
    sweep = [_entry(BASE.replace(reconstruction_weight=w)) for w in (2.0, 0.5, 1.0)]
    duplicate = Entry(Path("zoo") / BASE.slug(), BASE, {})
    pair = [_entry(BASE.replace(latent_dim=8, reconstruction_weight=w)) for w in (1.0, 4.0)]
    groups = comparison.groups_differing_only_in(
        [*pair, *sweep, duplicate], "reconstruction_weight"
    )
    assert [len(g) for g in groups] == [3, 2]
    assert [e.config.reconstruction_weight for e in groups[0]] == [0.5, 1.0, 2.0]
    assert duplicate not in groups[0]


def test_groups_need_two_values_and_a_real_field() -> None:
    assert comparison.groups_differing_only_in([_entry()], "loss") == []
    assert comparison.groups_differing_only_in([], "loss") == []
    with pytest.raises(ValueError, match="not a config field"):
        comparison.groups_differing_only_in([_entry()], "colour")


def test_shared_description_leaves_out_the_varying_field() -> None:
    config = BASE.replace(train_subset=500, dataset="fashion-mnist")
    text = comparison.shared_description(config, "loss")
    assert "bce" not in text
    assert text.startswith("fashion-mnist · VAE · dense · z=2")
    assert "500 images" in text
    assert "bce" in comparison.shared_description(config, "reconstruction_weight")


def test_posterior_radii_is_rms_sigma_and_averages_to_the_metric() -> None:
    logvar = np.log(np.array([[1.0, 1.0], [0.25, 0.01], [4.0, 0.0]]) + 1e-300)
    radii = comparison.posterior_radii(logvar)
    assert radii.shape == (3,)
    np.testing.assert_allclose(radii[:2], [1.0, math.sqrt((0.25 + 0.01) / 2)])
    assert radii.mean() == pytest.approx(metrics.posterior_radius(logvar))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "about 1 s"), (42.4, "about 42 s"), (150, "about 2 min"), (5400, "about 1.5 h")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert comparison.format_duration(seconds) == text


def test_matched_sets_put_named_sets_first_in_their_own_order() -> None:
    base = BASE.replace(arch="cnn_shallow")
    named_configs = [base.replace(loss=loss) for loss in ("mse", "bce", "cb")]
    other = [BASE.replace(epochs=3, loss=loss) for loss in ("cb", "bce")]
    entries = [_entry(c) for c in [*other, *named_configs]]
    sets = comparison.matched_sets(entries, {"the named one": named_configs})
    assert [s.title for s in sets] == [
        "the named one",
        comparison.shared_description(other[0], "loss"),
    ]
    assert [e.config.loss for e in sets[0].entries] == ["mse", "bce", "cb"]
    assert [e.config.loss for e in sets[1].entries] == ["bce", "cb"]


def test_a_named_set_needs_two_listed_models_that_differ_only_in_loss() -> None:
    bce, cb = BASE, BASE.replace(loss="cb")
    assert comparison.matched_sets([_entry(bce)], {"one listed": [bce, cb]}) == []
    longer_cb = cb.replace(epochs=4)
    entries = [_entry(bce), _entry(longer_cb)]
    assert comparison.matched_sets(entries, {"not matched": [bce, longer_cb]}) == []


def test_zoo_matched_configs_name_zoo_models() -> None:
    from jlml_core.store.zoo import ZOO

    configs = comparison.zoo_matched_configs()
    assert list(configs) == list(comparison.MATCHED_SETS)
    for title, names in comparison.MATCHED_SETS.items():
        assert configs[title] == [ZOO[name] for name in names if name in ZOO]
