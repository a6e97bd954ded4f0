"""Command line: ``python -m jlml_core`` or ``jlml``.

    jlml train --kind vae --arch cnn_shallow --latent-dim 2 --epochs 1 --seed 1
    jlml list
    jlml evaluate --model <key or folder>
    jlml sample --model <key> --out samples.png
    jlml sweep --arch dense --epochs 2 --kl-weight 0.5,1,2,4 --latent-dim 2,16 [--ray auto]

Bad arguments exit with status 2 and one line saying what to change.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from jlml_core.analysis.evaluation import IW_SAMPLES
from jlml_core.cli_args import CliError, add_config_arguments, add_sweep_arguments, sweep_texts
from jlml_core.cli_args import config_from_args as config_from_args  # tests and scripts use it
from jlml_core.config import ConfigError, TrainConfig
from jlml_core.data.datasets import DataError, load_split, resolve_dataset_dir
from jlml_core.nn import architectures
from jlml_core.store import checkpoints
from jlml_core.training.train import Progress

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


def _stores(args: argparse.Namespace) -> list[checkpoints.CheckpointStore]:
    stores = checkpoints.default_stores()
    if getattr(args, "cache_dir", None):
        stores[-1] = checkpoints.CheckpointStore(args.cache_dir)
    return stores


class _ProgressBar:
    """tqdm bar over all training steps, with the running loss terms as its postfix."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, progress: Progress) -> None:
        from tqdm import tqdm

        total = progress.epochs * progress.steps_per_epoch
        if self.bar is None:
            self.bar = tqdm(total=total, unit="step", desc="training", file=sys.stderr)
        done = (progress.epoch - 1) * progress.steps_per_epoch + progress.step
        self.bar.update(done - self.bar.n)
        postfix = {"epoch": f"{progress.epoch}/{progress.epochs}", "loss": f"{progress.loss:.2f}"}
        if progress.epoch_done and progress.history:
            last = progress.history[-1]
            if "test_neg_elbo" in last:
                postfix["test -ELBO"] = f"{last['test_neg_elbo']:.2f}"
            else:
                postfix["test recon"] = f"{last['test_reconstruction']:.2f}"
        self.bar.set_postfix(postfix)
        if done >= total:
            self.bar.close()


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format_value(v)}" for k, v in value.items())
    return str(value)


def _print_metrics(metrics: dict) -> None:
    for name in sorted(metrics):
        print(f"  {name:<28} {_format_value(metrics[name])}")


def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    resolve_dataset_dir(config.dataset)  # fail fast with the data error, before any work
    stores = _stores(args)
    store = checkpoints.find(config, stores)
    if store is not None:
        print(f"cached: {store.path_for(config)}")
    else:
        checkpoints.get_or_train(config, stores=stores, on_progress=_ProgressBar())
        store = checkpoints.find(config, stores)
        print(f"trained and saved: {store.path_for(config)}")
    entry = store.read_entry(store.path_for(config))
    _print_metrics(entry.metrics)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = [(store, e) for store in _stores(args) for e in store.entries()]
    if args.json:
        print(
            json.dumps(
                [
                    {"path": str(e.path), "config": e.config.to_dict(), "metrics": e.metrics}
                    for _, e in rows
                ],
                indent=2,
            )
        )
        return 0
    if not rows:
        print("No cached models yet. Train one: python -m jlml_core train")
        return 0
    print(f"{'key':<13} {'-ELBO':>8} {'recon':>8}  model")
    for _, entry in rows:
        elbo = entry.metrics.get("test_neg_elbo")
        recon = entry.metrics.get("test_reconstruction")
        print(
            f"{entry.key:<13} {elbo if elbo is None else f'{elbo:8.2f}'!s:>8} "
            f"{recon if recon is None else f'{recon:8.2f}'!s:>8}  {entry.label}"
        )
    return 0


