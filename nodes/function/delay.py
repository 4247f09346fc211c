"""The delay node: delay each message (fixed, random or by msg.delay), or limit
the rate of messages (queue, drop, burst, per-topic fair queue, timed release).

`msg.reset` clears what is held, `msg.flush` releases it (all, or a count).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from flowrt import Node, register_type
from flowrt.lang.jsvalues import is_nan, js_number, parse_float
from flowrt.util import clone_message, monotonic

_UNITS_MS = {"milliseconds": 1, "seconds": 1000, "minutes": 60_000, "hours": 3_600_000, "days": 86_400_000}
_RATE_MS = {"second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


#: At most this many releases per timer tick when the rate's period is under a millisecond.
CATCH_UP = 100


def _unit_ms(table: dict[str, int], unit: Any) -> int:
    """Node-RED compares units with ===: anything else (a number, an object) means seconds."""
    return table.get(unit, 1000) if isinstance(unit, str) else 1000


def _num(value: Any) -> float:
    n = js_number(value if value is not None else "")
    return 0 if is_nan(n) else n


class _Held:
    """One message waiting on a timer."""

    __slots__ = ("msg", "send", "done", "handle", "fire")

    def __init__(self, msg: dict, send: Callable, done: Callable) -> None:
        self.msg = msg
        self.send = send
        self.done = done
        self.handle: Any = None
        self.fire: Callable[[], None] | None = None


@register_type("delay")
class DelayNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "pauseType": {"enum": ["delay", "delayv", "random", "rate", "queue", "timed", "burst"]},
            "timeout": {"type": ["number", "string"]},
            "timeoutUnits": {"type": "string"},
            "rate": {"type": ["number", "string"]},
            "nbRateUnits": {"type": ["number", "string"]},
            "rateUnits": {"type": "string"},
            "randomFirst": {"type": ["number", "string"]},
            "randomLast": {"type": ["number", "string"]},
            "randomUnits": {"type": "string"},
            "drop": {"type": "boolean"},
            "allowrate": {"type": "boolean"},
            "outputs": {"type": ["integer", "string"]},
        },
    }

    def setup(self) -> None:
        n = self.config
        self.pause_type = n.get("pauseType")
        self.timeout = _num(n.get("timeout")) * _unit_ms(_UNITS_MS, n.get("timeoutUnits"))
        rate = _num(n.get("rate"))
        self.burst = rate
        nb = _num(n.get("nbRateUnits"))
        unit = _unit_ms(_RATE_MS, n.get("rateUnits"))
        self.rate = unit / rate if rate else float("inf")
        self.timer = nb * unit
        self.rate *= nb if nb > 0 else 1
        runit = _unit_ms(_UNITS_MS, n.get("randomUnits"))
        self.random_first = _num(n.get("randomFirst")) * runit
        self.random_last = _num(n.get("randomLast")) * runit
        self.diff = self.random_last - self.random_first
        self.drop = bool(n.get("drop"))
        self.allowrate = bool(n.get("allowrate"))
        self.fixedrate = self.rate
        try:
            self.n_outputs = int(n.get("outputs") or 1)
        except (TypeError, ValueError):
            self.n_outputs = 1
        self.held: list[_Held] = []  # delay modes
        self.buffer: list[_Held] = []  # rate modes
        self._interval: Any = None
        self._busy: Any = None
        self.last_sent: float | None = None
        self.inflight = 0
        self._burst_timers: list[Any] = []
        if self.pause_type in ("queue", "timed"):
            self._start_interval(self._release_queue)
        elif self.pause_type == "burst":
            self.status({"fill": "green", "shape": "ring", "text": ""})

    # ------------------------------------------------------------------ helpers
    def _start_interval(self, callback: Callable[[], None]) -> None:
        """Call `callback` every `self.rate` ms. A timer cannot fire more often than about once
        a millisecond (nor can Node.js's setInterval, so Node-RED tops out near 1,000 msg/s
        whatever rate is set): a tick that comes late runs the callback once for each period
        gone by, at most CATCH_UP times, so a rate above 1,000 msg/s is the rate configured
        (issue 19: 10,000 msg/s gave ~900 in both runtimes)."""
        self._stop_interval()
        period = max(0.0, self.rate / 1000)
        state: dict[str, Any] = {"handle": None, "due": monotonic(self) + period}

        def tick() -> None:
            handle = state["handle"] = self.call_later(period, tick)
            self._interval = handle
            now = monotonic(self)
            runs = 1
            if 0 < period < 0.001:
                runs = min(CATCH_UP, max(1, int((now - state["due"]) / period) + 1))
            state["due"] = max(state["due"] + runs * period, now - period)
            for _ in range(runs):
                callback()
                if self._interval is not handle:  # the callback stopped or restarted the interval
                    break

        state["handle"] = self.call_later(period, tick)
        self._interval = state["handle"]

    def _stop_interval(self) -> None:
        if self._interval is not None:
            self.cancel_timer(self._interval)
            self._interval = None

    def _report_depth(self) -> None:
        if self._busy is None:

            def report() -> None:
                self._busy = None
                self.status({"fill": "blue", "shape": "dot", "text": len(self.buffer)})

            self._busy = self.call_later(0.5, report)

    # ------------------------------------------------------------------ delay modes
    def _hold(self, msg: dict, send: Callable, done: Callable, wait_ms: float, on_fire: Callable) -> _Held:
        item = _Held(msg, send, done)

        def fire() -> None:
            self.cancel_timer(item.handle)
            if item in self.held:
                self.held.remove(item)
            on_fire(item)

        item.fire = fire
        item.handle = self.call_later(wait_ms / 1000, fire)
        return item

    def _clear_held(self, show: bool) -> None:
        held, self.held = self.held, []
        for item in held:
            self.cancel_timer(item.handle)
            item.done()
        if show:
            self.status({"fill": "blue", "shape": "ring", "text": 0})
        else:
            self.status({})

    def _flush_held(self, count: Any) -> None:
        length = len(self.held)
        if isinstance(count, (int, float)) and not isinstance(count, bool):
            length = min(int(count // 1), length)
        for _ in range(length):
            if self.held:
                self.held[0].fire()
        self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})

    def _input_delay(self, msg: dict, send: Callable, done: Callable) -> None:
        pause = self.pause_type
        if pause == "delay":
            wait = self.timeout
        elif pause == "delayv":
            wait = _num(self.timeout)
            if "delay" in msg and not is_nan(parse_float(msg["delay"])):
                wait = parse_float(msg["delay"])
            wait = max(wait, 0)
        else:
            wait = self.random_first + self.diff * random.random()

        def on_fire(item: _Held) -> None:
            if pause == "delay":
                if self.timeout > 1000:
                    self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})
                item.send(item.msg)
            elif pause == "delayv":
                if not self.held:
                    self.status({})
                item.send(item.msg)
                self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})
            else:
                item.send(item.msg)
                if self.timeout >= 1000:
                    self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})
            item.done()

        item = self._hold(msg, send, done, wait, on_fire)
        if len(msg) == 2 and "flush" in msg:
            self.cancel_timer(item.handle)
            done()
        else:
            self.held.append(item)
        if "reset" in msg:
            self._clear_held(True)
            if pause == "delay":
                return
        if "flush" in msg:
            self._flush_held(msg["flush"])
            done()
            if pause == "delay":
                return
        if pause == "delay":
            if self.timeout > 1000:
                self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})
        elif pause == "delayv":
            self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})
        elif self.timeout >= 1000:
            self.status({"fill": "blue", "shape": "dot", "text": len(self.held)})

    # ------------------------------------------------------------------ rate modes
    def _send_from_buffer(self) -> None:
        if not self.buffer:
            self._stop_interval()
        if self.buffer:
            item = self.buffer.pop(0)
            if len(item.msg) > 1:
                item.send(item.msg)
                item.done()
        self._report_depth()

    def _max_kept(self) -> int:
        try:
            return int(self.settings.get("nodeMessageBufferMaxLength") or 0)
        except (TypeError, ValueError):
            return 0

    def _rate_value(self, msg: dict) -> float | None:
        if self.allowrate and "rate" in msg and not is_nan(parse_float(msg["rate"])):
            return msg["rate"]
        return None

    def _input_rate(self, msg: dict, send: Callable, done: Callable) -> None:
        if not self.drop:
            m = clone_message(msg)
            m.pop("flush", None)
            if len(m) > 1:
                if self._interval is not None:
                    rate = self._rate_value(m)
                    if rate is not None and self.rate != rate:
                        self.rate = _num(rate)
                        self._start_interval(self._send_from_buffer)
                    max_msgs = self._max_kept()
                    if max_msgs > 0 and len(self.buffer) >= max_msgs:
                        self.buffer = []
                        self.error("too many messages queued", m)
                    elif msg.get("toFront") is True:
                        self.buffer.insert(0, _Held(m, send, done))
                        self._report_depth()
                    else:
                        self.buffer.append(_Held(m, send, done))
                        self._report_depth()
                else:
                    rate = self._rate_value(m)
                    if rate is not None:
                        self.rate = _num(rate)
                    if "reset" in msg:
                        if "flush" in msg:
                            self.buffer.append(_Held(m, send, done))
                    else:
                        send(m)
                    self._report_depth()
                    self._start_interval(self._send_from_buffer)
                    done()
            if "flush" in msg:
                length = len(self.buffer)
                flush = msg["flush"]
                if isinstance(flush, (int, float)) and not isinstance(flush, bool):
                    length = min(int(flush // 1), length)
                if length <= 0:
                    self._stop_interval()
                else:
                    while length > 0:
                        item = self.buffer.pop(0)
                        item.msg.pop("flush", None)
                        item.msg.pop("reset", None)
                        if len(item.msg) > 1:
                            self.send(item.msg)
                            item.done()
                        length -= 1
                    self._start_interval(self._send_from_buffer)
                self.status({"fill": "blue", "shape": "dot", "text": len(self.buffer)})
                done()
        elif "reset" not in msg:
            rate = self._rate_value(msg)
            if rate is not None:
                self.rate = _num(rate)
            now = monotonic(self)
            if self.last_sent is None or (now - self.last_sent) * 1000 > self.rate:
                self.last_sent = now
                send(msg)
            elif self.n_outputs == 2:
                send([None, msg])
            done()
        if "reset" in msg:
            if msg.get("flush") is None:
                self._stop_interval()
                self.last_sent = None
            self.buffer = []
            self.rate = self.fixedrate
            self.status({"fill": "blue", "shape": "ring", "text": 0})
            done()

    def _input_burst(self, msg: dict, send: Callable, done: Callable) -> None:
        if "reset" in msg:
            for handle in self._burst_timers:
                self.cancel_timer(handle)
            self._burst_timers = []
            self.inflight = 0
            self.status({"fill": "green", "shape": "ring", "text": ""})
            done()
            return
        if self.inflight < self.burst:
            self.inflight += 1
            send(msg)

            def expire() -> None:
                if self.inflight == self.burst:
                    self.status({"fill": "green", "shape": "ring", "text": ""})
                self.inflight -= 1

            self._burst_timers.append(self.call_later(self.timer / 1000, expire))
        else:
            if self.n_outputs == 2:
                send([None, msg])
            self.status({"fill": "red", "shape": "dot", "text": ""})
        done()

    def _release_queue(self) -> None:
        if self.pause_type == "queue":
            if self.buffer:
                item = self.buffer.pop(0)
                item.send(item.msg)
                item.done()
        else:
            while self.buffer:
                item = self.buffer.pop(0)
                item.send(item.msg)
                item.done()
        self._report_depth()

    def _input_queue(self, msg: dict, send: Callable, done: Callable) -> None:
        rate = self._rate_value(msg)
        if rate is not None and self.rate != rate:
            self.rate = _num(rate)
            self._start_interval(self._send_from_buffer)
        if "topic" not in msg:
            msg["topic"] = "_none_"
        hit = False
        for i, item in enumerate(self.buffer):
            if msg["topic"] == item.msg.get("topic"):
                if self.n_outputs == 2:
                    send([None, item.msg])
                item.done()
                self.buffer[i] = _Held(msg, send, done)
                hit = True
                break
        if not hit:
            self.buffer.append(_Held(msg, send, done))
            self._report_depth()
        if "flush" in msg:
            length = len(self.buffer)
            flush = msg["flush"]
            if isinstance(flush, (int, float)) and not isinstance(flush, bool):
                length = int(flush // 1)
            while length > 0 and self.buffer:
                item = self.buffer.pop(0)
                item.msg.pop("flush", None)
                item.msg.pop("reset", None)
                if len(item.msg) > 2:
                    self.send(item.msg)
                    item.done()
                length -= 1
            self.status({})
            done()
        if "reset" in msg:
            while self.buffer:
                self.buffer.pop(0).done()
            self.rate = self.fixedrate
            self.status({"text": "reset"})
            done()

    # ------------------------------------------------------------------ dispatch
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        pause = self.pause_type
        if pause in ("delay", "delayv", "random"):
            self._input_delay(msg, send, done)
        elif pause == "rate":
            self._input_rate(msg, send, done)
        elif pause == "burst":
            self._input_burst(msg, send, done)
        elif pause in ("queue", "timed"):
            self._input_queue(msg, send, done)

    def on_close(self, removed: bool) -> None:
        self._stop_interval()
        if self.pause_type in ("delay", "delayv", "random"):
            self._clear_held(False)
            return
        for handle in self._burst_timers:
            self.cancel_timer(handle)
        buffer, self.buffer = self.buffer, []
        for item in buffer:
            item.done()
        self.status({})
