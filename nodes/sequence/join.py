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
from dataclasses import dataclass
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import is_nan, js_gt, js_number, js_string, js_typeof
from flowrt.lang.jsvalues import js_join_item as js_to_string
from flowrt.lang.propertypath import (
    PropertyPathError,
    get_message_property,
    has_message_property,
    parse_property_expression,
    set_message_property,
)
from flowrt.lang.typedinput import evaluate_jsonata, prepare_jsonata
from flowrt.util import clone_message, error_text, unescape_separator

TOO_MANY = "too many pending messages"
_NO_ID = object()  # msg.parts without an id: never a group's


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


@dataclass(slots=True)
class _Part:
    """One message's place in a join: its group, the kind of result, and its value."""

    id: Any
    type: Any
    count: Any
    join_char: Any
    key: Any = None
    array_len: Any = None
    index: Any = None
    value: Any = None
    property: Any = None  # the group's property (None: payload)


def _keep_only_outer_parts(msg: dict) -> None:
    """Manual mode ignores msg.parts (useparts off): only an enclosing sequence's parts stay."""
    parts = msg["parts"]
    if "parts" in parts:
        msg["parts"] = {"parts": parts["parts"]}
    else:
        del msg["parts"]


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
        self.max_kept = self._max_kept()  # read once, as Node-RED does
        # auto mode reads the sequence's property from msg.parts; `property` is only read for a
        # path that can fail (its warning), a plain key cannot
        self._property_can_fail = not _is_plain_key(self.property)
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
        if self._auto_next_part(msg, send, done):
            return None
        if self.property_type == "full" or (self.mode == "auto" and not self._property_can_fail):
            prop: Any = msg
        else:
            try:
                prop = get_message_property(msg, self.property)
            except PropertyPathError:
                self.warn(f"Message property {self.property} not found")
                done()
                return None
        parts = msg.get("parts")
        if self.mode == "auto" and not (isinstance(parts, dict) and "id" in parts):
            self._no_parts_in_auto_mode(msg)
            done()
            return None
        if self.mode == "custom" and isinstance(parts, dict) and not self.useparts:
            _keep_only_outer_parts(msg)
        part = self._auto_part(msg, prop) if self.mode == "auto" else self._custom_part(msg, prop)
        if "restartTimeout" in msg:
            self._restart_timer(part.id)
        if "reset" in msg:
            self._drop_group(part.id)
            done()
            return None
        if part.type == "object" and part.key in (None, ""):
            self._no_object_key(part.id, msg, send)
            done()
            return None
        group = self.inflight.get(part.id) or self._new_group(part, msg, send)
        group.dones.append(done)
        if self._over_limit(done):
            return None
        if part.type == "buffer" and part.value is not None:
            if not isinstance(part.value, (bytes, bytearray, str, list)):
                group.dones.remove(done)
                done(f"Invalid type for buffer join: {js_typeof(part.value)}")
                return None
        self._add_to_group(group, part, msg)
        group.msg.update(msg)
        group.send = send
        target = group.target_count
        if isinstance(msg.get("parts"), dict):
            target = group.target_count = group.target_count or msg["parts"].get("count")
        if (
            isinstance(target, (int, float)) and target > 0 and group.current_count >= target
        ) or "complete" in msg:
            self._complete_send(part.id)
        return None

    def _auto_next_part(self, msg: dict, send, done) -> bool:
        """Auto mode, the common message: a further part of an array or string sequence, at a
        plain index, with no control property and no buffer limit. Handled here as the general
        path below would (one pass, no _Part); anything else returns False and goes there."""
        if self.mode != "auto" or self._property_can_fail or self.max_kept > 0:
            return False
        parts = msg.get("parts")
        if type(parts) is not dict:
            return False
        group = self.inflight.get(parts.get("id", _NO_ID))
        index = parts.get("index")
        if (
            group is None
            or type(index) is not int
            or index < 0
            or parts.get("type") not in ("array", "string")
            or "restartTimeout" in msg
            or "reset" in msg
            or "complete" in msg
        ):
            return False
        group.dones.append(done)
        name = parts.get("property") or "payload"
        value = msg.get("payload") if name == "payload" else get_message_property(msg, name)
        payload = group.payload
        if index >= len(payload):
            payload.extend([None] * (index + 1 - len(payload)))
        if payload[index] is None:
            group.current_count += 1
        payload[index] = value
        group.msg.update(msg)
        group.send = send
        target = group.target_count = group.target_count or parts.get("count")
        if isinstance(target, (int, float)) and target > 0 and group.current_count >= target:
            self._complete_send(parts["id"])
        return True

    def _no_parts_in_auto_mode(self, msg: dict) -> None:
        """A message without msg.parts.id in auto mode: a reset drops every group, else a warning."""
        if "reset" in msg:
            for group in self.inflight.values():
                self.cancel_timer(group.timeout)
            self.inflight = {}
        else:
            self.warn("Message missing msg.parts property - cannot join in 'auto' mode")

    def _auto_part(self, msg: dict, prop: Any) -> _Part:
        """Auto mode: what msg.parts says (the split node's record of the sequence)."""
        parts = msg["parts"]
        prop_name = parts.get("property") or "payload"
        return _Part(
            id=parts["id"],
            type=parts.get("type"),
            count=parts.get("count"),
            join_char=parts.get("ch"),
            key=parts.get("key"),
            array_len=parts.get("len"),
            index=parts.get("index"),
            value=msg.get("payload") if prop_name == "payload" else get_message_property(msg, prop_name),
            property=parts.get("property") or None,
        )

    def _custom_part(self, msg: dict, prop: Any) -> _Part:
        """Manual mode: the node's settings; with `count_from_parts` the count and id of msg.parts."""
        parts = msg.get("parts")
        part_id: Any = "_"
        count = self.count
        if self.count_from_parts and isinstance(parts, dict):
            count = parts.get("count") or 0
            if "id" in parts:
                part_id = parts["id"]
        key = get_message_property(msg, self.key) if self.build == "object" else None
        return _Part(
            id=part_id,
            type=self.build,
            count=count,
            join_char=self.joiner,
            key=key,
            value=prop,
            property=self.property or None,
        )

    def _restart_timer(self, part_id: Any) -> None:
        group = self.inflight.get(part_id)
        if group is not None:
            self.cancel_timer(group.timeout)
            self._start_timer(part_id, group)

    def _drop_group(self, part_id: Any) -> None:
        group = self.inflight.pop(part_id, None)
        if group is not None:
            self.cancel_timer(group.timeout)
            for d in group.dones:
                d()

    def _no_object_key(self, part_id: Any, msg: dict, send) -> None:
        """An object join without a key: warns, except that msg.complete still completes the group."""
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

    def _new_group(self, part: _Part, msg: dict, send) -> _Group:
        if part.type in ("object", "merged"):
            group = _Group("object", part.count, clone_message(msg), send)
        else:
            group = _Group(part.type, part.count, clone_message(msg), send)
            if part.type in ("string", "buffer"):
                group.join_char = part.join_char
            elif part.type == "array":
                group.array_len = part.array_len
        self.inflight[part.id] = group
        self._start_timer(part.id, group)
        group.prop = part.property
        return group

    def _over_limit(self, done) -> bool:
        """nodeMessageBufferMaxLength exceeded: every group is dropped and `done` fails."""
        limit = self.max_kept
        if limit <= 0 or self._buffered() <= limit:
            return False
        for g in self.inflight.values():
            self.cancel_timer(g.timeout)
            for d in g.dones:
                if d is not done:
                    d()
        self.inflight = {}
        done(TOO_MANY)
        return True

    def _add_to_group(self, group: _Group, part: _Part, msg: dict) -> None:
        prop = part.value
        if part.type == "object":
            group.payload[js_to_string(part.key)] = prop
            group.current_count = len(group.payload)
        elif part.type == "merged":
            if isinstance(prop, dict):
                for k, v in prop.items():
                    if k != "_msgid":
                        group.payload[k] = v
                group.current_count = len(group.payload)
            elif "complete" not in msg:
                self.warn("Cannot merge non-object types")
        elif part.index is not None and _is_number(part.index):
            idx = _index(part.index)
            payload = group.payload
            if idx >= len(payload):
                payload.extend([None] * (idx + 1 - len(payload)))
            if payload[idx] is None:
                group.current_count += 1
            payload[idx] = prop
        elif prop is not None or (self.property_type != "full" and _present(msg, self.property)):
            group.payload.append(prop)
            group.current_count += 1

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
        limit = self.max_kept
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


def _is_plain_key(prop: str) -> bool:
    """A property path of one key (payload, topic): reading it from a message cannot fail."""
    try:
        keys = parse_property_expression(prop[4:] if prop.startswith("msg.") else prop)
    except PropertyPathError:
        return False
    return len(keys) == 1 and type(keys[0]) is str


def _present(msg: dict, prop: str) -> bool:
    try:
        return has_message_property(msg, prop)
    except PropertyPathError:
        return False
