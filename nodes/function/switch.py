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

    # ------------------------------------------------------------------ evaluation
    def _get_property(self, msg: dict) -> Any:
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
                return evaluate_jsonata(self.property_expr, msg, self, undefined=UNDEFINED)
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
            if has_parts and data.jsonata is not None:
                parts = msg["parts"]
                data.jsonata.assign("I", parts.get("index"))
                data.jsonata.assign("N", parts.get("count"))
            try:
                return evaluate_jsonata(data, msg, self, undefined=UNDEFINED)
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
