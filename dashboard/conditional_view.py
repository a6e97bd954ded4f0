"""Conditional models (a CVAE) on the pages: the class picker of Generation, "your digit in
every class" on Your digit, and a plain notice on pages that decode places without a label.

A conditional model's decoder takes a class label besides the code (Sohn et al. 2015), so the
code is left to hold the handwriting: slant, width, stroke. The sections here show exactly that
split: one code decoded under every label, the same class in many styles.
"""

from __future__ import annotations

from functools import partial
from typing import NoReturn

import numpy as np
import streamlit as st
import torch

from jlml_core.analysis.classifier import ClassifierError, classify
from jlml_core.config import NUM_CLASSES
from jlml_core.inference import latent, plane, reconstruction
from jlml_core.nn.losses import LOSS_LABELS
from jlml_core.store.checkpoints import Entry

from . import cache, links
from .images import show_images, show_wide_image
from .neighbours import show_nearest_test_digits
from .settings import limits

MOSAIC_WIDTH = 720
CLASS_KEY = "gen_class"
STYLES_KEY = "gen_class_rows"
LABEL_KEY = "your_digit_label"
NEIGHBOURS = 8
PLANE_CELLS = 15


def _class_name(names: list[str], label: int) -> str:
    return names[label] if names[label] == str(label) else f"{label}: {names[label]}"


def stop_if_conditional(entry: Entry, page: str) -> None:
    """On a page that decodes codes without a label, say plainly why a conditional model is not
    shown there, point to where it is, and stop the page. Other models pass through."""
    if not entry.config.conditional:
        return
    st.info(
        f"**{entry.label} is a conditional model.** Its decoder needs a class label besides "
        f"the code, and {page} decodes places in the latent space that have none, so it does "
        "not show this model. See it on **Generation** (a class picker, and one code decoded "
        "as every digit) and on **Your digit** (your handwriting in every class)."
    )
    st.stop()


def show_generation(entry: Entry, output: latent.ImageOutput) -> NoReturn:
    """Generation for a conditional model: samples of a chosen class, one code under all ten
    labels and (for a 2-D code) the latent plane under the chosen class; then stop the page,
    whose other tabs decode codes without a label."""
    config, test = entry.config, cache.test_set(entry.config.dataset)
    names = list(test.class_names)
    bounds = limits()
    st.info(
        f"**{entry.label} is a conditional VAE**: its decoder is given a class label besides "
        "the code. Pick the class; the code z ~ N(0, I) only chooses the handwriting. "
        "(Interpolations and planes through test digits are for unconditional models.)"
    )
    links.clamp_param(CLASS_KEY, 0, NUM_CLASSES - 1)
    label = st.radio(
        "Class to generate",
        range(NUM_CLASSES),
        horizontal=True,
        key=CLASS_KEY,
        format_func=partial(_class_name, names),
        bind=links.BIND,
    )
    controls, picture = st.columns([1, 2], gap="large")
    with controls:
        n = st.slider("Grid size (n × n)", 2, bounds.prior_grid, 8, key="gen_grid", bind=links.BIND)
        seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed", bind=links.BIND))
        temperature = st.slider(
            "Temperature", 0.0, 2.0, 1.0, 0.05, key="gen_temperature", bind=links.BIND,
            help="Scales the prior's standard deviation.",
        )  # fmt: skip
        st.caption(
            f"Each image decodes z ~ N(0, T² I) under the label {names[label]}: every one "
            "should be that class, each written differently."
        )
    z = latent.sample_prior(n * n, config.latent_dim, seed, temperature)  # (n², D)
    samples = cache.decoded_for(entry, z, output, np.full(n * n, label))
    with picture:
        show_wide_image(
            latent.tile(samples, n),
            f"{n * n} samples of class {names[label]}, seed {seed}, temperature {temperature:g}",
            alt=f"{n} by {n} mosaic of {names[label]} digits that {entry.label} generates "
            f"from {n * n} prior samples, seed {seed}",
            width=MOSAIC_WIDTH,
        )
    _show_every_class(entry, output, names, seed, temperature)
    if config.latent_dim == 2:
        _show_plane(entry, output, names[label], label)
    st.stop()


