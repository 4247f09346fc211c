"""The `split` node: one message into a sequence, described by `msg.parts`.

Strings split on a separator (`spltType` "str"), on the text of a byte sequence
("bin") or into fixed lengths ("len"); bytes the same way; arrays into chunks of
`arraySplt` items; objects into one message per key. Each output carries
`msg.parts` = {id, index, count, type, ch | len | key[, property]}, with an existing
`msg.parts` pushed onto `msg.parts.parts`. In `stream` mode strings and bytes are
split across messages: the remainder is kept for the next message and `count`
is left out.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import js_string
from flowrt.lang.propertypath import (
    PropertyPathError,
    get_message_property,
    parse_property_expression,
    set_message_property,
)
from flowrt.util import clone_message, generate_id, unescape_separator


def _parse_int(value: Any) -> int | None:
    """JavaScript parseInt: leading digits of the text, else None (NaN)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else int(value)
    text = str(value).strip()
    digits = ""
    for i, ch in enumerate(text):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return None


def _is_plain_key(prop: str) -> bool:
    """A property path of one key, not starting with msg. (payload, topic)."""
    try:
        keys = parse_property_expression(prop)
    except PropertyPathError:
        return False
    return len(keys) == 1 and type(keys[0]) is str and not prop.startswith("msg.")


