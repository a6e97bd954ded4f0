"""Time to quality: test -ELBO against wall-clock seconds for the quick recipe, the default
(full) recipe and the original project's Keras recipe, all in one run on this machine.

Each JL-ML recipe runs as a whole ``python -m jlml_core train --recipe NAME`` process (Python
start, imports, data, training, evaluation, saving: what a student waits for) into an empty
cache with an empty zoo, so nothing is found ready-made. The quick recipe runs ``--runs`` times
in a row (issue #20 asks for three under 60 s). The Keras recipe is ``bench/keras_baseline.py``
(its own TensorFlow venv; skipped when ``--keras-python`` does not exist) with a test
evaluation after every epoch, whose time it leaves out of the epoch times.

    python bench/time_to_quality.py --json-out bench/results/time_to_quality.json \
        --svg docs/time_to_quality.svg

Prints one table: per run the wall seconds, the test -ELBO (one posterior sample per image,
as the zoo reports) and the ratio of its time to the quick recipe's in this same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jlml_core.config import RECIPES  # noqa: E402
from jlml_core.store.checkpoints import CheckpointStore  # noqa: E402

TARGET_NATS, TARGET_SECONDS = 150.0, 60.0
TITLE = "Time to quality: the 2-D shallow-CNN VAE, whole training commands"
COLORS = {"quick": "#d62728", "full": "#1f77b4", "keras": "#7f7f7f"}


def cpu_name() -> str:
    """The CPU's model name and its bf16 support, as `lscpu` says (the figures' machine)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    name = fields.get("Model name", "unknown CPU").strip()
    flags = fields.get("Flags", "")
    isa = "AVX512_BF16" if "avx512_bf16" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    family, model = fields.get("CPU family", "?").strip(), fields.get("Model", "?").strip()
    return f"{name} (family {family} model {model}, {isa}, {os.cpu_count()} CPUs)"


def run_recipe(name: str) -> dict:
    """One whole `train --recipe NAME` process; its wall time, metrics and per-epoch curve."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as zoo:
        env = os.environ | {"JLML_ZOO_DIR": zoo, "JLML_CACHE_DIR": cache}
        command = [sys.executable, "-m", "jlml_core", "train", "--recipe", name]
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - started
        (entry,) = CheckpointStore(cache).entries()
        history = json.loads((entry.path / "history.json").read_text())
    # Cumulative seconds after each evaluated epoch, shifted by the process's own start-up
    # (the wall time not spent in epochs), so the last point sits at the wall time.
    epochs_seconds = sum(record["seconds"] for record in history)
    offset = wall - epochs_seconds
    curve, elapsed = [], offset
    for record in history:
        elapsed += record["seconds"]
        if "test_neg_elbo" in record:
            curve.append((round(elapsed, 2), round(record["test_neg_elbo"], 3)))
    return {
        "recipe": name,
        "wall_seconds": round(wall, 2),
        "test_neg_elbo": round(entry.metrics["test_neg_elbo"], 3),
        "images_per_second": round(entry.metrics["images_per_second"], 1),
        "precision": entry.metrics.get("precision"),
        "epochs": entry.config.epochs,
        "curve": curve,
    }


def run_keras(python: str, epochs: int) -> dict:
    """The original project's Keras VAE (Adam 1e-3, batch 128, hidden 16), evaluated after
    every epoch. Its time axis is its epochs' own time only (no start-up, no evaluation), which
    favours it: the JL-ML recipes are timed as whole processes."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "keras.json"
        command = [python, "bench/keras_baseline.py", "--arch", "cnn_shallow", "--epochs",
                   str(epochs), "--eval-each-epoch", "--json-out", str(out)]  # fmt: skip
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        result = json.loads(out.read_text())
    epoch_seconds = result["per_epoch_seconds"]
    per_epoch = result["test_neg_elbo_sampled_per_epoch"]
    curve, elapsed = [], 0.0
    for seconds, nats in zip(epoch_seconds, per_epoch, strict=True):
        elapsed += seconds
        curve.append((round(elapsed, 2), round(nats, 3)))
    return {
        "recipe": "keras",
        "wall_seconds": round(elapsed, 2),
        "test_neg_elbo": round(per_epoch[-1], 3),
        "images_per_second": round(60_000 * len(epoch_seconds) / elapsed, 1),
        "precision": "fp32",
        "epochs": epochs,
        "curve": curve,
    }


