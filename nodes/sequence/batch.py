"""The `batch` node: groups messages into sequences.

Modes:
* "count": a sequence every `count` messages, the last `overlap` of which start
  the next one; with `honourParts` a message ending an input sequence closes
  the batch early;
* "interval": every `interval` seconds, whatever arrived (optionally an empty
  sequence: one message with a null payload when `allowEmptySequence`);
* "concat": for each topic in `topics`, one complete `msg.parts` sequence; when
  every topic has one, they are sent as a single sequence in topic order.
Outputs carry `msg.parts` = {id, index, count}, the id being the first message's
_msgid. `msg.reset` drops what is held. Held messages are bounded by
`nodeMessageBufferMaxLength`; beyond it they are dropped with an error.
"""

from __future__ import annotations

from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import is_nan, js_number
from flowrt.util import clone_message, generate_id

TOO_MANY = "too many pending messages"


def _config_number(value: object, name: str) -> float:
    """Number(value) as Node-RED reads the setting ("0x10" is 16); NaN or infinite is a clear error."""
    number = js_number(value)
    if is_nan(number) or number in (float("inf"), float("-inf")):
        raise ValueError(f"invalid {name}: {value!r}")
    return number


@register_type("batch")
class BatchNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "mode": {"enum": ["count", "interval", "concat"]},
            "count": {"type": ["string", "number"]},
            "overlap": {"type": ["string", "number"]},
            "interval": {"type": ["string", "number"]},
            "allowEmptySequence": {"type": ["boolean", "string"]},
            "topics": {"type": "array", "items": {"type": "object"}},
            "honourParts": {"type": ["boolean", "string"]},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.mode = cfg.get("mode") or "count"
        self.honour_parts = cfg.get("honourParts") in (True, "true")
        self.pending: Any = {} if self.mode == "concat" else []
        self.pending_count = 0
        self._eof = False
        self._timer = None
        try:
            if self.mode == "count":
                self.count = int(_config_number(cfg.get("count") or 1, "count"))
                self.overlap = int(_config_number(cfg.get("overlap") or 0, "overlap"))
                if self.count <= self.overlap:
                    raise NodeConfigError("Invalid count and overlap: overlap must be smaller than count")
            elif self.mode == "interval":
                self.interval = float(_config_number(cfg.get("interval") or 0, "interval"))
                self.allow_empty = cfg.get("allowEmptySequence") in (True, "true")
                self._schedule()
            elif self.mode == "concat":
                self.topics = [t.get("topic") for t in (cfg.get("topics") or []) if isinstance(t, dict)]
            else:
                raise NodeConfigError(f"Unexpected batch mode: {self.mode}")
        except (TypeError, ValueError) as err:
            raise NodeConfigError(f"Invalid batch configuration: {err}") from err

    def _limit(self) -> int:
        try:
            return int(self.settings.get("nodeMessageBufferMaxLength") or 0)
        except (TypeError, ValueError):
            return 0

    @staticmethod
    def _send_msgs(infos: list, clone: bool) -> None:
        count = len(infos)
        msg_id = infos[0][0].get("_msgid")
        for i, (m, s, _d) in enumerate(infos):
            out = clone_message(m) if clone else m
            parts = out.get("parts")
            if not isinstance(parts, dict):
                parts = out["parts"] = {}
            parts["id"] = msg_id
            parts["index"] = i
            parts["count"] = count
            s(out)

    def _drop_all(self, infos: list) -> None:
        for _m, _s, d in infos:
            d()

    # ----- interval mode ----------------------------------------------------------------------
    def _schedule(self) -> None:
        if self.interval > 0:
            self._timer = self.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        self._schedule()
        infos, self.pending = self.pending, []
        self.pending_count = 0
        if infos:
            self._send_msgs(infos, False)
            self._drop_all(infos)
        elif self.allow_empty:
            self.send({"payload": None, "parts": {"id": generate_id(), "index": 0, "count": 1}})

    # ----- input -----------------------------------------------------------------------------
    def on_input(self, msg: dict, send, done) -> None:
        if "reset" in msg:
            self._reset()
            done()
            return
        info = (msg, send, done)
        if self.mode == "count":
            self._count_input(info)
        elif self.mode == "interval":
            self.pending.append(info)
            self.pending_count += 1
            self._check_overflow_list()
        else:
            self._concat_input(info)

    def _reset(self) -> None:
        if self.mode == "concat":
            for groups in self.pending.values():
                for group in groups["groups"].values():
                    self._drop_all(group["msgs"])
            self.pending = {}
        else:
            self._drop_all(self.pending)
            self.pending = []
            if self.mode == "interval":
                self.cancel_timer(self._timer)
                self._schedule()
        self.pending_count = 0

    def _check_overflow_list(self) -> None:
        limit = self._limit()
        if limit > 0 and self.pending_count > limit:
            last = self.pending.pop()
            last[2](TOO_MANY)
            self._drop_all(self.pending)
            self.pending = []
            self.pending_count = 0

    def _count_input(self, info: tuple) -> None:
        msg = info[0]
        parts = msg.get("parts")
        if self.honour_parts and isinstance(parts, dict):
            index, count = parts.get("index"), parts.get("count")
            if isinstance(index, (int, float)) and index + 1 == count:
                self._eof = True
        queue = self.pending
        queue.append(info)
        self.pending_count += 1
        if len(queue) == self.count or self._eof:
            self._send_msgs(queue, self.overlap > 0)
            for _m, _s, d in queue[: len(queue) - self.overlap]:
                d()
            self.pending = queue[-self.overlap :] if self.overlap else []
            self.pending_count = 0
            self._eof = False
        self._check_overflow_list()

    def _concat_input(self, info: tuple) -> None:
        msg, _send, done = info
        topic = msg.get("topic")
        if topic not in self.topics:
            done()
            return
        parts = msg.get("parts")
        if not isinstance(parts, dict) or not all(k in parts for k in ("id", "index", "count")):
            done("Message without msg.parts: cannot concatenate")
            return
        p_topic = self.pending.setdefault(topic, {"groups": {}, "gids": []})
        gid = parts["id"]
        if gid not in p_topic["groups"]:
            p_topic["groups"][gid] = {"msgs": [], "count": None}
            p_topic["gids"].append(gid)
        group = p_topic["groups"][gid]
        group["msgs"].append(info)
        if group["count"] is None:
            group["count"] = parts["count"]
        self.pending_count += 1
        limit = self._limit()
        if limit > 0 and self.pending_count > limit:
            for pt in self.pending.values():
                for g in pt["groups"].values():
                    for m, _s, d in g["msgs"]:
                        d(TOO_MANY) if m is msg else d()
            self.pending = {}
            self.pending_count = 0
            return
        self._try_concat()

    def _first_group(self, topic: Any) -> dict | None:
        p_topic = self.pending.get(topic)
        if not p_topic or not p_topic["gids"]:
            return None
        return p_topic["groups"][p_topic["gids"][0]]

    def _try_concat(self) -> None:
        groups = []
        for topic in self.topics:
            group = self._first_group(topic)
            if group is None or group["count"] != len(group["msgs"]):
                return
            groups.append(group)
        infos = [info for group in groups for info in group["msgs"]]
        for topic in dict.fromkeys(self.topics):
            p_topic = self.pending[topic]
            gid = p_topic["gids"].pop(0)
            del p_topic["groups"][gid]
        self._send_msgs(infos, True)
        unique = list({id(info): info for info in infos}.values())  # a topic may be listed twice
        self._drop_all(unique)
        self.pending_count -= len(unique)

    def on_close(self, removed: bool) -> None:
        self.cancel_timer(self._timer)
        if self.mode == "concat":
            for p_topic in self.pending.values():
                for group in p_topic["groups"].values():
                    self._drop_all(group["msgs"])
            self.pending = {}
        else:
            self._drop_all(self.pending)
            self.pending = []
        self.pending_count = 0
