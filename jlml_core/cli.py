"""Command line: ``python -m jlml_core`` or ``jlml``.

    jlml train --kind vae --arch cnn_shallow --latent-dim 2 --epochs 1 --seed 1
    jlml list
    jlml evaluate --model <key or folder>
    jlml sample --model <key> --out samples.png
    jlml zoo --codes                  # recompute the zoo's shipped test-set codes
    jlml sweep --arch dense --epochs 2 --kl-weight 0.5,1,2,4 --latent-dim 2,16 [--ray auto]

Bad arguments exit with status 2 and one line saying what to change. This module builds the
parser; the model flags are derived from `TrainConfig`'s fields (`cli_args`) and each
subcommand's handler lives in `cli_commands`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from jlml_core import cli_commands as commands
from jlml_core.analysis.evaluation import IW_SAMPLES
from jlml_core.cli_args import CliError, add_config_arguments, add_sweep_arguments
from jlml_core.cli_args import config_from_args as config_from_args  # tests and scripts use it
from jlml_core.config import ConfigError
from jlml_core.data.datasets import DataError
from jlml_core.jobs.runner import TRANSFERS
from jlml_core.nn import architectures
from jlml_core.store import checkpoints

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (not the whole usage block), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, not {text!r}")
    return value


def _add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run each model as a task on a Ray cluster: auto (the cluster this machine "
        "joined), host:port, ray://host:port, or local (a private instance here); needs "
        "pip install jlml[cluster]; see docs/cluster.md",
    )
    parser.add_argument(
        "--ray-transfer",
        choices=TRANSFERS,
        default="auto",
        help="how a Ray task's model reaches the store: written by the task where the store "
        "folder is shared, else sent back to this process (auto); or insist on one "
        "(default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = _Parser(
        prog="jlml", description="JL-ML Autoencoder Lab: train, cache and inspect autoencoders."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        command.add_argument(
            "--cache-dir",
            help="checkpoint cache folder (default: $JLML_CACHE_DIR or ~/.cache/jlml/checkpoints)",
        )
        return command

    train = add("train", "train a model (or return it at once from the cache)", commands.cmd_train)
    add_config_arguments(train)
    listing = add("list", "list cached and shipped models", commands.cmd_list)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    for name, text, handler in [
        ("evaluate", "compute the test metrics of a cached model", commands.cmd_evaluate),
        ("sample", "write a PNG grid of prior samples or reconstructions", commands.cmd_sample),
        ("delete", "remove a model from the cache", commands.cmd_delete),
    ]:
        command = add(name, text, handler)
        command.add_argument(
            "--model",
            help="key, folder name or path of a cached model "
            "(otherwise the config flags below pick it)",
        )
        add_config_arguments(command)
        if name == "evaluate":
            command.add_argument(
                "--subset",
                type=_positive_int,
                default=None,
                help="evaluate on the first N test images only",
            )
            command.add_argument(
                "--iw-samples",
                type=_positive_int,
                default=IW_SAMPLES,
                help="importance samples per image for the log-likelihood (default: %(default)s)",
            )
        if name == "sample":
            command.add_argument(
                "what",
                nargs="?",
                choices=["prior", "reconstructions"],
                default="prior",
                help="(default: %(default)s)",
            )
            command.add_argument("--n", type=_positive_int, default=64, help="images (default: 64)")
            command.add_argument("--columns", type=_positive_int, default=8, help="(default: 8)")
            command.add_argument(
                "--temperature",
                type=_non_negative_float,
                default=1.0,
                help="prior standard deviation (default: 1.0)",
            )
            command.add_argument(
                "--scale", type=_positive_int, default=3, help="pixel zoom (default: 3)"
            )
            command.add_argument("--out", default="samples.png", help="(default: %(default)s)")
    classifier = add(
        "classifier",
        "train the MNIST classifier used for sample quality into checkpoints/classifier/",
        commands.cmd_classifier,
    )
    classifier.add_argument("--epochs", type=_positive_int, default=6, help="(default: 6)")
    classifier.add_argument("--seed", type=int, default=0, help="(default: 0)")
    zoo = add(
        "zoo", "train the shipped model zoo into checkpoints/ (1-3 h on 2 cores)", commands.cmd_zoo
    )
    zoo.add_argument("--only", nargs="*", help="names of zoo models to (re)build")
    zoo.add_argument("--out", type=Path, default=None, help="folder (default: checkpoints/)")
    zoo.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="models trained at once, one thread each (default: %(default)s)",
    )
    zoo.add_argument("--force", action="store_true", help="retrain models already present")
    zoo.add_argument("--table", action="store_true", help="print the manifest's metrics table")
    zoo.add_argument("--no-evaluate", action="store_true", help="train only; skip the metrics")
    zoo.add_argument(
        "--codes",
        action="store_true",
        help="train nothing; recompute each built model's test_codes.safetensors (the codes, "
        "per-image losses and pixel errors of its test set the dashboard reads; seconds each)",
    )
    _add_ray_arguments(zoo)
    sweep = add(
        "sweep",
        "train every combination of some config values into the cache, locally or on Ray",
        commands.cmd_sweep,
    )
    add_sweep_arguments(sweep)
    sweep.add_argument(
        "--jobs",
        type=_positive_int,
        default=2,
        help="models trained at once locally, one thread each (default: %(default)s)",
    )
    _add_ray_arguments(sweep)
    sweep.add_argument(
        "--evaluate", action="store_true", help="also compute the full metrics for each model"
    )
    sweep.add_argument("--force", action="store_true", help="retrain models already present")
    download = add(
        "download", "fetch a dataset with torchvision (needs internet)", commands.cmd_download
    )
    download.add_argument("dataset", choices=["mnist", "fashion-mnist"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        architectures.load_plugins()
        return args.handler(args)
    except (CliError, ConfigError, DataError, checkpoints.CheckpointError, ImportError) as error:
        print(f"jlml {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; nothing was written.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
