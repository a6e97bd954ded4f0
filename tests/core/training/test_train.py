"""Tests for training.train: the loss as configured, callbacks, determinism, real learning."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import ImageDataset, load_split
from jlml_core.nn.models import ModelOutput, build_model
from jlml_core.training import train as train_module
from jlml_core.training.distributed import fit_data_parallel
from jlml_core.training.objective import compute_loss, evaluate
from jlml_core.training.train import Progress, TrainingCancelled, fit, make_scheduler

KINDS = ["ae", "vae"]
ARCHS = ["dense", "cnn_shallow", "cnn_deep"]
LOSSES = ["bce", "mse", "cb"]
CPU = torch.device("cpu")
ROOT = Path(__file__).resolve().parents[3]


def _fake_output(batch: int = 6, latent_dim: int = 5, variational: bool = True):
    """A ModelOutput and targets built from fixed random numbers: (output, x (B, 1, 28, 28))."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, 1, 28, 28, generator=generator) * 3
    mu = torch.randn(batch, latent_dim, generator=generator)
    logvar = torch.randn(batch, latent_dim, generator=generator) if variational else None
    x = torch.rand(batch, 1, 28, 28, generator=generator)
    return ModelOutput(logits, mu, logvar, mu), x


@pytest.fixture(scope="module")
def mnist() -> tuple[ImageDataset, ImageDataset]:
    """The real MNIST training set and the first 200 test images."""
    return load_split("mnist", "train"), load_split("mnist", "test").subset(200)


# --- compute_loss -------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_mean_reduction_divides_by_pixels_and_latent_dims(loss: str) -> None:
    output, x = _fake_output(latent_dim=5)
    summed = compute_loss(output, x, TrainConfig(loss=loss, loss_reduction="sum"))
    averaged = compute_loss(output, x, TrainConfig(loss=loss, loss_reduction="mean"))
    torch.testing.assert_close(averaged.reconstruction, summed.reconstruction / 784)
    torch.testing.assert_close(averaged.kl, summed.kl / 5)
    assert summed.kl > 0


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("loss", LOSSES)
def test_total_is_the_weighted_sum(loss: str, reduction: str) -> None:
    output, x = _fake_output()
    config = TrainConfig(
        loss=loss, loss_reduction=reduction, reconstruction_weight=2.5, kl_weight=0.3
    )
    terms = compute_loss(output, x, config)
    torch.testing.assert_close(terms.total, 2.5 * terms.reconstruction + 0.3 * terms.kl)


def test_sum_reduction_is_the_per_image_negative_elbo() -> None:
    # References: torch's BCE and the KL between torch.distributions Normals.
    output, x = _fake_output()
    terms = compute_loss(output, x, TrainConfig(loss="bce"))
    batch = len(x)
    expected_reconstruction = (
        F.binary_cross_entropy_with_logits(output.logits, x, reduction="sum") / batch
    )
    posterior = Normal(output.mu, torch.exp(0.5 * output.logvar))
    prior = Normal(torch.zeros_like(output.mu), torch.ones_like(output.mu))
    expected_kl = kl_divergence(posterior, prior).sum() / batch
    torch.testing.assert_close(terms.reconstruction, expected_reconstruction)
    torch.testing.assert_close(terms.kl, expected_kl)
    torch.testing.assert_close(terms.total, expected_reconstruction + expected_kl)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_an_autoencoder_has_no_kl(reduction: str) -> None:
    output, x = _fake_output(variational=False)
    config = TrainConfig(
        kind="ae", kl_weight=5.0, reconstruction_weight=2.0, loss_reduction=reduction
    )
    terms = compute_loss(output, x, config)
    assert terms.kl.item() == 0.0
    torch.testing.assert_close(terms.total, 2.0 * terms.reconstruction)


# --- progress and cancelling ----------------------------------------------------------------

# 400 images in batches of 8: 50 steps per epoch, so reports come at steps 20, 40 and 50.
PROGRESS_CONFIG = TrainConfig(arch="dense", hidden_dim=16, epochs=2, batch_size=8, train_subset=400)


