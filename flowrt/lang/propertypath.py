"""Message/object property paths, the Python counterpart of Node-RED's
``RED.util.normalisePropertyExpression`` / ``getMessageProperty`` /
``setMessageProperty`` family.

Python dicts and lists model JavaScript objects and arrays; other objects
(``msg.req``, an :class:`~flowrt.http.objects.AioRequest`) are read through
their public attributes, as JavaScript reads an object's fields:

* a missing property reads as ``None`` (JavaScript ``undefined``), or as
  :data:`~flowrt.lang.jsvalues.UNDEFINED` through :func:`get_property_or_undefined`;
* reading a property *of* ``None`` (a missing parent) raises
  :class:`PropertyAccessError`, as JavaScript raises a ``TypeError``;
* a syntactically bad expression raises :class:`PropertyPathError`
  naming the expression and the position.

Keys are parsed as Node-RED parses them: ``a[0]`` and a middle ``a.0.b``
give the ``int`` 0; the segment before a ``[`` and the last segment stay
strings (``a.4`` is ``["a", "4"]``), which matters when a missing parent
is created: ``a.4`` creates an object ``{"4": ...}``, ``a[4]`` an array.
On a dict an ``int`` key also finds the string form (``{"0": ...}``)
because JavaScript object keys are strings; on a list a digit string is an
index.  ``length`` of a list, string or bytes reads its length.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from flowrt.lang.jsvalues import UNDEFINED, js_string

__all__ = [
    "PropertyAccessError",
    "PropertyPathError",
    "delete_message_property",
    "delete_object_property",
    "get_message_property",
    "get_object_property",
    "get_property_or_undefined",
    "has_message_property",
    "normalise_property_expression",
    "parse_property_expression",
    "property_parts_to_string",
    "set_message_property",
    "set_object_property",
]


class PropertyPathError(ValueError):
    """A property expression is not valid (Node-RED's ``INVALID_EXPR``)."""

    code = "INVALID_EXPR"


class PropertyAccessError(PropertyPathError, TypeError):
    """A property was read from a missing (``None``) parent."""

    code = "INVALID_ACCESS"


class _Ref:
    """A nested ``[msg.x]`` reference inside an expression (parsed parts,
    the first of which is always ``"msg"``)."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple) -> None:
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ref) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return f"_Ref({self.parts!r})"


_QUOTES = "'\""
_PRIMITIVES = (str, bytes, bytearray, int, float, bool, type(None))


def _ident_start(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "$_")


def _segment(text: str) -> str | int:
    if text.isascii() and text.isdigit():
        return int(text)
    return text


def _fail(expr: str, detail: str) -> PropertyPathError:
    return PropertyPathError(f"Invalid property expression {expr!r}: {detail}")


@functools.lru_cache(maxsize=4096)
def _parse(expr: str) -> tuple:
    """Parse an expression into a tuple of str/int keys and :class:`_Ref`."""
    n = len(expr)
    if n == 0:
        raise _fail(expr, "zero-length")
    parts: list = []
    start = 0
    in_string = False
    in_box = False
    quote = ""
    i = 0
    while i < n:
        c = expr[i]
        if in_string:
            if c == quote:
                if i == start:
                    raise _fail(expr, f"zero-length string at position {start}")
                parts.append(expr[start:i])
                nxt = expr[i + 1] if i + 1 < n else ""
                if in_box and nxt != "]":
                    raise _fail(expr, f"unexpected array expression at position {start}")
                if not in_box and i + 1 != n and nxt not in "[.":
                    raise _fail(expr, f"unexpected {nxt} at position {i + 1}")
                start = i + 1
                in_string = False
        elif c in _QUOTES:
            if i != start:
                raise _fail(expr, f"unexpected {c} at position {i}")
            in_string = True
            quote = c
            start = i + 1
        elif c == ".":
            if i == 0:
                raise _fail(expr, "unexpected . at position 0")
            if start != i:
                parts.append(_segment(expr[start:i]))
            if i == n - 1:
                raise _fail(expr, "unterminated expression")
            if not _ident_start(expr[i + 1]):
                raise _fail(expr, f"unexpected {expr[i + 1]} at position {i + 1}")
            start = i + 1
        elif c == "[":
            if i == 0:
                raise _fail(expr, "unexpected [ at position 0")
            if start != i:
                parts.append(expr[start:i])  # a string even when all digits, as in Node-RED
            if i == n - 1:
                raise _fail(expr, "unterminated expression")
            if expr.startswith("msg.", i + 1) or expr.startswith("msg[", i + 1):
                # A nested message reference: find the matching ']'.
                depth = 1
                local_quote = ""
                j = i + 1
                end = -1
                while j < n:
                    cj = expr[j]
                    if local_quote:
                        if cj == local_quote:
                            local_quote = ""
                    elif cj in _QUOTES:
                        local_quote = cj
                    elif cj == "[":
                        depth += 1
                    elif cj == "]":
                        depth -= 1
                        if depth == 0:
                            end = j
                            break
                    j += 1
                if end < 0:
                    raise _fail(expr, f"unmatched '[' at position {i}")
                try:
                    inner = _parse(expr[i + 1 : end])
                except PropertyPathError:
                    raise _fail(expr, f"invalid nested expression started at position {i + 1}") from None
                parts.append(_Ref(inner))
                in_box = False
                i = end + 1
                start = i
                continue
            if expr[i + 1] not in "'\"0123456789":
                raise _fail(expr, f"unexpected {expr[i + 1]} at position {i + 1}")
            start = i + 1
            in_box = True
        elif c == "]":
            if not in_box:
                raise _fail(expr, f"unexpected ] at position {i}")
            if start != i:
                text = expr[start:i]
                if not (text.isascii() and text.isdigit()):
                    raise _fail(expr, f"unexpected array expression at position {start}")
                parts.append(int(text))
            start = i + 1
            in_box = False
        elif c == " ":
            raise _fail(expr, f"unexpected ' ' at position {i}")
        i += 1
    if in_box or in_string:
        raise _fail(expr, "unterminated expression")
    if start < n:
        parts.append(expr[start:])  # the last segment stays a string, as in Node-RED
    return tuple(parts)


def _has_refs(parts: tuple) -> bool:
    for p in parts:
        if type(p) is _Ref:
            return True
    return False


def _as_key(value: Any) -> str | int:
    """A nested reference's value as a key: an integral number indexes, anything else is
    String(value), as JavaScript's obj[value] converts it."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return js_string(value)


def _resolve(parts: tuple, msg: Any, expr: str) -> tuple:
    """Replace nested ``[msg.x]`` references with their values from ``msg``."""
    if not _has_refs(parts):
        return parts
    out = []
    for p in parts:
        if type(p) is _Ref:
            inner = _resolve(p.parts, msg, expr)[1:]  # drop the leading "msg"
            try:
                value = _walk(msg, inner)
            except PropertyAccessError:
                value = UNDEFINED
            if value is None or value is UNDEFINED:
                raise _fail(expr, "undefined nested reference " + property_parts_to_string(["msg", *inner]))
            out.append(_as_key(value))
        else:
            out.append(p)
    return tuple(out)


def _to_lists(parts: tuple) -> list:
    return [_to_lists(p.parts) if type(p) is _Ref else p for p in parts]


def parse_property_expression(expr: str) -> tuple:
    """Return the cached parse of ``expr`` (nested references unresolved)."""
    if not isinstance(expr, str):
        raise PropertyPathError(f"Invalid property expression: expected a string, got {type(expr).__name__}")
    return _parse(expr)


def property_parts_to_string(parts: list | tuple) -> str:
    """Render parts as ``a["b"][0]`` (Node-RED's ``toString`` form)."""
    parts = list(parts)
    if not parts:
        return ""
    result = str(parts[0])
    for p in parts[1:]:
        if isinstance(p, list | tuple):
            p = property_parts_to_string(p)
        elif isinstance(p, str):
            p = f"'{p}'" if '"' in p else f'"{p}"'
        result += f"[{p}]"
    return result


def normalise_property_expression(expr: str, msg: Any = None, to_string: bool = False) -> list | str:
    """Parse a property expression into its canonical list of keys.

    ``"payload.a['b'][0]"`` -> ``["payload", "a", "b", 0]``.  Nested
    ``[msg.x]`` references are resolved against ``msg`` when it is given,
    otherwise they are returned as nested lists (``["a", ["msg", "x"]]``).
    With ``to_string`` the result is rendered as ``a["b"][0]``.
    """
    parts = parse_property_expression(expr)
    if msg is not None:
        parts = _resolve(parts, msg, expr)
    result = _to_lists(parts)
    if to_string:
        return property_parts_to_string(result)
    return result


def _strip_msg(expr: str) -> str:
    if isinstance(expr, str) and expr.startswith("msg."):
        return expr[4:]
    return expr


# ---------------------------------------------------------------- reading


def _field(obj: Any, key: str | int) -> Any:
    """``obj[key]`` as JavaScript reads it: :data:`UNDEFINED` when ``obj`` has no such
    property; :class:`PropertyAccessError` when ``obj`` is null or undefined."""
    t = type(obj)
    if t is dict:
        if key in obj:
            return obj[key]
        if type(key) is int:
            return obj.get(str(key), UNDEFINED)
        return UNDEFINED
    if obj is None or obj is UNDEFINED:
        raise PropertyAccessError(f"Cannot read property {key!r} of undefined")
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        return obj.get(str(key), UNDEFINED) if type(key) is int else UNDEFINED
    if isinstance(obj, str | bytes | bytearray | list | tuple):
        if key == "length":
            return len(obj)
        if type(key) is str and key.isascii() and key.isdigit():
            key = int(key)
        if type(key) is int and 0 <= key < len(obj):
            return obj[key]
        return UNDEFINED
    if isinstance(obj, int | float | bool):
        return UNDEFINED
    # A live object (msg.req, ...): its public fields, as JavaScript sees an object's properties.
    if type(key) is str and not key.startswith("_"):
        return getattr(obj, key, UNDEFINED)
    return UNDEFINED


def _walk(obj: Any, parts: tuple) -> Any:
    for key in parts:
        obj = _field(obj, key)
    return obj


def get_object_property(obj: Any, expr: str) -> Any:
    """Read ``expr`` from ``obj``; ``None`` when missing.

    Raises :class:`PropertyAccessError` when a parent is missing and
    :class:`PropertyPathError` on bad syntax."""
    parts = parse_property_expression(expr)
    if len(parts) == 1 and type(obj) is dict:
        key = parts[0]
        if type(key) is str:
            return obj.get(key)
    if _has_refs(parts):
        parts = _resolve(parts, obj, expr)
    value = _walk(obj, parts)
    return None if value is UNDEFINED else value


def get_message_property(msg: Any, expr: str) -> Any:
    """Like :func:`get_object_property`, stripping a leading ``msg.``."""
    return get_object_property(msg, _strip_msg(expr))


def get_property_or_undefined(msg: Any, expr: str) -> Any:
    """A message property (leading ``msg.`` stripped) as a JavaScript read in a ``try`` sees
    it: :data:`~flowrt.lang.jsvalues.UNDEFINED` when it, or a parent, is missing; null stays
    ``None``. Bad syntax still raises :class:`PropertyPathError`."""
    expr = _strip_msg(expr)
    parts = parse_property_expression(expr)
    try:
        if _has_refs(parts):
            parts = _resolve(parts, msg, expr)
        return _walk(msg, parts)
    except PropertyAccessError:
        return UNDEFINED


def has_message_property(msg: Any, expr: str) -> bool:
    """Whether the property exists (leading ``msg.`` stripped), as ``key in parent`` would
    say: true for a property holding null, false when it or a parent is missing."""
    return get_property_or_undefined(msg, expr) is not UNDEFINED


# ---------------------------------------------------------------- writing


def _dict_key(obj: Any, key: str | int) -> str | int:
    if type(key) is int and key not in obj:
        return str(key)
    return key


def _is_container(value: Any) -> bool:
    return value is not None and not isinstance(value, _PRIMITIVES)


def _set_parts(obj: Any, parts: tuple, value: Any, create_missing: bool, delete: bool) -> bool:
    last_index = len(parts) - 1
    cur = obj
    for i in range(last_index):
        key = parts[i]
        if isinstance(cur, list):
            if type(key) is not int:
                if not (key.isascii() and key.isdigit()):
                    return False
                key = int(key)
            if key < 0:
                return False
            child = cur[key] if key < len(cur) else None
            if child is None:
                if not create_missing:
                    return False
                child = {} if isinstance(parts[i + 1], str) else []
                if key >= len(cur):
                    cur.extend([None] * (key + 1 - len(cur)))
                cur[key] = child
            elif not _is_container(child):
                return False
            cur = child
        elif isinstance(cur, MutableMapping):
            k = _dict_key(cur, key)
            if k in cur:
                child = cur[k]
                if not _is_container(child):
                    return False
            elif create_missing:
                child = {} if isinstance(parts[i + 1], str) else []
                cur[k] = child
            else:
                return False
            cur = child
        elif _is_container(cur) and isinstance(key, str) and not key.startswith("_"):
            child = getattr(cur, key, None)
            if not _is_container(child):
                return False
            cur = child
        else:
            return False
    key = parts[last_index]
    if isinstance(cur, list):
        named = type(key) is not int
        if named:
            if not (key.isascii() and key.isdigit()):
                return False
            key = int(key)
        if key < 0:
            return False
        if delete:
            if key < len(cur):
                # Node-RED splices an array for a[1]; a.1 is `delete arr["1"]`, which leaves a hole.
                if named:
                    cur[key] = None
                else:
                    del cur[key]
            return True
        if key >= len(cur):
            cur.extend([None] * (key + 1 - len(cur)))
        cur[key] = value
        return True
    if isinstance(cur, MutableMapping):
        k = _dict_key(cur, key)
        if delete:
            cur.pop(k, None)
        else:
            cur[k] = value
        return True
    if _is_container(cur) and isinstance(key, str) and not key.startswith("_"):
        try:
            if delete:
                if hasattr(cur, key):
                    delattr(cur, key)
            else:
                setattr(cur, key, value)
        except (AttributeError, TypeError):
            return False
        return True
    return delete and cur is not None


def set_object_property(obj: Any, expr: str, value: Any, create_missing: bool = True) -> bool:
    """Set ``expr`` on ``obj`` to ``value`` (``None`` is stored as null).

    Missing parents are created when ``create_missing`` (a list when the
    next key is an int, else a dict).  Returns ``False`` when the value
    could not be set (missing parent, or a parent that is a primitive)."""
    parts = parse_property_expression(expr)
    if _has_refs(parts):
        parts = _resolve(parts, obj, expr)
    return _set_parts(obj, parts, value, create_missing, delete=False)


def set_message_property(msg: Any, expr: str, value: Any, create_missing: bool = True) -> bool:
    """Like :func:`set_object_property`, stripping a leading ``msg.``."""
    return set_object_property(msg, _strip_msg(expr), value, create_missing)


def delete_object_property(obj: Any, expr: str) -> bool:
    """Delete ``expr`` from ``obj`` (list elements are removed, shifting
    the rest).  Missing parents are not created; returns ``False`` then."""
    parts = parse_property_expression(expr)
    if _has_refs(parts):
        parts = _resolve(parts, obj, expr)
    return _set_parts(obj, parts, None, False, delete=True)


def delete_message_property(msg: Any, expr: str) -> bool:
    """Like :func:`delete_object_property`, stripping a leading ``msg.``."""
    return delete_object_property(msg, _strip_msg(expr))


_STORE_KEY_RE = re.compile(r"#:\((\S+?)\)::(.*)", re.DOTALL)


def parse_context_store(key: str) -> tuple[str | None, str]:
    """Split a context key ``"#:(file)::foo.bar"`` into ``("file", "foo.bar")`` (Node-RED's
    RED.util.parseContextStore); a key without a store prefix gives ``(None, key)``."""
    if isinstance(key, str):
        m = _STORE_KEY_RE.fullmatch(key)
        if m:
            return m.group(1), m.group(2)
    return None, key
