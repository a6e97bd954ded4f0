"""Is the Train page's time estimate right here? Calibrate, estimate, then train for real.

    python bench/estimate_accuracy.py                      # the Train page's default, 1 epoch
    python bench/estimate_accuracy.py --arch dense --epochs 2 --threads 2

Runs what the Train page runs, in one process with the dashboard's torch thread count (1):
`calibration.measure_throughput` (timed), `calibration.estimate_training_seconds`, then a real
`fit` of the same configuration with its latent history, saved into a temporary checkpoint
store like the page's `get_or_train`. Prints the estimate, the measured time and their ratio;
the target is within 30 %. Run it through /work/pause_training.sh on the shared machine; the
share of a core the process got while calibrating and while training is printed too (with one
thread a busy machine shows as a share below 1).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import torch

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training import calibration
from jlml_core.training.train import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=TrainConfig.arch)
    parser.add_argument("--latent-dim", type=int, default=TrainConfig.latent_dim)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-subset", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="the dashboard uses 1")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainConfig(
        arch=args.arch, latent_dim=args.latent_dim, epochs=args.epochs,
        train_subset=args.train_subset,
    )  # fmt: skip
    load_split(config.dataset, "train"), load_split(config.dataset, "test")  # as on a warm server

    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    speed = calibration.measure_throughput(config)
    calibration_seconds = time.perf_counter() - started
    calibration_cpu = time.process_time() - cpu_started
    estimate = calibration.estimate_training_seconds(config, speed)

    with tempfile.TemporaryDirectory() as folder:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = fit(config)
        CheckpointStore(folder).save(config, result)
        measured = time.perf_counter() - started
        measured_cpu = time.process_time() - cpu_started
    report = {
        "config": config.to_dict(),
        "threads": args.threads,
        "calibration_seconds": round(calibration_seconds, 2),
        "train_images_per_second": round(speed.train_images_per_second, 1),
        "eval_images_per_second": round(speed.eval_images_per_second, 1),
        "snapshot_images_per_second": round(speed.snapshot_images_per_second, 1),
        "estimate_seconds": round(estimate, 1),
        "measured_seconds": round(measured, 1),
        "fit_train_images_per_second": [round(r["images_per_second"], 1) for r in result.history],
        "fit_epoch_seconds": [round(r["seconds"], 1) for r in result.history],
        "estimate_over_measured": round(estimate / measured, 3),
        # With one torch thread, CPU time / wall time is the share of a core this process got:
        # a busy shared machine shows here, and explains a gap between estimate and measurement.
        "cpu_share_during_calibration": round(calibration_cpu / calibration_seconds, 3),
        "cpu_share_during_training": round(measured_cpu / measured, 3),
        "load_average_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    print(json.dumps(report, indent=2))
    if args.json_out:
        with open(args.json_out, "w") as file:
            json.dump(report, file, indent=2)


if __name__ == "__main__":
    main()
