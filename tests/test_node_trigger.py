"""Port of the main cases of Node-RED's test/nodes/core/function/89-trigger_spec.js
(small durations; order and content asserted, never elapsed time)."""

from __future__ import annotations

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
