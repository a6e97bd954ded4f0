"""Decode latency: 1 and 400 latent points, JL-ML's decode against the stock-layer decoder.

    .venv/bin/python bench/decode_latency.py                 # ~2 minutes on 2 cores
    .venv/bin/python bench/decode_latency.py --rounds 5 --json-out bench/results/decode_latency.json

For the zoo's default model (`vae-cnn-z2`, shallow CNN) and its dense model (`vae-dense-z2`),
loaded from checkpoints/ as the dashboard loads them (eval, channels_last for conv models), it
times decoding 1 point (a click) and 400 points (the Latent Explorer's 20 x 20 background) to
images in [0, 1], in fp32 and bf16, with one torch thread (the dashboard server's
`TORCH_THREADS`) and with two, for four paths:

- stock: the textbook decode, `torch.sigmoid(model.decode(z))` in one batch with the stock
  PyTorch layers (`layers.to_stock_layers`), under bf16 autocast for bf16: the baseline;
- before: what `latent.decode_points` did before the inference decoder (the model's own
  `decode` under autocast, in chunks of 128, then sigmoid and numpy), replayed here;
- fixed: `latent.decode_points` as every machine ran it before session 11 (fixed chunks, the
  last convolution as taps);
- now: `latent.decode_points` as the page calls it, with the chunk and last convolution
  measured best here (`decoder.tune_decode_setting`, which the server runs as it starts).

The process runs with the dashboard server's settings (`server.configure()`: malloc keeps a
decode's freed buffers), as the server does. A fresh process per row then times the first
decodes (model load, then 1 point, then 400, where a one-off preparation would show) and the
steady 400-point decode, with the server's malloc settings and with glibc's defaults, whose
speed depends on what the process freed before (docs/benchmarks.md, "Session 12").

Each figure is the median of many decodes after a warm-up; the rounds are interleaved (every
path, precision and thread count once per round) and each row reports the median over rounds,
so a shared machine's load hits every path alike: read the ratios against the stock path of the
same run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import ConvTranspose2d  # noqa: E402

from dashboard import server  # noqa: E402
from jlml_core.inference import decoder, latent  # noqa: E402
from jlml_core.jobs.runner import machine_description  # noqa: E402
from jlml_core.nn.layers import to_stock_layers  # noqa: E402
from jlml_core.nn.models import Autoencoder  # noqa: E402
from jlml_core.runtime import precision as precisions  # noqa: E402
from jlml_core.runtime.precision import bf16_supported  # noqa: E402
from jlml_core.store import checkpoints, model_cache, zoo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("vae-cnn-z2", "vae-dense-z2")
# bf16 only where the CPU has bf16 instructions (pages decode in fp32 elsewhere: "auto"), and
# not when ATen is capped below AVX-512 to stand in for an AVX2 CPU (`ATEN_CPU_CAPABILITY=avx2`;
# see docs/benchmarks.md): bf16 is then emulated, minutes per row.
PRECISIONS = (
    ("fp32", "bf16")
    if bf16_supported() and torch.backends.cpu.get_cpu_capability().startswith("AVX512")
    else ("fp32",)
)
POINTS = (1, 400)
PREVIOUS_DECODE_BATCH = 128

Decode = Callable[[np.ndarray], np.ndarray]


def load_zoo_model(name: str) -> Autoencoder:
    """A zoo model as the dashboard loads it (checkpoints.load_model: eval, NHWC for convs)."""
    config = zoo.ZOO[name]
    store = model_cache.find(config)
    if store is None:
        raise SystemExit(f"{name} is not in checkpoints/; build the zoo first.")
    return checkpoints.load_model(store.path_for(config))


def stock_decode(model: Autoencoder, precision: str) -> Decode:
    """The baseline: the model with stock layers, one batch, sigmoid, numpy."""
    stock = to_stock_layers(copy.deepcopy(model))

    @torch.inference_mode()
    def decode(z: np.ndarray) -> np.ndarray:
        with precisions.autocast(precision):
            logits = stock.decode(torch.from_numpy(z))
        return torch.sigmoid(logits.float())[:, 0].numpy()

    return decode


def previous_decode(model: Autoencoder, precision: str) -> Decode:
    """`latent.decode_points` before the inference decoder: model.decode under autocast."""

    @torch.inference_mode()
    def decode(z: np.ndarray) -> np.ndarray:
        images = []
        for start in range(0, len(z), PREVIOUS_DECODE_BATCH):
            codes = torch.from_numpy(z[start : start + PREVIOUS_DECODE_BATCH])
            with precisions.autocast(precision):
                logits = model.decode(codes)
            images.append(latent.logits_to_images(logits.float()))
        return np.concatenate(images)

    return decode


def fixed_chunk_decode(model: Autoencoder, precision: str) -> Decode:
    """`latent.decode_points` as every machine ran it before session 11: chunks of
    `decoder.INFERENCE_BATCH` (tuned on AMD Zen 5 in session 8), the last convolution as taps."""
    run = decoder.inference_decoder(
        model, precision, decoder.DecodeSetting(decoder.INFERENCE_BATCH[precision])
    )

    @torch.inference_mode()
    def decode(z: np.ndarray) -> np.ndarray:
        chunks = range(0, len(z), run.batch_size)
        codes = torch.from_numpy(z)
        return np.concatenate(
            [latent.logits_to_images(run.decode(codes[i : i + run.batch_size])) for i in chunks]
        )

    return decode


def current_decode(model: Autoencoder, precision: str) -> Decode:
    """`latent.decode_points` as the Latent Explorer calls it (precision given explicitly), with
    the setting `decoder.tune_decode_setting` measured best here, as the server does at start."""
    return lambda z: latent.decode_points(model, z, precision=precision)


PATHS: dict[str, Callable[[Autoencoder, str], Decode]] = {
    "stock": stock_decode,
    "before": previous_decode,
    "fixed": fixed_chunk_decode,
    "now": current_decode,
}


def median_ms(decode: Decode, z: np.ndarray, repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this thread (ms) of `repeats` decodes of `z`,
    after two warm-up decodes. With one torch thread the CPU time is the decode's own work,
    which other tenants of a shared machine inflate far less than the wall time."""
    decode(z)
    decode(z)
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.thread_time()
        decode(z)
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def codes_for(model: Autoencoder, points: int) -> np.ndarray:
    """400 points: the 20 x 20 grid on [-4, 4]^2 (a background); 1 point: one of them."""
    grid = latent.grid_points((-4.0, 4.0), (-4.0, 4.0), 20)  # (400, 2)
    if model.latent_dim != 2:
        grid = latent.sample_prior(400, model.latent_dim, seed=0)
    return grid[:points].copy() if points < len(grid) else grid


