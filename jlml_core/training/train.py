"""Training as plain functions: `train_one_epoch` and `fit` (the loss and `evaluate` are in
`training.objective`).

Batches are sliced from uint8 tensors held in memory and converted per batch, so there is no
per-image Python on the hot path. Conv models run in the channels_last layout, which makes
oneDNN's (transposed) convolutions markedly faster on CPU. On CPUs with bf16 instructions
the forward pass runs under bf16 autocast (`config.precision`, `runtime.precision`); weights,
optimiser state, the loss and `evaluate` stay fp32.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from jlml_core.config import WARMUP_SHARE, TrainConfig
from jlml_core.data.batches import prepare_batch, uses_channels_last
from jlml_core.data.corruption import corrupt
from jlml_core.data.datasets import ImageDataset, load_split
from jlml_core.nn.models import Autoencoder, build_model
from jlml_core.runtime import memory, precision
from jlml_core.runtime.device import pick_device
from jlml_core.training import latent_history
from jlml_core.training.history import record_epochs
from jlml_core.training.latent_history import LatentHistory, LatentSnapshot
from jlml_core.training.objective import compute_loss, evaluate, to_fp32


@dataclass(frozen=True)
class Progress:
    """One report to a progress callback.

    Attributes:
        epoch: 1-based epoch number.
        epochs: total epochs.
        step: 1-based step within the epoch.
        steps_per_epoch: optimiser steps per epoch.
        loss: running mean of the total training loss this epoch.
        reconstruction: running mean of the reconstruction term.
        kl: running mean of the KL term (0 for an AE).
        epoch_done: True on the report after an epoch and its evaluation.
        history: per-epoch records so far (see `fit`).
        snapshot: the recorded digits' codes, on the reports that come with a new snapshot.
    """

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    reconstruction: float
    kl: float
    epoch_done: bool = False
    history: tuple[dict[str, float], ...] = ()
    snapshot: LatentSnapshot | None = None

    @property
    def fraction(self) -> float:
        """Share of all training steps done, 0..1 — ready for a progress bar."""
        done = (self.epoch - 1) * self.steps_per_epoch + self.step
        return done / (self.epochs * self.steps_per_epoch)


ProgressCallback = Callable[[Progress], "bool | None"]


class TrainingCancelled(RuntimeError):
    """Raised by `fit` when the progress callback returned False."""


@dataclass
class FitResult:
    """A trained model and how it got there."""

    model: Autoencoder
    history: list[dict[str, float]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    latent_history: LatentHistory | None = None


def train_one_epoch(
    model: Autoencoder,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    epoch: int = 1,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    on_progress: ProgressCallback | None = None,
    report_every: int = 20,
    snapshot_steps: frozenset[int] = frozenset(),
    on_snapshot: Callable[[int, list[float]], None] | None = None,
    shard: tuple[int, int] = (0, 1),
    noise_generator: torch.Generator | None = None,
    labels: torch.Tensor | None = None,
) -> dict[str, float]:
    """One shuffled pass over `images` (N, H, W) uint8 (and, for a conditional model, their
    `labels` (N,)); returns mean loss terms.

    `on_snapshot(step, running_means)` is called after each step in `snapshot_steps` (it must
    leave the weights and the random stream alone; `latent_history.take_snapshot` does).

    For data-parallel training (`distributed`), `shard=(rank, world_size)` makes this process
    take every world_size-th image of each batch of the shared shuffle, and `noise_generator`
    (default: `generator`) gives each process its own VAE sampling noise.

    Raises:
        TrainingCancelled: if `on_progress` returned False.
    """
    if config.conditional and labels is None:
        raise ValueError("A conditional model trains on labelled images: pass labels=.")
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    compute = precision.resolve_precision(config.precision, device)
    memory.keep_freed_memory()  # no page faults on each step's activations
    model.train()
    order = torch.randperm(len(images), generator=generator)
    steps = math.ceil(len(images) / config.batch_size)
    sums = torch.zeros(3, dtype=torch.float64)
    seen = 0
    for step in range(1, steps + 1):
        index = order[(step - 1) * config.batch_size : step * config.batch_size]
        index = index[shard[0] :: shard[1]]
        x = prepare_batch(images[index], device, channels_last)
        noise = noise_generator if noise_generator is not None else generator
        # Denoising: the model sees a corrupted input and is scored against the clean x.
        seen_input = corrupt(x, config.noise_std, config.mask_fraction, noise)
        sampler = noise if device.type == "cpu" else None
        y = labels[index].to(device) if config.conditional else None  # a CVAE's classes
        with precision.autocast(compute, device):
            output = model(seen_input, sampler) if y is None else model(seen_input, sampler, y)
        epochs_done = epoch - 1 + (step - 1) / steps
        terms = compute_loss(to_fp32(output), x, config, epochs_done=epochs_done)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        batch = len(index)
        sums += torch.stack([t.detach().double().cpu() for t in terms]) * batch
        seen += batch
        if on_snapshot is not None and step in snapshot_steps:
            on_snapshot(step, (sums / seen).tolist())
        if on_progress is not None and (step % report_every == 0 or step == steps):
            means = (sums / seen).tolist()
            keep_going = on_progress(Progress(epoch, config.epochs, step, steps, *means))
            if keep_going is False:
                raise TrainingCancelled(f"Training cancelled in epoch {epoch}, step {step}.")
    total, reconstruction, kl = (sums / seen).tolist()
    return {"train_loss": total, "train_reconstruction": reconstruction, "train_kl": kl}


def make_optimizer(model: Autoencoder, config: TrainConfig) -> torch.optim.Adam:
    """Adam at the config's learning rate; the fused kernel on the bf16 path.

    Why only there: fused Adam more than halves the dense model's optimiser step
    (docs/benchmarks.md, "bf16 on machine C"), but it rounds differently, and the fp32 path
    must keep reproducing the shipped weights bit-for-bit.
    """
    device = next(model.parameters()).device
    fused = precision.resolve_precision(config.precision, device) == "bf16"
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=fused or None)


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Cosine decay over all steps (after a linear warm-up for "warmup_cosine"), or None for a
    constant learning rate."""
    if config.schedule == "constant":
        return None
    total = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    warmup = max(1, round(WARMUP_SHARE * total))

    def factor(step: int) -> float:  # of the configured rate, before step `step` (0-based)
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def fit(
    config: TrainConfig,
    train: ImageDataset | None = None,
    test: ImageDataset | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    device: torch.device | None = None,
    record_latents: bool = True,
    evaluate_every_epoch: bool = True,
) -> FitResult:
    """Train a model from scratch as `config` says.

    Args:
        config: what to train.
        train: training images; loaded from `config.dataset` when None.
        test: images evaluated after every epoch; loaded from `config.dataset` when None.
        on_progress: called every few steps and after every epoch; return False to cancel.
            Reports that come with a new latent snapshot carry it in `Progress.snapshot`.
        device: where to train; `pick_device()` when None.
        record_latents: record the codes of a fixed set of test digits at the start, a few
            times in the first epoch and after every epoch (`latent_history`); the weights
            come out the same either way.
        evaluate_every_epoch: False evaluates after the last epoch only (`Recipe`); the
            weights come out the same either way.

    Returns:
        The model (on the CPU, eval mode), per-epoch history, final test metrics and the
        latent history (None when not recorded).

    Raises:
        TrainingCancelled: if `on_progress` returned False.
    """
    train = train if train is not None else load_split(config.dataset, "train")
    test = test if test is not None else load_split(config.dataset, "test")
    train = train.subset(config.train_subset)
    device = device or pick_device()
    model = build_model(config, train.image_shape).to(device)
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    snapshots: list[LatentSnapshot] = []
    recorded = None
    if record_latents:
        count = latent_history.recorded_digit_count(
            model.latent_dim, config.epochs, config.is_variational, len(test)
        )
        recorded = test.subset(count)

    def snapshot(epoch: int, step: int, train_loss: float | None) -> LatentSnapshot | None:
        if recorded is None:
            return None
        taken = latent_history.take_snapshot(
            model,
            recorded,
            lambda output, x: compute_loss(output, x, config).total,
            step=(epoch - 1) * steps_per_epoch + step,
            epoch=epoch - 1 + step / steps_per_epoch,
            train_loss=train_loss,
        )
        snapshots.append(taken)
        return taken

    def snapshot_in_epoch(step: int, means: list[float]) -> None:
        taken = snapshot(1, step, means[0] if step else None)
        if on_progress is not None and taken is not None:
            report = Progress(1, config.epochs, step, steps_per_epoch, *means, snapshot=taken)
            if on_progress(report) is False:
                raise TrainingCancelled(f"Training cancelled in epoch 1, step {step}.")

    first_steps = latent_history.first_epoch_snapshot_steps(steps_per_epoch)
    if recorded is not None and 0 in first_steps:
        snapshot_in_epoch(0, [float("nan")] * 3)

    def train_epoch(epoch: int) -> dict[str, float]:
        return train_one_epoch(
            model,
            optimizer,
            train.images,
            config,
            generator,
            epoch=epoch,
            scheduler=scheduler,
            on_progress=on_progress,
            snapshot_steps=frozenset(first_steps) - {0} if epoch == 1 else frozenset(),
            on_snapshot=snapshot_in_epoch if recorded is not None else None,
            labels=train.labels,
        )

    def after_epoch(epoch: int, history: list[dict[str, float]]) -> None:
        last = history[-1]
        taken = snapshot(epoch, steps_per_epoch, last["train_loss"])
        if on_progress is not None:
            report = Progress(
                epoch,
                config.epochs,
                steps_per_epoch,
                steps_per_epoch,
                last["train_loss"],
                last["train_reconstruction"],
                last["train_kl"],
                True,
                tuple(history),
                taken,
            )
            if on_progress(report) is False:
                raise TrainingCancelled(f"Training cancelled after epoch {epoch}.")

    evaluate_epoch = functools.partial(evaluate, model, test, config)
    history, metrics = record_epochs(
        config.epochs,
        train_epoch,
        evaluate_epoch,
        len(train),
        after_epoch,
        evaluate_every_epoch=evaluate_every_epoch,
    )
    model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    # What "auto" became on this machine, so a cached model says whether it was bf16-trained.
    metrics["precision"] = precision.resolve_precision(config.precision, device)
    latents = None
    if recorded is not None:
        latents = LatentHistory.from_snapshots(
            np.arange(len(recorded)), recorded.labels.numpy(), snapshots
        )
    return FitResult(model, history, metrics, metrics["train_seconds"], latents)
