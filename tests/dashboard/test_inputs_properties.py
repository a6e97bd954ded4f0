"""Any text from a link, any selection from a browser: a value in bounds or None, never a crash.

Hypothesis feeds every parser of `dashboard.inputs` arbitrary text (huge, unicode, the many
spellings of NaN, infinity and negative zero, blanks) at the bounds the pages really use.
"""

from __future__ import annotations

import math
import urllib.parse

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.inputs import (
    MODEL_KEY,
    Click,
    click_from_selection,
    format_point,
    model_link_value,
    parse_float,
    parse_indices,
    parse_int,
    parse_model_key,
    parse_model_keys,
    parse_point,
    parse_row,
    view_url,
    zoo_names,
)
from dashboard.settings import DEMO_LIMITS, LAPTOP_LIMITS
from jlml_core.inference.plane import plane_extent
from jlml_core.store.zoo import ZOO

# Few examples, no deadline, no example database in the worktree: a few seconds per run.
PROPERTY = settings(max_examples=200, deadline=None, database=None)
TEST_SET_SIZE = 10_000  # MNIST's test set: rows and typed indices run over it
KNOWN = ("8e67622f7f41", "0a3c73492859", "5f0d2a9e11b7")  # the first is the zoo's vae-cnn-z2

# The number widgets' ranges as the pages pass them to links.clamp_param, in both bound sets,
# and the wide range clamp_param uses to tell a clamped number from an unclamped one.
INT_BOUNDS = sorted(
    {(0, 2**31 - 1), (0, TEST_SET_SIZE - 1), (-(2**62), 2**62)}
    | {
        pair
        for bound in (LAPTOP_LIMITS, DEMO_LIMITS)
        for pair in (
            (2, bound.prior_grid),
            (3, bound.interpolation_steps),
            (5, bound.plane_grid),
            (3, bound.mosaic_grid),
            (8, bound.manifold_digits),
            (1, bound.shown_digits),
            (500, bound.zoo_points),
        )
    }
)
FLOAT_BOUNDS = [(0.0, 2.0), (0.0, 0.5), (-1e300, 1e300)]

BLANKS = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", "\xa0", "\u2003", "\x00"])
SPELLINGS = st.sampled_from([
    "nan", "NaN", "-nan", "+NAN", "inf", "-inf", "+inf", "Infinity", "-Infinity", "infinity",
    "1e999", "-1e999", "1e308", "-0", "-0.0", "+0", "0", "-0e0", "0x10", "0b1", "1e3", "7.5",
    "1_000", "1__0", "٣", "１２", "Ⅻ", "²", "2**31", "1" * 18, "9" * 19, "-" + "9" * 18,
    "9" * 5000, "0" * 4400 + "1", ".", "-", "+", "e", "", ",", "1,", ",1", "1,2,3",
])  # fmt: skip
NUMBERS = st.one_of(
    st.integers().map(str),
    st.integers(-100, 20_000).map(str),
    st.floats().map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
    SPELLINGS,
)
PADDED_NUMBERS = st.tuples(BLANKS, NUMBERS, BLANKS).map("".join)
HUGE = st.builds(
    lambda piece, times: piece * times, st.text(min_size=1, max_size=4), st.integers(1, 50_000)
)
# int() refuses more than 4300 digits (sys.get_int_max_str_digits) with a programmer's message.
LONG_DIGITS = st.builds(
    lambda sign, digit, times, last: sign + digit * times + last,
    st.sampled_from(["", "-", "+"]), st.sampled_from("0123456789٠"), st.integers(1, 6000),
    st.sampled_from(["", "1", "7"]),
)  # fmt: skip
LINK_TEXT = st.one_of(
    st.none(), st.text(), HUGE, LONG_DIGITS, SPELLINGS, PADDED_NUMBERS,
    st.tuples(PADDED_NUMBERS, PADDED_NUMBERS).map(",".join),
)  # fmt: skip
KEYS = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(KNOWN).map(str.upper),
    st.sampled_from(KNOWN).map(lambda key: key[:-1]),
    st.tuples(BLANKS, st.sampled_from(KNOWN), BLANKS).map("".join),
    st.from_regex(MODEL_KEY, fullmatch=True),
    st.text(max_size=14),
)
ZOO_NAMES = st.sampled_from(list(ZOO))  # vae-cnn-z2 is listed, the others are not
NAMES = st.one_of(
    ZOO_NAMES,
    ZOO_NAMES.map(str.upper),
    ZOO_NAMES.map(lambda name: name[:-1]),
    ZOO_NAMES.map(lambda name: name + "-"),
    st.tuples(BLANKS, ZOO_NAMES, BLANKS).map("".join),
)
KEYS = st.one_of(KEYS, NAMES)
KEY_LISTS = st.one_of(st.lists(KEYS, max_size=12).map(",".join), LINK_TEXT)


def _finite(value: float) -> bool:
    return isinstance(value, float) and math.isfinite(value)


@PROPERTY
@given(LINK_TEXT, st.sampled_from(INT_BOUNDS))
@example("9" * 5000, (0, 100))
@example("-0", (0, 100))
def test_any_text_is_a_whole_number_in_range_or_none(text, bounds) -> None:
    low, high = bounds
    number = parse_int(text, low, high)
    assert number is None or (type(number) is int and low <= number <= high)


@PROPERTY
@given(LINK_TEXT, st.sampled_from(FLOAT_BOUNDS))
@example("-0", (0.0, 0.5))
@example("nan", (0.0, 2.0))
@example("1e999", (-1e300, 1e300))
def test_any_text_is_a_finite_number_in_range_or_none(text, bounds) -> None:
    low, high = bounds
    number = parse_float(text, low, high)
    assert number is None or (_finite(number) and low <= number <= high)