def test_progress_callback_sees_increasing_fractions(mnist) -> None:
    train, test = mnist
    reports: list[Progress] = []
    fit(PROGRESS_CONFIG, train, test.subset(50), on_progress=reports.append, device=CPU)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions)
    step_fractions = [r.fraction for r in reports if not r.epoch_done]
    assert all(a < b for a, b in pairwise(step_fractions))
    assert fractions[-1] == 1.0 and fractions[0] == 0.0  # the snapshot before training
    steps_of = [r.step for r in reports if r.epoch == 1 and not r.epoch_done and not r.snapshot]
    assert steps_of == [20, 40, 50]
    # latent snapshots before training and at 5, 10, 25 and 50 % of the 50 steps of epoch 1
    snapshots = [r.step for r in reports if r.snapshot is not None and not r.epoch_done]
    assert snapshots == [0, 2, 5, 12, 25]
    assert all(r.snapshot is not None for r in reports if r.epoch_done)
    ends = [r for r in reports if r.epoch_done]
    assert [r.epoch for r in ends] == [1, 2]
    assert [len(r.history) for r in ends] == [1, 2]
    assert all(math.isfinite(r.loss) and r.kl >= 0 for r in reports if r.step > 0)
    assert math.isnan(reports[0].loss)  # no training step yet


@pytest.mark.parametrize("stop_at", ["first report", "end of epoch"])
def test_returning_false_cancels(mnist, stop_at: str) -> None:
    train, test = mnist
    calls: list[Progress] = []

    def on_progress(progress: Progress) -> bool:
        calls.append(progress)
        return stop_at == "end of epoch" and not progress.epoch_done

    with pytest.raises(TrainingCancelled):
        fit(PROGRESS_CONFIG, train, test.subset(50), on_progress=on_progress, device=CPU)
    # It stopped at once: no report after the one that returned False.
    assert calls[-1].epoch == 1
    assert calls[-1].epoch_done == (stop_at == "end of epoch")
    # epoch 1's reports: 5 latent snapshots, steps 20, 40 and 50, then the end of the epoch
    assert len(calls) == (1 if stop_at == "first report" else 9)


# --- determinism and learning ---------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_weights_on_cpu(mnist, kind: str, arch: str) -> None:
    train, test = mnist
    config = TrainConfig(kind=kind, arch=arch, epochs=1, batch_size=64, train_subset=128, seed=4)
    first = fit(config, train, test.subset(20), device=CPU)
    second = fit(config, train, test.subset(20), device=CPU)
    other = fit(config.replace(seed=5), train, test.subset(20), device=CPU)
    state, again, different = (r.model.state_dict() for r in (first, second, other))
    for name, tensor in state.items():
        assert torch.equal(tensor, again[name]), name
    assert any(not torch.equal(t, different[n]) for n, t in state.items())
    assert _without_timings(first.history) == _without_timings(second.history)


def test_evaluating_only_at_the_end_trains_the_same_weights(mnist) -> None:
    train, test = mnist
    config = TrainConfig(arch="dense", epochs=3, batch_size=64, train_subset=256, seed=2)
    every = fit(config, train, test.subset(50), device=CPU)
    last = fit(config, train, test.subset(50), device=CPU, evaluate_every_epoch=False)
    for name, tensor in every.model.state_dict().items():
        assert torch.equal(tensor, last.model.state_dict()[name]), name
    # The epochs before the last have no test figures; the last one's and the metrics agree.
    assert [any(k.startswith("test_") for k in r) for r in last.history] == [False, False, True]
    assert _without_timings(last.history)[-1] == _without_timings(every.history)[-1]
    assert last.metrics["test_neg_elbo"] == every.metrics["test_neg_elbo"]
    for record, full in zip(last.history[:-1], every.history[:-1], strict=True):
        assert record["train_loss"] == full["train_loss"]


