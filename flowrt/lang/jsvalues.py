"""JavaScript's view of Python values: the one place flowrt decides what String(), Number(),
parseFloat, parseInt, typeof, truthiness, ==, ===, <, Error.toString() and JSON.stringify give.

How flowrt holds JavaScript values: str, int/float (number), bool, None (null), :data:`UNDEFINED`
(undefined, where a caller must tell it apart from null), dict (object), list/tuple (array),
bytes/bytearray (Buffer), datetime (Date), compiled patterns (RegExp), exceptions (Error).
Everything here is a pure function of its arguments. The expected values of the table test
(tests/test_js_semantics_table.py) were recorded from Node.js.
"""

from __future__ import annotations

import datetime
import json as _json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "NAN",
    "UNDEFINED",
    "JSParseError",
    "JSRegExp",
    "ensure_string",
    "error_to_string",
    "is_nan",
    "is_undefined",
    "js_error_text",
    "js_gt",
    "js_gte",
    "js_join_item",
    "js_json_dumps",
    "js_json_loads",
    "js_lt",
    "js_lte",
    "js_number",
    "js_number_text",
    "js_string",
    "js_truthy",
    "js_type_name",
    "js_typeof",
    "loose_eq",
    "parse_float",
    "parse_int",
    "strict_eq",
]


class _Undefined:
    """JavaScript ``undefined``, where a caller must tell it apart from null (None)."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()
NAN = float("nan")

# What String.prototype.trim and Number() strip: WhiteSpace and LineTerminator (ES2023 §12.2/12.3).
JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_MAX_SAFE = 2**53


class JSRegExp:
    """A JavaScript RegExp: its JavaScript ``source`` and ``js_flags``, and the compiled Python
    pattern that matches what it matches (made by :func:`flowrt.lang.jsregex.js_regex`). It has the
    methods of ``re.Pattern``; ``pattern`` is the JavaScript source."""

    __slots__ = (
        "source",
        "js_flags",
        "compiled",
        "search",
        "match",
        "fullmatch",
        "finditer",
        "findall",
        "sub",
        "subn",
        "split",
    )

    def __init__(self, source: str, js_flags: str, compiled: Any) -> None:
        self.source = source
        self.js_flags = js_flags
        self.compiled = compiled
        self.search = compiled.search
        self.match = compiled.match
        self.fullmatch = compiled.fullmatch
        self.finditer = compiled.finditer
        self.findall = compiled.findall
        self.sub = compiled.sub
        self.subn = compiled.subn
        self.split = compiled.split

    @property
    def pattern(self) -> str:
        return self.source

    @property
    def flags(self) -> int:
        return self.compiled.flags

    @property
    def groups(self) -> int:
        return self.compiled.groups

    @property
    def groupindex(self) -> Mapping[str, int]:
        return self.compiled.groupindex

    def __str__(self) -> str:
        """RegExp.prototype.toString: /source/flags."""
        return f"/{self.source or '(?:)'}/{self.js_flags}"

    def __repr__(self) -> str:
        return f"JSRegExp({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSRegExp) and (other.source, other.js_flags) == (self.source, self.js_flags)

    def __hash__(self) -> int:
        return hash((self.source, self.js_flags))

    def __copy__(self) -> JSRegExp:
        return self

    def __deepcopy__(self, memo: dict) -> JSRegExp:
        return self


def is_undefined(value: Any) -> bool:
    return value is UNDEFINED


def is_nan(value: Any) -> bool:
    """Whether value is the number NaN (not: whether Number(value) is NaN)."""
    return type(value) is float and value != value


# ---------------------------------------------------------------- String()


def js_number_text(value: int | float) -> str:
    """A number as JavaScript's Number.prototype.toString writes it (ES2023 §6.1.6.1.20):
    3.0 -> "3", 1e21 -> "1e+21", 1.5e-07 -> "1.5e-7", -0.0 -> "0", 123456789012345680000 -> the
    shortest round-trip digits padded with zeros."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int or isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return str(value)
        value = float(value)  # JavaScript holds it as a double
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < _MAX_SAFE:
        return str(int(value))
    sign = "-" if value < 0 else ""
    digits, n = _shortest_digits(abs(value))
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    exp = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"


