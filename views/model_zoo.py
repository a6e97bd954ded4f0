"""Model Zoo: every listed model with its metrics, and chosen models' latent spaces side by side."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, links
from dashboard.charts import show_chart
from dashboard.collapse_view import show_collapse
from dashboard.images import show_image
from dashboard.settings import limits, public_error
from dashboard.sidebar import current_entry
from dashboard.snippets import show_code
from dashboard.tables import show_metrics_table
from dashboard.zoo_replay import class_names, show_replay
from jlml_core.analysis import comparison
from jlml_core.analysis.metrics import code_norms
from jlml_core.data.datasets import DataError
from jlml_core.figures import loss_curves
from jlml_core.figures.exports import file_name
from jlml_core.inference import latent
from jlml_core.store.checkpoints import CheckpointError, Entry

TABLE_FRONT = ["kind", "arch", "latent", "loss", "recon weight", "KL weight"]
PER_ROW = 3
SHOWN = 8
BY_HAND, SWEEP = "Pick models", "Reconstruction-weight sweep"
QUANTITIES = {
    "distance from the origin ‖μ‖": "distance",
    "posterior radius (RMS σ)": "radius",
}


def _title(entry: Entry, sweep: bool) -> str:
    if sweep:
        return f"reconstruction weight {entry.config.reconstruction_weight:g}"
    return entry.label


def _grid(entries: list[Entry]):
    """Yield (column, entry) with PER_ROW columns to a row."""
    for start in range(0, len(entries), PER_ROW):
        row = entries[start : start + PER_ROW]
        yield from zip(st.columns(PER_ROW, gap="medium"), row, strict=False)


def _metrics_section(entries: list[Entry]) -> None:
    st.header("All models")
    table = show_metrics_table(
        entries, TABLE_FRONT, key="zoo_table", file_name=file_name("model_zoo_metrics", "csv")
    )
    st.caption(
        f"{len(entries)} models. Click a column header to sort; −ELBO, reconstruction and KL "
        "are nats per test image, kNN accuracy is on the test codes, FID and confidence are "
        "of prior samples scored by the digit classifier."
    )
    if missing := [e for e in entries if comparison.missing_evaluation(e)]:
        st.info(
            f"{len(missing)} of {len(entries)} models have no evaluation metrics yet (IW-NLL, "
            "active units, kNN accuracy, sample FID, confidence). Compute them with "
            "`python -m jlml_core evaluate --model KEY`."
        )
        with st.expander("Commands for the models without them"):
            st.code("\n".join(comparison.evaluate_command(e) for e in missing), language="bash")
    charted = [c.title for c in comparison.METRIC_COLUMNS if table[c.title].notna().any()]
    if charted:
        metric = st.selectbox("Chart a metric", charted, key="zoo_metric", bind=links.BIND)
        show_chart(
            loss_curves.metric_bars_figure(list(table["model"]), list(table[metric]), metric),
            name=f"model_zoo_{metric}",
            key="zoo_metric_chart",
            alt=f"Bar chart of {metric} for each of the {len(table)} models in the table",
        )


def _choose(entries: list[Entry]) -> tuple[list[Entry], bool]:
    """The models to compare, and whether they are a reconstruction-weight sweep."""
    sweeps = comparison.groups_differing_only_in(entries, "reconstruction_weight")
    mode = BY_HAND
    if sweeps:
        mode = st.radio(
            "Compare", [SWEEP, BY_HAND], horizontal=True, key="zoo_mode", bind=links.BIND
        )
    if mode == SWEEP:
        index = st.selectbox(
            "Sweep",
            range(len(sweeps)),
            format_func=lambda i: comparison.shared_description(
                sweeps[i][0].config, "reconstruction_weight"
            ),
            key="zoo_sweep",
            bind=links.BIND,
        )
        st.caption(
            "The original project's figure: models that differ only in the weight on the "
            "reconstruction term, ordered by that weight."
        )
        return sweeps[index][: limits().compared_models], True
    by_key = {e.key: e for e in entries}
    selected = current_entry()
    first = selected.key if selected is not None and selected.key in by_key else entries[0].key
    default = [first, *[k for k in by_key if k != first][:1]]
    links.adopt_models("zoo_models", by_key, limits().compared_models)
    keys = st.multiselect(
        "Models",
        list(by_key),
        default=default,
        format_func=lambda k: by_key[k].label,
        max_selections=limits().compared_models,
        key="zoo_models",
    )
    links.publish_models("zoo_models", keys)
    return [by_key[k] for k in keys], False


def _scatter(entry: Entry, points: int, sweep: bool) -> None:
    try:
        codes = cache.projected_codes_for(entry)[:points]
        labels = cache.test_set(entry.config.dataset).labels[:points].numpy()
    except (CheckpointError, DataError) as error:
        st.error(f"Could not encode with {entry.label}: {public_error(error)}")
        return
    axes = "" if entry.config.latent_dim == 2 else f" (PCA of z={entry.config.latent_dim})"
    figure = loss_curves.latent_scatter_figure(
        codes,
        labels,
        class_names(entry),
        _title(entry, sweep) + axes,
        height=400,
        show_legend=True,
    )
    show_code("latent_scatter", entry.key)
    show_chart(
        figure, key=f"zoo_scatter_{entry.key}", name="latent_scatter", model=entry.config,
        alt=f"Scatter of {len(codes):,} test digits' codes in the latent plane under {entry.label}"
        f"{axes}, coloured by class",
    )  # fmt: skip


def _distribution(entry: Entry, quantity: str, sweep: bool) -> None:
    try:
        encodings = cache.encodings_for(entry)
        labels = cache.test_set(entry.config.dataset).labels.numpy()
    except (CheckpointError, DataError) as error:
        st.error(f"Could not encode with {entry.label}: {public_error(error)}")
        return
    if quantity == "radius" and encodings.logvar is None:
        st.caption(f"**{_title(entry, sweep)}**: an AE has a single code per image, no radius.")
        return
    if quantity == "radius":
        values, axis = comparison.posterior_radii(encodings.logvar), "RMS σ"
    else:
        values, axis = code_norms(encodings.mu), "‖μ‖"
    figure = loss_curves.class_distribution_figure(
        values, labels, class_names(entry), _title(entry, sweep), axis
    )
    show_chart(
        figure, key=f"zoo_{quantity}_{entry.key}", name=f"{quantity}_by_class", model=entry.config,
        alt=f"Distribution of {axis} over the test digits of each class under {entry.label}",
    )  # fmt: skip


def _tile(images: np.ndarray, alt: str) -> None:
    show_image(latent.tile(images, columns=SHOWN // 2), scale=3, alt=alt)


def _images(entry: Entry, sweep: bool) -> None:
    try:
        reconstructions = cache.first_reconstructions_for(entry, SHOWN)
        samples = cache.prior_samples_for(entry, SHOWN)
    except (CheckpointError, DataError) as error:
        st.error(f"Could not decode with {entry.label}: {public_error(error)}")
        return
    name, left, right = st.columns([1, 2, 2], gap="medium")
    name.markdown(f"**{_title(entry, sweep)}**")
    name.caption(entry.label if sweep else f"`{entry.key}`")
    left.caption("Reconstructions of the first test images")
    with left:
        _tile(reconstructions, f"reconstructions of the first {SHOWN} test digits by {entry.label}")
    right.caption("Samples from N(0, I)" if entry.config.is_variational else "Decoded N(0, I)")
    with right:
        _tile(samples, f"{SHOWN} images {entry.label} decodes from N(0, I) samples")


st.title("Model Zoo")
st.markdown(
    "Every trained model in the shipped zoo and your cache, with what was measured on it. "
    "Below, put a few of them side by side: their latent spaces, how far from the origin "
    "each class sits, and what they decode."
)
entries = cache.list_entries()
if not entries:
    st.info(
        "No trained models yet. Build the zoo with `python -m jlml_core zoo` (about an hour), "
        "or train a single model on the Train page."
    )
    st.stop()

_metrics_section(entries)
show_replay(entries)
show_collapse(entries)

st.header("Latent spaces side by side")
chosen, sweep = _choose(entries)
if not chosen:
    st.info("Choose at least one model to compare.")
    st.stop()
most = limits().zoo_points
links.clamp_param("zoo_points", 500, most)
points = st.slider(
    "Test images per plot", 500, most, min(3_000, most), step=500, key="zoo_points",
    bind=links.BIND,
)  # fmt: skip
for column, entry in _grid(chosen):
    with column:
        _scatter(entry, points, sweep)
st.caption("Each point is a test image's posterior mean, coloured by its class.")

st.header("Distance from the origin and posterior radius, per class")
quantity = QUANTITIES[
    st.radio("Show", list(QUANTITIES), horizontal=True, key="zoo_quantity", bind=links.BIND)
]
for column, entry in _grid(chosen):
    with column:
        _distribution(entry, quantity, sweep)
st.caption(
    "Under the N(0, I) prior a code of dimension D typically sits at distance √D from the "
    "origin, and a posterior that has collapsed onto the prior has RMS σ ≈ 1."
)

st.header("Samples and reconstructions")
for entry in chosen:
    _images(entry, sweep)
