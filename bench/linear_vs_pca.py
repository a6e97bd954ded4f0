"""The shipped linear autoencoders against PCA at the same k (issue #18, family 5).

Fits PCA to MNIST's 60,000 training digits (float64 covariance), loads `linear-ae-z2` and
`linear-ae-z16` from checkpoints/, and prints for each k: both test MSEs (per image, summed
over pixels, unclipped), the gap, and the principal angles between the decoder's column space
and PCA's top-k subspace. Also checks PCA's closed form on the training set (MSE = the sum of
the discarded eigenvalues). Results also go to bench/results/linear_vs_pca.json.

    nice -n 5 .venv/bin/python bench/linear_vs_pca.py      # ~30 s on one core
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

from jlml_core.analysis import pca
from jlml_core.data.datasets import load_split
from jlml_core.jobs.zoo_build import machine_description
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.store.zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("linear-ae-z2", "linear-ae-z16")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--json-out", type=Path, default=ROOT / "bench/results/linear_vs_pca.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, test = load_split("mnist", "train"), load_split("mnist", "test")
    started = time.perf_counter()
    fitted = pca.fit_pca(train.images)
    fit_seconds = time.perf_counter() - started
    store = CheckpointStore(args.zoo, read_only=True)
    print(machine_description())
    print(f"PCA of {len(train):,} training digits: {fit_seconds:.1f} s (float64, 1 thread)")
    print("model            k  AE test MSE  PCA test MSE     gap  largest angle  all (deg)")
    rows = []
    for name in MODELS:
        model = store.load(ZOO[name])
        result = pca.compare_with_pca(model, fitted, test.images)
        k = result.k
        closed_form = fitted.discarded_variance(k)
        on_train = pca.pca_mse(fitted, train.images, k)
        angles = ", ".join(f"{a:.2f}" for a in result.angles_degrees)
        print(
            f"{name:15s} {k:2d}  {result.model_mse:11.3f}  {result.pca_mse:12.3f}  "
            f"{100 * result.relative_gap:+5.2f}%  {result.angles_degrees.max():12.2f}°  {angles}"
        )
        print(
            f"{'':15s}     PCA on the training set: {on_train:.4f}, sum of discarded "
            f"eigenvalues {closed_form:.4f}"
        )
        rows.append(
            {
                "model": name,
                "k": k,
                "ae_test_mse": result.model_mse,
                "pca_test_mse": result.pca_mse,
                "relative_gap": result.relative_gap,
                "angles_degrees": result.angles_degrees.tolist(),
                "pca_train_mse": on_train,
                "discarded_eigenvalues": closed_form,
            }
        )
    explained = np.cumsum(fitted.eigenvalues) / fitted.eigenvalues.sum()
    print(f"Variance explained by PCA: k=2 {explained[1]:.3f}, k=16 {explained[15]:.3f}")
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(
        json.dumps(
            {
                "machine": machine_description(),
                "command": "python bench/linear_vs_pca.py",
                "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "pca_fit_seconds": fit_seconds,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
