"""The `sort` node: sorts an array property of one message, or a message sequence.

`targetType` "msg": the array at `target` is sorted by each element (or by the
JSONata `msgKey` evaluated on each element). Otherwise the messages of a
`msg.parts` sequence are held until the group is complete, then sent in order
of `seqKey` (a message property, or a JSONata expression on each message) with
`parts.index` renumbered. `order` ascending/descending; `as_num` compares as
numbers. Held messages are bounded by `nodeMessageBufferMaxLength`: beyond it
the oldest group is dropped with an error.
"""

from __future__ import annotations

import functools
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import js_gt, js_number
from flowrt.lang.jsvalues import strict_eq as js_eq
from flowrt.lang.propertypath import get_message_property, set_message_property
from flowrt.lang.typedinput import evaluate_jsonata, prepare_jsonata
from flowrt.util import error_text

TOO_MANY = "too many pending messages"


@register_type("sort")
class SortNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "order": {"enum": ["ascending", "descending"]},
            "as_num": {"type": ["boolean", "string"]},
            "target": {"type": "string"},
            "targetType": {"enum": ["msg", "seq"]},
            "msgKey": {"type": "string"},
            "msgKeyType": {"type": "string"},
            "seqKey": {"type": "string"},
            "seqKeyType": {"type": "string"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.direction = 1 if (cfg.get("order") or "ascending") == "ascending" else -1
        self.as_num = cfg.get("as_num") in (True, "true")
        self.target = cfg.get("target") or "payload"
        self.target_is_prop = cfg.get("targetType") == "msg"
        key_type = cfg.get("msgKeyType") if self.target_is_prop else cfg.get("seqKeyType")
        self.key_is_exp = key_type == "jsonata"
        self.key_prop = cfg.get("seqKey") or "payload"
        self.key_exp: Any = None
        if self.key_is_exp:
            try:
                self.key_exp = prepare_jsonata(
                    cfg.get("msgKey") if self.target_is_prop else cfg.get("seqKey")
                )
            except Exception as err:
                raise NodeConfigError(f"Invalid JSONata expression: {error_text(err)}") from err
        self.pending: dict[Any, dict] = {}
        self.pending_count = 0
        self.pending_id = 0

    def _compare(self, x: Any, y: Any) -> int:
        if self.as_num:
            x, y = js_number(x), js_number(y)
        if js_eq(x, y):
            return 0
        return self.direction if js_gt(x, y) else -self.direction

    def _sorted(self, items: list, keys: list) -> list:
        pairs = list(zip(keys, range(len(items)), strict=True))
        pairs.sort(key=functools.cmp_to_key(lambda a, b: self._compare(a[0], b[0])))
        return [items[i] for _, i in pairs]

    def _key(self, value: Any) -> Any:
        try:
            return evaluate_jsonata(self.key_exp, value, self)
        except Exception as err:
            raise ValueError(f"Invalid JSONata expression: {error_text(err)}") from err

    def on_input(self, msg: dict, send, done) -> None:
        if self.target_is_prop:
            data = get_message_property(msg, self.target)
            if isinstance(data, list):
                try:
                    keys = [self._key(e) for e in data] if self.key_is_exp else list(data)
                except ValueError as err:
                    done(str(err))
                    return
                set_message_property(msg, self.target, self._sorted(data, keys))
                send(msg)
            done()
            return
        parts = msg.get("parts")
        if not isinstance(parts, dict) or "id" not in parts or "index" not in parts:
            done()
            return
        gid = parts["id"]
        group = self.pending.get(gid)
        if group is None:
            group = self.pending[gid] = {"count": None, "infos": [], "seq": self.pending_id}
            self.pending_id += 1
        group["infos"].append((msg, send, done))
        if "count" in parts:
            group["count"] = parts["count"]
        self.pending_count += 1
        if group["count"] == len(group["infos"]):
            del self.pending[gid]
            self.pending_count -= len(group["infos"])
            self._send_group(group["infos"])
        else:
            limit = _limit(self)
            if limit > 0 and self.pending_count > limit:
                self.pending_count -= self._remove_oldest()

    def _send_group(self, infos: list) -> None:
        try:
            if self.key_is_exp:
                keys = [self._key(m) for m, _s, _d in infos]
            else:
                keys = [get_message_property(m, self.key_prop) for m, _s, _d in infos]
        except Exception as err:
            for _m, _s, d in infos[:-1]:
                d()
            infos[-1][2](str(err))
            return
        for i, (m, s, d) in enumerate(self._sorted(infos, keys)):
            m["parts"]["index"] = i
            s(m)
            d()

    def _remove_oldest(self) -> int:
        if not self.pending:
            return 0
        gid = min(self.pending, key=lambda k: self.pending[k]["seq"])
        infos = self.pending.pop(gid)["infos"]
        infos[-1][2](TOO_MANY)
        for _m, _s, d in infos[:-1]:
            d()
        return len(infos)

    def on_close(self, removed: bool) -> None:
        for group in self.pending.values():
            self.log("pending messages cleared on close")
            for _m, _s, d in group["infos"]:
                d()
        self.pending = {}
        self.pending_count = 0


def _limit(node: Node) -> int:
    try:
        return int(node.settings.get("nodeMessageBufferMaxLength") or 0)
    except (TypeError, ValueError):
        return 0
