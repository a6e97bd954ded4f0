"""Watching the latent space form: codes of a fixed set of test digits recorded during training.

`fit` takes a `LatentSnapshot` at the start, at a few points inside the first epoch (where the
plane changes most) and after every epoch. A snapshot encodes the recorded digits in eval mode
without gradients and without drawing random numbers, so recording never changes the weights
(``tests/core/training/test_latent_history.py`` checks they stay byte-identical). The snapshots
of one run form a `LatentHistory`, stored beside the checkpoint (see `CheckpointStore.save`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from jlml_core.data.datasets import ImageDataset
from jlml_core.nn.models import ModelOutput
from jlml_core.nn.vq import VQVAE

RECORDED_DIGITS = 2000
# Stored as float16 in the checkpoint entry; the recording keeps to about this many bytes.
HISTORY_BYTES_BUDGET = 1_000_000
MIN_RECORDED_DIGITS = 200
# Inside the first epoch, snapshots after these fractions of its steps (0 = the initial weights).
FIRST_EPOCH_FRACTIONS = (0.0, 0.05, 0.1, 0.25, 0.5)


@dataclass(frozen=True)
class LatentSnapshot:
    """The recorded digits' codes at one moment of training.

    Attributes:
        step: optimiser steps done so far.
        epoch: epochs done so far, fractional inside an epoch (0.25 = a quarter of epoch 1).
        mu: posterior means (N, D) float32.
        logvar: posterior log-variances (N, D) for a VAE, None for an AE.
        train_loss: running mean training loss of the current epoch (None before any step).
        test_loss: mean loss per image on the recorded digits, in the units training
            optimises (decoded at the posterior mean).
    """

    step: int
    epoch: float
    mu: np.ndarray
    logvar: np.ndarray | None
    train_loss: float | None
    test_loss: float


@dataclass(frozen=True)
class LatentHistory:
    """All snapshots of one training run, stacked.

    Attributes:
        rows: test-set indices of the recorded digits (N,).
        labels: their classes (N,).
        steps: (T,) optimiser steps at each snapshot.
        epochs: (T,) fractional epochs at each snapshot.
        mu: (T, N, D) posterior means.
        logvar: (T, N, D) log-variances, None for an AE.
        train_loss: (T,) running train loss (NaN where none yet).
        test_loss: (T,) loss on the recorded digits.
    """

    rows: np.ndarray
    labels: np.ndarray
    steps: np.ndarray
    epochs: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray | None
    train_loss: np.ndarray
    test_loss: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_snapshots(
        cls, rows: np.ndarray, labels: np.ndarray, snapshots: list[LatentSnapshot]
    ) -> LatentHistory:
        """Stack the snapshots of one run."""
        variational = bool(snapshots) and snapshots[0].logvar is not None
        return cls(
            rows=np.asarray(rows, dtype=np.int64),
            labels=np.asarray(labels, dtype=np.int64),
            steps=np.array([s.step for s in snapshots], dtype=np.int64),
            epochs=np.array([s.epoch for s in snapshots], dtype=np.float32),
            mu=np.stack([s.mu for s in snapshots]).astype(np.float32),
            logvar=np.stack([s.logvar for s in snapshots]).astype(np.float32)
            if variational
            else None,
            train_loss=np.array(
                [np.nan if s.train_loss is None else s.train_loss for s in snapshots],
                dtype=np.float32,
            ),
            test_loss=np.array([s.test_loss for s in snapshots], dtype=np.float32),
        )


def recorded_digit_count(latent_dim: int, epochs: int, variational: bool, test_size: int) -> int:
    """How many test digits to record: 2,000, fewer where wide codes or long runs would push
    the float16 recording past ~1 MB."""
    snapshots = len(FIRST_EPOCH_FRACTIONS) + epochs
    bytes_per_digit = snapshots * latent_dim * (2 if variational else 1) * 2
    fitting = HISTORY_BYTES_BUDGET // max(bytes_per_digit, 1)
    return int(min(test_size, RECORDED_DIGITS, max(MIN_RECORDED_DIGITS, fitting)))


def first_epoch_snapshot_steps(steps_per_epoch: int) -> list[int]:
    """Steps inside the first epoch after which to take a snapshot (0: before training)."""
    steps = {round(f * steps_per_epoch) for f in FIRST_EPOCH_FRACTIONS}
    return sorted(s for s in steps if s < steps_per_epoch)


@torch.no_grad()
def take_snapshot(
    model: torch.nn.Module,
    digits: ImageDataset,
    loss_of: Callable[..., torch.Tensor],
    *,
    step: int,
    epoch: float,
    train_loss: float | None,
    batch_size: int = 1000,
) -> LatentSnapshot:
    """Encode `digits` with the model as it is now, leaving its mode and weights untouched.

    Args:
        model: the model being trained (any mode); put back in the mode it was in.
        digits: the recorded test digits (`test.subset(recorded_digit_count(...))`); a
            conditional model encodes and decodes each with its label.
        loss_of: (model output at the mean, x) -> per-batch mean loss tensor, in training units.
        step: optimiser steps done.
        epoch: fractional epochs done.
        train_loss: the running training loss to store beside the codes.
        batch_size: images per forward pass (memory only).
    """
    from jlml_core.data.batches import (  # local: train imports this module
        prepare_batch,
        uses_channels_last,
    )

    was_training = model.training
    model.eval()  # batch norm, if any, uses (and does not update) its running statistics
    device = next(model.parameters()).device
    channels_last = uses_channels_last(model)
    mus, logvars, loss_sum = [], [], 0.0
    try:
        for start in range(0, len(digits), batch_size):
            x = prepare_batch(digits.images[start : start + batch_size], device, channels_last)
            if getattr(model, "conditional", False):  # a CVAE encodes each digit with its label
                y = digits.labels[start : start + batch_size].to(device)
                mu, logvar = model.encode(x, y)
                output = ModelOutput(model.decode(mu, y), mu, logvar, mu)
            else:
                mu, logvar = model.encode(x)
                output = ModelOutput(model.decode(mu), mu, logvar, mu)
                if isinstance(model, VQVAE):  # its loss needs the VQ terms only its forward gives
                    output = model(x)
            loss_sum += float(loss_of(output, x)) * len(x)
            mus.append(mu.float().cpu())
            if logvar is not None:
                logvars.append(logvar.float().cpu())
    finally:
        model.train(was_training)
    return LatentSnapshot(
        step=step,
        epoch=epoch,
        mu=torch.cat(mus).numpy(),
        logvar=torch.cat(logvars).numpy() if logvars else None,
        train_loss=train_loss,
        test_loss=loss_sum / max(len(digits), 1),
    )
