"""Loss Comparison: why BCE is not a likelihood for grey pixels, and what the continuous
Bernoulli changes in trained models (images, comparable measures, a verdict, curves)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import cache, links
from dashboard.charts import show_chart
from dashboard.images import show_image
from dashboard.settings import public_error
from dashboard.snippets import show_code
from dashboard.tables import show_small_table
from jlml_core.analysis import comparison, likelihood
from jlml_core.analysis.classifier import ClassifierError
from jlml_core.data.datasets import DataError
from jlml_core.figures import loss_curves
from jlml_core.figures.exports import file_name
from jlml_core.inference import latent
from jlml_core.store.checkpoints import CheckpointError, Entry

PIXEL_CHOICES = [round(0.1 * i, 1) for i in range(11)]
SHOWN = 8  # test images and prior samples per model
SCORE_FORMATS = {
    "pixel MSE": "{:.4f}",
    "pixel MAE": "{:.3f}",
    "sharpness": "{:.2f}",
    "kNN acc": "{:.1%}",
    "sample FID": "{:.1f}",
    "confidence": "{:.1%}",
}

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
between λ and ½: it is pulled towards grey. Images of λ have more contrast; images of the mean
are what the model predicts on average, and look washed out. Which of the two is closer to the
data, and whether either beats BCE, is measured on the matched models below.
"""


SHOW_CHOICES = {
    "λ and the mean side by side": ("sigmoid", "cb_mean"),
    "λ only": ("sigmoid",),
    "the mean only": ("cb_mean",),
}
ROWS = (f"Reconstructions of the first {SHOWN} test digits", "Samples from N(0, I), seed 0")
COMPARABLE = """
Only numbers measured on the images and codes are compared across likelihoods. **Pixel MSE /
MAE**: the shown reconstruction against its test digit, per pixel, over all 10,000 test digits.
**Sharpness**: edge energy of the shown reconstructions relative to the test digits' (1 = as
sharp as the data). **kNN acc**: 5-nearest-neighbour digit accuracy of the test codes.
**Sample FID / confidence**: 10,000 prior samples scored by the digit classifier (MNIST-FID,
lower is closer to real digits; mean top-class probability).
"""


