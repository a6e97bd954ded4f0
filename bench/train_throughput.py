"""Training throughput and decode latency, against a plain PyTorch loop measured in the same run.

For each architecture x kind (batch 128, latent 2, full-size MNIST batches) it times
- JL-ML's `train_one_epoch` (uint8 batches sliced in memory, channels_last for conv models), and
- a plain, well-written eager PyTorch loop over an in-memory float tensor (NCHW) with the same
  model, loss and optimiser,
and prints images/second for both and their ratio. Then it times decoding 1 and 400 latent
points. Optionally (``--keras-python``) it runs bench/keras_baseline.py in that interpreter in the
same run and prints the ratio to the Keras/TensorFlow model too.

    .venv/bin/python bench/train_throughput.py                # ~5 minutes on 2 cores
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

from jlml_core import latent
from jlml_core.config import TrainConfig
from jlml_core.data import load_split
from jlml_core.layers import to_stock_layers
from jlml_core.models import build_model
from jlml_core.train import train_one_epoch, uses_channels_last
from jlml_core.zoo import machine_description

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
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for epoch in range(epochs):
        train_one_epoch(model, optimizer, images, config, generator, epoch=epoch + 1)
    return epochs * len(images) / (time.perf_counter() - started)


def decode_latency_ms(config: TrainConfig, points: int, repeats: int = 30) -> float:
    """Median time to decode `points` codes with a model prepared as the dashboard does."""
    model = build_model(config).eval()
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    z = latent.sample_prior(points, config.latent_dim, seed=0)
    latent.decode_points(model, z)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        latent.decode_points(model, z)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images",
        type=int,
        default=12_800,
        help="training images per timed epoch (default: %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs (after a warm-up)")
    parser.add_argument("--archs", nargs="*", default=["dense", "cnn_shallow", "cnn_deep"])
    parser.add_argument(
        "--keras-python",
        default=None,
        help="interpreter with tensorflow to run bench/keras_baseline.py",
    )
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "throughput.json"))
    args = parser.parse_args(argv)

    train = load_split("mnist", "train")
    images = train.images[: args.images]
    warm = train.images[:1024]
    rows = []
    print(
        f"{'model':<18} {'plain loop':>12} {'JL-ML':>12} {'ratio':>7}   (images/s, batch 128, z=2)"
    )
    for arch in args.archs:
        for kind in ("ae", "vae"):
            config = TrainConfig(arch=arch, kind=kind, latent_dim=2, batch_size=128)
            plain_loop_images_per_second(config, warm, 1)  # warm-up: allocator, oneDNN kernels
            jlml_images_per_second(config, warm, 1)
            plain = plain_loop_images_per_second(config, images, args.epochs)
            ours = jlml_images_per_second(config, images, args.epochs)
            rows.append(
                {
                    "arch": arch,
                    "kind": kind,
                    "plain_loop": plain,
                    "jlml": ours,
                    "ratio": ours / plain,
                }
            )
            print(
                f"{kind + ' ' + arch:<18} {plain:12,.0f} {ours:12,.0f} {ours / plain:6.2f}x",
                flush=True,
            )
    decode = {}
    for arch in args.archs:
        config = TrainConfig(arch=arch, latent_dim=2)
        decode[arch] = {n: decode_latency_ms(config, n) for n in (1, 400)}
        print(
            f"decode {arch:<12} 1 point {decode[arch][1]:6.2f} ms   400 points "
            f"{decode[arch][400]:6.2f} ms"
        )
    keras = {}
    if args.keras_python:
        for arch in ("cnn_shallow", "dense"):
            result = keras_images_per_second(args.keras_python, arch, 3)
            ours = next(r["jlml"] for r in rows if r["arch"] == arch and r["kind"] == "vae")
            keras[arch] = {
                "keras": result["images_per_second"],
                "ratio": ours / result["images_per_second"],
            }
            print(
                f"keras vae {arch:<12} {result['images_per_second']:12,.0f}  JL-ML/keras "
                f"{keras[arch]['ratio']:.2f}x"
            )
    summary = {
        "machine": f"{machine_description()}, {torch.backends.cpu.get_cpu_capability()}",
        "training": rows,
        "decode_ms": decode,
        "keras": keras,
    }
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
