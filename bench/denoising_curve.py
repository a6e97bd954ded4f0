"""Denoising: PSNR of the zoo's denoising VAE and of its plain twin on corrupted test digits.

Loads `vae-cnn-z16-h64-denoise` (trained with Gaussian noise of std 0.5 on its inputs) and
`vae-cnn-z16-h64-bce` (the same recipe on clean inputs) from checkpoints/, corrupts all 10,000
MNIST test digits (seed 0: the same noise for both models) and prints the mean per-image PSNR
and the MSE of each model's output against the clean digits, for noise sigma 0, 0.1, ..., 1
and for masked fractions 0, 0.1, ..., 0.9, then the denoising model's PSNR gain at sigma 0.5.

    nice -n 5 .venv/bin/python bench/denoising_curve.py   # 9 min on 1 core of a busy machine E
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

from jlml_core.analysis import denoising
from jlml_core.data.datasets import load_split
from jlml_core.jobs.zoo_build import machine_description
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.store.model_cache import zoo_dir
from jlml_core.store.zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
PAIR = {"denoising": "vae-cnn-z16-h64-denoise", "plain": "vae-cnn-z16-h64-bce"}
AT = 0.5


def _table(curves: dict[str, denoising.NoiseCurve]) -> str:
    first = next(iter(curves.values()))
    label = denoising.ALONG_LABELS[first.along]
    names = list(curves)
    header = f"| {label} | " + " | ".join(f"{PAIR[n]} PSNR (dB) / MSE" for n in names)
    lines = [header + " | noisy input PSNR (dB) / MSE |", "|" + "---|" * (len(names) + 2)]
    for i, level in enumerate(first.levels):
        cells = [f"{c.psnr[i]:.2f} / {c.mse[i]:.4f}" for c in curves.values()]
        cells.append(f"{first.input_psnr[i]:.2f} / {first.input_mse[i]:.4f}")
        lines.append(f"| {level:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000, help="first N test digits")
    parser.add_argument("--seed", type=int, default=0, help="the corruption's seed")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    store = CheckpointStore(zoo_dir(), read_only=True)
    models = {role: store.load(ZOO[name]).eval() for role, name in PAIR.items()}
    images = load_split("mnist", "test").images[: args.images]  # uint8 (N, 28, 28)
    started = time.perf_counter()
    results: dict = {
        "machine": machine_description(),
        "command": " ".join(["python", *sys.argv]),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "images": len(images),
        "seed": args.seed,
        "models": PAIR,
    }
    for along, levels in (
        ("noise_std", denoising.SIGMAS),
        ("mask_fraction", denoising.MASK_FRACTIONS),
    ):
        curves = {
            role: denoising.noise_curve(model, images, levels, along, seed=args.seed)
            for role, model in models.items()
        }
        print(_table(curves), end="\n\n")
        results[along] = {
            "levels": list(levels),
            **{f"{role}_psnr": c.psnr.tolist() for role, c in curves.items()},
            **{f"{role}_mse": c.mse.tolist() for role, c in curves.items()},
            "input_psnr": [
                float(v) if v != float("inf") else None for v in curves["plain"].input_psnr
            ],
            "input_mse": curves["plain"].input_mse.tolist(),
        }
        if along == "noise_std":
            gain = denoising.psnr_gain(curves["denoising"], curves["plain"], AT)
            results["psnr_gain_at_sigma_0.5"] = gain
            index = curves["plain"].at(AT)
            print(
                f"At sigma = {AT}: denoising {curves['denoising'].psnr[index]:.2f} dB, plain "
                f"{curves['plain'].psnr[index]:.2f} dB, noisy input "
                f"{curves['plain'].input_psnr[index]:.2f} dB: gain {gain:+.2f} dB\n"
            )
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{results['machine']}; {len(images)} test digits; {results['seconds']} s")
    out = Path(args.json_out or ROOT / "bench" / "results" / "denoising_curve.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
