"""Loss Comparison: why BCE is not a likelihood for grey pixels, and what the continuous
Bernoulli changes in trained models (reconstructions, samples, training curves, metrics)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, links
from dashboard.images import show_image
from dashboard.settings import public_error
from dashboard.sidebar import current_entry, model_picker
from dashboard.tables import show_metrics_table
from jlml_core import comparison, latent, loss_plots
from jlml_core.checkpoints import CheckpointError, Entry
from jlml_core.data import DataError

PIXEL_CHOICES = [round(0.1 * i, 1) for i in range(11)]
SHOWN = 8  # test images and prior samples per model
OUTPUTS = {"λ (decoder parameter)": "sigmoid", "mean of the distribution": "cb_mean"}

WHY_BCE = """
**Why BCE is not a proper likelihood for grey pixels.** Binary cross-entropy is the negative
log of the Bernoulli probability λˣ(1−λ)¹⁻ˣ, a distribution over the two
outcomes x ∈ {0, 1}. MNIST pixels are grey levels in [0, 1], and over that interval the same
expression does not integrate to 1 but to 1/C(λ). For the *mean* this is harmless: a pixel's
BCE is smallest at λ = x (the dots on the left). But the missing normaliser log C(λ) (right)
depends on λ: it is log 2 at λ = ½ and grows towards confident outputs near 0 and 1. Leaving it
out means a "BCE VAE" maximises something that is not a lower bound on any log-likelihood, and
both its ELBO and the λ it learns are biased.

