"""Typed inputs: Node-RED's ``RED.util.evaluateNodeProperty``, in one place
for every node.

``evaluate_node_property(value, type, node, msg)`` understands ``msg``,
``flow``, ``global``, ``str``, ``num``, ``bool``, ``json``, ``bin``, ``re``,
``date``, ``jsonata``, ``env``, and passes ``node``, ``cred`` and ``null``
values (and those of any unknown type) through.  ``node`` is any object with ``.context()`` (a Context with
``.flow`` and ``.global_``), ``.get_setting(name)``, ``.id`` and ``.name``.

JSONata expressions are compiled once per expression text (to Python closures,
:mod:`flowrt.lang.jsonata_compiler`; jsonata-python is imported with the first one) and evaluated
with Node-RED's extra functions ``$flowContext``, ``$globalContext``,
``$env`` and ``$clone`` (``$moment`` is not available).
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import json
import re
import time
import weakref
from typing import TYPE_CHECKING, Any

from flowrt.lang.env import evaluate_env_property
from flowrt.lang.jsregex import JSRegexError, is_regex, js_regex, jsonata_regex_engine
from flowrt.lang.jsvalues import is_nan, js_number, js_string
from flowrt.lang.propertypath import get_message_property, normalise_property_expression, parse_context_store

if TYPE_CHECKING:
    from flowrt.lang.jsonata_compiler import CompiledJsonata

__all__ = [
    "JsonataError",
    "PreparedJsonata",
    "TypedInputError",
    "compile_jsonata",
    "evaluate_jsonata",
    "evaluate_node_property",
    "format_moment",
    "parse_js_number",
    "prepare_jsonata",
]


class TypedInputError(ValueError):
    """A typed input could not be evaluated."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class JsonataError(TypedInputError):
    """A JSONata expression failed to compile or evaluate."""


# ---------------------------------------------------------------- scalars


def _js_str(value: Any) -> str:
    """String(value) of a typed input's value: "" for a missing one."""
    return "" if value is None else js_string(value)


