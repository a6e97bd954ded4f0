"""Tests for nn.models and jlml_core.nn.architectures: shapes, modes, seeding, registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.nn import architectures
from jlml_core.nn.architectures import (
    Architecture,
    Reshape,
    get_architecture,
    register_architecture,
)
from jlml_core.nn.models import Autoencoder, ModelOutput, build_model, count_parameters
from jlml_core.training.train import fit

KINDS = ["ae", "vae"]
ARCHS = ["dense", "cnn_shallow", "cnn_deep"]
BATCH = 4


def _images(batch: int = BATCH, shape: tuple[int, int, int] = (1, 28, 28)) -> torch.Tensor:
    return torch.rand(batch, *shape, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("latent_dim", [1, 2, 16])
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_output_shapes(kind: str, arch: str, latent_dim: int) -> None:
    model = build_model(TrainConfig(kind=kind, arch=arch, latent_dim=latent_dim))
    output = model(_images())
    assert isinstance(output, ModelOutput)
    assert output.logits.shape == (BATCH, 1, 28, 28)
    assert output.mu.shape == output.z.shape == (BATCH, latent_dim)
    if kind == "vae":
        assert output.logvar is not None and output.logvar.shape == (BATCH, latent_dim)
    else:
        assert output.logvar is None
    assert model.decode(output.z).shape == (BATCH, 1, 28, 28)
    assert model.latent_dim == latent_dim and model.variational == (kind == "vae")


@pytest.mark.parametrize("arch", ARCHS)
def test_other_image_shapes(arch: str) -> None:
    model = build_model(TrainConfig(arch=arch, latent_dim=3), image_shape=(3, 32, 32))
    output = model(_images(shape=(3, 32, 32)))
    assert output.logits.shape == (BATCH, 3, 32, 32)
    assert model.image_shape == (3, 32, 32)


@pytest.mark.parametrize("arch", ["cnn_shallow", "cnn_deep"])
def test_cnn_rejects_sides_not_divisible_by_four(arch: str) -> None:
    with pytest.raises(ValueError, match="30x30"):
        build_model(TrainConfig(arch=arch), image_shape=(1, 30, 30))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_eval_mode_decodes_the_mean(kind: str, arch: str) -> None:
    model = build_model(TrainConfig(kind=kind, arch=arch)).eval()
    output = model(_images())
    assert torch.equal(output.z, output.mu)
    assert torch.equal(model(_images()).logits, output.logits)  # deterministic in eval mode


@pytest.mark.parametrize("arch", ARCHS)
def test_training_mode_samples_for_a_vae_only(arch: str) -> None:
    vae = build_model(TrainConfig(kind="vae", arch=arch)).train()
    output = vae(_images())
    assert not torch.allclose(output.z, output.mu)
    # The sample is mu + sigma * eps, so its standardised offset is eps: finite, order 1.
    eps = (output.z - output.mu) / torch.exp(0.5 * output.logvar)
    assert torch.isfinite(eps).all() and eps.abs().max() < 10

    ae = build_model(TrainConfig(kind="ae", arch=arch)).train()
    output = ae(_images())
    assert torch.equal(output.z, output.mu)


def test_training_samples_follow_the_generator() -> None:
    model = build_model(TrainConfig(kind="vae", arch="dense")).train()
    x = _images()
    first = model(x, torch.Generator().manual_seed(5)).z
    again = model(x, torch.Generator().manual_seed(5)).z
    other = model(x, torch.Generator().manual_seed(6)).z
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def _assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name, tensor in state_a.items():
        assert torch.equal(tensor, state_b[name]), name


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_identical_weights(kind: str, arch: str) -> None:
    config = TrainConfig(kind=kind, arch=arch, seed=3)
    torch.manual_seed(123)
    first = build_model(config)
    torch.manual_seed(456)  # the global RNG must not matter
    _assert_same_weights(first, build_model(config))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_different_seed_gives_different_weights(kind: str, arch: str) -> None:
    a = build_model(TrainConfig(kind=kind, arch=arch, seed=0))
    b = build_model(TrainConfig(kind=kind, arch=arch, seed=1))
    weights = [
        name
        for name, module in a.named_modules()
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
    ]
    assert weights
    for name in weights:
        assert not torch.equal(a.get_submodule(name).weight, b.get_submodule(name).weight), name


@pytest.mark.parametrize("arch", ARCHS)
def test_glorot_init_draws_keras_weights_and_zero_biases(arch: str) -> None:
    config = TrainConfig(arch=arch, init="glorot", seed=5)
    model = build_model(config)
    default = build_model(config.replace(init="pytorch"))
    layers = [
        m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
    ]
    assert layers
    for layer in layers:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        bound = (6 / (fan_in + fan_out)) ** 0.5
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound  # uniform over the whole range
        assert layer.bias is None or torch.count_nonzero(layer.bias) == 0
    assert not torch.equal(model.to_mu.weight, default.to_mu.weight)
    _assert_same_weights(model, build_model(config))


def test_build_model_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_model(TrainConfig(arch="dense", seed=99))
    assert torch.equal(torch.rand(3), expected)


def test_hidden_dim_overrides_the_architecture_default() -> None:
    default = build_model(TrainConfig(arch="dense", latent_dim=2))
    narrow = build_model(TrainConfig(arch="dense", latent_dim=2, hidden_dim=32))
    assert default.to_mu.in_features == get_architecture("dense").default_hidden_dim
    assert narrow.to_mu.in_features == 32
    assert count_parameters(narrow) < count_parameters(default)


def test_unknown_architecture_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as error:
        build_model(TrainConfig(arch="transformer"))
    message = error.value.args[0]
    assert "transformer" in message
    for name in ARCHS:
        assert name in message


# --- user architectures ---------------------------------------------------------------------


def _tiny_encoder(image_shape: tuple[int, int, int], hidden_dim: int) -> tuple[nn.Module, int]:
    channels, height, width = image_shape
    pixels = channels * height * width
    return nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden_dim), nn.Tanh()), hidden_dim


def _tiny_decoder(image_shape: tuple[int, int, int], latent_dim: int, hidden_dim: int) -> nn.Module:
    channels, height, width = image_shape
    return nn.Sequential(nn.Linear(latent_dim, channels * height * width), Reshape(*image_shape))


TINY = Architecture("tiny_test", _tiny_encoder, _tiny_decoder, 8, "one tanh layer, for tests")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Architecture]]:
    """A private copy of the registry, so registrations here do not leak into other tests."""
    copy = dict(architectures.ARCHITECTURES)
    monkeypatch.setattr(architectures, "ARCHITECTURES", copy)
    monkeypatch.delenv(architectures.PLUGINS_ENV, raising=False)
    yield copy


@pytest.mark.parametrize("kind", KINDS)
def test_user_architecture_builds_and_trains(registry: dict, kind: str) -> None:
    assert register_architecture(TINY) is TINY
    config = TrainConfig(
        kind=kind,
        arch="tiny_test",
        latent_dim=2,
        epochs=2,
        batch_size=50,
        learning_rate=1e-2,
        train_subset=500,
    )
    model = build_model(config)
    assert isinstance(model, Autoencoder) and model.to_mu.in_features == TINY.default_hidden_dim
    train, test = load_split("mnist", "train"), load_split("mnist", "test").subset(200)
    result = fit(config, train, test, device=torch.device("cpu"))
    first, last = result.history[0], result.history[-1]
    assert last["test_loss"] < first["test_loss"]
    assert result.model(_images()).logits.shape == (BATCH, 1, 28, 28)


def test_registering_a_taken_name_needs_overwrite(registry: dict) -> None:
    with pytest.raises(ValueError, match="dense"):
        register_architecture(Architecture("dense", _tiny_encoder, _tiny_decoder, 8, ""))
    replacement = Architecture("dense", _tiny_encoder, _tiny_decoder, 8, "")
    register_architecture(replacement, overwrite=True)
    assert get_architecture("dense") is replacement


PLUGIN_SOURCE = """
from torch import nn
from jlml_core.nn.architectures import Architecture, Reshape, register_architecture

register_architecture(Architecture(
    "plugin_test",
    lambda shape, hidden: (nn.Sequential(nn.Flatten(), nn.Linear(784, hidden)), hidden),
    lambda shape, latent, hidden: nn.Sequential(nn.Linear(latent, 784), Reshape(*shape)),
    4,
    "registered from $JLML_PLUGINS",
))
"""


def test_plugins_named_in_the_environment_register(
    registry: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jlml_plugin_for_tests.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(architectures.PLUGINS_ENV, "jlml_plugin_for_tests")
    model = build_model(TrainConfig(arch="plugin_test", latent_dim=3))
    assert model(_images()).logits.shape == (BATCH, 1, 28, 28)
    assert "plugin_test" in registry


def test_missing_plugin_module_names_it(registry: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(architectures.PLUGINS_ENV, "no_such_jlml_plugin")
    with pytest.raises(ImportError, match="no_such_jlml_plugin"):
        get_architecture("whatever")
