"""A VAE posterior q(z|x) shown in a page's panel: its ellipses in the plane and decoded samples.

Shared by the Latent Explorer (a clicked test digit) and Your digit (a drawn or uploaded one).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from jlml_core import latent, latent_plots, posterior
from jlml_core.checkpoints import Entry

from . import cache
from .images import show_image

SAMPLES = 8


def show_posterior(entry: Entry, mu: np.ndarray, logvar: np.ndarray, key: str) -> None:
    """The posterior N(mu, diag(exp(logvar))) of one image: a small figure and a sample strip.

    The figure sits in the panel instead of on the big scatter, so the 10,000-point chart is
    not redrawn for each chosen digit.
    """
    projection = cache.projection_for(entry)
    samples = posterior.sample_posterior(mu, logvar, SAMPLES, seed=0)  # (S, D)
    sigma = np.exp(0.5 * np.asarray(logvar, np.float64))
    shown = ", ".join(f"{s:.2f}" for s in sigma) if len(sigma) <= 4 else f"mean {sigma.mean():.2f}"
    where = "" if len(mu) <= 2 else ", projected onto the plane of the scatter"
    st.markdown(  # one element, not a heading and a caption: a click sends each element
        f"**Posterior q(z|x)**: σ {shown} (prior: 1) · KL to the prior "
        f"**{posterior.kl_to_prior(mu, logvar):.1f}** nats  \n"
        f":small[:gray[1σ and 2σ ellipses, the prior's 1σ circle and {SAMPLES} samples{where}.]]"
    )
    st.plotly_chart(
        posterior.posterior_panel(mu, logvar, projection, samples, height=260),
        key=key,
        config={"displayModeBar": False},
        alt=f"Posterior q(z|x) in the latent plane: 1σ and 2σ ellipses around the code, the "
        f"prior's 1σ circle and {SAMPLES} samples; KL to the prior "
        f"{posterior.kl_to_prior(mu, logvar):.1f} nats",
    )
    output = latent_plots.image_output_for(entry.config.loss)
    decoded = latent.decode_points(cache.model_for(entry), samples, output)  # (S, H, W)
    show_image(
        latent.tile(decoded, SAMPLES, pad=2),
        f"samples 1–{SAMPLES} of q(z|x), decoded",
        2,
        alt=f"A row of {SAMPLES} digits decoded from samples of the posterior q(z|x) "
        f"under {entry.label}",
    )
