"""A VAE posterior q(z|x) shown in a page's panel: its ellipses in the plane and decoded samples.

Shared by the Latent Explorer (a clicked test digit) and Your digit (a drawn or uploaded one).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from jlml_core.figures.posterior_picture import posterior_svg, svg_data_url
from jlml_core.inference import latent, plane, posterior
from jlml_core.store.checkpoints import Entry

from . import cache

SAMPLES = 8


def posterior_summary(mu: np.ndarray, logvar: np.ndarray) -> str:
    """One markdown line: the posterior's standard deviations and its KL to the prior."""
    sigma = np.exp(0.5 * np.asarray(logvar, np.float64))
    shown = ", ".join(f"{s:.2f}" for s in sigma) if len(sigma) <= 4 else f"mean {sigma.mean():.2f}"
    kl = posterior.kl_to_prior(mu, logvar)
    return f"**Posterior q(z|x)**: σ {shown} (prior: 1) · KL to the prior **{kl:.1f}** nats"


def show_posterior(
    entry: Entry, mu: np.ndarray, logvar: np.ndarray, *, with_summary: bool = True
) -> None:
    """The posterior N(mu, diag(exp(logvar))) of one image: its summary line and one picture.

    The picture (`figures.posterior_picture`) holds the ellipses, the samples and their decodes:
    on the Latent Explorer it is redrawn with every click, and each element is one more message,
    so that page writes the summary into its own heading (`with_summary=False`). The picture
    sits in the panel, not on the big scatter, so the 10,000-point chart is not redrawn.
    """
    projection = cache.projection_for(entry)
    samples = posterior.sample_posterior(mu, logvar, SAMPLES, seed=0)  # (S, D)
    output = plane.image_output_for(entry.config.loss)
    decoded = latent.decode_points(cache.model_for(entry), samples, output)  # (S, H, W)
    kl = posterior.kl_to_prior(mu, logvar)
    if with_summary:
        st.markdown(posterior_summary(mu, logvar))
    where = "" if len(mu) <= 2 else ", projected onto the plane of the scatter"
    st.image(
        svg_data_url(posterior_svg(mu, logvar, projection, samples, decoded)),
        caption=f"q(z|x) beside the prior{where}; samples 1–{SAMPLES} marked and decoded",
        alt=f"Posterior q(z|x) in the latent plane: 1σ and 2σ ellipses around its mean, the "
        f"prior's 1σ circle and {SAMPLES} numbered samples; KL to the prior {kl:.1f} nats. "
        f"Below, the {SAMPLES} samples decoded by {entry.label}.",
    )
