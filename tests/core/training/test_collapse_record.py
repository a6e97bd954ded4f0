"""The posterior-collapse numbers `evaluate` records after every epoch (issue #18, family 7)."""

from __future__ import annotations

import math

import pytest

from jlml_core.analysis.latent_dims import collapse_history, measure_model
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.nn.models import build_model
from jlml_core.training.history import EvalResult, epoch_record
from jlml_core.training.objective import evaluate
from jlml_core.training.train import fit

COLLAPSE_KEYS = {"test_kl_per_dim", "test_active_units", "test_mutual_information"}


@pytest.fixture(scope="module")
def trained():
    """A 3-D dense VAE after 2 short epochs on real MNIST, and 500 test digits."""
    config = TrainConfig(
        arch="dense", latent_dim=3, hidden_dim=64, epochs=2, train_subset=3000, seed=1
    )
    test = load_split("mnist", "test").subset(500)
    return config, test, fit(config, test=test, record_latents=False)


def test_every_epoch_records_the_collapse_numbers(trained) -> None:
    config, test, result = trained
    assert len(result.history) == 2
    for record in result.history:
        assert set(record) >= COLLAPSE_KEYS
        # The dimensions' KLs add up to the KL the record already had.
        assert sum(record["test_kl_per_dim"]) == pytest.approx(record["test_kl"], rel=1e-4)
        assert len(record["test_kl_per_dim"]) == 3
        assert 0 <= record["test_active_units"] <= 3
        # A code can tell 500 images apart at most: 0 <= I(x; z) <= log 500 (+ MC error).
        assert -0.1 < record["test_mutual_information"] < math.log(500) + 0.1
    assert set(result.metrics) >= COLLAPSE_KEYS
    # A trained 3-D VAE on digits uses its code: every dimension on.
    assert result.metrics["test_active_units"] == 3
    # E_x KL(q(z|x) || p) = I(x; z) + KL(q(z) || p) >= I(x; z) (Hoffman & Johnson 2016).
    for record in result.history:
        assert record["test_mutual_information"] <= record["test_kl"] + 0.1


def test_the_record_agrees_with_the_analysis_of_the_same_model(trained) -> None:
    config, test, result = trained
    measured = measure_model(result.model, test.images)
    final = result.history[-1]
    assert measured.kl_per_dim.tolist() == pytest.approx(final["test_kl_per_dim"], rel=1e-4)
    assert measured.active_units == final["test_active_units"]
    # Different posterior samples, same estimator: Monte Carlo error only.
    assert measured.mutual_information == pytest.approx(final["test_mutual_information"], abs=0.15)


def test_an_autoencoder_records_none_of_them() -> None:
    config = TrainConfig(kind="ae", arch="dense", latent_dim=2, hidden_dim=32)
    result = evaluate(build_model(config), load_split("mnist", "test").subset(100), config)
    assert (result.kl_per_dim, result.active_units, result.mutual_information) == (None,) * 3
    record = epoch_record(1, {"train_loss": 1.0}, result, 1.0, 1.0)
    assert not COLLAPSE_KEYS & set(record)


def test_histories_without_them_read_as_not_recorded(trained) -> None:
    _, _, result = trained
    old = [{k: v for k, v in r.items() if k not in COLLAPSE_KEYS} for r in result.history]
    assert collapse_history(old) is None
    assert collapse_history([]) is None
    read = collapse_history(result.history)
    assert read.kl_per_dim.shape == (2, 3)
    assert read.epochs.tolist() == [1.0, 2.0]
    assert read.active_units.tolist() == [r["test_active_units"] for r in result.history]


def test_eval_result_keeps_its_positional_fields() -> None:
    # Older callers build and unpack the first four fields by position.
    result = EvalResult(1.0, 2.0, None, 3.0)
    reconstruction, kl, neg_elbo, loss, *_ = result
    assert (reconstruction, kl, neg_elbo, loss) == (1.0, 2.0, None, 3.0)
    assert result.kl_per_dim is None
