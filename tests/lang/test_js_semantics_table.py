"""flowrt.lang.jsvalues against answers recorded from real Node.js (tests/data/js_semantics/table.json).

The table is recorded by tests/data/js_semantics/record.py (one `node -e` run); this test only
reads it, so it runs without Node. Each row is an input value and what Node said String(),
Number(), parseFloat, parseInt, typeof, Boolean(), JSON.stringify, ==, ===, <, <=, >, >= or
Error.toString() give for it.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest

from flowrt.lang.jsregex import js_regex, js_replacer
from flowrt.lang.jsvalues import (
    UNDEFINED,
    error_to_string,
    js_gt,
    js_gte,
    js_json_dumps,
    js_lt,
    js_lte,
    js_number,
    js_number_text,
    js_string,
    js_truthy,
    js_typeof,
    loose_eq,
    parse_float,
    parse_int,
    strict_eq,
)

TABLE = json.loads((Path(__file__).parents[1] / "data" / "js_semantics" / "table.json").read_text("utf-8"))
_MAX_SAFE = 2**53
_ERROR_CLASSES = {
    "Error": Exception,
    "TypeError": TypeError,
    "RangeError": RecursionError,
    "SyntaxError": SyntaxError,
}


def decode(v: Any) -> Any:
    """A recorded input as flowrt holds the JavaScript value (see record.py for the tags)."""
    if isinstance(v, list):
        return [decode(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if -_MAX_SAFE <= v <= _MAX_SAFE else float(v)  # JavaScript holds it as a double
    if isinstance(v, float):
        return v
    tag = v.get("$")
    if tag is None:
        return {k: decode(x) for k, x in v.items()}
    simple = {
        "NaN": math.nan,
        "Infinity": math.inf,
        "-Infinity": -math.inf,
        "-0": -0.0,
        "undefined": UNDEFINED,
    }
    if tag in simple:
        return simple[tag]
    if tag == "buffer":
        return bytes.fromhex(v["hex"])
    if tag == "date":
        return datetime.datetime.fromisoformat(v["iso"].replace("Z", "+00:00"))
    if tag == "array":
        return [decode(x) for x in v["items"]]
    if tag == "object":
        return {k: decode(x) for k, x in v["entries"]}
    if tag == "error":
        cls = _ERROR_CLASSES[v["ctor"]]
        err = cls(v["message"]) if "message" in v else cls()
        if "name" in v:
            err.name = v["name"]
        return err
    raise AssertionError(f"unknown tag {tag!r}")


def assert_number(actual: Any, expected: Any, what: str) -> None:
    assert isinstance(actual, (int, float)) and not isinstance(actual, bool), (
        f"{what}: {actual!r} is not a number"
    )
    if isinstance(expected, dict):
        tag = expected["$"]
        if tag == "NaN":
            assert math.isnan(actual), f"{what}: {actual!r}, Node says NaN"
            return
        if tag == "-0":
            assert actual == 0 and math.copysign(1, actual) < 0, f"{what}: {actual!r}, Node says -0"
            return
    expected = decode(expected)  # a recorded integer beyond 2**53 is a double in JavaScript
    assert actual == expected, f"{what}: {actual!r}, Node says {expected!r}"
    if actual == 0:
        assert math.copysign(1, actual) > 0, f"{what}: {actual!r}, Node says 0 (not -0)"


def _id(raw: Any) -> str:
    text = json.dumps(raw, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


UNARY = TABLE["unary"]


def test_the_table_is_big_enough():
    sizes = {k: len(TABLE[k]) for k in ("unary", "radix", "compare", "errors", "json")}
    assert sum(sizes.values()) > 1000, sizes


@pytest.mark.parametrize("row", UNARY, ids=[_id(r["input"]) for r in UNARY])
def test_string(row):
    assert js_string(decode(row["input"])) == row["String"]


@pytest.mark.parametrize("row", UNARY, ids=[_id(r["input"]) for r in UNARY])
def test_number(row):
    assert_number(js_number(decode(row["input"])), row["Number"], "Number")


@pytest.mark.parametrize("row", UNARY, ids=[_id(r["input"]) for r in UNARY])
def test_parse_float(row):
    assert_number(parse_float(decode(row["input"])), row["parseFloat"], "parseFloat")


@pytest.mark.parametrize("row", UNARY, ids=[_id(r["input"]) for r in UNARY])
def test_parse_int(row):
    assert_number(parse_int(decode(row["input"])), row["parseInt"], "parseInt")


@pytest.mark.parametrize("row", UNARY, ids=[_id(r["input"]) for r in UNARY])
def test_typeof_and_truthiness(row):
    value = decode(row["input"])
    assert js_typeof(value) == row["typeof"]
    assert js_truthy(value) is row["Boolean"]


@pytest.mark.parametrize("row", UNARY, ids=[_id(r["input"]) for r in UNARY])
def test_number_text(row):
    value = decode(row["input"])
    if row["typeof"] == "number":
        assert js_number_text(value) == row["String"]


@pytest.mark.parametrize("row", UNARY + TABLE["json"], ids=[_id(r["input"]) for r in UNARY + TABLE["json"]])
def test_json_stringify(row):
    value = decode(row["input"])
    expected = "undefined" if row["JSON"] == {"$": "undefined"} else row["JSON"]
    expected2 = "undefined" if row["JSON2"] == {"$": "undefined"} else row["JSON2"]
    assert js_json_dumps(value) == expected
    assert js_json_dumps(value, 2) == expected2


@pytest.mark.parametrize("row", TABLE["radix"], ids=[_id([r["input"], r["radix"]]) for r in TABLE["radix"]])
def test_parse_int_with_radix(row):
    assert_number(parse_int(decode(row["input"]), decode(row["radix"])), row["parseInt"], "parseInt")


_OPERATORS = {"==": loose_eq, "===": strict_eq, "<": js_lt, "<=": js_lte, ">": js_gt, ">=": js_gte}


@pytest.mark.parametrize("row", TABLE["compare"], ids=[_id([r["a"], r["b"]]) for r in TABLE["compare"]])
def test_comparisons(row):
    a, b = decode(row["a"]), decode(row["b"])
    got = {op: fn(a, b) for op, fn in _OPERATORS.items()}
    assert got == {op: row[op] for op in _OPERATORS}


@pytest.mark.parametrize("row", TABLE["errors"], ids=[_id(r) for r in TABLE["errors"]])
def test_error_text(row):
    err = decode({"$": "error", **{k: row[k] for k in ("ctor", "message", "name") if k in row}})
    assert error_to_string(err) == row["toString"]
    assert js_string(err) == row["String"]
    as_object = {"name": row.get("name", row["ctor"]), "message": row.get("message", "")}
    assert error_to_string(as_object) == row["toString"]


@pytest.mark.parametrize("row", TABLE["regex"], ids=[f"/{r['pattern']}/{r['flags']}" for r in TABLE["regex"]])
def test_regex_exec_and_replace(row):
    pattern = js_regex(row["pattern"], row["flags"])
    m = pattern.search(row["text"])
    expected = row["match"]
    if expected is None:
        assert m is None, f"matched {m.group(0)!r}; Node: no match"
    else:
        assert m is not None, f"no match; Node: {expected}"
        assert m.start() == expected["index"]
        assert [m.group(0), *m.groups()] == expected["groups"]
        assert (m.groupdict() or None) == expected["named"]
    assert pattern.sub(js_replacer(row["replacement"]), row["text"]) == row["replaced"]
