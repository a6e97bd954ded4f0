"""The handlers of the ``jlml`` subcommands: each takes the parsed arguments, does the work and
returns the exit status. `jlml_core.cli` builds the parser that picks one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jlml_core.cli_args import CliError, config_from_args, recipe_from_args, sweep_texts
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split, resolve_dataset_dir
from jlml_core.store import checkpoints, model_cache
from jlml_core.training.train import Progress


def _stores(args: argparse.Namespace) -> list[checkpoints.CheckpointStore]:
    stores = model_cache.default_stores()
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
            elif "test_reconstruction" in last:  # an epoch that was not evaluated has neither
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
    store = model_cache.find(config, stores)
    if store is not None:
        print(f"cached: {store.path_for(config)}")
    else:
        recipe = recipe_from_args(args)
        model_cache.get_or_train(
            config,
            stores=stores,
            on_progress=_ProgressBar(),
            evaluate_every_epoch=recipe is None or recipe.evaluate_every_epoch,
            record_latents=recipe is None or recipe.record_latents,
        )
        store = model_cache.find(config, stores)
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
            return model_cache.find_entry(args.model, stores)
        except checkpoints.CheckpointError as error:
            raise CliError(str(error)) from error
    config = config_from_args(args)
    store = model_cache.find(config, stores)
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
    in_zoo = entry.path.parent.resolve() == model_cache.zoo_dir().resolve()
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
    from jlml_core.nn.models import balanced_labels

    entry = resolve_entry(args)
    model = checkpoints.load_model(entry.path)
    if args.what == "prior":
        seed = getattr(args, "seed", TrainConfig.seed)  # absent unless --seed was given
        z = latent.sample_prior(args.n, model.latent_dim, seed, args.temperature)
        # a conditional model's samples take the classes in turn: ten columns, one per class
        images = latent.decode_points(model, z, labels=balanced_labels(model, args.n))
    else:
        test = load_split(entry.config.dataset, "test")
        images_uint8 = test.images[: args.n]
        labels = test.labels[: args.n] if entry.config.conditional else None
        images = latent.reconstruct(model, images_uint8, labels=labels)
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
    from jlml_core.jobs.zoo_build import build_zoo, manifest_table, write_zoo_codes
    from jlml_core.store.zoo import read_manifest

    if args.table:
        print(manifest_table(read_manifest(args.out)))
        return 0
    if args.codes:
        written = write_zoo_codes(args.only, args.out, force=True)
        size = sum(path.stat().st_size for path in written)
        print(f"wrote {len(written)} test_codes file(s), {size:,} bytes")
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
    out_dir = Path(args.cache_dir) if args.cache_dir else model_cache.default_cache_dir()
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
    if entry.path.parent.resolve() == model_cache.zoo_dir().resolve():
        raise CliError("That model is part of the shipped zoo; it cannot be deleted here.")
    store.delete(entry.config)
    print(f"deleted {entry.path}")
    return 0
