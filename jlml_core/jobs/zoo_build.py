"""The command that rebuilds the zoo (``python -m jlml_core zoo``) and its metrics table.

Which models ship is `jlml_core.store.zoo.ZOO`; this module trains them through `run_jobs`,
then gives each its encoded test set (``test_codes.safetensors``: codes, per-image losses and
pixel errors of the 10,000 test images), which ``python -m jlml_core zoo --codes`` recomputes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from jlml_core.analysis import latent_dims, likelihood
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent, reconstruction
from jlml_core.jobs.runner import TrainJob, Transfer, run_job, run_jobs
from jlml_core.jobs.runner import (
    data_checksums as data_checksums,  # re-exported: tests and docs use it
)
from jlml_core.jobs.runner import machine_description as machine_description
from jlml_core.nn.latent_stats import MI_SAMPLES
from jlml_core.store import checkpoints, test_codes
from jlml_core.store.model_cache import zoo_dir
from jlml_core.store.zoo import ZOO, read_manifest, write_manifest


def zoo_job(name: str, *, evaluate: bool = True, force: bool = False) -> TrainJob:
    """The job that builds zoo model `name`."""
    return TrainJob(name, ZOO[name], evaluate, force, f"python -m jlml_core zoo --only {name}")


def build_one(name: str, out_dir: Path, *, evaluate: bool = True, force: bool = False) -> dict:
    """Train (unless present) and evaluate one zoo model single-threaded; its manifest record."""
    return run_job(zoo_job(name, evaluate=evaluate, force=force), Path(out_dir))


def build_zoo(
    only: Iterable[str] | None = None,
    out_dir: Path | None = None,
    *,
    evaluate: bool = True,
    force: bool = False,
    jobs: int = 2,
    ray_address: str | None = None,
    transfer: Transfer = "auto",
    codes: bool = True,
) -> dict[str, Any]:
    """Train (and evaluate) the zoo into `out_dir` (default: the project's checkpoints/).

    Args:
        only: names from `ZOO` to build; all when None.
        out_dir: destination folder.
        evaluate: compute the full metrics (evaluation.evaluate_model) for each model.
        force: retrain models that are already present.
        jobs: models trained at once, each in its own single-threaded process.
        ray_address: run each model as a Ray task on this cluster instead ("auto", an
            address, or "local"); see `runner.run_jobs`.
        transfer: with Ray, how models reach `out_dir` (`runner.Transfer`).
        codes: then write the encoded test set of every built model that lacks a fresh one
            (`write_zoo_codes`).

    Returns:
        The manifest written.
    """
    out_dir = Path(out_dir) if out_dir is not None else zoo_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(only) if only else list(ZOO)
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        raise KeyError(f"Unknown zoo model(s): {', '.join(unknown)}. Known: {', '.join(ZOO)}.")
    manifest = read_manifest(out_dir)

    def record(name: str, result: dict[str, Any]) -> None:
        manifest[name] = result
        write_manifest(manifest, out_dir)  # after every model: an interrupted build keeps them

    run_jobs(
        [zoo_job(name, evaluate=evaluate, force=force) for name in names],
        out_dir,
        workers=jobs,
        ray_address=ray_address,
        transfer=transfer,
        on_record=record,
    )
    if codes:
        write_zoo_codes(names, out_dir, force=False)
    return manifest


@torch.inference_mode()
def encode_test_set(folder: Path) -> test_codes.EncodedTestSet:
    """Everything the dashboard computes over a model's whole test split, computed here once.

    The codes (`latent.encode_images`), each image's reconstruction loss
    (`reconstruction.per_image_loss`) and the shown reconstructions' pixel errors
    (`likelihood.shown_image_errors`): the same functions the dashboard calls, so a page shows
    the same numbers whether it read them or computed them. A conditional model encodes and
    decodes each test image with its own label, as the dashboard does.
    """
    folder = Path(folder)
    config = checkpoints.CheckpointStore(folder.parent).read_entry(folder).config
    model = checkpoints.load_model(folder)
    test = load_split(config.dataset, "test")
    images = test.images  # (N, H, W) uint8
    # A conditional model's codes are q(z|x, y) with each digit's own label (the file says so).
    labels = test.labels if config.conditional else None
    encodings = latent.encode_images(model, images, labels=labels)
    outputs = likelihood.outputs_for(config.loss)
    errors = likelihood.shown_image_errors(model, images, outputs, labels=labels)
    mutual_information = None
    if encodings.logvar is not None:  # from the codes as stored, as the dashboard would
        stored = test_codes.stored_logvar(encodings.logvar)
        dimensions = latent_dims.latent_dimensions(encodings.mu, stored, samples=MI_SAMPLES)
        mutual_information = dimensions.mutual_information
    return test_codes.EncodedTestSet(
        mu=encodings.mu,
        logvar=encodings.logvar,
        losses=reconstruction.per_image_loss(model, images, config.loss, labels=labels),
        pixel_errors={output: error._asdict() for output, error in errors.items()},
        mutual_information=mutual_information,
    )


def write_zoo_codes(
    only: Iterable[str] | None = None, out_dir: Path | None = None, *, force: bool = True
) -> list[Path]:
    """Write ``test_codes.safetensors`` beside each zoo model in `out_dir` (``zoo --codes``).

    Args:
        only: names from `ZOO`; all when None. Models not built in `out_dir` are skipped.
        out_dir: the zoo folder (default: the project's checkpoints/).
        force: recompute fresh files too; otherwise only missing or stale ones.

    Returns:
        The files written.
    """
    out_dir = Path(out_dir) if out_dir is not None else zoo_dir()
    store = checkpoints.CheckpointStore(out_dir)
    written = []
    for name in list(only) if only else list(ZOO):
        config = ZOO[name]
        if not store.contains(config):
            print(f"{name}: not built in {out_dir}; skipped", file=sys.stderr)
            continue
        if config.kind == "vq":
            # Its code is a 784-number grid: 31 MB of float32 per test set, over the zoo's
            # budget; the dashboard encodes the test set itself (about a second).
            print(f"{name}: a VQ-VAE ships no test codes; skipped", file=sys.stderr)
            continue
        folder = store.path_for(config)
        digest = test_codes.images_digest(load_split(config.dataset, "test").images)
        if not force and test_codes.read_encoded_test_set(folder, digest) is not None:
            continue
        started = time.perf_counter()
        path = test_codes.write_encoded_test_set(folder, encode_test_set(folder), digest)
        seconds = time.perf_counter() - started
        print(f"{name}: {path.stat().st_size:,} bytes in {seconds:.1f} s", file=sys.stderr)
        written.append(path)
    return written


_TABLE_COLUMNS = (
    ("test −ELBO", "test_neg_elbo", "{:.1f}"),
    ("IW-NLL", "test_iw_nll", "{:.1f}"),
    ("BCE", "test_bce", "{:.1f}"),
    ("KL", "test_kl", "{:.2f}"),
    ("active", "active_units", "{}"),
    ("kNN acc", "knn_accuracy", "{:.3f}"),
    ("MNIST-FID", "sample_fid", "{:.1f}"),
    ("conf.", "sample_confidence", "{:.3f}"),
    ("train s", "train_seconds", "{:.0f}"),
)


def manifest_table(manifest: dict[str, Any]) -> str:
    """The zoo's metrics as a Markdown table (for the README and closing notes)."""
    header = ["model", "epochs", *(title for title, _, _ in _TABLE_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in sorted(manifest):
        record = manifest[name]
        metrics = record.get("metrics", {})
        cells = [f"`{name}`", str(record["config"]["epochs"])]
        for _, key, fmt in _TABLE_COLUMNS:
            value = metrics.get(key)
            cells.append("–" if value is None else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
