"""Home: the story of the original project, the model drawn, and a way into every view."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import cache, figure_cache, vq_view
from dashboard.charts import show_chart
from dashboard.settings import demo_mode, public_error
from dashboard.sidebar import current_entry
from dashboard.snippets import show_code
from jlml_core.config import TrainConfig
from jlml_core.data.datasets import DataError
from jlml_core.nn.models import DEFAULT_IMAGE_SHAPE
from jlml_core.store import checkpoints, model_cache
from jlml_core.training.train import Progress

# TrainConfig() is the default model (cnn_shallow VAE, z = 2, BCE, 5 epochs): recognisable
# digits in about two minutes on a 2-core laptop CPU.
DEFAULT_CONFIG = TrainConfig()
EXPECTED_TIME = "about two minutes on a laptop CPU (longer on a slow or busy machine)"

# Absolute paths: st.page_link resolves relative ones against the entry script's folder, which is
# not this one's parent under deploy/streamlit_app.py (the Community Cloud entry point).
HERE = Path(__file__).resolve().parent

# fmt: off
VIEWS = (  # page, title, icon, what it shows
    (HERE / "reconstructions.py", "Reconstructions", "🔁",
     "Originals over their reconstructions, the worst-reconstructed digits, pixel errors."),
    (HERE / "latent_explorer.py", "Latent Explorer", "🧭",
     "The test set as a map of codes; click anywhere to decode that point."),
    (HERE / "your_digit.py", "Your digit", "✍️",
     "Draw or upload a digit: see it as MNIST would, reconstructed, and where it lands."),
    (HERE / "generation.py", "Generation", "✨",
     "Sample the prior, interpolate between digits, decode grids over the latent plane."),
    (HERE / "loss_comparison.py", "Loss Comparison", "⚖️",
     "BCE, MSE and continuous Bernoulli decoders side by side."),
    (HERE / "model_zoo.py", "Model Zoo", "📊",
     "Every trained model with its metrics, sortable and comparable."),
)
TRAIN_VIEW = (HERE / "train.py", "Train", "🏋️",
              "Train your own model: any architecture, latent size, loss and KL weight.")
# fmt: on

HEADLINES = (  # metrics.json key, label, format
    ("test_neg_elbo", "Test −ELBO", "{:.1f}"),
    ("test_reconstruction", "Reconstruction", "{:.1f}"),
    ("test_kl", "KL", "{:.2f}"),
    ("knn_accuracy", "k-NN accuracy", "{:.1%}"),
    ("active_units", "Active units", "{:.0f}"),
    ("train_seconds", "Training time", "{:.0f} s"),
)

STORY = """
An **autoencoder** learns to copy an image through a **bottleneck**. The *encoder* squeezes
the 28 × 28 = 784 pixels of a digit into a short code **z** — here as few as two numbers — and
the *decoder* has to rebuild the whole image from that code alone. Whatever the code cannot
hold is lost, so the network is forced to keep what matters most: which digit it is, how it
slants, how thick the stroke is.

Every image becomes a point in this **latent space**, and with two dimensions we can look at
it directly: similar digits land near each other, and decoding any point — even one no image
was mapped to — gives a new digit. A **variational** autoencoder (VAE) goes one step further:
its encoder outputs a mean **μ** and a spread **σ**, the code is *sampled* as z = μ + σ·ε,
and a KL term pulls the codes towards a standard normal, so that random draws from N(0, I)
decode to plausible digits.