def resolve_entry(args: argparse.Namespace) -> checkpoints.Entry:
    """The cache entry named by --model (key, folder name or path), or by the config flags."""
    stores = _stores(args)
    if args.model:
        path = Path(args.model)
        if (path / checkpoints.MODEL_FILE).is_file():
            return checkpoints.CheckpointStore(path.parent).read_entry(path)
        try:
            return checkpoints.find_entry(args.model, stores)
        except checkpoints.CheckpointError as error:
            raise CliError(str(error)) from error
    config = config_from_args(args)
    store = checkpoints.find(config, stores)
    if store is None:
        raise CliError("No cached model for that config; train it first with the same flags.")
    return store.read_entry(store.path_for(config))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from jlml_core.analysis.evaluation import evaluate_model

    entry = resolve_entry(args)
    model = checkpoints.load_model(entry.path)
    metrics = evaluate_model(model, entry.config, subset=args.subset, iw_samples=args.iw_samples)
    print(f"{entry.label}  ({entry.path})")
    _print_metrics(metrics)
    in_zoo = entry.path.parent.resolve() == checkpoints.zoo_dir().resolve()
    if args.subset is None and not in_zoo:
        # Full-test-set numbers are recorded, so the dashboard can show them; subsets are not.
        command = f"python -m jlml_core evaluate --model {entry.key} --iw-samples {args.iw_samples}"
        store = checkpoints.CheckpointStore(entry.path.parent)
        store.update_metrics(entry.config, {**metrics, "metrics_command": command})
        print(f"saved to {entry.path / checkpoints.METRICS_FILE}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from jlml_core.figures.images import save_png
    from jlml_core.inference import latent

    entry = resolve_entry(args)
    model = checkpoints.load_model(entry.path)
    if args.what == "prior":
        z = latent.sample_prior(args.n, model.latent_dim, args.seed, args.temperature)
        images = latent.decode_points(model, z)
    else:
        test = load_split(entry.config.dataset, "test")
        images_uint8 = test.images[: args.n]
        images = latent.reconstruct(model, images_uint8)
        originals = images_uint8.float().numpy() / 255.0
        images = _interleave_rows(originals, images, args.columns)
    out = save_png(latent.tile(images, args.columns), args.out, scale=args.scale)
    print(f"wrote {out}")
    return 0


def _interleave_rows(originals, reconstructions, columns: int):
    """Row of originals over row of their reconstructions, repeated."""
    import numpy as np

    rows = []
    for start in range(0, len(originals), columns):
        rows += [originals[start : start + columns], reconstructions[start : start + columns]]
    return np.concatenate(rows)


def cmd_zoo(args: argparse.Namespace) -> int:
    from jlml_core.jobs.zoo_build import build_zoo, manifest_table
    from jlml_core.store.zoo import read_manifest

    if args.table:
        print(manifest_table(read_manifest(args.out)))
        return 0

    build_zoo(
        only=args.only,
        out_dir=args.out,
        evaluate=not args.no_evaluate,
        force=args.force,
        jobs=args.jobs,
        ray_address=args.ray,
        transfer=args.ray_transfer,
    )
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from jlml_core.jobs import sweep

    given = {name: sweep.parse_values(name, text) for name, text in sweep_texts(args).items()}
    # Fields given one value are the base; the table then shows only what was swept.
    base = TrainConfig().replace(**{k: v[0] for k, v in given.items() if len(v) == 1})
    configs = sweep.sweep_configs(base, {k: v for k, v in given.items() if len(v) > 1})
    if args.ray is None:
        for dataset in {config.dataset for config in configs}:
            resolve_dataset_dir(dataset)  # fail fast with the data error, before any work
    out_dir = Path(args.cache_dir) if args.cache_dir else checkpoints.default_cache_dir()
    where = f"Ray ({args.ray})" if args.ray else f"{args.jobs} local process(es)"
    print(f"sweep: {len(configs)} model(s) on {where} into {out_dir}", file=sys.stderr)
    records = sweep.run_sweep(
        configs,
        out_dir,
        workers=args.jobs,
        ray_address=args.ray,
        transfer=args.ray_transfer,
        evaluate=args.evaluate,
        force=args.force,
    )
    print(sweep.results_table(base, records))
    return 0


def _add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    from jlml_core.jobs.runner import TRANSFERS

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


def cmd_classifier(args: argparse.Namespace) -> int:
    from jlml_core.analysis.classifier import build_and_save_classifier

    print(f"wrote {build_and_save_classifier(epochs=args.epochs, seed=args.seed)}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from jlml_core.data.datasets import download_with_torchvision

    print(f"downloaded to {download_with_torchvision(args.dataset)}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    entry = resolve_entry(args)
    store = checkpoints.CheckpointStore(entry.path.parent)
    if entry.path.parent.resolve() == checkpoints.zoo_dir().resolve():
        raise CliError("That model is part of the shipped zoo; it cannot be deleted here.")
    store.delete(entry.config)
    print(f"deleted {entry.path}")
    return 0


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

    train = add("train", "train a model (or return it at once from the cache)", cmd_train)
    add_config_arguments(train)
    listing = add("list", "list cached and shipped models", cmd_list)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    for name, text, handler in [
        ("evaluate", "compute the test metrics of a cached model", cmd_evaluate),
        ("sample", "write a PNG grid of prior samples or reconstructions", cmd_sample),
        ("delete", "remove a model from the cache", cmd_delete),
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
        cmd_classifier,
    )
    classifier.add_argument("--epochs", type=_positive_int, default=6, help="(default: 6)")
    classifier.add_argument("--seed", type=int, default=0, help="(default: 0)")
    zoo = add("zoo", "train the shipped model zoo into checkpoints/ (1-3 h on 2 cores)", cmd_zoo)
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
    _add_ray_arguments(zoo)
    sweep = add(
        "sweep",
        "train every combination of some config values into the cache, locally or on Ray",
        cmd_sweep,
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
    download = add("download", "fetch a dataset with torchvision (needs internet)", cmd_download)
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
