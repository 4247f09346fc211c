"""Port of the main cases of Node-RED's test/nodes/core/function/89-trigger_spec.js
(small durations; order and content asserted, never elapsed time)."""

from __future__ import annotations

import time

import pytest

from flowrt.testing import FlowTestHarness


def flow_of(**config):
    return [
        {"id": "n1", "type": "trigger", "name": "triggerNode", "wires": [["n2"], ["n3"]], **config},
        {"id": "n2", "type": "helper"},
        {"id": "n3", "type": "helper"},
    ]


async def test_defaults():
    async with FlowTestHarness(flow_of()) as h:
        node = h.node("n1").node
        assert node.op1 == "1" and node.op2 == "0" and node.op1type == "str" and node.duration == 250
        assert node.extend is False and node.bytopic == "all"


@pytest.mark.parametrize("units,ms", [("s", 1000), ("min", 60_000), ("hr", 3_600_000)])
async def test_units(units, ms):
    async with FlowTestHarness(flow_of(duration="1", units=units)) as h:
        assert h.node("n1").node.duration == ms


@pytest.mark.parametrize(
    "op1,op1type,expected",
    [
        ("10", "num", 10),
        ("true", "bool", True),
        ('{"a":1}', "json", {"a": 1}),
        ("foo", "str", "foo"),
        ("null", "val", None),
        ("", "pay", "payload"),
    ],
)
async def test_first_value(op1, op1type, expected):
    async with FlowTestHarness(flow_of(op1=op1, op1type=op1type, op2="0", op2type="nul", duration="20")) as h:
        h.node("n1").receive({"payload": "payload"})
        assert (await h.node("n2").next_input())["payload"] == expected


@pytest.mark.parametrize(
    "op2,op2type,expected", [("10", "num", 10), ("false", "bool", False), ("bar", "str", "bar")]
)
async def test_second_value(op2, op2type, expected):
    async with FlowTestHarness(flow_of(op1="", op1type="nul", op2=op2, op2type=op2type, duration="20")) as h:
        h.node("n1").receive({"payload": "x"})
        assert (await h.node("n2").next_input())["payload"] == expected


async def test_one_then_zero():
    async with FlowTestHarness(flow_of(duration="20")) as h:
        h.node("n1").receive({"payload": None})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["1", "0"]


async def test_ignores_inputs_while_triggered():
    async with FlowTestHarness(flow_of(op1="foo", op2="bar", duration="50")) as h:
        for i in range(3):
            h.node("n1").receive({"payload": i})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["foo", "bar"]
        h.node("n1").receive({"payload": "again"})
        assert (await h.node("n2").next_input())["payload"] == "foo"


async def test_override_delay():
    async with FlowTestHarness(flow_of(duration="10", units="s", overrideDelay=True)) as h:
        h.node("n1").receive({"payload": 1, "delay": 20})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["1", "0"]


async def test_zero_delay_waits_for_reset():
    async with FlowTestHarness(
        flow_of(op1="true", op1type="val", op2="false", op2type="val", duration="0")
    ) as h:
        h.node("n1").receive({"payload": 1})
        h.node("n1").receive({"payload": 2})
        h.node("n1").receive({"reset": True})
        h.node("n1").receive({"payload": 3})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == [True, True]
        assert h.node("n2").received[:2] == got


async def test_topics_individually():
    async with FlowTestHarness(
        flow_of(op1="", op1type="pay", op2="", op2type="nul", bytopic="topic", duration="30")
    ) as h:
        for topic, p in (("A", 1), ("B", 2), ("A", 3), ("C", 4)):
            h.node("n1").receive({"topic": topic, "payload": p})
        got = await h.node("n2").inputs(3)
        assert [(m["topic"], m["payload"]) for m in got] == [("A", 1), ("B", 2), ("C", 4)]


async def test_topics_as_one():
    async with FlowTestHarness(flow_of(op1="", op1type="pay", op2="", op2type="nul", duration="30")) as h:
        for topic, p in (("A", 1), ("B", 2)):
            h.node("n1").receive({"topic": topic, "payload": p})
        h.node("n1").receive({"reset": True})
        h.node("n1").receive({"topic": "C", "payload": 3})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == [1, 3]


async def test_other_property_as_topic():
    async with FlowTestHarness(
        flow_of(op1="", op1type="pay", op2="", op2type="nul", bytopic="topic", topic="foo.bar", duration="30")
    ) as h:
        for key, p in (("x", 1), ("y", 2), ("x", 3)):
            h.node("n1").receive({"foo": {"bar": key}, "payload": p})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == [1, 2]


async def test_context_values():
    async with FlowTestHarness(
        flow_of(op1="foo", op1type="flow", op2="bar", op2type="global", duration="20")
    ) as h:
        ctx = h.node("n1").node.context()
        ctx.flow.set("foo", "FOO")
        ctx.global_.set("bar", "BAR")
        h.node("n1").receive({"payload": 1})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["FOO", "BAR"]


