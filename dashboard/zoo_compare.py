"""The Model Zoo's side-by-side comparison: models chosen by hand or a reconstruction-weight
sweep, their latent spaces, distance and posterior radius per class, and what they decode."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, links
from dashboard.charts import show_chart
from dashboard.images import show_image
from dashboard.settings import limits, public_error
from dashboard.sidebar import current_entry
from dashboard.snippets import show_code
from dashboard.zoo_replay import class_names
from jlml_core.analysis import comparison
from jlml_core.analysis.metrics import code_norms
from jlml_core.data.datasets import DataError
from jlml_core.figures import loss_curves
from jlml_core.inference import latent
from jlml_core.store.checkpoints import CheckpointError, Entry

PER_ROW = 3
SHOWN = 8
BY_HAND, SWEEP = "Pick models", "Reconstruction-weight sweep"
VIEW_TAB = "zoo_view"  # the open tab's label, in session state and in a link
VIEWS = ("Latent spaces", "Distance and radius", "Samples and reconstructions")
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


def _choose(entries: list[Entry]) -> tuple[list[Entry], bool]:
    """The models to compare, and whether they are a reconstruction-weight sweep."""
    sweeps = comparison.groups_differing_only_in(entries, "reconstruction_weight")
    mode = BY_HAND
    if sweeps:
        # Two models by hand first: each compared model is a WebGL scatter, ~0.14 s of a 2-core
        # machine's browser on a first open, and the sweep has five (lesson 03 links to it).
        mode = st.radio(
            "Compare", [BY_HAND, SWEEP], horizontal=True, key="zoo_mode", bind=links.BIND
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
    # Beside it, another model of its dataset if there is one (digits beside clothes compare
    # nothing).
    others = [k for k in by_key if k != first]
    alike = [k for k in others if by_key[k].config.dataset == by_key[first].config.dataset]
    default = [first, *(alike or others)[:1]]
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


def show_comparison(entries: list[Entry]) -> None:
    """The page's lower half: models chosen by hand or a sweep, side by side in three lazy
    tabs (their codes, distance and radius per class, reconstructions and samples)."""
    st.header("Latent spaces side by side")
    chosen, sweep = _choose(entries)
    if not chosen:
        st.info("Choose at least one model to compare.")
        return
    # Lazy tabs: only the open one runs. Drawn at once, the box charts and mosaics of five models
    # cost a 2-core machine's browser seconds on the page's first open (docs/benchmarks.md).
    tabs = st.tabs(list(VIEWS), key=VIEW_TAB, on_change="rerun", bind=links.BIND)
    # Only the open tab runs; `with` puts what it draws inside that tab.
    for tab, show in zip(tabs, (_latent_spaces, _distances, _decodes), strict=True):
        if tab.open:
            with tab:
                show(chosen, sweep)


def _latent_spaces(chosen: list[Entry], sweep: bool) -> None:
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


def _distances(chosen: list[Entry], sweep: bool) -> None:
    label = st.radio("Show", list(QUANTITIES), horizontal=True, key="zoo_quantity",
                     bind=links.BIND)  # fmt: skip
    for column, entry in _grid(chosen):
        with column:
            _distribution(entry, QUANTITIES[label], sweep)
    st.caption(
        "Under the N(0, I) prior a code of dimension D typically sits at distance √D from the "
        "origin, and a posterior that has collapsed onto the prior has RMS σ ≈ 1."
    )


def _decodes(chosen: list[Entry], sweep: bool) -> None:
    for entry in chosen:
        _images(entry, sweep)
