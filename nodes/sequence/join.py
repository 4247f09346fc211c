"""The `join` node: a sequence of messages back into one.

Modes:
* "auto": groups by `msg.parts.id` and rebuilds what a split node took apart
  (string with `parts.ch`, bytes, array of `parts.len` chunks, object by `parts.key`);
* "custom" (manual): builds a string, bytes, array, key/value object or merged
  object from `property` (or the whole message) after `count` messages, after
  `timeout` seconds, or when a message carries `msg.complete`; `accumulate` keeps
  the group after sending; `msg.reset` drops it; `msg.restartTimeout` restarts
  the timer;
* "reduce": folds each complete `msg.parts` group with a JSONata expression
  (`$A` accumulator, `$I` index, `$N` count), optional fixup expression.

Buffered messages are bounded by the `nodeMessageBufferMaxLength` setting: when
the total held in all groups exceeds it, the groups are dropped and the node
reports "too many pending messages".
"""

from __future__ import annotations

import json
import math
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import is_nan, js_gt, js_number, js_string, js_typeof
from flowrt.lang.jsvalues import js_join_item as js_to_string
from flowrt.lang.propertypath import (
    PropertyPathError,
    get_message_property,
    has_message_property,
    set_message_property,
)
from flowrt.lang.typedinput import evaluate_jsonata, prepare_jsonata
from flowrt.util import clone_message, error_text, unescape_separator

TOO_MANY = "too many pending messages"


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return bytes(int(v) & 0xFF for v in value)
    return js_to_string(value).encode("utf-8")


def _is_number(value: Any) -> bool:
    """!isNaN(value) for a parts.index."""
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return not math.isnan(value)
    if isinstance(value, str):
        return not is_nan(js_number(value))
    return value is None and False


def _index(value: Any) -> int:
    return int(float(value)) if not isinstance(value, int) else value


class _Group:
    __slots__ = (
        "current_count",
        "payload",
        "target_count",
        "type",
        "msg",
        "send",
        "dones",
        "join_char",
        "array_len",
        "timeout",
        "prop",
    )

    def __init__(self, type_: str, target_count: Any, msg: dict, send) -> None:
        self.current_count = 0
        self.type = type_
        self.payload: Any = {} if type_ == "object" else []
        self.target_count = target_count
        self.msg = msg
        self.send = send
        self.dones: list = []
        self.join_char: Any = None
        self.array_len: Any = None
        self.timeout = None
        self.prop: str | None = None