async def test_extend_and_latest_payload():
    async with FlowTestHarness(
        flow_of(op1="", op1type="pay", op2="", op2type="payl", extend=True, duration="50")
    ) as h:
        h.node("n1").receive({"payload": "Hello"})
        h.node("n1").receive({"payload": "World"})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["Hello", "World"]


async def test_second_payload_to_second_output():
    async with FlowTestHarness(
        flow_of(op1="", op1type="pay", op2="", op2type="payl", outputs=2, duration="20")
    ) as h:
        h.node("n1").receive({"payload": "first"})
        h.node("n1").receive({"payload": "second"})
        assert (await h.node("n2").next_input())["payload"] == "first"
        assert (await h.node("n3").next_input())["payload"] == "second"


async def test_mustache_payloads():
    async with FlowTestHarness(
        flow_of(op1="{{payload}}Hello", op1type="str", op2="{{topic}}World", op2type="str", duration="20")
    ) as h:
        h.node("n1").receive({"payload": "Foo", "topic": "Bar"})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["FooHello", "BarWorld"]


async def test_string_null_is_null():
    async with FlowTestHarness(
        flow_of(op1="null", op1type="val", op2="null", op2type="val", duration="20")
    ) as h:
        h.node("n1").receive({"payload": "x"})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == [None, None]


@pytest.mark.parametrize(
    "reset_msg,reset",
    [
        ({"reset": True}, ""),
        ({"payload": "boo"}, "boo"),
        ({"payload": True}, "true"),
        ({"payload": False}, "false"),
    ],
)
async def test_infinite_timeout_cleared(reset_msg, reset):
    async with FlowTestHarness(flow_of(op1="go", op2="", op2type="nul", duration="0", reset=reset)) as h:
        h.node("n1").receive({"payload": 1})
        h.node("n1").receive(reset_msg)
        h.node("n1").receive({"payload": 2})
        got = await h.node("n2").inputs(2)
        assert [m["payload"] for m in got] == ["go", "go"]


async def test_repeat_until_reset():
    async with FlowTestHarness(flow_of(op1="rep", op2="", op2type="nul", duration="-10")) as h:
        h.node("n1").receive({"payload": 1})
        got = await h.node("n2").inputs(4)
        assert all(m["payload"] == "rep" for m in got)
        h.node("n1").receive({"reset": True})
        assert h.node("n1").node.topics == {}


async def test_status_and_close_clear_state():
    async with FlowTestHarness(flow_of(duration="10", units="s")) as h:
        h.node("n1").receive({"payload": 1})
        assert await h.node("n1").next_status() == {"fill": "blue", "shape": "dot"}
        await h.node("n2").next_input()
        h.node("n1").receive({"reset": True})
        assert await h.node("n1").next_status() == {}


# ----- cases on the virtual clock ------------------------------------------------
STORES = {
    "contextStorage": {
        "memory0": {"module": "memory"},
        "memory1": {"module": "memory"},
        "memory2": {"module": "memory"},
    }
}


def timeline(h, t0, node="n2"):
    """(seconds after t0 rounded to ms, topic, payload) of every message at `node`."""
    return [
        (round(at - t0, 3), m.get("topic"), m.get("payload"))
        for at, m in zip(h.node(node).received_at, h.node(node).received, strict=True)
    ]


async def receive_at(h, schedule, node="n1"):
    """Deliver each (seconds after now, msg) at that virtual time; returns the start time."""
    t0 = h.clock.time()
    for at, msg in sorted(schedule, key=lambda item: item[0]):
        await h.clock.advance_to(t0 + at)
        h.node(node).receive(msg)
    return t0


BASIC = [
    ("num", "10", 10),
    ("str", "10", "10"),
    ("bool", "true", True),
    ("json", '{"x":"vx", "y":"vy", "z":"vz"}', {"x": "vx", "y": "vy", "z": "vz"}),
    ("bin", "[1,2,3,4,5]", b"\x01\x02\x03\x04\x05"),
    ("env", "NR-TEST", "env-val"),
    ("date", "1", "now-ms"),
    ("date", "iso", "now-iso"),
]


def check_basic(payload, kind, expected, wall):
    if expected == "now-ms":
        assert isinstance(payload, (int, float)) and abs(payload - wall * 1000) < 60_000
    elif expected == "now-iso":
        import datetime as dt

        day = dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%dT")
        assert isinstance(payload, str) and payload[:11] == day
    elif kind == "bin":
        assert bytes(payload) == expected
    else:
        assert payload == expected


