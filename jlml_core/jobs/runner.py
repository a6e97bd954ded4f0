"""Train many configs into a checkpoint store: on this machine or on a Ray cluster.

The zoo (`zoo_build.build_zoo`) and grid sweeps (`sweep.run_sweep`) both hand a list of
`TrainJob`s to `run_jobs`, which runs each with `run_job` ("train one config into a store") in
one of two places:

- locally: a pool of single-threaded processes (``workers`` at once);
- Ray (``ray_address``): one task per model on a Ray cluster (``pip install jlml[cluster]``).

Every job trains single-threaded with the config's seed, so a model comes out bit-for-bit the
same wherever it ran, given the same PyTorch version and CPU type. A Ray task writes straight
into the store when its node sees the store's folder (a shared filesystem); otherwise it sends
the entry's files back and the driver writes them with `CheckpointStore.save_files`.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import resolve_dataset_dir
from jlml_core.store.checkpoints import CheckpointStore, entry_files
from jlml_core.training.train import Progress, fit

# How a Ray task's model reaches the store: "auto" writes directly when the task's node sees
# the store's folder and sends the files back otherwise; the other two insist on one way.
Transfer = Literal["auto", "shared", "return"]
TRANSFERS: tuple[str, ...] = ("auto", "shared", "return")
RAY_INSTALL_HINT = "Ray is not installed; install it with: pip install jlml[cluster]"
_PROBE_PREFIX = ".ray-probe-"

Record = dict[str, Any]
RecordCallback = Callable[[str, Record], None]


@dataclass(frozen=True)
class TrainJob:
    """One model to have in a store: train it unless it is there, optionally evaluate it.

    Attributes:
        name: label for logs and the key of its record (a zoo name, or the config's key).
        config: what to train.
        evaluate: compute the full metrics (`evaluation.evaluate_model`) too.
        force: retrain (and re-evaluate) even if the store has it.
        command: the command that rebuilds this model, kept in its record.
    """

    name: str
    config: TrainConfig
    evaluate: bool = False
    force: bool = False
    command: str = ""


def data_checksums(dataset: str) -> dict[str, str]:
    """SHA256 of each data file the model saw, from the dataset's SHA256SUMS."""
    sums = resolve_dataset_dir(dataset) / "SHA256SUMS"
    if not sums.is_file():
        return {}
    pairs = (line.split() for line in sums.read_text().splitlines() if line.strip())
    return {name.lstrip("*"): digest for digest, name in pairs}


def machine_description() -> str:
    """CPU model and core count, for the manifest's timing figures."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    threads = torch.get_num_threads()
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} thread(s)"


def _epoch_printer(name: str) -> Callable[[Progress], None]:
    """Progress for parallel builds: one line per epoch (several models train at once)."""

    def report(progress: Progress) -> None:
        if progress.epoch_done:
            last = progress.history[-1]
            score = last.get("test_neg_elbo", last["test_reconstruction"])
            print(
                f"{name}: epoch {progress.epoch}/{progress.epochs} test {score:.2f} "
                f"({last['images_per_second']:.0f} images/s)",
                file=sys.stderr,
                flush=True,
            )

    return report


# Rough training cost per image relative to `dense`, for scheduling the longest jobs first.
_ARCH_COST = {"dense": 1.0, "cnn_shallow": 10.0, "cnn_deep": 20.0}


def relative_cost(config: TrainConfig) -> float:
    """Rough training cost of a config, only to order jobs (longest first)."""
    return config.epochs * _ARCH_COST.get(config.arch, 10.0) * (config.train_subset or 60_000)


def run_job(job: TrainJob, out_dir: Path) -> Record:
    """Train (unless present) and optionally evaluate one model single-threaded; its record.

    One thread per model makes the weights independent of the machine's core count, and two
    single-threaded trainings use a 2-core CPU better than one two-threaded one.

    Returns:
        folder (the entry's folder name), config, metrics, train_seconds, data_sha256,
        machine and command.
    """
    torch.set_num_threads(1)
    config = job.config
    store = CheckpointStore(out_dir)
    with store.lock(config):  # two sweeps sharing a store never train the same model twice
        if store.contains(config) and not job.force:
            print(f"{job.name}: present, not retrained", file=sys.stderr)
        else:
            started = time.perf_counter()
            # fp32 unless the config asks for a precision: "auto" would mean bf16 on some CPUs,
            # and the zoo (and a sweep) must rebuild bit-for-bit; the entry keeps the config's
            # key, metrics["precision"] says what was used.
            trained = config.replace(precision="fp32") if config.precision == "auto" else config
            result = fit(trained, on_progress=_epoch_printer(job.name))
            store.save(config, result, extra={"data_sha256": data_checksums(config.dataset)})
            print(f"{job.name}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        evaluated = "knn_accuracy" in store.read_entry(store.path_for(config)).metrics
        if job.evaluate and (job.force or not evaluated):
            # deferred: heavy, and not needed to train
            from jlml_core.analysis.evaluation import IW_SAMPLES, evaluate_model

            metrics = evaluate_model(store.load(config), config, iw_samples=IW_SAMPLES)
            metrics["metrics_command"] = (
                f"python -m jlml_core evaluate --model {config.key()} --iw-samples {IW_SAMPLES}"
            )
            store.update_metrics(config, metrics)
    entry = store.read_entry(store.path_for(config))
    return {
        "folder": entry.path.name,
        "config": config.to_dict(),
        "metrics": entry.metrics,
        "train_seconds": entry.metrics.get("train_seconds"),
        "data_sha256": entry.metrics.get("data_sha256", data_checksums(config.dataset)),
        "machine": machine_description(),
        "command": job.command,
    }


def run_jobs(
    jobs: Sequence[TrainJob],
    out_dir: Path,
    *,
    workers: int = 2,
    ray_address: str | None = None,
    transfer: Transfer = "auto",
    on_record: RecordCallback | None = None,
) -> dict[str, Record]:
    """Run every job into the store at `out_dir`, the most expensive first.

    Args:
        jobs: the models to train; their names must be unique.
        out_dir: the checkpoint store's folder.
        workers: models trained at once locally, one process and one thread each (1: in this
            process). With Ray: CPUs of the local instance that ``ray_address="local"`` starts.
        ray_address: None to run locally; "auto" or a cluster address to use Ray (see
            docs/cluster.md); "local" starts a private single-machine Ray instance.
        transfer: with Ray, how models reach the store (see `Transfer`).
        on_record: called with (name, record) as each job finishes (e.g. to save a manifest).

    Returns:
        Each job's record (see `run_job`), by name.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError("Job names must be unique.")
    ordered = sorted(jobs, key=lambda job: relative_cost(job.config), reverse=True)
    if ray_address is not None:
        return _run_on_ray(ordered, out_dir, ray_address, transfer, workers, on_record)
    return _run_locally(ordered, out_dir, workers, on_record)


def _run_locally(
    jobs: Sequence[TrainJob], out_dir: Path, workers: int, on_record: RecordCallback | None
) -> dict[str, Record]:
    records: dict[str, Record] = {}

    def finished(name: str, record: Record) -> None:
        records[name] = record
        if on_record is not None:
            on_record(name, record)

    if workers <= 1:
        for job in jobs:
            finished(job.name, run_job(job, out_dir))
        return records
    # spawn, not fork: a forked child would inherit the parent's torch thread pools.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_job, job, out_dir): job.name for job in jobs}
        for future in as_completed(futures):
            finished(futures[future], future.result())
    return records


def import_ray() -> Any:
    """The `ray` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(RAY_INSTALL_HINT) from error
    return ray


def ray_init_arguments(address: str, workers: int) -> dict[str, Any]:
    """`ray.init` arguments: join a cluster, or ("local") start a private one on this machine.

    The private instance needs no network and starts no dashboard.
    """
    if address == "local":
        return {"num_cpus": max(workers, 1), "include_dashboard": False}
    return {"address": address}


def _train_remote(job: TrainJob, out_dir: str, probe: str, transfer: Transfer) -> tuple:
    """A Ray task's body: (record, None) if it wrote into the store, else (record, files)."""
    folder = Path(out_dir)
    shared = transfer != "return" and _sees_probe(folder, probe)
    if transfer == "shared" and not shared:
        raise RuntimeError(
            f"{out_dir} is not visible on {platform.node()}; share it on every node, or use "
            "--ray-transfer return (or auto)."
        )
    if shared:
        return run_job(job, folder), None
    with tempfile.TemporaryDirectory(prefix="jlml-ray-") as scratch:
        record = run_job(job, Path(scratch))
        return record, entry_files(Path(scratch) / record["folder"])


def _sees_probe(folder: Path, probe: str) -> bool:
    """True when `folder` holds the probe file the driver just wrote: the same filesystem."""
    try:
        return (folder / f"{_PROBE_PREFIX}{probe}").read_text() == probe
    except OSError:
        return False


def _run_on_ray(
    jobs: Sequence[TrainJob],
    out_dir: Path,
    address: str,
    transfer: Transfer,
    workers: int,
    on_record: RecordCallback | None,
) -> dict[str, Record]:
    if transfer not in TRANSFERS:
        raise ValueError(f"transfer must be one of {', '.join(TRANSFERS)}, not {transfer!r}.")
    ray = import_ray()
    store = CheckpointStore(out_dir)
    records: dict[str, Record] = {}
    remote_jobs = []
    for job in jobs:
        # Models already in the store (and evaluated, if asked) are read here, not shipped.
        if store.contains(job.config) and not job.force:
            metrics = store.read_entry(store.path_for(job.config)).metrics
            if not job.evaluate or "knn_accuracy" in metrics:
                records[job.name] = run_job(job, out_dir)
                if on_record is not None:
                    on_record(job.name, records[job.name])
                continue
        remote_jobs.append(job)
    if not remote_jobs:
        return records
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(**ray_init_arguments(address, workers))
    probe = secrets.token_hex(16)
    probe_file = out_dir.resolve() / f"{_PROBE_PREFIX}{probe}"
    probe_file.write_text(probe)
    try:
        task = ray.remote(num_cpus=1)(_train_remote)
        pending = {
            task.remote(job, str(out_dir.resolve()), probe, transfer): job for job in remote_jobs
        }
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            record, files = ray.get(done[0])
            if files is not None:
                store.save_files(job.config, files)
            records[job.name] = record
            if on_record is not None:
                on_record(job.name, record)
    finally:
        probe_file.unlink(missing_ok=True)
        if started_here:
            ray.shutdown()
    return records
