"""Untrusted values: what a shared link, a plot selection or a typed list of indices hands us.

Three kinds of value reach the pages from outside the code:

* a link's query parameters (``?model=…&at=1.5,-2``), typed by strangers, cut off by chat
  programs or made up on purpose;
* a Plotly selection, the dict the browser sends back when a point is clicked;
* a list of test-image indices typed into a text box (which a link can fill in, too).

The contract: every parser here takes any value of its declared type and returns either a
value inside the stated bounds or choices, or None for junk, so the page keeps its default;
it never raises. The one exception is `parse_indices`, whose user sits in front of the text
box: it raises ValueError with a one-line message saying what to fix. A model is accepted only
as the zoo name or the key of a listed model, compared as a string, so nothing from outside
reaches a file path or an import. No Streamlit here (a test checks): `dashboard/links.py`
applies these parsers to `st.query_params`, and the property tests feed them arbitrary text.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from jlml_core.store.zoo import zoo_keys, zoo_name

MODEL_KEY = re.compile(r"[0-9a-f]{12}")  # TrainConfig.key(): 12 lower-case hex digits
MAX_TEXT = 64  # longer values are junk: no single choice of ours needs more characters
# A whole number of more digits is out of every range here, and int() refuses strings of
# more than sys.get_int_max_str_digits() digits with a message meant for programmers.
MAX_DIGITS = 18

# --- Numbers and places from a link ---------------------------------------------------------


def _text(value: str | None) -> str | None:
    """A link's value stripped of surrounding blanks; None when it is missing or junk."""
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
    if not text or not re.fullmatch(rf"[+-]?[0-9]{{1,{MAX_DIGITS}}}", text):
        return None
    return min(max(int(text), low), high)


def parse_row(value: str | None, size: int) -> int | None:
    """A row of a set of `size` items (a test digit), clamped into 0 .. size - 1, or None."""
    return parse_int(value, 0, size - 1) if size > 0 else None


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


# --- Models from a link ---------------------------------------------------------------------


def zoo_names() -> dict[str, str]:
    """Each zoo model's name (as in `jlml_core.store.zoo.ZOO`) -> its config key.

    A link names a zoo model by this name (``?model=vae-cnn-z16``), which a teacher can read
    and edit; a model outside the zoo (one trained here) has no name and goes by its key. The
    key is the config's hash, so the name means the same model on every server.
    """
    return zoo_keys()


def model_link_value(key: str) -> str:
    """What a link writes for the model `key`: its zoo name, else the key itself."""
    return zoo_name(key) or key


def parse_model_key(
    value: str | None, known: Collection[str], names: Mapping[str, str] | None = None
) -> str | None:
    """The key of the listed model that `value` names, else None ('../../etc/passwd' is unknown).

    Args:
        value: a zoo name ('vae-cnn-z2') or a config key ('8e67622f7f41'), as a link has it.
        known: the keys of the models this server lists.
        names: name -> key of the models a link may name; the zoo's (`zoo_names`) when None.
    """
    text = _text(value)
    if not text:
        return None
    key = (zoo_names() if names is None else names).get(text, text)
    if not MODEL_KEY.fullmatch(key) or key not in known:
        return None
    return key


def parse_model_keys(
    value: str | None, known: Collection[str], most: int, names: Mapping[str, str] | None = None
) -> list[str] | None:
    """Comma-separated zoo names or keys: the listed models' keys, once each, at most `most`,
    in the link's order.

    None when no listed model is among them. Only the first `most` values' worth of text is
    read, so a huge value costs nothing; `names` as for `parse_model_key`.
    """
    if value is None:
        return None
    pieces = value[: (MAX_TEXT + 1) * most].split(",")  # a longer value is junk anyway
    keys = [parse_model_key(piece, known, names) for piece in pieces]
    listed = [key for key in dict.fromkeys(keys) if key is not None][:most]
    return listed or None


# --- Writing a link -------------------------------------------------------------------------


def format_point(x: float, y: float) -> str:
    """'x,y' in the shortest text that reads back as exactly the same floats (repr round-trips),
    so a link decodes the very code a click decoded."""
    return f"{float(x)!r},{float(y)!r}"


def view_url(base: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """`base` (the page's URL without a query) with `params` as its query string.

    Repeated parameters (a multiselect's choices) are given as a list of strings.
    """
    query = urllib.parse.urlencode(
        [(name, v) for name, value in params.items()
         for v in ([value] if isinstance(value, str) else value)]
    )  # fmt: skip
    return f"{base}?{query}" if query else base


# --- Typed indices --------------------------------------------------------------------------


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
    numbers = [_whole_number(token) for token in tokens]
    outside = [
        token if number is None else str(number)
        for token, number in zip(tokens, numbers, strict=True)
        if number is None or not 0 <= number < size
    ]
    if outside:
        shown = ", ".join(outside[:5])
        raise ValueError(f"Out of range: {shown}. The test set has indices 0 to {size - 1}.")
    if len(numbers) > limit:
        raise ValueError(f"That is {len(numbers)} indices; show at most {limit} at a time.")
    return [number for number in numbers if number is not None]


def _whole_number(token: str) -> int | None:
    """A token of digits (and a sign) as an int; None when it has too many digits to be an index."""
    digits = token.lstrip("+-").lstrip("0") or "0"
    if len(digits) > MAX_DIGITS:
        return None
    return -int(digits) if token.startswith("-") else int(digits)


# --- Plot selections ------------------------------------------------------------------------

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
    shift-click), the last one listed wins. Anything unreadable gives None; a digit's row is
    a whole number >= 0, else the point counts as a place.
    """
    points = selection.get("points") if isinstance(selection, Mapping) else None
    if not isinstance(points, Sequence) or isinstance(points, str | bytes):
        return None
    for point in reversed(points):
        if not isinstance(point, Mapping):
            continue
        try:
            x, y = float(point["x"]), float(point["y"])
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        row = _row(point.get("customdata"))
        return Click("plane", None, x, y) if row is None else Click("digit", row, x, y)
    return None


def _row(customdata: Any) -> int | None:
    """A point's test-set row from its customdata (a number or a one-item list), else None."""
    if isinstance(customdata, Sequence) and not isinstance(customdata, str):
        customdata = customdata[0] if len(customdata) else None
    try:
        row = int(customdata)
    except (TypeError, ValueError, OverflowError):
        return None
    return row if row >= 0 else None
