"""Comparing cached models: metric tables, matched sets of models, per-class latent statistics.

Small pure functions over `checkpoints.Entry` objects and numpy arrays, so the Loss Comparison,
Model Zoo and Train pages only lay things out. Every number shown comes from an entry's
metrics.json or from its model; nothing here is hard-coded. (Training-time estimates are
measured on the running machine: see `calibration`.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from jlml_core.config import TrainConfig
from jlml_core.store.checkpoints import Entry

# (column title, how to read it from an entry); the table's column order.
_CONFIG_COLUMNS: tuple[tuple[str, Callable[[TrainConfig], Any]], ...] = (
    ("dataset", lambda c: c.dataset),
    ("kind", lambda c: c.kind.upper()),
    ("arch", lambda c: c.arch),
    ("latent", lambda c: c.latent_dim),
    ("loss", lambda c: c.loss),
    ("recon weight", lambda c: c.reconstruction_weight),
    ("KL weight", lambda c: c.kl_weight if c.is_variational else None),
    ("reduction", lambda c: c.loss_reduction),
    ("epochs", lambda c: c.epochs),
)


class MetricColumn(NamedTuple):
    """A metric column of the comparison table: title, metrics.json key, display format."""

    title: str
    key: str
    format: str  # printf-style, or "percent" for fractions


METRIC_COLUMNS: tuple[MetricColumn, ...] = (
    MetricColumn("test −ELBO", "test_neg_elbo", "%.1f"),
    MetricColumn("recon BCE", "test_bce", "%.1f"),
    MetricColumn("KL", "test_kl", "%.2f"),
    MetricColumn("IW-NLL", "test_iw_nll", "%.1f"),
    MetricColumn("active units", "active_units", "%d"),
    MetricColumn("kNN acc", "knn_accuracy", "percent"),
    MetricColumn("sample FID", "sample_fid", "%.1f"),
    MetricColumn("confidence", "sample_confidence", "percent"),
    MetricColumn("train time (s)", "train_seconds", "%.0f"),
)
"""Every metric the comparison table shows, in column order."""

# Written by `python -m jlml_core evaluate`, not by training.
EVALUATION_METRICS: tuple[str, ...] = (
    "test_iw_nll",
    "active_units",
    "knn_accuracy",
    "sample_fid",
    "sample_confidence",
)
_VARIATIONAL_ONLY = {"test_neg_elbo", "test_iw_nll", "test_kl"}
# Scored by the in-project MNIST digit classifier, so they exist for MNIST models only.
_MNIST_ONLY = {"sample_fid", "sample_confidence"}


def _number(value: Any) -> float | None:
    """A finite real number, or None for anything else (missing, NaN, lists, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def metric_value(entry: Entry, key: str) -> float | None:
    """One metric of an entry as a float, or None when it was not recorded.

    ``test_bce`` falls back to the test reconstruction loss that training records, which is
    the summed BCE for a model trained with the BCE loss.
    """
    if key in _VARIATIONAL_ONLY and not entry.config.is_variational:
        return None  # an AE has no posterior: no KL, no ELBO
    value = _number(entry.metrics.get(key))
    if value is None and key == "test_bce" and entry.config.loss == "bce":
        value = _number(entry.metrics.get("test_reconstruction"))
    return value


def metrics_row(entry: Entry) -> dict[str, Any]:
    """One table row: the model's label and key, its config, then every metric (None if missing)."""
    row: dict[str, Any] = {"model": entry.label, "key": entry.key}
    row |= {title: read(entry.config) for title, read in _CONFIG_COLUMNS}
    row |= {column.title: metric_value(entry, column.key) for column in METRIC_COLUMNS}
    return row


def metrics_table(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Rows of `metrics_row` for every entry, in the given order."""
    return [metrics_row(entry) for entry in entries]


def missing_evaluation(entry: Entry) -> list[str]:
    """Evaluation metrics an entry lacks (those that apply to its kind of model)."""
    wanted = [
        key
        for key in EVALUATION_METRICS
        if (entry.config.is_variational or key not in _VARIATIONAL_ONLY)
        and (entry.config.dataset == "mnist" or key not in _MNIST_ONLY)
        and (entry.config.kind != "vq" or key not in _MNIST_ONLY)  # VQ-VAE: no prior to sample
    ]
    return [key for key in wanted if _number(entry.metrics.get(key)) is None]


def evaluate_command(entry: Entry) -> str:
    """The shell command that fills in an entry's evaluation metrics."""
    return f"python -m jlml_core evaluate --model {entry.key}"


def groups_differing_only_in(entries: Sequence[Entry], field: str) -> list[list[Entry]]:
    """Sets of models whose configs are identical except for `field`.

    A model listed twice (the same config in the zoo and in the user's cache) counts once,
    first listing wins. Each group holds at least two distinct values of `field` and is
    ordered by that value; groups come largest first.

    Args:
        entries: listed models.
        field: a `TrainConfig` field name, e.g. "loss" or "reconstruction_weight".

    Returns:
        The groups, each a list of entries.
    """
    by_rest: dict[str, dict[Any, Entry]] = {}
    for entry in entries:
        fields = entry.config.to_dict()
        if field not in fields:
            raise ValueError(f"{field!r} is not a config field.")
        value = fields.pop(field)
        by_rest.setdefault(json.dumps(fields, sort_keys=True), {}).setdefault(value, entry)
    groups = [
        [members[value] for value in sorted(members)]
        for members in by_rest.values()
        if len(members) >= 2
    ]
    return sorted(groups, key=lambda group: (-len(group), group[0].label))


# The Loss Comparison page's matched sets, by zoo name: each set's models are identical but for
# the likelihood (tests/test_zoo.py checks that), trained with the default model's recipe.
MATCHED_SETS: dict[str, tuple[str, ...]] = {
    "z = 2: the default model's recipe": ("vae-cnn-z2", "vae-cnn-z2-cb", "vae-cnn-z2-mse"),
    "z = 16: the same recipe with a 64-unit layer": (
        "vae-cnn-z16-h64-bce",
        "vae-cnn-z16-h64-cb",
        "vae-cnn-z16-h64-mse",
    ),
}


def _without(config: TrainConfig, field: str) -> str:
    """The config minus one field, as a canonical string to compare configs by."""
    fields = config.to_dict()
    fields.pop(field)
    return json.dumps(fields, sort_keys=True)


class MatchedSet(NamedTuple):
    """Listed models that differ only in their loss, with a title for menus."""

    title: str
    entries: list[Entry]


def zoo_matched_configs() -> dict[str, list[TrainConfig]]:
    """`MATCHED_SETS` as configs, leaving out names the zoo does not define."""
    from jlml_core.store.zoo import (
        ZOO,  # deferred: the zoo module pulls in training, menus do not need it
    )

    return {
        title: [ZOO[name] for name in names if name in ZOO] for title, names in MATCHED_SETS.items()
    }


def matched_sets(
    entries: Sequence[Entry], named: Mapping[str, Sequence[TrainConfig]]
) -> list[MatchedSet]:
    """Sets of listed models that differ only in their loss: the named ones first.

    A named set appears, in its own order, when at least two of its models are listed and they
    do differ only in their loss. After them come any other `groups_differing_only_in(entries,
    "loss")` (e.g. a user's own pair), titled by what their models share.

    Args:
        entries: listed models.
        named: title -> configs of a set, e.g. `zoo_matched_configs()`.
    """
    by_key: dict[str, Entry] = {}
    for entry in entries:
        by_key.setdefault(entry.key, entry)  # first listing wins, as in the menus
    sets = []
    for title, configs in named.items():
        members = [by_key[c.key()] for c in configs if c.key() in by_key]
        if len({_without(e.config, "loss") for e in members}) > 1:
            continue  # not a matched set after all (a zoo entry changed): shown by the groups
        if len(members) >= 2:
            sets.append(MatchedSet(title, members))
    named_keys = {e.key for s in sets for e in s.entries}
    for group in groups_differing_only_in(entries, "loss"):
        if not {e.key for e in group} <= named_keys:
            sets.append(MatchedSet(shared_description(group[0].config, "loss"), group))
    return sets


def shared_description(config: TrainConfig, field: str) -> str:
    """What the models of a `groups_differing_only_in(..., field)` group have in common."""
    parts = [config.kind.upper(), config.arch, f"z={config.latent_dim}"]
    if config.hidden_dim is not None:
        parts.append(f"h={config.hidden_dim}")
    if field != "loss":
        parts.append(config.loss)
    if field not in ("reconstruction_weight", "kl_weight"):
        parts.append(f"w={config.reconstruction_weight:g}/{config.kl_weight:g}")
    parts.append(f"{config.epochs} epochs")
    if config.train_subset is not None:
        parts.append(f"{config.train_subset:,} images")
    if config.dataset != "mnist":
        parts.insert(0, config.dataset)
    return " · ".join(parts)


def posterior_radii(logvar: np.ndarray) -> np.ndarray:
    """RMS posterior standard deviation of each image, sqrt(mean_d sigma_d^2): (N, D) -> (N,).

    The per-image values whose mean is `metrics.posterior_radius`: about 1 where a posterior
    has collapsed onto the N(0, I) prior, small where the encoder is certain. Distances from
    the origin are `metrics.code_norms`.
    """
    sigma_squared = np.exp(np.asarray(logvar, np.float64))  # (N, D)
    return np.sqrt(sigma_squared.mean(axis=1))


def format_duration(seconds: float) -> str:
    """Rounded human duration: "about 5 s", "about 3 min", "about 1.5 h"."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
