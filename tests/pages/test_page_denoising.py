"""AppTest for the Reconstructions page's denoising section (dashboard/denoising_view.py): noisy
input | output | clean target under a noise control, and the PSNR curve of the denoising pair."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import denoising_view
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit
from tests.apptest_helpers import entry_for, open_page
from tests.conftest import TINY_CONFIGS

PLAIN = dataclasses.replace(TINY_CONFIGS["vae"])
DENOISING = dataclasses.replace(TINY_CONFIGS["vae"], noise_std=0.5)


@pytest.fixture(scope="module")
def pair_cache(tiny_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny models plus the tiny VAE's denoising twin (alike but for sigma = 0.5 noise)."""
    root = tmp_path_factory.mktemp("denoising_cache")
    shutil.copytree(tiny_cache, root, dirs_exist_ok=True)
    CheckpointStore(root).save(DENOISING, fit(DENOISING))
    return root


@pytest.fixture
def pair_env(pair_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The dashboard over that cache, with the twins standing in for the zoo's pair."""
    empty_zoo = tmp_path / "empty_zoo"
    empty_zoo.mkdir()
    monkeypatch.setenv("JLML_CACHE_DIR", str(pair_cache))
    monkeypatch.setenv("JLML_ZOO_DIR", str(empty_zoo))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    names = dict(zip(denoising_view.ZOO_PAIR, (DENOISING.key(), PLAIN.key()), strict=True))
    monkeypatch.setattr(denoising_view, "zoo_keys", lambda: names)
    by_key = {key: name for name, key in names.items()}
    monkeypatch.setattr(denoising_view, "zoo_name", by_key.get)
    return pair_cache


def _captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def _psnr_captions(at: AppTest) -> list[str]:
    return [c for c in _captions(at) if c.endswith(" dB") or c == "exact"]


def _noisy_on(model_key: str) -> AppTest:
    at = open_page("reconstructions", model_key)
    assert not at.exception
    assert at.toggle(key="recon_noise").value is False
    assert sum(len(image.value) for image in at.image) == 2 * 10  # off: the page as it was
    at.slider(key="recon_count").set_value(4).run()
    return at.toggle(key="recon_noise").set_value(True).run()


def _chart(at: AppTest) -> dict:
    charts = [c for c in at.get("plotly_chart") if "PSNR" in c.proto.spec]
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def test_noisy_input_output_and_clean_target_follow_the_sliders(pair_env: Path) -> None:
    at = _noisy_on(PLAIN.key())
    assert not at.exception
    assert at.slider(key="recon_noise_std").value == 0.5
    assert at.slider(key="recon_mask").value == 0.0
    # Originals and reconstructions, then noisy input, output and clean target: 5 rows of 4.
    assert sum(len(image.value) for image in at.image) == 5 * 4
    rows = [m.value for m in at.markdown if m.value.startswith("**")]
    assert any(r.startswith("**Noisy input** (σ = 0.5") for r in rows)
    assert any(r.startswith("**Output") for r in rows) and "**Clean target**" in rows
    assert any("trained on clean digits only" in c.value for c in at.caption)
    before = _psnr_captions(at)
    assert len(before) == 2 * 4  # PSNR under each noisy input and each output
    at.slider(key="recon_noise_std").set_value(0.1).run()
    assert not at.exception
    after = _psnr_captions(at)
    assert after[:4] != before[:4] and after[4:] != before[4:]  # new noise, new outputs
    # Less noise, a cleaner input: its PSNR rises.
    assert float(after[0].split()[0]) > float(before[0].split()[0])
    assert _chart(at)["layout"]["shapes"][0]["x0"] == 0.1  # the curve marks the slider's σ


def test_the_curve_shows_the_denoising_pair_and_the_noisy_input(pair_env: Path) -> None:
    at = _noisy_on(PLAIN.key())
    figure = _chart(at)
    names = [trace["name"] for trace in figure["data"]]
    # This model is the pair's plain member: the pair in its order (its colours), then the input.
    assert names == [*denoising_view.ZOO_PAIR, "noisy input (no model)"]
    assert figure["data"][0]["x"] == pytest.approx([0.1 * i for i in range(11)])
    assert figure["data"][2]["y"][0] is None  # the clean input: infinite PSNR, a gap
    assert any("trained alike but for σ = 0.5" in c.value for c in at.caption)
    chart = next(c for c in at.get("plotly_chart") if "PSNR" in c.proto.spec)
    assert chart.proto.alt.startswith("Line chart: PSNR of the output against noise σ")
    at.radio(key="recon_noise_axis").set_value("mask_fraction").run()
    assert not at.exception
    figure = _chart(at)
    assert figure["layout"]["xaxis"]["title"]["text"] == "masked fraction"
    assert len(figure["data"][0]["x"]) == 10  # masked shares 0 to 0.9


def test_a_denoising_model_says_how_it_was_trained(pair_env: Path) -> None:
    at = _noisy_on(DENOISING.key())
    assert not at.exception
    assert any("is a **denoising** model" in c.value and "σ = 0.5" in c.value for c in at.caption)
    assert any("denoising σ=0.5" in m.value for m in at.markdown if m.value.startswith("**Output"))
    at.slider(key="recon_mask").set_value(0.5).run()
    assert not at.exception
    assert any("50% masked" in m.value for m in at.markdown)


def test_other_models_get_only_their_own_line(app_env: Path) -> None:
    at = _noisy_on(entry_for(app_env, "ae").key)
    assert not at.exception
    names = [trace["name"] for trace in _chart(at)["data"]]
    assert len(names) == 2 and names[0].startswith("this model (AE")
