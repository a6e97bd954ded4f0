"""Where a 400-point decode's time goes: each inference step of a zoo model's decoder, timed.

    .venv/bin/python bench/decode_steps.py              # vae-cnn-z2, bf16 where the CPU has it
    .venv/bin/python bench/decode_steps.py --precision fp32 --threads 2
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        .venv/bin/python bench/decode_steps.py --precision fp32 --threads 2  # AVX2, emulated

With the dashboard server's settings (`server.configure()`), it runs the decoder's inference
steps (`decoder.inference_decoder`: the dense layer, the transposed convolutions, the last
convolution) on 400 codes in chunks, for each chunk size and way of running the last
convolution that `decoder.tune_decode_setting` chooses between, and prints per step the median
milliseconds for all 400 codes and the GFLOP/s it reached (multiply-adds x 2 over time). The
steps' sum is the decode less `decode_points`' own work (checks, sigmoid, numpy: ~0.06 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

import torch  # noqa: E402
from decode_latency import load_zoo_model  # noqa: E402

from dashboard import server  # noqa: E402
from jlml_core.inference import decoder  # noqa: E402
from jlml_core.jobs.runner import machine_description  # noqa: E402
from jlml_core.nn.layers import InferenceConv2d, InferenceConvTranspose2d, InferenceLinear  # noqa: E402
from jlml_core.runtime import precision as precisions  # noqa: E402

POINTS = 400


def step_flops(source: torch.nn.Module, output: torch.Tensor) -> float:
    """FLOPs (2 per multiply-add) of one layer for its output. A dense layer or a convolution
    takes in_features (in_channels x kh x kw) products per output value; a transposed
    convolution takes in_channels x kh x kw per output channel of each *input* pixel, of which
    there are stride^2 times fewer than output pixels."""
    if isinstance(source, torch.nn.Linear):
        return 2.0 * output.numel() * source.in_features
    kh, kw = source.kernel_size
    products = 2.0 * output.numel() * source.in_channels * kh * kw
    if isinstance(source, torch.nn.ConvTranspose2d):
        return products / (source.stride[0] * source.stride[1])
    return products


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="vae-cnn-z2")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    server.configure()
    torch.set_num_threads(args.threads)
    precision = precisions.resolve_precision(args.precision)
    model = load_zoo_model(args.model)
    sources = [
        m
        for m in model.decoder
        if isinstance(m, torch.nn.Linear | torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    print(
        f"{machine_description()}, {torch.backends.cpu.get_cpu_capability()};"
        f" {args.model}, {precision}"
    )
    z = torch.randn(POINTS, model.latent_dim, generator=torch.Generator().manual_seed(0))
    for taps in (True, False):
        for size in decoder.BATCH_CANDIDATES[precision]:
            setting = decoder.DecodeSetting(size, taps)
            decoder.inference_decoder(model, precision, setting)  # prepares the steps
            steps = decoder._INFERENCE_DECODERS[model][(precision, taps)].steps
            # The steps made from a layer (not a ReLU or reshape), by position: their source layer.
            kinds = InferenceLinear | InferenceConvTranspose2d | InferenceConv2d
            made = [index for index, step in enumerate(steps) if isinstance(step, kinds)]
            source_at = dict(zip(made, sources, strict=True))
            times: list[list[float]] = [[] for _ in steps]
            totals = []
            flops = [0.0] * len(steps)
            with torch.inference_mode():
                for repeat in range(args.repeats + 1):
                    per_step = [0.0] * len(steps)
                    started_all = time.perf_counter()
                    for start in range(0, POINTS, size):
                        x = z[start : start + size]
                        for index, step in enumerate(steps):
                            started = time.perf_counter()
                            x = step(x)
                            per_step[index] += time.perf_counter() - started
                            if repeat == 0 and index in source_at:
                                flops[index] += step_flops(source_at[index], x)
                        x.float()
                    if repeat > 0:  # the first round prepares oneDNN's kernels
                        totals.append(time.perf_counter() - started_all)
                        for index, seconds in enumerate(per_step):
                            times[index].append(seconds)
            cells = []
            for index, step in enumerate(steps):
                ms = 1000 * statistics.median(times[index])
                rate = f" ({flops[index] / ms / 1e6:.0f} GFLOP/s)" if flops[index] else ""
                cells.append(f"{type(step).__name__.removeprefix('Inference')} {ms:.2f}{rate}")
            total = 1000 * statistics.median(totals)
            print(
                f"chunk {size:>3}, last conv {'taps  ' if taps else 'oneDNN'}: {total:6.2f} ms = "
                + ", ".join(cells)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
