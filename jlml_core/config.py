"""Training configuration: one frozen dataclass that names a model completely.

A `TrainConfig` is the key of the checkpoint cache, so every field that changes the trained
weights belongs here, and nothing else does. Each field also carries its command-line help in
its metadata, so the `train` flags are derived from this one list (`jlml_core.cli_args`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

ModelKind = Literal["ae", "vae", "vq"]
ReconstructionLoss = Literal["bce", "mse", "cb"]
LossReduction = Literal["sum", "mean"]
Schedule = Literal["constant", "cosine", "warmup_cosine"]
WeightInit = Literal["pytorch", "glorot"]
Precision = Literal["auto", "fp32", "bf16"]

MAX_LATENT_DIM = 256
MAX_CODEBOOK_SIZE = 4096
# Share of all training steps over which the "warmup_cosine" schedule raises the learning rate.
WARMUP_SHARE = 0.05
# Classes a conditional model is given (one-hot); both shipped datasets have ten.
NUM_CLASSES = 10
# The project folder: the shipped data (data/) and model zoo (checkpoints/) live in it.
PROJECT_DIR = Path(__file__).resolve().parent.parent


# Fields added after checkpoints were cached: `to_dict` leaves them out at their defaults (read
# from the fields below, after the class), so those checkpoints keep their keys.
_LATE_FIELDS = (
    "init", "precision", "noise_std", "mask_fraction", "kl_warmup_epochs", "free_bits",
    "conditional", "codebook_size", "commitment_weight", "linear",
)  # fmt: skip

# Keys of a field's metadata, read by the command line (`jlml_core.cli_args`), which derives
# one flag per field from them.
HELP = "help"  # what the flag sets, in a few words ("" when the name says it all)
FLAG = "flag"  # the flag, where it is not --field-name
NONE_MEANS = "none_means"  # what the field's None default stands for, for the help text


def _option(
    default: Any, help_text: str = "", *, flag: str | None = None, none_means: str | None = None
) -> Any:
    """A config field with the command-line help (and flag) that goes with it."""
    metadata = {HELP: help_text}
    if flag is not None:
        metadata[FLAG] = flag
    if none_means is not None:
        metadata[NONE_MEANS] = none_means
    return dataclasses.field(default=default, metadata=metadata)


class ConfigError(ValueError):
    """A configuration value a model cannot be trained with; the message says what to change."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model.

    Attributes:
        dataset: a registered dataset name ("mnist", "fashion-mnist") or a folder of IDX files.
        kind: "ae" (deterministic code), "vae" (Gaussian posterior, KL to N(0, I)) or "vq"
            (VQ-VAE: a grid of codes, each snapped to the nearest of `codebook_size` vectors).
        arch: name of an encoder/decoder pair in the architecture registry.
        latent_dim: size of the code, 1 to 256.
        hidden_dim: width of the architecture's dense hidden layer; None takes its default.
        loss: reconstruction term: binary cross-entropy, mean squared error or continuous
            Bernoulli negative log-likelihood.
        reconstruction_weight: factor on the reconstruction term.
        kl_weight: factor on the KL term (beta in a beta-VAE); ignored for an AE.
        loss_reduction: "sum" adds over pixels and latent dimensions (the proper ELBO);
            "mean" averages both, as the original project did, which rescales the KL term
            by 784 / latent_dim relative to the ELBO.
        epochs: passes over the training set.
        batch_size: images per optimiser step.
        learning_rate: Adam step size.
        schedule: learning-rate schedule: constant, cosine decay to zero, or "warmup_cosine":
            a linear rise over the first `WARMUP_SHARE` of the steps, then cosine decay (what
            lets the quick recipe start at a large learning rate without diverging).
        seed: seeds weights, shuffling and sampling; same seed, same model on CPU.
        train_subset: train on the first N training images only (None: all of them).
        init: initial weights: PyTorch's layer defaults, or Keras's (Glorot-uniform weights,
            zero biases).
        precision: arithmetic of the training step: "bf16" autocast (weights stay fp32),
            "fp32", or "auto": bf16 where the CPU has bf16 instructions, else fp32
            (`jlml_core.runtime.precision`). Evaluation is always fp32.
        noise_std: denoising: standard deviation of Gaussian noise added to each training
            input (clipped to [0, 1]); the loss still compares with the clean image.
        mask_fraction: denoising: share of each training input's pixels set to 0.
        kl_warmup_epochs: KL warm-up (annealing): the KL weight rises linearly from 0 to
            `kl_weight` over this many epochs (0: no warm-up).
        free_bits: nats of KL per latent dimension that cost nothing in training (Kingma et
            al. 2016), so the optimiser has no reason to switch a dimension off entirely.
        conditional: a conditional AE/VAE: the one-hot class label joins the encoder's
            features and the decoder's input.
        codebook_size: VQ-VAE only: number of codebook vectors K.
        commitment_weight: VQ-VAE only: factor on the commitment loss (van den Oord et al.
            2017 use 0.25).
        linear: a linear autoencoder: one linear map each way, no nonlinearity anywhere, the
            decoder's output is the pixel value itself (dense arch, MSE, AE only); what PCA
            computes in closed form.
    """

    dataset: str = _option("mnist", "mnist, fashion-mnist, or a folder of IDX files")
    kind: ModelKind = _option("vae", "plain autoencoder, VAE or VQ-VAE")
    arch: str = _option(
        "cnn_shallow", "encoder/decoder pair: dense, cnn_shallow, cnn_deep or a registered one"
    )
    latent_dim: int = _option(2, f"size of the code, 1..{MAX_LATENT_DIM}")
    hidden_dim: int | None = _option(
        None, "width of the dense hidden layer", none_means="the architecture's"
    )
    loss: ReconstructionLoss = _option("bce", "reconstruction loss")
    reconstruction_weight: float = _option(1.0)
    kl_weight: float = _option(1.0, "beta; ignored for an AE")
    loss_reduction: LossReduction = _option(
        "sum", "sum = proper ELBO; mean = the original project's per-pixel weighting"
    )
    epochs: int = _option(5)
    batch_size: int = _option(128)
    learning_rate: float = _option(1e-3, "Adam learning rate", flag="--lr")
    schedule: Schedule = _option("constant", "learning-rate schedule")
    seed: int = _option(0)
    train_subset: int | None = _option(None, "train on the first N training images only")
    init: WeightInit = _option(
        "pytorch", "initial weights: PyTorch's defaults or Keras's Glorot-uniform"
    )
    precision: Precision = _option(
        "auto",
        "training arithmetic: bf16 autocast, fp32, or auto = bf16 on CPUs with bf16 instructions",
    )
    noise_std: float = _option(0.0, "denoising: std of Gaussian noise on training inputs")
    mask_fraction: float = _option(0.0, "denoising: share of training input pixels set to 0")
    kl_warmup_epochs: float = _option(
        0.0, "KL warm-up: epochs over which the KL weight rises from 0"
    )
    free_bits: float = _option(0.0, "free bits: nats of KL per latent dimension that cost nothing")
    conditional: bool = _option(
        False, "conditional model: the class label joins encoder and decoder"
    )
    codebook_size: int = _option(128, "VQ-VAE: number of codebook vectors")
    commitment_weight: float = _option(0.25, "VQ-VAE: factor on the commitment loss")
    linear: bool = _option(False, "linear autoencoder: no nonlinearity (dense arch, MSE, AE)")

    def __post_init__(self) -> None:
        _check_choice("kind", self.kind, ModelKind)
        _check_choice("loss", self.loss, ReconstructionLoss)
        _check_choice("loss_reduction", self.loss_reduction, LossReduction)
        _check_choice("schedule", self.schedule, Schedule)
        _check_choice("init", self.init, WeightInit)
        _check_choice("precision", self.precision, Precision)
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError("dataset must be a dataset name such as 'mnist' or a folder path.")
        if not isinstance(self.arch, str) or not self.arch:
            raise ConfigError("arch must name an architecture, e.g. 'cnn_shallow'.")
        _check_int("latent_dim", self.latent_dim, 1, MAX_LATENT_DIM)
        if self.hidden_dim is not None:
            _check_int("hidden_dim", self.hidden_dim, 1, 65536)
        _check_int("epochs", self.epochs, 1, 10_000)
        _check_int("batch_size", self.batch_size, 1, 65_536)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        if self.train_subset is not None:
            _check_int("train_subset", self.train_subset, 1, 10**9)
        _check_float("reconstruction_weight", self.reconstruction_weight, 0.0, 1e6, open_low=True)
        _check_float("kl_weight", self.kl_weight, 0.0, 1e6)
        _check_float("learning_rate", self.learning_rate, 0.0, 10.0, open_low=True)
        _check_float("noise_std", self.noise_std, 0.0, 10.0)
        _check_float("mask_fraction", self.mask_fraction, 0.0, 0.99)
        _check_float("kl_warmup_epochs", self.kl_warmup_epochs, 0.0, 10_000.0)
        _check_float("free_bits", self.free_bits, 0.0, 100.0)
        _check_int("codebook_size", self.codebook_size, 1, MAX_CODEBOOK_SIZE)
        _check_float("commitment_weight", self.commitment_weight, 0.0, 1e3)
        _check_bool("conditional", self.conditional)
        _check_bool("linear", self.linear)
        self._check_combination()
        # 1 and 1.0 must give the same cache key, so weights are always stored as floats.
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, float(getattr(self, name)))

    def _check_combination(self) -> None:
        """Refuse fields that make no sense together, naming the field to change."""
        if self.linear:
            if self.arch != "dense":
                raise ConfigError(
                    f"linear: a linear autoencoder has no convolutions; use arch 'dense', "
                    f"not {self.arch!r}."
                )
            if self.kind != "ae":
                raise ConfigError(f"linear: a linear autoencoder is kind 'ae', not {self.kind!r}.")
            if self.loss != "mse":
                raise ConfigError(
                    f"linear: a linear autoencoder's output is not squashed into [0, 1], so its "
                    f"loss is 'mse', not {self.loss!r}."
                )
            if self.conditional:
                raise ConfigError("conditional: a linear autoencoder cannot be conditional.")
        if self.kind == "vq" and self.conditional:
            raise ConfigError("conditional: a VQ-VAE cannot be conditional here.")
        if self.kind == "vq" and self.arch != "cnn_shallow":
            raise ConfigError(
                f"arch: a VQ-VAE needs a grid of codes, which only 'cnn_shallow' gives, "
                f"not {self.arch!r}."
            )
        if self.kind != "vae" and (self.free_bits or self.kl_warmup_epochs):
            name = "free_bits" if self.free_bits else "kl_warmup_epochs"
            raise ConfigError(f"{name}: only a VAE has a KL term; kind is {self.kind!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field but `init` and `precision` at their defaults.

        Both came after checkpoints were cached; leaving them out at their defaults ("pytorch",
        "auto") keeps those checkpoints' keys.
        """
        data = dataclasses.asdict(self)
        for name, default in _LATE_FIELD_DEFAULTS.items():
            if data[name] == default:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from `to_dict` output; unknown keys are errors, missing ones default."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"Unknown config field(s): {', '.join(unknown)}.")
        return cls(**data)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) — the text the cache key is hashed from."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def key(self) -> str:
        """Stable 12-hex-digit hash of the config: same config, same key, on any machine."""
        return _key_of(self)

    def slug(self) -> str:
        """Human-readable folder name: what the model is, then its key."""
        dataset = self.dataset if self.dataset.replace("-", "").isalnum() else "custom"
        return f"{dataset}-{self.kind}-{self.arch}-z{self.latent_dim}-{self.loss}-{self.key()}"

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def is_variational(self) -> bool:
        return self.kind == "vae"

    def family_notes(self) -> list[str]:
        """What sets the model apart from a plain AE/VAE, in short words for labels
        (e.g. ["denoising σ=0.5", "free bits 0.5"]); [] for a plain model."""
        notes = []
        if self.linear:
            notes.append("linear")
        if self.conditional:
            notes.append("conditional")
        if self.kind == "vq":
            notes.append(f"K={self.codebook_size}")
            if self.commitment_weight != 0.25:
                notes.append(f"commitment {self.commitment_weight:g}")
        if self.noise_std:
            notes.append(f"denoising σ={self.noise_std:g}")
        if self.mask_fraction:
            notes.append(f"masking {self.mask_fraction:.0%}")
        if self.free_bits:
            notes.append(f"free bits {self.free_bits:g}")
        if self.kl_warmup_epochs:
            notes.append(f"KL warm-up {self.kl_warmup_epochs:g} ep")
        return notes