The **continuous Bernoulli** p(x | λ) = C(λ) λˣ(1−λ)¹⁻ˣ puts log C(λ)
back, so its negative log-likelihood is BCE − log C(λ), a proper density on [0, 1]: it can be
negative, and for a grey pixel its best λ lies further from ½ than x, where the *mean* of the
distribution equals x. — Loaiza-Ganem & Cunningham (2019), [*The continuous Bernoulli: fixing
a pervasive error in variational autoencoders*](https://arxiv.org/abs/1907.06845), NeurIPS.
"""

LAMBDA_OR_MEAN = """
A continuous Bernoulli decoder outputs λ for each pixel, but λ is a *shape* parameter, not the
expected pixel value. The distribution's mean, λ/(2λ−1) + 1/(2 artanh(1−2λ)), always lies
between λ and ½: it is pulled towards grey. Images drawn from λ look sharper and closer to the
data; images of the mean are what the model predicts on average, and look washed out.
"""


def _tile(images: np.ndarray) -> None:
    show_image(latent.tile(images, columns=SHOWN // 2), scale=3)


def _images_of(entry: Entry, output: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Reconstructions of the first test images and prior samples, or None (error shown)."""
    shown = output if entry.config.loss == "cb" else "sigmoid"
    try:
        reconstructions = cache.first_reconstructions_for(entry, SHOWN, shown)
        samples = cache.prior_samples_for(entry, SHOWN, seed=0, output=shown)
    except (CheckpointError, DataError) as error:
        st.error(f"Could not use {entry.label}: {public_error(error)}")
        return None
    return reconstructions, samples


def _brightness(samples: np.ndarray) -> str:
    return f"Average pixel value of the samples: **{samples.mean():.3f}**"


def _metrics_table(entries: list[Entry]) -> None:
    show_metrics_table(
        entries, ["loss", "model"], key="lc_metrics", hide_empty=True, keep_rest=False
    )
    if missing := [e for e in entries if comparison.missing_evaluation(e)]:
        st.caption("Some evaluation metrics (IW-NLL, kNN accuracy, FID, …) are missing. Run:")
        st.code("\n".join(comparison.evaluate_command(e) for e in missing), language="bash")
    st.caption(
        "The −ELBO of a BCE model is not comparable with that of a continuous Bernoulli one: "
        "BCE scores pixels as if they were 0/1 outcomes, the continuous Bernoulli as a density."
    )


def _matched_models(entries: list[Entry], output: str) -> None:
    st.header("Models that differ only in their loss")
    groups = comparison.groups_differing_only_in(entries, "loss")
    if not groups:
        st.info(
            "No two listed models have the same config apart from the loss. Build the model zoo "
            "with `python -m jlml_core zoo`, or train one config twice on the Train page, once "
            "with loss `bce` and once with `cb`."
        )
        return
    index = st.selectbox(
        "Matched set",
        range(len(groups)),
        format_func=lambda i: (
            f"{comparison.shared_description(groups[i][0].config, 'loss')} — "
            + " vs ".join(e.config.loss for e in groups[i])
        ),
        key="lc_group",
        bind=links.BIND,  # the matched set lives in the URL (?lc_group=its label)
    )
    group = groups[index]
    try:
        originals = cache.test_set(group[0].config.dataset).images[:SHOWN].float().numpy() / 255
    except DataError as error:
        st.error(f"Could not load the test images: {public_error(error)}")
        return
    rows = [("Test images", "", originals, None)]
    for entry in group:
        if (images := _images_of(entry, output)) is not None:
            rows.append((f"loss = {entry.config.loss}", _brightness(images[1]), *images))
    for index, (title, note, left, right) in enumerate(rows):
        name, first, second = st.columns([1, 2, 2], gap="medium")
        name.subheader(title)
        name.caption(note)
        if index < 2:  # column titles over the originals and the first model's images
            first.caption("Originals" if index == 0 else "Reconstructions")
            second.caption("" if index == 0 else "Samples from N(0, I)")
        with first:
            _tile(left)
        if right is not None:
            with second:
                _tile(right)

    st.subheader("Training curves")
    histories = {
        entry.config.loss: cache.history_for(str(entry.path), cache.entry_version(entry.path))
        for entry in group
    }
    if any(histories.values()):
        st.plotly_chart(loss_plots.training_curves_figure(histories), key="lc_history")
    else:
        st.caption("These models recorded no training history.")
    st.subheader("Metrics")
    _metrics_table(group)


def _cb_model(entries: list[Entry]) -> str:
    """The λ-or-mean section; returns the image output the user chose."""
    st.header("Continuous Bernoulli: λ or the mean?")
    text, chart = st.columns([3, 2], gap="large")
    with chart:
        st.plotly_chart(loss_plots.cb_mean_figure(), key="lc_cb_mean")
    with text:
        st.markdown(LAMBDA_OR_MEAN)
        choice = st.radio(
            "Show continuous Bernoulli images as",
            list(OUTPUTS),
            horizontal=True,
            key="lc_output",
            help="Applies to models trained with loss `cb` here and below; BCE and MSE models "
            "always show λ, their Bernoulli or Gaussian mean.",
        )
    output = OUTPUTS[choice]
    cb_entries = [e for e in entries if e.config.loss == "cb"]
    if not cb_entries:
        st.info(
            "No continuous Bernoulli model is listed. Train one on the Train page with loss "
            "`cb`, or build the zoo with `python -m jlml_core zoo`."
        )
        return output
    selected = current_entry()
    default = selected.key if selected is not None and selected.config.loss == "cb" else None
    with text:
        entry = model_picker(cb_entries, "Continuous Bernoulli model", "lc_cb_model", default)
    if (images := _images_of(entry, output)) is not None:
        left, right = st.columns(2, gap="large")
        left.caption("Reconstructions of the first test images")
        with left:
            _tile(images[0])
        right.caption("Samples from N(0, I)")
        with right:
            _tile(images[1])
        st.caption(_brightness(images[1]))
    return output


st.title("Loss Comparison")
st.markdown(
    "Binary cross-entropy, the usual VAE reconstruction loss, treats grey pixels as coin flips. "
    "Here is what that means, and what changes when a model is trained with a proper likelihood "
    "for grey levels instead."
)

st.header("BCE versus the continuous Bernoulli")
pixels = st.multiselect(
    "Pixel values x", PIXEL_CHOICES, default=list(loss_plots.DEFAULT_PIXELS), key="lc_pixels"
)
if not pixels:
    st.info("Choose at least one pixel value to draw its loss curves.")
else:
    st.plotly_chart(loss_plots.loss_curves_figure(sorted(pixels)), key="lc_curves")
explanation, normaliser = st.columns([3, 2], gap="large")
with explanation:
    st.markdown(WHY_BCE)
with normaliser:
    st.plotly_chart(loss_plots.log_normalizer_figure(height=360), key="lc_log_c")

st.divider()
entries = cache.list_entries()
output = _cb_model(entries)
st.divider()
_matched_models(entries, output)