def svg_chart(runs: list[dict], title: str, subtitle: str = "") -> str:
    """A small line chart of test -ELBO against seconds (log x), one line per recipe run."""
    width, height, left, right, top, bottom = 720, 400, 60, 20, 48, 50
    points = [p for run in runs for p in run["curve"]]
    x_low, x_high = 10.0, max(p[0] for p in points) * 1.15
    y_low, y_high = 140.0, min(max(p[1] for p in points) + 5, 200.0)

    def x_of(seconds: float) -> float:
        share = (math.log10(max(seconds, x_low)) - math.log10(x_low)) / (
            math.log10(x_high) - math.log10(x_low)
        )
        return left + share * (width - left - right)

    def y_of(nats: float) -> float:
        share = (min(max(nats, y_low), y_high) - y_low) / (y_high - y_low)
        return top + (1 - share) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" '
             f'fill="white"/><text x="{left}" y="18" font-size="14">{title}</text>'
             f'<text x="{left}" y="33" fill="#555">{subtitle}</text>']  # fmt: skip
    for seconds in (10, 30, 60, 120, 300, 600, 1200, 3000):
        if seconds <= x_high:
            x = x_of(seconds)
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" '
                         f'stroke="#eee"/><text x="{x:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{seconds}</text>')  # fmt: skip
    for nats in range(int(y_low), int(y_high) + 1, 10):
        y = y_of(nats)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="#eee"/><text x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{nats}</text>')  # fmt: skip
    target_x, target_y = x_of(TARGET_SECONDS), y_of(TARGET_NATS)
    parts.append(f'<path d="M{left},{target_y:.1f} H{target_x:.1f} V{height - bottom}" '
                 f'fill="none" stroke="#2ca02c" stroke-dasharray="4 3"/>'
                 f'<text x="{target_x + 4:.1f}" y="{target_y + 14:.1f}" fill="#2ca02c">'
                 f'target: {TARGET_NATS:g} nats in {TARGET_SECONDS:g} s</text>')  # fmt: skip
    legend_y = top + 10
    for run in runs:
        color = COLORS.get(run["recipe"], "black")
        path = " ".join(f"{x_of(s):.1f},{y_of(n):.1f}" for s, n in run["curve"])
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{x_of(s):.1f}" cy="{y_of(n):.1f}" r="3" fill="{color}"/>'
                  for s, n in run["curve"]]  # fmt: skip
    for name in dict.fromkeys(run["recipe"] for run in runs):
        color = COLORS.get(name, "black")
        parts.append(f'<rect x="{width - 170}" y="{legend_y - 9}" width="12" height="3" '
                     f'fill="{color}"/><text x="{width - 152}" y="{legend_y - 4}">'
                     f'{name} recipe</text>')  # fmt: skip
        legend_y += 16
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" '
                 f'text-anchor="middle">seconds from the command (log scale)</text>'
                 f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + height - bottom) / 2})">'
                 f'test −ELBO, nats</text></svg>')  # fmt: skip
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--runs", type=int, default=3, help="runs of the quick recipe in a row")
    parser.add_argument("--keras-python", default="/tmp/tfvenv/bin/python",
                        help="python of a TensorFlow venv (bench/README_keras.md)")  # fmt: skip
    parser.add_argument("--keras-epochs", type=int, default=10)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--svg", type=Path, help="write the chart here")
    parser.add_argument("--chart-only", type=Path, metavar="JSON",
                        help="run nothing: redraw --svg from an earlier --json-out")  # fmt: skip
    args = parser.parse_args()
    if args.chart_only:
        saved = json.loads(args.chart_only.read_text())
        args.svg.write_text(svg_chart(saved["runs"], TITLE, saved["machine"]))
        return
    machine = cpu_name()
    print(f"machine: {machine}; torch threads as the CLI picks them")
    runs = []
    for name in args.recipes:
        for _ in range(args.runs if name == "quick" else 1):
            runs.append(run_recipe(name))
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "curve"}), flush=True)
    if Path(args.keras_python).exists():
        runs.append(run_keras(args.keras_python, args.keras_epochs))
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "curve"}), flush=True)
    else:
        print(f"Keras recipe skipped: no {args.keras_python} (see bench/README_keras.md)")
    quick = [r["wall_seconds"] for r in runs if r["recipe"] == "quick"]
    reference = min(quick) if quick else None
    print("\n| recipe | epochs | wall s | test −ELBO | images/s | time / quick |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in runs:
        ratio = f"{run['wall_seconds'] / reference:.2f}x" if reference else "–"
        seconds, nats = f"{run['wall_seconds']:.1f}", f"{run['test_neg_elbo']:.2f}"
        speed = f"{run['images_per_second']:,.0f}"
        cells = (run["recipe"], run["epochs"], seconds, nats, speed, ratio)
        print("| " + " | ".join(map(str, cells)) + " |")
    for run in runs:  # when each run first reached the target, from its evaluated epochs
        reached = next((s for s, n in run["curve"] if n <= TARGET_NATS), None)
        when = f"{reached:.0f} s" if reached is not None else "not reached"
        print(f"{run['recipe']}: {TARGET_NATS:g} nats {when}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2) + "\n")
    if args.svg:
        args.svg.write_text(svg_chart(runs, TITLE, machine))


if __name__ == "__main__":
    main()