@pytest.mark.parametrize("kind,value,expected", BASIC)
async def test_basic_first_value(kind, value, expected, monkeypatch):
    """basicTest 'should output 1st value when triggered (<type>)'."""
    monkeypatch.setenv(value, "env-val")
    async with FlowTestHarness(
        flow_of(op1=value, op1type=kind, op2="", op2type="null", duration="20"), clock="virtual"
    ) as h:
        h.node("n1").receive({"payload": None})
        await h.clock.advance(0)
        (msg,) = h.node("n2").received
        check_basic(msg["payload"], kind, expected, time.time())


@pytest.mark.parametrize("kind,value,expected", BASIC)
async def test_basic_second_value(kind, value, expected, monkeypatch):
    """basicTest 'should output 2st value when triggered (<type>)'."""
    if kind == "date" and value == "1":
        value = "0"
    monkeypatch.setenv(value, "env-val")
    async with FlowTestHarness(
        flow_of(op1="foo", op1type="str", op2=value, op2type=kind, duration="20"), clock="virtual"
    ) as h:
        t0 = h.clock.time()
        h.node("n1").receive({"payload": None})
        await h.clock.advance(0.019)
        assert [m["payload"] for m in h.node("n2").received] == ["foo"]
        await h.clock.advance(0.001)
        got = timeline(h, t0)
        assert len(got) == 2 and got[1][0] == 0.02
        check_basic(got[1][2], kind, expected, time.time())


async def test_ignores_msg_delay_without_override():
    """'should ignore msg.delay if overrideDelay not set'."""
    async with FlowTestHarness(flow_of(duration="50"), clock="virtual") as h:
        t0 = h.clock.time()
        h.node("n1").receive({"payload": None, "delay": 300})
        await h.clock.advance(1)
        assert timeline(h, t0) == [(0, None, "1"), (0.05, None, "0")]


async def test_override_delay_timeline():
    """'should use msg.delay if overrideDelay is set' (timing)."""
    async with FlowTestHarness(flow_of(duration="50", overrideDelay=True), clock="virtual") as h:
        t0 = h.clock.time()
        h.node("n1").receive({"payload": None, "delay": 300})
        await h.clock.advance(1)
        assert timeline(h, t0) == [(0, None, "1"), (0.3, None, "0")]


async def test_topics_individually_and_extend_one():
    """'should handle multiple topics individually, and extend one, if asked to do so'."""
    async with FlowTestHarness(
        flow_of(
            bytopic="topic", extend="true", op1="1", op2="0", op1type="num", op2type="num", duration="30"
        ),
        clock="virtual",
    ) as h:
        t0 = await receive_at(
            h,
            [
                (0, {"payload": 1, "topic": "A"}),
                (0, {"payload": 2, "topic": "B"}),
                (0, {"payload": 3, "topic": "C"}),
                (0.02, {"payload": 2, "topic": "B"}),
            ],
        )
        await h.clock.advance(1)
        assert timeline(h, t0) == [
            (0, "A", 1),
            (0, "B", 1),
            (0, "C", 1),
            (0.03, "A", 0),
            (0.03, "C", 0),
            (0.05, "B", 0),
        ]


@pytest.mark.parametrize(
    "op1,op1type,op2,op2type,sets",
    [
        # 'should be able to return things from persistable flow and global context variables'
        (
            "#:(memory1)::foo",
            "flow",
            "#:(memory1)::bar",
            "global",
            [("flow", "foo", "foo", "memory1"), ("global", "bar", "bar", "memory1")],
        ),
        # '... from multiple persistable global context variables'
        (
            "#:(memory1)::val",
            "global",
            "#:(memory2)::val",
            "global",
            [("global", "val", "foo", "memory1"), ("global", "val", "bar", "memory2")],
        ),
        # '... from multiple persistable flow context variables'
        (
            "#:(memory1)::val",
            "flow",
            "#:(memory2)::val",
            "flow",
            [("flow", "val", "foo", "memory1"), ("flow", "val", "bar", "memory2")],
        ),
        # '... from multiple persistable flow & global context variables'
        (
            "#:(memory1)::val",
            "flow",
            "#:(memory2)::val",
            "global",
            [("flow", "val", "foo", "memory1"), ("global", "val", "bar", "memory2")],
        ),
    ],
)
async def test_persistable_context_values(op1, op1type, op2, op2type, sets):
    flow = [
        {"id": "flow", "type": "tab", "label": "FLOW"},
        {
            "id": "n1",
            "type": "trigger",
            "z": "flow",
            "duration": "20",
            "wires": [["n2"]],
            "op1": op1,
            "op1type": op1type,
            "op2": op2,
            "op2type": op2type,
        },
        {"id": "n2", "type": "helper", "z": "flow"},
    ]
    async with FlowTestHarness(flow, settings=STORES, clock="virtual") as h:
        ctx = h.node("n1").node.context()
        for scope, key, value, store in sets:
            (ctx.flow if scope == "flow" else ctx.global_).set(key, value, store)
        h.node("n1").receive({"payload": None})
        await h.clock.advance(0.05)
        assert [m["payload"] for m in h.node("n2").received] == ["foo", "bar"]


