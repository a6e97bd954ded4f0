"""Generation's "Latent traversals" tab: one test digit's code with each dimension swept from
-3 to 3, rows sorted by KL, beside the KL-per-dimension bars and the zoo's beta pair."""

from __future__ import annotations

import streamlit as st

from jlml_core.data.datasets import DataError
from jlml_core.figures import traversal as traversal_figures
from jlml_core.inference import traversal
from jlml_core.inference.latent import ImageOutput
from jlml_core.store.checkpoints import CheckpointError, Entry

from . import cache
from .charts import show_chart
from .images import show_image
from .latent_dims_view import BETA_PAIR, dimensions_for, zoo_entries
from .settings import public_error

MAX_ROWS = 10
COLUMNS = 9  # -3, -2.25, ..., 3: the middle column is 0, the prior's mean
DEFAULT_DIGIT = 0


def show_traversals(entry: Entry, output: ImageOutput = "sigmoid") -> None:
    """The traversal grid of the chosen model and digit, its KL bars and the beta pair."""
    config = entry.config
    if not config.is_variational:
        st.info(
            "Latent traversals need a VAE: they sort dimensions by their KL to the prior, "
            "which a plain autoencoder does not have. Pick a VAE in the sidebar."
        )
        return
    try:
        test = cache.test_set(config.dataset)
        codes = cache.encodings_for(entry).mu  # (N, D)
        dims = dimensions_for(entry)
        model = cache.model_for(entry)
    except (CheckpointError, DataError) as error:
        st.error(f"Could not measure {entry.label}: {public_error(error)}")
        return
    rows_available = min(MAX_ROWS, config.latent_dim)
    controls, picture = st.columns([1, 3], gap="large")
    with controls:
        index = int(
            st.number_input("Test digit", 0, len(test) - 1, DEFAULT_DIGIT, key="gen_trav_digit")
        )
        rows = rows_available
        if rows_available > 1:
            rows = st.slider("Rows", 1, rows_available, rows_available, key="gen_trav_rows")
        name = test.class_names[int(test.labels[index])]
        show_image(test.images[index].numpy() / 255.0, f"#{index} (a {name})", scale=4,
                   alt=f"test digit {index}, a {name}")  # fmt: skip
        st.caption(
            f"Each row sets one dimension to the column's value, from −3 to 3 (the prior's "
            f"±3σ) and keeps the other {config.latent_dim - 1} at this digit's code. Rows: "
            f"the {rows} dimensions with the largest KL, largest first. "
            f"{dims.active_units} of {config.latent_dim} dimensions are active."
        )
    order = [int(d) for d in dims.order[:rows]]
    values = traversal.traversal_values(COLUMNS)
    images = traversal.traverse(model, codes[index], order, values, output)  # (R, C, H, W)
    figure = traversal_figures.traversal_figure(images, order, values, dims.kl_per_dim)
    with picture:
        show_chart(figure, name="latent_traversal", model=config, key="gen_traversal",
                   alt=f"Grid of digits {entry.label} decodes from test digit {index}'s code "
                   f"with each of {rows} latent dimensions swept from -3 to 3")  # fmt: skip
    show_chart(
        traversal_figures.kl_bars_figure({entry.label: dims}),
        name="kl_per_dimension",
        model=config,
        key="gen_kl_bars",
        alt=f"Bar chart of the KL of each latent dimension of {entry.label}, largest first",
    )
    _show_beta_pair()


def _show_beta_pair() -> None:
    """The zoo's beta = 1 and beta = 4 models side by side (when both are listed)."""
    pair = zoo_entries(BETA_PAIR)
    st.subheader("β = 1 beside β = 4, same 10-D model")
    if pair is None:
        st.caption(f"The zoo's β pair ({', '.join(BETA_PAIR)}) is not among the listed models.")
        return
    measured = {f"β = {e.config.kl_weight:g}": dimensions_for(e) for e in pair}
    show_chart(
        traversal_figures.kl_bars_figure(measured),
        name="kl_per_dimension_beta_pair",
        key="gen_beta_pair",
        alt="Bar charts of the KL of each latent dimension under beta 1 and beta 4",
    )
    st.caption(
        "A larger β prices every nat of KL four times higher: dimensions that carried little "
        "fall towards 0 nats (grey once their posterior mean no longer varies with the digit: "
        "inactive), and the few left carry the broad features. Pick either model in the "
        "sidebar to traverse it."
    )
