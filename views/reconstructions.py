"""Reconstructions: a row of test digits over what the model makes of them (the first figure)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, inputs, links, vq_view
from dashboard.denoising_view import show_denoising
from dashboard.images import show_image
from dashboard.linear_view import show_linear_vs_pca
from dashboard.server import heavy_compute
from dashboard.settings import limits, public_error
from dashboard.sidebar import model_picker, require_entry
from dashboard.snippets import show_code
from jlml_core.data.datasets import DataError, ImageDataset
from jlml_core.inference import latent, reconstruction
from jlml_core.nn.losses import LOSS_LABELS
from jlml_core.nn.models import Autoencoder
from jlml_core.store.checkpoints import CheckpointError, Entry

METHODS = ("At random", "By class", "By index", "Worst reconstructed")
CB_OUTPUTS = {"sigmoid": "λ (sigmoid of the decoder output)", "cb_mean": "the CB mean"}
CB_EXPLANATION = (
    "A continuous-Bernoulli decoder outputs a shape parameter λ per pixel, which is *not* the "
    "pixel value it expects: the CB mean lies closer to ½ than λ does (λ = 0.1 has mean 0.33), "
    "so λ looks crisp while the mean is the greyer image the model actually predicts."
)
SECOND_MODEL = "recon_second_model"  # its widget key and URL parameter (zoo name or key)
ERROR_KINDS = {"absolute": "|x − x̂|", "signed": "signed x̂ − x"}
ERROR_LEGENDS = {
    "absolute": "Black: exact; purple to yellow: ever larger errors (yellow: off by the full "
    "range). The number is the mean absolute error per pixel.",
    "signed": "Orange: ink the reconstruction added; blue: ink it missed; black: exact. The "
    "number is the mean absolute error per pixel.",
}


def _image_row(images: np.ndarray, captions: list[str], alts: list[str]) -> None:
    """One image per column, so every row lines up with the originals above it."""
    cells = zip(st.columns(len(images)), images, captions, alts, strict=True)
    for column, image, caption, alt in cells:
        with column:
            show_image(image, caption, scale=4, alt=alt)


def _load(entry: Entry) -> Autoencoder | None:
    try:
        return cache.model_for(entry)
    except CheckpointError as error:
        st.error(f"Could not load {entry.label}: {public_error(error)}")
        return None


def _pick_indices(method: str, test: ImageDataset, entry: Entry, count: int) -> np.ndarray | None:
    """The test indices to show, or None after telling the user what is wrong."""
    size = len(test)
    if method == "At random":
        links.clamp_param("recon_seed", 0, 2**31 - 1)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="recon_seed", bind=links.BIND)
        return reconstruction.pick_random(size, count, int(seed))
    if method == "By class":
        left, right = st.columns(2)
        names = test.class_names
        label = left.selectbox(
            "Class",
            range(len(names)),
            format_func=lambda i: names[i] if names[i] == str(i) else f"{i}: {names[i]}",
            key="recon_class",
            bind=links.BIND,
        )
        links.clamp_param("recon_class_seed", 0, 2**31 - 1)
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="recon_class_seed", bind=links.BIND)
        return reconstruction.pick_class(test.labels.numpy(), label, count, int(seed))
    if method == "By index":
        text = st.text_input(
            "Test image indices, separated by commas",
            "0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
            key="recon_indices",
            help=f"Whole numbers from 0 to {size - 1}.",
            max_chars=8 * limits().typed_indices,
            bind=links.BIND,
        )
        try:
            return np.array(inputs.parse_indices(text, size, limits().typed_indices))
        except ValueError as error:
            st.error(str(error))
            return None
    st.caption(
        f"The {count} test digits that {entry.label} reconstructs worst: the highest "
        f"reconstruction loss over all {size:,} test images."
    )
    return reconstruction.worst_reconstructed(cache.test_losses_for(entry), count)


def _model_rows(
    entry: Entry,
    model: Autoencoder,
    originals: np.ndarray,
    images,
    cb_output: str,
    error_kind: str | None,
    classes: list[str],
    labels: np.ndarray | None = None,
) -> None:
    """Reconstructions of `images` (uint8 (N, H, W)) under one model, with losses and errors."""
    config = entry.config
    output = cb_output if config.loss == "cb" else "sigmoid"
    with heavy_compute():
        labels = labels if config.conditional else None  # a CVAE's: the digits' own classes
        decoded = latent.reconstruct(model, images, output, labels)  # (N, H, W) in [0, 1]
        losses = reconstruction.per_image_loss(model, images, config.loss, labels=labels)
    name = LOSS_LABELS[config.loss].short  # short: it sits under 112-px images
    st.markdown(f"**Reconstructions — {entry.label}**")
    _image_row(
        decoded,
        [f"{name} {value:.{1 if abs(value) < 1000 else 0}f}" for value in losses],
        [
            f"reconstruction of a {label} by {entry.label}, {name} {value:.1f} nats"
            for label, value in zip(classes, losses, strict=True)
        ],
    )
    summary = f"Mean {name} loss of these digits: **{losses.mean():.1f}** nats"
    if isinstance(test_mean := entry.metrics.get("test_reconstruction"), (int, float)):
        summary += f" (whole test set: {test_mean:.1f})"
    st.caption(summary + ".")
    if error_kind is not None:
        signed = error_kind == "signed"
        error = reconstruction.pixel_error(originals, decoded, signed=signed)
        st.markdown(f"**Pixel error {ERROR_KINDS[error_kind]}**")
        _image_row(
            reconstruction.error_colors(error, signed),
            [f"MAE {np.abs(e).mean():.3f}" for e in error],
            [f"{error_kind} pixel error map, MAE {np.abs(e).mean():.3f}" for e in error],
        )
        st.caption(ERROR_LEGENDS[error_kind])


st.title("Reconstructions")
st.markdown(
    "Test digits (top) and what the model rebuilds from their codes (below): the original "
    "project's first figure. The number under each reconstruction is its reconstruction loss "
    "in nats — lower is better."
)
entry = require_entry()
model = _load(entry)
try:
    test = cache.test_set(entry.config.dataset)
except DataError as error:
    st.error(f"Could not load the test images of {entry.config.dataset}: {public_error(error)}")
    st.stop()
if model is None:
    st.stop()

pick_column, option_column = st.columns([3, 2], gap="large")
with pick_column:
    method = st.radio("Which digits", METHODS, horizontal=True, key="recon_method", bind=links.BIND)
    most = limits().shown_digits
    links.clamp_param("recon_count", 1, most)
    count = st.slider(
        "Number of digits",
        1,
        most,
        min(10, most),
        key="recon_count",
        disabled=method == "By index",
        help="By index shows the digits you list.",
        bind=links.BIND,
    )
    indices = _pick_indices(method, test, entry, count)
with option_column:
    show_error = st.toggle("Show pixel error", key="recon_show_error", bind=links.BIND)
    error_kind = None
    if show_error:
        error_kind = st.radio(
            "Error",
            list(ERROR_KINDS),
            format_func=ERROR_KINDS.get,
            horizontal=True,
            key="recon_error_kind",
            bind=links.BIND,
        )
    second = None
    if st.toggle("Compare with a second model", key="recon_compare", bind=links.BIND):
        others = [
            e
            for e in cache.list_entries()
            if e.key != entry.key and e.config.dataset == entry.config.dataset
        ]
        if others:
            links.adopt_model(SECOND_MODEL, [e.key for e in others])
            second = model_picker(others, "Second model", SECOND_MODEL)
        else:
            st.info("There is no other model for this dataset yet; train one on the Train page.")
    links.publish_model(SECOND_MODEL, second.key if second is not None else None)
    cb_output = "sigmoid"
    if "cb" in {entry.config.loss, second.config.loss if second else None}:
        cb_output = st.radio(
            "Show for continuous-Bernoulli models",
            list(CB_OUTPUTS),
            format_func=CB_OUTPUTS.get,
            key="recon_cb_output",
            bind=links.BIND,
        )
        st.caption(CB_EXPLANATION)

if indices is not None and len(indices) == 0:
    st.warning("No test image matches this choice.")
elif indices is not None:
    images = test.images[indices.tolist()]  # uint8 (N, H, W)
    originals = images.numpy().astype(np.float32) / 255.0  # (N, H, W) in [0, 1]
    names = test.class_names
    st.markdown("**Originals**")
    _image_row(
        originals,
        [f"#{i} · {names[int(test.labels[i])]}" for i in indices],
        [f"test digit #{i}, a {names[int(test.labels[i])]}" for i in indices],
    )
    classes = [names[int(test.labels[i])] for i in indices]
    labels = test.labels[indices.tolist()].numpy()  # (N,) what a conditional model is given
    _model_rows(entry, model, originals, images, cb_output, error_kind, classes, labels)
    vq_view.show_code_maps(entry, images, [f"#{i}" for i in indices])  # VQ-VAE only
    show_code("reconstructions", entry.key, rows=[int(i) for i in indices])
    if second is not None and (second_model := _load(second)) is not None:
        st.divider()
        _model_rows(second, second_model, originals, images, cb_output, error_kind, classes, labels)
    show_linear_vs_pca(entry, images, classes)
    show_denoising(entry, model, test, indices, cb_output)  # noisy input | output | clean
