"""bf16 autocast: which precision "auto" picks, cache keys, bf16 training and decoding.

bf16 autocast runs on any CPU (emulated where the CPU lacks bf16 instructions), so every test
here runs everywhere; only the speed differs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from jlml_core import cli
from jlml_core.config import ConfigError, TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.jobs import zoo_build
from jlml_core.nn.models import build_model
from jlml_core.runtime import precision
from jlml_core.store import zoo
from jlml_core.store.checkpoints import load_model
from jlml_core.store.model_cache import zoo_dir
from jlml_core.training.train import fit, make_optimizer

CPU = torch.device("cpu")
MANIFEST = zoo.read_manifest()
TINY = TrainConfig(arch="dense", hidden_dim=32, epochs=1, batch_size=64, train_subset=256)


@pytest.fixture(scope="module")
def mnist():
    return load_split("mnist", "train"), load_split("mnist", "test").subset(100)


@pytest.mark.parametrize("requested", ["fp32", "bf16"])
def test_an_explicit_precision_is_used_as_asked(requested: str) -> None:
    assert precision.resolve_precision(requested) == requested
    assert precision.resolve_precision(requested, torch.device("cuda")) == requested


def test_auto_is_bf16_exactly_where_the_cpu_has_bf16_instructions() -> None:
    expected = "bf16" if precision.bf16_supported() else "fp32"
    assert precision.resolve_precision("auto") == expected
    assert precision.resolve_precision("auto", CPU) == expected
    assert precision.resolve_precision("auto", torch.device("cuda")) == "fp32"


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs /proc/cpuinfo")
def test_bf16_support_agrees_with_the_cpu_flags() -> None:
    flags = precision._cpu_flags()
    assert precision.bf16_supported() == bool({"avx512_bf16", "amx_bf16"} & flags)


def test_resolve_rejects_unknown_precisions() -> None:
    with pytest.raises(ValueError, match="precision must be"):
        precision.resolve_precision("fp16")


def test_fp32_is_a_null_context_and_bf16_autocasts_matmuls() -> None:
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with precision.autocast("fp32"):
        assert (a @ b).dtype == torch.float32
    with precision.autocast("bf16"):
        assert (a @ b).dtype == torch.bfloat16


def test_auto_leaves_the_cache_key_of_every_existing_checkpoint_alone() -> None:
    assert "precision" not in TrainConfig().to_dict()
    assert TrainConfig(precision="auto").key() == TrainConfig().key()
    for config in zoo.ZOO.values():
        assert config.precision == "auto"
        assert "precision" not in config.to_dict()
    assert len({TrainConfig(precision=p).key() for p in ("auto", "fp32", "bf16")}) == 3


@pytest.mark.parametrize("value", ["bf16", "fp32"])
def test_precision_round_trips_through_json(value: str) -> None:
    config = TrainConfig(precision=value)
    restored = TrainConfig.from_dict(json.loads(config.to_json()))
    assert restored == config and restored.key() == config.key()


def test_an_unknown_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="precision must be one of"):
        TrainConfig(precision="fp16")


def test_cli_train_takes_a_precision_and_rejects_others(capsys) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--precision", "bf16", "--arch", "dense"])
    assert cli.config_from_args(args).precision == "bf16"
    assert cli.config_from_args(parser.parse_args(["train"])).precision == "auto"
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["train", "--precision", "fp16"])
    assert exit_info.value.code == cli.EXIT_USAGE
    assert "--precision" in capsys.readouterr().err


@pytest.mark.parametrize("arch", ["dense", "cnn_shallow"])
def test_bf16_training_keeps_fp32_weights_and_finite_losses(mnist, arch: str) -> None:
    train, test = mnist
    result = fit(TINY.replace(arch=arch, precision="bf16"), train, test, device=CPU)
    assert result.metrics["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    record = result.history[-1]
    assert all(math.isfinite(record[k]) for k in ("train_loss", "test_loss", "test_neg_elbo"))
    start = build_model(TINY.replace(arch=arch)).state_dict()
    trained = result.model.state_dict()
    assert all(torch.isfinite(t).all() for t in trained.values())
    assert any(not torch.equal(start[name], trained[name]) for name in start)


def test_bf16_and_fp32_training_land_close_together(mnist) -> None:
    train, test = mnist
    fp32 = fit(TINY.replace(precision="fp32"), train, test, device=CPU, record_latents=False)
    bf16 = fit(TINY.replace(precision="bf16"), train, test, device=CPU, record_latents=False)
    assert fp32.metrics["precision"] == "fp32"
    gap = bf16.metrics["test_neg_elbo"] - fp32.metrics["test_neg_elbo"]
    assert abs(gap) < 2.0  # 4 steps from the same start; the 20-epoch gap is in the docs


def test_only_the_bf16_path_uses_the_fused_optimizer() -> None:
    model = torch.nn.Linear(2, 2)
    fp32 = make_optimizer(model, TINY.replace(precision="fp32"))
    bf16 = make_optimizer(model, TINY.replace(precision="bf16"))
    assert not fp32.defaults["fused"] and bf16.defaults["fused"]


def test_the_zoo_trains_in_fp32_whatever_auto_means(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(zoo.ZOO, "tiny", TINY)
    record = zoo_build.build_one("tiny", tmp_path, evaluate=False)
    assert record["metrics"]["precision"] == "fp32"
    assert record["folder"] == TINY.slug()  # stored under the zoo config's own key
    built = load_model(tmp_path / record["folder"])
    reference = fit(TINY.replace(precision="fp32"), record_latents=False).model
    for name, tensor in reference.state_dict().items():
        assert torch.equal(built.state_dict()[name], tensor), name


# Largest pixel error of a bf16 decode against fp32, over a 20x20 grid on [-4, 4]^2 (sigmoid
# images in [0, 1]). Measured on all 16 zoo models: at most 0.041 (vae-cnn-z2) for sigmoid
# images, 0.084 for the continuous-Bernoulli mean; mean error at most 0.0009.
MAX_PIXEL_ERROR = 0.06
MEAN_PIXEL_ERROR = 0.002


@pytest.mark.skipif(not MANIFEST, reason="no zoo has been built into checkpoints/")
@pytest.mark.parametrize("name", ["vae-cnn-z2", "vae-dense-z2"])
def test_bf16_decodes_of_zoo_models_stay_within_the_stated_pixel_error(name: str) -> None:
    model = load_model(zoo_dir() / MANIFEST[name]["folder"])
    grid = latent.grid_points((-4.0, 4.0), (-4.0, 4.0), 20)  # (400, 2)
    exact = latent.decode_points(model, grid, precision="fp32")
    fast = latent.decode_points(model, grid, precision="bf16")
    error = np.abs(fast - exact)
    assert fast.dtype == np.float32 and fast.shape == exact.shape
    assert 0 < error.max() < MAX_PIXEL_ERROR  # > 0: bf16 was really used
    assert error.mean() < MEAN_PIXEL_ERROR
