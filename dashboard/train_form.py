"""The Train page's config form: one widget per `TrainConfig` field the page offers, and the
family presets that fill several at once (issue #18's autoencoders a course teaches).

Widget keys are ``train_<field>``; `config_form` returns TrainConfig keyword arguments, and
the config's own validation names any field that does not fit with the others (so the
widgets set no bounds of their own: a bad value gets the same one-line message as on the
command line).
"""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

import streamlit as st

from jlml_core.config import HELP, MAX_LATENT_DIM, RECIPES, Schedule, TrainConfig
from jlml_core.data.datasets import DATASETS
from jlml_core.nn import architectures
from jlml_core.nn.losses import LOSS_LABELS

# The page starts from the quick recipe: a good 2-D VAE in about a minute.
DEFAULT_RECIPE = "quick"
DEFAULTS = RECIPES[DEFAULT_RECIPE].config()
RECIPE = "train_recipe"
RECIPE_LABELS = {
    "quick": "Quick: a good 2-D VAE in about a minute",
    "full": "Full: the shipped default's 20 epochs",
}
EVALUATE_EVERY_EPOCH = "train_evaluate_every_epoch"
SCHEDULES = list(get_args(Schedule))
# The command line's help text of each field (config.py), the widgets' tooltips unless they
# say more.
FIELD_HELP = {f.name: f.metadata[HELP] for f in dataclasses.fields(TrainConfig)}
LOSS_HELP = (
    "; ".join(f"{loss}: {labels.description}" for loss, labels in LOSS_LABELS.items())
    + ". The Loss Comparison page explains the difference."
)
REDUCTION_HELP = (
    "sum: the proper ELBO; mean: averages over pixels and latent dimensions like the original "
    "project, which reweights the KL term."
)
KIND_LABELS = {"vae": "VAE", "ae": "AE", "vq": "VQ-VAE"}
# The fields a family preset may change; choosing a preset first puts all of them back to
# their defaults, so presets never mix.
FAMILY_FIELDS = (
    "kind", "arch", "latent_dim", "loss", "kl_weight", "noise_std", "mask_fraction",
    "kl_warmup_epochs", "free_bits", "conditional", "codebook_size", "commitment_weight", "linear",
)  # fmt: skip
PRESET = "train_family"
FAMILIES: dict[str, dict[str, Any]] = {
    "Plain VAE (the default)": {},
    "Denoising VAE (σ = 0.5)": {"noise_std": 0.5},
    "β-VAE (β = 4, 10-D)": {"kl_weight": 4.0, "latent_dim": 10},
    "VAE with free bits (0.5 nats, 16-D)": {"free_bits": 0.5, "latent_dim": 16},
    "VAE with KL warm-up (2 epochs, 16-D)": {"kl_warmup_epochs": 2.0, "latent_dim": 16},
    "Conditional VAE": {"conditional": True},
    "VQ-VAE (128 codes of 16-D)": {"kind": "vq", "latent_dim": 16},
    "Linear AE (compare with PCA)": {"kind": "ae", "arch": "dense", "loss": "mse", "linear": True},
}


def _apply_recipe() -> None:
    """Fill the recipe's fields (a callback, like `_apply_preset`); the rest stay as they are."""
    recipe = RECIPES[st.session_state[RECIPE]]
    for field, value in recipe.values:
        st.session_state[f"train_{field}"] = value
    st.session_state[EVALUATE_EVERY_EPOCH] = recipe.evaluate_every_epoch


def evaluate_every_epoch() -> bool:
    """The form's "evaluate after every epoch" choice (the default recipe's until drawn)."""
    default = RECIPES[DEFAULT_RECIPE].evaluate_every_epoch
    return bool(st.session_state.get(EVALUATE_EVERY_EPOCH, default))


def _apply_preset() -> None:
    """Fill the family's fields (a callback: it runs before the widgets are drawn again)."""
    changes = FAMILIES[st.session_state[PRESET]]
    for field in FAMILY_FIELDS:
        st.session_state[f"train_{field}"] = changes.get(field, getattr(DEFAULTS, field))


