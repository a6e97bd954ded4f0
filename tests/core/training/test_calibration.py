"""Training-time calibration and estimate: real (tiny) measurements, no wall-clock asserts."""

from __future__ import annotations

import math

import pytest

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.training import calibration, latent_history
from jlml_core.training.calibration import Throughput

TINY = TrainConfig(arch="dense", hidden_dim=16, epochs=1, train_subset=1000, batch_size=64)
SPEED = Throughput(
    train_images_per_second=1000.0, eval_images_per_second=4000.0,
    snapshot_images_per_second=8000.0, arch="dense",
    train_size=60_000, test_size=10_000,
)  # fmt: skip


def test_measure_throughput_returns_positive_finite_rates_of_this_model() -> None:
    train, test = load_split("mnist", "train"), load_split("mnist", "test")
    speed = calibration.measure_throughput(TINY, steps=3, test_images=200, train=train, test=test)
    assert speed.arch == "dense"
    assert (speed.train_size, speed.test_size) == (len(train), len(test))
    rates = (speed.train_images_per_second, speed.eval_images_per_second,
             speed.snapshot_images_per_second)  # fmt: skip
    for rate in rates:
        assert math.isfinite(rate) and rate > 0


def test_measure_throughput_refuses_an_empty_measurement() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        calibration.measure_throughput(TINY, steps=0)


def test_estimate_adds_training_evaluation_and_snapshots() -> None:
    config = TrainConfig(epochs=3, train_subset=6000)  # 47 steps of 128
    digits = latent_history.recorded_digit_count(2, 3, True, 10_000)
    snapshots = len(latent_history.first_epoch_snapshot_steps(47)) + 3
    expected = 3 * (6000 / 1000 + 10_000 / 4000) + snapshots * digits / 8000
    assert calibration.estimate_training_seconds(config, SPEED) == pytest.approx(expected)
    # Evaluating after the last epoch only: two evaluations fewer.
    once = calibration.estimate_training_seconds(config, SPEED, evaluate_every_epoch=False)
    assert once == pytest.approx(expected - 2 * 10_000 / 4000)


def test_estimate_scales_linearly_with_epochs_and_subset_size() -> None:
    slow = Throughput(
        50.0, 1e12, 1e12, "cnn_deep", 60_000, 10_000
    )  # evaluation free: training only
    one = calibration.estimate_training_seconds(TrainConfig(epochs=1, train_subset=3000), slow)
    four = calibration.estimate_training_seconds(TrainConfig(epochs=4, train_subset=3000), slow)
    double = calibration.estimate_training_seconds(TrainConfig(epochs=1, train_subset=6000), slow)
    assert four == pytest.approx(4 * one)
    assert double == pytest.approx(2 * one)
    full = calibration.estimate_training_seconds(TrainConfig(epochs=1), slow)
    assert full == pytest.approx(60_000 / 50.0, rel=1e-9)
    # A subset larger than the split trains on the split.
    assert (
        calibration.estimate_training_seconds(TrainConfig(epochs=1, train_subset=10**6), slow)
        == full
    )


def test_seconds_done_runs_from_zero_to_the_estimate_in_order() -> None:
    config = TrainConfig(epochs=2, train_subset=2560)  # 20 steps per epoch
    total = calibration.estimate_training_seconds(config, SPEED)
    marks = [(1, 0, False), (1, 1, False), (1, 10, False), (1, 20, False), (1, 20, True),
             (2, 10, False), (2, 20, True)]  # fmt: skip
    done = [
        calibration.estimated_seconds_done(config, SPEED, e, s, 20, epoch_done=d)
        for e, s, d in marks
    ]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert done[-1] == pytest.approx(total)
    assert 0 < done[0] < done[1]  # the snapshot before training is work already


@pytest.mark.parametrize(
    ("done", "elapsed", "left"),
    [(0.0, 3.0, 100.0), (25.0, 25.0, 75.0), (25.0, 50.0, 150.0), (100.0, 80.0, 0.0)],
)
def test_remaining_rescales_the_estimate_by_the_speed_seen(done, elapsed, left) -> None:
    assert calibration.remaining_seconds(100.0, done, elapsed) == pytest.approx(left)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (7.9, "0:07"), (750, "12:30"), (3723, "1:02:03")]
)
def test_format_clock(seconds: float, text: str) -> None:
    assert calibration.format_clock(seconds) == text
