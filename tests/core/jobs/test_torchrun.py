"""The torchrun entry point reads the same config flags as ``jlml train``.

Its real two-process run is in tests/core/training/test_distributed.py.
"""

from __future__ import annotations

import pytest

from jlml_core import cli
from jlml_core.cli_args import CliError, config_from_args
from jlml_core.config import TrainConfig
from jlml_core.jobs import torchrun

FLAGS = ["--arch", "dense", "--lr", "0.01", "--hidden-dim", "16", "--precision", "fp32"]


def test_torchrun_takes_the_train_flags() -> None:
    args = torchrun.build_parser().parse_args(["--out", "store", *FLAGS])
    config = config_from_args(args)
    assert config == TrainConfig(arch="dense", learning_rate=0.01, hidden_dim=16, precision="fp32")
    assert config == cli.config_from_args(cli.build_parser().parse_args(["train", *FLAGS]))
    assert args.out == "store"


def test_torchrun_without_flags_trains_the_default_config() -> None:
    assert config_from_args(torchrun.build_parser().parse_args(["--out", "x"])) == TrainConfig()


def test_torchrun_needs_out_and_refuses_bad_configs() -> None:
    with pytest.raises(SystemExit):
        torchrun.build_parser().parse_args(["--arch", "dense"])
    with pytest.raises(CliError, match="latent_dim"):
        config_from_args(torchrun.build_parser().parse_args(["--out", "x", "--latent-dim", "0"]))
