"""The figures' Plotly template, applied without Plotly re-validating it for every figure.

Set by name (``update_layout(template="plotly_white")``), Plotly validates and copies the whole
template on each figure: 10-15 ms, most of a small figure's Python time, and the Model Zoo
builds about fifteen figures on its first open. Plotly takes the process default template as
already validated, so `new_figure` and `new_subplots` make `TEMPLATE` the default for the
construction only. The JSON sent to the browser is the same either way (a test compares it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
# Streamlit builds each session's page in its own thread: one swap of the default at a time,
# so each construction restores what it found.
_LOCK = threading.Lock()


@contextmanager
def _default_template() -> Iterator[None]:
    with _LOCK:
        previous = pio.templates.default
        pio.templates.default = TEMPLATE
        try:
            yield
        finally:
            pio.templates.default = previous


def new_figure(*args: Any, **kwargs: Any) -> go.Figure:
    """`go.Figure(*args, **kwargs)` on `TEMPLATE`."""
    with _default_template():
        return go.Figure(*args, **kwargs)


def new_subplots(**kwargs: Any) -> go.Figure:
    """`plotly.subplots.make_subplots(**kwargs)` on `TEMPLATE`."""
    with _default_template():
        return make_subplots(**kwargs)
