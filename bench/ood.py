"""Out-of-distribution detection by the zoo's models (issue #18, family 6): ROC AUC of telling
Fashion-MNIST's 10,000 test images from MNIST's 10,000 test digits by each digit model's own
score (negative ELBO for a VAE, reconstruction loss for an AE), plus the reverse direction
under the Fashion-MNIST model. Results also go to bench/results/ood.json.

    nice -n 5 .venv/bin/python bench/ood.py                 # every scorable zoo model, ~3 min
    nice -n 5 .venv/bin/python bench/ood.py --samples 4 --models vae-cnn-z2 vae-cnn-z16
    nice -n 5 .venv/bin/python bench/ood.py --first 2000      # what the Your digit page scores
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

from jlml_core.analysis import ood
from jlml_core.data.datasets import load_split
from jlml_core.jobs.zoo_build import machine_description
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.store.zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent


def scorable() -> list[str]:
    """Zoo models the OOD score is defined for, sweep models left out (2-epoch members)."""
    return [
        name
        for name, config in ZOO.items()
        if ood.supports_ood(config) is None and not name.startswith("sweep-")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=None, help="zoo names (default: all)")
    parser.add_argument("--samples", type=int, default=1, help="posterior draws per image")
    parser.add_argument(
        "--first", type=int, default=None, help="score only the first N test images of each"
    )
    parser.add_argument("--zoo", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    store = CheckpointStore(args.zoo, read_only=True)
    names = args.models or [n for n in scorable() if store.contains(ZOO[n])]
    print(machine_description())
    print(f"posterior draws per image (VAE): {args.samples}; images: {args.first or 'all'} of each")
    print(f"{'model':26s} {'inside':>13s} {'outside':>13s} {'score':>19s}  median in/out  ROC AUC")
    rows = []
    for name in names:
        config = ZOO[name]
        inside = load_split(config.dataset, "test").images[: args.first]
        outside = load_split(ood.OTHER_DATASET[config.dataset], "test").images[: args.first]
        started = time.perf_counter()
        result = ood.ood_evaluation(
            store.load(config), config, inside, outside, samples=args.samples
        )
        seconds = time.perf_counter() - started
        medians = np.median(result.inside), np.median(result.outside)
        print(
            f"{name:26s} {config.dataset:>13s} {ood.OTHER_DATASET[config.dataset]:>13s} "
            f"{result.score_name:>19s}  {medians[0]:6.1f}/{medians[1]:6.1f}  {result.auc:.4f}"
            f"   ({seconds:.0f} s)"
        )
        rows.append(
            {
                "model": name,
                "inside": config.dataset,
                "outside": ood.OTHER_DATASET[config.dataset],
                "score": result.score_name,
                "median_inside": float(medians[0]),
                "median_outside": float(medians[1]),
                "roc_auc": result.auc,
                "seconds": seconds,
            }
        )
    first = f"_first{args.first}" if args.first else ""
    out = args.json_out or ROOT / "bench" / "results" / f"ood_samples{args.samples}{first}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python", "bench/ood.py", *(argv if argv is not None else sys.argv[1:])])
    out.write_text(
        json.dumps(
            {
                "machine": machine_description(),
                "command": command,
                "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "samples": args.samples,
                "images_each": args.first,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
