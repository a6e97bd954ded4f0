"""Tests for jlml_core.config: validation messages, JSON round-trips and the cache key."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from jlml_core.config import (
    _LATE_FIELD_DEFAULTS,
    FLAG,
    HELP,
    MAX_LATENT_DIM,
    PROJECT_DIR,
    ConfigError,
    TrainConfig,
)
from jlml_core.store.zoo import ZOO

# The key of the default config, pinned: if it changes, every cached and shipped model is
# silently orphaned, so a change must be deliberate (and the zoo rebuilt).
DEFAULT_KEY = "66c2982bb7be"

# One changed value per field; the test below checks that the list covers every field.
FIELD_CHANGES = {
    "dataset": "fashion-mnist",
    "kind": "ae",
    "arch": "dense",
    "latent_dim": 3,
    "hidden_dim": 64,
    "loss": "cb",
    "reconstruction_weight": 2.0,
    "kl_weight": 0.5,
    "loss_reduction": "mean",
    "epochs": 11,
    "batch_size": 64,
    "learning_rate": 2e-3,
    "schedule": "cosine",
    "seed": 1,
    "train_subset": 1000,
    "init": "glorot",
    "precision": "bf16",
    "noise_std": 0.5,
    "mask_fraction": 0.25,
    "kl_warmup_epochs": 2.0,
    "free_bits": 0.5,
    "conditional": True,
    "codebook_size": 64,
    "commitment_weight": 0.5,
    "linear": True,
}
# What a field's change needs beside it to make sense (a linear model is a dense MSE AE).
FIELD_CHANGE_BASES = {"linear": {"kind": "ae", "arch": "dense", "loss": "mse"}}

BAD_VALUES = [
    ("latent_dim", 0),
    ("latent_dim", MAX_LATENT_DIM + 1),
    ("latent_dim", 2.5),
    ("latent_dim", True),
    ("hidden_dim", 0),
    ("epochs", -1),
    ("epochs", 0),
    ("batch_size", 0),
    ("seed", -1),
    ("train_subset", 0),
    ("learning_rate", 0),
    ("learning_rate", -1e-3),
    ("learning_rate", math.inf),
    ("learning_rate", "fast"),
    ("kl_weight", math.nan),
    ("kl_weight", -1.0),
    ("reconstruction_weight", math.nan),
    ("reconstruction_weight", 0.0),
    ("loss", "l1"),
    ("kind", "gan"),
    ("loss_reduction", "avg"),
    ("schedule", "step"),
    ("init", "he"),
    ("arch", ""),
    ("dataset", ""),
    ("noise_std", -0.1),
    ("mask_fraction", 1.0),
    ("kl_warmup_epochs", -1.0),
    ("free_bits", -0.5),
    ("codebook_size", 0),
    ("commitment_weight", -1.0),
    ("conditional", "yes"),
    ("linear", 1),
]

# Fields that are each fine alone but not together; the message names the first field.
IMPOSSIBLE_COMBINATIONS = [
    ("linear", {"linear": True, "kind": "ae", "arch": "cnn_shallow", "loss": "mse"}),
    ("linear", {"linear": True, "kind": "vae", "arch": "dense", "loss": "mse"}),
    ("linear", {"linear": True, "kind": "ae", "arch": "dense", "loss": "bce"}),
    (
        "conditional",
        {"linear": True, "kind": "ae", "arch": "dense", "loss": "mse", "conditional": True},
    ),
    ("free_bits", {"kind": "ae", "free_bits": 0.5}),
    ("kl_warmup_epochs", {"kind": "vq", "kl_warmup_epochs": 1.0}),
    ("arch", {"kind": "vq", "arch": "dense"}),
    ("conditional", {"kind": "vq", "conditional": True}),
]


def test_defaults_are_valid() -> None:
    config = TrainConfig()
    assert config.kind == "vae" and config.is_variational
    assert 1 <= config.latent_dim <= MAX_LATENT_DIM
    assert config.to_dict() == TrainConfig.from_dict(config.to_dict()).to_dict()


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_bad_value_raises_config_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as error:
        TrainConfig(**{field: value})
    message = str(error.value)
    assert field in message
    assert "\n" not in message  # the CLI prints it as one line


@pytest.mark.parametrize(("field", "fields"), IMPOSSIBLE_COMBINATIONS)
def test_impossible_combination_names_the_field(field: str, fields: dict) -> None:
    with pytest.raises(ConfigError) as error:
        TrainConfig(**fields)
    message = str(error.value)
    assert message.startswith(f"{field}:") and "\n" not in message


def test_new_fields_at_their_defaults_leave_earlier_keys_unchanged() -> None:
    # Every zoo model was cached before the families of issue #18 existed.
    data = TrainConfig().to_dict()
    for name in (
        "noise_std",
        "mask_fraction",
        "kl_warmup_epochs",
        "free_bits",
        "conditional",
        "codebook_size",
        "commitment_weight",
        "linear",
    ):
        assert name not in data
    assert TrainConfig(noise_std=0.5).to_dict()["noise_std"] == 0.5


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_replace_validates_again(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig().replace(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [("latent_dim", 1), ("latent_dim", MAX_LATENT_DIM), ("kl_weight", 0.0), ("epochs", 1)],
)
def test_boundary_values_are_accepted(field: str, value: object) -> None:
    assert getattr(TrainConfig(**{field: value}), field) == value


def test_config_is_frozen() -> None:
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.latent_dim = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(
            kind="ae",
            arch="dense",
            latent_dim=16,
            hidden_dim=64,
            loss="cb",
            kl_weight=0.0,
            loss_reduction="mean",
            learning_rate=3e-4,
            schedule="cosine",
            seed=7,
            train_subset=500,
            dataset="/tmp/my digits",
            init="glorot",
        ),
    ],
)
def test_json_round_trip(config: TrainConfig) -> None:
    restored = TrainConfig.from_dict(json.loads(config.to_json()))
    assert restored == config
    assert restored.key() == config.key()
    assert json.loads(config.to_json()) == config.to_dict()


def test_from_dict_fills_missing_fields_with_defaults() -> None:
    assert TrainConfig.from_dict({"latent_dim": 8}) == TrainConfig(latent_dim=8)


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="beta"):
        TrainConfig.from_dict({**TrainConfig().to_dict(), "beta": 4.0})


def test_init_at_its_default_leaves_earlier_keys_unchanged() -> None:
    # Checkpoints cached before `init` existed must keep their keys.
    assert "init" not in TrainConfig().to_dict()
    assert TrainConfig(init="glorot").to_dict()["init"] == "glorot"
    assert TrainConfig.from_dict({"latent_dim": 2}).init == "pytorch"


def test_key_is_stable() -> None:
    assert TrainConfig().key() == DEFAULT_KEY
    assert TrainConfig().key() == TrainConfig().key()
    assert len(DEFAULT_KEY) == 12 and int(DEFAULT_KEY, 16) >= 0


@pytest.mark.parametrize("field", ["reconstruction_weight", "kl_weight", "learning_rate"])
def test_key_ignores_int_versus_float(field: str) -> None:
    as_int, as_float = TrainConfig(**{field: 1}), TrainConfig(**{field: 1.0})
    assert isinstance(getattr(as_int, field), float)
    assert as_int == as_float
    assert as_int.key() == as_float.key()
    assert TrainConfig.from_dict(json.loads(json.dumps({field: 1}))).key() == as_float.key()


def test_field_changes_cover_every_field() -> None:
    assert set(FIELD_CHANGES) == {f.name for f in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize(("field", "value"), FIELD_CHANGES.items())
def test_key_changes_when_any_field_changes(field: str, value: object) -> None:
    base = TrainConfig(**FIELD_CHANGE_BASES.get(field, {}))
    changed = base.replace(**{field: value})
    assert getattr(changed, field) != getattr(base, field)
    assert changed.key() != base.key()
    assert changed.slug() != base.slug()


def test_slug_names_the_model_and_is_a_safe_folder_name() -> None:
    config = TrainConfig(kind="ae", arch="dense", latent_dim=16, loss="mse")
    assert config.slug() == f"mnist-ae-dense-z16-mse-{config.key()}"
    custom = TrainConfig(dataset="/home/me/my digits")
    assert custom.slug().startswith("custom-") and "/" not in custom.slug()


def test_every_zoo_model_keeps_the_key_of_its_shipped_folder() -> None:
    # The shipped folders end in the key their config had when they were trained; a config
    # whose key moved would no longer find its weights.
    folders = {path.name for path in (PROJECT_DIR / "checkpoints").iterdir() if path.is_dir()}
    for name, config in ZOO.items():
        assert config.slug() in folders, f"{name}: {config.slug()} is not in checkpoints/"
    assert len({config.key() for config in ZOO.values()}) == len(ZOO)


def test_every_field_carries_command_line_help() -> None:
    for field in dataclasses.fields(TrainConfig):
        assert isinstance(field.metadata[HELP], str), field.name
        assert field.default is not dataclasses.MISSING, field.name
    assert dataclasses.fields(TrainConfig)[0].metadata[HELP]  # dataset's help says what it takes
    learning_rate = next(f for f in dataclasses.fields(TrainConfig) if f.name == "learning_rate")
    assert learning_rate.metadata[FLAG] == "--lr"


def test_metadata_leaves_the_dict_and_equality_alone() -> None:
    # to_dict comes from dataclasses.asdict: field metadata must not add keys to it.
    assert list(TrainConfig().to_dict()) == [
        f.name for f in dataclasses.fields(TrainConfig) if f.name not in _LATE_FIELD_DEFAULTS
    ]
    assert TrainConfig() == TrainConfig() and hash(TrainConfig()) == hash(TrainConfig())


@pytest.mark.parametrize(
    ("changes", "notes"),
    [
        ({}, []),
        ({"noise_std": 0.5, "mask_fraction": 0.25}, ["denoising σ=0.5", "masking 25%"]),
        ({"free_bits": 0.5, "kl_warmup_epochs": 2.0}, ["free bits 0.5", "KL warm-up 2 ep"]),
        ({"kind": "vq", "codebook_size": 64}, ["K=64"]),
        ({"conditional": True}, ["conditional"]),
        ({"linear": True, "kind": "ae", "arch": "dense", "loss": "mse"}, ["linear"]),
    ],
)
def test_family_notes_name_what_sets_a_model_apart(changes: dict, notes: list[str]) -> None:
    assert TrainConfig(**changes).family_notes() == notes