def largest_differences(model: Autoencoder) -> dict[str, float]:
    """Largest pixel difference of the current decode against the stock one, per precision,
    and of bf16 against fp32 (400 points)."""
    z = codes_for(model, 400)
    decoded = {(path, p): PATHS[path](model, p)(z) for path in ("stock", "now") for p in PRECISIONS}
    result = {
        f"now_vs_stock_{p}": float(np.abs(decoded["now", p] - decoded["stock", p]).max())
        for p in PRECISIONS
    }
    if "bf16" in PRECISIONS:
        result["now_bf16_vs_stock_fp32"] = float(
            np.abs(decoded["now", "bf16"] - decoded["stock", "fp32"]).max()
        )
    return result


FIRST_CALL_SCRIPT = """
import statistics, sys, time
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads(1)
sys.path.insert(0, {bench!r})
import decode_latency as bench
if {server_malloc!r}:
    bench.server.configure()  # one thread too
model = bench.load_zoo_model({name!r})
decode = bench.PATHS[{path!r}](model, {precision!r})
times = []
for points in (1, 400):
    z = bench.codes_for(model, points)
    started = time.perf_counter()
    decode(z)
    times.append(1000 * (time.perf_counter() - started))
steady = []
for _ in range(15):
    started = time.perf_counter()
    decode(z)
    steady.append(1000 * (time.perf_counter() - started))
print(times[0], times[1], statistics.median(steady))
"""


