"""Message utilities on the hot path: ids, cloning, encoded messages.

Messages are plain dicts. Cloning follows RED.util.cloneMessage: a deep copy of
plain data, except `req` and `res`, which stay shared by reference because they
wrap live HTTP objects.

A node may deliver a message in another form to a node that takes it so (a JS function
node passes its JSON text to the next one, see flowrt.js.sandbox.JSMessage): such a
message is an `EncodedMessage`, and the engine decodes it (`as_message`) wherever
anything else needs the dict: errors, complete nodes, hooks.
"""

from __future__ import annotations

import random
from typing import Any

_getrandbits = random.getrandbits


def generate_id() -> str:
    """A new 16 hex digit id, as Node-RED's RED.util.generateId()."""
    return f"{_getrandbits(64):016x}"


class EncodedMessage:
    """A message in transit in another form than a dict; `decoded()` gives the dict (once)."""

    __slots__ = ()

    def decoded(self) -> dict:
        raise NotImplementedError


def as_message(msg: Any) -> Any:
    """The dict of a message, decoding an EncodedMessage; anything else as it is."""
    return msg.decoded() if isinstance(msg, EncodedMessage) else msg


def _clone(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {k: _clone(v) for k, v in value.items()}
    if cls is list:
        return [_clone(v) for v in value]
    if cls in _IMMUTABLE:
        return value
    if cls is bytearray:
        return bytearray(value)
    if cls is set:
        return {_clone(v) for v in value}
    if cls is tuple:
        return tuple(_clone(v) for v in value)
    if isinstance(value, dict):
        return cls((k, _clone(v)) for k, v in value.items())
    if isinstance(value, list):
        return cls(_clone(v) for v in value)
    # Any other object (live handles, compiled patterns, datetimes) is shared.
    return value


_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def clone_message(msg: dict) -> dict:
    """Deep-clone a message, keeping msg['req'] and msg['res'] shared."""
    if type(msg) is not dict:
        return _clone(msg)
    out = {}
    for key, value in msg.items():
        if key == "req" or key == "res":
            out[key] = value
        else:
            out[key] = _clone(value)
    return out


def clone_value(value: Any) -> Any:
    """Deep-clone plain data (dicts, lists, bytearrays); other objects are shared."""
    return _clone(value)
