"""What a training run records: the test-set figures after an epoch, one history record per
epoch and the final metrics.

`train.fit` and `distributed.fit_data_parallel` both build their records here, so a
single-process and a data-parallel run write the same keys, in the same order, into
``history.json`` and ``metrics.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple


class EvalResult(NamedTuple):
    """Test-set means per image, in nats (sums over pixels and latent dimensions).

    `neg_elbo` is the negative ELBO under the model's own likelihood (None for an AE). For a
    VAE the posterior-collapse numbers too (None for an AE): `kl_per_dim`, the test-mean KL of
    each latent dimension; `active_units` (Burda et al. 2016); `mutual_information`, the
    aggregate-posterior estimate of I(x; z) in nats (`nn.latent_stats`).
    """

    reconstruction: float
    kl: float
    neg_elbo: float | None
    loss: float
    kl_per_dim: tuple[float, ...] | None = None
    active_units: int | None = None
    mutual_information: float | None = None


def record_epochs(
    epochs: int,
    train: Callable[[int], dict[str, float]],
    evaluate: Callable[[], EvalResult],
    images: int,
    after_epoch: Callable[[int, list[dict[str, float]]], None] | None = None,
    *,
    evaluate_every_epoch: bool = True,
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Train and evaluate `epochs` epochs, recording each; returns the history and the metrics.

    The caller says how to train an epoch (one process, or one rank's share under DDP) and
    how to evaluate; timing and the records' keys are decided here, once for every kind of run.

    Args:
        epochs: how many epochs.
        train: trains the given epoch (1-based) and returns its mean loss terms, as
            `train.train_one_epoch` does.
        evaluate: the test-set figures after an epoch (`objective.evaluate`).
        images: training images per epoch, of all processes together (for the throughput).
        after_epoch: called with the epoch and the history so far once its record is in.
        evaluate_every_epoch: False evaluates after the last epoch only (a quick recipe's few
            seconds); the other epochs' records then have no ``test_*`` figures.

    Returns:
        The history, one `epoch_record` per epoch, and the metrics: the last epoch's
        ``test_*`` figures and ``images_per_second``, and ``train_seconds``, the time of all
        epochs (`after_epoch` included).
    """
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        train_terms = train(epoch)
        train_seconds = time.perf_counter() - epoch_start
        test = evaluate() if evaluate_every_epoch or epoch == epochs else None
        seconds = time.perf_counter() - epoch_start
        history.append(epoch_record(epoch, train_terms, test, images / train_seconds, seconds))
        if after_epoch is not None:
            after_epoch(epoch, history)
    final = history[-1]
    metrics: dict[str, Any] = {k: v for k, v in final.items() if k.startswith("test_")}
    metrics |= {
        "train_seconds": time.perf_counter() - started,
        "images_per_second": final["images_per_second"],
    }
    return history, metrics


def epoch_record(
    epoch: int,
    train_terms: dict[str, float],
    test: EvalResult | None,
    images_per_second: float,
    seconds: float,
) -> dict[str, Any]:
    """One epoch's history record.

    Args:
        epoch: 1-based epoch number.
        train_terms: the epoch's mean training loss terms (``train_loss``,
            ``train_reconstruction``, ``train_kl``).
        test: the test-set figures after the epoch (None: not evaluated).
        images_per_second: training throughput, evaluation left out.
        seconds: time of the whole epoch, evaluation included.

    Returns:
        ``epoch``, the ``train_*`` terms, ``test_loss``, ``test_reconstruction``, ``test_kl``,
        ``images_per_second``, ``seconds`` and, for a VAE, ``test_neg_elbo``, in that order;
        then, when evaluated, ``test_kl_per_dim`` (a list), ``test_active_units`` and
        ``test_mutual_information``. Records written before these existed lack them: readers
        treat a missing key as "not recorded".
    """
    record: dict[str, Any] = {"epoch": epoch, **train_terms}
    if test is None:
        return record | {"images_per_second": images_per_second, "seconds": seconds}
    record |= {
        "test_loss": test.loss,
        "test_reconstruction": test.reconstruction,
        "test_kl": test.kl,
        "images_per_second": images_per_second,
        "seconds": seconds,
    }
    if test.neg_elbo is not None:
        record["test_neg_elbo"] = test.neg_elbo
    if test.kl_per_dim is not None:
        record["test_kl_per_dim"] = list(test.kl_per_dim)
    if test.active_units is not None:
        record["test_active_units"] = test.active_units
    if test.mutual_information is not None:
        record["test_mutual_information"] = test.mutual_information
    return record
