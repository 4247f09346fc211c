"""The QuickJS sandbox on its own: boundary encoding, limits, helpers."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from flowrt.js.sandbox import JSSandbox, JSTimeout, _merge, loads, uses_await, uses_node_done


class FakeNode:
    def __init__(self) -> None:
        self.sent: list = []
        self.errors: list = []
        self.logs: list = []

    def send(self, msgs):
        self.sent.append(msgs)

    def error(self, err, msg=None):
        self.errors.append((err, msg))

    def js_log(self, level, text):
        self.logs.append((level, text))


@pytest.fixture
def sb():
    box = JSSandbox(FakeNode(), label="Function node:t1", memory_limit=16 * 1024 * 1024)
    box.limit = 0.2
    box.set_meta({"id": "t1", "name": "", "path": "t1", "outputCount": 1})
    yield box
    box.close()


def run(sb: JSSandbox, code: str, msg: dict) -> object:
    sb.define("body", code, is_async=False)
    r = sb.call(sb.js_run, sb.dumps(msg), 1)
    return loads(r) if isinstance(r, str) else r


def test_round_trip_types(sb):
    when = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    msg = {
        "i": 3,
        "big": 2**40,
        "f": 0.5,
        "s": "é\u2028\"'",
        "n": None,
        "b": b"\x00\x80\xff",
        "d": when,
        "l": [1, {"x": []}],
    }
    out = run(sb, "return msg;", msg)
    assert out == {**msg}
    assert type(out["big"]) is int


def test_non_finite_numbers_cross_as_markers(sb):
    out = run(
        sb, "msg.t = [isNaN(msg.a), msg.b === Infinity]; return msg;", {"a": float("nan"), "b": float("inf")}
    )
    assert out["t"] == [True, True]


def test_user_json_stringify_is_standard(sb):
    out = run(
        sb,
        "msg.s = JSON.stringify({d: new Date(0), u: new Uint8Array([1]), b: Buffer.from('a')}); return msg;",
        {},
    )
    assert json.loads(out["s"]) == {
        "d": "1970-01-01T00:00:00.000Z",
        "u": {"0": 1},
        "b": {"type": "Buffer", "data": [97]},
    }


def test_interrupt_stops_a_loop_and_the_context_stays_usable(sb):
    sb.define("body", "while (true) {}", is_async=False)
    with pytest.raises(Exception) as info:
        sb.call(sb.js_run, "{}", 1)
    assert isinstance(sb.engine_error(info.value), JSTimeout)
    assert run(sb, "msg.ok = 1; return msg;", {}) == {"ok": 1}


def test_host_callbacks_work_while_the_clock_is_armed(sb):
    out = run(sb, "for (let i = 0; i < 1000; i++) { node.warn('x'); } return msg;", {"a": 1})
    assert out == {"a": 1} and len(sb.node.logs) == 1000


def test_error_lines_are_the_users(sb):
    sb.define("body", "\n\nnull.x;", is_async=False)
    assert sb.call(sb.js_run, "{}", 1) == 2
    err = sb.last_error()
    assert "Function node:t1:3:" in err.stack and "TypeError" in err.stack


def test_merge_keeps_identity():
    inner = {"n": 1}
    old = {"a": inner, "gone": 1, "l": [1, 2, 3]}
    _merge(old, {"a": {"n": 2}, "l": [1, 5], "new": True})
    assert old == {"a": {"n": 2}, "l": [1, 5], "new": True} and old["a"] is inner


def test_code_scans():
    assert uses_node_done("node.done();") and not uses_node_done("// node.done()\nreturn msg")
    assert uses_await("await x") and not uses_await("/* await */ return 1")
