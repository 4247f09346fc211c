"""inject: starts a flow with a message built from typed properties.

Fires when it receives a message (including `__user_inject_props__`, which
replaces the configured properties for that one injection), once after
deploy (`once`, `onceDelay` seconds, default 0.1), every `repeat` seconds, or
on a `crontab` schedule (see flowrt.lang.cron). Node-RED's 20-inject.js.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, is_leader, register_type
from flowrt.lang.cron import CronError, CronSchedule, parse_cron
from flowrt.lang.jsvalues import UNDEFINED, is_nan, js_number
from flowrt.lang.propertypath import delete_message_property, set_message_property
from flowrt.lang.typedinput import TypedInputError, evaluate_jsonata, prepare_jsonata
from flowrt.util import monotonic, wall_time

MAX_REPEAT = 2147483  # seconds: the largest interval a JavaScript timer can hold

_PROP = {
    "type": "object",
    "properties": {"p": {"type": "string"}, "v": {}, "vt": {"type": "string"}},
}
_NUMBERISH = {"type": ["number", "string", "null"]}


def _number(value: Any) -> float | None:
    """A JavaScript-style numeric reading of a config value (None for NaN/empty)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    if not str(value).strip():
        return None
    number = js_number(value)  # JavaScript's Number(): "0x10" is 16, "1_000" is NaN
    return None if is_nan(number) else float(number)


def normalise_props(config: dict) -> list[dict]:
    """The properties to inject, filling in the legacy payload/payloadType/topic fields."""
    props = config.get("props")
    if not isinstance(props, list):
        props = [
            {"p": "payload", "v": config.get("payload"), "vt": config.get("payloadType")},
            {"p": "topic", "v": config.get("topic"), "vt": "str"},
        ]
        # Node-RED copies undefined as undefined: drop keys whose value is missing.
        for prop, key in ((props[0], "payload"), (props[1], "topic")):
            if key not in config:
                del prop["v"]
        if "payloadType" not in config:
            del props[0]["vt"]
        return props
    result = []
    for prop in props:
        prop = dict(prop) if isinstance(prop, dict) else {}
        if prop.get("p") == "payload" and "v" not in prop:
            if "payload" in config:
                prop["v"] = config["payload"]
            if "payloadType" in config:
                prop["vt"] = config["payloadType"]
            else:
                prop.pop("vt", None)
        elif prop.get("p") == "topic" and prop.get("vt") == "str" and "v" not in prop:
            if "topic" in config:
                prop["v"] = config["topic"]
        result.append(prop)
    return result


@register_type("inject")
class InjectNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "props": {"type": "array", "items": _PROP},
            "payload": {},
            "payloadType": {"type": "string"},
            "topic": {},
            "repeat": _NUMBERISH,
            "crontab": {"type": ["string", "null"]},
            "once": {"type": ["boolean", "string"]},
            "onceDelay": _NUMBERISH,
            "allWorkers": {
                "type": "boolean",
                "description": "with flowrt run --workers: fire in every worker, not only the leader",
            },
        },
    }

    def setup(self) -> None:
        config = self.config
        self.props = normalise_props(config)
        self.once = bool(config.get("once")) and config.get("once") != "false"
        self.once_delay = _number(config.get("onceDelay")) or 0.1  # seconds
        self.repeat: float | None = _number(config.get("repeat"))
        if self.repeat is not None and self.repeat > MAX_REPEAT:
            self.error(f"Interval too large: {config.get('repeat')} s (the maximum is {MAX_REPEAT} s)")
            self.repeat = None
        if self.repeat is not None and self.repeat <= 0:
            self.repeat = None
        self.all_workers = config.get("allWorkers") is True
        self.crontab: str = config.get("crontab") or ""
        self.cron: CronSchedule | None = None
        if self.repeat is None and self.crontab:
            try:
                self.cron = parse_cron(self.crontab)
            except CronError as err:
                raise NodeConfigError(f"invalid crontab {self.crontab!r}: {err}") from None
        for prop in self.props:
            if prop.get("vt") == "jsonata" and prop.get("v"):
                try:
                    prepare_jsonata(prop["v"])
                except TypedInputError as err:
                    self.error(f"Invalid JSONata expression: {err}")
        self._timer = None
        if self.once:
            self._timer = self.call_later(self.once_delay, self._fire_once)
        else:
            self._start_repeater()

    # ----- timers ------------------------------------------------------------
    def _timed_inject(self) -> None:
        """A timer's injection: in one worker of `flowrt run --workers N` only (the leader),
        unless the node says `allWorkers`; a message sent to the node always injects."""
        if self.all_workers or is_leader(self):
            self.receive({})

    def _fire_once(self) -> None:
        self._timer = None
        self._timed_inject()
        self._start_repeater()

    def _start_repeater(self) -> None:
        if self.repeat is not None:
            self.debug(f"repeat = {self.repeat * 1000:g} ms")
            self._next_tick = monotonic(self) + self.repeat
            self._timer = self.call_later(self.repeat, self._tick)
        elif self.cron is not None:
            self.debug(f"crontab = {self.crontab}")
            self._schedule_cron(dt.datetime.fromtimestamp(wall_time(self)))

    def _tick(self) -> None:
        # Plan from the intended time, not the actual one, so the interval does not drift.
        self._next_tick += self.repeat
        self._timer = self.call_later(self._next_tick - monotonic(self), self._tick)
        self._timed_inject()

    def _schedule_cron(self, after: dt.datetime) -> None:
        when = self.cron.next_after(after)
        if when is None:
            self.warn(f"crontab {self.crontab!r} never fires")
            return
        delay = when.timestamp() - wall_time(self)
        self._timer = self.call_later(delay, self._cron_fire, when)

    def _cron_fire(self, planned: dt.datetime) -> None:
        # Schedule from the planned time (never fires twice for one slot), or
        # from now if the clock jumped ahead meanwhile.
        self._schedule_cron(max(planned, dt.datetime.fromtimestamp(wall_time(self)).replace(microsecond=0)))
        self._timed_inject()

    def on_close(self, removed: bool) -> None:
        self.cancel_timer(self._timer)
        self._timer = None

    # ----- injection -----------------------------------------------------------
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        props = self.props
        user_props = msg.pop("__user_inject_props__", None)
        if isinstance(user_props, list):
            props = user_props
        errors: list[str] = []
        for prop in props:
            if not isinstance(prop, dict):
                continue
            path = prop.get("p")
            if not path:
                continue
            value = prop["v"] if "v" in prop else ""
            value_type = prop["vt"] if prop.get("vt") is not None else "str"
            if value_type == "jsonata":
                if not value:
                    continue
                try:
                    result = evaluate_jsonata(value, msg, self, undefined=UNDEFINED)
                except Exception as err:
                    errors.append(f"Invalid JSONata expression: {err}")
                    continue
            else:
                try:
                    result = self.evaluate(value, value_type, msg)
                except Exception as err:
                    errors.append(str(err) or type(err).__name__)
                    continue
                if result is None and value_type in ("flow", "global"):
                    result = UNDEFINED  # a missing context key
            try:
                if result is UNDEFINED:
                    # setMessageProperty(msg, p, undefined, true): parents made, the property deleted
                    set_message_property(msg, path, None, True)
                    delete_message_property(msg, path)
                else:
                    set_message_property(msg, path, result, True)
            except Exception as err:
                errors.append(str(err))
        if errors:
            done("; ".join(errors))
        else:
            send(msg)
            done()