def first_call_ms(
    name: str, path: str, precision: str, server_malloc: bool
) -> tuple[float, float, float]:
    """A fresh process's first 1-point and then 400-point decode, and its median 400-point
    decode after those, one thread, with the server's malloc settings or glibc's (ms)."""
    script = FIRST_CALL_SCRIPT.format(
        root=str(ROOT),
        bench=str(ROOT / "bench"),
        name=name,
        path=path,
        precision=precision,
        server_malloc=server_malloc,
    )
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    one, many, steady = output.split()
    return float(one), float(many), float(steady)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: 3)")
    parser.add_argument("--repeats", type=int, default=25, help="400-point decodes per figure")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--json-out", default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    server.configure()  # the server's malloc settings (and one thread, changed per round below)
    load_before = os.getloadavg()
    machine = machine_description().rsplit(",", 1)[0]  # the thread count varies below
    print(f"{machine}, {torch.backends.cpu.get_cpu_capability()}")
    print(f"bf16 instructions (AVX512_BF16/AMX): {'yes' if bf16_supported() else 'no'}")
    print(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    models = {name: load_zoo_model(name) for name in args.models}
    decoders = {
        (name, path, p): PATHS[path](model, p)
        for name, model in models.items()
        for path in PATHS
        for p in PRECISIONS
    }
    conv = next(
        (m for m in models.values() if any(isinstance(x, ConvTranspose2d) for x in m.modules())),
        None,
    )
    settings = {}
    if conv is not None:  # what `python -m dashboard` does once, here per thread count
        for threads in args.threads:
            torch.set_num_threads(threads)
            chosen = {p: decoder.tune_decode_setting(conv, p) for p in PRECISIONS}
            settings[threads] = {p: chosen[p]._asdict() for p in PRECISIONS}
            print(f"measured setting, {threads} thread(s): {chosen}")
    rounds: dict[tuple, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for threads in args.threads:
            torch.set_num_threads(threads)
            for (name, path, p), decode in decoders.items():
                for points in POINTS:
                    z = codes_for(models[name], points)
                    repeats = args.repeats if points > 1 else 20 * args.repeats
                    timing = median_ms(decode, z, repeats)
                    rounds.setdefault((name, threads, p, points, path), []).append(timing)
    load_after = os.getloadavg()

    rows = []
    for name in args.models:
        print(f"\n{name}: median ms over {args.rounds} interleaved rounds (stock / path)")
        print(
            f"{'threads':>7} {'prec':>5} {'points':>6} {'clock':>5} "
            + "".join(f"{p:>17}" for p in PATHS)
        )
        for threads in args.threads:
            for p in PRECISIONS:
                for points in POINTS:
                    runs = {path: rounds[name, threads, p, points, path] for path in PATHS}
                    row = {"model": name, "threads": threads, "precision": p, "points": points}
                    for clock, column in (("wall", 0), ("cpu", 1)):
                        if clock == "cpu" and threads > 1:
                            continue  # other threads' work is not in this thread's CPU time
                        ms = {
                            path: statistics.median(r[column] for r in runs[path]) for path in PATHS
                        }
                        cells = "".join(
                            f"{ms[path]:9.3f} ({ms['stock'] / ms[path]:4.2f}x)" for path in PATHS
                        )
                        print(f"{threads:>7} {p:>5} {points:>6} {clock:>5} {cells}")
                        row |= {f"{path}_{clock}_ms": ms[path] for path in PATHS}
                    rows.append(row | {"rounds": {path: runs[path] for path in PATHS}})
    differences = {name: largest_differences(model) for name, model in models.items()}
    print("\nlargest pixel difference, 400 points:")
    for name, diff in differences.items():
        print(f"  {name}: " + ", ".join(f"{k} {v:.2e}" for k, v in diff.items()))
    first = {}
    print(
        "\nfresh process, one thread: first decode of 1 point, then of 400, then the median"
        " 400-point decode (ms), with the server's malloc settings or glibc's defaults"
    )
    for name in args.models:
        for path in ("before", "now"):
            for p in PRECISIONS:
                for malloc, server_malloc in (("server", True), ("glibc", False)):
                    one, many, steady = first_call_ms(name, path, p, server_malloc)
                    first[f"{name} {path} {p} {malloc}"] = [one, many, steady]
                    print(
                        f"  {name:<13} {path:<6} {p} {malloc:<6}: "
                        f"{one:7.2f} {many:8.2f} {steady:8.2f}"
                    )
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    if args.json_out:
        summary = {
            "machine": machine,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "bf16_supported": bf16_supported(),
            "command": " ".join(["python", *sys.argv]),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_average": [load_before, load_after],
            "measured_settings": settings,
            "rows": rows,
            "largest_differences": differences,
            "first_call_ms": first,
        }
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
