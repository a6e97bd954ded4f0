"""The shared sidebar: filters over what the checkpoint cache holds, and the model picker.

`app.py` calls `render_sidebar()` on every run before the page, so the choice carries across
pages; pages read it back with `current_entry()`.
"""

from __future__ import annotations

import streamlit as st

from jlml_core.store.checkpoints import Entry
from jlml_core.store.zoo import DEFAULT_MODEL, ZOO

from . import cache, links
from .inputs import model_link_value

ANY = "any"
SELECTED_KEY = "selected_entry"
_FILTERS = (
    ("dataset", "Dataset", lambda e: e.config.dataset),
    ("kind", "Model kind", lambda e: e.config.kind.upper()),
    ("arch", "Architecture", lambda e: e.config.arch),
    ("latent_dim", "Latent dimension", lambda e: e.config.latent_dim),
    ("loss", "Loss", lambda e: e.config.loss),
)


def _filter_entries(entries: list[Entry]) -> list[Entry]:
    """Narrow `entries` with one selectbox per config field (each offers 'any')."""
    for name, label, value_of in _FILTERS:
        values = sorted({value_of(e) for e in entries}, key=str)
        options = [ANY, *values]
        key = f"filter_{name}"
        if st.session_state.get(key) not in options:
            st.session_state[key] = ANY
        choice = st.selectbox(label, options, key=key)
        if choice != ANY:
            entries = [e for e in entries if value_of(e) == choice]
    return entries


def reset_filters() -> None:
    """Set every model filter back to 'any'."""
    for name, _, _ in _FILTERS:
        st.session_state[f"filter_{name}"] = ANY


def model_picker(entries: list[Entry], label: str, key: str, default_key: str | None = None):
    """A selectbox over entries by key, showing their labels; returns the chosen Entry."""
    by_key = {e.key: e for e in entries}
    keys = list(by_key)
    if st.session_state.get(key) not in by_key:
        st.session_state[key] = default_key if default_key in by_key else keys[0]
    chosen = st.selectbox(label, keys, key=key, format_func=lambda k: by_key[k].label)
    return by_key[chosen]


def default_entry_key(entries: list[Entry]) -> str:
    """The model to open with: the zoo's default model, else the first entry."""
    preferred = ZOO[DEFAULT_MODEL]
    return next((e.key for e in entries if e.config == preferred), entries[0].key)


def render_sidebar() -> Entry | None:
    """Draw the model sidebar and remember the choice in session state."""
    entries = cache.list_entries()
    with st.sidebar:
        st.subheader("Model")
        if not entries:
            st.info("No trained models yet. Train the default one on the Home or Train page.")
            st.session_state[SELECTED_KEY] = None
            return None
        if (linked := links.requested_model([e.key for e in entries])) is not None:
            reset_filters()  # a filter must not hide the linked model
            st.session_state["model_key"] = linked
        with st.expander("Filter models", expanded=False):
            matching = _filter_entries(entries)
        if not matching:
            st.warning("No model matches these filters; set one of them back to 'any'.")
            st.session_state[SELECTED_KEY] = None
            return None
        entry = model_picker(matching, "Model", "model_key", default_entry_key(entries))
        metrics = entry.metrics
        if (elbo := metrics.get("test_neg_elbo")) is not None:
            st.caption(f"test −ELBO **{elbo:.1f}** nats/image")
        elif (recon := metrics.get("test_reconstruction")) is not None:
            st.caption(f"test reconstruction loss **{recon:.1f}** nats/image")
        name = model_link_value(entry.key)  # what a link calls it: edit it there to switch
        zoo = f"zoo model `{name}` · " if name != entry.key else ""
        st.caption(f"{zoo}`{entry.path.name}`")
        links.publish_model(links.MODEL, entry.key)
        links.link_button()
    st.session_state[SELECTED_KEY] = entry
    return entry


def current_entry() -> Entry | None:
    """The model chosen in the sidebar on this run (None when there is none)."""
    return st.session_state.get(SELECTED_KEY)


def require_entry() -> Entry:
    """The chosen model, or stop the page with a message saying how to get one."""
    entry = current_entry()
    if entry is None:
        st.info("No model is selected. Pick one in the sidebar, or train one on the Train page.")
        st.stop()
    return entry
