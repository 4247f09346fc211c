"""flowrt.lang.jsvalues: JavaScript's view of Python values."""

from __future__ import annotations

import copy
import datetime
import pickle
import re

import pytest

from flowrt.lang.jsvalues import (
    UNDEFINED,
    ensure_string,
    error_to_string,
    js_join_item,
    js_json_dumps,
    js_number,
    js_number_text,
    js_string,
    js_truthy,
    js_type_name,
    js_typeof,
    loose_eq,
    strict_eq,
)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("", "string"),
        ("abc", "string"),
        (True, "boolean"),
        (False, "boolean"),
        (0, "number"),
        (3, "number"),
        (1.5, "number"),
        (float("nan"), "number"),
        (float("inf"), "number"),
        (None, "object"),  # null
        ({}, "object"),
        ({"a": 1}, "object"),
        ([], "object"),
        ((1, 2), "object"),
        (b"ab", "object"),  # Buffer
        (bytearray(b"ab"), "object"),
        (re.compile("a"), "object"),  # RegExp
        (datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC), "object"),  # Date
        ({1, 2}, "object"),
        (len, "function"),
        (lambda: None, "function"),
    ],
)
def test_js_typeof(value, expected):
    assert js_typeof(value) == expected


def test_js_typeof_never_gives_a_python_type_name():
    class Thing:
        pass

    assert js_typeof(Thing()) == "object"


@pytest.mark.parametrize(
    "value,expected",
    [
        (3, "3"),
        (3.0, "3"),
        (-0.5, "-0.5"),
        (1e21, "1e+21"),
        (1.5e-07, "1.5e-7"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        (True, "true"),
    ],
)
def test_js_number_text(value, expected):
    assert js_number_text(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("s", "string"),
        (True, "boolean"),
        (2, "number"),
        (1.5, "number"),
        ({}, "dict"),
        (b"x", "bytes"),
        (None, "NoneType"),
    ],
)
def test_js_type_name_names_objects_by_class(value, expected):
    assert js_type_name(value) == expected


# ------------------------------------------------ the pieces the Node-recorded table cannot cover


def test_undefined_is_one_falsy_sentinel_that_survives_copies():
    assert not UNDEFINED
    assert repr(UNDEFINED) == "undefined"
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert js_typeof(UNDEFINED) == "undefined"
    assert js_string(UNDEFINED) == "undefined"


def test_error_to_string_of_python_exceptions():
    assert error_to_string(ValueError("big error")) == "Error: big error"
    assert error_to_string(TypeError("x is not a function")) == "TypeError: x is not a function"
    assert error_to_string(ValueError()) == "Error"
    assert error_to_string({"name": "RangeError", "message": "too far"}) == "RangeError: too far"
    assert js_string(ValueError("big error")) == "Error: big error"

    class Named(Exception):
        name = "SystemError"

    assert error_to_string(Named("ENOENT: no such file")) == "SystemError: ENOENT: no such file"


def test_objects_are_compared_by_identity():
    a = {"x": 1}
    assert strict_eq(a, a) and not strict_eq(a, {"x": 1})
    assert loose_eq(a, a) and not loose_eq(a, {"x": 1})
    assert loose_eq([1, 2], "1,2")


def test_truthiness_of_objects():
    assert js_truthy([]) and js_truthy({}) and js_truthy(b"")
    assert not js_truthy(UNDEFINED) and not js_truthy(None) and not js_truthy(float("nan"))


def test_join_item_writes_nothing_for_null_and_undefined():
    assert [js_join_item(v) for v in (None, UNDEFINED, 1.0, [1, None])] == ["", "", "1", "1,"]


def test_a_live_object_is_an_object():
    class Req:
        method = "GET"

    assert js_string(Req()) == "[object Object]"
    assert js_number(Req()) != js_number(Req())  # NaN


@pytest.mark.parametrize(
    "value,expected",
    [
        (b"ab", "ab"),
        (None, "null"),
        ({"a": [1, 1.5e-7]}, '{"a":[1,1.5e-7]}'),
        ([1, None], "[1,null]"),
        ("text", "text"),
        (1e21, "1e+21"),
        (True, "true"),
        (UNDEFINED, "undefined"),
    ],
)
def test_ensure_string_as_node_red_util(value, expected):
    assert ensure_string(value) == expected


@pytest.mark.parametrize(
    "value, text",
    [
        ({"jsonrpc": "2.0", "id": 1}, '{"jsonrpc":"2.0","id":1}'),
        ({"v": "2.0", "n": 2.0}, '{"v":"2.0","n":2}'),
        (["1e-07]", 1e-07], '["1e-07]",1e-7]'),
        ({"s": "x1.0}", "f": [3.0]}, '{"s":"x1.0}","f":[3]}'),
        (1.5e16, "15000000000000000"),
        ({"1": "a", "b": 2}, '{"1":"a","b":2}'),
    ],
)
def test_json_stringify_fast_path_keeps_javascript_text(value, text):
    # Number-like text inside strings must not change the output, whichever path encodes it.
    assert js_json_dumps(value) == text