def parse_js_number(value: Any) -> int | float:
    """JavaScript ``Number(value)``, but what gives NaN raises :class:`TypedInputError`.
    Integral values are returned as ``int``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    number = value if isinstance(value, float) else js_number(_js_str(value))
    if is_nan(number):
        shown = "NaN" if isinstance(value, float) else repr(value)
        raise TypedInputError(f"Invalid number: {shown}", "INVALID_NUMBER")
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _js_str(value).lower() == "true"


def _json(value: Any) -> Any:
    if not isinstance(value, str | bytes | bytearray):
        return value  # already structured (e.g. flows written in YAML)
    try:
        return json.loads(value)
    except ValueError as err:
        raise TypedInputError(f"Invalid JSON: {err}", "INVALID_JSON") from err


def _bin(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    data = _json(value)
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, list):
        try:
            return bytes(int(b) & 0xFF for b in data)
        except (TypeError, ValueError) as err:
            raise TypedInputError(f"Invalid buffer data: {err}", "INVALID_BUFFER_DATA") from err
    raise TypedInputError("Invalid buffer data: not string or array", "INVALID_BUFFER_DATA")


def _regex(value: Any) -> Any:
    """The ``re`` typed input: ``new RegExp(value)``."""
    if is_regex(value):
        return value
    try:
        return js_regex(_js_str(value))
    except JSRegexError as err:
        raise TypedInputError(f"Invalid regular expression {value!r}: {err}", "INVALID_REGEX") from err


# ---------------------------------------------------------------- dates

_MOMENT_TOKENS = re.compile(
    r"\[[^\]]*\]|YYYY|YY|MMMM|MMM|MM|M|Do|DD|D|dddd|ddd|d|HH|H|hh|h|mm|m|ss|s|SSS|SS|S|A|a|ZZ|Z|X|x"
)


def _moment_token(tok: str, t: _dt.datetime) -> str:
    if tok.startswith("["):
        return tok[1:-1]
    h12 = t.hour % 12 or 12
    if tok in ("Z", "ZZ"):
        offset = t.utcoffset() or _dt.timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hh, mm = divmod(abs(minutes), 60)
        return f"{sign}{hh:02d}:{mm:02d}" if tok == "Z" else f"{sign}{hh:02d}{mm:02d}"
    if tok == "Do":
        n = t.day
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    table = {
        "YYYY": lambda: f"{t.year:04d}",
        "YY": lambda: f"{t.year % 100:02d}",
        "MMMM": lambda: t.strftime("%B"),
        "MMM": lambda: t.strftime("%b"),
        "MM": lambda: f"{t.month:02d}",
        "M": lambda: str(t.month),
        "DD": lambda: f"{t.day:02d}",
        "D": lambda: str(t.day),
        "dddd": lambda: t.strftime("%A"),
        "ddd": lambda: t.strftime("%a"),
        "d": lambda: str((t.weekday() + 1) % 7),
        "HH": lambda: f"{t.hour:02d}",
        "H": lambda: str(t.hour),
        "hh": lambda: f"{h12:02d}",
        "h": lambda: str(h12),
        "mm": lambda: f"{t.minute:02d}",
        "m": lambda: str(t.minute),
        "ss": lambda: f"{t.second:02d}",
        "s": lambda: str(t.second),
        "SSS": lambda: f"{t.microsecond // 1000:03d}",
        "SS": lambda: f"{t.microsecond // 10000:02d}",
        "S": lambda: str(t.microsecond // 100000),
        "A": lambda: "AM" if t.hour < 12 else "PM",
        "a": lambda: "am" if t.hour < 12 else "pm",
        "X": lambda: str(int(t.timestamp())),
        "x": lambda: str(int(t.timestamp() * 1000)),
    }
    return table[tok]()


def format_moment(fmt: str, when: _dt.datetime | None = None) -> str:
    """Format a local time with the common moment.js tokens (``YYYY-MM-DD
    HH:mm:ss.SSS``, ``Do``, ``MMM``, ``A``, ``Z``, ``X``/``x``, ``[literal]``)."""
    t = when or _dt.datetime.now().astimezone()
    return _MOMENT_TOKENS.sub(lambda m: _moment_token(m.group(0), t), fmt)


def _now_ns(node: Any) -> int:
    """Epoch nanoseconds on the node's runtime clock (virtual under a test's virtual clock)."""
    clock = getattr(getattr(node, "runtime", None), "clock", None)
    if clock is not None and getattr(clock, "virtual", False):
        return int(clock.wall_time() * 1e9)
    return time.time_ns()


def _date(value: Any, node: Any = None) -> Any:
    now_ns = _now_ns(node)
    if not value:
        return now_ns // 1_000_000
    if value == "object":
        return _dt.datetime.fromtimestamp(now_ns / 1e9, tz=_dt.UTC)
    if value == "iso":
        utc = _dt.datetime.fromtimestamp(now_ns / 1e9, tz=_dt.UTC).replace(tzinfo=None)
        return utc.isoformat(timespec="milliseconds") + "Z"
    local = _dt.datetime.fromtimestamp(now_ns / 1e9).astimezone()
    return format_moment(_js_str(value), local)


# ---------------------------------------------------------------- context


def _context_value(value: Any, kind: str, node: Any, msg: dict | None) -> Any:
    store, key = parse_context_store(_js_str(value))
    if "[msg" in key:
        key = normalise_property_expression(key, msg, to_string=True)
    ctx = node.context()
    target = getattr(ctx, "flow" if kind == "flow" else "global_", None) if ctx is not None else None
    if target is None:
        raise TypedInputError(f"No {kind} context available for {kind} property {key!r}")
    return target.get(key, store)


# ---------------------------------------------------------------- jsonata

_LEGACY_RE = re.compile(r"(^|[^a-zA-Z0-9_'\".])msg([^a-zA-Z0-9_'\"]|$)")


class _JsonataApi:
    """jsonata-python and the compiler, imported when the first expression is compiled: a flow
    without JSONata does not pay for them (about 1.6 MB of RSS)."""

    def __init__(self) -> None:
        from jsonata import Jsonata
        from jsonata.jexception import JException
        from jsonata.utils import Utils

        from flowrt.lang.jsonata_compiler import CompiledJsonata

        self.Jsonata = Jsonata
        self.JException = JException
        self.JLambda = Jsonata.JLambda
        self.CURRENT = Jsonata.CURRENT
        self.NULL_VALUE = Utils.NULL_VALUE
        self.CompiledJsonata = CompiledJsonata


_api: _JsonataApi | None = None


def _jsonata_api() -> _JsonataApi:
    global _api
    if _api is None:
        _api = _JsonataApi()
    return _api


class PreparedJsonata:
    """A compiled JSONata expression (shared, cached by expression text)."""

    __slots__ = ("expression", "jsonata", "legacy")

    def __init__(self, expression: str, compiled: CompiledJsonata, legacy: bool) -> None:
        self.expression = expression
        self.jsonata = compiled
        self.legacy = legacy

    def __repr__(self) -> str:
        return f"PreparedJsonata({self.expression!r})"


def compile_jsonata(expression: str) -> PreparedJsonata:
    """A fresh compiled expression, not shared with other users of the same text (for a node that
    assigns variables into it, as switch does $I/$N). Raises :class:`JsonataError`.

    The expression is parsed by jsonata-python and compiled to Python closures
    (:mod:`flowrt.lang.jsonata_compiler`); what the compiler does not cover runs in jsonata-python's
    interpreter."""
    api = _jsonata_api()
    previous = getattr(api.CURRENT, "jsonata", None)
    try:
        # jsonata-python 0.7.1's tokenizer reads past the end after a closing "*/" (IndexError on
        # "$.a /* note */"); a trailing newline is insignificant in JSONata and gives it a character.
        compiled = api.CompiledJsonata(expression + "\n", jsonata_regex_engine)
    except api.JException as err:
        raise JsonataError(f"Invalid JSONata expression {expression!r}: {err}", "INVALID_JSONATA") from err
    except IndexError as err:  # the same tokenizer on an unclosed comment or a lone trailing "/"
        detail = "comment has no closing tag" if "/*" in expression else "unexpected end of expression"
        raise JsonataError(f"Invalid JSONata expression {expression!r}: {detail}", "INVALID_JSONATA") from err
    finally:
        if previous is not None:
            api.CURRENT.jsonata = previous
    compiled.set_validate_input(False)
    compiled.set_output_convert_nulls(False)  # evaluate_jsonata tells "no result" from null
    return PreparedJsonata(expression, compiled, bool(_LEGACY_RE.search(expression)))


_compile = functools.lru_cache(maxsize=1024)(compile_jsonata)


def prepare_jsonata(expression: str) -> PreparedJsonata:
    """Compile (or fetch from the cache) a JSONata expression.  Expressions
    mentioning ``msg`` as a bare name run in legacy mode (``{"msg": msg}``
    is the input), as in Node-RED."""
    if isinstance(expression, PreparedJsonata):
        return expression
    return _compile(_js_str(expression))


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any, null: Any) -> Any:
    """A JSONata result as plain values: JSONata's list subclasses become lists and its ``null``
    (``null``, jsonata-python's NULL_VALUE) None, without touching (or copying) containers that
    are already plain - they may be the message's own objects."""
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return value
    if value is null:
        return None
    if isinstance(value, list):
        changed = kind is not list
        items = []
        for item in value:
            plain = item if type(item) in _SCALAR_TYPES else _plain(item, null)
            changed = changed or plain is not item
            items.append(plain)
        return items if changed else value
    if isinstance(value, dict):
        changed = kind is not dict
        entries = {}
        for key, item in value.items():
            plain = item if type(item) in _SCALAR_TYPES else _plain(item, null)
            changed = changed or plain is not item
            entries[key] = plain
        return entries if changed else value
    return value


def _context_fn(node: Any, attr: str):
    def get(key: Any = None, store: Any = None) -> Any:
        if node is None or key is None:
            return None
        ctx = node.context() if hasattr(node, "context") else None
        target = getattr(ctx, attr, None) if ctx is not None else None
        if target is None:
            return None
        return target.get(key, store)

    return _jsonata_api().JLambda(get)


_node_bindings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_no_node_bindings: dict[str, Any] = {}


def _bindings(node: Any) -> dict[str, Any]:
    """The node's $flowContext, $globalContext, $env and $clone (made once per node)."""
    if node is None:
        if not _no_node_bindings:
            _no_node_bindings.update(_make_bindings(None))
        return _no_node_bindings
    try:
        cached = _node_bindings.get(node)
    except TypeError:  # not weakly referable
        return _make_bindings(node)
    if cached is None:
        cached = _node_bindings[node] = _make_bindings(node)
    return cached


def _make_bindings(node: Any) -> dict[str, Any]:
    def env(name: Any = None) -> Any:
        if name is None:
            return ""
        if node is not None and hasattr(node, "get_setting"):
            value = node.get_setting(_js_str(name))
        else:
            import os

            value = os.environ.get(_js_str(name))
        return "" if value is None else value

    def clone(value: Any = None) -> Any:
        return copy.deepcopy(value)

    jlambda = _jsonata_api().JLambda
    return {
        "flowContext": _context_fn(node, "flow"),
        "globalContext": _context_fn(node, "global_"),
        "env": jlambda(env),
        "clone": jlambda(clone),
    }


def evaluate_jsonata(
    prepared: PreparedJsonata | str,
    msg: dict | None,
    node: Any = None,
    bindings: dict[str, Any] | None = None,
    undefined: Any = None,
) -> Any:
    """Evaluate a prepared expression against ``msg`` for ``node``; ``bindings`` adds
    variables for this evaluation only (e.g. join's ``$A``, ``$I``, ``$N``).
    An expression with no result (JavaScript ``undefined``) gives ``undefined``;
    a JSONata ``null`` gives ``None``.
    Raises :class:`JsonataError` when evaluation fails."""
    prepared = prepare_jsonata(prepared)
    api = _api or _jsonata_api()
    data = {"msg": msg} if prepared.legacy else msg
    compiled = prepared.jsonata
    current = api.CURRENT
    previous = getattr(current, "jsonata", None)
    current.jsonata = compiled  # $now()/$millis() read the running instance
    try:
        frame = _bindings(node)
        if bindings:
            frame = {**frame, **bindings}
        result = compiled.evaluate(data, frame)
        if result is None:
            return undefined
        return _plain(result, api.NULL_VALUE)
    except api.JException as err:
        raise JsonataError(f"JSONata error in {prepared.expression!r}: {err}", "JSONATA_ERROR") from err
    except RecursionError as err:
        raise JsonataError(f"JSONata error in {prepared.expression!r}: too deep", "JSONATA_ERROR") from err
    finally:
        if previous is not None:
            current.jsonata = previous


# ---------------------------------------------------------------- entry point


def _env(value: Any, node: Any) -> Any:
    if node is not None and hasattr(node, "get_setting"):
        lookup = node.get_setting
    else:
        import os

        lookup = os.environ.get
    return evaluate_env_property(value, lookup)


def evaluate_node_property(value: Any, type: str, node: Any, msg: dict | None) -> Any:  # noqa: A002
    """Evaluate a node property ``value`` of typed-input ``type``.

    An unknown type gives ``value`` unchanged, as in Node-RED.  Raises
    :class:`TypedInputError` for a value that cannot be evaluated; ``msg`` property paths raise
    :class:`~flowrt.lang.propertypath.PropertyPathError`."""
    kind = type
    if kind == "msg":
        if msg is None:
            return value
        return get_message_property(msg, _js_str(value))
    if kind == "str":
        return _js_str(value)
    if kind == "num":
        return parse_js_number(value)
    if kind == "bool":
        return _bool(value)
    if kind in ("flow", "global"):
        if node is None:
            return value
        return _context_value(value, kind, node, msg)
    if kind == "json":
        return _json(value)
    if kind == "jsonata":
        return evaluate_jsonata(prepare_jsonata(value), msg, node)
    if kind == "env":
        return _env(value, node)
    if kind == "date":
        return _date(value, node)
    if kind == "bin":
        return _bin(value)
    if kind == "re":
        return _regex(value)
    if kind == "null":
        return None
    # node, cred, conf-type and any type Node-RED does not know (a typo, "string"): the value as it is
    return value
