"""Reconstructions' "Linear AE vs PCA" section: a model's reconstructions beside PCA's at the
same k, both test MSEs, and for a linear autoencoder the principal angles between its
decoder's column space and PCA's subspace (near 0 degrees: the textbook result, measured).

PCA is fitted once per dataset (float64 covariance of the training split, seconds) and kept;
each model's comparison over the 10,000 test images is cached by its entry.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from jlml_core.analysis import pca
from jlml_core.data.datasets import load_split
from jlml_core.figures.pca import principal_angles_figure
from jlml_core.store.checkpoints import Entry

from . import cache
from .charts import show_chart
from .images import show_image
from .server import heavy_compute, long_lived

TOGGLE_KEY = "recon_pca"
LINEAR_ZOO = ("linear-ae-z2", "linear-ae-z16")


@st.cache_resource(show_spinner="Computing the PCA of the training set (once per dataset)…")
@long_lived
def pca_of(dataset: str) -> pca.PCA:
    """PCA of a dataset's training split (mean, 784 components, eigenvalues), cached by name."""
    images = load_split(dataset, "train").images
    with heavy_compute():
        return pca.fit_pca(images)


@st.cache_resource(show_spinner="Comparing with PCA on the test set…", max_entries=16)
def _comparison_at(path: str, version: float, dataset: str) -> pca.LinearComparison:
    fitted, model, test = pca_of(dataset), cache.load_model(path, version), cache.test_set(dataset)
    with heavy_compute():
        return pca.compare_with_pca(model, fitted, test.images)


def comparison_for(entry: Entry) -> pca.LinearComparison:
    """The entry's test MSE beside PCA's at its k (and angles for a linear AE), cached."""
    return _comparison_at(str(entry.path), cache.entry_version(entry.path), entry.config.dataset)


def _row(images: np.ndarray, originals: np.ndarray, who: str, classes: list[str]) -> None:
    """Reconstructions (N, H, W), clipped for display, each captioned with its squared error
    on the unclipped values (the error both methods minimise)."""
    errors = pca.squared_errors(originals, images)  # (N,)
    cells = zip(st.columns(len(images)), images, errors, classes, strict=True)
    for column, image, error, label in cells:
        with column:
            show_image(
                np.clip(image, 0.0, 1.0),
                f"SE {error:.1f}",
                scale=4,
                alt=f"{who} reconstruction of a {label}, squared error {error:.1f}",
            )


def show_linear_vs_pca(entry: Entry, images: torch.Tensor, classes: list[str]) -> None:
    """The section, under the page's rows, for the test digits `images` (N, H, W) uint8.

    Open by itself for a linear autoencoder; behind a toggle for any other model (PCA at the
    same k is the baseline every autoencoder should beat), which costs a PCA fit.
    """
    config = entry.config
    k = config.latent_dim
    st.divider()
    st.subheader("Linear AE vs PCA")
    if not config.linear:
        st.caption(
            f"A linear autoencoder trained with squared error learns PCA's subspace; see "
            f"{' and '.join(LINEAR_ZOO)}. For this model, PCA at the same k = {k} is the "
            "baseline a nonlinear code should beat."
        )
        if not st.toggle(f"Compare {entry.label} with PCA at k = {k}", key=TOGGLE_KEY):
            return
    fitted = pca_of(config.dataset)
    result = comparison_for(entry)
    model = cache.model_for(entry)
    originals = images.numpy().astype(np.float64) / 255.0  # (N, H, W)
    with heavy_compute():
        ours = pca.model_reconstruct(model, images)  # (N, H, W), unclipped for a linear AE
        theirs = pca.pca_reconstruct(fitted, images, k)
    kind = "linear AE" if config.linear else "model"
    st.markdown(f"**{kind[:1].upper()}{kind[1:]}**: {entry.label} (k = {k})")
    _row(ours, originals, entry.label, classes)
    st.markdown(f"**PCA**, the top {k} principal components of the training set")
    _row(theirs, originals, f"PCA k={k}", classes)
    left, middle, right = st.columns(3)
    left.metric(f"Test MSE, {kind}", f"{result.model_mse:.2f}")
    middle.metric(
        "Test MSE, PCA",
        f"{result.pca_mse:.2f}",
        f"{kind} {100 * result.relative_gap:+.2f} %",
        delta_color="off",
    )
    if config.linear:
        right.metric("Largest principal angle", f"{result.angles_degrees.max():.2f}°")
        show_chart(
            principal_angles_figure(result.angles_degrees),
            name="principal_angles",
            model=config,
            key="recon_pca_angles",
            alt=f"Bar chart of the {k} principal angles between {entry.label}'s decoder and "
            f"PCA's top-{k} subspace; the largest is {result.angles_degrees.max():.2f} degrees",
        )
        st.caption(
            "MSE: squared error per image summed over its pixels, on all test images, "
            "unclipped (the pictures are clipped to [0, 1] only to be shown). The angles "
            "compare the span of the decoder's columns with PCA's: 0° everywhere means the "
            "same subspace, even though the decoder's columns are neither orthogonal nor "
            "ordered by variance as PCA's are."
        )
    else:
        right.info("Principal angles need a decoder that is one matrix: a linear AE's.")
        st.caption(
            "MSE: squared error per image summed over its pixels, on all test images: "
            "the model's sigmoid output against PCA's projection, unclipped."
        )
