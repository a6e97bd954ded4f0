"""Grid sweeps: values parsed by each config field's type, the cartesian product validated
through TrainConfig, and the `sweep` command from flags to a trained, listed, tabled sweep."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from jlml_core import cli
from jlml_core.config import ConfigError, TrainConfig
from jlml_core.jobs.sweep import parse_values, results_table, sweep_configs, train_command
from jlml_core.store.checkpoints import CheckpointStore

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("kl_weight", "0.5,1,2,4", [0.5, 1.0, 2.0, 4.0]),
        ("latent_dim", "2, 16", [2, 16]),
        ("hidden_dim", "none,64", [None, 64]),
        ("train_subset", "None", [None]),
        ("loss", "bce,cb", ["bce", "cb"]),
        ("arch", "dense,cnn_shallow", ["dense", "cnn_shallow"]),
        ("learning_rate", "1e-3", [0.001]),
    ],
)
def test_values_are_parsed_by_the_fields_type(name: str, text: str, expected: list) -> None:
    assert parse_values(name, text) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("latent_dim", "2,x", "latent_dim must be a whole number, not 'x'"),
        ("latent_dim", "none", "latent_dim must be a whole number"),
        ("hidden_dim", "wide", "or none"),
        ("kl_weight", "", "kl_weight must be a number"),
        ("beta", "1", "'beta' is not a config field"),
    ],
)
def test_bad_values_say_what_to_change(name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_values(name, text)


def test_sweep_is_the_cartesian_product_with_the_last_field_fastest() -> None:
    base = TrainConfig(arch="dense", epochs=1)
    configs = sweep_configs(base, {"kl_weight": [0.5, 1, 2, 4], "latent_dim": [2, 16]})
    assert len(configs) == 8
    assert [(c.kl_weight, c.latent_dim) for c in configs[:3]] == [(0.5, 2), (0.5, 16), (1.0, 2)]
    assert all(c.replace(kl_weight=1.0, latent_dim=2) == base for c in configs)
    assert sweep_configs(base, {}) == [base]


def test_equal_points_are_trained_once() -> None:
    assert len(sweep_configs(TrainConfig(), {"kl_weight": [1, 1.0, 2]})) == 2


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"latent_dim": [2, 0]}, r"Sweep point latent_dim=0: latent_dim must be between 1"),
        ({"loss": ["bce", "l1"]}, r"Sweep point loss='l1': loss must be one of"),
        ({"beta": [1.0]}, "Not config field"),
        ({"kl_weight": []}, "No values to sweep for kl_weight"),
    ],
)
def test_invalid_grids_are_refused(grid: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sweep_configs(TrainConfig(), grid)


def test_every_config_field_has_a_sweep_flag() -> None:
    args = cli.build_parser().parse_args(["sweep", "--init", "glorot,pytorch"])
    for field in dataclasses.fields(TrainConfig):
        assert hasattr(args, f"sweep_{field.name}"), field.name
    assert args.sweep_init == "glorot,pytorch"
    assert args.ray is None and args.ray_transfer == "auto"


def test_train_command_names_only_the_changed_fields() -> None:
    config = TrainConfig(arch="dense", learning_rate=0.01, train_subset=500)
    command = train_command(config)
    assert command == "python -m jlml_core train --arch dense --lr 0.01 --train-subset 500"
    assert cli.config_from_args(cli.build_parser().parse_args(command.split()[3:])) == config


def test_bad_sweep_flags_exit_with_status_2(tmp_path: Path, capsys) -> None:
    status = cli.main(["sweep", "--latent-dim", "2,abc", "--cache-dir", str(tmp_path)])
    assert status == cli.EXIT_USAGE
    assert "latent_dim must be a whole number, not 'abc'" in capsys.readouterr().err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_sweep_command_trains_lists_and_tables_the_grid(tmp_path: Path, capsys) -> None:
    flags = "--arch dense --hidden-dim 16 --train-subset 500 --epochs 1 --jobs 1"
    argv = ["sweep", *flags.split(), "--kind", "ae,vae", "--cache-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    entries = CheckpointStore(tmp_path).entries()
    assert sorted(e.config.kind for e in entries) == ["ae", "vae"]
    assert table[0].split()[:2] == ["key", "kind"]  # only the swept field is a column
    by_key = {line.split()[0]: line for line in table[1:]}
    for entry in entries:
        assert entry.config.kind in by_key[entry.key].split()
        assert entry.path.name in by_key[entry.key]
    vae = next(e for e in entries if e.config.kind == "vae")
    assert f"{vae.metrics['test_neg_elbo']:.2f}" in by_key[vae.key]
    assert "(recon)" in by_key[next(e for e in entries if e.config.kind == "ae").key]


def test_results_table_shows_only_fields_that_differ_from_the_base() -> None:
    base = TrainConfig(arch="dense")
    records = [
        {
            "config": base.replace(kl_weight=w).to_dict(),
            "metrics": {"test_neg_elbo": 100.0 + w},
            "train_seconds": 3.2,
            "folder": base.replace(kl_weight=w).slug(),
        }
        for w in (0.5, 2.0)
    ]
    header, first, second = results_table(base, records).splitlines()
    assert header.split() == ["key", "kl_weight", "test", "−ELBO", "train", "s", "folder"]
    assert first.split()[1:4] == ["0.5", "100.50", "3"]
    assert second.split()[1:3] == ["2", "102.00"]


def test_without_ray_the_package_imports_and_ray_runs_say_what_to_install(tmp_path: Path) -> None:
    # Ray is an optional extra: only a --ray run needs it, and it says how to get it.
    code = (
        "import sys; sys.modules['ray'] = None; "
        "import jlml_core.cli, jlml_core.jobs.runner, jlml_core.jobs.sweep, jlml_core.store.zoo; "
        f"sys.exit(jlml_core.cli.main(['sweep', '--ray', 'auto', '--cache-dir', {str(tmp_path)!r}"
        "]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == cli.EXIT_USAGE
    assert "pip install jlml[cluster]" in done.stderr
    assert not CheckpointStore(tmp_path).entries()