Why are reconstructions **blurry**? A decoder trained with binary cross-entropy or squared
error is rewarded for predicting, pixel by pixel, the *average* of all digits that could have
produced the code. Many slightly different 7s share one point of a 2-D code, and their average
is a soft, grey 7: the bottleneck cannot hold the details, and the loss prefers a safe mean to
a sharp guess.
"""


def _train_default() -> None:
    """Train DEFAULT_CONFIG with a progress bar, then reload the model list."""
    bar = st.progress(0.0, text="Loading MNIST…")

    def report(progress: Progress) -> None:
        text = f"Epoch {progress.epoch} of {progress.epochs} · loss {progress.loss:.1f} nats/image"
        bar.progress(min(progress.fraction, 1.0), text=text)

    try:
        model_cache.get_or_train(DEFAULT_CONFIG, on_progress=report)
    except (checkpoints.CheckpointError, DataError, OSError) as error:
        st.error(f"Training failed: {public_error(error)}")
        return
    cache.refresh_entries()
    st.rerun()


def _offer_training() -> None:
    if demo_mode():
        st.warning("**No trained model is available in this demo.** Please try again later.")
        return
    st.info(
        "**No trained model yet.** Every view needs one. Train the default model — a small "
        f"convolutional VAE with a 2-D code, {DEFAULT_CONFIG.epochs} epochs on MNIST — "
        f"here; it takes {EXPECTED_TIME}. The Train page offers every other choice."
    )
    if st.button("Train the default model", type="primary", icon="🏋️"):
        _train_default()


def _at_a_glance(entry: checkpoints.Entry) -> None:
    config = entry.config
    kind = "variational autoencoder" if config.is_variational else "plain autoencoder"
    kind = vq_view.kind_phrase(entry) or kind
    images = f"{config.train_subset:,}" if config.train_subset else "all"
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    st.markdown(f"**{entry.label}**")
    st.caption(
        f"A {kind} with a {config.latent_dim}-D code, `{config.arch}` layers and a "
        f"{config.loss.upper()} reconstruction loss, trained for {epochs} on {images} "
        f"{config.dataset} training images (KL weight {config.kl_weight:g}, seed {config.seed})."
    )
    shown = [
        (label, fmt.format(entry.metrics[key]))
        for key, label, fmt in HEADLINES
        if isinstance(entry.metrics.get(key), (int, float))
    ]
    if not shown:
        st.caption("No metrics were recorded for this model.")
    columns = st.columns(3)
    for i, (label, value) in enumerate(shown):
        columns[i % 3].metric(label, value)
    if shown:
        st.caption("Losses are in nats per test image; lower is better.")


def _diagram(entry: checkpoints.Entry | None) -> None:
    if vq_view.diagram_replaced(entry):  # a VQ-VAE: its layers in words
        return
    config = entry.config if entry is not None else DEFAULT_CONFIG
    image_shape = DEFAULT_IMAGE_SHAPE
    if entry is not None:
        try:
            image_shape = cache.model_for(entry).image_shape
        except checkpoints.CheckpointError as error:
            st.warning(
                f"Could not load the selected model ({public_error(error)}); "
                "drawing its config only."
            )
    try:
        figure = figure_cache.architecture_diagram(
            config.arch,
            config.latent_dim,
            config.hidden_dim,
            tuple(image_shape),
            config.is_variational,
        )
    except (KeyError, ValueError) as error:
        st.warning(f"Cannot draw architecture `{config.arch}`: {public_error(error)}")
        return
    show_chart(
        figure,
        name="architecture",
        model=config,
        config={"staticPlot": True},
        key="home_diagram",
        alt=f"Diagram of the {config.arch} {'VAE' if config.is_variational else 'autoencoder'}: "
        f"a {'×'.join(map(str, image_shape))} image, encoder with {config.hidden_dim} hidden "
        f"units, a {config.latent_dim}-dimensional code, decoder, reconstruction",
    )
    if entry is not None:
        show_code("architecture", entry.key)
    which = "the selected model" if entry is not None else "the default model"
    st.caption(
        f"The layers of {which} (`{config.arch}`, z = {config.latent_dim}), with the size of each "
        "layer's output below it; heights grow with the logarithm of that size."
    )


st.title("JL-ML Autoencoder Lab")
st.markdown(
    "A hands-on rebuild of the JL-ML project: autoencoders and variational autoencoders on "
    "handwritten digits, and every figure of the original as a view you can play with."
)
entry = current_entry()
story, side = st.columns([3, 2], gap="large")
with story:
    st.markdown(STORY)
with side:
    if entry is None:
        _offer_training()
    else:
        st.subheader("At a glance")
        _at_a_glance(entry)

st.subheader("The autoencoder, drawn")
_diagram(entry)

st.subheader("Explore")
views = list(VIEWS)
if not demo_mode():
    views.append(TRAIN_VIEW)
columns = st.columns(3)
for i, (page, title, icon, description) in enumerate(views):
    with columns[i % 3]:
        st.page_link(page, label=title, icon=icon)
        st.caption(description)