@register_type("split")
class SplitNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "splt": {"type": ["string", "number"]},
            "spltType": {"enum": ["str", "bin", "len"]},
            "arraySplt": {"type": ["string", "number"]},
            "arraySpltType": {"type": "string"},
            "stream": {"type": ["boolean", "string"]},
            "addname": {"type": "string"},
            "property": {"type": "string"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.stream = cfg.get("stream") is True
        self.splt_type = cfg.get("spltType") or "str"
        self.addname = cfg.get("addname") or ""
        self.property = cfg.get("property") or "payload"
        self.splt_list: list[int] | None = None
        try:
            if self.splt_type == "str":
                if not isinstance(cfg.get("splt") or "", str):  # Node-RED's .replace throws
                    raise TypeError(f"splt must be a string, not {js_string(cfg.get('splt'))!r}")
                self.splt: Any = unescape_separator(cfg.get("splt") or "\\n")
            elif self.splt_type == "bin":
                arr = json.loads(cfg.get("splt") if isinstance(cfg.get("splt"), str) else "null")
                if not isinstance(arr, list):
                    raise ValueError("not an array")
                self.splt = bytes(int(b) & 0xFF for b in arr)
                self.splt_list = arr
            elif self.splt_type == "len":
                self.splt = _parse_int(cfg.get("splt"))
                if self.splt is None or self.splt < 1:
                    raise ValueError(f"invalid split length: {cfg.get('splt')}")
            else:
                raise ValueError(f"unknown split type: {self.splt_type}")
            array_splt = cfg.get("arraySplt")
            self.array_splt = 1 if array_splt is None else _parse_int(array_splt)
            if self.array_splt is None or self.array_splt < 1:
                raise ValueError(f"invalid array split length: {array_splt}")
        except (ValueError, TypeError) as err:
            raise NodeConfigError(f"Invalid split property: {err}") from err
        self.c = 0
        self.remainder = ""
        self.buffer = b""
        self.pending_dones: list = []

    def _flush_dones(self) -> None:
        dones, self.pending_dones = self.pending_dones, []
        for d in dones:
            d()

    def _emit(self, msg: dict, value: Any, send) -> None:
        set_message_property(msg, self.property, value)
        send(clone_message(msg))

    def on_input(self, msg: dict, send, done) -> None:
        value = get_message_property(msg, self.property)
        if value is None:
            # Node-RED only drops undefined without completing; a JSON null is dropped and done.
            if self.property in msg:
                done()
            return
        msg["parts"] = {"parts": msg["parts"]} if "parts" in msg else {}
        parts = msg["parts"]
        parts["id"] = generate_id()
        if self.property != "payload":
            parts["property"] = self.property
        msg.pop("_msgid", None)
        if isinstance(value, str):
            self._split_string(msg, parts, value, send, done)
        elif isinstance(value, list):
            self._split_array(msg, parts, value, send)
            done()
        elif isinstance(value, dict):
            parts["type"] = "object"
            count = len(value)
            for index, (key, item) in enumerate(list(value.items())):
                set_message_property(msg, self.property, item)
                if self.addname:
                    set_message_property(msg, self.addname, key)
                parts["key"] = key
                parts["index"] = index
                parts["count"] = count
                send(clone_message(msg))
            done()
        elif isinstance(value, (bytes, bytearray)):
            self._split_bytes(msg, parts, bytes(value), send, done)
        else:
            done()

    # ----- strings --------------------------------------------------------------
    def _split_string(self, msg: dict, parts: dict, value: str, send, done) -> None:
        value = (self.remainder or "") + value
        parts["type"] = "string"
        if self.splt_type == "len":
            size = self.splt
            parts["ch"] = ""
            parts["len"] = size
            count = math.ceil(len(value) / size)
            if not self.stream:
                parts["count"] = count
                self.c = 0
            pos = 0
            for _ in range(count - 1):
                parts["index"] = self.c
                self.c += 1
                self._emit(msg, value[pos : pos + size], send)
                pos += size
            if count > 1:
                self._flush_dones()
            self.remainder = value[pos:]
            if not self.stream or len(self.remainder) == size:
                parts["index"] = self.c
                self.c += 1
                self._emit(msg, self.remainder, send)
                self._flush_dones()
                done()
                self.remainder = ""
            else:
                self.pending_dones.append(done)
            return
        if self.splt_type == "bin":
            pieces = value.split(self.splt.decode("utf-8", errors="replace"))
            parts["ch"] = self.splt_list
        else:
            pieces = value.split(self.splt)
            parts["ch"] = self.splt
        self._send_pieces(msg, parts, pieces, send)
        done()

    def _send_pieces(self, msg: dict, parts: dict, pieces: list, send) -> None:
        for piece in pieces[:-1]:
            parts["index"] = self.c
            self.c += 1
            if not self.stream:
                parts["count"] = len(pieces)
            self._emit(msg, piece, send)
        if not self.stream:
            parts["index"] = self.c
            self.c += 1
            parts["count"] = len(pieces)
            self._emit(msg, pieces[-1], send)
            self.c = 0
        else:
            self.remainder = pieces[-1]

    # ----- arrays ---------------------------------------------------------------
    def _split_array(self, msg: dict, parts: dict, value: list, send) -> None:
        parts["type"] = "array"
        size = self.array_splt
        count = math.ceil(len(value) / size)
        parts["count"] = count
        parts["len"] = size
        out = clone_message(msg)
        key = self.property if _is_plain_key(self.property) else None
        for i in range(count):
            chunk: Any = value[i] if size == 1 else value[i * size : (i + 1) * size]
            if key is not None:
                out[key] = chunk  # what set_message_property does for one key of a dict
            else:
                set_message_property(out, self.property, chunk)
            out["parts"]["index"] = i
            send(clone_message(out))

    # ----- bytes ----------------------------------------------------------------
    def _split_bytes(self, msg: dict, parts: dict, value: bytes, send, done) -> None:
        buff = self.buffer + value
        parts["type"] = "buffer"
        if self.splt_type == "len":
            size = self.splt
            count = math.ceil(len(buff) / size)
            if not self.stream:
                parts["count"] = count
                self.c = 0
            parts["len"] = size
            pos = 0
            for _ in range(count - 1):
                parts["index"] = self.c
                self.c += 1
                self._emit(msg, buff[pos : pos + size], send)
                pos += size
            if count > 1:
                self._flush_dones()
            self.buffer = buff[pos:]
            if not self.stream or len(self.buffer) == size:
                parts["index"] = self.c
                self.c += 1
                self._emit(msg, self.buffer, send)
                self._flush_dones()
                done()
                self.buffer = b""
            else:
                self.pending_dones.append(done)
            return
        if self.splt_type == "bin":
            parts["ch"] = self.splt_list
            sep = self.splt
        else:
            parts["ch"] = self.splt
            sep = self.splt.encode("utf-8")
        count = buff.count(sep) + 1 if sep else 1
        if not self.stream:
            parts["count"] = count
            self.c = 0
        p = 0
        pos = buff.find(sep) if sep else -1
        while pos > -1:
            parts["index"] = self.c
            self.c += 1
            self._emit(msg, buff[p:pos], send)
            p = pos + len(sep)
            pos = buff.find(sep, p)
        if count > 1:
            self._flush_dones()
        if not self.stream and p < len(buff):
            parts["index"] = self.c
            self.c += 1
            parts["count"] = self.c
            self.c += 1
            self._emit(msg, buff[p:], send)
            self._flush_dones()
            self.buffer = b""
        else:
            self.buffer = buff[p:]
            if self.buffer:
                self.pending_dones.append(done)
        if not self.buffer:
            done()
