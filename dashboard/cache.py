"""Streamlit caches of the dashboard's models, data and computed arrays, in one place.

Figures and pictures have theirs in `figure_cache`; the server's tricks the caches use (compute
slots, `long_lived`) live in `server`. Models are cached with `st.cache_resource` and never
mutated (inference only). An entry's key is its folder's path and `entry_version`, its weights
file's modification time, so a retrained entry is reloaded, not served stale: the page-facing
`*_for(entry)` functions turn an entry into that key for the cached builders.

The test codes, per-image losses and pixel errors come from the entry's shipped
``test_codes.safetensors`` when it is fresh (every zoo model has one; see
`test_codes.read_encoded_test_set`), so opening a page loads them in milliseconds instead of
encoding 10,000 images; a model without one (a user's) is encoded here as before.

What is cached, by which key (bound):
- the model listing: nothing (30 s ttl); a test set, its digest: the dataset name;
- a model: path, version (16); its training history: path, version (64);
- a model's shipped encoded test set (None if missing or stale): path, version, dataset (32);
- the test codes, their PCA plane, the codes in that plane: path, version, dataset (16 each);
- per-image test losses: path, version, dataset, loss (16);
- decoded codes: path, version, the codes' content, output (24);
- prior samples: path, version, n, seed, output (64);
- the first n reconstructions: path, version, dataset, n, output (64);
- the decoded plane centre: path, version, dataset, output (16);
- training throughput: what moves the speed, not epochs or seed (64, see `throughput_for`);
- shown-image errors: path, version, dataset, loss (32); the digit classifier: nothing;
  mean-sample quality: path, version, dataset (16).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from jlml_core.analysis import likelihood
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import DataError, ImageDataset, load_split
from jlml_core.inference import latent, plane, reconstruction
from jlml_core.nn.models import Autoencoder, balanced_labels, is_conditional
from jlml_core.store import checkpoints, model_cache, test_codes
from jlml_core.training import calibration

from .server import heavy_compute, long_lived


def entry_version(path: Path) -> float:
    """A cache key part that changes whenever the entry is rewritten."""
    return (path / checkpoints.MODEL_FILE).stat().st_mtime


@st.cache_data(ttl=30, show_spinner=False)
def list_entries() -> list[checkpoints.Entry]:
    """All models in the shipped zoo and the user's cache (zoo first)."""
    return [entry for store in model_cache.default_stores() for entry in store.entries()]


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


@st.cache_resource(show_spinner=False)
def _test_set_digest(dataset: str) -> str:
    return test_codes.images_digest(test_set(dataset).images)


# Bounded above the other per-model caches: a hit is what keeps them cheap to refill.
@st.cache_resource(show_spinner=False, max_entries=32)
def _shipped_at(path: str, version: float, dataset: str) -> test_codes.EncodedTestSet | None:
    """The entry's shipped encoded test set, or None if it has none, or a stale or damaged one
    (then the callers compute what they need, as for any user-trained model)."""
    try:
        return test_codes.read_encoded_test_set(Path(path), _test_set_digest(dataset))
    except checkpoints.CheckpointError:
        return None


def shipped_mutual_information(path: str, version: float, dataset: str) -> float | None:
    """The I(x; z) estimate a zoo model ships with its encoded test set (None: compute it)."""
    shipped = _shipped_at(path, version, dataset)
    return None if shipped is None else shipped.mutual_information


@st.cache_resource(show_spinner="Encoding the test set…", max_entries=16)
@long_lived
def encodings_at(path: str, version: float, dataset: str) -> latent.Encodings:
    """`encodings_for` by its key: the entry's path and version, its dataset."""
    if (shipped := _shipped_at(path, version, dataset)) is not None:
        return latent.Encodings(shipped.mu, shipped.logvar)
    model, test = load_model(path, version), test_set(dataset)
    with heavy_compute():  # a conditional model encodes each digit with its own label
        return latent.encode_images(model, test.images, labels=_labels_if_needed(model, test))


