"""Quality of bf16 training: the zoo's default recipe trained in fp32 and in bf16, same seed.

Trains `vae-cnn-z2`'s config (cnn_shallow, latent 2, hidden 128, cosine, Keras init, seed 0,
batch 128) once per precision, single-threaded, and prints the test -ELBO after each epoch.
Evaluation is fp32 in both runs, so the figures compare directly.

    nice -n 10 .venv/bin/python bench/bf16_quality.py --epochs 5     # ~10 min on 1 core
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

from jlml_core.jobs.zoo_build import machine_description
from jlml_core.runtime.precision import bf16_supported
from jlml_core.store.zoo import DEFAULT_MODEL, ZOO
from jlml_core.training.train import Progress, fit

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=ZOO[DEFAULT_MODEL].epochs)
    parser.add_argument("--precisions", nargs="*", default=["fp32", "bf16"])
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.json_out or ROOT / "bench" / "results" / f"bf16_quality_{args.epochs}ep.json")
    results = {
        "machine": machine_description(),
        "bf16_supported": bf16_supported(),
        "command": " ".join(["python", *sys.argv]),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": {},
    }
    for precision in args.precisions:
        config = ZOO[DEFAULT_MODEL].replace(epochs=args.epochs, precision=precision)

        def report(progress: Progress, precision: str = precision) -> None:
            if progress.epoch_done:
                last = progress.history[-1]
                print(
                    f"{precision} epoch {progress.epoch}: test -ELBO {last['test_neg_elbo']:.2f} "
                    f"({last['images_per_second']:.0f} img/s)",
                    flush=True,
                )

        result = fit(config, on_progress=report, record_latents=False)
        results["runs"][precision] = {
            "config": config.to_dict(),
            "test_neg_elbo_per_epoch": [r["test_neg_elbo"] for r in result.history],
            "train_loss_per_epoch": [r["train_loss"] for r in result.history],
            "metrics": result.metrics,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    runs = results["runs"]
    if {"fp32", "bf16"} <= set(runs):
        gap = runs["bf16"]["metrics"]["test_neg_elbo"] - runs["fp32"]["metrics"]["test_neg_elbo"]
        print(f"bf16 - fp32 test -ELBO: {gap:+.2f} nats")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
