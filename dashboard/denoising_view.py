"""The Reconstructions page's denoising section: corrupt the digits, see what the model makes of
them, and the PSNR-by-noise curve of this model beside the zoo's denoising pair.

The computing is `jlml_core.analysis.denoising`; the figure is `jlml_core.figures.denoising`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, links
from dashboard.charts import show_chart
from dashboard.images import show_image
from dashboard.server import heavy_compute
from jlml_core.analysis import denoising
from jlml_core.data.datasets import ImageDataset
from jlml_core.figures.denoising import psnr_curve_figure
from jlml_core.inference.latent import ImageOutput
from jlml_core.nn.models import Autoencoder
from jlml_core.store.checkpoints import Entry
from jlml_core.store.zoo import zoo_keys, zoo_name

# The zoo's pair trained alike but for sigma = 0.5 noise on the inputs (docs/families/denoising.md).
ZOO_PAIR = ("vae-cnn-z16-h64-denoise", "vae-cnn-z16-h64-bce")
# The curve scores the first test digits: enough for a mean PSNR steady to ~0.1 dB, few
# enough that a model's 11 levels take about a second on one core.
CURVE_IMAGES = 500
MASK_MAX = 0.9
AXES = {"noise_std": "noise σ", "mask_fraction": "masked fraction"}


@st.cache_data(show_spinner="Measuring PSNR by noise level…", max_entries=32)
def _curve_at(
    path: str, version: float, dataset: str, along: str, other: float, output: str
) -> denoising.NoiseCurve:
    """`denoising.noise_curve` of an entry by its key (path, version) on the first test digits."""
    model, images = cache.load_model(path, version), cache.test_set(dataset).images
    levels = denoising.SIGMAS if along == "noise_std" else denoising.MASK_FRACTIONS
    with heavy_compute():
        return denoising.noise_curve(
            model, images[:CURVE_IMAGES], levels, along, other, output=output
        )


def _curve_for(entry: Entry, along: str, other: float, output: str) -> denoising.NoiseCurve:
    path, output = entry.path, output if entry.config.loss == "cb" else "sigmoid"
    return _curve_at(
        str(path), cache.entry_version(path), entry.config.dataset, along, other, output
    )


def _row(images: np.ndarray, captions: list[str], alts: list[str]) -> None:
    """One image per column, lined up with the page's rows above."""
    for column, image, caption, alt in zip(
        st.columns(len(images)), images, captions, alts, strict=True
    ):
        with column:
            show_image(image, caption, scale=4, alt=alt)


def _trained_with(entry: Entry) -> str:
    c = entry.config
    if c.noise_std or c.mask_fraction:
        return (
            f"{entry.label} is a **denoising** model: it was trained on inputs with noise "
            f"σ = {c.noise_std:g} and {c.mask_fraction:.0%} of pixels masked, scored against the "
            "clean digits."
        )
    return f"{entry.label} was trained on clean digits only."


def _compared_entries(entry: Entry) -> dict[str, Entry]:
    """This model and the zoo's denoising pair (those present, same dataset), by line name."""
    keys = zoo_keys()
    listed = {e.key: e for e in cache.list_entries() if e.config.dataset == entry.config.dataset}
    own = zoo_name(entry.key)
    # The pair in its own order whichever member is shown, so each keeps its colour.
    shown = {} if own in ZOO_PAIR else {own or f"this model ({entry.label})": entry}
    for name in ZOO_PAIR:
        other = entry if name == own else listed.get(keys.get(name, ""))
        if other is not None:
            shown[name] = other
    return shown


