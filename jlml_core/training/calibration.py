"""How long will training take here? Measure a few real steps, then extrapolate.

A constant speed is wrong by a factor of several between machines (and between an idle and a
busy one), so `measure_throughput` runs the configured model through `fit` itself for two
tiny epochs on the first real training images: the first epoch warms up (oneDNN picks and
caches its kernels on the first steps), the second is timed, both its optimiser steps and its
test evaluation; then one latent snapshot is timed. Whatever `fit` does per step — batch
slicing and conversion, precision, device — is measured rather than modelled.
`estimate_training_seconds` scales the rates to the full run, and `remaining_seconds`
rescales the estimate by the speed actually seen so far.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from jlml_core.config import TrainConfig
from jlml_core.data.batches import uses_channels_last
from jlml_core.data.datasets import ImageDataset, load_split
from jlml_core.nn.models import Autoencoder
from jlml_core.training import latent_history
from jlml_core.training.objective import compute_loss
from jlml_core.training.train import fit

# Enough steps to average out a slow one, few enough for a second or two on a 2-core CPU.
CALIBRATION_STEPS = 8
# One evaluation batch of `evaluate`'s default size, so its per-call cost is the real one.
CALIBRATION_TEST_IMAGES = 1000


@dataclass(frozen=True)
class Throughput:
    """Measured speeds of one configuration on this machine.

    Attributes:
        train_images_per_second: images through forward, backward and the optimiser step.
        eval_images_per_second: images through `evaluate` (test loss after every epoch).
        snapshot_images_per_second: recorded digits encoded per second by a latent snapshot.
        arch: the architecture measured, for captions.
        train_size: images in the dataset's training split.
        test_size: images in its test split (all evaluated after every epoch).
    """

    train_images_per_second: float
    eval_images_per_second: float
    snapshot_images_per_second: float
    arch: str
    train_size: int
    test_size: int


def measure_throughput(
    config: TrainConfig,
    *,
    steps: int = CALIBRATION_STEPS,
    test_images: int = CALIBRATION_TEST_IMAGES,
    train: ImageDataset | None = None,
    test: ImageDataset | None = None,
) -> Throughput:
    """Time `steps` real optimiser steps and one test evaluation of `config`'s model.

    Runs `fit` on the first `steps` batches of real training images for two epochs; only the
    second (warm) epoch is timed. Nothing is saved and no latent history is recorded.

    Args:
        config: the configuration to measure; its epochs, subset and seed do not matter.
        steps: timed optimiser steps (as many again warm up).
        test_images: test images evaluated per epoch during the measurement.
        train: training images; loaded from `config.dataset` when None.
        test: test images; loaded from `config.dataset` when None.

    Returns:
        The measured rates and the split sizes of the dataset.
    """
    if steps < 1 or test_images < 1:
        raise ValueError("Calibration needs at least one step and one test image.")
    train = train if train is not None else load_split(config.dataset, "train")
    test = test if test is not None else load_split(config.dataset, "test")
    # Whole batches only: a short last batch would run faster than the rest.
    images = min(steps * config.batch_size, len(train))
    probe = config.replace(epochs=2, train_subset=images, schedule="constant", seed=0)
    result = fit(probe, train, test.subset(test_images), record_latents=False)
    # The evaluations above ran the same batch shapes, so the snapshot below is warm too.
    warm = result.history[-1]
    train_seconds = images / warm["images_per_second"]
    eval_seconds = max(warm["seconds"] - train_seconds, 1e-9)
    digits = test.subset(test_images)
    snapshot_seconds = _time_snapshot(result.model, digits, config)
    return Throughput(
        train_images_per_second=warm["images_per_second"],
        eval_images_per_second=len(digits) / eval_seconds,
        snapshot_images_per_second=len(digits) / snapshot_seconds,
        arch=config.arch,
        train_size=len(train),
        test_size=len(test),
    )


def _time_snapshot(model: Autoencoder, digits: ImageDataset, config: TrainConfig) -> float:
    """Seconds one latent snapshot of `digits` takes, with the model laid out as in training."""
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    started = time.perf_counter()
    latent_history.take_snapshot(
        model,
        digits,
        lambda output, x: compute_loss(output, x, config).total,
        step=0,
        epoch=0.0,
        train_loss=None,
    )
    return max(time.perf_counter() - started, 1e-9)


def _steps_per_epoch(config: TrainConfig, speed: Throughput) -> int:
    return math.ceil(
        min(config.train_subset or speed.train_size, speed.train_size) / config.batch_size
    )


def _epoch_parts(config: TrainConfig, speed: Throughput) -> tuple[float, float, float]:
    """(training, evaluation, one latent snapshot) seconds of an epoch of `config` at `speed`."""
    images = min(config.train_subset or speed.train_size, speed.train_size)
    digits = latent_history.recorded_digit_count(
        config.latent_dim, config.epochs, config.is_variational, speed.test_size
    )
    return (
        images / speed.train_images_per_second,
        speed.test_size / speed.eval_images_per_second,
        digits / speed.snapshot_images_per_second,
    )


def estimate_training_seconds(
    config: TrainConfig, speed: Throughput, *, evaluate_every_epoch: bool = True
) -> float:
    """Seconds `fit(config, evaluate_every_epoch=...)` should take at the measured speed.

    Each epoch trains on the (subset of the) training split and evaluates the whole test
    split (only the last one does with `evaluate_every_epoch` False); the latent history adds
    a snapshot at the start, a few in the first epoch and one after every epoch. Batches are
    sliced from tensors in memory, so their loading is part of the measured step time.
    """
    steps = _steps_per_epoch(config, speed)
    return estimated_seconds_done(
        config,
        speed,
        config.epochs,
        steps,
        steps,
        epoch_done=True,
        evaluate_every_epoch=evaluate_every_epoch,
    )


def estimated_seconds_done(
    config: TrainConfig,
    speed: Throughput,
    epoch: int,
    step: int,
    steps_per_epoch: int,
    *,
    epoch_done: bool,
    evaluate_every_epoch: bool = True,
) -> float:
    """The part of `estimate_training_seconds` done once a run reached `step` of `epoch`.

    Args:
        config: the run's configuration.
        speed: the measured throughput.
        epoch: 1-based epoch of the latest progress report.
        step: steps done in that epoch.
        steps_per_epoch: optimiser steps per epoch.
        epoch_done: whether that epoch's evaluation and snapshot are done too.
        evaluate_every_epoch: False: only the last epoch is evaluated.
    """
    training, evaluation, snapshot = _epoch_parts(config, speed)
    first_epoch = latent_history.first_epoch_snapshot_steps(steps_per_epoch)
    snapshots = sum(s <= step for s in first_epoch) if epoch == 1 else len(first_epoch)
    evaluated = evaluation if evaluate_every_epoch else 0.0  # after each earlier epoch
    done = (epoch - 1) * (training + evaluated + snapshot)
    done += training * step / steps_per_epoch + snapshots * snapshot
    if epoch_done:
        done += snapshot + (evaluation if evaluate_every_epoch or epoch == config.epochs else 0)
    return done


def remaining_seconds(estimated_total: float, estimated_done: float, elapsed: float) -> float:
    """Time left, from the estimate rescaled by the speed seen so far.

    Args:
        estimated_total: `estimate_training_seconds` of the run.
        estimated_done: `estimated_seconds_done` at the latest report.
        elapsed: wall-clock seconds since the run started.

    Returns:
        The estimated seconds still to go; the plain estimate's remainder before any work.
    """
    left = max(estimated_total - estimated_done, 0.0)
    if estimated_done <= 0 or not math.isfinite(elapsed) or elapsed <= 0:
        return left
    return left * elapsed / estimated_done


def format_clock(seconds: float) -> str:
    """Elapsed time as a clock: "0:07", "12:30", "1:02:03"."""
    minutes, secs = divmod(max(int(seconds), 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
