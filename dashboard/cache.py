"""Every Streamlit cache in the dashboard, in one place.

Models are cached with `st.cache_resource` and never mutated (inference only). Keys include
the checkpoint file's modification time, so a retrained entry is reloaded, not served stale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from jlml_core import checkpoints, latent
from jlml_core.data import ImageDataset, load_split
from jlml_core.models import Autoencoder

# Streamlit serves many sessions from one process; two threads for torch keeps one user's
# decode from starving the others while still using both cores of a laptop.
torch.set_num_threads(min(2, torch.get_num_threads()))


def entry_version(path: Path) -> float:
    """A cache key part that changes whenever the entry is rewritten."""
    return (path / checkpoints.MODEL_FILE).stat().st_mtime


@st.cache_data(ttl=30, show_spinner=False)
def list_entries() -> list[checkpoints.Entry]:
    """All models in the shipped zoo and the user's cache (zoo first)."""
    return [entry for store in checkpoints.default_stores() for entry in store.entries()]


def refresh_entries() -> None:
    """Forget the cached listing, e.g. after training a new model."""
    list_entries.clear()


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def load_model(path: str, version: float) -> Autoencoder:
    """The model in an entry folder, eval mode, conv models in channels_last for fast decodes."""
    model = checkpoints.load_model(Path(path))
    if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
        model = model.to(memory_format=torch.channels_last)
    return model


def model_for(entry: checkpoints.Entry) -> Autoencoder:
    """Cached model of a listed entry."""
    return load_model(str(entry.path), entry_version(entry.path))


@st.cache_resource(show_spinner="Loading data…")
def test_set(dataset: str) -> ImageDataset:
    """The test split of a dataset (uint8, in memory)."""
    return load_split(dataset, "test")


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=16)
def _test_encodings(path: str, version: float, dataset: str) -> latent.Encodings:
    model = load_model(path, version)
    return latent.encode_images(model, test_set(dataset).images)


def encodings_for(entry: checkpoints.Entry) -> latent.Encodings:
    """Posterior means (and log-variances) of the 10,000 test images under a model."""
    return _test_encodings(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
def _projection(path: str, version: float, dataset: str) -> latent.Projection:
    return latent.fit_projection(_test_encodings(path, version, dataset).mu)


def projection_for(entry: checkpoints.Entry) -> latent.Projection:
    """2-D PCA of the test codes (identity for a 2-D latent space)."""
    return _projection(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
def _projected(path: str, version: float, dataset: str) -> np.ndarray:
    return _projection(path, version, dataset).project(_test_encodings(path, version, dataset).mu)


def projected_codes_for(entry: checkpoints.Entry) -> np.ndarray:
    """Test codes in the 2-D plane the Latent Explorer shows: (10000, 2)."""
    return _projected(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_data(show_spinner=False, max_entries=64)
def history_for(path: str, version: float) -> list[dict[str, float]]:
    """Per-epoch training history of an entry."""
    return checkpoints.read_history(path)