def show_denoising(
    entry: Entry,
    model: Autoencoder,
    test: ImageDataset,
    indices: np.ndarray,
    output: ImageOutput = "sigmoid",
) -> None:
    """The page's denoising section for test digits `indices` under `model`.

    Args:
        entry: the listed model (its config says how it was trained).
        model: that model, loaded.
        test: the test split the digits come from.
        indices: the test digits the page shows above (the same columns here).
        output: how decoder logits become pixels (the page's continuous-Bernoulli choice).
    """
    st.divider()
    st.markdown("### Denoising: a corrupted digit in, a clean one out?")
    if not st.toggle(
        "Corrupt the input",
        key="recon_noise",
        help="Add Gaussian noise and mask pixels, then reconstruct: noisy input, output and "
        "clean target, and the PSNR of the output by noise level.",
        bind=links.BIND,
    ):
        st.caption("A denoising autoencoder learns to undo corruption; turn this on to test it.")
        return
    if entry.config.conditional or entry.config.kind == "vq":
        # Their encoders take a label or give code indices: not this section's encode-decode.
        kind = "a conditional" if entry.config.conditional else "a VQ-VAE"
        st.info(f"{entry.label} is {kind} model; this section shows plain AEs and VAEs.")
        return
    st.caption(_trained_with(entry))
    sigma_column, mask_column, axis_column = st.columns(3)
    links.clamp_param("recon_noise_std", 0.0, 1.0)
    sigma = sigma_column.slider(
        "Noise σ",
        0.0,
        1.0,
        0.5,
        0.05,
        key="recon_noise_std",
        bind=links.BIND,
        help="Standard deviation of the Gaussian noise added to each pixel (then clipped to "
        "[0, 1]); digits' pixels run from 0 to 1.",
    )
    links.clamp_param("recon_mask", 0.0, MASK_MAX)
    mask = mask_column.slider(
        "Masked fraction",
        0.0,
        MASK_MAX,
        0.0,
        0.05,
        key="recon_mask",
        bind=links.BIND,
        help="Share of pixels set to 0 (black), drawn at random.",
    )
    along = axis_column.radio(
        "Curve along", list(AXES), format_func=AXES.get, key="recon_noise_axis", bind=links.BIND
    )
    output = output if entry.config.loss == "cb" else "sigmoid"
    images = test.images[indices.tolist()]  # uint8 (N, H, W)
    clean = images.numpy().astype(np.float32) / 255.0  # (N, H, W)
    with heavy_compute():
        noisy, decoded = denoising.denoise(model, images, sigma, mask, seed=0, output=output)
    noisy_psnr, out_psnr = denoising.psnr(clean, noisy), denoising.psnr(clean, decoded)
    names = [test.class_names[int(test.labels[i])] for i in indices]
    st.markdown(f"**Noisy input** (σ = {sigma:g}, {mask:.0%} masked)")
    _row(
        noisy,
        [_db(v) for v in noisy_psnr],
        [
            f"noisy input: a {n} with noise σ {sigma:g}, PSNR {_db(v)}"
            for n, v in zip(names, noisy_psnr, strict=True)
        ],
    )
    st.markdown(f"**Output — {entry.label}**")
    _row(
        decoded,
        [_db(v) for v in out_psnr],
        [
            f"output of the model for a noisy {n}, PSNR {_db(v)}"
            for n, v in zip(names, out_psnr, strict=True)
        ],
    )
    st.markdown("**Clean target**")
    _row(
        clean,
        [f"#{i} · {n}" for i, n in zip(indices, names, strict=True)],
        [f"clean test digit #{i}, a {n}" for i, n in zip(indices, names, strict=True)],
    )
    st.caption(
        f"Mean PSNR against the clean digits: noisy input **{_db(noisy_psnr.mean())}**, output "
        f"**{_db(out_psnr.mean())}** (higher is better; +6 dB halves the RMS pixel error)."
    )
    _show_curve(
        entry,
        along,
        mask if along == "noise_std" else sigma,
        sigma if along == "noise_std" else mask,
        output,
    )


def _show_curve(entry: Entry, along: str, other: float, marker: float, output: str) -> None:
    shown = _compared_entries(entry)
    curves = {name: _curve_for(e, along, other, output) for name, e in shown.items()}
    first = next(iter(curves.values()))
    fixed = f"{other:.0%} masked" if along == "noise_std" else f"noise σ = {other:g}"
    figure = psnr_curve_figure(
        first.levels,
        {name: c.psnr for name, c in curves.items()},
        first.input_psnr,
        AXES[along],
        marker,
    )
    show_chart(
        figure,
        name="denoising_psnr",
        model=entry.config,
        key="recon_noise_curve",
        alt=f"Line chart: PSNR of the output against {AXES[along]} ({fixed}) for "
        + ", ".join(
            f"{n} ({_db(c.psnr[len(c.psnr) // 2])} at the middle level)" for n, c in curves.items()
        ),
    )
    pair_note = (
        f" {ZOO_PAIR[0]} and {ZOO_PAIR[1]} are trained alike but for σ = 0.5 noise on the "
        "first's inputs."
        if any(name in curves for name in ZOO_PAIR)
        else ""
    )
    st.caption(
        f"Mean PSNR of the first {CURVE_IMAGES} test digits ({fixed}); the same noise for every "
        f"model. Dotted: the noisy input itself.{pair_note}"
    )


def _db(value: float) -> str:
    return "exact" if not np.isfinite(value) else f"{value:.1f} dB"
