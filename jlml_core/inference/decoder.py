"""A model's decoder prepared for inference: `inference_decoder`, and the chunk size and last
convolution it runs best with (`decode_setting`, measured per machine by `tune_decode_setting`).

`latent.decode_points`, which every page's decode goes through, runs codes through it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from jlml_core.nn.architectures import Reshape
from jlml_core.nn.layers import (
    Conv2dViaFold,
    ConvTranspose2dBiasAfter,
    InferenceConv2d,
    InferenceConvTranspose2d,
    InferenceLinear,
)
from jlml_core.nn.models import Autoencoder, is_conditional
from jlml_core.runtime import precision as precisions

Decode = Callable[[torch.Tensor], torch.Tensor]

# `model.decode` under autocast (decoders without inference steps) runs in chunks of this many
# codes: a conv decoder's activations then stay in the CPU cache, which decoded 400 cnn_shallow
# points about 1.5x faster than one batch did (docs/benchmarks.md, "Decoding latency").
DECODE_BATCH = 128
# The inference steps of a conv decoder run this many codes per call: a chunk's largest
# activation (32 channels at 28x28) is then ~3 MB in either precision, near the L2 cache. On the
# 2-core AMD EPYC of docs/benchmarks.md ("Decoding 400 points", one thread) 400 points decoded
# ~1.1x faster in chunks of 64 than of 128 in bf16, and ~1.3x in chunks of 32 in fp32. A dense
# decoder's activations are small: it decodes up to `DENSE_BATCH` codes at once.
INFERENCE_BATCH = {"fp32": 32, "bf16": 64}
DENSE_BATCH = 1024
# The best chunk differs between CPUs (on a 2-core Intel Xeon with AMX, 200 codes beat 64 by
# ~1.2x in bf16, 100 beat 32 by ~1.05x in fp32, once malloc kept freed buffers:
# `memory.keep_freed_memory`), and so does the faster way to run the last convolution (as taps,
# or oneDNN's convolution: `layers.InferenceConv2d`). `tune_decode_setting` measures both here,
# per precision and torch thread count; conv decoders then use what it found, not the defaults.
BATCH_CANDIDATES = {"fp32": (32, 64, 100), "bf16": (64, 100, 200)}


class DecodeSetting(NamedTuple):
    """How a conv decoder's inference steps run: codes per call, and whether the last
    convolution runs as a product of taps (`layers.InferenceConv2d`)."""

    batch_size: int
    conv_via_taps: bool = True


_TUNED: dict[tuple[str, int], DecodeSetting] = {}
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# Exact types only: a user's subclass may compute something else in its forward.
_CONV_TRANSPOSE_TYPES = (nn.ConvTranspose2d, ConvTranspose2dBiasAfter)
_CONV_TYPES = (nn.Conv2d, Conv2dViaFold)


def _inference_steps(
    decoder: nn.Module, dtype: torch.dtype, conv_via_taps: bool = True
) -> list[Decode] | None:
    """A decoder's layers as inference steps in `dtype`, or None if it holds another layer.

    Handles what the built-in dense and cnn_shallow decoders are made of: Linear, ReLU, a
    Reshape to images, (transposed) convolutions; each ReLU goes into the layer before it.
    """
    if type(decoder) is not nn.Sequential:
        return None
    layers, steps, index = list(decoder), [], 0
    while index < len(layers):
        layer, kind = layers[index], type(layers[index])
        relu = index + 1 < len(layers) and type(layers[index + 1]) is nn.ReLU
        index += 1 + relu
        if kind is nn.Linear:
            shape = None
            reshape = layers[index] if index < len(layers) else None
            if type(reshape) is Reshape and len(reshape.shape) == 3:  # to images: NHWC at once
                shape, index = tuple(reshape.shape), index + 1
            steps.append(InferenceLinear(layer, dtype, relu, shape))
        elif kind in _CONV_TRANSPOSE_TYPES and layer.padding_mode == "zeros":
            steps.append(InferenceConvTranspose2d(layer, dtype, relu))
        elif kind in _CONV_TYPES and layer.padding_mode == "zeros":
            steps.append(InferenceConv2d(layer, dtype, relu, conv_via_taps))
        elif kind is nn.ReLU:
            steps.append(torch.relu)
        elif kind is Reshape:
            steps.append(layer)
        else:
            return None
    return steps


class _PreparedSteps(NamedTuple):
    """Inference steps, the function that runs them, and the weights they were copied from (to
    notice when those change)."""

    sources: tuple[torch.Tensor, ...]  # detached: same storage and version counter
    versions: tuple[int, ...]
    steps: list[Decode] | None
    run: Decode | None  # the steps in turn, fp32 out
    convolutional: bool

    def is_current(self, tensors: list[torch.Tensor]) -> bool:
        return len(tensors) == len(self.sources) and all(
            t.data_ptr() == s.data_ptr() and t._version == v
            for t, s, v in zip(tensors, self.sources, self.versions, strict=True)
        )


# Per model, precision and way of running the last convolution, the decoder's inference steps: a
# memo of each model's own weights, dropped with the model (weak keys) and rebuilt when a weight
# is replaced or changed in place.
_INFERENCE_DECODERS: weakref.WeakKeyDictionary[
    nn.Module, dict[tuple[str, bool], _PreparedSteps]
] = weakref.WeakKeyDictionary()


class InferenceDecoder(NamedTuple):
    """A model's decoder ready to decode: `decode` maps the decoder's inputs (B, D) to fp32
    logits (B, C, H, W) under `torch.inference_mode()`; `batch_size` codes per call keep its
    activations in the CPU's cache. A conditional model's inputs are codes and one-hot labels,
    (B, D + K) (`Autoencoder.with_label`)."""

    decode: Decode
    batch_size: int


def inference_decoder(
    model: Autoencoder,
    precision: precisions.ResolvedPrecision = "fp32",
    setting: DecodeSetting | None = None,
) -> InferenceDecoder:
    """`model.decode` prepared for inference in `precision`, and the batch size it runs best at.

    On the CPU, for the dense and cnn_shallow decoders, the layers run from copies of their
    weights made once per model in the compute dtype (no autocast casts per call), channels_last
    from the first layer on, with bias and ReLU inside oneDNN's transposed convolutions and the
    last convolution as one matrix product (`layers.InferenceConvTranspose2d`,
    `layers.InferenceConv2d`). The copies are rebuilt when the model's weights change. Any
    other decoder or device runs `model.decode` under autocast, as training's forward pass does,
    `DECODE_BATCH` codes at a time.

    Args:
        model: a trained model in eval mode.
        precision: "fp32" or "bf16" (already resolved: see `precision.resolve_precision`).
        setting: chunk size and last convolution for a conv decoder (default: `decode_setting`,
            what was measured best here).
    """
    setting = setting or decode_setting(precision)
    device = next(model.parameters()).device
    if device.type == "cpu":
        # Inference steps exist only for a flat Sequential of layers without buffers, whose own
        # parameters are all its weights. Read from each layer's `_parameters`, as
        # `parameters(recurse=False)` does without its generators: a click decodes one point in
        # ~0.2 ms, and this check runs on every decode.
        layers = model.decoder if type(model.decoder) is nn.Sequential else [model.decoder]
        tensors = [t for layer in layers for t in layer._parameters.values() if t is not None]
        cached = _INFERENCE_DECODERS.setdefault(model, {})
        key = (precision, setting.conv_via_taps)
        entry = cached.get(key)
        if entry is None or not entry.is_current(tensors):
            entry = _prepare(model, tensors, precision, setting.conv_via_taps)
            cached[key] = entry
        if entry.run is not None:
            size = setting.batch_size if entry.convolutional else DENSE_BATCH
            return InferenceDecoder(entry.run, size)

    def decode(codes: torch.Tensor) -> torch.Tensor:
        with precisions.autocast(precision, device):
            decoded = model.decoder(codes) if is_conditional(model) else model.decode(codes)
            return decoded.float()  # a conditional model's codes carry their labels

    return InferenceDecoder(decode, DECODE_BATCH)


def _prepare(
    model: Autoencoder, tensors: list[torch.Tensor], precision: str, conv_via_taps: bool
) -> _PreparedSteps:
    """The decoder's inference steps (or None) from its current weights `tensors`."""
    steps = _inference_steps(model.decoder, _DTYPES[precision], conv_via_taps)
    run = None
    if steps is not None:

        def run(codes: torch.Tensor) -> torch.Tensor:
            x = codes
            for step in steps:
                x = step(x)
            return x.float()

    return _PreparedSteps(
        tuple(t.detach() for t in tensors),
        tuple(t._version for t in tensors),
        steps,
        run,
        any(isinstance(step, InferenceConvTranspose2d | InferenceConv2d) for step in steps or ()),
    )


