"""debug: shows messages (Node-RED's 21-debug.js).

There is no editor sidebar: what Node-RED would publish to the sidebar is
printed to stdout as one readable line, `[debug:<name or id>] <value>`, and
handed, as the structured message the sidebar would get ({id, z, path, name,
topic, property, msg, format}, msg encoded as Node-RED's encodeObject does),
to any callable in `DebugNode.listeners` (called as `listener(node, data)`).
`console: true` also writes the value to the runtime log at info level.
`tostatus` shows the value (or a counter) as the node's status.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from flowrt import Node, register_type
from flowrt.lang.jsregex import is_regex
from flowrt.lang.jsvalues import UNDEFINED, JSRegExp, js_length, js_number_text, js_truncate
from flowrt.lang.propertypath import PropertyPathError, get_property_or_undefined
from flowrt.lang.typedinput import TypedInputError, prepare_jsonata
from flowrt.util import monotonic

_MISSING = UNDEFINED  # JavaScript undefined, where it differs from null


# ----- encoding for the "sidebar" (Node-RED's RED.util.encodeObject) ----------------


def _error_data(err: BaseException) -> dict:
    data: dict[str, Any] = {"name": getattr(err, "name", None) or type(err).__name__, "message": str(err)}
    if getattr(err, "stack", None):
        data["stack"] = err.stack
    code = getattr(err, "code", None)
    if code is not None:
        data["code"] = code
    if err.__cause__ is not None:
        data["cause"] = str(err.__cause__)
    return {"__enc__": True, "type": "error", "data": data}


def _to_jsonable(value: Any, max_length: int, ancestors: list, path: str, key: str = "") -> Any:
    """Node-RED's safe JSON stringify with the debug replacer, as plain JSON data."""
    if key in ("_req", "_res"):
        return {"__enc__": True, "type": "internal"}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"__enc__": True, "type": "number", "data": js_number_text(value)}
        return value
    if isinstance(value, str):
        return js_truncate(value, max_length)
    if isinstance(value, BaseException):
        return _error_data(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = list(bytes(value))
        return {"type": "Buffer", "data": data[:max_length], "__enc__": True, "length": len(data)}
    if is_regex(value):
        return {"__enc__": True, "type": "regexp", "data": _regexp_text(value)}
    if callable(value) and not isinstance(value, (dict, list)):
        return {"__enc__": True, "type": "function"}
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        for ancestor in ancestors:
            if ancestor[0] is value:
                return f"[Circular {ancestor[1]}]"
        ancestors.append((value, path))
        try:
            if isinstance(value, dict):
                return {
                    str(k): _to_jsonable(v, max_length, ancestors, f"{path}.{k}", str(k))
                    for k, v in value.items()
                }
            items = list(value)
            encoded = [
                _to_jsonable(v, max_length, ancestors, f"{path}.{i}")
                for i, v in enumerate(items[:max_length])
            ]
            if isinstance(value, (set, frozenset)):
                return {"__enc__": True, "type": "set", "data": encoded, "length": len(items)}
            if len(items) > max_length:
                return {"__enc__": True, "type": "array", "data": encoded, "length": len(items)}
            return encoded
        finally:
            ancestors.pop()
    # Anything else (live request/response objects, datetimes, ...): its text.
    try:
        text = str(value)
    except Exception:
        text = f"[{type(value).__name__}]"
    return js_truncate(text, max_length)


def _regexp_text(pattern: Any) -> str:
    if isinstance(pattern, JSRegExp):
        return str(pattern)
    flags = ("i" if pattern.flags & re.IGNORECASE else "") + ("m" if pattern.flags & re.MULTILINE else "")
    return f"/{pattern.pattern}/{flags}"


def _stringify(value: Any, max_length: int) -> str:
    data = _to_jsonable(value, max_length, [], "~")
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_value(value: Any, max_length: int = 1000) -> tuple[str, str]:
    """(format, text) of a value as Node-RED's debug sidebar receives it."""
    try:
        if value is _MISSING:
            return "undefined", "(undefined)"
        if value is None:
            return "null", "(undefined)"
        if isinstance(value, BaseException):
            data = _error_data(value)
            return "error", json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            return f"buffer[{len(raw)}]", raw.hex()[:max_length]
        if isinstance(value, bool):
            return "boolean", "true" if value else "false"
        if isinstance(value, (int, float)):
            return "number", js_number_text(value)
        if isinstance(value, str):
            return f"string[{js_length(value)}]", js_truncate(value, max_length)
        if isinstance(value, (list, tuple)):
            return f"array[{len(value)}]", _stringify(value, max_length)
        if isinstance(value, (set, frozenset)):
            return f"set[{len(value)}]", _stringify(value, max_length)
        if isinstance(value, dict):
            return "Object", _stringify(value, max_length)
        if is_regex(value):
            return "regexp", _regexp_text(value)
        if callable(value):
            return "function", "[function]"
        text = str(value)
        return type(value).__name__, text[:max_length] + "..." if len(text) > max_length else text
    except Exception as err:  # never let showing a value break a flow
        data = {"__enc__": True, "type": "error", "data": {"message": f"encodeObject Error: {err}"}}
        return "error", json.dumps(data)


# ----- util.inspect-like rendering for console logging ------------------------------

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def inspect(value: Any, depth: int = 10, _seen: tuple = ()) -> str:
    """A compact rendering in the style of Node's util.inspect ({ payload: 'test' })."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_number_text(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    if isinstance(value, (bytes, bytearray)):
        shown = " ".join(f"{b:02x}" for b in bytes(value[:50]))
        more = f" ... {len(value) - 50} more bytes" if len(value) > 50 else ""
        return f"<Buffer {shown}{more}>" if value else "<Buffer >"
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, (dict, list, tuple)):
        if any(value is seen for seen in _seen):
            return "[Circular *1]"
        if depth < 0:
            return "[Object]" if isinstance(value, dict) else "[Array]"
        seen = (*_seen, value)
        if isinstance(value, dict):
            if not value:
                return "{}"
            parts = []
            for k, v in value.items():
                name = str(k) if _IDENT.match(str(k)) else inspect(str(k))
                parts.append(f"{name}: {inspect(v, depth - 1, seen)}")
            return "{ " + ", ".join(parts) + " }"
        if not value:
            return "[]"
        return "[ " + ", ".join(inspect(v, depth - 1, seen) for v in value) + " ]"
    try:
        return str(value)
    except Exception:
        return f"[{type(value).__name__}]"


def _lookup(msg: dict, path: str) -> Any:
    """A message property, or _MISSING when it (or its parent) does not exist."""
    try:
        return get_property_or_undefined(msg, path)
    except PropertyPathError:
        return _MISSING


def _bool_setting(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value == "true"
    return bool(value)


@register_type("debug")
class DebugNode(Node):
    #: Callables receiving (node, data) for every message shown "in the sidebar".
    listeners: list[Callable[[Node, dict], Any]] = []

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "active": {"type": ["boolean", "string", "null"]},
            "tosidebar": {"type": ["boolean", "string"]},
            "console": {"type": ["boolean", "string"]},
            "tostatus": {"type": ["boolean", "string"]},
            "complete": {"type": ["string", "boolean"]},
            "targetType": {"type": "string"},
            "statusVal": {"type": "string"},
            "statusType": {"type": "string"},
        },
    }

    def setup(self) -> None:
        config = self.config
        self.edit_expression = config.get("complete") if config.get("targetType") == "jsonata" else None
        if self.edit_expression is not None:
            self.complete = None
        else:
            complete = config.get("complete")
            if complete is None or complete == "" or complete is False:
                complete = "payload"
            self.complete = "true" if complete is True else str(complete)
            if self.complete == "false":
                self.complete = "payload"
        self.to_console = str(config.get("console") or False).lower() == "true"
        self.tostatus = _bool_setting(config.get("tostatus"), False)
        self.status_type = config.get("statusType") or "auto"
        self.status_val = config.get("statusVal") or self.complete
        self.tosidebar = _bool_setting(config.get("tosidebar"), True)
        active = config.get("active")
        self.active = True if active is None else _bool_setting(active, True)
        self.max_length = int(self.settings.get("debugMaxLength", 1000))
        self.status_length = int(self.settings.get("debugStatusLength", 32))
        self.counter = 0
        self._last_count_time = 0.0
        self._counter_timer = None
        self._old_state: str | None = None
        self._broken = False
        if self.tostatus:
            self.status({"fill": "grey", "shape": "ring"})
            self._old_state = "{}"
        if self.status_type == "counter":
            self.status({"fill": "blue", "shape": "ring", "text": self.counter})
        else:
            self.status({"fill": "", "shape": "", "text": ""})
        self.stat_expression = config.get("statusVal") if config.get("statusType") == "jsonata" else None

        for expression in (self.edit_expression, self.stat_expression):
            if expression is not None:
                try:
                    prepare_jsonata(expression)
                except TypedInputError:
                    self.error(f"Invalid JSONata expression: {expression}")
                    self._broken = True

    # ----- values ------------------------------------------------------------------
    def _value(self, msg: dict) -> tuple[Any, str | None]:
        """(value, property) to show; raises for a failing JSONata expression."""
        if self.edit_expression is not None:
            return self.evaluate(self.edit_expression, "jsonata", msg), None
        return _lookup(msg, self.complete), self.complete

    def _status_value(self, msg: dict) -> Any:
        if self.status_type == "auto":
            if self.complete == "true":
                return msg.get("payload", _MISSING)
            return self._value(msg)[0]
        if self.stat_expression is not None:
            return self.evaluate(self.stat_expression, "jsonata", msg)
        return _lookup(msg, self.status_val)

    def _update_status(self, msg: dict) -> None:
        if self.status_type == "counter":
            self.counter += 1
            now = monotonic(self)
            elapsed, self._last_count_time = now - self._last_count_time, now
            if elapsed > 0.1:
                self.status({"fill": "blue", "shape": "ring", "text": self.counter})
            else:
                self.cancel_timer(self._counter_timer)
                self._counter_timer = self.call_later(
                    0.2, lambda: self.status({"fill": "blue", "shape": "ring", "text": self.counter})
                )
            return
        try:
            output = self._status_value(msg)
        except Exception as err:
            self.error(f"Invalid JSONata expression: {err}")
            return
        text = output if isinstance(output, str) else inspect(output)
        fill, shape = "grey", "dot"
        if isinstance(output, dict) and output.get("fill") and output.get("shape") and output.get("text"):
            fill, shape, text = output["fill"], output["shape"], output["text"]
        if self.status_type == "auto":
            if "error" in msg:
                error = msg["error"]
                fill = "red"
                text = error.get("message") if isinstance(error, dict) else str(error)
            if "status" in msg and isinstance(msg["status"], dict):
                status = msg["status"]
                fill = status.get("fill") or "grey"
                shape = status.get("shape") or "ring"
                text = status.get("text") or ""
        text = text if isinstance(text, str) else inspect(text)
        if len(text) > self.status_length:
            text = text[: self.status_length] + "..."
        new_status = {"fill": fill, "shape": shape, "text": text}
        state = json.dumps(new_status, sort_keys=True)
        if state != self._old_state:
            self.status(new_status)
            self._old_state = state

    # ----- output --------------------------------------------------------------------
    def _console(self, value: Any, whole: bool) -> None:
        if whole or isinstance(value, (dict, list, tuple)):
            self.log("\n" + inspect(value))
        elif isinstance(value, str):
            self.log(("\n" if "\n" in value else "") + value)
        else:
            self.log(inspect(value))

    def _publish(self, msg: dict, value: Any, prop: str | None) -> None:
        fmt, text = encode_value(value, self.max_length)
        data: dict[str, Any] = {"id": self.id}
        if self.z:
            data["z"] = self.z
        if self.alias:
            data["_alias"] = self.alias
        data["path"] = self.flow.path
        if self.name:
            data["name"] = self.name
        topic = msg.get("topic")
        if topic is not None:
            data["topic"] = topic
        if prop is not None:
            data["property"] = prop
        data["msg"] = text
        data["format"] = fmt
        if self.settings.get("debugToStdout", True):
            label = self.name or self.id
            shown = f"{fmt} {text}" if fmt.startswith("buffer[") else text
            try:
                print(f"[debug:{label}] {shown}", file=sys.stdout, flush=True)
            except (OSError, ValueError):
                pass  # a closed stdout must not break the flow
        for listener in list(self.listeners):
            try:
                listener(self, data)
            except Exception as err:
                self.runtime.log.log("error", f"debug listener failed: {err!r}", self)

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        status = msg.get("status")
        if isinstance(status, dict) and isinstance(status.get("source"), dict):
            if status["source"].get("id") == self.id:
                done()
                return
        if self._broken:
            done()
            return
        if self.tostatus:
            self._update_status(msg)
        if self.complete == "true":
            if self.to_console:
                self._console(msg, True)
            if self.active and self.tosidebar:
                self._publish(msg, msg, None)
            done()
            return
        try:
            value, prop = self._value(msg)
        except Exception:
            self.error(f"Invalid JSONata expression: {self.edit_expression}")
            return
        if self.to_console:
            self._console(value, False)
        if self.active and self.tosidebar:
            self._publish(msg, value, prop)
        done()

    def on_close(self, removed: bool) -> None:
        if self._old_state:
            self.status({})