def encodings_for(entry: checkpoints.Entry) -> latent.Encodings:
    """Posterior means (and log-variances) of the 10,000 test images under a model."""
    return encodings_at(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
@long_lived
def projection_at(path: str, version: float, dataset: str) -> latent.Projection:
    """`projection_for` by its key: the entry's path and version, its dataset."""
    return latent.fit_projection(encodings_at(path, version, dataset).mu)


def projection_for(entry: checkpoints.Entry) -> latent.Projection:
    """2-D PCA of the test codes (identity for a 2-D latent space)."""
    return projection_at(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_resource(show_spinner=False, max_entries=16)
@long_lived
def projected_codes_at(path: str, version: float, dataset: str) -> np.ndarray:
    """`projected_codes_for` by its key: the entry's path and version, its dataset."""
    return projection_at(path, version, dataset).project(encodings_at(path, version, dataset).mu)


def projected_codes_for(entry: checkpoints.Entry) -> np.ndarray:
    """Test codes in the 2-D plane the Latent Explorer shows: (10000, 2)."""
    return projected_codes_at(str(entry.path), entry_version(entry.path), entry.config.dataset)


@st.cache_data(show_spinner=False, max_entries=64)
def history_for(path: str, version: float) -> list[dict[str, float]]:
    """Per-epoch training history of an entry."""
    return checkpoints.read_history(path)


def _labels_if_needed(model: Autoencoder, test: ImageDataset) -> torch.Tensor | None:
    """The test images' labels for a conditional model (it encodes with them), else None."""
    return test.labels if is_conditional(model) else None


# --- Home, Reconstructions, Generation pages -------------------------------------------------


@st.cache_data(show_spinner="Scoring every test image…", max_entries=16)
def _test_losses(path: str, version: float, dataset: str, loss: str) -> np.ndarray:
    if (shipped := _shipped_at(path, version, dataset)) is not None:
        return shipped.losses  # computed under the entry's own loss, as `loss` is
    model, test = load_model(path, version), test_set(dataset)
    labels = _labels_if_needed(model, test)
    with heavy_compute():
        return reconstruction.per_image_loss(model, test.images, loss, labels=labels)


def test_losses_for(entry: checkpoints.Entry) -> np.ndarray:
    """Reconstruction loss of each of the test images under a model, in nats: (N,)."""
    config = entry.config
    return _test_losses(str(entry.path), entry_version(entry.path), config.dataset, config.loss)


# Bounded so a class's memory stays flat: every student's new seed adds an entry (up to 1.2 MB),
# which grew the server with each burst of seed changes while unbounded.
# The entries every session shares (unchanged tabs) stay: each rerun touches them.
@st.cache_data(show_spinner=False, max_entries=24)
def _decoded(
    path: str, version: float, codes: np.ndarray, output: str, labels: np.ndarray | None
) -> np.ndarray:
    model = load_model(path, version)
    with heavy_compute():
        return latent.decode_points(model, codes, output, labels=labels)


def decoded_for(
    entry: checkpoints.Entry,
    codes: np.ndarray,
    output: latent.ImageOutput = "sigmoid",
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Images (N, H, W) in [0, 1] decoded from codes (N, D) by a model, cached by content.

    Every widget change reruns the whole Generation page, and its four tabs decode ~380 codes
    together; cached, a change decodes only what it changed (the key hashes the codes). A
    conditional model needs `labels` (N,), one class per code.
    """
    return _decoded(str(entry.path), entry_version(entry.path), codes, output, labels)


# --- Loss Comparison, Model Zoo pages --------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _prior_samples(path: str, version: float, n: int, seed: int, output: str) -> np.ndarray:
    model = load_model(path, version)
    with heavy_compute():
        z = latent.sample_prior(n, model.latent_dim, seed)  # (n, D)
        # A conditional model's samples cycle through the classes: p(x) = sum_c p(x|c) / K.
        return latent.decode_points(model, z, output, labels=balanced_labels(model, n))


def prior_samples_for(
    entry: checkpoints.Entry, n: int, seed: int = 0, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """n decoded N(0, I) samples of a model, reproducible by seed: (n, H, W) in [0, 1]."""
    return _prior_samples(str(entry.path), entry_version(entry.path), n, seed, output)


@st.cache_data(show_spinner=False, max_entries=64)
def _first_reconstructions(
    path: str, version: float, dataset: str, n: int, output: str
) -> np.ndarray:
    model, test = load_model(path, version), test_set(dataset)
    labels = _labels_if_needed(model, test)
    with heavy_compute():
        return latent.reconstruct(
            model, test.images[:n], output, None if labels is None else labels[:n]
        )


def first_reconstructions_for(
    entry: checkpoints.Entry, n: int, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """Reconstructions of the first n test images under a model: (n, H, W) in [0, 1]."""
    config = entry.config
    return _first_reconstructions(
        str(entry.path), entry_version(entry.path), config.dataset, n, output
    )


# --- Latent Explorer page --------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def _decoded_centre(path: str, version: float, dataset: str, output: str) -> np.ndarray:
    model, projection = load_model(path, version), projection_at(path, version, dataset)
    with heavy_compute():
        return plane.decode_position(model, projection, 0.0, 0.0, output)[1]


def decoded_centre_for(
    entry: checkpoints.Entry, output: latent.ImageOutput = "sigmoid"
) -> np.ndarray:
    """The image (H, W) decoded at the Latent Explorer plane's centre (0, 0).

    For a 2-D latent space that is z = 0, the prior's mean; for a projection, the mean code.
    """
    return _decoded_centre(str(entry.path), entry_version(entry.path), entry.config.dataset, output)


# --- Demo mode --------------------------------------------------------------------------------


def warm_up() -> None:
    """Encode and score the test set under every listed model: what each first visitor waits for.

    A demo runs this in `server.warm_up_in_background` before anyone asks. Every zoo model
    ships these numbers (`_shipped_at`), so this only reads them, in about a second for the
    whole zoo; only models without fresh shipped ones are encoded. A model that fails to load
    is left for its page to report.
    """
    for entry in list_entries():
        try:
            projected_codes_for(entry)
            test_losses_for(entry)
        except (checkpoints.CheckpointError, DataError, OSError):
            continue


# --- Train page ------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Measuring this machine's training speed…", max_entries=64)
def _throughput(key: tuple, _config: TrainConfig) -> calibration.Throughput:
    del key  # only the cache key: `_config` (not hashed) is any config with these fields
    return calibration.measure_throughput(_config)


@st.cache_resource
def _measured() -> dict[tuple, calibration.Throughput]:
    """The throughputs this server measured, by `_throughput_key` (shared by all sessions)."""
    return {}


def measured_throughput(config: TrainConfig) -> calibration.Throughput | None:
    """`throughput_for(config)` if this server has measured it already, else None (nothing
    is measured here)."""
    return _measured().get(_throughput_key(config))


def throughput_for(config: TrainConfig) -> calibration.Throughput:
    """Measured training and evaluation speed of a config's model, once per server.

    Keyed by what moves the speed (model shape, loss, batch size, precision, torch threads),
    not by epochs, subset, learning rate or seed, so the estimate follows every widget
    without measuring again.
    """
    key = _throughput_key(config)
    speed = _measured()[key] = _throughput(key, config)
    return speed


def _throughput_key(config: TrainConfig) -> tuple:
    return (
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


# --- Loss Comparison: the matched sets' numbers ----------------------------------------------


@st.cache_data(show_spinner="Measuring the shown images on every test digit…", max_entries=32)
def _shown_image_errors(
    path: str, version: float, dataset: str, loss: str
) -> dict[str, likelihood.PixelErrors]:
    outputs = likelihood.outputs_for(loss)
    shipped = _shipped_at(path, version, dataset)
    if shipped is not None and all(output in shipped.pixel_errors for output in outputs):
        return {o: likelihood.PixelErrors(**shipped.pixel_errors[o]) for o in outputs}
    model, test = load_model(path, version), test_set(dataset)
    labels = _labels_if_needed(model, test)
    return likelihood.shown_image_errors(model, test.images, outputs, labels=labels)


def shown_image_errors_for(
    entry: checkpoints.Entry,
) -> dict[str, likelihood.PixelErrors]:
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


def digit_classifier():
    """The shipped digit classifier, loaded once per server (Your digit guesses a conditional
    model's label with it).

    Raises:
        jlml_core.analysis.classifier.ClassifierError: the shipped classifier is missing.
    """
    return _digit_classifier()