def _shortest_digits(x: float) -> tuple[str, int]:
    """(digits, n) with x == 0.digits * 10**n, digits the shortest that round-trip (repr's)."""
    mantissa, _, exp_text = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    leading_zeros = len(whole + frac) - len(digits)
    n = len(whole) - leading_zeros + (int(exp_text) if exp_text else 0)
    return digits.rstrip("0"), n


def js_string(value: Any) -> str:
    """JavaScript's String(value)."""
    if type(value) is str:
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return js_number_text(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if v is None or v is UNDEFINED else js_string(v) for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")  # Buffer.prototype.toString()
    if isinstance(value, BaseException):
        return error_to_string(value)
    if isinstance(value, JSRegExp):
        return str(value)
    if isinstance(value, re.Pattern):
        return f"/{value.pattern or '(?:)'}/"
    if isinstance(value, datetime.datetime):
        return _date_string(value)
    if callable(value) and not isinstance(value, Mapping):
        return f"function {getattr(value, '__name__', '')}() {{ [native code] }}"
    return "[object Object]"


def ensure_string(value: Any) -> str:
    """Node-RED's RED.util.ensureString: a Buffer decoded, any other object (null included)
    as JSON.stringify writes it, everything else String(value)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if js_typeof(value) == "object" and not isinstance(value, BaseException):
        return js_json_dumps(value)
    return js_string(value)


def js_length(text: str) -> int:
    """A string's JavaScript .length: UTF-16 code units, so an emoji counts 2."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def js_truncate(text: str, max_length: int) -> str:
    """text.substring(0, max_length) + "..." when text is longer than max_length UTF-16 units,
    as Node-RED's debug node cuts strings (a surrogate pair cut in half is dropped)."""
    if js_length(text) <= max_length:
        return text
    units = text.encode("utf-16-le", "surrogatepass")[: 2 * max_length]
    return units.decode("utf-16-le", "ignore") + "..."


def js_join_item(value: Any) -> str:
    """One item as Array.prototype.join writes it: String(value), but "" for null/undefined."""
    return "" if value is None or value is UNDEFINED else js_string(value)


def _date_string(value: datetime.datetime) -> str:
    """Date.prototype.toString in UTC: "Tue Dec 01 2026 20:52:47 GMT+0000 (Coordinated Universal Time)"."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%a %b %d %Y %H:%M:%S") + " GMT+0000 (Coordinated Universal Time)"


def js_error_text(name: str | None, message: str | None) -> str:
    """Error.prototype.toString: "Error: big error", "TypeError: x is not a function"; the name
    alone when there is no message, the message alone when the name is empty."""
    name = "Error" if name is None else name
    message = "" if message is None else message
    if not name:
        return message
    if not message:
        return name
    return f"{name}: {message}"


# Python exception classes that are JavaScript's error types under another name.
_ERROR_NAMES: dict[type, str] = {
    TypeError: "TypeError",
    RecursionError: "RangeError",
    SyntaxError: "SyntaxError",
}


def error_to_string(err: Any) -> str:
    """String(err) / err.toString() as Node prints them, for an exception (its ``name``
    attribute, else the JavaScript error type its class maps to, else "Error") or an error
    object that crossed from JavaScript as a dict with ``name`` and ``message``."""
    if isinstance(err, Mapping):
        name, message = err.get("name"), err.get("message")
        return js_error_text(
            None if name is None else js_string(name),
            None if message is None else js_string(message),
        )
    if isinstance(err, BaseException):
        name = getattr(err, "name", None)
        if not isinstance(name, str):
            name = next((n for cls, n in _ERROR_NAMES.items() if isinstance(err, cls)), "Error")
        message = getattr(err, "message", None)
        if not isinstance(message, str):
            message = str(err.args[0]) if len(err.args) == 1 else (str(err) if err.args else "")
        return js_error_text(name, message)
    return js_string(err)


# ---------------------------------------------------------------- Number()

_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_PLAIN_INT = re.compile(r"[+-]?[0-9]+")
_RADIX_LITERAL = {
    "0x": (16, re.compile(r"[0-9a-fA-F]+")),
    "0o": (8, re.compile(r"[0-7]+")),
    "0b": (2, re.compile(r"[01]+")),
}


def _decimal_value(text: str) -> int | float:
    """The number a matched StrDecimalLiteral denotes: an int when it is integral and safe
    (``"1e3"`` -> 1000), a float otherwise (``"-0"`` -> -0.0, ``"1.5"``, ``"Infinity"``)."""
    if text.endswith("Infinity"):
        return -math.inf if text[0] == "-" else math.inf
    if _PLAIN_INT.fullmatch(text):
        number = int(text)
    else:
        number = float(text)
        if not (number.is_integer() and abs(number) <= _MAX_SAFE):
            return number
        number = int(number)
    if number == 0 and text[0] == "-":
        return -0.0
    return number if -_MAX_SAFE <= number <= _MAX_SAFE else float(number)


def _string_to_number(text: str) -> int | float:
    text = text.strip(JS_WHITESPACE)
    if not text:
        return 0
    if _DECIMAL.fullmatch(text):
        return _decimal_value(text)
    literal = _RADIX_LITERAL.get(text[:2].lower())
    if literal is not None and literal[1].fullmatch(text, 2):
        number = int(text[2:], literal[0])
        return number if number <= _MAX_SAFE else float(number)
    return NAN


def js_number(value: Any) -> int | float:
    """JavaScript's Number(value); NaN (a float) for what does not convert. Numbers are
    returned as they are; a number read from text is an int when it is integral and within
    ±2**53 (``"1e3"`` -> 1000), so that Python code printing it does not add ``.0``."""
    t = type(value)
    if t is int or t is float:
        return value
    if t is str:
        return _string_to_number(value)
    if value is True:
        return 1
    if value is False or value is None:
        return 0
    if value is UNDEFINED:
        return NAN
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return _string_to_number(str(value))
    if isinstance(value, datetime.datetime):
        return _date_ms(value)
    if isinstance(value, (list, tuple, bytes, bytearray, memoryview)):
        return _string_to_number(js_string(value))  # ToPrimitive gives their String()
    return NAN


def _date_ms(value: datetime.datetime) -> int | float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    ms = value.timestamp() * 1000
    return int(ms) if ms.is_integer() else ms


def parse_float(value: Any) -> int | float:
    """JavaScript's parseFloat: the longest decimal prefix of String(value), else NaN
    (integral results are ints, as for :func:`js_number`)."""
    if type(value) is int:
        return value
    text = js_string(value).lstrip(JS_WHITESPACE)
    m = _DECIMAL.match(text)
    return NAN if m is None else _decimal_value(m.group(0))


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def parse_int(value: Any, radix: Any = 0) -> int | float:
    """JavaScript's parseInt(value, radix): the integer prefix of String(value) in radix
    (2..36; 0 or missing means 10, or 16 after a 0x prefix), else NaN."""
    text = js_string(value).lstrip(JS_WHITESPACE)
    negative = text[:1] == "-"
    if text[:1] in "+-":
        text = text[1:]
    r = js_number(radix) if radix is not UNDEFINED else 0
    r = 0 if is_nan(r) or r in (math.inf, -math.inf) else int(r) & 0xFFFFFFFF
    if r >= 2**31:
        r -= 2**32
    strip_prefix = True
    if r != 0:
        if r < 2 or r > 36:
            return NAN
        strip_prefix = r == 16
    else:
        r = 10
    if strip_prefix and text[:2].lower() == "0x":
        text = text[2:]
        r = 16
    end = 0
    valid = _DIGITS[:r]
    while end < len(text) and text[end].lower() in valid:
        end += 1
    if end == 0:
        return NAN
    number = int(text[:end], r)
    if number > _MAX_SAFE:
        number = float(number)
    if negative:
        return -number if number else -0.0
    return number


# ---------------------------------------------------------------- typeof, truthiness


def js_typeof(value: object) -> str:
    """JavaScript's ``typeof``: "undefined" (only :data:`UNDEFINED`), "string", "number",
    "boolean", "function" or "object" (None is null; bytes, lists, dicts, dates, patterns and
    any other object are "object", never a Python type name)."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is UNDEFINED:
        return "undefined"
    if callable(value) and not isinstance(value, type):
        return "function"
    return "object"


def js_type_name(value: object) -> str:
    """How an error names a value that is not a message: JavaScript's ``typeof`` for strings,
    numbers and booleans, the Python class name for anything else (``dict``, ``bytes``, ...)."""
    kind = js_typeof(value)
    return kind if kind in ("string", "number", "boolean") else type(value).__name__


def js_truthy(value: Any) -> bool:
    """Boolean(value): false for undefined, null, false, 0, -0, NaN and ""; true for every
    object, including an empty list, dict or Buffer."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, (str, int, float)):
        return bool(value) and value == value
    return True


# ---------------------------------------------------------------- equality and order


def _is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _is_object(v: Any) -> bool:
    return v is not None and v is not UNDEFINED and not isinstance(v, (str, int, float, bool))


def strict_eq(a: Any, b: Any) -> bool:
    """JavaScript ``a === b``: same type and value; objects only when they are the same one;
    NaN is not equal to itself, 0 equals -0."""
    if _is_number(a):
        return _is_number(b) and a == b
    if isinstance(a, str):
        return isinstance(b, str) and a == b
    if isinstance(a, bool) or a is None or a is UNDEFINED:
        return a is b
    return a is b


def _to_primitive(v: Any) -> Any:
    """ToPrimitive with the default hint, for the objects flowrt holds."""
    if isinstance(v, datetime.datetime):
        return _date_string(v)
    return js_string(v) if _is_object(v) else v


def loose_eq(a: Any, b: Any) -> bool:
    """JavaScript ``a == b`` (IsLooselyEqual)."""
    if a is None or a is UNDEFINED:
        return b is None or b is UNDEFINED
    if b is None or b is UNDEFINED:
        return False
    a_obj, b_obj = _is_object(a), _is_object(b)
    if a_obj and b_obj:
        return a is b
    if a_obj:
        a = _to_primitive(a)
    if b_obj:
        b = _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    x, y = js_number(a), js_number(b)
    return x == y  # NaN compares unequal


def _relational(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The two operands of a relational comparison, or None when one is NaN."""
    a = _date_ms(a) if isinstance(a, datetime.datetime) else _to_primitive(a)
    b = _date_ms(b) if isinstance(b, datetime.datetime) else _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        if a.isascii() and b.isascii():
            return a, b
        return a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    x, y = js_number(a), js_number(b)
    if x != x or y != y:
        return None
    return x, y


def js_lt(a: Any, b: Any) -> bool:
    """JavaScript ``a < b`` (strings by UTF-16 code units, else as numbers)."""
    p = _relational(a, b)
    return p is not None and p[0] < p[1]


def js_lte(a: Any, b: Any) -> bool:
    p = _relational(a, b)
    return p is not None and p[0] <= p[1]


def js_gt(a: Any, b: Any) -> bool:
    p = _relational(a, b)
    return p is not None and p[0] > p[1]


def js_gte(a: Any, b: Any) -> bool:
    p = _relational(a, b)
    return p is not None and p[0] >= p[1]


# ---------------------------------------------------------------- JSON


class JSParseError(ValueError):
    """A JSON syntax error with a message in the style of JavaScript's JSON.parse."""


def _to_jsonable(value: Any) -> Any:
    """What JSON.stringify sees: Buffers as {type, data}, NaN/Infinity as null, undefined
    members dropped (in arrays: null), dates as ISO text."""
    if isinstance(value, (bytes, bytearray)):
        return {"type": "Buffer", "data": list(value)}
    if isinstance(value, float) and (value != value or value in (math.inf, -math.inf)):
        return None
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in _js_key_order(value) if v is not UNDEFINED}
    if isinstance(value, (list, tuple)):
        return [None if v is UNDEFINED else _to_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return _date_iso(value)
    if isinstance(value, BaseException):  # an Error's own properties are not enumerable
        return {}
    return value


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1


def _js_key_order(obj: dict) -> list[tuple[str, Any]]:
    """An object's entries in JavaScript's property order: array-index keys ("0", "17")
    ascending first, then the other keys in insertion order."""
    items = [(k if isinstance(k, str) else js_string(k), v) for k, v in obj.items()]
    if not any(k[:1].isdigit() and _is_array_index(k) for k, _ in items):
        return items
    indexed = sorted(((k, v) for k, v in items if _is_array_index(k)), key=lambda kv: int(kv[0]))
    return indexed + [(k, v) for k, v in items if not _is_array_index(k)]


_JSON_ESCAPE = re.compile(r'[\x00-\x1f\\"\ud800-\udfff]')
_JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_string(text: str) -> str:
    """A JSON string literal as JSON.stringify writes it (lone surrogates as \\udxxx escapes)."""
    return (
        '"'
        + _JSON_ESCAPE.sub(lambda m: _JSON_ESCAPES.get(m.group(0)) or f"\\u{ord(m.group(0)):04x}", text)
        + '"'
    )


def _date_iso(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class _JSEncoder(_json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, (set, frozenset)):
            return {}
        to_json = getattr(o, "toJSON", None)
        if callable(to_json):
            return to_json()
        return str(o)


class JSError(Exception):
    """A JavaScript Error object as a value in a message (e.g. the thrown Error a function node
    keeps in msg.error, which a catch node moves to msg._error): name, message and stack."""

    def __init__(self, name: str, message: str, stack: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.stack = stack


class _NeedsSlowPath(Exception):
    pass


def _fast_default(o: Any) -> Any:
    if isinstance(o, (bytes, bytearray)):
        return {"type": "Buffer", "data": list(o)}
    raise _NeedsSlowPath


_FAST_ENCODER = _json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_fast_default
)
# Where the C encoder's text may differ from JSON.stringify's: Python float text ("1.0",
# "1e-07"), integers beyond 2**53, array-index keys (V8 puts them first), lone surrogates.
# Numbers are followed by , } ] or the end, so text inside a string ("2.0" in a JSON-RPC
# message) rarely matches; a match there only sends the value down the exact, slower path.
_FAST_UNSAFE = re.compile('[0-9](?:\\.0|e[-+][0-9]+|[0-9]{15,})(?=[,}\\]]|$)|[{,]"[0-9]+":|[\ud800-\udfff]')


def js_json_dumps(value: Any, indent: int = 0) -> str:
    """JSON.stringify(value, null, indent): compact separators, unicode kept, JS number text."""
    if value is UNDEFINED:
        return "undefined"
    if not indent:
        try:
            text = _FAST_ENCODER.encode(value)
        except (_NeedsSlowPath, ValueError, TypeError, RecursionError):
            pass
        else:
            if _FAST_UNSAFE.search(text) is None:
                return text
    encoder = _JSEncoder(
        ensure_ascii=False,
        separators=(",", ": ") if indent else (",", ":"),
        indent=indent or None,
        allow_nan=True,
    )
    # The pure-Python encoder loop accepts a float formatter: JavaScript number text.
    chunks = _json.encoder._make_iterencode(  # type: ignore[attr-defined]
        {},
        encoder.default,
        _json_string,
        encoder.indent if encoder.indent is None else " " * encoder.indent,
        js_number_text,
        encoder.key_separator,
        encoder.item_separator,
        False,
        False,
        True,
    )(_to_jsonable(value), 0)
    return "".join(chunks)


_LITERALS = ("true", "false", "null")


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


def js_json_loads(text: str | bytes | bytearray) -> Any:
    """JSON.parse: whitespace around the value allowed; errors worded as V8 words them."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    try:
        return _json.loads(text, parse_constant=_reject_constant)
    except _json.JSONDecodeError as err:
        raise JSParseError(_v8_message(text, err.pos)) from None
    except _ConstantError as err:
        raise JSParseError(_v8_message(text, text.find(err.args[0]))) from None


def _v8_message(text: str, pos: int) -> str:
    pos = max(0, pos)
    # Python stops at the start of a bad literal; V8 at the first character that breaks it.
    for literal in _LITERALS:
        if text.startswith(literal[0], pos):
            k = 0
            while k < len(literal) and pos + k < len(text) and text[pos + k] == literal[k]:
                k += 1
            if k < len(literal):
                pos += k
            break
    if pos >= len(text.rstrip()) or pos >= len(text):
        return "Unexpected end of JSON input"
    shown = text if len(text) <= 30 else text[:30] + "..."
    return f"Unexpected token '{text[pos]}', \"{shown}\" is not valid JSON"
