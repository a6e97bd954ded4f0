"""The Model Zoo's replay: the codes a model recorded while it trained, stepped or played."""

from __future__ import annotations

from functools import partial

import streamlit as st

from jlml_core.data.datasets import CLASS_NAMES
from jlml_core.figures import replay, replay_gif
from jlml_core.figures.exports import file_name
from jlml_core.store.checkpoints import CheckpointError, Entry
from jlml_core.training.latent_history import LatentHistory

from . import figure_cache
from .charts import download_button, show_chart
from .sidebar import current_entry, model_picker
from .snippets import show_code

REPLAY_TAB = "zoo_replay_tab"  # the open tab's label, in session state ("Step through", "Play")
REPLAY_OPEN = "zoo_replay_open"  # whether the section is shown (its toggle), in session state


def class_names(entry: Entry) -> tuple[str, ...]:
    """The class names of the entry's dataset (digits 0-9 for an unknown one)."""
    return CLASS_NAMES.get(entry.config.dataset, tuple(str(i) for i in range(10)))


def show_replay(entries: list[Entry]) -> None:
    """Step through, or play, the codes a model recorded while it trained."""
    st.header("Watch the latent space form")
    # Shown on request: its charts are made once a visitor asks, not on the page's first open,
    # where the Model Zoo's dozen charts cost a 2-core machine's browser seconds. (A toggle,
    # not a lazy expander: the section holds expanders of its own, which may not nest.)
    if st.toggle("Replay how a model's codes moved while it trained", key=REPLAY_OPEN):
        _show_replay(entries)


def _show_replay(entries: list[Entry]) -> None:
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
    # Lazy tabs: only the open one runs. The "Play" animation (25 frames, ~0.7 MB of JSON,
    # ~1 s of server CPU) is built when a visitor opens its tab, not on the page's first open.
    step, play = st.tabs(["Step through", "Play"], key=REPLAY_TAB, on_change="rerun")
    if step.open:
        with step:
            _step_through(entry, history, plane)
    if play.open:
        with play:
            show_chart(
                figure_cache.history_animation_for(entry, class_names(entry)),
                name="latent_replay_animation",
                model=entry.config,
                key="zoo_replay_animation",
                alt=f"Animation of {len(history.rows):,} test digits' codes under {entry.label} "
                f"over {len(history)} snapshots taken during training, coloured by class",
            )  # fmt: skip
            offer_history_gif(entry, key="zoo_replay_gif")
    axes = "" if entry.config.latent_dim <= 2 else " (PCA plane of the final snapshot)"
    st.caption(f"{len(history.rows):,} fixed test digits' posterior means{axes}, by class.")


def _step_through(entry: Entry, history: LatentHistory, plane: replay.ReplayPlane) -> None:
    """A slider over the snapshots, the chosen one's scatter and its numbers."""
    labels = [replay.snapshot_label(epoch) for epoch in history.epochs]
    index = st.select_slider(
        "Snapshot", range(len(history)), len(history) - 1, lambda i: labels[i],
        key="zoo_replay_step",
    )  # fmt: skip
    chart, numbers = st.columns([3, 1], gap="medium")
    with chart:
        figure = replay.snapshot_figure(history, plane, index, class_names(entry))
        show_chart(
            figure, key="zoo_replay_snapshot", name=f"latent_replay_{labels[index]}",
            model=entry.config,
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


def offer_history_gif(entry: Entry, key: str) -> None:
    """A button that saves the codes `entry` recorded while it trained as an animated GIF.

    Nothing when it recorded none; a one-line message when its recording is damaged. The GIF
    is drawn when the button is clicked (0.1 s of CPU for 25 snapshots of 2,000 digits).
    """
    try:
        history = figure_cache.latent_history_for(entry)
    except CheckpointError as error:
        st.caption(f"Cannot save the replay: {error}")
        return
    if history is None:
        return
    plane = figure_cache.replay_plane_for(entry)
    download_button(
        "Download the replay (GIF)",
        partial(replay_gif.history_gif, history, class_names(entry), plane=plane),
        file_name("latent_replay", "gif", entry.config),
        key=key,
    )