def _without_timings(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [
        {k: v for k, v in r.items() if k not in {"seconds", "images_per_second"}} for r in history
    ]


@pytest.mark.slow
def test_loss_falls_on_real_mnist(mnist) -> None:
    train, _ = mnist
    test = load_split("mnist", "test").subset(1000)
    config = TrainConfig(kind="vae", arch="dense", epochs=1, train_subset=6000, seed=0)
    untrained = evaluate(build_model(config), test, config)
    result = fit(config, train, test, device=CPU)
    trained = evaluate(result.model, test, config)
    # An untrained decoder outputs ~0.5 everywhere: 784 ln 2 = 543 nats per image.
    assert untrained.neg_elbo == pytest.approx(784 * math.log(2), rel=0.05)
    assert trained.neg_elbo < 0.6 * untrained.neg_elbo
    assert result.metrics["test_neg_elbo"] == pytest.approx(trained.neg_elbo, rel=1e-5)
    assert result.history[-1]["train_loss"] < untrained.loss


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_evaluate_does_not_depend_on_batch_size(mnist, kind: str, arch: str) -> None:
    _, test = mnist
    config = TrainConfig(kind=kind, arch=arch, latent_dim=3)
    model = build_model(config)
    whole = evaluate(model, test, config, batch_size=1000)
    pieces = evaluate(model, test, config, batch_size=7)
    for a, b in zip(whole, pieces, strict=True):
        assert a == b if a is None else a == pytest.approx(b, rel=1e-5)
    assert (whole.neg_elbo is None) == (kind == "ae")


def test_evaluate_reports_the_negative_elbo_of_a_bce_vae(mnist) -> None:
    _, test = mnist
    config = TrainConfig(kind="vae", arch="dense", kl_weight=0.25, loss_reduction="mean")
    result = evaluate(build_model(config), test, config)
    # Terms are sums per image whatever the training reduction; -ELBO ignores the weights.
    # It decodes one z ~ q per image, the reconstruction decodes the mean: close, not equal.
    assert result.neg_elbo == pytest.approx(result.reconstruction + result.kl, rel=0.02)
    assert result.loss == pytest.approx(
        result.reconstruction / 784 + 0.25 * result.kl / 2, rel=1e-5
    )


# --- the history record: one format for fit and the data-parallel fit ------------------------

RECORD_CONFIG = TrainConfig(
    kind="vae", arch="dense", hidden_dim=16, epochs=2, batch_size=50, train_subset=200
)


def data_parallel_history(out: str) -> None:
    """Train RECORD_CONFIG with `fit_data_parallel` as the one rank of a gloo group and write
    its history to `out` as JSON (run in a fresh interpreter by the test, as gloo wants)."""
    folder = Path(out).parent
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=0, world_size=1)
    try:
        result = fit_data_parallel(RECORD_CONFIG, test=load_split("mnist", "test").subset(100))
    finally:
        dist.destroy_process_group()
    Path(out).write_text(json.dumps(result.history))


def test_fit_and_data_parallel_fit_write_the_same_record_keys(mnist, tmp_path: Path) -> None:
    out = tmp_path / "history.json"
    module = "tests.core.training.test_train"
    code = f"from {module} import data_parallel_history; data_parallel_history({str(out)!r})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=600)
    parallel = json.loads(out.read_text())  # keeps the records' key order
    train, test = mnist
    single = fit(RECORD_CONFIG, train, test.subset(100), device=CPU).history
    assert [list(record) for record in single] == [list(record) for record in parallel]
    assert [record["epoch"] for record in parallel] == [1, 2]
    assert {"train_loss", "test_loss", "test_neg_elbo", "images_per_second"} <= parallel[0].keys()


# --- learning-rate schedule -----------------------------------------------------------------


def _learning_rates(config: TrainConfig, steps_per_epoch: int) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=config.learning_rate)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(config.epochs * steps_per_epoch):
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def test_cosine_schedule_decays_to_zero() -> None:
    config = TrainConfig(schedule="cosine", epochs=4, learning_rate=1e-3)
    rates = _learning_rates(config, steps_per_epoch=25)
    assert rates[0] == pytest.approx(1e-3)
    assert rates[50] == pytest.approx(0.5e-3, rel=1e-6)  # halfway
    assert rates[-1] < 1e-9
    assert all(a >= b for a, b in pairwise(rates))


def test_warmup_cosine_rises_linearly_then_decays_to_zero() -> None:
    config = TrainConfig(schedule="warmup_cosine", epochs=4, learning_rate=1e-3)
    rates = _learning_rates(config, steps_per_epoch=50)  # 200 steps: warm-up over the first 10
    assert rates[:10] == pytest.approx([1e-4 * (i + 1) for i in range(10)])
    assert rates[10] == pytest.approx(1e-3)
    assert rates[105] == pytest.approx(0.5e-3, rel=1e-6)  # halfway through the decay
    assert rates[-1] < 1e-7
    assert all(a >= b for a, b in pairwise(rates[10:]))


def test_constant_schedule_keeps_the_rate() -> None:
    assert set(_learning_rates(TrainConfig(epochs=2), steps_per_epoch=5)) == {1e-3}


def test_fit_steps_the_cosine_schedule_to_its_end(mnist, monkeypatch) -> None:
    train, test = mnist
    schedulers = []

    def recording(*args, **kwargs):
        schedulers.append(make_scheduler(*args, **kwargs))
        return schedulers[-1]

    monkeypatch.setattr(train_module, "make_scheduler", recording)
    config = TrainConfig(
        arch="dense", hidden_dim=16, schedule="cosine", epochs=2, batch_size=50, train_subset=300
    )
    fit(config, train, test.subset(20), device=CPU)
    (scheduler,) = schedulers
    assert scheduler.last_epoch == 2 * 6  # one step per batch
    assert scheduler.get_last_lr()[0] < 1e-9
