"""Arithmetic precision: fp32 everywhere, or bf16 autocast where the CPU runs bf16 natively.

bfloat16 keeps fp32's exponent range with an 8-bit mantissa, so activations and matrix
products can be bf16 while weights, optimiser state and losses stay fp32 (autocast; Micikevicius
et al. 2018, "Mixed precision training"; Kalamkar et al. 2019, "A study of BFLOAT16 for deep
learning training"). It only pays on CPUs with bf16 dot-product instructions (AVX-512 BF16 or
AMX): elsewhere oneDNN emulates bf16 and it is slower than fp32, so "auto" picks fp32 there.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Literal, get_args

import torch

from jlml_core.config import Precision

ResolvedPrecision = Literal["fp32", "bf16"]

# /proc/cpuinfo flags of the x86 instructions that compute bf16 dot products in hardware.
_BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def bf16_supported() -> bool:
    """True when this CPU computes bf16 dot products in hardware (AVX-512 BF16 or AMX).

    Asks PyTorch (`torch.cpu._is_avx512_bf16_supported`, `_is_amx_tile_supported`: thin
    wrappers over cpuinfo that oneDNN's own dispatch uses) and falls back to the CPU flags in
    /proc/cpuinfo on builds without them. Not `torch.ops.mkldnn._is_mkldnn_bf16_supported`:
    that is also True on plain AVX-512 CPUs, where bf16 is emulated and slower than fp32.
    """
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    found = [getattr(torch.cpu, name, None) for name in checks]
    if all(callable(check) for check in found):
        return any(check() for check in found)
    return bool(_BF16_CPU_FLAGS & _cpu_flags())


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def resolve_precision(
    requested: Precision, device: torch.device | None = None
) -> ResolvedPrecision:
    """The precision to compute in: "auto" is bf16 on a bf16-capable CPU, fp32 otherwise.

    An explicit "bf16" is honoured on any CPU (it runs, slowly, where bf16 is emulated), so
    the bf16 path can be tested everywhere. Other devices get fp32 for "auto".
    """
    if requested not in get_args(Precision):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', not {requested!r}.")
    if requested != "auto":
        return requested
    on_cpu = device is None or device.type == "cpu"
    return "bf16" if on_cpu and bf16_supported() else "fp32"


def autocast(precision: ResolvedPrecision, device: torch.device | None = None):
    """Context that runs matmuls and convolutions in bf16 when `precision` is "bf16".

    Weights stay fp32 (autocast casts a bf16 copy per step); for "fp32" it is a null context,
    so that path's arithmetic is exactly what it was without this module.
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    device_type = device.type if device is not None else "cpu"
    return torch.autocast(device_type, dtype=torch.bfloat16)
