"""Streamlit caches of the dashboard's figures and pictures: one object per key, never mutated.

Models, data and computed arrays are cached in `cache`, by the same key: an entry's folder path
and `cache.entry_version`. A cached figure is sent as it is on every rerun, so the browser keeps
the chart (and its selection) instead of redrawing it; overlays go on copies.

What is cached, by which key (bound):
- the Home page's layer diagram: architecture, latent and hidden size, image shape, kind (32);
- a large picture's PNG data URL: the image's content, scale, zlib level (32);
- the Latent Explorer scatter: path, version, dataset, output, background digits (8), and with
  the posteriors of fixed test digits: the same and their count (8);
- a Model Zoo replay's recorded codes, their fixed plane: path, recording's version (8 each),
  and its animation: the same and the class names (4).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from jlml_core.figures import diagram, latent_scatter, posterior_traces, replay
from jlml_core.figures.images import png_data_url
from jlml_core.inference import plane, reconstruction
from jlml_core.store import checkpoints
from jlml_core.training.latent_history import LatentHistory

from . import cache
from .server import heavy_compute, long_lived, sent_unchanged

# --- Home page ---------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def architecture_stages(
    arch: str, latent_dim: int, hidden_dim: int | None, image_shape: tuple[int, int, int]
):
    """Layer shapes of an architecture for the Home page diagram (builds it once)."""
    return diagram.architecture_stages(arch, latent_dim, hidden_dim, image_shape)


@st.cache_resource(show_spinner=False, max_entries=32)
@long_lived
def architecture_diagram(
    arch: str,
    latent_dim: int,
    hidden_dim: int | None,
    image_shape: tuple[int, int, int],
    variational: bool,
) -> go.Figure:
    """The Home page's layer diagram, one figure object per architecture, never mutated.

    Building it re-validates every Plotly annotation (~0.4 s of server CPU per Home run), the
    largest cost of opening a session.
    """
    stages = architecture_stages(arch, latent_dim, hidden_dim, image_shape)
    return diagram.autoencoder_diagram(stages, latent_dim, variational)


# --- Generation, Reconstructions and every other picture ----------------------------------------


# Bounded like `cache.decoded_for`'s decodes, and small enough that a class's burst of new seeds
# fills it at once (a larger cache kept growing memory); the pictures all sessions share stay.
@st.cache_data(show_spinner=False, max_entries=32)
def cached_png_data_url(image: np.ndarray, scale: int, compress_level: int) -> str:
    """`jlml_core.figures.images.png_data_url`, cached by the picture's content.

    Hashing the picture costs ~1 ms per MB, far less than encoding it again. Encoding a mosaic
    enlarged to ~900 px allocates several MB, like a decode: it takes a compute slot.
    """
    with heavy_compute():
        return png_data_url(image, scale, compress_level)


# --- Latent Explorer page --------------------------------------------------------------------


@st.cache_resource(show_spinner="Drawing the latent plane…", max_entries=8)
@long_lived
def _latent_figure(path: str, version: float, dataset: str, output: str, background_digits: int):
    projection = cache.projection_at(path, version, dataset)
    points = cache.projected_codes_at(path, version, dataset)  # (N, 2)
    x_range, y_range = plane.plane_extent(points)
    background = None
    if background_digits > 0:
        model = cache.load_model(path, version)
        with heavy_compute():
            background = plane.manifold_image(
                model, projection, x_range, y_range, background_digits, output
            )
    data = cache.test_set(dataset)
    return sent_unchanged(
        latent_scatter.latent_scatter(
            points,
            data.labels.numpy(),
            data.class_names,
            x_range,
            y_range,
            background=background,
            axis_titles=latent_scatter.axis_titles(projection),
        )
    )


def latent_figure_for(entry: checkpoints.Entry, background_digits: int = 0):
    """The Latent Explorer scatter of a model (optionally over a mosaic of decoded digits).

    One object per model and setting, never mutated: every rerun sends the same figure, so the
    browser keeps the chart (and its selection) instead of redrawing it.
    """
    config = entry.config
    output = plane.image_output_for(config.loss)
    return _latent_figure(
        str(entry.path), cache.entry_version(entry.path), config.dataset, output, background_digits
    )


POSTERIOR_DIGITS = 300  # ellipses in the posterior overlay: enough to see the clouds overlap


@st.cache_resource(show_spinner=False, max_entries=8)
@long_lived
def _posterior_figure(
    path: str, version: float, dataset: str, output: str, background_digits: int, count: int
):
    figure = _latent_figure(path, version, dataset, output, background_digits)
    encodings = cache.encodings_at(path, version, dataset)
    rows = reconstruction.pick_random(len(encodings.mu), count, seed=0)  # the same every time
    logvar = None if encodings.logvar is None else encodings.logvar[rows]
    projection = cache.projection_at(path, version, dataset)
    cloud = posterior_traces.cloud_trace(encodings.mu[rows], logvar, projection)
    return sent_unchanged(posterior_traces.with_traces(figure, [cloud]))


def posterior_figure_for(
    entry: checkpoints.Entry, background_digits: int = 0, count: int = POSTERIOR_DIGITS
):
    """The Latent Explorer scatter with the 1-sigma posteriors of `count` fixed test digits.

    Cached like `latent_figure_for`, so clicks with the overlay on still send one unchanging
    object. An autoencoder's "posteriors" are its codes, drawn as rings.
    """
    config = entry.config
    output = plane.image_output_for(config.loss)
    return _posterior_figure(
        str(entry.path),
        cache.entry_version(entry.path),
        config.dataset,
        output,
        background_digits,
        count,
    )


# --- Model Zoo: replaying the latent space as it formed --------------------------------------


@st.cache_resource(show_spinner="Loading the recorded codes…", max_entries=8)
def _latent_history(path: str, version: float) -> LatentHistory | None:
    return checkpoints.read_latent_history(path)


def latent_history_for(entry: checkpoints.Entry) -> LatentHistory | None:
    """The codes recorded while a model trained (None if none were); never mutated.

    Raises:
        jlml_core.store.checkpoints.CheckpointError: the recording is damaged.
    """
    if not replay.has_latent_history(entry.path):
        return None
    return _latent_history(str(entry.path), _history_version(entry))


def _history_version(entry: checkpoints.Entry) -> float:
    return (entry.path / checkpoints.LATENT_HISTORY_FILE).stat().st_mtime


@st.cache_resource(show_spinner=False, max_entries=8)
def _replay_plane(path: str, version: float) -> replay.ReplayPlane:
    return replay.replay_plane(_latent_history(path, version))


def replay_plane_for(entry: checkpoints.Entry) -> replay.ReplayPlane:
    """All of a model's recorded snapshots on one fixed plane (call after latent_history_for)."""
    return _replay_plane(str(entry.path), _history_version(entry))


@st.cache_resource(show_spinner="Building the animation…", max_entries=4)
def _history_animation(path: str, version: float, class_names: tuple[str, ...]):
    return replay.history_animation(_latent_history(path, version), class_names)


def history_animation_for(entry: checkpoints.Entry, class_names: tuple[str, ...]):
    """The Plotly animation of a model's recorded snapshots; one object, never mutated."""
    return _history_animation(str(entry.path), _history_version(entry), tuple(class_names))
