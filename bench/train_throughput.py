"""Training throughput and decode latency, against a plain PyTorch loop measured in the same run.

For each architecture x kind (batch 128, latent 2, full-size MNIST batches) it times
- JL-ML's `train_one_epoch` (uint8 batches sliced in memory, channels_last for conv models), and
- a plain, well-written eager PyTorch loop over an in-memory float tensor (NCHW) with the same
  model, loss and optimiser,
and prints images/second for both and their ratio, JL-ML once in fp32 and once under bf16
autocast (`TrainConfig.precision`). The measurements are interleaved: two rounds over all rows,
the Keras runs (``--keras-python``: bench/keras_baseline.py in that interpreter) between them,
and each row reports the mean of its rounds. Then it times decoding 1 and 400 latent points in
both precisions. The output names the CPU and whether it has bf16 instructions.

    .venv/bin/python bench/train_throughput.py                # ~4 minutes on 2 cores
    .venv/bin/python bench/train_throughput.py --keras-python /tmp/tfvenv/bin/python

Run it on a quiet machine: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core
import torch.nn.functional as F

from jlml_core.config import TrainConfig
from jlml_core.data.batches import uses_channels_last
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.jobs.zoo_build import machine_description
from jlml_core.nn.layers import to_stock_layers
from jlml_core.nn.models import build_model
from jlml_core.runtime.precision import bf16_supported
from jlml_core.training.train import make_optimizer, train_one_epoch

ROOT = Path(__file__).resolve().parent.parent


def plain_loop_images_per_second(config: TrainConfig, images: torch.Tensor, epochs: int) -> float:
    """The baseline: float tensor in memory, NCHW, the textbook VAE loop (pytorch/examples),
    with the stock PyTorch layers a user would write."""
    model = to_stock_layers(build_model(config))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    data = images.float().div(255).unsqueeze(1)  # (N, 1, 28, 28), converted once up front
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(data))
        for start in range(0, len(data), config.batch_size):
            x = data[order[start : start + config.batch_size]]
            mu, logvar = model.encode(x)
            z = mu if logvar is None else mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            logits = model.decode(z)
            loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            if logvar is not None:
                loss = loss - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = loss / len(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return epochs * len(data) / (time.perf_counter() - started)


def jlml_images_per_second(config: TrainConfig, images: torch.Tensor, epochs: int) -> float:
    """JL-ML's training path (what `fit` runs each epoch)."""
    model = build_model(config)
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for epoch in range(epochs):
        train_one_epoch(model, optimizer, images, config, generator, epoch=epoch + 1)
    return epochs * len(images) / (time.perf_counter() - started)