def _check_choice(name: str, value: object, choices: Any) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}.")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {value!r}.")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}.")


def _check_float(
    name: str, value: object, low: float, high: float, *, open_low: bool = False
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, not {value!r}.")
    too_low = value <= low if open_low else value < low
    if too_low or value > high or value != value:  # value != value catches NaN
        bound = f"greater than {low}" if open_low else f"at least {low}"
        raise ConfigError(f"{name} must be {bound} and at most {high:g}, not {value}.")


_LATE_FIELD_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in _LATE_FIELDS
}
_FLOAT_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.type in ("float", float))


@functools.lru_cache(maxsize=4096)
def _key_of(config: TrainConfig) -> str:
    # Cached: a dashboard page asks every listed model's key dozens of times per run, and
    # building the canonical JSON costs ~20 us each (a config is frozen, so its key never moves).
    return hashlib.sha256(config.to_json().encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Recipe:
    """A named way to train: config values chosen by measurement, and when to evaluate.

    Attributes:
        name: what the command line (`train --recipe NAME`) and the Train page call it.
        summary: one line on what it gives and what it costs.
        values: TrainConfig field values; every other field keeps its default, and anything a
            user sets on top wins.
        evaluate_every_epoch: False evaluates after the last epoch only; the other epochs'
            history records then have no test figures (an evaluation costs 2-4 s here).
        record_latents: False records no latent history on the command line (9 snapshots of
            2,000 digits, ~0.5 s each); the Train page records it anyway, to draw it live.
    """

    name: str
    summary: str
    values: tuple[tuple[str, Any], ...]
    evaluate_every_epoch: bool = True
    record_latents: bool = True

    def config(self, **changes: Any) -> TrainConfig:
        """The recipe's config with `changes` on top (validated)."""
        return TrainConfig(**(dict(self.values) | changes))


# Both train the 2-D shallow-CNN VAE (the defaults' arch, latent size and loss). Measured in
# docs/benchmarks.md, "Time to quality" (`python bench/time_to_quality.py`).
_QUICK_VALUES: tuple[tuple[str, Any], ...] = (
    ("hidden_dim", 128),
    ("init", "glorot"),
    ("epochs", 4),
    ("learning_rate", 8e-3),
    ("schedule", "warmup_cosine"),
)
RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "quick",
            "a good 2-D VAE in about a minute on a 2-core CPU: a large learning rate after a "
            "short warm-up, cosine decay, 4 epochs, one evaluation at the end, no latent "
            "recording on the command line",
            _QUICK_VALUES,
            evaluate_every_epoch=False,
            record_latents=False,
        ),
        Recipe(
            "full",
            "the shipped default model's recipe: the quick one for 20 epochs, evaluated after "
            "every epoch",
            tuple((field, 20 if field == "epochs" else value) for field, value in _QUICK_VALUES),
        ),
    )
}
