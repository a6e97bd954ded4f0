"""Shareable links: a view's choices read back from URL query parameters.

A link is untrusted input, typed by strangers or cut off by chat programs. Every value is parsed
strictly (junk gives None, so the page keeps its default), numbers are clamped into their
widget's range, and a model is accepted only as the key of a listed model, compared as a string:
nothing from a link reaches a file path or an import. No Streamlit here; `dashboard/links.py`
applies these to `st.query_params`.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

MODEL_KEY = re.compile(r"[0-9a-f]{12}")  # TrainConfig.key(): 12 lower-case hex digits
MAX_TEXT = 64  # longer values are junk: no choice of ours needs more characters


def _text(value: str | None) -> str | None:
    if value is None or len(value) > MAX_TEXT or not value.isascii():
        return None
    return value.strip()


def parse_float(value: str | None, low: float, high: float) -> float | None:
    """A finite number clamped into [low, high], or None for junk ('abc', 'nan', '1e999')."""
    text = _text(value)
    try:
        number = float(text) if text else math.nan
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return min(max(number, low), high)


def parse_int(value: str | None, low: int, high: int) -> int | None:
    """A whole number clamped into [low, high], or None for junk ('7.5', '0x10', '')."""
    text = _text(value)
    if not text or not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
        return None
    return min(max(int(text), low), high)


def parse_point(
    value: str | None, x_range: Sequence[float], y_range: Sequence[float]
) -> tuple[float, float] | None:
    """A position 'x,y' clamped into the plane's extent, or None unless it is two numbers."""
    text = _text(value)
    parts = text.split(",") if text else []
    if len(parts) != 2:
        return None
    x, y = parse_float(parts[0], *x_range), parse_float(parts[1], *y_range)
    return None if x is None or y is None else (x, y)


def format_point(x: float, y: float) -> str:
    """'x,y' in the shortest text that reads back as exactly the same floats (repr round-trips),
    so a link decodes the very code a click decoded."""
    return f"{float(x)!r},{float(y)!r}"


def parse_model_key(value: str | None, known: Collection[str]) -> str | None:
    """The model key if it names a listed model, else None ('../../etc/passwd' is just unknown)."""
    text = _text(value)
    if not text or not MODEL_KEY.fullmatch(text) or text not in known:
        return None
    return text


def view_url(base: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """`base` (the page's URL without a query) with `params` as its query string.

    Repeated parameters (a multiselect's choices) are given as a list of strings.
    """
    query = urllib.parse.urlencode(
        [(name, v) for name, value in params.items()
         for v in ([value] if isinstance(value, str) else value)]
    )  # fmt: skip
    return f"{base}?{query}" if query else base


ClickKind = Literal["digit", "plane"]


class Click(NamedTuple):
    """What a click chose: a test digit (`row` is its test-set index) or a place in the plane.

    `x`, `y` are plane coordinates (projected for a latent space of more than 2 dimensions).
    """

    kind: ClickKind
    row: int | None
    x: float
    y: float


def click_from_selection(selection: Mapping[str, Any] | None) -> Click | None:
    """Read a Streamlit Plotly selection (`event.selection` or its dict) as a `Click`.

    Digit points carry their test-set row in `customdata` (a point's index counts within
    its own trace only); plane points carry none. With several points selected (a
    shift-click), the last one listed wins. Anything unreadable gives None.
    """
    if not selection:
        return None
    points = selection.get("points") or []
    for point in reversed(points):
        try:
            x, y = float(point["x"]), float(point["y"])
        except (KeyError, TypeError, ValueError):
            continue
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        row = point.get("customdata")
        if isinstance(row, Sequence) and not isinstance(row, str):
            row = row[0] if len(row) else None
        if row is None:
            return Click("plane", None, x, y)
        try:
            return Click("digit", int(row), x, y)
        except (TypeError, ValueError):
            return Click("plane", None, x, y)
    return None


def parse_indices(text: str, size: int, limit: int = 50) -> list[int]:
    """Indices typed by a user ("3, 17, 256" or "3 17 256"), checked against range(size).

    Args:
        text: integers separated by commas and/or spaces.
        size: number of images; valid indices are 0 .. size - 1.
        limit: most indices accepted at once.

    Raises:
        ValueError: with a message saying what is wrong, for anything that is not a list of
            1 to `limit` whole numbers in range.
    """
    tokens = [token for token in re.split(r"[,\s]+", text.strip()) if token]
    if not tokens:
        raise ValueError("Type at least one image index, e.g. 0, 7, 42.")
    bad = [token for token in tokens if not re.fullmatch(r"[+-]?\d+", token)]
    if bad:
        raise ValueError(f"Not a whole number: {', '.join(bad[:5])}. Use e.g. 0, 7, 42.")
    indices = [int(token) for token in tokens]
    outside = [index for index in indices if not 0 <= index < size]
    if outside:
        shown = ", ".join(map(str, outside[:5]))
        raise ValueError(f"Out of range: {shown}. The test set has indices 0 to {size - 1}.")
    if len(indices) > limit:
        raise ValueError(f"That is {len(indices)} indices; show at most {limit} at a time.")
    return indices