def decode_latency_ms(config: TrainConfig, points: int, precision: str, repeats: int = 30) -> float:
    """Median time to decode `points` codes with a model prepared as the dashboard does."""
    model = build_model(config).eval()
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    z = latent.sample_prior(points, config.latent_dim, seed=0)
    latent.decode_points(model, z, precision=precision)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        latent.decode_points(model, z, precision=precision)
        times.append(time.perf_counter() - started)
    return 1000 * sorted(times)[len(times) // 2]


def keras_images_per_second(python: str, arch: str, epochs: int) -> dict:
    """Run the Keras baseline in its own interpreter; returns its JSON result."""
    out = ROOT / "bench" / "results" / f"keras_same_run_{arch}.json"
    subprocess.run(
        [
            python,
            str(ROOT / "bench" / "keras_baseline.py"),
            "--arch",
            arch,
            "--epochs",
            str(epochs),
            "--json-out",
            str(out),
        ],
        check=True,
    )
    return json.loads(out.read_text())


PRECISIONS = ("fp32", "bf16")


def measure_round(archs: list[str], kinds: list[str], images, epochs: int) -> dict:
    """One pass over every (arch, kind): plain loop, JL-ML fp32, JL-ML bf16, in that order."""
    measured = {}
    for arch in archs:
        for kind in kinds:
            config = TrainConfig(arch=arch, kind=kind, latent_dim=2, batch_size=128)
            row = {"plain_loop": plain_loop_images_per_second(config, images, epochs)}
            for precision in PRECISIONS:
                row[precision] = jlml_images_per_second(
                    config.replace(precision=precision), images, epochs
                )
            measured[(arch, kind)] = row
            print(f"  round: {kind} {arch} " + ", ".join(f"{k} {v:,.0f}" for k, v in row.items()))
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images",
        type=int,
        default=12_800,
        help="training images per timed epoch (default: %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default: 2)")
    parser.add_argument("--archs", nargs="*", default=["dense", "cnn_shallow", "cnn_deep"])
    parser.add_argument("--kinds", nargs="*", default=["vae"])
    parser.add_argument("--keras-epochs", type=int, default=3)
    parser.add_argument(
        "--keras-python",
        default=None,
        help="interpreter with tensorflow to run bench/keras_baseline.py",
    )
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "throughput.json"))
    args = parser.parse_args(argv)

    machine = f"{machine_description()}, {torch.backends.cpu.get_cpu_capability()}"
    has_bf16 = bf16_supported()
    print(f"{machine}; bf16 instructions (AVX512_BF16/AMX): {'yes' if has_bf16 else 'no'}")
    train = load_split("mnist", "train")
    images = train.images[: args.images]
    warm = train.images[:1024]
    for arch in args.archs:  # warm-up: allocator, oneDNN kernels
        for kind in args.kinds:
            config = TrainConfig(arch=arch, kind=kind, latent_dim=2)
            plain_loop_images_per_second(config, warm, 1)
            for precision in PRECISIONS:
                jlml_images_per_second(config.replace(precision=precision), warm, 1)
    rounds = []
    keras = {}
    keras_archs = [a for a in ("cnn_shallow", "dense") if a in args.archs]
    for number in range(args.rounds):
        rounds.append(measure_round(args.archs, args.kinds, images, args.epochs))
        if args.keras_python and number == 0:  # between the rounds: same conditions as ours
            for arch in keras_archs:
                result = keras_images_per_second(args.keras_python, arch, args.keras_epochs)
                keras[arch] = {"keras": result["images_per_second"]}
                print(f"  keras vae {arch}: {result['images_per_second']:,.0f}")
    rows = []
    header = f"{'model':<16} {'plain loop':>10} {'fp32':>8} {'bf16':>8} {'bf16/plain':>10}"
    print(f"\nimages/s, batch 128, z=2, mean of {args.rounds} interleaved rounds")
    print(header + (f" {'Keras':>8} {'fp32/K':>7} {'bf16/K':>7}" if keras else ""))
    for arch in args.archs:
        for kind in args.kinds:
            mean = {
                k: sum(r[(arch, kind)][k] for r in rounds) / len(rounds)
                for k in ("plain_loop", *PRECISIONS)
            }
            row = {"arch": arch, "kind": kind, **mean, "rounds": [r[(arch, kind)] for r in rounds]}
            line = (
                f"{kind + ' ' + arch:<16} {mean['plain_loop']:10,.0f} {mean['fp32']:8,.0f} "
                f"{mean['bf16']:8,.0f} {mean['bf16'] / mean['plain_loop']:9.2f}x"
            )
            if kind == "vae" and arch in keras:
                theirs = keras[arch]["keras"]
                row |= {"keras": theirs, "fp32_over_keras": mean["fp32"] / theirs}
                row["bf16_over_keras"] = mean["bf16"] / theirs
                line += (
                    f" {theirs:8,.0f} {mean['fp32'] / theirs:6.2f}x {mean['bf16'] / theirs:6.2f}x"
                )
            rows.append(row)
            print(line, flush=True)
    decode = {}
    for arch in args.archs:
        config = TrainConfig(arch=arch, latent_dim=2)
        decode[arch] = {
            p: {n: decode_latency_ms(config, n, p) for n in (1, 400)} for p in PRECISIONS
        }
        print(
            f"decode {arch:<12} "
            + "   ".join(
                f"{p}: 1 point {decode[arch][p][1]:5.2f} ms, "
                f"400 points {decode[arch][p][400]:6.1f} ms"
                for p in PRECISIONS
            )
        )
    summary = {
        "machine": machine,
        "bf16_supported": has_bf16,
        "command": " ".join(["python", *sys.argv]),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "training": rows,
        "decode_ms": decode,
        "keras": keras,
    }
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
