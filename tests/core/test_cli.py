"""Tests for jlml_core.cli: the real command in a subprocess, plus its error and help paths.

Starting Python with torch costs a few seconds, so the flows a user runs (train, train again,
sample, evaluate) go through real `python -m jlml_core` processes sharing one trained model,
while listing and the many error and help cases call `cli.main` in-process, with one
subprocess check that an error really reaches the shell as status 2 and a single line.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pytest
from PIL import Image

from jlml_core import cli, cli_args
from jlml_core.analysis.evaluation import IW_SAMPLES, evaluate_model
from jlml_core.config import HELP, PROJECT_DIR, RECIPES, ModelKind, Precision, TrainConfig
from jlml_core.jobs.sweep import train_command
from jlml_core.nn import architectures
from jlml_core.store import checkpoints, model_cache
from jlml_core.store.zoo import read_manifest
from tests.core.test_config import FIELD_CHANGE_BASES, FIELD_CHANGES

TRAIN_ARGS = shlex.split("train --arch dense --epochs 1 --train-subset 1000 --latent-dim 2")
SUBCOMMANDS = ["train", "list", "evaluate", "sample", "delete", "zoo", "sweep", "download"]


def _evaluation_ready() -> bool:
    try:
        importlib.import_module("jlml_core.analysis.evaluation")
    except ImportError:
        return False
    return True


EVALUATION_READY = _evaluation_ready()


@dataclass(frozen=True)
class CliEnv:
    """Folders and environment of an isolated command-line session."""

    cache: Path
    work: Path
    env: dict[str, str]

    def start(self, *args: str) -> subprocess.Popen:
        """Start `python -m jlml_core ARGS` in the work folder."""
        return subprocess.Popen(
            [sys.executable, "-m", "jlml_core", *args],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _finish(process: subprocess.Popen, timeout: float = 300) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@dataclass(frozen=True)
class Runs:
    """Results of the real commands, by name, and the model file's mtime right after training."""

    results: dict[str, subprocess.CompletedProcess]
    model_stamp: int
    key: str


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> CliEnv:
    root = tmp_path_factory.mktemp("cli")
    cache, zoo, work = root / "cache", root / "empty_zoo", root / "work"
    zoo.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != architectures.PLUGINS_ENV}
    env |= {model_cache.CACHE_ENV: str(cache), model_cache.ZOO_ENV: str(zoo)}
    return CliEnv(cache, work, env)


@pytest.fixture(scope="module")
def runs(cli_env: CliEnv) -> Runs:
    """Every real command these tests check, each run once.

    `train` goes first; the commands that read its model then run all at once: each mostly
    pays for importing torch, and together they keep both cores busy.
    """
    error = cli_env.start("train", "--arch", "no_such_arch")  # needs no model
    train = _finish(cli_env.start(*TRAIN_ARGS))
    assert train.returncode == 0, train.stderr
    folder = _single_entry(cli_env.cache)
    key = folder.name.rsplit("-", 1)[-1]
    stamp = (folder / checkpoints.MODEL_FILE).stat().st_mtime_ns
    followers = {
        "train again": TRAIN_ARGS,
        "sample prior": ["sample", "--model", key, "--out", "prior.png"],
        "sample reconstructions": [
            "sample",
            "reconstructions",
            "--model",
            key,
            "--out",
            "reconstructions.png",
        ],
    }
    if EVALUATION_READY:
        followers["evaluate"] = ["evaluate", "--model", key, "--subset", "200"]
    started = {name: cli_env.start(*args) for name, args in followers.items()}
    results = {"train": train, "error": _finish(error)}
    results |= {name: _finish(process) for name, process in started.items()}
    return Runs(results, stamp, key)


def _single_entry(cache: Path) -> Path:
    (folder,) = [p for p in cache.iterdir() if not p.name.startswith(".")]
    return folder


# --- real processes -------------------------------------------------------------------------