def _tile(images: np.ndarray, alt: str) -> None:
    show_image(latent.tile(images, columns=SHOWN // 2), scale=2, alt=alt)


def _images(group: list[Entry], outputs: tuple[str, ...]) -> None:
    """Originals, then one column per shown model: reconstructions above, samples below."""
    try:
        originals = cache.test_set(group[0].config.dataset).images[:SHOWN].float().numpy() / 255
        shown = [
            (likelihood.shown_title(e.config.loss, o), cache.first_reconstructions_for(e, SHOWN, o),
             cache.prior_samples_for(e, SHOWN, 0, o))
            for e, o in likelihood.shown_pairs(group, outputs)
        ]  # fmt: skip
    except (CheckpointError, DataError) as error:
        st.error(f"Could not decode with these models: {public_error(error)}")
        return
    for row, what in enumerate(ROWS):
        st.subheader(what)
        columns = st.columns(len(shown) + 1, gap="small")
        columns[0].caption("Test digits" if row == 0 else "The same codes for every model")
        if row == 0:
            with columns[0]:
                _tile(originals, f"the first {SHOWN} test digits, in two rows")
        for column, (title, *images) in zip(columns[1:], shown, strict=True):
            column.caption(f"**{title}** · average pixel {images[row].mean():.3f}")
            with column:
                _tile(
                    images[row],
                    f"{what.lower()} by the {title} model: {SHOWN} images, average pixel "
                    f"{images[row].mean():.3f}",
                )


def _scores(group: list[Entry], score_mean_samples: bool) -> list[likelihood.ShownScores]:
    rows = []
    for entry in group:
        quality = {}
        if score_mean_samples and entry.config.loss == "cb":
            try:
                quality["cb_mean"] = cache.mean_sample_quality_for(entry)
            except ClassifierError as error:
                st.warning(str(error))
        rows += likelihood.shown_scores(entry, cache.shown_image_errors_for(entry), quality)
    return rows


def _matched_models(entries: list[Entry]) -> None:
    st.header("Models that differ only in their likelihood")
    sets = comparison.matched_sets(entries, comparison.zoo_matched_configs())
    if not sets:
        st.info(
            "No two listed models have the same config apart from the loss. Build the model zoo "
            "with `python -m jlml_core zoo`, or train one config twice on the Train page, once "
            "with loss `bce` and once with `cb`."
        )
        return
    index = st.selectbox(
        "Matched set",
        range(len(sets)),
        format_func=lambda i: (
            f"{sets[i].title} — " + " vs ".join(e.config.loss for e in sets[i].entries)
        ),
        key="lc_group",
        bind=links.BIND,  # the matched set lives in the URL (?lc_group=its label)
    )
    group = sets[index].entries
    st.caption(" · ".join(f"{e.config.loss}: {e.label}" for e in group))
    choice = st.radio("Show continuous Bernoulli images as", list(SHOW_CHOICES), horizontal=True,
                      key="lc_output", bind=links.BIND)  # fmt: skip
    _images(group, SHOW_CHOICES[choice])

    st.subheader("Comparable measures")
    score_mean = any(e.config.loss == "cb" for e in group) and st.toggle(
        "Also score the samples shown as the mean (MNIST-FID, confidence; about a minute)",
        key="lc_score_mean",
    )
    try:
        rows = _scores(group, score_mean)
    except (CheckpointError, DataError) as error:
        st.error(f"Could not measure these models: {public_error(error)}")
        return
    show_code("likelihood_scores", group[0].key)
    show_small_table(pd.DataFrame(likelihood.scores_table(rows)), key="lc_scores",
                     file_name=file_name("likelihood_scores", "csv", group[0].config),
                     formats=SCORE_FORMATS)  # fmt: skip
    st.markdown(COMPARABLE)
    if missing := [e for e in group if comparison.missing_evaluation(e)]:
        st.caption("Some evaluation metrics (kNN accuracy, FID, …) are missing. Run:")
        st.code("\n".join(comparison.evaluate_command(e) for e in missing), language="bash")

    st.subheader("What this comparison shows")
    st.markdown("\n\n".join(likelihood.conclusion(rows)) or "Not enough measured numbers yet.")

    st.subheader("Likelihood scores, within one likelihood only")
    table = likelihood.iw_nll_by_likelihood({s.title: s.entries for s in sets})
    show_small_table(pd.DataFrame(table), file_name=file_name("iw_nll_by_likelihood", "csv"),
                     key="lc_iw_nll")  # fmt: skip
    st.caption(
        "IW-NLL (nats per test image, as `evaluate` recorded it) under each model's likelihood. "
        "Compare down a column only: BCE scores grey pixels as 0/1 outcomes (not a density), "
        "the continuous Bernoulli is a density on [0, 1] and the Gaussian one on the real line, "
        "so numbers in different columns measure different things."
    )

    st.subheader("Training curves")
    histories = {
        entry.config.loss: cache.history_for(str(entry.path), cache.entry_version(entry.path))
        for entry in group
    }
    if any(histories.values()):
        show_chart(
            loss_curves.training_curves_figure(histories), key="lc_history",
            name="training_curves", model=group[0].config,
            alt="Training curves per epoch of the matched models trained with the "
            f"{', '.join(histories)} losses",
        )  # fmt: skip
        show_code("training_curves", group[0].key)
    else:
        st.caption("These models recorded no training history.")


st.title("Loss Comparison")
st.markdown(
    "Binary cross-entropy, the usual VAE reconstruction loss, treats grey pixels as coin flips. "
    "Here is what that means, and what changes when a model is trained with a proper likelihood "
    "for grey levels instead."
)

st.header("BCE versus the continuous Bernoulli")
pixels = st.multiselect(
    "Pixel values x",
    PIXEL_CHOICES,
    default=list(loss_curves.DEFAULT_PIXELS),
    key="lc_pixels",
    bind=links.BIND,
)
if not pixels:
    st.info("Choose at least one pixel value to draw its loss curves.")
else:
    show_chart(
        loss_curves.loss_curves_figure(sorted(pixels)), key="lc_curves", name="bce_and_cb_losses",
        alt="Line chart of the BCE and continuous-Bernoulli losses against the predicted "
        f"value, for pixel values {', '.join(f'{p:g}' for p in sorted(pixels))}",
    )  # fmt: skip
    show_code("loss_curves", "", pixels=sorted(pixels))
explanation, normaliser = st.columns([3, 2], gap="large")
with explanation:
    st.markdown(WHY_BCE)
with normaliser:
    show_chart(
        loss_curves.log_normalizer_figure(height=360), key="lc_log_c", name="cb_log_normaliser",
        alt="Line chart of the continuous Bernoulli's log normaliser log C(λ) against λ",
    )  # fmt: skip

st.divider()
st.header("Continuous Bernoulli: λ or the mean?")
text, chart = st.columns([3, 2], gap="large")
text.markdown(LAMBDA_OR_MEAN)
with chart:
    show_chart(
        loss_curves.cb_mean_figure(), key="lc_cb_mean", name="cb_mean",
        alt="Line chart of the continuous Bernoulli's mean against its parameter λ",
    )  # fmt: skip
st.divider()
_matched_models(cache.list_entries())
