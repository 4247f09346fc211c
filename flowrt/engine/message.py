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

import functools
import io
import pickle
import random
from collections.abc import Callable
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


# ---------------------------------------------------------------- cloning
#
# RED.util.cloneMessage is lodash's cloneDeep without msg.req and msg.res: plain data is copied,
# an object reached twice is copied once (the copies share it as the originals did) and cycles
# are kept. Here: dicts, lists, tuples, sets and bytearrays are copied (subclasses too, rebuilt
# from their items); str, int, float, bool, None, bytes and frozenset are immutable and shared;
# any other object (a live request, a datetime, a compiled pattern, UNDEFINED) is shared. A memo
# (id -> copy) made for each clone gives the sharing and the cycles.
#
# Two copiers give the same result. The Python one is fastest for small messages (a pickle round
# trip costs ~1.1 us however small); a tree of more than _PICKLE_AFTER containers, or a container
# of more than _PICKLE_ITEMS items, is copied by a pickle round trip instead (C, memoizing; objects
# that are not plain data are kept by reference through `reducer_override`). CPU per clone, min
# of 5 runs (docs/benchmarks.md, "Switch, split/join, fan-out"): 30 small dicts 9.8 us with the
# old copier (which copied shared objects twice and failed on cycles) -> 6.8 us, 200 dicts
# 95 -> 64 us, 20,000 dicts 12.0 -> 9.3 ms; the Python copier with its memo would take 11 ms
# there, without one 8 ms.

_LEAVES = frozenset({str, int, float, bool, type(None), bytes, frozenset})
_PICKLE_AFTER = 8  # containers
_PICKLE_ITEMS = 16  # in one container


class _TooBig(Exception):
    """The Python copier stops: the tree is worth a pickle round trip."""


class _NotPlain(Exception):
    """The pickle copier stops: a dict/list/tuple/set subclass, which only the Python copier
    rebuilds as it should."""


def _copy(value: Any, memo: dict, bounded: bool) -> Any:
    """A copy of a container (any other value is returned as it is); `memo` maps the id of each
    container copied so far to its copy. With `bounded`, raises _TooBig on a large tree."""
    cls = type(value)
    done = memo.get(id(value))
    if done is not None:
        return done
    if cls is dict:
        if bounded and (len(memo) >= _PICKLE_AFTER or len(value) > _PICKLE_ITEMS):
            raise _TooBig
        out: Any = {}
        memo[id(value)] = out
        for k, v in value.items():
            out[k] = v if type(v) in _LEAVES else _copy(v, memo, bounded)
        return out
    if cls is list:
        if bounded and (len(memo) >= _PICKLE_AFTER or len(value) > _PICKLE_ITEMS):
            raise _TooBig
        out = []
        memo[id(value)] = out
        out.extend([v if type(v) in _LEAVES else _copy(v, memo, bounded) for v in value])
        return out
    if cls in _LEAVES:
        return value
    if cls is bytearray:
        out = memo[id(value)] = bytearray(value)
        return out
    if cls is tuple or cls is set or isinstance(value, (dict, list, tuple, set)):
        if bounded and len(memo) >= _PICKLE_AFTER:
            raise _TooBig
        return _copy_other(value, memo, bounded)
    return value  # a live handle, a datetime, a pattern, ...: shared


def _copy_other(value: Any, memo: dict, bounded: bool) -> Any:
    """Tuples, sets and subclasses of dict, list, tuple and set, rebuilt from copies of their
    items by their class. (A cycle through a dict or list subclass runs into the recursion limit:
    it is made from its items, so it cannot be in the memo before them.)"""
    cls = type(value)
    if isinstance(value, dict):
        out = cls((k, _copy(v, memo, bounded)) for k, v in value.items())
    else:
        out = cls(_copy(v, memo, bounded) for v in value)
    return memo.setdefault(id(value), out)  # a cycle through a tuple made its copy already


class _KeepingPickler(pickle.Pickler):
    """Pickles plain data; any other object is kept aside and pickled as a reference to it.

    The C pickler writes None, bool, int, float, str, bytes, bytearray and exact dicts, lists,
    tuples, sets and frozensets itself and asks `reducer_override` about anything else only."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.kept: list = []

    def reducer_override(self, obj: Any) -> Any:
        if obj is _kept_object:
            return NotImplemented  # the name written for a kept object: pickled as a global
        if isinstance(obj, (dict, list, tuple, set)):
            raise _NotPlain
        self.kept.append(obj)
        return _kept_object, (len(self.kept) - 1,)


def _kept_object(index: int) -> Any:
    """Named in the pickle of a kept object; _KeepingUnpickler resolves the name."""
    raise RuntimeError("a kept object is only read by _KeepingUnpickler")


class _KeepingUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, kept: list) -> None:
        super().__init__(file)
        self.kept = kept

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_kept_object":
            return self.kept.__getitem__
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a message copy")


def _pickled(value: Any) -> Callable[[], Any]:
    """`value` pickled once: a function making a copy of it at each call."""
    buffer = io.BytesIO()
    pickler = _KeepingPickler(buffer)
    try:
        pickler.dump(value)
    except _NotPlain:
        return lambda: _copy(value, {}, False)
    data = buffer.getvalue()
    kept = pickler.kept
    if not kept:
        return functools.partial(pickle.loads, data)
    return lambda: _KeepingUnpickler(io.BytesIO(data), kept).load()


def _python_copy(msg: dict) -> dict:
    """The Python copier over a message; raises _TooBig for a large one (never for an HTTP
    message: the pickle copier would copy a req or res that is a plain dict)."""
    http = "req" in msg or "res" in msg
    memo: dict = {}
    out: dict = {}
    memo[id(msg)] = out
    for key, value in msg.items():
        cls = type(value)
        if cls in _LEAVES or (http and (key == "req" or key == "res")):
            out[key] = value
        elif (cls is dict or cls is list) and len(value) > _PICKLE_ITEMS and not http:
            raise _TooBig
        else:
            out[key] = _copy(value, memo, not http)
    return out


def clone_message(msg: dict) -> dict:
    """Deep-clone a message as RED.util.cloneMessage does, keeping msg['req'] and msg['res']
    shared."""
    if type(msg) is not dict:
        return clone_value(msg)
    try:
        return _python_copy(msg)
    except _TooBig:
        return _pickled(msg)()


def message_copier(msg: Any) -> Callable[[], Any]:
    """A function returning a new clone of `msg` (as clone_message makes) at each call, for the
    clones of one message sent to several nodes: a large message is pickled once and each clone
    is one unpickling (9 clones of a 20,000-object payload: 1.6-2x faster than 9 round trips).
    `msg` must not change while the copier is in use."""
    if type(msg) is not dict:
        return lambda: clone_value(msg)
    try:
        first = _python_copy(msg)
    except _TooBig:
        return _pickled(msg)
    pending = [first]
    return lambda: pending.pop() if pending else clone_message(msg)


def clone_value(value: Any) -> Any:
    """Deep-clone plain data (dicts, lists, tuples, sets, bytearrays); other objects are shared."""
    if type(value) in _LEAVES:
        return value
    try:
        return _copy(value, {}, True)
    except _TooBig:
        return _pickled(value)()
