"""Shareable links: the page, the model and each page's main choices live in the URL.

The page is the URL's path (st.navigation). A widget keeps its value in a query parameter of
its own with Streamlit's ``bind="query-params"`` (BIND): the widget key is the parameter's name
and a default value is left out. Streamlit drops an unknown option and resets an out-of-range
number to the widget's default; `clamp_param`, called just before a number widget, clamps it
into the widget's range instead. The model and the Latent Explorer's clicked digit or place are
not widgets: `incoming` reads them when a link brings a new value, `publish` writes them back.
A link names a zoo model by its zoo name (``?model=vae-cnn-z16``, readable and editable) and
any other model by its config key; a key of a zoo model (an older link) still selects it.
Everything from the URL goes through the strict parsers of `dashboard.inputs`.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import streamlit as st

from dashboard.inputs import (
    Click,
    format_point,
    model_link_value,
    parse_float,
    parse_int,
    parse_model_key,
    parse_model_keys,
    parse_point,
    parse_row,
    view_url,
)
from jlml_core.inference import plane

BIND = "query-params"  # for a widget's bind= argument
MODEL = "model"  # the sidebar's model: its zoo name, else its 12-hex-digit config key
DIGIT, PLACE = "digit", "at"  # Latent Explorer: a clicked test digit's row, or a place "x,y"
_SEEN = "links_seen"  # parameter -> the value this session last read or wrote
_CLAMPED = "links_clamped"  # widget key -> the number a link asked for, clamped


def incoming(name: str) -> str | None:
    """The URL's value of a non-widget parameter when it is new to this session, else None.

    New means a link was opened (or the browser went back to another URL): the value differs
    from the one this session last read or wrote. Every other rerun the page's own state wins,
    so a user's later choice is not overruled by the URL it has not rewritten yet.
    """
    raw = st.query_params.get(name)
    seen = st.session_state.setdefault(_SEEN, {})
    if raw is None or seen.get(name) == raw:
        return None
    seen[name] = raw
    return raw


def publish(name: str, value: str | None) -> None:
    """Write a non-widget parameter into the URL (None removes it)."""
    seen = st.session_state.setdefault(_SEEN, {})
    seen[name] = value
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def clamp_param(key: str, low: float, high: float) -> None:
    """Clamp the URL's number for the bound widget `key` into [low, high]; call before it.

    Only an out-of-range number is touched (junk is left for Streamlit to drop): the clamped
    value goes into session state, which the widget then shows. Streamlit removes the
    out-of-range parameter from the address, so `current_url` puts the clamped one back.
    """
    raw = st.query_params.get(key)
    integer = isinstance(low, int) and isinstance(high, int)
    value = parse_int(raw, low, high) if integer else parse_float(raw, low, high)
    unclamped = parse_int(raw, -(2**62), 2**62) if integer else parse_float(raw, -1e300, 1e300)
    if value is not None and value != unclamped:
        st.session_state[key] = value
        st.session_state.setdefault(_CLAMPED, {})[key] = value


def requested_model(known: Collection[str]) -> str | None:
    """The key of the model a newly opened link asks for (by zoo name or key); None when it
    names no listed model.

    An unknown or malformed value (a typo, a model this server lacks, '../../etc/passwd') is
    only ever compared with the listed keys; the page says so and keeps the default model.
    """
    raw = incoming(MODEL)
    if raw is None:
        return None
    key = parse_model_key(raw, known)
    if key is None:
        st.toast("The link's model is not available here; showing the default model.", icon="⚠️")
        st.info("The link named a model this server does not have, so the default model is shown.")
    return key


def linked_click(points: np.ndarray) -> Click | None:
    """The test digit or place a newly opened link clicks in the plane of `points` (N, 2).

    A row is clamped to the test set, a place into the plotted extent.
    """
    if (row := parse_row(incoming(DIGIT), len(points))) is not None:
        x, y = points[row]
        return Click("digit", row, float(x), float(y))
    x_range, y_range = plane.plane_extent(points)
    if (place := parse_point(incoming(PLACE), x_range, y_range)) is not None:
        return Click("plane", None, *place)
    return None


def publish_click(click: Click | None) -> None:
    """Put the current click into the URL: its test digit's row, or the exact place decoded."""
    digit = click is not None and click.kind == "digit"
    publish(DIGIT, str(click.row) if digit else None)
    publish(PLACE, format_point(click.x, click.y) if click is not None and not digit else None)


def publish_model(name: str, key: str | None) -> None:
    """Write the model `key` into the URL parameter `name`: its zoo name, else its key."""
    publish(name, None if key is None else model_link_value(key))


def adopt_models(key: str, known: Collection[str], most: int) -> None:
    """Before a multiselect over model keys: take a new link's comma-separated names or keys.

    Only listed models are kept, at most `most` of them; the link's order is kept.
    """
    if (keys := parse_model_keys(incoming(key), known, most)) is not None:
        st.session_state[key] = keys


def publish_models(key: str, keys: Collection[str]) -> None:
    """After that multiselect: its chosen models into the URL, comma-separated (as in
    `publish_model`)."""
    publish(key, ",".join(model_link_value(k) for k in keys) or None)


def adopt_model(key: str, known: Collection[str]) -> None:
    """Before a model picker `key` (not the sidebar's): take a new link's listed model."""
    if (chosen := parse_model_key(incoming(key), known)) is not None:
        st.session_state[key] = chosen


def current_url() -> str:
    """The URL of this view: the browser's address (st.context.url) with every parameter.

    Without a browser (AppTest) the address is unknown and the link starts at its query.
    """
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    for key, value in st.session_state.get(_CLAMPED, {}).items():
        if key not in params and st.session_state.get(key) == value:  # still the clamped one
            params[key] = [str(value)]
    return view_url(st.context.url or "", params)


@st.dialog("Link to this view")
def _show_link(url: str) -> None:
    st.code(url, language=None, wrap_lines=True)
    st.caption(
        "Copy it with the button at its right. Whoever opens it sees this page with this model "
        "and the choices made here (the clicked digit or place, seeds, grid sizes, …)."
    )


def link_button() -> None:
    """A sidebar button that shows the link to the current view, ready to copy.

    A button, not a text always on show: its click reruns the whole app, so the link includes
    choices made in fragments (the Latent Explorer's clicks) since the sidebar was last drawn.
    """
    if st.button("Link to this view", icon=":material/link:", key="link_to_view", width="stretch"):
        _show_link(current_url())
