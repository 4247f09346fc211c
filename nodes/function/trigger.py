"""The trigger node: send a message, then (after a delay, unless reset or
extended) a second one; or resend the first on an interval. Per topic or for all
messages; msg.reset (or a payload equal to the reset value) stops it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowrt import Node, register_type
from flowrt.lang.jsvalues import is_nan, js_number, parse_float
from flowrt.lang.jsvalues import js_string as js_str
from flowrt.lang.mustache import render
from flowrt.lang.propertypath import PropertyPathError, get_message_property
from flowrt.util import clone_message, clone_value


@register_type("trigger")
class TriggerNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "op1": {},
            "op2": {},
            "op1type": {"type": "string"},
            "op2type": {"type": "string"},
            "duration": {"type": ["number", "string"]},
            "units": {"enum": ["ms", "s", "min", "hr"]},
            "extend": {"type": ["boolean", "string"]},
            "overrideDelay": {"type": "boolean"},
            "reset": {"type": "string"},
            "bytopic": {"enum": ["all", "topic"]},
            "topic": {"type": "string"},
            "outputs": {"type": ["integer", "string"]},
        },
    }

    def setup(self) -> None:
        n = self.config
        self.bytopic = n.get("bytopic") or "all"
        self.op1: Any = n.get("op1") if n.get("op1") not in (None, "") else "1"
        self.op2: Any = n.get("op2") if n.get("op2") not in (None, "") else "0"
        self.op1type = n.get("op1type") or "str"
        self.op2type = n.get("op2type") or "str"
        if self.op1type == "date" and self.op1 == "1":
            self.op1 = ""
        if self.op2type == "date" and self.op2 == "0":
            self.op2 = ""
        self.second = js_str(n.get("outputs")) == "2"
        self.topic = n.get("topic") or "topic"
        for which in ("op1", "op2"):
            if getattr(self, which + "type") == "val":
                value = getattr(self, which)
                if value in ("true", "false"):
                    setattr(self, which + "type", "bool")
                elif value == "null":
                    setattr(self, which + "type", "null")
                    setattr(self, which, None)
                else:
                    setattr(self, which + "type", "str")
        self.extend = n.get("extend") in (True, "true")
        self.override_delay = bool(n.get("overrideDelay"))
        self.reset = n.get("reset") or ""
        duration = parse_float(n.get("duration"))
        if is_nan(duration):
            duration = 250
        self.loop_mode = False
        if duration < 0:
            self.loop_mode = True
            duration = -duration
            self.extend = False
        units = js_str(n.get("units") or "ms")  # Node-RED compares with ==
        duration *= {"s": 1000, "min": 60_000, "hr": 3_600_000}.get(units, 1)
        self.duration = duration
        self.op1_templated = self.op1type == "str" and "{{" in js_str(self.op1)
        self.op2_templated = self.op2type == "str" and "{{" in js_str(self.op2)
        if self.op1type == "num" and not is_nan(js_number(self.op1)):
            self.op1 = js_number(self.op1)
        if self.op2type == "num" and not is_nan(js_number(self.op2)):
            self.op2 = js_number(self.op2)
        self.topics: dict[Any, dict] = {}
        self.npay: dict[Any, dict] = {}

    def _stat(self) -> dict:
        count = len(self.topics)
        if count == 0:
            return {}
        if count == 1:
            return {"fill": "blue", "shape": "dot"}
        return {"fill": "blue", "shape": "dot", "text": count}

    def _value(self, which: str, msg: dict) -> Any:
        value = getattr(self, which)
        kind = getattr(self, which + "type")
        if kind in ("str", "num"):
            return value if kind == "num" or isinstance(value, str) else js_str(value)
        if kind == "null":
            return None
        if kind in ("pay", "payl", "nul"):
            return value
        return self.evaluate(value, kind, msg)

    def _cancel(self, state: dict) -> None:
        handle = state.get("tout")
        if handle is not None and handle != 0:
            self.cancel_timer(handle)

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        try:
            topic = get_message_property(msg, self.topic)
        except PropertyPathError:
            topic = None
        if not topic:
            topic = "_none"
        if not isinstance(topic, (str, int, float, bool)):
            topic = js_str(topic)
        delay = self.duration
        if self.override_delay and "delay" in msg and not is_nan(parse_float(msg["delay"])):
            delay = parse_float(msg["delay"])
        if self.bytopic == "all":
            topic = "_none"
        state = self.topics.setdefault(topic, {})
        payload = msg.get("payload")
        if "reset" in msg or (
            self.reset != "" and "payload" in msg and payload is not None and js_str(payload) == self.reset
        ):
            self._cancel(state)
            self.topics.pop(topic, None)
            self.status(self._stat())
            done()
            return
        if self.op2type == "payl":
            self.npay[topic] = clone_message(msg)
        if state.get("tout") is None or self.loop_mode:
            self._start(msg, topic, state, delay, send)
        elif self.extend and delay > 0:
            if self.op2type == "payl":
                state["m2"] = clone_value(msg.get("payload"))
            self._cancel(state)
            state["tout"] = self.call_later(delay / 1000, lambda: self._extended_fire(msg, topic, send))
        done()

    def _start(self, msg: dict, topic: Any, state: dict, delay: float, send: Callable) -> None:
        if self.op2type == "pay":
            state["m2"] = clone_value(msg.get("payload"))
        elif self.op2_templated:
            state["m2"] = render(js_str(self.op2), msg)
        elif self.op2type != "nul":
            state["m2"] = self._value("op2", msg)
        if self.op1type == "pay":
            pass
        elif self.op1_templated:
            msg["payload"] = render(js_str(self.op1), msg)
        elif self.op1type != "nul":
            msg["payload"] = self._value("op1", msg)
        if delay == 0:
            state["tout"] = 0
        elif self.loop_mode:
            self._cancel(state)
            if self.op1type != "nul":
                msg2 = clone_message(msg)
                period = delay / 1000

                def tick() -> None:
                    state["tout"] = self.call_later(period, tick)
                    if self.op1type == "date":
                        msg2["payload"] = self.evaluate("", "date", msg2)
                    send(clone_message(msg2))

                state["tout"] = self.call_later(period, tick)
        elif state.get("tout") is None:
            state["tout"] = self.call_later(delay / 1000, lambda: self._fire(msg, topic, send))
        self.status(self._stat())
        if self.op1type != "nul":
            send(clone_message(msg))

    def _emit(self, send: Callable, msg: dict | None) -> None:
        if self.second:
            send([None, msg])
        else:
            send(msg)

    def _fire(self, msg: dict, topic: Any, send: Callable) -> None:
        state = self.topics.get(topic, {})
        if self.op2type != "nul":
            msg2 = clone_message(msg)
            if self.op2type in ("flow", "global", "date"):
                try:
                    state["m2"] = self._value("op2", msg)
                except Exception as err:
                    self.error(err)
                    return
            if self.op2type == "payl":
                self._emit(send, self.npay.pop(topic, None))
            else:
                msg2["payload"] = state.get("m2")
                self._emit(send, msg2)
        self.topics.pop(topic, None)
        self.status(self._stat())

    def _extended_fire(self, msg: dict, topic: Any, send: Callable) -> None:
        msg2 = None
        if self.op2type != "nul":
            state = self.topics.get(topic)
            if self.op2type in ("flow", "global") and state is not None:
                try:
                    state["m2"] = self._value("op2", msg)
                except Exception as err:
                    self.error(err)
                    return
            if state is not None:
                msg2 = clone_message(msg)
                msg2["payload"] = state.get("m2")
        self.topics.pop(topic, None)
        self.status(self._stat())
        self._emit(send, msg2)

    def on_close(self, removed: bool) -> None:
        for state in self.topics.values():
            self._cancel(state)
        self.topics = {}
        self.status(self._stat())
