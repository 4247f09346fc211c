"""JavaScript's view of Python values, shared by nodes that must print numbers as Node-RED does."""

from __future__ import annotations

import math


def js_number_text(value: int | float) -> str:
    """A number as JavaScript's String(number) writes it: 3.0 -> "3", 1e21 -> "1e+21", 1.5e-07 -> "1.5e-7"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return text


def js_typeof(value: object) -> str:
    """JavaScript's ``typeof`` of a value as flowrt holds JS values: "string", "number", "boolean",
    "function" or "object".

    None is JavaScript's null, so "object". flowrt mostly holds undefined (a missing property) as
    None too; a caller that can tell the two apart must say "undefined" itself. bytes (Buffer),
    lists, tuples, dicts, dates, patterns and any other object are "object", never a Python type
    name."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if callable(value):
        return "function"
    return "object"


def js_type_name(value: object) -> str:
    """How an error names a value that is not a message: JavaScript's ``typeof`` for strings,
    numbers and booleans, the Python class name for anything else (``dict``, ``bytes``, ...)."""
    kind = js_typeof(value)
    return kind if kind in ("string", "number", "boolean") else type(value).__name__