@PROPERTY
@given(LINK_TEXT, st.sampled_from([TEST_SET_SIZE, 1, 0, 7]))
def test_any_text_is_a_row_of_the_set_or_none(text, size) -> None:
    row = parse_row(text, size)
    assert row is None or (type(row) is int and 0 <= row < size)


POINT_CLOUDS = st.lists(
    st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)),
    max_size=20,
).map(lambda points: np.array(points, np.float64).reshape(-1, 2))


@PROPERTY
@given(LINK_TEXT, POINT_CLOUDS)
def test_any_text_is_a_place_in_the_plotted_plane_or_none(text, points) -> None:
    x_range, y_range = plane_extent(points)  # the extent links.linked_click clamps into
    place = parse_point(text, x_range, y_range)
    if place is not None:
        x, y = place
        assert _finite(x) and x_range[0] <= x <= x_range[1]
        assert _finite(y) and y_range[0] <= y <= y_range[1]


@PROPERTY
@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
def test_a_place_written_into_a_link_reads_back_as_the_same_floats(x, y) -> None:
    assert parse_point(format_point(x, y), (-math.inf, math.inf), (-math.inf, math.inf)) == (x, y)


@PROPERTY
@given(KEYS)
def test_any_text_is_a_listed_model_key_or_none(text) -> None:
    key = parse_model_key(text, KNOWN)
    assert key is None or key in KNOWN
    if key is not None:  # the text named it: its key, or its zoo name
        assert text.strip() in {key, model_link_value(key)}


@PROPERTY
@given(
    st.one_of(st.sampled_from(list(zoo_names().values())), st.from_regex(MODEL_KEY, fullmatch=True))
)
def test_the_model_a_link_writes_reads_back_as_the_same_model(key) -> None:
    written = model_link_value(key)
    assert written == key or zoo_names()[written] == key  # a zoo model goes by its name
    assert parse_model_key(written, {key}) == key


@PROPERTY
@given(KEY_LISTS, st.sampled_from([LAPTOP_LIMITS.compared_models, DEMO_LIMITS.compared_models]))
@example(" 8e67622f7f41,8e67622f7f41 ,0a3c73492859", 3)
def test_any_text_is_a_short_list_of_distinct_listed_keys_or_none(text, most) -> None:
    keys = parse_model_keys(text, KNOWN, most)
    if keys is not None:
        assert 1 <= len(keys) <= most
        assert len(set(keys)) == len(keys) and set(keys) <= set(KNOWN)


INDEX_LISTS = st.lists(
    st.one_of(st.integers(-5, TEST_SET_SIZE + 5).map(str), NUMBERS), max_size=60
).flatmap(lambda tokens: st.sampled_from([", ", ",", " ", "\n", ";"]).map(lambda s: s.join(tokens)))
MESSAGES = ("Type at least one image index", "Not a whole number", "Out of range", "That is ")


@PROPERTY
@given(
    st.one_of(st.text(), HUGE, LONG_DIGITS, INDEX_LISTS),
    st.sampled_from([LAPTOP_LIMITS.typed_indices, DEMO_LIMITS.typed_indices]),
)
@example("9" * 5000, 50)
@example("0" * 4400 + "7", 50)
def test_any_typed_text_is_indices_in_range_or_a_one_line_message(text, limit) -> None:
    try:
        indices = parse_indices(text, TEST_SET_SIZE, limit)
    except ValueError as error:
        message = str(error)
        assert message.startswith(MESSAGES), message
        assert "\n" not in message
        return
    assert 1 <= len(indices) <= limit
    assert all(type(index) is int and 0 <= index < TEST_SET_SIZE for index in indices)


JUNK_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["nan", "inf", "-1", "1e999", "12", "9" * 5000]),
)
JSON_LIKE = st.recursive(
    JUNK_VALUES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
POINTS = st.fixed_dictionaries(
    {},
    optional={
        "x": st.one_of(JUNK_VALUES, st.floats(-10, 10)),
        "y": st.one_of(JUNK_VALUES, st.floats(-10, 10)),
        "customdata": st.one_of(JSON_LIKE, st.integers(0, TEST_SET_SIZE - 1)),
        "curve_number": JUNK_VALUES,
    },
)
SELECTIONS = st.one_of(
    JSON_LIKE,
    st.fixed_dictionaries({"points": st.one_of(st.lists(st.one_of(POINTS, JSON_LIKE)), JSON_LIKE)}),
)


@PROPERTY
@given(SELECTIONS)
@example([1])
@example({"points": 5})
@example({"points": [{"x": 10**400, "y": 1}]})
@example({"points": [{"x": 1, "y": 1, "customdata": [math.inf]}]})
@example({"points": [{"x": 1, "y": 1, "customdata": -3}]})
def test_any_selection_is_a_click_in_the_plane_or_none(selection) -> None:
    click = click_from_selection(selection)
    if click is None:
        return
    assert isinstance(click, Click)
    assert _finite(click.x) and _finite(click.y)
    if click.kind == "digit":
        assert type(click.row) is int and click.row >= 0
    else:
        assert click.kind == "plane" and click.row is None


@PROPERTY
@given(st.dictionaries(st.text(min_size=1), st.one_of(st.text(), st.lists(st.text(), max_size=3))))
def test_a_view_url_carries_every_parameter_unchanged(params) -> None:
    url = view_url("http://host/page", params)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    expected = {k: [v] if isinstance(v, str) else v for k, v in params.items()}
    assert query == {k: v for k, v in expected.items() if v}