@register_type("join")
class JoinNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "mode": {"enum": ["auto", "custom", "reduce"]},
            "build": {"enum": ["string", "buffer", "array", "object", "merged"]},
            "property": {"type": "string"},
            "propertyType": {"type": "string"},
            "key": {"type": "string"},
            "joiner": {"type": "string"},
            "joinerType": {"type": "string"},
            "accumulate": {"type": ["boolean", "string"]},
            "timeout": {"type": ["string", "number"]},
            "count": {"type": ["string", "number"]},
            "reduceRight": {"type": ["boolean", "string"]},
            "reduceExp": {"type": ["string", "null"]},
            "reduceInit": {"type": ["string", "number", "boolean", "null"]},
            "reduceInitType": {"type": ["string", "null"]},
            "reduceFixup": {"type": ["string", "null"]},
            "useparts": {"type": ["boolean", "string"]},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.mode = cfg.get("mode") or "auto"
        self.property = cfg.get("property") or "payload"
        self.property_type = cfg.get("propertyType") or "msg"
        if self.property_type == "full":
            self.property = "payload"
        self.key = cfg.get("key") or "topic"
        try:
            # Number(n.timeout || 0), Number(n.count || 0): "0x10" is 16, "1_000" NaN (an error here)
            self.timer = 0.0 if self.mode == "auto" else float(_config_number(cfg.get("timeout") or 0))
            self.count = float(_config_number(cfg.get("count") or 0))
        except (TypeError, ValueError) as err:
            raise NodeConfigError(f"Invalid join timeout or count: {err}") from err
        if math.isnan(self.timer):
            self.timer = 0.0
        self.count_from_parts = cfg.get("count") == ""
        self.joiner_type = cfg.get("joinerType") or "str"
        joiner = cfg.get("joiner") or ""
        if not isinstance(joiner, str) and self.joiner_type in ("str", "bin"):  # Node-RED throws here
            raise NodeConfigError(
                f"Invalid join character: joiner must be a string, not {js_string(joiner)!r}"
            )
        if self.joiner_type == "bin":
            try:
                arr = json.loads(joiner or "[]")
            except ValueError as err:
                raise NodeConfigError(f"Invalid join character: {err}") from err
            if not isinstance(arr, list):
                raise NodeConfigError("Invalid join character: not an array")
            self.joiner: Any = bytes(int(b) & 0xFF for b in arr)
        else:
            self.joiner = unescape_separator(joiner)
        self.useparts = True if "useparts" not in cfg else bool(cfg.get("useparts"))
        self.build = cfg.get("build") or "array"
        self.accumulate = cfg.get("accumulate") is True or cfg.get("accumulate") == "true"
        self.inflight: dict[Any, _Group] = {}
        # reduce mode
        self.pending: dict[Any, dict] = {}
        self.pending_count = 0
        self._queue: list[tuple[dict, Any, Any]] = []
        self._reducing = False
        if self.mode == "reduce":
            self.exp_init = cfg.get("reduceInit")
            self.exp_init_type = cfg.get("reduceInitType") or "str"
            self.reduce_right = cfg.get("reduceRight") is True or cfg.get("reduceRight") == "true"
            fixup = cfg.get("reduceFixup")
            try:
                self.reduce_expr = prepare_jsonata(cfg.get("reduceExp") or "")
                self.fixup_expr = prepare_jsonata(fixup) if fixup not in (None, "") else None
            except Exception as err:
                raise NodeConfigError(f"Invalid JSONata expression: {error_text(err)}") from err

    def _max_kept(self) -> int:
        try:
            return int(self.settings.get("nodeMessageBufferMaxLength") or 0)
        except (TypeError, ValueError):
            return 0

    # ----- completion of manual/auto groups --------------------------------------
    def _complete_send(self, part_id: Any) -> None:
        group = self.inflight.get(part_id)
        if group is None:
            return
        self.cancel_timer(group.timeout)
        group.timeout = None
        if self.mode == "auto" or not self.accumulate or "complete" in group.msg:
            self.inflight.pop(part_id, None)
        payload = group.payload
        if group.type == "array" and _len_gt_one(group.array_len):
            flat: list = []
            for item in payload:
                if isinstance(item, list):
                    flat.extend(item)
                else:
                    flat.append(item)
            payload = flat
        elif group.type == "buffer":
            pieces = [_to_bytes(p) for p in payload if p is not None]
            if group.join_char is not None:
                payload = _to_bytes(group.join_char).join(pieces)
            else:
                payload = b"".join(pieces)
        if group.type == "string":
            join_char = group.join_char
            if not isinstance(join_char, str):
                join_char = js_to_string(join_char) if join_char is not None else ","
            set_message_property(
                group.msg, group.prop or "payload", join_char.join(js_to_string(p) for p in payload)
            )
        else:
            if self.property_type == "full":
                group.msg = clone_message(group.msg)
            if isinstance(payload, list):
                payload = list(payload)
            elif isinstance(payload, dict):
                payload = dict(payload)
            set_message_property(group.msg, group.prop or "payload", payload)
        parts = group.msg.get("parts")
        if isinstance(parts, dict) and "parts" in parts:
            group.msg["parts"] = parts["parts"]
        else:
            group.msg.pop("parts", None)
        group.msg.pop("complete", None)
        group.send(clone_message(group.msg))
        dones, group.dones = group.dones, []
        for d in dones:
            d()

    def _start_timer(self, part_id: Any, group: _Group) -> None:
        if self.timer > 0:
            group.timeout = self.call_later(self.timer, self._complete_send, part_id)

    def _buffered(self) -> int:
        return sum(len(g.dones) for g in self.inflight.values())

    # ----- input -----------------------------------------------------------------------
    def on_input(self, msg: dict, send, done) -> Any:
        if self.mode == "reduce":
            return self._enqueue_reduce(msg, send, done)
        if self.property_type == "full":
            prop: Any = msg
        else:
            try:
                prop = get_message_property(msg, self.property)
            except PropertyPathError:
                self.warn(f"Message property {self.property} not found")
                done()
                return None
        part_id: Any = "_"
        parts = msg.get("parts")
        if self.mode == "auto" and not (isinstance(parts, dict) and "id" in parts):
            if "reset" in msg:
                for group in self.inflight.values():
                    self.cancel_timer(group.timeout)
                self.inflight = {}
            else:
                self.warn("Message missing msg.parts property - cannot join in 'auto' mode")
            done()
            return None
        if self.mode == "custom" and isinstance(parts, dict) and not self.useparts:
            if "parts" in parts:
                msg["parts"] = {"parts": parts["parts"]}
            else:
                del msg["parts"]
            parts = msg.get("parts")

        property_key: Any = None
        array_len: Any = None
        property_index: Any = None
        if self.mode == "auto":
            part_id = parts["id"]
            payload_type = parts.get("type")
            target_count = parts.get("count")
            join_char = parts.get("ch")
            property_key = parts.get("key")
            array_len = parts.get("len")
            property_index = parts.get("index")
            prop = get_message_property(msg, parts.get("property") or "payload")
        else:
            payload_type = self.build
            target_count = self.count
            join_char = self.joiner
            if self.count_from_parts and isinstance(parts, dict):
                target_count = parts.get("count") or 0
                if "id" in parts:
                    part_id = parts["id"]
            if self.build == "object":
                property_key = get_message_property(msg, self.key)

        if "restartTimeout" in msg:
            group = self.inflight.get(part_id)
            if group is not None:
                self.cancel_timer(group.timeout)
                self._start_timer(part_id, group)

        if "reset" in msg:
            group = self.inflight.pop(part_id, None)
            if group is not None:
                self.cancel_timer(group.timeout)
                for d in group.dones:
                    d()
            done()
            return None

        if payload_type == "object" and property_key in (None, ""):
            if self.mode == "auto":
                self.warn("Message missing 'msg.parts.key' property - cannot add to object")
            elif "complete" in msg:
                group = self.inflight.get(part_id)
                if group is not None:
                    group.msg["complete"] = msg["complete"]
                    group.send = send
                    self._complete_send(part_id)
            else:
                self.warn(f"Message missing key property 'msg.{self.key}' - cannot add to object")
            done()
            return None

        group = self.inflight.get(part_id)
        if group is None:
            if payload_type in ("object", "merged"):
                group = _Group("object", target_count, clone_message(msg), send)
            else:
                group = _Group(payload_type, target_count, clone_message(msg), send)
                if payload_type in ("string", "buffer"):
                    group.join_char = join_char
                elif payload_type == "array":
                    group.array_len = array_len
            self.inflight[part_id] = group
            self._start_timer(part_id, group)
            group.prop = (parts.get("property") if self.mode == "auto" else self.property) or None
        group.dones.append(done)

        limit = self._max_kept()
        if limit > 0 and self._buffered() > limit:
            for g in self.inflight.values():
                self.cancel_timer(g.timeout)
                for d in g.dones:
                    if d is not done:
                        d()
            self.inflight = {}
            done(TOO_MANY)
            return None

        if payload_type == "buffer" and prop is not None:
            if not isinstance(prop, (bytes, bytearray, str, list)):
                group.dones.remove(done)
                done(f"Invalid type for buffer join: {js_typeof(prop)}")
                return None

        if payload_type == "object":
            group.payload[js_to_string(property_key)] = prop
            group.current_count = len(group.payload)
        elif payload_type == "merged":
            if isinstance(prop, dict):
                for k, v in prop.items():
                    if k != "_msgid":
                        group.payload[k] = v
                group.current_count = len(group.payload)
            elif "complete" not in msg:
                self.warn("Cannot merge non-object types")
        else:
            if property_index is not None and _is_number(property_index):
                idx = _index(property_index)
                payload = group.payload
                if idx >= len(payload):
                    payload.extend([None] * (idx + 1 - len(payload)))
                if payload[idx] is None:
                    group.current_count += 1
                payload[idx] = prop
            elif prop is not None or (self.property_type != "full" and _present(msg, self.property)):
                group.payload.append(prop)
                group.current_count += 1
        group.msg.update(msg)
        group.send = send
        tcnt = group.target_count
        if isinstance(msg.get("parts"), dict):
            tcnt = group.target_count or msg["parts"].get("count")
            group.target_count = tcnt
        if (isinstance(tcnt, (int, float)) and tcnt > 0 and group.current_count >= tcnt) or "complete" in msg:
            self._complete_send(part_id)
        return None

    # ----- reduce mode ---------------------------------------------------------------
    async def _enqueue_reduce(self, msg: dict, send, done) -> None:
        self._queue.append((msg, send, done))
        if self._reducing:
            return
        self._reducing = True
        try:
            while self._queue:
                item = self._queue.pop(0)
                try:
                    await self._reduce_message(*item)
                except Exception as err:
                    item[2](err)
        finally:
            self._reducing = False

    async def _reduce_message(self, msg: dict, send, done) -> None:
        parts = msg.get("parts")
        if not isinstance(parts, dict):
            send(msg)
            done()
            return
        gid = parts.get("id")
        group = self.pending.get(gid)
        if group is None:
            group = self.pending[gid] = {"count": parts.get("count"), "msgs": []}
        if "count" in parts and group["count"] is None:
            group["count"] = parts["count"]
        group["msgs"].append((msg, send, done))
        self.pending_count += 1
        if len(group["msgs"]) == group["count"]:
            del self.pending[gid]
            self.pending_count -= len(group["msgs"])
            await self._reduce_group(group)
        limit = self._max_kept()
        if limit > 0 and self.pending_count > limit:
            for g in self.pending.values():
                for m, _s, d in g["msgs"]:
                    if m is not msg:
                        d()
            self.pending = {}
            self.pending_count = 0
            done(TOO_MANY)

    async def _reduce_group(self, group: dict) -> None:
        infos = list(group["msgs"])
        count = group["count"]
        accum = self.evaluate(self.exp_init, self.exp_init_type, {})
        if hasattr(accum, "__await__"):
            accum = await accum
        ordered = sorted(infos, key=lambda i: i[0]["parts"].get("index") or 0, reverse=self.reduce_right)
        try:
            for m, _s, _d in ordered:
                accum = self._evaluate(
                    self.reduce_expr, m, {"I": m["parts"].get("index"), "N": count, "A": accum}
                )
            if self.fixup_expr is not None:
                accum = self._evaluate(self.fixup_expr, {}, {"N": count, "A": accum})
        except Exception as err:
            for _m, _s, d in infos[:-1]:
                d()
            infos[-1][2](f"Invalid JSONata expression: {error_text(err)}")
            return
        last_msg, last_send, _ = ordered[-1]
        last_msg["payload"] = accum
        last_send(last_msg)
        for _m, _s, d in infos:
            d()

    def _evaluate(self, prepared: Any, msg: dict, variables: dict) -> Any:
        """Evaluate with $A/$I/$N bound for this evaluation only."""

        return evaluate_jsonata(prepared, msg, self, bindings=variables)

    def on_close(self, removed: bool) -> None:
        for group in self.inflight.values():
            self.cancel_timer(group.timeout)
            for d in group.dones:
                d()
        self.inflight = {}
        self.pending = {}


def _len_gt_one(value: Any) -> bool:
    return js_gt(value, 1)  # JavaScript's value > 1


def _config_number(value: Any) -> int | float:
    number = js_number(value)
    if is_nan(number):
        raise ValueError(f"not a number: {value!r}")
    return number


def _present(msg: dict, prop: str) -> bool:
    try:
        return has_message_property(msg, prop)
    except PropertyPathError:
        return False
