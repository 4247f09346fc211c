"""The switch node: route a message to the outputs whose rules match a property.

Also home of the small JavaScript-semantics helpers (loose equality and
relational comparison, Number(), String(), JS regular expressions and
String.replace patterns) the function-group nodes share.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.jsvalues import js_number_text as js_num_str
from flowrt.message import clone_message, generate_id
from flowrt.propertypath import PropertyPathError, get_message_property, parse_property_expression

# ======================================================================= JS helpers


class _Undefined:
    """JavaScript `undefined`, where a node must tell it apart from null (None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()
NAN = float("nan")

_NUM_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_RADIX = {"0x": 16, "0o": 8, "0b": 2}


def js_number(value: Any) -> float | int:
    """JavaScript Number(value); NaN for what does not convert."""
    t = type(value)
    if t is int or t is float:
        return value
    if value is True:
        return 1
    if value is False or value is None:
        return 0
    if value is UNDEFINED:
        return NAN
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if _NUM_RE.fullmatch(text):
            number = float(text)
            if number.is_integer() and "e" not in text.lower() and "." not in text:
                return int(text)
            return number
        radix = _RADIX.get(text[:2].lower())
        if radix is not None:
            try:
                return int(text[2:], radix)
            except ValueError:
                return NAN
        if text in ("Infinity", "+Infinity"):
            return math.inf
        if text == "-Infinity":
            return -math.inf
        return NAN
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return 0
        if len(value) == 1:
            return js_number(js_str(value[0]) if value[0] is not None else "")
        return NAN
    return NAN


def parse_float(value: Any) -> float:
    """JavaScript parseFloat: the longest numeric prefix, else NaN."""
    if isinstance(value, bool):
        return NAN
    if isinstance(value, (int, float)):
        return float(value)
    text = js_str(value).lstrip()
    m = re.match(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)
    if m:
        return float(m.group(0))
    if text.startswith(("Infinity", "+Infinity")):
        return math.inf
    if text.startswith("-Infinity"):
        return -math.inf
    return NAN


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def js_str(value: Any) -> str:
    """JavaScript String(value)."""
    if isinstance(value, str):
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
        return js_num_str(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if v is None or v is UNDEFINED else js_str(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, re.Pattern):
        return f"/{value.pattern}/"
    return str(value)


def _is_num(v: Any) -> bool:
    return (type(v) is int or type(v) is float) or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _to_primitive(v: Any) -> Any:
    if isinstance(v, (list, tuple, Mapping, bytes, bytearray)):
        return js_str(v)
    return v


def loose_eq(a: Any, b: Any) -> bool:
    """JavaScript `a == b`."""
    if a is None or a is UNDEFINED:
        return b is None or b is UNDEFINED
    if b is None or b is UNDEFINED:
        return False
    a_obj = isinstance(a, (list, tuple, Mapping, bytes, bytearray))
    b_obj = isinstance(b, (list, tuple, Mapping, bytes, bytearray))
    if a_obj and b_obj:
        return a is b
    if a_obj:
        a = _to_primitive(a)
    if b_obj:
        b = _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    x, y = js_number(a), js_number(b)
    if is_nan(x) or is_nan(y):
        return False
    return x == y


def _relational(a: Any, b: Any) -> tuple[Any, Any] | None:
    a, b = _to_primitive(a), _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    x, y = js_number(a), js_number(b)
    if is_nan(x) or is_nan(y):
        return None
    return x, y


def js_lt(a: Any, b: Any) -> bool:
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


_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_NAMED_REF = re.compile(r"\\k<([A-Za-z_]\w*)>")


def js_regex(source: str, flags: str = "") -> re.Pattern:
    """Compile a JavaScript regular expression source with Python's re."""
    pattern = _NAMED_GROUP.sub("(?P<", source)
    pattern = _NAMED_REF.sub(r"(?P=\1)", pattern)
    pattern = pattern.replace("[^]", r"[\s\S]")
    f = 0
    if "i" in flags:
        f |= re.IGNORECASE
    if "m" in flags:
        f |= re.MULTILINE
    if "s" in flags:
        f |= re.DOTALL
    return re.compile(pattern, f)


_REPL_TOKEN = re.compile(r"\$(\$|&|`|'|\d{1,2}|<[^>]*>)")


def js_replacer(replacement: str) -> Callable[[re.Match], str] | str:
    """A re.sub replacement doing what a JS String.replace replacement string does."""
    if "$" not in replacement:
        return lambda m: replacement

    def repl(m: re.Match) -> str:
        def token(t: re.Match) -> str:
            code = t.group(1)
            if code == "$":
                return "$"
            if code == "&":
                return m.group(0)
            if code == "`":
                return m.string[: m.start()]
            if code == "'":
                return m.string[m.end() :]
            if code.startswith("<"):
                if not m.re.groupindex:
                    return t.group(0)
                value = m.groupdict().get(code[1:-1])
                return value or ""
            n = int(code)
            if 1 <= n <= m.re.groups:
                return m.group(n) or ""
            if len(code) == 2 and 1 <= int(code[0]) <= m.re.groups:
                return (m.group(int(code[0])) or "") + code[1]
            return t.group(0)

        return _REPL_TOKEN.sub(token, replacement)

    return repl


def escape_regex(text: str) -> str:
    """Escape text to match literally (what Node-RED's change node does to a string)."""
    return re.escape(text)


def get_property_or_undefined(msg: Any, expr: str) -> Any:
    """Read a message property; UNDEFINED when it (or a parent) is missing."""
    parts = parse_property_expression(expr[4:] if expr.startswith("msg.") else expr)
    obj = msg
    for key in parts:
        if not isinstance(key, (str, int)):
            from flowrt.propertypath import get_message_property

            value = get_message_property(msg, expr)
            return UNDEFINED if value is None else value
        if isinstance(obj, Mapping):
            if key in obj:
                obj = obj[key]
            elif type(key) is int and str(key) in obj:
                obj = obj[str(key)]
            else:
                return UNDEFINED
        elif isinstance(obj, (list, tuple, str, bytes, bytearray)):
            if key == "length":
                obj = len(obj)
                continue
            if isinstance(key, str):
                if not (key.isascii() and key.isdigit()):
                    return UNDEFINED
                key = int(key)
            if 0 <= key < len(obj):
                obj = obj[key]
            else:
                return UNDEFINED
        else:
            return UNDEFINED
    return obj


def is_buffer(v: Any) -> bool:
    return isinstance(v, (bytes, bytearray))


# ======================================================================= operators


def _op_regex(a: Any, b: Any, c: Any, case: Any, parts: Any) -> bool:
    return js_regex(js_str(b), "i" if case else "").search(js_str(a)) is not None


def _empty(a: Any) -> bool | None:
    if isinstance(a, (str, list, tuple, bytes, bytearray, Mapping)):
        return len(a) == 0
    return None


def _istype(a: Any, b: Any) -> bool:
    if b == "array":
        return isinstance(a, (list, tuple))
    if b == "buffer":
        return is_buffer(a)
    if b == "json":
        if a is UNDEFINED:
            return False
        if isinstance(a, (bool, int, float)) or a is None:
            return True
        try:
            json.loads(js_str(a))
            return True
        except ValueError:
            return False
    if b == "null":
        return a is None
    if b == "number":
        return _is_num(a) and not is_nan(a)
    if b == "string":
        return isinstance(a, str)
    if b == "boolean":
        return isinstance(a, bool)
    if b == "object":
        return isinstance(a, Mapping)
    if b == "undefined":
        return a is UNDEFINED
    return False


def _parts_num(parts: Any, key: str) -> Any:
    return parts.get(key) if isinstance(parts, Mapping) else UNDEFINED


OPERATORS: dict[str, Callable[..., bool]] = {
    "eq": lambda a, b, c, d, p: loose_eq(a, b),
    "neq": lambda a, b, c, d, p: not loose_eq(a, b),
    "lt": lambda a, b, c, d, p: js_lt(a, b),
    "lte": lambda a, b, c, d, p: js_lte(a, b),
    "gt": lambda a, b, c, d, p: js_gt(a, b),
    "gte": lambda a, b, c, d, p: js_gte(a, b),
    "btwn": lambda a, b, c, d, p: (js_gte(a, b) and js_lte(a, c)) or (js_lte(a, b) and js_gte(a, c)),
    "cont": lambda a, b, c, d, p: js_str(b) in js_str(a),
    "regex": _op_regex,
    "true": lambda a, b, c, d, p: a is True,
    "false": lambda a, b, c, d, p: a is False,
    "null": lambda a, b, c, d, p: a is None or a is UNDEFINED,
    "nnull": lambda a, b, c, d, p: a is not None and a is not UNDEFINED,
    "empty": lambda a, b, c, d, p: _empty(a) is True,
    "nempty": lambda a, b, c, d, p: _empty(a) is False,
    "istype": lambda a, b, c, d, p: _istype(a, b),
    "head": lambda a, b, c, d, p: js_lt(_parts_num(p, "index"), js_number(b)),
    "tail": lambda a, b, c, d, p: js_lte(
        js_number(_parts_num(p, "count")) - js_number(b), _parts_num(p, "index")
    ),
    "index": lambda a, b, c, d, p: (
        js_lte(js_number(b), _parts_num(p, "index")) and js_lte(_parts_num(p, "index"), js_number(c))
    ),
    "hask": lambda a, b, c, d, p: (
        a is not None
        and a is not UNDEFINED
        and not isinstance(b, (Mapping, list))
        and isinstance(a, Mapping)
        and js_str(b) in a
    ),
    "jsonata_exp": lambda a, b, c, d, p: b is True,
    "else": lambda a, b, c, d, p: a is True,
}

# ======================================================================= the node

_STATIC = 0
_PREV = 1
_JSONATA = 2
_EVAL = 3

# typed-input types evaluated per message; others ('string', 'array', ...) are literal
_DYNAMIC_TYPES = frozenset({"msg", "flow", "global", "env", "date", "json", "bin", "re", "bool"})


def _has_parts(msg: dict) -> bool:
    parts = msg.get("parts")
    return isinstance(parts, Mapping) and "id" in parts and "index" in parts


class SwitchError(Exception):
    pass


@register_type("switch")
class SwitchNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "property": {"type": "string"},
            "propertyType": {"type": "string"},
            "rules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"t": {"type": "string"}, "vt": {"type": "string"}},
                    "required": ["t"],
                },
            },
            "checkall": {"type": ["string", "boolean"]},
            "repair": {"type": "boolean"},
            "outputs": {"type": ["integer", "string"]},
        },
    }

    def setup(self) -> None:
        from flowrt.typedinput import JsonataError, prepare_jsonata

        n = self.config
        self.property = n.get("property") or ""
        self.property_type = n.get("propertyType") or "msg"
        if self.property_type == "jsonata":
            try:
                self.property_expr = prepare_jsonata(self.property)
            except JsonataError as err:
                raise NodeConfigError(f"invalid JSONata expression: {err}") from err
        self.checkall = js_str(n.get("checkall") or "true") != "false"
        self.repair = bool(n.get("repair"))
        self.previous_value = None
        needs_count = self.repair
        rules = []
        for raw in n.get("rules") or []:
            rule = dict(raw)
            t = rule.get("t")
            if isinstance(t, bool):
                t = js_str(t)  # JavaScript looks operators up by the key's text
            if t not in OPERATORS:
                raise NodeConfigError(f"unknown switch rule type {t!r}")
            needs_count = needs_count or t == "tail"
            v = rule.get("v")
            vt = rule.get("vt")
            if not vt:
                vt = "str" if is_nan(js_number(v if v is not None else UNDEFINED)) else "num"
            v1 = self._compile_value(v, vt, t == "jsonata_exp")
            if "v2" in rule:
                v2 = rule.get("v2")
                v2t = rule.get("v2t")
                if not v2t:
                    v2t = "str" if is_nan(js_number(v2 if v2 is not None else UNDEFINED)) else "num"
                if v2t == "num":
                    v2_spec = (_STATIC, js_number(v2))
                else:
                    v2_spec = self._compile_value(v2, v2t, False)
            else:
                v2_spec = (_STATIC, UNDEFINED)
            rules.append((t, OPERATORS[t], v1, v2_spec, rule.get("case")))
        self.rules = rules
        self.needs_count = needs_count
        self._simple = [
            (op, spec1[1], spec2[1], case)
            for t, op, spec1, spec2, case in rules
            if spec1[0] == _STATIC and spec2[0] == _STATIC and t != "else"
        ]
        self._all_static = len(self._simple) == len(rules)
        self._simple_prop = None
        if self.property_type == "msg":
            try:
                parts = parse_property_expression(
                    self.property[4:] if self.property.startswith("msg.") else self.property
                )
            except PropertyPathError:
                parts = ()
            if len(parts) == 1 and isinstance(parts[0], str):
                self._simple_prop = parts[0]
        self._clear_pending()

    def _compile_value(self, v: Any, vt: str, is_exp: bool) -> tuple:
        from flowrt.typedinput import JsonataError, prepare_jsonata

        if vt == "prev":
            return (_PREV, None)
        if vt == "jsonata":
            try:
                prepared = prepare_jsonata(v if v is not None else "")
            except JsonataError as err:
                raise NodeConfigError(f"invalid JSONata expression: {err}") from err
            if is_exp:
                # a private compiled copy: $I and $N are assigned into it per message
                from jsonata import Jsonata

                from flowrt.typedinput import PreparedJsonata

                compiled = Jsonata(prepared.expression)
                compiled.set_validate_input(False)
                prepared = PreparedJsonata(prepared.expression, compiled, prepared.legacy)
            return (_JSONATA, prepared)
        if vt == "json":
            return (_STATIC, "json")
        if vt == "null":
            return (_STATIC, "null")
        if vt == "num":
            number = js_number(v if v is not None else UNDEFINED)
            return (_STATIC, v if is_nan(number) else number)
        if vt == "str":
            return (_STATIC, "" if v is None else js_str(v))
        if vt in _DYNAMIC_TYPES:
            return (_EVAL, (v, vt))
        return (_STATIC, v)

    # ------------------------------------------------------------------ evaluation
    def _get_property(self, msg: dict) -> Any:
        from flowrt.typedinput import evaluate_jsonata

        pt = self.property_type
        if pt == "msg":
            key = self._simple_prop
            if key is not None:
                return msg.get(key, UNDEFINED)
            try:
                value = get_property_or_undefined(msg, self.property)
                if value is UNDEFINED:
                    # a field of a live object (msg.req.method) or a missing one: propertypath reads both
                    found = get_message_property(msg, self.property)
                    return UNDEFINED if found is None else found
                return value
            except PropertyPathError:
                return UNDEFINED
        if pt == "jsonata":
            try:
                return evaluate_jsonata(self.property_expr, msg, self)
            except Exception as err:
                raise SwitchError(f"invalid JSONata expression: {err}") from err
        try:
            value = self.evaluate(self.property, pt, msg)
        except Exception:
            return UNDEFINED
        return UNDEFINED if value is None and pt in ("flow", "global") else value

    def _value(self, spec: tuple, msg: dict, has_parts: bool) -> Any:
        kind, data = spec
        if kind == _STATIC:
            return data
        if kind == _PREV:
            return self.previous_value
        if kind == _JSONATA:
            from flowrt.typedinput import evaluate_jsonata

            if has_parts and data.jsonata is not None:
                parts = msg["parts"]
                data.jsonata.assign("I", parts.get("index"))
                data.jsonata.assign("N", parts.get("count"))
            try:
                return evaluate_jsonata(data, msg, self)
            except Exception as err:
                raise SwitchError(f"invalid JSONata expression: {err}") from err
        try:
            return self.evaluate(data[0], data[1], msg)
        except Exception:
            return UNDEFINED

    def _apply_rules(self, msg: dict, prop: Any) -> list:
        parts = msg.get("parts")
        if self._all_static:
            onward = []
            for op, v1, v2, case in self._simple:
                if op(prop, v1, v2, case, parts):
                    onward.append(msg)
                    if not self.checkall:
                        break
                else:
                    onward.append(None)
            self.previous_value = prop
            return onward
        has_parts = _has_parts(msg)
        onward = []
        elseflag = True
        for t, op, spec1, spec2, case in self.rules:
            v1 = self._value(spec1, msg, has_parts)
            v2 = self._value(spec2, msg, has_parts)
            a = prop
            if t == "else":
                a = elseflag
                elseflag = True
            if op(a, v1, v2, case, parts):
                onward.append(msg)
                elseflag = False
                if not self.checkall:
                    break
            else:
                onward.append(None)
        self.previous_value = prop
        return onward

    # ------------------------------------------------------------------ input
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        self._process(msg, True)
        done()

    def _process(self, msg: dict, check_parts: bool) -> None:
        has_parts = self.needs_count and _has_parts(msg)
        if has_parts and check_parts:
            self._add_to_pending(msg)
            return
        try:
            prop = self._get_property(msg)
        except SwitchError as err:
            self.warn(str(err))
            return
        try:
            onward = self._apply_rules(msg, prop)
        except Exception as err:
            self.error(err, msg)
            return
        if not self.repair or not _has_parts(msg):
            if len(onward) == 1 and onward[0] is not None:
                self.send(onward[0])
            else:
                self.send(onward)
        else:
            self._send_group_messages(onward, msg)

    # ------------------------------------------------------------------ sequences
    def _clear_pending(self) -> None:
        self.pending_count = 0
        self.pending_in: dict[Any, dict] = {}
        self.pending_out: dict[Any, list] = {}
        self.received: dict[Any, int] = {}

    def _max_kept(self) -> int:
        try:
            return int(self.settings.get("nodeMessageBufferMaxLength") or 0)
        except (TypeError, ValueError):
            return 0

    def _add_to_pending(self, msg: dict) -> None:
        parts = msg["parts"]
        gid = parts["id"]
        group = self.pending_in.get(gid)
        if group is None:
            group = self.pending_in[gid] = {"count": None, "msgs": []}
        group["msgs"].append(msg)
        self.pending_count += 1
        max_msgs = self._max_kept()
        if max_msgs > 0 and self.pending_count > max_msgs:
            self._clear_pending()
            self.error("too many pending messages", msg)
            return
        if "count" in parts:
            group["count"] = parts["count"]
        msgs = group["msgs"]
        if group["count"] == len(msgs):
            count = group["count"]
            for m in msgs:
                m["parts"]["count"] = count
                self._process(m, False)
            self.pending_count -= len(msgs)
            self.pending_in.pop(gid, None)

    def _send_group_messages(self, onward: list, msg: dict) -> None:
        parts = msg["parts"]
        gid = parts["id"]
        self.received[gid] = self.received.get(gid, 0) + 1
        send_ok = self.received[gid] == parts.get("count")
        onwards = self.pending_out.setdefault(gid, [])
        onwards.append(onward)
        self.pending_count += 1
        if send_ok:
            self._send_group(onwards, len(onward))
            self.pending_count -= len(onward)
            self.pending_out.pop(gid, None)
            self.received.pop(gid, None)
        max_msgs = self._max_kept()
        if max_msgs > 0 and self.pending_count > max_msgs:
            self._clear_pending()
            self.error("too many pending messages", msg)

    def _send_group(self, onwards: list, port_count: int) -> None:
        counts = [0] * port_count
        for onward in onwards:
            for j in range(port_count):
                if j < len(onward) and onward[j] is not None:
                    counts[j] += 1
        ids = [generate_id() for _ in range(port_count)]
        indexes = [0] * port_count
        for onward in onwards:
            ports: list = []
            for j in range(port_count):
                m = onward[j] if j < len(onward) else None
                if m is not None:
                    new_msg = clone_message(m)
                    p = new_msg["parts"]
                    p["id"] = ids[j]
                    p["index"] = indexes[j]
                    p["count"] = counts[j]
                    ports.append(new_msg)
                    indexes[j] += 1
                else:
                    ports.append(None)
            self.send(ports)

    def on_close(self, removed: bool) -> None:
        self._clear_pending()
