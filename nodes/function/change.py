"""The change node: set, change, delete and move message and context properties.

Rules are compiled once in setup into small closures; the common case (set a
top-level msg property to a literal) is a single dict store per message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsregex import is_regex, js_regex, js_replacer
from flowrt.lang.jsvalues import UNDEFINED, js_number, js_typeof
from flowrt.lang.jsvalues import js_string as js_str
from flowrt.lang.propertypath import (
    PropertyPathError,
    delete_message_property,
    get_message_property,
    get_object_property,
    normalise_property_expression,
    parse_property_expression,
    property_parts_to_string,
    set_message_property,
)
from flowrt.lang.typedinput import JsonataError, evaluate_jsonata, evaluate_node_property, prepare_jsonata
from flowrt.util import clone_value, parse_context_store

_ESCAPE_RE = re.compile(r"[-\[\]{}()*+?.,\\^$|#\s]")


def _escape(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: "\\" + m.group(0), text)


def _rules_list(rules: Any) -> list:
    """Node-RED loops over `rules.length`: a number or object has none (no rules); a string's
    characters are not rules (strict-mode JavaScript throws assigning to them)."""
    if isinstance(rules, list):
        return rules
    if isinstance(rules, str):
        raise NodeConfigError(f"rules must be a list of rules, not the string {rules!r}")
    return []


class _Drop(Exception):
    """The rule reported an error: the message goes no further."""


_NOTHING = object()

#: JavaScript ``undefined`` as a rule's value: setting it deletes the target (None is null).
_UNDEFINED = UNDEFINED


def _message_value(msg: dict, expr: str) -> Any:
    """msg property `expr`, or _UNDEFINED when it is missing (a null value is None).

    Raises PropertyPathError when a parent is missing, as getMessageProperty throws."""
    value = get_message_property(msg, expr)
    if value is not None:
        return value
    parts = normalise_property_expression(expr[4:] if expr.startswith("msg.") else expr, msg)
    parent = get_object_property(msg, property_parts_to_string(parts[:-1])) if len(parts) > 1 else msg
    key = parts[-1]
    if isinstance(parent, dict):
        present = key in parent or (type(key) is int and str(key) in parent)
    elif isinstance(parent, list):
        index = int(key) if isinstance(key, str) and key.isdigit() else key
        present = type(index) is int and 0 <= index < len(parent)
    else:
        present = isinstance(key, str) and hasattr(parent, key)
    return None if present else _UNDEFINED


def _simple_key(prop: str) -> str | None:
    """The key when `prop` is a single plain msg property, else None."""
    try:
        parts = parse_property_expression(prop[4:] if prop.startswith("msg.") else prop)
    except PropertyPathError:
        return None
    if len(parts) == 1 and type(parts[0]) is str:
        return parts[0]
    return None


@register_type("change")
class ChangeNode(Node):
    done_never_fails = True  # on_input calls done() once, after send, never done(err)
    schema = {
        "type": "object",
        "properties": {
            "rules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "t": {"enum": ["set", "change", "delete", "move"]},
                        "p": {"type": "string"},
                        "pt": {"type": "string"},
                        "to": {},
                        "tot": {"type": "string"},
                        "from": {},
                        "fromt": {"type": "string"},
                        "dc": {"type": "boolean"},
                    },
                    "required": ["t"],
                },
            },
            "action": {"type": "string"},
            "property": {"type": "string"},
            "from": {},
            "to": {},
            "reg": {"type": ["boolean", "null"]},
        },
    }

    def setup(self) -> None:
        n = self.config
        rules = n.get("rules")
        if not rules:
            if rules is None:
                action = n.get("action") or ""
                rule: dict[str, Any] = {
                    "t": "set" if action == "replace" else action,
                    "p": n.get("property") or "",
                }
                if rule["t"] in ("set", "move"):
                    rule["to"] = n.get("to") or ""
                elif rule["t"] == "change":
                    rule["from"] = n.get("from") or ""
                    rule["to"] = n.get("to") or ""
                    rule["re"] = ("reg" in n and n["reg"] is None) or bool(n.get("reg"))
                rules = [rule]
            else:
                rules = []
        rules = _rules_list(rules)
        self.rules = [self._prepare_rule(dict(r)) for r in rules]
        self._steps = [self._compile_step(r) for r in self.rules]

    # ------------------------------------------------------------------ preparation
    def _prepare_rule(self, rule: dict) -> dict:
        if not rule.get("pt"):
            rule["pt"] = "msg"
        if rule.get("p") is None:
            rule["p"] = ""
        t = rule.get("t")
        if t == "change" and rule.get("re"):
            rule["fromt"] = "re"
            rule.pop("re", None)
        if t == "set" and not rule.get("tot"):
            to = rule.get("to")
            if isinstance(to, str) and to.startswith("msg."):
                rule["to"] = to[4:]
                rule["tot"] = "msg"
        if not rule.get("tot"):
            rule["tot"] = "str"
        if not rule.get("fromt"):
            rule["fromt"] = "str"
        if rule.get("to") is None and t in ("set", "change", "move"):
            rule["to"] = ""
        if t == "change" and rule["fromt"] not in ("msg", "flow", "global"):
            source = js_str(rule.get("from") if rule.get("from") is not None else "")
            if rule["fromt"] != "re":
                source = _escape(source)
            try:
                rule["fromRE"] = js_regex(source)
            except ValueError as err:  # JSRegexError
                raise NodeConfigError(f"invalid 'from' property: {err}") from err
        tot = rule["tot"]
        if tot == "num":
            rule["to"] = js_number(rule["to"])
        elif tot in ("json", "bin"):
            try:
                rule["_json"] = json.loads(rule["to"]) if isinstance(rule["to"], str) else rule["to"]
            except ValueError as err:
                raise NodeConfigError(f"invalid JSON in 'to' property: {err}") from err
        elif tot == "bool":
            rule["to"] = isinstance(rule["to"], bool) and rule["to"] or js_str(rule["to"]).lower() == "true"
        elif tot == "jsonata":
            try:
                rule["to"] = prepare_jsonata(rule["to"])
            except JsonataError as err:
                raise NodeConfigError(f"invalid JSONata expression: {err}") from err
        elif tot == "env":
            rule["to"] = self.evaluate(rule["to"], "env", None)
        return rule

    def _to_getter(self, rule: dict) -> Callable[[dict], Any]:
        """A function msg -> value for the rule's `to`; raises _Drop on a reported error."""
        tot = rule["tot"]
        to = rule["to"]
        dc = bool(rule.get("dc"))
        getter: Callable[[dict], Any]
        if tot == "json":
            parsed = rule["_json"]

            def getter(msg: dict) -> Any:
                return clone_value(parsed)

        elif tot == "bin":
            data = evaluate_node_property(json.dumps(rule["_json"]), "bin", self, None)

            def getter(msg: dict) -> Any:
                return data

        elif tot == "msg":

            def getter(msg: dict) -> Any:
                return _message_value(msg, to)

        elif tot in ("flow", "global"):

            def getter(msg: dict) -> Any:
                # a missing key, or a store that fails, is undefined (context holds no null)
                try:
                    value = self.evaluate(to, tot, msg)
                except Exception:
                    return _UNDEFINED
                return _UNDEFINED if value is None else value

        elif tot == "date":

            def getter(msg: dict) -> Any:
                return self.evaluate(to, tot, msg)

        elif tot == "jsonata":

            def getter(msg: dict) -> Any:
                try:
                    return evaluate_jsonata(to, msg, self, undefined=_UNDEFINED)
                except Exception as err:
                    self.error(f"invalid JSONata expression: {err}", msg)
                    raise _Drop from err

        else:
            const = to

            def getter(msg: dict) -> Any:
                return const

        if dc:
            inner = getter

            def getter(msg: dict) -> Any:
                value = inner(msg)
                return value if value is _UNDEFINED else clone_value(value)

        return getter

    def _context_target(self, pt: str):
        ctx = self.context()
        return ctx.flow if pt == "flow" else ctx.global_

    def _context_key(self, prop: str, msg: dict) -> tuple[str | None, str]:
        store, key = parse_context_store(prop)
        if "[msg" in key:
            key = normalise_property_expression(key, msg, to_string=True)
        return store, key

    def _from_parts(self, rule: dict, msg: dict) -> tuple[str | None, Any, Any]:
        """(fromType, fromValue, fromRE) for a change rule."""
        fromt = rule["fromt"]
        if fromt in ("msg", "flow", "global"):
            if fromt == "msg":
                value = get_message_property(msg, rule.get("from") or "")
            else:
                store, key = self._context_key(js_str(rule.get("from") or ""), msg)
                try:
                    value = self._context_target(fromt).get(key, store)
                except Exception as err:
                    self.error(err, msg)
                    raise _Drop from err
            if isinstance(value, bool):
                return "bool", value, None
            if isinstance(value, (int, float)):
                return "num", value, None
            if is_regex(value):
                return "re", value, value
            if isinstance(value, str):
                return "str", value, js_regex(_escape(value))
            self.error(f"invalid 'from' property: unsupported type: {js_typeof(value)}", msg)
            raise _Drop
        return fromt, rule.get("from"), rule.get("fromRE")

    # ------------------------------------------------------------------ compile
    def _compile_step(self, rule: dict) -> Callable[[dict], None]:
        t = rule["t"]
        if t == "move":
            pt, tot, p, to = rule["pt"], rule["tot"], rule["p"], js_str(rule["to"])
            if tot != pt or (to in p and p != to):
                seq = [
                    {"t": "set", "p": to, "pt": tot, "to": p, "tot": pt},
                    {"t": "delete", "p": p, "pt": pt},
                ]
            else:
                seq = [
                    {"t": "set", "p": "_temp_move", "pt": tot, "to": p, "tot": pt},
                    {"t": "delete", "p": p, "pt": pt},
                    {"t": "set", "p": to, "pt": tot, "to": "_temp_move", "tot": pt},
                    {"t": "delete", "p": "_temp_move", "pt": pt},
                ]
            steps = [self._compile_step(r) for r in seq]

            def move(msg: dict) -> None:
                for step in steps:
                    step(msg)

            return move
        if t == "set":
            return self._compile_set(rule)
        if t == "delete":
            return self._compile_delete(rule)
        if t == "change":
            return self._compile_change(rule)
        return _no_op  # a rule without a known action does nothing, as in Node-RED

    def _compile_set(self, rule: dict) -> Callable[[dict], None]:
        pt, prop = rule["pt"], js_str(rule["p"])
        get_to = self._to_getter(rule)
        if pt == "msg":
            key = _simple_key(prop)
            if key is not None and rule["tot"] in ("str", "num", "bool") and not rule.get("dc"):
                const = rule["to"]

                def set_const(msg: dict) -> None:
                    msg[key] = const

                return set_const

            def set_msg(msg: dict) -> None:
                value = get_to(msg)
                try:
                    if value is _UNDEFINED:  # as setMessageProperty(msg, p, undefined): delete, no parents
                        done = delete_message_property(msg, prop)
                    else:
                        done = set_message_property(msg, prop, value)
                    if not done:
                        self.warn(f"Cannot set property of non-object type: {prop}")
                except PropertyPathError:
                    pass

            return set_msg
        if pt in ("flow", "global"):

            def set_ctx(msg: dict) -> None:
                value = get_to(msg)
                self._set_context(pt, prop, None if value is _UNDEFINED else value, msg)

            return set_ctx
        raise NodeConfigError(f"unsupported property type {pt!r}")

    def _set_context(self, pt: str, prop: str, value: Any, msg: dict) -> None:
        try:
            store, key = self._context_key(prop, msg)
            self._context_target(pt).set(key, value, store)
        except Exception as err:
            self.error(err, msg)
            raise _Drop from err

    def _compile_delete(self, rule: dict) -> Callable[[dict], None]:
        pt, prop = rule["pt"], js_str(rule["p"])
        if pt == "msg":
            key = _simple_key(prop)
            if key is not None:

                def delete_key(msg: dict) -> None:
                    msg.pop(key, None)

                return delete_key

            def delete_msg(msg: dict) -> None:
                try:
                    delete_message_property(msg, prop)
                except PropertyPathError:
                    pass

            return delete_msg

        def delete_ctx(msg: dict) -> None:
            self._set_context(pt, prop, None, msg)

        return delete_ctx

    def _compile_change(self, rule: dict) -> Callable[[dict], None]:
        pt, prop = rule["pt"], js_str(rule["p"])
        get_to = self._to_getter(rule)  # undefined stays undefined: String.replace writes "undefined"

        to_bool = rule["tot"] == "bool"

        def changed(current: Any, msg: dict) -> Any:
            """The new value, or _NOTHING to leave the property alone."""
            value = get_to(msg)
            from_type, from_value, from_re = self._from_parts(rule, msg)
            if isinstance(current, str):
                if (
                    from_type in ("num", "bool", "str")
                    and current == from_value
                    and isinstance(from_value, str)
                ):
                    return value
                if from_re is None:
                    # JavaScript replaces the text "undefined" when there is no pattern
                    return current.replace("undefined", js_str(value), 1)
                if is_regex(from_re):
                    result = from_re.sub(js_replacer(js_str(value)), current)
                else:
                    result = current
                if to_bool and result == js_str(value):
                    result = value
                return result
            if isinstance(current, (int, float)) and not isinstance(current, bool) and from_type == "num":
                if current == js_number(from_value):
                    return value
                return _NOTHING
            if isinstance(current, bool) and from_type == "bool":
                if js_str(current) == from_value:
                    return value
            return _NOTHING

        if pt == "msg":

            def change_msg(msg: dict) -> None:
                try:
                    current = get_message_property(msg, prop)
                except PropertyPathError:
                    get_to(msg)
                    return
                new = changed(current, msg)
                if new is not _NOTHING:
                    try:
                        if new is _UNDEFINED:
                            delete_message_property(msg, prop)
                        else:
                            set_message_property(msg, prop, new)
                    except PropertyPathError:
                        pass

            return change_msg

        def change_ctx(msg: dict) -> None:
            try:
                store, key = self._context_key(prop, msg)
                target = self._context_target(pt)
                current = target.get(key, store)
            except Exception as err:
                self.error(err, msg)
                raise _Drop from err
            new = changed(current, msg)
            if new is not _NOTHING:
                self._set_context(pt, prop, None if new is _UNDEFINED else new, msg)

        return change_ctx

    # ------------------------------------------------------------------ input
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        for step in self._steps:
            try:
                step(msg)
            except _Drop:
                return
            except (PropertyPathError, TypeError):
                # as Node-RED: a rule that cannot be applied leaves the message as it is
                continue
        send(msg)
        done()


def _no_op(msg: dict) -> None:
    return None