def test_train_writes_a_checkpoint_and_prints_the_test_elbo(cli_env: CliEnv, runs: Runs) -> None:
    trained = runs.results["train"]
    assert "trained and saved" in trained.stdout
    elbo_line = next(line for line in trained.stdout.splitlines() if "test_neg_elbo" in line)
    elbo = float(elbo_line.split()[-1])
    assert 100 < elbo < 543  # better than the untrained 784 ln 2, worse than a good model
    folder = _single_entry(cli_env.cache)
    assert folder.name.startswith("mnist-vae-dense-z2-bce-")
    assert (folder / checkpoints.MODEL_FILE).is_file()
    assert checkpoints.load_model(folder).latent_dim == 2


def test_train_again_returns_the_cached_model(cli_env: CliEnv, runs: Runs) -> None:
    again = runs.results["train again"]
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("cached: ")
    assert "test_neg_elbo" in again.stdout
    assert "training" not in again.stderr  # no progress bar: no training step ran
    model_file = _single_entry(cli_env.cache) / checkpoints.MODEL_FILE
    assert model_file.stat().st_mtime_ns == runs.model_stamp  # nothing rewritten


@pytest.mark.parametrize(
    ("what", "size"),
    [
        # 64 images in 8 columns of 28 px plus 1 px gaps, 3x zoom.
        ("prior", (3 * (8 * 29 - 1), 3 * (8 * 29 - 1))),
        # 64 originals over their 64 reconstructions: 16 rows.
        ("reconstructions", (3 * (8 * 29 - 1), 3 * (16 * 29 - 1))),
    ],
)
def test_sample_writes_a_png(cli_env: CliEnv, runs: Runs, what: str, size: tuple[int, int]) -> None:
    result = runs.results[f"sample {what}"]
    assert result.returncode == 0, result.stderr
    assert f"{what}.png" in result.stdout
    with Image.open(cli_env.work / f"{what}.png") as picture:
        assert picture.format == "PNG"
        assert picture.size == size
        assert picture.mode == "L"
        low, high = picture.getextrema()
        assert high > low  # not a blank canvas


@pytest.mark.skipif(not EVALUATION_READY, reason="analysis.evaluation cannot be imported yet")
def test_evaluate_prints_metrics(cli_env: CliEnv, runs: Runs) -> None:
    result = runs.results["evaluate"]
    assert result.returncode == 0, result.stderr
    assert str(_single_entry(cli_env.cache)) in result.stdout
    assert "test_neg_elbo" in result.stdout


def test_an_error_reaches_the_shell_as_one_line_and_status_2(runs: Runs) -> None:
    result = runs.results["error"]
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no_such_arch" in result.stderr and "dense" in result.stderr
    assert result.stdout == ""