async def test_no_output_on_second_edge():
    """'should be able to not output anything on second edge'."""
    async with FlowTestHarness(
        flow_of(op2type="nul", op1="true", op1type="val", op2="false", duration="30"), clock="virtual"
    ) as h:
        h.node("n1").receive({"payload": None})
        await h.clock.advance(0.09)
        assert [m["payload"] for m in h.node("n2").received] == [True]
        assert h.clock.pending == 0 and h.node("n1").node.topics == {}


async def test_reset_correctly_with_no_second_edge():
    """'should be able to reset correctly having not output anything on second edge'."""
    async with FlowTestHarness(
        flow_of(op2type="nul", op1="true", op1type="val", op2="false", duration="100"), clock="virtual"
    ) as h:
        t0 = await receive_at(
            h,
            [
                (0, {"payload": 1, "topic": "pass"}),
                (0.05, {"payload": 2, "topic": "should-block"}),
                (0.2, {"payload": 3, "topic": "pass"}),
                (0.25, {"payload": 2, "topic": "should-block"}),
            ],
        )
        await h.clock.advance_to(t0 + 0.35)
        assert timeline(h, t0) == [(0, "pass", True), (0.2, "pass", True)]


async def test_extend_the_delay():
    """'should be able to extend the delay' (flow/global values, re-read when the timer fires)."""
    async with FlowTestHarness(
        flow_of(extend="true", op1type="flow", op1="foo", op2="bar", op2type="global", duration="100"),
        clock="virtual",
    ) as h:
        ctx = h.node("n1").node.context()
        ctx.flow.set("foo", "foo")
        ctx.global_.set("bar", "bar")
        t0 = await receive_at(h, [(0, {"payload": "Hello"}), (0.05, {"payload": None})])
        await h.clock.advance(0.0999)
        assert [m["payload"] for m in h.node("n2").received] == ["foo"]
        await h.clock.advance(1)
        assert timeline(h, t0) == [(0, None, "foo"), (0.15, None, "bar")]


async def test_extend_the_delay_without_second_output():
    """'should be able to extend the delay (but with no 2nd output)'."""
    async with FlowTestHarness(
        flow_of(extend="true", op1type="pay", op2type="nul", op1="false", op2="true", duration="200"),
        clock="virtual",
    ) as h:
        t0 = await receive_at(
            h,
            [
                (0, {"payload": "Hello"}),
                (0.05, {"payload": "Error"}),
                (0.1, {"payload": "Error"}),
                (0.33, {"payload": "World"}),
            ],
        )
        await h.clock.advance(1)
        assert timeline(h, t0) == [(0, None, "Hello"), (0.33, None, "World")]


async def test_second_payload_multiple_topics():
    """'should be able output the 2nd payload and handle multiple topics'."""
    async with FlowTestHarness(
        flow_of(
            extend="false",
            op1type="nul",
            op2type="payl",
            op1="false",
            op2="true",
            duration="80",
            bytopic="topic",
        ),
        clock="virtual",
    ) as h:
        t0 = await receive_at(
            h,
            [
                (0, {"payload": "Hello1", "topic": "test1"}),
                (0.02, {"payload": "Hello2", "topic": "test2"}),
                (0.02, {"payload": "Goodbye2", "topic": "test2"}),
                (0.02, {"payload": "Goodbye1", "topic": "test1"}),
            ],
        )
        await h.clock.advance(1)
        assert timeline(h, t0) == [(0.08, "test1", "Goodbye1"), (0.1, "test2", "Goodbye2")]


def done_flow():
    return [
        {"id": "n1", "type": "trigger", "units": "s", "duration": "1", "wires": [[]]},
        {"id": "c1", "type": "complete", "scope": ["n1"], "uncaught": False, "wires": [["h3"]]},
        {"id": "h3", "type": "helper"},
    ]


@pytest.mark.parametrize(
    "msg",
    [
        {"seq": 0, "payload": "A"},  # 'should call done() when first message has been processed'
        {"seq": 0, "payload": "A", "reset": True},  # 'should call done() when it receives reset message'
    ],
)
async def test_calls_done(msg):
    async with FlowTestHarness(done_flow(), clock="virtual") as h:
        t0 = h.clock.time()
        h.node("n1").receive(msg)
        await h.clock.advance(2)
        # once, at once: not again when the second message goes out
        assert [
            (round(at - t0, 3), m["seq"])
            for at, m in zip(h.node("h3").received_at, h.node("h3").received, strict=True)
        ] == [(0, 0)]