def _show_every_class(
    entry: Entry, output: latent.ImageOutput, names: list[str], seed: int, temperature: float
) -> None:
    """Rows = codes (styles), columns = the ten labels: each code decoded as every class."""
    st.subheader("All ten classes")
    rows = st.slider("Styles (rows)", 1, 10, 6, key=STYLES_KEY)
    z = latent.sample_prior(rows, entry.config.latent_dim, seed, temperature)  # (rows, D)
    codes = np.repeat(z, NUM_CLASSES, axis=0)  # (rows * 10, D): row r's code, ten times
    labels = np.tile(np.arange(NUM_CLASSES), rows)  # (rows * 10,): 0..9 along each row
    decoded = cache.decoded_for(entry, codes, output, labels)
    show_wide_image(
        latent.tile(decoded, NUM_CLASSES),
        "Each row is one code z decoded under the labels "
        f"{names[0]} … {names[-1]} (left to right): the label sets the class, the code the "
        "handwriting, so a row keeps one slant and stroke through every digit.",
        alt=f"{rows} by 10 grid: {rows} prior codes, each decoded by {entry.label} as every "
        "class from left to right",
        width=MOSAIC_WIDTH,
    )


def _show_plane(entry: Entry, output: latent.ImageOutput, name: str, label: int) -> None:
    """The 2-D latent plane over [-3, 3]² decoded under one label: that class's styles."""
    st.subheader(f"The latent plane under the label {name}")
    points = latent.grid_points((-3.0, 3.0), (-3.0, 3.0), PLANE_CELLS)  # (cells², 2)
    decoded = cache.decoded_for(entry, points, output, np.full(len(points), label))
    show_wide_image(
        latent.tile(decoded, PLANE_CELLS),
        f"A {PLANE_CELLS} × {PLANE_CELLS} grid over z ∈ [−3, 3]², every point decoded as a "
        f"{name}: moving through the plane changes how the digit is written, not which it is.",
        alt=f"{PLANE_CELLS} by {PLANE_CELLS} mosaic of {name} digits that {entry.label} "
        "decodes over its latent plane",
        width=MOSAIC_WIDTH,
    )


def _guess(image: np.ndarray) -> int | None:
    """The shipped digit classifier's class for a uint8 image (H, W); None without it."""
    try:
        network = cache.digit_classifier()
    except ClassifierError:
        return None
    probabilities = classify(network, image[None].astype(np.float32) / 255.0).probabilities
    return int(probabilities[0].argmax())


def show_your_digit(entry: Entry, image: np.ndarray) -> NoReturn:
    """Your digit under a conditional model: encoded with its label (the classifier's guess or
    the user's choice), reconstructed, and its code decoded under each of the ten labels; then
    stop the page (its posterior and plane views decode codes without a label)."""
    model, names = cache.model_for(entry), list(cache.test_set(entry.config.dataset).class_names)
    guess = _guess(image) if entry.config.dataset == "mnist" else None
    guessed = "" if guess is None else f"the classifier's guess, {names[guess]}"
    label = st.selectbox(
        "Label your digit is encoded with",
        [None, *range(NUM_CLASSES)] if guess is not None else list(range(NUM_CLASSES)),
        format_func=lambda c: guessed if c is None else _class_name(names, c),
        key=LABEL_KEY,
        help="A conditional model encodes q(z | x, y): the label tells it which digit this is, "
        "so the code keeps only how it is written.",
    )
    label = guess if label is None else int(label)
    batch = torch.from_numpy(image)[None]  # (1, 28, 28) uint8
    mu = latent.encode_images(model, batch, labels=[label]).mu  # (1, D)
    output = plane.image_output_for(entry.config.loss)
    loss = reconstruction.per_image_loss(model, batch, entry.config.loss, labels=[label])[0]
    every = cache.decoded_for(entry, np.repeat(mu, NUM_CLASSES, 0), output, np.arange(NUM_CLASSES))
    loss_name = LOSS_LABELS[entry.config.loss].nll
    with st.container(key="your_digit_result"):
        show_images(
            [image / 255.0, every[label]], ["your digit, as MNIST", f"reconstruction as {label}"],
            5, alts=["your digit, centred and scaled as MNIST",
                     f"its reconstruction by {entry.label} under the label {names[label]}, "
                     f"{loss_name} {loss:.1f} nats"],
        )  # fmt: skip
        st.markdown(f"Reconstruction loss ({loss_name}) under the label: **{loss:.1f}** nats")
    st.subheader("Your digit in every class")
    with st.container(key="your_digit_every_class"):
        show_images(
            every,
            [names[c] for c in range(NUM_CLASSES)],
            3,  # 84 px each: the ten fit in one row
            alts=[f"your handwriting decoded by {entry.label} as a {names[c]}" for c in range(10)],
        )
    st.caption(
        "Your drawing's code, decoded under each of the ten labels: the model keeps your "
        "slant, width and stroke and writes every digit with them."
    )
    show_nearest_test_digits(
        entry, mu[0], NEIGHBOURS, "**Test digits written most like yours** (nearest codes: "
        "under this model a code holds the style, not the class)",
    )  # fmt: skip
    st.stop()
