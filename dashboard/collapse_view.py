"""Posterior collapse, seen: the KL per dimension, active units and I(x; z) a model recorded
after each epoch (Model Zoo), the zoo's free-bits remedy beside the model it fixes, and the
same numbers drawn live on the Train page."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from jlml_core.analysis.latent_dims import collapse_history
from jlml_core.config import TrainConfig
from jlml_core.figures import traversal as traversal_figures
from jlml_core.store.checkpoints import CheckpointError, Entry
from jlml_core.training.train import Progress

from . import cache
from .charts import show_chart
from .latent_dims_view import REMEDY_PAIR, dimensions_for, zoo_entries
from .sidebar import current_entry, model_picker

COLLAPSE_OPEN = "zoo_collapse_open"  # whether the section is shown (its toggle), in session state


def show_collapse(entries: list[Entry]) -> None:
    """Model Zoo section: the chosen VAE's collapse numbers over training, and the remedy pair."""
    st.header("Posterior collapse: KL per dimension, active units, I(x; z)")
    # Shown on request, as the replay above: nothing is measured or drawn until asked.
    if st.toggle("Show a VAE's collapse numbers and the free-bits remedy", key=COLLAPSE_OPEN):
        _show_collapse(entries)


def _show_collapse(entries: list[Entry]) -> None:
    vaes = [e for e in entries if e.config.is_variational]
    if not vaes:
        st.caption("No VAE is listed; an autoencoder has no posterior to collapse.")
        return
    selected = current_entry()
    entry = model_picker(vaes, "Model", "zoo_collapse_model", selected.key if selected else None)
    try:
        history = cache.history_for(str(entry.path), cache.entry_version(entry.path))
    except (CheckpointError, OSError, ValueError):
        history = []
    recorded = collapse_history(history)
    if recorded is None:
        st.caption(
            f"{entry.label} was trained before training recorded these numbers; the bars "
            "below measure them on its test set now."
        )
    else:
        show_chart(
            traversal_figures.collapse_history_figure(recorded),
            name="collapse_history",
            model=entry.config,
            key="zoo_collapse_history",
            alt=f"Line charts of {entry.label}'s KL per latent dimension, active units and "
            "mutual information after each epoch of training",
        )
    _show_remedy_pair(entry)


def _show_remedy_pair(entry: Entry) -> None:
    pair = zoo_entries(REMEDY_PAIR)
    # Panels by zoo name: the pair's labels are the same but for free bits, which they omit.
    named = dict(zip(REMEDY_PAIR, pair, strict=True)) if pair is not None else {}
    shown = {name: dimensions_for(member) for name, member in named.items()}
    if entry.key not in {member.key for member in named.values()}:
        shown[entry.label] = dimensions_for(entry)
    show_chart(
        traversal_figures.kl_bars_figure(shown),
        name="kl_per_dimension_remedy",
        key="zoo_collapse_bars",
        alt="Bar charts of the KL of each latent dimension: " + ", ".join(shown),
    )
    if named:
        rows = []
        for name, member in named.items():
            metrics, dims = member.metrics, shown[name]
            rows.append(
                {
                    "model": name,
                    "free bits (nats/dim)": member.config.free_bits,
                    "active units": dims.active_units,
                    "KL (nats)": metrics.get("test_kl"),
                    "−ELBO (nats)": metrics.get("test_neg_elbo"),
                    "I(x; z) (nats)": dims.mutual_information,
                }
            )
        st.dataframe(rows, hide_index=True)
        st.caption(
            "The remedy: with free bits a dimension's first 0.5 nats of KL cost nothing, so "
            "β = 4 no longer pays to switch dimensions off entirely. Grey bars: inactive "
            "dimensions (Burda et al. 2016: their posterior mean varies by less than 0.01)."
        )


def with_collapse_chart(
    live: Callable[[Progress], object], config: TrainConfig
) -> Callable[[Progress], object]:
    """The Train page's progress callback `live`, plus a chart of the collapse numbers that
    redraws after every epoch of a VAE (an AE's callback is returned as it is)."""
    if not config.is_variational:
        return live
    placeholder = st.empty()

    def on_progress(progress: Progress) -> object:
        answer = live(progress)
        recorded = collapse_history(progress.history) if progress.epoch_done else None
        if recorded is not None:
            show_chart(
                traversal_figures.collapse_history_figure(recorded),
                name="collapse_history",
                model=config,
                where=placeholder,
                key=f"train_collapse_{progress.epoch}",
                alt=f"KL per dimension, active units and mutual information up to epoch "
                f"{progress.epoch}",
            )
        return answer

    return on_progress
