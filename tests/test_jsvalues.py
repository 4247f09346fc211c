"""flowrt.jsvalues: JavaScript's view of Python values."""

from __future__ import annotations

import datetime
import re

import pytest

from flowrt.jsvalues import js_number_text, js_type_name, js_typeof


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
