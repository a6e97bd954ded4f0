"""Every Streamlit cache in the dashboard, in one place.

Models are cached with `st.cache_resource` and never mutated (inference only). Keys include
the checkpoint file's modification time, so a retrained entry is reloaded, not served stale.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from jlml_core.analysis import likelihood as likelihood_comparison
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import DataError, ImageDataset, load_split
from jlml_core.figures import (
    diagram,
    images,
    posterior_traces,
)
from jlml_core.figures import (
    latent_scatter as latent_plots,
)
from jlml_core.figures import (
    replay as latent_replay,
)
from jlml_core.inference import latent, plane, reconstruction
from jlml_core.nn.models import Autoencoder
from jlml_core.runtime import memory
from jlml_core.store import checkpoints
from jlml_core.training import calibration
from jlml_core.training.latent_history import LatentHistory

from .compute import heavy_compute

# One torch thread: a click decodes one tiny image, where a second OpenMP thread only adds
# synchronisation (measured: a single-image decode took 23-190 ms with two threads on a busy
# 2-core machine, about 0.6 ms with one), and Streamlit serves several sessions at once anyway.
torch.set_num_threads(1)
# Every script run is a new thread, and glibc would give busy threads up to 16 arenas (8 per
# core) that each keep what was freed in them. With two arenas, freed buffers handed back
# (after every whole-page run and the warm-up) and no training-style "keep everything" in
# decodes, the server's RSS with 30 sessions open went from 1,112 to ~680 MB (machine C,
# bench/load_test.py).
memory.limit_malloc_arenas(2)

T = TypeVar("T")


def long_lived(build: Callable[..., T]) -> Callable[..., T]:
    """Decorate a cached builder: what it returns, and all loaded so far, leaves the GC's scans.

    A full garbage collection walks every container object the process holds: about 250,000
    here, nearly all alive until the process ends (the modules of torch, plotly and streamlit,
    the cached models, test sets and 10,000-point figures): 280-340 ms on machine C. Streamlit
    ran one after every script and fragment run (`runner.postScriptGC`, now off in
    .streamlit/config.toml), which made a Latent Explorer click cost 190 ms of server CPU; with
    this freeze it cost ~30 ms. Python's own full collections still happen now and then.
    `gc.freeze()` moves every object alive at that moment into a generation the collector never
    scans, so a collection only visits what is new since the last cache build.
    Frozen objects are still freed by reference counting; a reference cycle among them would
    never be collected, which is why this runs once per cache build (right after a collection),
    never per run.
    """

    @functools.wraps(build)
    def build_then_freeze(*args, **kwargs) -> T:
        value = build(*args, **kwargs)
        gc.collect()  # garbage alive now would be frozen with the rest
        gc.freeze()
        return value

    return build_then_freeze


def sent_unchanged(figure: go.Figure) -> go.Figure:
    """Let a cached, never-mutated figure hand st.plotly_chart one prebuilt dict, not a copy.

    st.plotly_chart asks a figure for `to_dict()`, a deep copy of every trace, on each rerun;
    for the Latent Explorer's 10,000-point scatter that copy cost ~1 ms of server CPU per click
    (machine C). What Streamlit sends is unchanged. Only for figures nobody mutates: the
    dashboard's cached figures, whose overlays go on copies (`posterior.with_traces`).
    """
    prebuilt = figure.to_dict()
    figure.to_dict = lambda: prebuilt  # plotly allows setting existing attributes
    return figure


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
@long_lived
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
@long_lived
def test_set(dataset: str) -> ImageDataset:
    """The test split of a dataset (uint8, in memory)."""
    return load_split(dataset, "test")


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=16)
@long_lived
def _test_encodings(path: str, version: float, dataset: str) -> latent.Encodings:
    model, images = load_model(path, version), test_set(dataset).images
    with heavy_compute():
        return latent.encode_images(model, images)


def encodings_for(entry: checkpoints.Entry) -> latent.Encodings:
    """Posterior means (and log-variances) of the 10,000 test images under a model."""
    return _test_encodings(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
@long_lived
def _projection(path: str, version: float, dataset: str) -> latent.Projection:
    return latent.fit_projection(_test_encodings(path, version, dataset).mu)


def projection_for(entry: checkpoints.Entry) -> latent.Projection:
    """2-D PCA of the test codes (identity for a 2-D latent space)."""
    return _projection(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
@long_lived
def _projected(path: str, version: float, dataset: str) -> np.ndarray:
    return _projection(path, version, dataset).project(_test_encodings(path, version, dataset).mu)


def projected_codes_for(entry: checkpoints.Entry) -> np.ndarray:
    """Test codes in the 2-D plane the Latent Explorer shows: (10000, 2)."""
    return _projected(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_data(show_spinner=False, max_entries=64)
def history_for(path: str, version: float) -> list[dict[str, float]]:
    """Per-epoch training history of an entry."""
    return checkpoints.read_history(path)


# --- Home, Reconstructions, Generation pages -------------------------------------------------


@st.cache_data(show_spinner="Scoring every test image…", max_entries=16)
def _test_losses(path: str, version: float, dataset: str, loss: str) -> np.ndarray:
    model, images = load_model(path, version), test_set(dataset).images
    with heavy_compute():
        return reconstruction.per_image_loss(model, images, loss)


def test_losses_for(entry: checkpoints.Entry) -> np.ndarray:
    """Reconstruction loss of each of the test images under a model, in nats: (N,)."""
    config = entry.config
    return _test_losses(str(entry.path), entry_version(entry.path), config.dataset, config.loss)


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

    Building it re-validates every Plotly annotation (~0.4 s of server CPU per Home run on
    machine C, the largest cost of opening a session in the load test).
    """
    stages = architecture_stages(arch, latent_dim, hidden_dim, image_shape)
    return diagram.autoencoder_diagram(stages, latent_dim, variational)


