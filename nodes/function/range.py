"""The range node: scale a numeric property from one range to another."""

from __future__ import annotations

import math
from collections.abc import Callable

from flowrt import Node, register_type
from flowrt.lang.jsvalues import is_nan, js_number
from flowrt.lang.jsvalues import js_string as js_str
from flowrt.lang.propertypath import get_message_property, has_message_property, set_message_property


def _js_round(value: float) -> float:
    """Math.round: halves round towards +Infinity."""
    return math.floor(value + 0.5)


@register_type("range")
class RangeNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "action": {"enum": ["scale", "clamp", "roll", "drop"]},
            "round": {"type": ["boolean", "string"]},
            "minin": {"type": ["number", "string"]},
            "maxin": {"type": ["number", "string"]},
            "minout": {"type": ["number", "string"]},
            "maxout": {"type": ["number", "string"]},
            "property": {"type": "string"},
        },
    }

    def setup(self) -> None:
        n = self.config
        self.action = n.get("action")
        self.round = bool(n.get("round") or False)
        self.minin = js_number(n.get("minin"))
        self.maxin = js_number(n.get("maxin"))
        self.minout = js_number(n.get("minout"))
        self.maxout = js_number(n.get("maxout"))
        if self.minin > self.maxin:
            self.minin, self.maxin = self.maxin, self.minin
            self.minout, self.maxout = self.maxout, self.minout
        if self.round:
            self.maxout = math.floor(self.maxout)
            self.minout = math.ceil(self.minout)
        self.property = n.get("property") or "payload"

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        value = get_message_property(msg, self.property)
        if value is None and not has_message_property(msg, self.property):
            send(msg)  # no value (undefined): pass the message on; null is Number(null), 0
            done()
            return
        n = js_number(value)
        if is_nan(n):
            self.log(f"Not a number: {js_str(value)}")
            done()
            return
        minin, maxin, minout, maxout = self.minin, self.maxin, self.minout, self.maxout
        if self.action == "drop" and (n < minin or n > maxin):
            done()
            return
        if self.action == "clamp":
            n = min(max(n, minin), maxin)
        elif self.action == "roll":
            divisor = maxin - minin
            n = math.fmod(math.fmod(n - minin, divisor) + divisor, divisor) + minin
        try:
            result = (n - minin) / (maxin - minin) * (maxout - minout) + minout
        except ZeroDivisionError:
            result = float("nan")
        if self.round and not is_nan(result) and not math.isinf(result):
            result = int(_js_round(result))
        elif isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
            result = int(result)
        set_message_property(msg, self.property, result)
        send(msg)
        done()
