"""The switch node: route a message to the outputs whose rules match a property.

JavaScript semantics (==, <, Number(), String()) come from flowrt.lang.jsvalues, regular
expressions from flowrt.lang.jsregex.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsregex import js_regex
from flowrt.lang.jsvalues import (
    UNDEFINED,
    is_nan,
    js_gt,
    js_gte,
    js_lt,
    js_lte,
    js_number,
    js_typeof,
    loose_eq,
)
from flowrt.lang.jsvalues import js_string as js_str
from flowrt.lang.propertypath import (
    PropertyPathError,
    get_message_property,
    get_property_or_undefined,
    parse_property_expression,
)
from flowrt.lang.typedinput import JsonataError, compile_jsonata, evaluate_jsonata, prepare_jsonata
from flowrt.util import clone_message, generate_id


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
        return js_typeof(a) == "number" and not is_nan(a)
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

# ======================================================================= precompiled rules
#
# A rule becomes one closure `test(prop, msg, parts) -> bool` when the node is built, so a message
# runs a list of closures. Operands of constant types (num, str, null, json, literal types) are
# converted once; the operator is specialised on the constant's type where a common property type
# has a shortcut (a number compared with a number is Python's comparison), and every other case
# calls the operator of OPERATORS above, which is the reference. Operands Node-RED evaluates per
# message (msg, flow, global, env, date, jsonata, prev, ...) are evaluated per message here too.

RuleTest = Callable[[Any, dict, Any], bool]


def _is_plain_number(value: Any) -> bool:
    """An int or float that is not NaN (bool excluded): Python's ==, <, ... are JavaScript's."""
    t = type(value)
    return (t is int or t is float) and value == value


def _numeric_test(t: str, b: Any, c: Any) -> RuleTest | None:
    """eq/neq/lt/lte/gt/gte/btwn against constant numbers: a shortcut for a number property."""
    if not _is_plain_number(b) or (t == "btwn" and not _is_plain_number(c)):
        return None
    generic = OPERATORS[t]
    if t == "eq":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            return a == b if ta is int or ta is float else loose_eq(a, b)

    elif t == "neq":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            return a != b if ta is int or ta is float else not loose_eq(a, b)

    elif t == "lt":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            return a < b if ta is int or ta is float else js_lt(a, b)

    elif t == "lte":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            return a <= b if ta is int or ta is float else js_lte(a, b)

    elif t == "gt":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            return a > b if ta is int or ta is float else js_gt(a, b)

    elif t == "gte":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            return a >= b if ta is int or ta is float else js_gte(a, b)

    elif t == "btwn":

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            if ta is int or ta is float:  # NaN: every comparison false, as in JavaScript
                return (b <= a <= c) or (c <= a <= b)
            return generic(a, b, c, None, parts)

    else:
        return None
    return test


def _istype_test(name: str) -> RuleTest:
    """istype against a constant type name."""
    if name == "string":
        return lambda a, msg, parts: isinstance(a, str)
    if name in ("array", "buffer", "json", "null", "number", "boolean", "object", "undefined"):
        return lambda a, msg, parts: _istype(a, name)
    return lambda a, msg, parts: False


def _constant_test(t: str, b: Any, c: Any, case: Any) -> RuleTest:
    """The test of a rule whose operands are constants `b` and `c`."""
    fast = _numeric_test(t, b, c)
    if fast is not None:
        return fast
    if t in ("eq", "neq") and type(b) is str:
        equal = t == "eq"
        b_number = js_number(b)  # a number == a string compares with Number(string)

        def test(a: Any, msg: dict, parts: Any) -> bool:
            ta = type(a)
            if ta is str:
                return (a == b) is equal
            if ta is int or ta is float:
                return (a == b_number) is equal
            return loose_eq(a, b) is equal

        return test
    if t == "regex":
        try:
            search = js_regex(js_str(b), "i" if case else "").search
        except Exception:
            pass  # an invalid pattern fails per message, as new RegExp() does in Node-RED
        else:
            return lambda a, msg, parts: search(a if type(a) is str else js_str(a)) is not None
    if t == "cont":
        needle = js_str(b)
        return lambda a, msg, parts: needle in (a if type(a) is str else js_str(a))
    if t == "istype" and type(b) is str:
        return _istype_test(b)
    if t == "true":
        return lambda a, msg, parts: a is True
    if t == "false":
        return lambda a, msg, parts: a is False
    op = OPERATORS[t]
    return lambda a, msg, parts: op(a, b, c, case, parts)


class SwitchError(Exception):
    pass


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
        n = self.config
        self.property = js_str(n.get("property") or "")
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
        raw_rules = n.get("rules") or []
        if isinstance(raw_rules, str):  # strict-mode JavaScript throws setting a rule's fields
            raise NodeConfigError(f"rules must be a list of rules, not the string {raw_rules!r}")
        for raw in raw_rules if isinstance(raw_rules, list) else []:  # no `length`: no rules
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
        # (is an else rule, its test) per rule; without else rules the tests alone
        self._tests = [(rule[0] == "else", self._compile_rule(*rule)) for rule in rules]
        self._plain_tests = None if any(e for e, _ in self._tests) else [test for _, test in self._tests]
        self._get_property = self._compile_property()
        self._clear_pending()

    def _compile_value(self, v: Any, vt: str, is_exp: bool) -> tuple:
        if vt == "prev":
            return (_PREV, None)
        if vt == "jsonata":
            try:
                prepared = prepare_jsonata(v if v is not None else "")
            except JsonataError as err:
                raise NodeConfigError(f"invalid JSONata expression: {err}") from err
            if is_exp:
                prepared = compile_jsonata(prepared.expression)  # private: $I and $N are assigned into it
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

    # ------------------------------------------------------------------ compiling
    def _compile_rule(self, t: str, op: Callable, spec1: tuple, spec2: tuple, case: Any) -> RuleTest:
        if spec1[0] == _STATIC and spec2[0] == _STATIC:
            return _constant_test(t, spec1[1], spec2[1], case)
        value1 = self._operand_getter(spec1)
        value2 = self._operand_getter(spec2)

        def test(a: Any, msg: dict, parts: Any) -> bool:
            v1 = value1(msg)  # in Node-RED's order: v1, then v2, then the operator
            v2 = value2(msg)
            return op(a, v1, v2, case, parts)

        return test

    def _operand_getter(self, spec: tuple) -> Callable[[dict], Any]:
        """How an operand is read for a message: a constant, the previous value, or evaluated."""
        kind, data = spec
        if kind == _STATIC:
            return lambda msg: data
        if kind == _PREV:
            return lambda msg: self.previous_value
        if kind == _JSONATA:
            prepared = data

            def jsonata_value(msg: dict) -> Any:
                if prepared.jsonata is not None and _has_parts(msg):
                    parts = msg["parts"]
                    prepared.jsonata.assign("I", parts.get("index"))
                    prepared.jsonata.assign("N", parts.get("count"))
                try:
                    return evaluate_jsonata(prepared, msg, self, undefined=UNDEFINED)
                except Exception as err:
                    raise SwitchError(f"invalid JSONata expression: {err}") from err

            return jsonata_value
        value, vt = data
        evaluate = self.evaluate

        def evaluated(msg: dict) -> Any:
            try:
                return evaluate(value, vt, msg)
            except Exception:
                return UNDEFINED

        return evaluated

    def _compile_property(self) -> Callable[[dict], Any]:
        """The property getter: a msg path is parsed once and walked through plain dicts and
        lists directly; anything else (a live object, a missing key, [msg.x] references) takes
        the general path, which reads it as JavaScript would."""
        pt = self.property_type
        if pt == "jsonata":
            return self._jsonata_property
        if pt != "msg":
            return self._typed_property
        path = self.property[4:] if self.property.startswith("msg.") else self.property
        try:
            keys = parse_property_expression(path)
        except PropertyPathError:
            keys = None
        if not keys or not all(type(k) is str or type(k) is int for k in keys):
            return self._msg_property
        if len(keys) == 1 and type(keys[0]) is str:
            key = keys[0]
            return lambda msg: msg.get(key, UNDEFINED)
        slow = self._msg_property

        def walk(msg: dict) -> Any:
            value: Any = msg
            for key in keys:
                tv = type(value)
                if tv is dict and key in value:
                    value = value[key]
                elif tv is list and type(key) is int and 0 <= key < len(value):
                    value = value[key]
                else:
                    return slow(msg)
            return value

        return walk

    # ------------------------------------------------------------------ evaluation
    def _msg_property(self, msg: dict) -> Any:
        try:
            value = get_property_or_undefined(msg, self.property)
            if value is UNDEFINED:
                # a field of a live object (msg.req.method) or a missing one: propertypath reads both
                found = get_message_property(msg, self.property)
                return UNDEFINED if found is None else found
            return value
        except PropertyPathError:
            return UNDEFINED

    def _jsonata_property(self, msg: dict) -> Any:
        try:
            return evaluate_jsonata(self.property_expr, msg, self, undefined=UNDEFINED)
        except Exception as err:
            raise SwitchError(f"invalid JSONata expression: {err}") from err

    def _typed_property(self, msg: dict) -> Any:
        pt = self.property_type
        try:
            value = self.evaluate(self.property, pt, msg)
        except Exception:
            return UNDEFINED
        return UNDEFINED if value is None and pt in ("flow", "global") else value

    def _apply_rules(self, msg: dict, prop: Any) -> list:
        parts = msg.get("parts")
        plain = self._plain_tests
        if plain is not None and self.checkall:
            onward = [msg if test(prop, msg, parts) else None for test in plain]
            self.previous_value = prop
            return onward
        onward = []
        elseflag = True
        for is_else, test in self._tests:
            if is_else:
                hit = test(elseflag, msg, parts)
                elseflag = True
            else:
                hit = test(prop, msg, parts)
            if hit:
                onward.append(msg)
                elseflag = False
                if not self.checkall:
                    break
            else:
                onward.append(None)
        self.previous_value = prop
        return onward

    # ------------------------------------------------------------------ input
    def on_input(self, msg: dict, send: Callable) -> None:
        # no done(): Node-RED's switch input handler takes only msg, so complete nodes never fire for it
        self._process(msg, True)

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
