"""clone_message / clone_value: RED.util.cloneMessage's semantics (lodash cloneDeep without msg.req
and msg.res), for small messages (the Python copier) and large ones (the pickle round trip)."""

from __future__ import annotations

import datetime
import re
from collections import OrderedDict

import pytest

from flowrt.engine.message import clone_message, clone_value, message_copier
from flowrt.lang.jsvalues import UNDEFINED

BIG = 500  # items: past the size at which the copy is a pickle round trip


class Live:
    """An object that is not plain data (a live handle): shared by a clone."""


def shapes(size: int) -> dict:
    return {"payload": [{"id": i, "name": f"item-{i}", "v": i * 1.5, "ok": i % 2 == 0} for i in range(size)]}


@pytest.fixture(params=[3, BIG], ids=["small", "large"])
def size(request) -> int:
    return request.param


def test_plain_data_is_copied(size):
    msg = {"_msgid": "m", "topic": "t", "n": 1, "f": 2.5, "b": True, "z": None, **shapes(size)}
    out = clone_message(msg)
    assert out == msg and out is not msg
    assert out["payload"] is not msg["payload"]
    assert all(a is not b for a, b in zip(out["payload"], msg["payload"], strict=True))
    out["payload"][0]["id"] = "changed"
    assert msg["payload"][0]["id"] == 0
    assert list(out) == list(msg)  # key order kept


def test_buffers_tuples_sets(size):
    ba = bytearray(b"abc")
    msg = {**shapes(size), "bytes": b"xyz", "ba": ba, "tup": (1, [2, 3]), "set": {1, 2}}
    out = clone_message(msg)
    assert out["bytes"] == b"xyz"
    assert type(out["ba"]) is bytearray and out["ba"] == ba and out["ba"] is not ba
    assert type(out["tup"]) is tuple and out["tup"] == (1, [2, 3]) and out["tup"][1] is not msg["tup"][1]
    assert out["set"] == {1, 2} and out["set"] is not msg["set"]


def test_other_objects_are_shared(size):
    live, when, pattern = Live(), datetime.datetime(2026, 12, 2), re.compile("x")
    msg = {**shapes(size), "live": live, "when": when, "re": pattern, "u": UNDEFINED, "fn": len}
    msg["payload"][1]["live"] = live
    out = clone_message(msg)
    assert out["live"] is live and out["payload"][1]["live"] is live
    assert out["when"] is when and out["re"] is pattern and out["u"] is UNDEFINED and out["fn"] is len


def test_shared_references_stay_shared(size):
    """lodash's cloneDeep copies an object reached twice once: the copies share it."""
    common = {"k": [1, 2]}
    msg = {**shapes(size), "a": common, "b": [common, common]}
    msg["payload"][0]["ref"] = common
    out = clone_message(msg)
    copy = out["a"]
    assert copy == common and copy is not common
    assert out["b"][0] is copy and out["b"][1] is copy and out["payload"][0]["ref"] is copy


def test_cycles_are_kept(size):
    msg = shapes(size)
    msg["payload"][2]["parent"] = msg["payload"]
    msg["me"] = msg
    looped: list = [1]
    looped.append(looped)
    msg["loop"] = looped
    out = clone_message(msg)
    assert out["me"] is out
    assert out["payload"][2]["parent"] is out["payload"] and out["payload"] is not msg["payload"]
    assert out["loop"][1] is out["loop"] and out["loop"] is not looped


def test_cycle_through_a_tuple():
    inner: list = []
    tup = (inner,)
    inner.append(tup)
    out = clone_value({"t": tup})["t"]
    assert type(out) is tuple and out[0][0] is out and out[0] is not inner


def test_req_and_res_are_shared_and_keep_their_place(size):
    req, res = {"headers": {"a": 1}}, Live()
    msg = {"_msgid": "m", "req": req, **shapes(size), "res": res}
    msg["payload"][0]["same"] = req
    out = clone_message(msg)
    assert out["req"] is req and out["res"] is res
    assert list(out) == ["_msgid", "req", "payload", "res"]
    assert out["payload"][0]["same"] == req and out["payload"][0]["same"] is not req


def test_subclasses_are_rebuilt_by_their_class(size):
    ordered = OrderedDict([("b", [1]), ("a", 2)])
    msg = {**shapes(size), "od": ordered}
    msg["payload"][2]["od"] = ordered
    out = clone_message(msg)
    assert type(out["od"]) is OrderedDict and out["od"] == ordered and out["od"] is not ordered
    assert out["od"]["b"] is not ordered["b"]
    assert out["payload"][2]["od"] is out["od"]


def test_large_containers_of_plain_values():
    msg = {"payload": list(range(10_000)), "index": {str(i): i for i in range(1_000)}, "text": "x" * 100}
    out = clone_message(msg)
    assert out == msg and out["payload"] is not msg["payload"] and out["index"] is not msg["index"]


def test_clone_value():
    assert clone_value("s") == "s" and clone_value(None) is None
    value = [{"a": [1]}] * 2
    out = clone_value(value)
    assert out == value and out[0] is out[1] and out[0] is not value[0]
    big = [[i] for i in range(BIG)]
    copied = clone_value(big)
    assert copied == big and copied[0] is not big[0]


def test_not_a_dict_message():
    assert clone_message(None) is None
    assert clone_message([{"a": 1}]) == [{"a": 1}]


@pytest.mark.parametrize("shape", ["small", "large", "http", "subclass"])
def test_message_copier_makes_independent_clones(shape):
    live = Live()
    msg = {"_msgid": "m", **shapes(3 if shape == "small" else BIG), "live": live}
    common = {"k": [1]}
    msg["a"], msg["b"] = common, common
    if shape == "http":
        msg["req"] = {"plain": "dict"}
    if shape == "subclass":
        msg["od"] = OrderedDict(x=[1])
    copy = message_copier(msg)
    clones = [copy() for _ in range(3)]
    for out in clones:
        assert out == msg and out is not msg and out["payload"] is not msg["payload"]
        assert out["a"] is out["b"] and out["a"] is not common and out["live"] is live
        if shape == "http":
            assert out["req"] is msg["req"]
    assert clones[0]["payload"] is not clones[1]["payload"] and clones[1]["a"] is not clones[2]["a"]
    assert message_copier(None)() is None
