"""The latent dimensions of shipped and trained VAEs, measured once per model and cached: what
the traversal tab (`traversal_view`) and the collapse section (`collapse_view`) both draw."""

from __future__ import annotations

import streamlit as st

from jlml_core.analysis import latent_dims
from jlml_core.analysis.latent_dims import LatentDimensions
from jlml_core.nn.latent_stats import MI_SAMPLES
from jlml_core.store.checkpoints import Entry
from jlml_core.store.zoo import zoo_keys

from . import cache
from .server import heavy_compute, long_lived

# The zoo's beta pair (same 10-D recipe, beta 1 and 4) and its free-bits remedy pair.
BETA_PAIR = ("vae-cnn-z10-h64-beta1", "vae-cnn-z10-h64-beta4")
REMEDY_PAIR = ("vae-cnn-z10-h64-beta4", "vae-cnn-z10-h64-beta4-fb05")


@st.cache_resource(show_spinner="Measuring the latent dimensions…", max_entries=32)
@long_lived
def _dimensions_at(path: str, version: float, dataset: str) -> LatentDimensions:
    encodings = cache.encodings_at(path, version, dataset)  # fetched before taking a slot
    # A zoo model ships I(x; z) computed from the very codes read here (the slow part).
    shipped = cache.shipped_mutual_information(path, version, dataset)
    with heavy_compute():
        # 2,000 samples against all 10,000 posteriors, as training records it.
        return latent_dims.latent_dimensions(
            encodings.mu, encodings.logvar, samples=MI_SAMPLES, mutual_information=shipped
        )


def dimensions_for(entry: Entry) -> LatentDimensions:
    """KL per dimension, active units and I(x; z) of a VAE over its 10,000 test images."""
    return _dimensions_at(str(entry.path), cache.entry_version(entry.path), entry.config.dataset)


def zoo_entries(names: tuple[str, ...]) -> list[Entry] | None:
    """The listed entries of these zoo models, in order; None unless all of them are listed."""
    by_key = {e.key: e for e in cache.list_entries()}
    keys = zoo_keys()
    found = [by_key.get(keys.get(name, "")) for name in names]
    return None if any(e is None for e in found) else found
