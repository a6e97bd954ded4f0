"""Untrusted values read back: junk is ignored, numbers clamped, only listed models accepted
(by zoo name or key)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dashboard import inputs
from dashboard.inputs import (
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
from jlml_core.store.zoo import DEFAULT_MODEL, ZOO

KNOWN = {"8e67622f7f41", "0a3c73492859"}  # the default zoo model (vae-cnn-z2) and a model of ours


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), (" 7 ", 7), ("+3", 3), ("-5", 0), ("99999", 100), ("100", 100), ("0", 0)],
)
def test_whole_numbers_are_clamped_into_range(text: str, expected: int) -> None:
    assert parse_int(text, 0, 100) == expected


@pytest.mark.parametrize(
    "junk", [None, "", "seven", "7.5", "0x10", "1e3", "7; rm -rf /", "1" * 40, "٣", "7 8"]
)
def test_junk_is_no_whole_number(junk: str | None) -> None:
    assert parse_int(junk, 0, 100) is None


@pytest.mark.parametrize(
    ("text", "expected"), [("0.5", 0.5), ("-1", 0.0), ("1e9", 2.0), ("2", 2.0), ("1.25", 1.25)]
)
def test_numbers_are_clamped_into_range(text: str, expected: float) -> None:
    assert parse_float(text, 0.0, 2.0) == expected


@pytest.mark.parametrize("junk", [None, "", "nan", "inf", "-inf", "1e999", "half", "0,5"])
def test_junk_is_no_number(junk: str | None) -> None:
    assert parse_float(junk, 0.0, 2.0) is None


def test_a_point_reads_back_exactly_and_is_clamped_into_the_plane() -> None:
    x, y = 0.1 + 0.2, -1 / 3  # floats whose short decimal forms are not exact
    assert parse_point(format_point(x, y), (-5, 5), (-5, 5)) == (x, y)
    assert parse_point("9,-9", (-5, 5), (-4, 4)) == (5, -4)
    for junk in (None, "", "1", "1,2,3", "a,b", "nan,1", "1;2"):
        assert parse_point(junk, (-5, 5), (-5, 5)) is None


@pytest.mark.parametrize(
    "value",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "checkpoints/mnist-vae-cnn_shallow-z2-bce-8e67622f7f41",
        "E0CE167B8CDE",  # keys are lower case
        "e0ce167b8cd",  # one digit short
        "8e67622f7f41f",
        "ffffffffffff",  # well-formed but not listed
        "os.system",
        "",
        None,
        "vae-cnn-z16",  # a zoo name, but that model is not listed
        "VAE-CNN-Z2",  # names are lower case, like keys
        "vae-cnn-z2/../../etc",
        "__class__",
        "get",
    ],
)
def test_a_model_is_only_ever_a_listed_key(value: str | None) -> None:
    assert parse_model_key(value, KNOWN) is None


def test_a_listed_key_is_accepted() -> None:
    assert parse_model_key("8e67622f7f41", KNOWN) == "8e67622f7f41"
    assert parse_model_key(" 8e67622f7f41 ", KNOWN) == "8e67622f7f41"


def test_a_listed_zoo_model_is_accepted_by_its_name() -> None:
    assert parse_model_key("vae-cnn-z2", KNOWN) == "8e67622f7f41"
    assert parse_model_key(" vae-cnn-z2 ", KNOWN) == "8e67622f7f41"
    z16 = ZOO["vae-cnn-z16"].key()
    assert parse_model_key("vae-cnn-z16", {*KNOWN, z16}) == z16
    # Other names (a test's own table) replace the zoo's.
    assert parse_model_key("mine", KNOWN, {"mine": "0a3c73492859"}) == "0a3c73492859"
    assert parse_model_key("vae-cnn-z2", KNOWN, {"mine": "0a3c73492859"}) is None


def test_zoo_names_are_the_zoo_s_and_each_names_one_model() -> None:
    names = zoo_names()
    assert list(names) == list(ZOO) and names[DEFAULT_MODEL] == "8e67622f7f41"
    assert len(set(names.values())) == len(names)  # two names for one model: links ambiguous
    assert names == {name: config.key() for name, config in ZOO.items()}


def test_a_link_writes_the_zoo_name_else_the_key_and_reads_it_back() -> None:
    assert model_link_value("8e67622f7f41") == "vae-cnn-z2"
    assert model_link_value("0a3c73492859") == "0a3c73492859"  # not in the zoo: its key
    for key in [*zoo_names().values(), "0a3c73492859"]:
        assert parse_model_key(model_link_value(key), {key}) == key


def test_view_url_encodes_every_parameter_and_repeats_lists() -> None:
    url = view_url("http://host/latent_explorer", {"model": "abc", "at": "1.5,-2", "p": ["1", "2"]})
    assert url == "http://host/latent_explorer?model=abc&at=1.5%2C-2&p=1&p=2"
    assert view_url("http://host/", {}) == "http://host/"
    assert view_url("", {"gen_seed": "5"}) == "?gen_seed=5"


def test_a_row_is_clamped_into_the_set_and_an_empty_set_has_none() -> None:
    assert parse_row("42", 10_000) == 42
    assert parse_row("123456", 10_000) == 9_999
    assert parse_row("-3", 10_000) == 0
    assert parse_row("7", 0) is None
    assert parse_row("seven", 10) is None


def test_a_list_of_keys_keeps_listed_ones_once_in_order_up_to_the_most() -> None:
    first, second = "8e67622f7f41", "0a3c73492859"
    assert parse_model_keys(f"{second},{first}", KNOWN, 6) == [second, first]
    assert parse_model_keys(f"{first},../../etc/passwd,{first},{second}", KNOWN, 6) == [
        first,
        second,
    ]
    assert parse_model_keys(f"{first},{second}", KNOWN, 1) == [first]
    # Blanks around a key are dropped, so the page's multiselect gets a listed key.
    assert parse_model_keys(f" {first}, {first} ,{second}", KNOWN, 6) == [first, second]
    # Zoo names and keys mix; a name and the key of the same model count once.
    assert parse_model_keys(f"{second},vae-cnn-z2,{first}", KNOWN, 6) == [second, first]
    assert parse_model_keys("vae-cnn-z16,vae-cnn-z2", KNOWN, 6) == [first]
    for junk in (None, "", ",", "ffffffffffff", "x" * 10_000):
        assert parse_model_keys(junk, KNOWN, 6) is None


def test_huge_typed_numbers_are_out_of_range_not_a_programmers_error() -> None:
    with pytest.raises(ValueError, match="^Out of range: 9{30}"):
        parse_indices("1, " + "9" * 5000, 100)
    assert parse_indices("0" * 5000 + "7", 100) == [7]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ([{"x": 1, "y": 2}], None),  # not a mapping
        ({"points": 5}, None),
        ({"points": "xy"}, None),
        ({"points": [{"x": 10**400, "y": 1}]}, None),  # no float holds it
        ({"points": [{"x": 1, "y": 2, "customdata": [float("inf")]}]}, Click("plane", None, 1, 2)),
        ({"points": [{"x": 1, "y": 2, "customdata": -3}]}, Click("plane", None, 1, 2)),
        ({"points": [{"x": 1, "y": 2, "customdata": "12"}]}, Click("digit", 12, 1, 2)),
    ],
)
def test_an_odd_selection_is_no_click_or_a_place(selection, expected) -> None:
    assert click_from_selection(selection) == expected


def test_inputs_never_imports_streamlit() -> None:
    tree = ast.parse(Path(inputs.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"streamlit", "dashboard"}}


def _point(x: float, y: float, **extra) -> dict:
    return {"curve_number": 0, "point_number": 3, "point_index": 3, "x": x, "y": y, **extra}


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (None, None),
        ({}, None),
        ({"points": [], "point_indices": [], "box": [], "lasso": []}, None),
        ({"points": [_point(0.5, -1.25)]}, Click("plane", None, 0.5, -1.25)),
        ({"points": [_point(1.0, 2.0, customdata=4711)]}, Click("digit", 4711, 1.0, 2.0)),
        ({"points": [_point(1.0, 2.0, customdata=[17])]}, Click("digit", 17, 1.0, 2.0)),
        ({"points": [_point(1.0, 2.0, customdata=[])]}, Click("plane", None, 1.0, 2.0)),
        # shift-click: the last point listed wins
        (
            {"points": [_point(0.0, 0.0, customdata=1), _point(3.0, 4.0)]},
            Click("plane", None, 3.0, 4.0),
        ),
        # unreadable points are skipped, not raised
        ({"points": [_point(1.0, 2.0, customdata=5), {"x": None}]}, Click("digit", 5, 1.0, 2.0)),
        ({"points": [{"x": "nan", "y": 1.0}]}, None),
        ({"points": [_point(1.0, 2.0, customdata="abc")]}, Click("plane", None, 1.0, 2.0)),
    ],
)
def test_click_from_selection(selection, expected) -> None:
    assert click_from_selection(selection) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0, 7, 42", [0, 7, 42]), ("3 4   5", [3, 4, 5]), (" 9,", [9]), ("1,1", [1, 1])],
)
def test_parse_indices_accepts_lists(text: str, expected: list[int]) -> None:
    assert parse_indices(text, 100) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one"),
        ("1, two", "Not a whole number: two"),
        ("1.5", "Not a whole number"),
        ("5, 100", "Out of range: 100"),
        ("-1", "Out of range: -1"),
        (", ".join(["1"] * 51), "at most"),
    ],
)
def test_parse_indices_rejects_bad_input_with_a_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_indices(text, 100)