# --- in-process: errors and help ------------------------------------------------------------


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty cache and zoo for in-process `cli.main` calls."""
    (tmp_path / "zoo").mkdir()
    monkeypatch.setenv(model_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(model_cache.ZOO_ENV, str(tmp_path / "zoo"))
    monkeypatch.delenv(architectures.PLUGINS_ENV, raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["train", "--arch", "no_such_arch"], "no_such_arch"),
        (["train", "--latent-dim", "0"], "latent_dim"),
        (["train", "--epochs", "-3"], "epochs"),
        (["train", "--lr", "0"], "learning_rate"),
        (["train", "--dataset", "/nonexistent"], "/nonexistent"),
        (["sample", "--model", "0123456789ab"], "0123456789ab"),
        (["evaluate", "--model", "0123456789ab"], "0123456789ab"),
        (["delete", "--model", "0123456789ab"], "0123456789ab"),
        (["sample", "--arch", "dense"], "No cached model"),
    ],
)
def test_errors_exit_2_with_one_line_naming_the_problem(
    isolated: Path, capsys: pytest.CaptureFixture, args: list[str], problem: str
) -> None:
    assert cli.main(args) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"jlml {args[0]}: error: ")
    assert problem in lines[0]
    assert not (isolated / "cache").exists() or not any((isolated / "cache").iterdir())


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["train", "--kind", "gan"], "--kind"),
        (["train", "--epochs", "many"], "--epochs"),
        (["sample", "--columns", "0"], "--columns"),
        (["sample", "--n", "-1"], "--n"),
        (["sample", "--temperature", "-1"], "--temperature"),
        (["evaluate", "--subset", "0"], "--subset"),
        (["explode"], "explode"),
        ([], "COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    isolated: Path, capsys: pytest.CaptureFixture, args: list[str], problem: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == cli.EXIT_USAGE
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jlml")
    assert problem in lines[0] and "--help" in lines[0]


def test_list_shows_the_trained_model(
    cli_env: CliEnv,
    runs: Runs,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    for name, value in cli_env.env.items():
        if name.startswith("JLML_"):
            monkeypatch.setenv(name, value)
    assert cli.main(["list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    (row,) = [line for line in rows if line.startswith(runs.key)]
    assert "VAE · dense · z=2 · bce" in row


def test_top_level_help_lists_the_subcommands(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_works_for_each_subcommand(
    isolated: Path, capsys: pytest.CaptureFixture, command: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: jlml {command}")
    assert "--cache-dir" in out
    if command in {"train", "evaluate", "sample", "delete"}:
        assert "--latent-dim" in out and "--arch" in out


def test_list_of_an_empty_cache_says_how_to_train(
    isolated: Path, capsys: pytest.CaptureFixture
) -> None:
    assert cli.main(["list"]) == 0
    assert "No cached models yet" in capsys.readouterr().out
    assert cli.main(["list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_train_options_reach_the_config() -> None:
    args = cli.build_parser().parse_args(
        ["train", "--hidden-dim", "128", "--schedule", "cosine", "--init", "glorot"]
    )
    config = cli.config_from_args(args)
    assert (config.hidden_dim, config.schedule, config.init) == (128, "cosine", "glorot")
    assert cli.config_from_args(cli.build_parser().parse_args(["train"])).init == "pytorch"


# --- the config flags, derived from TrainConfig's fields -----------------------------------

# `train --help`'s model flags and their help, as they read when every flag was typed out by
# hand: deriving them from the config's fields must keep each word (argparse: `--lr` -> LR).
TRAIN_FLAG_HELP = {
    "--dataset DATASET": "mnist, fashion-mnist, or a folder of IDX files (default: mnist)",
    "--kind {ae,vae,vq}": "plain autoencoder, VAE or VQ-VAE (default: vae)",
    "--arch ARCH": "encoder/decoder pair: dense, cnn_shallow, cnn_deep or a registered one "
    "(default: cnn_shallow)",
    "--latent-dim LATENT_DIM": "size of the code, 1..256 (default: 2)",
    "--hidden-dim HIDDEN_DIM": "width of the dense hidden layer (default: the architecture's)",
    "--loss {bce,mse,cb}": "reconstruction loss (default: bce)",
    "--reconstruction-weight RECONSTRUCTION_WEIGHT": "(default: 1.0)",
    "--kl-weight KL_WEIGHT": "beta; ignored for an AE (default: 1.0)",
    "--loss-reduction {sum,mean}": "sum = proper ELBO; mean = the original project's per-pixel "
    "weighting (default: sum)",
    "--epochs EPOCHS": "(default: 5)",
    "--batch-size BATCH_SIZE": "(default: 128)",
    "--lr LR": "Adam learning rate (default: 0.001)",
    "--schedule {constant,cosine,warmup_cosine}": "learning-rate schedule (default: constant)",
    "--seed SEED": "(default: 0)",
    "--train-subset TRAIN_SUBSET": "train on the first N training images only",
    "--init {pytorch,glorot}": "initial weights: PyTorch's defaults or Keras's Glorot-uniform "
    "(default: pytorch)",
    "--precision {auto,fp32,bf16}": "training arithmetic: bf16 autocast, fp32, or auto = bf16 "
    "on CPUs with bf16 instructions (default: auto)",
    "--noise-std NOISE_STD": "denoising: std of Gaussian noise on training inputs (default: 0.0)",
    "--mask-fraction MASK_FRACTION": "denoising: share of training input pixels set to 0 "
    "(default: 0.0)",
    "--kl-warmup-epochs KL_WARMUP_EPOCHS": "KL warm-up: epochs over which the KL weight rises "
    "from 0 (default: 0.0)",
    "--free-bits FREE_BITS": "free bits: nats of KL per latent dimension that cost nothing "
    "(default: 0.0)",
    "--conditional CONDITIONAL": "conditional model: the class label joins encoder and decoder "
    "(default: False)",
    "--codebook-size CODEBOOK_SIZE": "VQ-VAE: number of codebook vectors (default: 128)",
    "--commitment-weight COMMITMENT_WEIGHT": "VQ-VAE: factor on the commitment loss "
    "(default: 0.25)",
    "--linear LINEAR": "linear autoencoder: no nonlinearity (dense arch, MSE, AE) (default: False)",
}
CONFIG_COMMANDS = ["train", "evaluate", "sample", "delete"]


def _flag(field: str) -> str:
    """The flag a user types for a config field (pinned here, not derived)."""
    return "--lr" if field == "learning_rate" else f"--{field.replace('_', '-')}"


def _help_section(
    command: str, title: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """`jlml COMMAND --help`'s group `title` as {invocation: help}, unwrapped."""
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps at the terminal width
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    lines = capsys.readouterr().out.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0]
    options: dict[str, str] = {}
    invocation = ""
    for line in lines.splitlines():
        if line.startswith("  -"):
            invocation, _, help_text = line.strip().partition("  ")
            options[invocation] = help_text.strip()
        else:  # a long invocation puts its help on the next line
            options[invocation] = " ".join([options[invocation], line.strip()]).strip()
    return options