def config_form(disabled: bool) -> dict:
    """The config widgets (keys "train_<field>"); returns TrainConfig keyword arguments."""
    try:
        architectures.load_plugins()
    except ImportError as error:
        st.warning(str(error))
    arch_names = sorted(architectures.ARCHITECTURES)
    arch_help = "\n".join(
        f"- **{a.name}**: {a.description}" for a in architectures.ARCHITECTURES.values()
    )
    values = {}

    def number(field: str, label: str, step: float, **options) -> None:
        default = options.pop("value", getattr(DEFAULTS, field))
        options.setdefault("help", FIELD_HELP[field] or None)
        values[field] = st.number_input(
            label, value=default, step=step, key=f"train_{field}", disabled=disabled, **options
        )

    def choice(field: str, label: str, options: list, widget=st.selectbox, **more) -> None:
        index = options.index(getattr(DEFAULTS, field)) if field != "dataset" else 0
        values[field] = widget(
            label, options, index=index, key=f"train_{field}", disabled=disabled, **more
        )

    def toggle(field: str, label: str) -> None:
        values[field] = st.toggle(
            label,
            value=getattr(DEFAULTS, field),
            key=f"train_{field}",
            disabled=disabled,
            help=FIELD_HELP[field],
        )

    recipes, families = st.columns(2, gap="large")
    recipes.selectbox(
        "Recipe",
        list(RECIPES),
        format_func=RECIPE_LABELS.get,
        key=RECIPE,
        on_change=_apply_recipe,
        disabled=disabled,
        help="; ".join(f"**{r.name}**: {r.summary}" for r in RECIPES.values())
        + ". Sets epochs, learning rate, schedule, hidden width and initial weights.",
    )
    families.selectbox(
        "Start from a family",
        list(FAMILIES),
        key=PRESET,
        on_change=_apply_preset,
        disabled=disabled,
        help="Fills the fields below for one of the autoencoders a course teaches; change any "
        "of them afterwards.",
    )
    model, objective, training = st.columns(3, gap="large")
    with model:
        st.subheader("Model")
        choice("dataset", "Dataset", list(DATASETS))
        choice("kind", "Kind", list(KIND_LABELS), st.radio, format_func=KIND_LABELS.get,
               horizontal=True)  # fmt: skip
        choice("arch", "Architecture", arch_names, help=arch_help)
        number("latent_dim", "Latent dimension", 1, help=f"1 to {MAX_LATENT_DIM}.")
        number("hidden_dim", "Hidden width", 16, placeholder="the architecture's")
    with objective:
        st.subheader("Loss")
        choice("loss", "Reconstruction loss", list(LOSS_LABELS), help=LOSS_HELP)
        number("reconstruction_weight", "Reconstruction weight", 0.1)
        number("kl_weight", "KL weight (β)", 0.1, help="Ignored for an AE.")
        choice("loss_reduction", "Loss reduction", ["sum", "mean"], st.radio, horizontal=True,
               help=REDUCTION_HELP)  # fmt: skip
    with training:
        st.subheader("Training")
        number("epochs", "Epochs", 1)
        number("batch_size", "Batch size", 32)
        number("learning_rate", "Learning rate", 1e-4, format="%.4f")
        choice("schedule", "Learning-rate schedule", SCHEDULES)
        choice("init", "Initial weights", ["pytorch", "glorot"], st.radio, horizontal=True)
        st.toggle(
            "Evaluate after every epoch",
            value=evaluate_every_epoch(),
            key=EVALUATE_EVERY_EPOCH,
            disabled=disabled,
            help="Off: the test set is scored once, after the last epoch (about 4 s saved per "
            "epoch); the loss chart then shows the test loss at the end only.",
        )
        number("seed", "Seed", 1)
        number("train_subset", "Train on the first N images", 1000, value=None,
               placeholder="all of them", help="Empty: the whole training set.")  # fmt: skip
    changed = any(
        st.session_state.get(f"train_{f}", getattr(DEFAULTS, f)) != getattr(DEFAULTS, f)
        for f in FAMILY_FIELDS[4:]
    )
    with st.expander("Family options: denoising, collapse remedies, conditional, VQ, linear",
                     expanded=changed):  # fmt: skip
        denoising, remedies, structure, vq = st.columns(4, gap="medium")
        with denoising:
            st.markdown("**Denoising**")
            number("noise_std", "Input noise σ", 0.05)
            number("mask_fraction", "Masked pixels", 0.05)
        with remedies:
            st.markdown("**Posterior collapse (VAE)**")
            number("kl_warmup_epochs", "KL warm-up epochs", 0.5)
            number("free_bits", "Free bits (nats per dimension)", 0.1)
        with structure:
            st.markdown("**Structure**")
            toggle("conditional", "Conditional (class label in)")
            toggle("linear", "Linear (no nonlinearity)")
        with vq:
            st.markdown("**VQ-VAE**")
            number("codebook_size", "Codebook size K", 16)
            number("commitment_weight", "Commitment weight", 0.05)
    return values
