"""Grid sweeps: every combination of some config fields' values, trained into a store.

    python -m jlml_core sweep --arch dense --epochs 2 --kl-weight 0.5,1,2,4 --latent-dim 2,16

Any `TrainConfig` field can be swept: its flag is the field's name with dashes, its values
comma-separated and parsed by the field's type (both derived in `jlml_core.cli_args`). The
models train through `runner.run_jobs`, locally or on a Ray cluster, and land in the checkpoint
cache, where the dashboard lists them.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jlml_core.cli_args import config_options, parse_bool
from jlml_core.config import ConfigError, TrainConfig
from jlml_core.jobs.runner import Record, TrainJob, Transfer, run_jobs

NONE_TEXT = "none"  # how to sweep an optional field back to its default (e.g. --hidden-dim)


def parse_value(name: str, text: str) -> Any:
    """One value of field `name` from its command-line text, by the field's type.

    Raises:
        ConfigError: unknown field, or text that is not a value of the field's type.
    """
    options = {option.name: option for option in config_options()}
    if name not in options:
        raise ConfigError(f"{name!r} is not a config field; fields: {', '.join(options)}.")
    option = options[name]
    text = text.strip()
    if option.optional and text.lower() == NONE_TEXT:
        return None
    if option.choices:
        return text  # TrainConfig checks the choice and names the allowed ones
    try:
        if option.value_type is bool:
            return parse_bool(text)
        if option.value_type is int:
            return int(text)
        if option.value_type is float:
            return float(text)
    except (ValueError, argparse.ArgumentTypeError) as error:
        kind = {int: "a whole number", bool: "true or false"}.get(option.value_type, "a number")
        extra = f" or {NONE_TEXT}" if option.optional else ""
        raise ConfigError(f"{name} must be {kind}{extra}, not {text!r}.") from error
    if not text:
        raise ConfigError(f"{name} needs a value.")
    return text


def parse_values(name: str, text: str) -> list[Any]:
    """The comma-separated values of field `name`, e.g. "0.5,1,2" -> [0.5, 1.0, 2.0]."""
    return [parse_value(name, part) for part in text.split(",")]


def sweep_configs(base: TrainConfig, grid: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """Every combination of the grid's values applied to `base` (the last field varies fastest).

    Equal configs (e.g. from ``1`` and ``1.0``) appear once.

    Raises:
        ConfigError: an unknown field, a field without values, or an invalid combination
            (the message names it).
    """
    names = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = [name for name in grid if name not in names]
    if unknown:
        raise ConfigError(f"Not config field(s): {', '.join(unknown)}. Fields: {', '.join(names)}.")
    empty = [name for name, values in grid.items() if len(values) == 0]
    if empty:
        raise ConfigError(f"No values to sweep for {', '.join(empty)}.")
    configs: dict[TrainConfig, None] = {}
    for values in itertools.product(*grid.values()):
        changes = dict(zip(grid, values, strict=True))
        try:
            configs[base.replace(**changes)] = None
        except ConfigError as error:
            shown = ", ".join(f"{name}={value!r}" for name, value in changes.items())
            raise ConfigError(f"Sweep point {shown}: {error}") from error
    return list(configs)


def train_command(config: TrainConfig) -> str:
    """The `train` command that gives this one model (flags for the non-default fields)."""
    defaults = TrainConfig()
    flag_of = {option.name: option.flag for option in config_options()}
    flags = [
        f"{flag_of[name]} {value}"
        for name, value in config.to_dict().items()
        if value != getattr(defaults, name)
    ]
    return " ".join(["python -m jlml_core train", *flags])


def run_sweep(
    configs: Sequence[TrainConfig],
    out_dir: Path,
    *,
    workers: int = 2,
    ray_address: str | None = None,
    transfer: Transfer = "auto",
    evaluate: bool = False,
    force: bool = False,
) -> list[Record]:
    """Train every config into the store at `out_dir`; their records, in the configs' order.

    See `runner.run_jobs` for `workers`, `ray_address` and `transfer`.
    """
    jobs = [
        TrainJob(config.key(), config, evaluate, force, train_command(config)) for config in configs
    ]
    records = run_jobs(jobs, out_dir, workers=workers, ray_address=ray_address, transfer=transfer)
    return [records[job.name] for job in jobs]


def _cell(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def results_table(base: TrainConfig, records: Sequence[Record]) -> str:
    """A plain-text table: key, the fields that differ from `base`, test −ELBO (or, for an AE,
    the test reconstruction loss), training seconds and the entry's folder."""
    configs = [TrainConfig.from_dict(record["config"]) for record in records]
    varied = [
        field.name
        for field in dataclasses.fields(TrainConfig)
        if any(getattr(c, field.name) != getattr(base, field.name) for c in configs)
    ]
    header = ["key", *varied, "test −ELBO", "train s", "folder"]
    rows = []
    for config, record in zip(configs, records, strict=True):
        metrics = record["metrics"]
        score = metrics.get("test_neg_elbo")
        if score is None:
            score = metrics.get("test_reconstruction")
            score_text = "–" if score is None else f"{score:.2f} (recon)"
        else:
            score_text = f"{score:.2f}"
        seconds = record.get("train_seconds")
        rows.append(
            [
                config.key(),
                *(_cell(getattr(config, name)) for name in varied),
                score_text,
                "–" if seconds is None else f"{seconds:.0f}",
                record["folder"],
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
