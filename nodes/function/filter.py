"""The filter node (type `rbe`, "report by exception"): pass a message on only
when its value changed (rbe, rbei), or moved by more (deadband) or less
(narrowband) than a gap, absolute or a percentage, per topic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from flowrt import Node, register_type
from flowrt.lang.jsvalues import UNDEFINED, is_nan, parse_float
from flowrt.lang.jsvalues import js_string as js_str
from flowrt.lang.propertypath import PropertyPathError, get_message_property, get_property_or_undefined
from flowrt.util import clone_value


@register_type("rbe")
class FilterNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "func": {"enum": ["rbe", "rbei", "deadband", "deadbandEq", "narrowband", "narrowbandEq"]},
            "gap": {"type": ["string", "number"]},
            "start": {"type": ["string", "number"]},
            "inout": {"enum": ["in", "out"]},
            "septopics": {"type": "boolean"},
            "property": {"type": "string"},
            "topi": {"type": "string"},
        },
    }

    def setup(self) -> None:
        n = self.config
        self.func = n.get("func") or "rbe"
        gap = n.get("gap") or "0"
        start = n.get("start")
        self.start: Any = "" if start is None or start == "" else start
        self.inout = n.get("inout") or "out"
        self.pc = False
        gap = js_str(gap)
        if gap.endswith("%"):
            self.pc = True
            self.g = parse_float(gap)
            self.gap = self.g
        else:
            self.gap = parse_float(gap)
        self.property = n.get("property") or "payload"
        self.topi = n.get("topi") or "topic"
        self.septopics = n.get("septopics") is not False
        self.previous: dict[Any, Any] = {}

    def on_input(self, msg: dict, send: Callable) -> None:
        # no done(): Node-RED's rbe input handler takes only msg, so complete nodes never fire for it
        self._handle(msg)

    def _handle(self, msg: dict) -> None:
        try:
            topic = get_message_property(msg, self.topi)
        except PropertyPathError:
            topic = None
        if "reset" in msg:
            if self.septopics and isinstance(topic, str) and topic != "":
                self.previous.pop(msg.get("topic"), None)
            else:
                self.previous = {}
        try:
            value = get_property_or_undefined(msg, self.property)
        except PropertyPathError:
            value = UNDEFINED
        if value is UNDEFINED:
            return  # no value: ignored
        t: Any = "_no_topic"
        if self.septopics and topic:
            t = topic if isinstance(topic, (str, int, float)) else js_str(topic)
        if self.func in ("rbe", "rbei"):
            self._report_by_exception(msg, t, value)
        else:
            self._band(msg, t, value)

    def _report_by_exception(self, msg: dict, t: Any, value: Any) -> None:
        """rbe / rbei: send when the value differs from the last one of its topic (rbei: not the
        first one)."""
        previous = self.previous
        do_send = self.func != "rbei" or t in previous
        if isinstance(value, (Mapping, list, tuple, bytes, bytearray)) or value is None:
            prev = previous.get(t)
            if not isinstance(prev, (Mapping, list, tuple, bytes, bytearray)) and prev is not None:
                previous[t] = prev = {}
            if t not in previous:
                previous[t] = prev = {}
            changed = not _same(value, prev)
        else:
            changed = t not in previous or not _strict_eq(value, previous[t])
        if changed:
            previous[t] = clone_value(value)
            if do_send:
                self.send(msg)

    def _band(self, msg: dict, t: Any, value: Any) -> None:
        """deadband / narrowband (and their Eq forms): send by the numeric distance from the
        topic's reference value."""
        n = parse_float(value)
        if is_nan(n):
            self.warn("no number found in the value")
            return
        previous = self.previous
        func = self.func
        if t not in previous and func in ("narrowband", "narrowbandEq"):
            previous[t] = n if self.start == "" else parse_float(self.start)
        if self.pc:
            prev = previous.get(t)
            gap = abs(prev * self.g / 100) if isinstance(prev, (int, float)) else 0
            gap = 0 if is_nan(gap) else gap
        else:
            gap = self.gap
        if t not in previous and func == "narrowbandEq":
            previous[t] = n
        if t not in previous:
            previous[t] = n - gap - 1
        diff = abs(n - previous[t])
        if diff == gap:
            passes = func in ("deadbandEq", "narrowband")
        elif diff > gap:
            passes = func in ("deadband", "deadbandEq")
        else:
            passes = diff < gap and func in ("narrowband", "narrowbandEq")
        if passes:
            if self.inout == "out":
                previous[t] = n
            self.send(msg)
        if self.inout == "in":
            previous[t] = n


def _strict_eq(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if isinstance(a, bool) or isinstance(b, bool):
                return False
            return a == b
        return False
    if isinstance(a, float) and math.isnan(a):
        return False
    return a == b


def _same(a: Any, b: Any) -> bool:
    """RED.util.compareObjects: deep equality of plain data."""
    if a is b:
        return True
    if isinstance(a, (bytes, bytearray)) or isinstance(b, (bytes, bytearray)):
        return (
            isinstance(a, (bytes, bytearray)) and isinstance(b, (bytes, bytearray)) and bytes(a) == bytes(b)
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (Mapping, list, tuple)) or isinstance(b, (Mapping, list, tuple)):
        return False
    return _strict_eq(a, b)
