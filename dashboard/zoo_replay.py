"""The Model Zoo's replay: the codes a model recorded while it trained, stepped or played."""

from __future__ import annotations

import streamlit as st

from jlml_core.data.datasets import CLASS_NAMES
from jlml_core.figures import replay
from jlml_core.store.checkpoints import CheckpointError, Entry

from . import figure_cache
from .sidebar import current_entry, model_picker
from .snippets import show_code


def class_names(entry: Entry) -> tuple[str, ...]:
    """The class names of the entry's dataset (digits 0-9 for an unknown one)."""
    return CLASS_NAMES.get(entry.config.dataset, tuple(str(i) for i in range(10)))


def show_replay(entries: list[Entry]) -> None:
    """Step through, or play, the codes a model recorded while it trained."""
    st.header("Watch the latent space form")
    recorded = [e for e in entries if replay.has_latent_history(e.path)]
    if not recorded:
        st.caption("No listed model recorded its codes while training; newly trained ones do.")
        return
    selected = current_entry()
    default = selected.key if selected is not None else None
    entry = model_picker(recorded, "Model", "zoo_replay_model", default)
    try:
        history = figure_cache.latent_history_for(entry)
    except CheckpointError as error:
        st.error(str(error))
        return
    plane = figure_cache.replay_plane_for(entry)
    step, play = st.tabs(["Step through", "Play"])
    with step:
        labels = [replay.snapshot_label(epoch) for epoch in history.epochs]
        index = st.select_slider(
            "Snapshot", range(len(history)), len(history) - 1, lambda i: labels[i],
            key="zoo_replay_step",
        )  # fmt: skip
        chart, numbers = st.columns([3, 1], gap="medium")
        with chart:
            figure = replay.snapshot_figure(history, plane, index, class_names(entry))
            st.plotly_chart(
                figure, key="zoo_replay_snapshot",
                alt=f"Scatter of {len(history.rows):,} test digits' codes under {entry.label} "
                f"at {labels[index]}, coloured by class",
            )  # fmt: skip
        show_code("latent_replay", entry.key, index=index)
        for name, value in replay.snapshot_numbers(history, index).items():
            numbers.metric(name, value)
        numbers.caption(
            f"Test loss on the {len(history.rows):,} recorded test digits, in the units the "
            "model trains with; train loss is the running mean of the epoch so far."
        )
    with play:
        st.plotly_chart(
            figure_cache.history_animation_for(entry, class_names(entry)),
            key="zoo_replay_animation",
            alt=f"Animation of {len(history.rows):,} test digits' codes under {entry.label} "
            f"over {len(history)} snapshots taken during training, coloured by class",
        )  # fmt: skip
    axes = "" if entry.config.latent_dim <= 2 else " (PCA plane of the final snapshot)"
    st.caption(f"{len(history.rows):,} fixed test digits' posterior means{axes}, by class.")