@pytest.mark.parametrize("command", CONFIG_COMMANDS)
def test_help_lists_every_config_field_with_its_help(
    command: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _help_section(command, cli_args.CONFIG_GROUP, capsys, monkeypatch)
    recipe_help = shown.pop("--recipe {" + ",".join(RECIPES) + "}")
    assert all(recipe.summary[:30] in " ".join(recipe_help.split()) for recipe in RECIPES.values())
    assert shown == TRAIN_FLAG_HELP
    flags = {invocation.split()[0] for invocation in shown}
    assert flags == {_flag(field.name) for field in dataclasses.fields(TrainConfig)}


def test_every_config_field_carries_its_help_in_its_metadata() -> None:
    for field in dataclasses.fields(TrainConfig):
        assert HELP in field.metadata, field.name
        (invocation,) = [i for i in TRAIN_FLAG_HELP if i.split()[0] == _flag(field.name)]
        assert field.metadata[HELP] in TRAIN_FLAG_HELP[invocation]


@pytest.mark.parametrize("command", CONFIG_COMMANDS)
def test_no_config_flags_give_the_default_config(command: str) -> None:
    args = cli.build_parser().parse_args([command])
    assert cli.config_from_args(args) == TrainConfig()


@pytest.mark.parametrize(("field", "value"), FIELD_CHANGES.items())
def test_each_config_flag_sets_its_field(field: str, value: object) -> None:
    base = FIELD_CHANGE_BASES.get(field, {})
    base_flags = [text for name, v in base.items() for text in (_flag(name), str(v))]
    args = cli.build_parser().parse_args(["train", *base_flags, _flag(field), str(value)])
    config = cli.config_from_args(args)
    assert config == TrainConfig(**base).replace(**{field: value})
    assert config != TrainConfig(**base)


def test_every_config_flag_at_once_round_trips_through_train_command() -> None:
    # A VAE (free bits and warm-up need its KL term), not linear (a linear model is an AE).
    fields = {**FIELD_CHANGES, "kind": "vae", "linear": False}
    changed = TrainConfig(**fields)
    command = train_command(changed)
    assert all(
        _flag(field) in command.split()
        for field in FIELD_CHANGES
        if field not in ("kind", "linear")
    )
    assert cli.config_from_args(cli.build_parser().parse_args(command.split()[3:])) == changed


def test_optional_fields_default_to_none_and_choices_come_from_the_literal_types() -> None:
    config = cli.config_from_args(cli.build_parser().parse_args(["train"]))
    assert config.hidden_dim is None and config.train_subset is None
    options = {option.name: option for option in cli_args.config_options()}
    assert options["kind"].choices == get_args(ModelKind)
    assert options["precision"].choices == get_args(Precision)
    assert (options["latent_dim"].value_type, options["learning_rate"].value_type) == (int, float)
    assert options["hidden_dim"].optional and not options["latent_dim"].optional


def test_sweep_flags_are_the_field_names_with_the_config_help(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _help_section("sweep", cli_args.SWEEP_GROUP, capsys, monkeypatch)
    by_flag = {invocation.split()[0]: text for invocation, text in shown.items()}
    names = [field.name for field in dataclasses.fields(TrainConfig)]
    assert list(by_flag) == [f"--{name.replace('_', '-')}" for name in names]
    assert by_flag["--kind"] == "plain autoencoder, VAE or VQ-VAE; ae|vae|vq; default: vae"
    assert by_flag["--learning-rate"] == "Adam learning rate; default: 0.001"
    assert by_flag["--hidden-dim"] == "width of the dense hidden layer; default: None"
    assert by_flag["--epochs"] == "default: 5"


def test_evaluate_reports_with_the_importance_samples_the_zoo_recorded() -> None:
    # One count for every reported IW-NLL: the CLI's default, the library's and the zoo's.
    assert cli.build_parser().parse_args(["evaluate"]).iw_samples == IW_SAMPLES
    assert inspect.signature(evaluate_model).parameters["iw_samples"].default == IW_SAMPLES
    manifest = read_manifest(PROJECT_DIR / "checkpoints")
    assert {record["metrics"]["iw_samples"] for record in manifest.values()} == {IW_SAMPLES}
    assert all(
        record["metrics"]["metrics_command"].endswith(f"--iw-samples {IW_SAMPLES}")
        for record in manifest.values()
    )


@pytest.mark.parametrize("name", list(RECIPES))
def test_a_recipe_gives_its_config_and_flags_given_as_well_win(name: str) -> None:
    parse = cli.build_parser().parse_args
    recipe = RECIPES[name]
    assert cli.config_from_args(parse(["train", "--recipe", name])) == recipe.config()
    # A flag at its plain default still wins: a given flag is never mistaken for "not given".
    default_epochs = TrainConfig().epochs
    given = parse(["train", "--recipe", name, "--epochs", str(default_epochs), "--seed", "3"])
    assert cli.config_from_args(given) == recipe.config(epochs=default_epochs, seed=3)
    assert recipe.config().arch == "cnn_shallow" and recipe.config().latent_dim == 2


def test_the_full_recipe_is_the_shipped_default_model() -> None:
    from jlml_core.store.checkpoints import CheckpointStore

    shipped = CheckpointStore(PROJECT_DIR / "checkpoints", read_only=True)
    assert shipped.contains(RECIPES["full"].config())


def test_train_with_the_quick_recipe_evaluates_once_and_records_no_latents(
    isolated: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["train", "--recipe", "quick", "--arch", "dense", "--epochs", "2",
            "--train-subset", "256"]  # fmt: skip
    assert cli.main(args) == 0
    assert "test_neg_elbo" in capsys.readouterr().out
    (entry,) = checkpoints.CheckpointStore(isolated / "cache").entries()
    assert entry.config == RECIPES["quick"].config(arch="dense", epochs=2, train_subset=256)
    history = json.loads((entry.path / "history.json").read_text())
    assert ["test_neg_elbo" in record for record in history] == [False, True]
    assert checkpoints.read_latent_history(entry.path) is None
