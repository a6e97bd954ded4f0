"""The decoder's chunk size, measured per machine: it changes the speed, not the images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.inference import decoder, latent
from jlml_core.nn.models import build_model


@pytest.fixture
def model():
    return build_model(TrainConfig()).to(memory_format=torch.channels_last).eval()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_tuning_picks_a_candidate_for_this_thread_count_only(
    model, precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoder, "_TUNED_BATCH", {})
    assert decoder.inference_batch(precision) == decoder.INFERENCE_BATCH[precision]
    chosen = decoder.tune_inference_batch(model, precision, codes=64, rounds=1)
    assert chosen in decoder.BATCH_CANDIDATES[precision]
    assert decoder.inference_batch(precision) == chosen
    assert decoder.inference_decoder(model, precision).batch_size == chosen
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)  # another thread count was not measured
        assert decoder.inference_batch(precision) == decoder.INFERENCE_BATCH[precision]
    finally:
        torch.set_num_threads(threads)


def test_the_chunk_size_does_not_change_the_images(model) -> None:
    z = np.random.default_rng(0).standard_normal((130, 2)).astype(np.float32)
    for precision, tolerance in (("fp32", 1e-6), ("bf16", 1e-2)):
        chunks = [
            latent.decode_points(model, z, batch_size=size, precision=precision)
            for size in decoder.BATCH_CANDIDATES[precision]
        ]
        for images in chunks[1:]:
            np.testing.assert_allclose(images, chunks[0], atol=tolerance)
