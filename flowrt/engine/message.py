"""Message utilities on the hot path: ids and cloning.

Messages are plain dicts. Cloning follows RED.util.cloneMessage: a deep copy of
plain data, except `req` and `res`, which stay shared by reference because they
wrap live HTTP objects.
"""

from __future__ import annotations

import random
from typing import Any

_getrandbits = random.getrandbits


def generate_id() -> str:
    """A new 16 hex digit id, as Node-RED's RED.util.generateId()."""
    return f"{_getrandbits(64):016x}"


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
