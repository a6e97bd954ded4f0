"""The decoder's chunk size, measured per machine: it changes the speed, not the images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.inference import decoder, latent
from jlml_core.nn.layers import InferenceConv2d
from jlml_core.nn.models import build_model


@pytest.fixture
def model():
    return build_model(TrainConfig()).to(memory_format=torch.channels_last).eval()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_tuning_picks_a_candidate_for_this_thread_count_only(
    model, precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoder, "_TUNED", {})
    default = decoder.DecodeSetting(decoder.INFERENCE_BATCH[precision], conv_via_taps=True)
    assert decoder.decode_setting(precision) == default
    chosen = decoder.tune_decode_setting(model, precision, codes=64, rounds=1)
    assert chosen.batch_size in decoder.BATCH_CANDIDATES[precision]
    assert decoder.decode_setting(precision) == chosen
    assert decoder.inference_decoder(model, precision).batch_size == chosen.batch_size
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)  # another thread count was not measured
        assert decoder.decode_setting(precision) == default
    finally:
        torch.set_num_threads(threads)


def test_the_setting_picks_the_last_convolution(model) -> None:
    for taps in (True, False):
        setting = decoder.DecodeSetting(100, conv_via_taps=taps)
        last = decoder._inference_steps(model.decoder, torch.bfloat16, taps)[-1]
        assert isinstance(last, InferenceConv2d) and last.uses_taps == taps
        assert decoder.inference_decoder(model, "bf16", setting).batch_size == 100


def test_neither_the_chunk_size_nor_the_last_convolution_changes_the_images(model) -> None:
    z = np.random.default_rng(0).standard_normal((130, 2)).astype(np.float32)
    for precision, tolerance in (("fp32", 1e-6), ("bf16", 1e-2)):
        reference = latent.decode_points(model, z, precision="fp32")
        for taps in (True, False):
            for size in decoder.BATCH_CANDIDATES[precision]:
                setting = decoder.DecodeSetting(size, taps)
                run = decoder.inference_decoder(model, precision, setting)
                with torch.inference_mode():
                    logits = torch.cat(
                        [run.decode(torch.from_numpy(z[i : i + size])) for i in range(0, 130, size)]
                    )
                images = latent.logits_to_images(logits)
                np.testing.assert_allclose(images, reference, atol=tolerance)