# Bounded so a class's memory stays flat: every student's new seed adds an entry (up to 1.2 MB
# here, ~110 KB as a mosaic PNG), which grew the server by 13-20 MB per 30-student burst.
# The entries every session shares (unchanged tabs) stay: each rerun touches them.
@st.cache_data(show_spinner=False, max_entries=24)
def _decoded(path: str, version: float, codes: np.ndarray, output: str) -> np.ndarray:
    model = load_model(path, version)
    with heavy_compute():
        return latent.decode_points(model, codes, output)


def decoded_for(
    entry: checkpoints.Entry, codes: np.ndarray, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """Images (N, H, W) in [0, 1] decoded from codes (N, D) by a model, cached by content.

    Every widget change reruns the whole Generation page, and its four tabs decode ~380 codes
    together; cached, a change decodes only what it changed (the key hashes the codes).
    """
    return _decoded(str(entry.path), entry_version(entry.path), codes, output)


# Bounded like `_decoded`, and small enough that a class's burst of 30 new seeds fills it at
# once (96 entries kept growing memory for three bursts); the pictures all sessions share stay.
@st.cache_data(show_spinner=False, max_entries=32)
def png_data_url(image: np.ndarray, scale: int, compress_level: int) -> str:
    """jlml_core.figures.images.png_data_url by the picture's content (hashing it: ~1 ms per MB).

    Encoding a mosaic enlarged to ~900 px allocates several MB, like a decode: it takes a slot.
    """
    with heavy_compute():
        return images.png_data_url(image, scale, compress_level)


# --- Loss Comparison, Model Zoo pages --------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _prior_samples(path: str, version: float, n: int, seed: int, output: str) -> np.ndarray:
    model = load_model(path, version)
    with heavy_compute():
        return latent.decode_points(model, latent.sample_prior(n, model.latent_dim, seed), output)


def prior_samples_for(
    entry: checkpoints.Entry, n: int, seed: int = 0, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """n decoded N(0, I) samples of a model, reproducible by seed: (n, H, W) in [0, 1]."""
    return _prior_samples(str(entry.path), entry_version(entry.path), n, seed, output)


@st.cache_data(show_spinner=False, max_entries=64)
def _first_reconstructions(
    path: str, version: float, dataset: str, n: int, output: str
) -> np.ndarray:
    model, images = load_model(path, version), test_set(dataset).images[:n]
    with heavy_compute():
        return latent.reconstruct(model, images, output)


def first_reconstructions_for(
    entry: checkpoints.Entry, n: int, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """Reconstructions of the first n test images under a model: (n, H, W) in [0, 1]."""
    config = entry.config
    return _first_reconstructions(
        str(entry.path), entry_version(entry.path), config.dataset, n, output
    )


# --- Latent Explorer page --------------------------------------------------------------------


@st.cache_resource(show_spinner="Drawing the latent plane…", max_entries=8)
@long_lived
def _latent_figure(path: str, version: float, dataset: str, output: str, background_digits: int):
    projection = _projection(path, version, dataset)
    points = _projected(path, version, dataset)  # (N, 2)
    x_range, y_range = plane.plane_extent(points)
    background = None
    if background_digits > 0:
        model = load_model(path, version)
        with heavy_compute():
            background = plane.manifold_image(
                model, projection, x_range, y_range, background_digits, output
            )
    data = test_set(dataset)
    return sent_unchanged(
        latent_plots.latent_scatter(
            points,
            data.labels.numpy(),
            data.class_names,
            x_range,
            y_range,
            background=background,
            axis_titles=latent_plots.axis_titles(projection),
        )
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _decoded_centre(path: str, version: float, dataset: str, output: str) -> np.ndarray:
    model, projection = load_model(path, version), _projection(path, version, dataset)
    with heavy_compute():
        return plane.decode_position(model, projection, 0.0, 0.0, output)[1]


def decoded_centre_for(
    entry: checkpoints.Entry, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """The image (H, W) decoded at the Latent Explorer plane's centre (0, 0).

    For a 2-D latent space that is z = 0, the prior's mean; for a projection, the mean code.
    """
    return _decoded_centre(str(entry.path), entry_version(entry.path), entry.config.dataset, output)


def latent_figure_for(entry: checkpoints.Entry, background_digits: int = 0):
    """The Latent Explorer scatter of a model (optionally over a mosaic of decoded digits).

    One object per model and setting, never mutated: every rerun sends the same figure, so the
    browser keeps the chart (and its selection) instead of redrawing it.
    """
    config = entry.config
    output = plane.image_output_for(config.loss)
    return _latent_figure(
        str(entry.path), entry_version(entry.path), config.dataset, output, background_digits
    )


POSTERIOR_DIGITS = 300  # ellipses in the posterior overlay: enough to see the clouds overlap


@st.cache_resource(show_spinner=False, max_entries=8)
@long_lived
def _posterior_figure(
    path: str, version: float, dataset: str, output: str, background_digits: int, count: int
):
    figure = _latent_figure(path, version, dataset, output, background_digits)
    encodings = _test_encodings(path, version, dataset)
    rows = reconstruction.pick_random(len(encodings.mu), count, seed=0)  # the same every time
    logvar = None if encodings.logvar is None else encodings.logvar[rows]
    projection = _projection(path, version, dataset)
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
        str(entry.path), entry_version(entry.path), config.dataset, output, background_digits, count
    )


# --- Demo mode --------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def warm_up_in_background() -> threading.Thread:
    """Encode and score the test set under every listed model, once per server, in a thread.

    Each model's first visitor would otherwise wait for (and pay) these: 2.6 s and 4.4 s of CPU
    for the deep CNN on machine C (bench/demo_costs.py), where a public demo keeps each request
    under about a second. A model that fails to load is left for its page to report.
    """

    def run() -> None:
        for entry in list_entries():
            try:
                projected_codes_for(entry)
                test_losses_for(entry)
            except (checkpoints.CheckpointError, DataError, OSError):
                continue
        # The warm-up is no script run, so app.py's hand-back at the end of each run misses it.
        memory.release_freed_memory()

    thread = threading.Thread(target=run, name="jlml-warm-up", daemon=True)
    thread.start()
    return thread


# --- Train page ------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Measuring this machine's training speed…", max_entries=64)
def _throughput(key: tuple, _config: TrainConfig) -> calibration.Throughput:
    del key  # only the cache key: `_config` (not hashed) is any config with these fields
    return calibration.measure_throughput(_config)


def throughput_for(config: TrainConfig) -> calibration.Throughput:
    """Measured training and evaluation speed of a config's model, once per server.

    Keyed by what moves the speed (model shape, loss, batch size, precision, torch threads),
    not by epochs, subset, learning rate or seed, so the estimate follows every widget
    without measuring again.
    """
    key = (
        config.dataset,
        config.arch,
        config.hidden_dim,
        config.latent_dim,
        config.kind,
        config.loss,
        config.batch_size,
        getattr(config, "precision", "auto"),  # a TrainConfig field on newer versions
        torch.get_num_threads(),
    )
    return _throughput(key, config)


# --- Loss Comparison: the matched sets' numbers ----------------------------------------------


@st.cache_data(show_spinner="Measuring the shown images on every test digit…", max_entries=32)
def _shown_image_errors(
    path: str, version: float, dataset: str, loss: str
) -> dict[str, likelihood_comparison.PixelErrors]:
    return likelihood_comparison.shown_image_errors(
        load_model(path, version),
        test_set(dataset).images,
        likelihood_comparison.outputs_for(loss),
    )


def shown_image_errors_for(
    entry: checkpoints.Entry,
) -> dict[str, likelihood_comparison.PixelErrors]:
    """Pixel error and sharpness of a model's shown reconstructions of the whole test set, for
    each way its images are shown (λ, and the mean for a continuous Bernoulli model)."""
    config = entry.config
    return _shown_image_errors(
        str(entry.path), entry_version(entry.path), config.dataset, config.loss
    )


@st.cache_resource(show_spinner="Loading the digit classifier…")
def _digit_classifier():
    from jlml_core.analysis import classifier  # deferred: only the sample scores need it

    return classifier.load_classifier()


@st.cache_data(show_spinner="Scoring 10,000 samples shown as the mean…", max_entries=16)
def _mean_sample_quality(path: str, version: float, dataset: str) -> tuple[float, float]:
    from jlml_core.analysis import evaluation  # deferred: heavy, and only this button needs it

    return evaluation.sample_quality(
        load_model(path, version), test_set(dataset), _digit_classifier(), output="cb_mean"
    )


def mean_sample_quality_for(entry: checkpoints.Entry) -> tuple[float, float]:
    """MNIST-FID and classifier confidence of a continuous Bernoulli model's prior samples
    shown as the distribution's mean (10,000 samples, seed 0, as `evaluate` scores λ).

    Raises:
        jlml_core.analysis.classifier.ClassifierError: the shipped classifier is missing.
    """
    return _mean_sample_quality(str(entry.path), entry_version(entry.path), entry.config.dataset)


# --- Model Zoo: replaying the latent space as it formed --------------------------------------


@st.cache_resource(show_spinner="Loading the recorded codes…", max_entries=8)
def _latent_history(path: str, version: float) -> LatentHistory | None:
    return checkpoints.read_latent_history(path)


def latent_history_for(entry: checkpoints.Entry) -> LatentHistory | None:
    """The codes recorded while a model trained (None if none were); never mutated.

    Raises:
        jlml_core.store.checkpoints.CheckpointError: the recording is damaged.
    """
    if not latent_replay.has_latent_history(entry.path):
        return None
    return _latent_history(str(entry.path), _history_version(entry))


def _history_version(entry: checkpoints.Entry) -> float:
    return (entry.path / checkpoints.LATENT_HISTORY_FILE).stat().st_mtime


@st.cache_resource(show_spinner=False, max_entries=8)
def _replay_plane(path: str, version: float) -> latent_replay.ReplayPlane:
    return latent_replay.replay_plane(_latent_history(path, version))


def replay_plane_for(entry: checkpoints.Entry) -> latent_replay.ReplayPlane:
    """All of a model's recorded snapshots on one fixed plane (call after latent_history_for)."""
    return _replay_plane(str(entry.path), _history_version(entry))


@st.cache_resource(show_spinner="Building the animation…", max_entries=4)
def _history_animation(path: str, version: float, class_names: tuple[str, ...]):
    return latent_replay.history_animation(_latent_history(path, version), class_names)


def history_animation_for(entry: checkpoints.Entry, class_names: tuple[str, ...]):
    """The Plotly animation of a model's recorded snapshots; one object, never mutated."""
    return _history_animation(str(entry.path), _history_version(entry), tuple(class_names))