def decode_setting(precision: precisions.ResolvedPrecision) -> DecodeSetting:
    """How a conv decoder's inference steps run: what `tune_decode_setting` measured best
    with this many torch threads, else `INFERENCE_BATCH` codes per call and taps."""
    tuned = _TUNED.get((precision, torch.get_num_threads()))
    return tuned if tuned is not None else DecodeSetting(INFERENCE_BATCH[precision])


@torch.inference_mode()
def tune_decode_setting(
    model: Autoencoder,
    precision: precisions.ResolvedPrecision,
    codes: int = 400,
    rounds: int = 5,
) -> DecodeSetting:
    """Measure which chunk size (`BATCH_CANDIDATES`) and last convolution (taps or oneDNN's)
    decode `codes` points fastest with this conv model's inference steps here, with the
    calling thread's torch thread count; remember it for every conv decoder (`decode_setting`)
    and return it.

    Costs about (`rounds` + 1) x 6 decodes of `codes` points (~0.6 s for 400 in bf16): the
    dashboard's server runs it once as it starts (``python -m dashboard``). The chunk size
    changes speed only; the two last convolutions differ by rounding (in bf16, oneDNN rounds
    the logits to bf16: < 0.005 in a pixel in [0, 1]).

    Args:
        model: a conv model in eval mode (its weights' values do not matter).
        precision: "fp32" or "bf16".
        codes: points per timed decode (the Latent Explorer decodes 400 for its background).
        rounds: timed decodes per candidate, after an untimed one (oneDNN prepares its
            kernels for each new shape on first use); the fastest of each counts.
    """
    candidates = [
        DecodeSetting(size, taps) for taps in (True, False) for size in BATCH_CANDIDATES[precision]
    ]
    decoders = {c: inference_decoder(model, precision, c) for c in candidates}
    z = torch.randn(codes, model.latent_dim, generator=torch.Generator().manual_seed(0))
    best: dict[DecodeSetting, float] = {}
    for round_ in range(rounds + 1):  # interleaved, so a busy moment hits every candidate alike
        for candidate, decoder in decoders.items():
            started = time.perf_counter()
            for start in range(0, codes, candidate.batch_size):
                decoder.decode(z[start : start + candidate.batch_size])
            elapsed = time.perf_counter() - started
            if round_ > 0:
                best[candidate] = min(best.get(candidate, elapsed), elapsed)
    chosen = min(best, key=best.__getitem__)
    _TUNED[(precision, torch.get_num_threads())] = chosen
    return chosen
