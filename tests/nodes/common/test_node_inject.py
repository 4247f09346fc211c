"""inject: ported from Node-RED's 20-inject_spec.js, plus cron and timer behaviour."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from flowrt.engine.clock import VirtualClock
from flowrt.lang.cron import CronError, parse_cron
from flowrt.testing import FlowTestHarness

TAB = {"id": "flow", "type": "tab", "label": "FLOW"}
STORES = {"contextStorage": {"memory0": {"module": "memory"}, "memory1": {"module": "memory"}}}


def inject(**config):
    node = {"id": "n1", "type": "inject", "z": "flow", "wires": [["n2"]]}
    node.update(config)
    return node


HELPER = {"id": "n2", "type": "helper", "z": "flow"}


async def inject_once(flow, settings=None, prepare=None):
    async with FlowTestHarness(flow, settings) as h:
        if prepare:
            prepare(h)
        h.node("n1").receive({})
        return await h.node("n2").next_input()


@pytest.mark.parametrize(
    "ptype,value,expected",
    [
        ("num", 10, 10),
        ("str", "10", "10"),
        ("bool", True, True),
        ("json", '{ "x":"vx", "y":"vy", "z":"vz" }', {"x": "vx", "y": "vy", "z": "vz"}),
        ("bin", "[1,2,3,4,5]", bytes([1, 2, 3, 4, 5])),
    ],
)
async def test_inject_value(ptype, value, expected):
    msg = await inject_once([TAB, inject(topic="t1", payload=value, payloadType=ptype), HELPER])
    assert msg["topic"] == "t1"
    assert msg["payload"] == expected


async def test_inject_environment_variable(monkeypatch):
    monkeypatch.setenv("NR_TEST", "foo")
    msg = await inject_once([TAB, inject(topic="t1", payload="NR_TEST", payloadType="env"), HELPER])
    assert msg["topic"] == "t1"
    assert msg["payload"] == "foo"


GROUP = {"id": "g0", "type": "group", "name": "GROUP", "z": "flow"}


@pytest.mark.parametrize(
    "var,expected",
    [
        ("NR_NODE_NAME", "NAME"),
        ("NR_NODE_ID", "n1"),
        ("NR_NODE_PATH", "flow/n1"),
        ("NR_FLOW_NAME", "FLOW"),
        ("NR_FLOW_ID", "flow"),
        ("NR_GROUP_NAME", "GROUP"),
        ("NR_GROUP_ID", "g0"),
    ],
)
async def test_inject_builtin_env_variable(var, expected):
    node = inject(name="NAME", topic="t1", payload=var, payloadType="env", g="g0")
    msg = await inject_once([TAB, GROUP, node, HELPER])
    assert msg["payload"] == expected


@pytest.mark.parametrize(
    "var,expected",
    [
        ("NR_NODE_NAME", "NAME"),
        ("NR_NODE_ID", "n1"),
        ("NR_NODE_PATH", "flow/n1"),
        ("NR_FLOW_NAME", "FLOW"),
        ("NR_FLOW_ID", "flow"),
        ("NR_GROUP_NAME", "GROUP"),
        ("NR_GROUP_ID", "g0"),
    ],
)
async def test_inject_builtin_env_variable_by_substitution(var, expected):
    node = inject(name="NAME", topic="t1", payload="${" + var + "}", payloadType="str", g="g0")
    msg = await inject_once([TAB, GROUP, node, HELPER])
    assert msg["payload"] == expected


async def test_sets_value_of_flow_context_property():
    msg = await inject_once(
        [TAB, inject(topic="t1", payload="flowValue", payloadType="flow"), HELPER],
        prepare=lambda h: h.node("n1").node.context().flow.set("flowValue", "changeMe"),
    )
    assert msg["topic"] == "t1"
    assert msg["payload"] == "changeMe"


async def test_sets_value_of_persistable_flow_context_property():
    msg = await inject_once(
        [TAB, inject(topic="t1", payload="#:(memory0)::flowValue", payloadType="flow"), HELPER],
        STORES,
        prepare=lambda h: h.node("n1").node.context().flow.set("flowValue", "changeMe", "memory0"),
    )
    assert msg["payload"] == "changeMe"


async def test_sets_value_of_global_context_property():
    msg = await inject_once(
        [TAB, inject(topic="t1", payload="globalValue", payloadType="global"), HELPER],
        prepare=lambda h: h.node("n1").node.context().global_.set("globalValue", "changeMe"),
    )
    assert msg["topic"] == "t1"
    assert msg["payload"] == "changeMe"


async def test_sets_value_of_persistable_global_context_property():
    msg = await inject_once(
        [TAB, inject(topic="t1", payload="#:(memory1)::val", payloadType="global"), HELPER],
        STORES,
        prepare=lambda h: h.node("n1").node.context().global_.set("val", "foo", "memory1"),
    )
    assert msg["payload"] == "foo"


@pytest.mark.parametrize(
    "type0,type1",
    [("flow", "flow"), ("global", "global"), ("flow", "global")],
    ids=["two-flow", "two-global", "flow-and-global"],
)
async def test_sets_values_of_two_persistable_context_properties(type0, type1):
    flow = [
        TAB,
        inject(id="n0", topic="t0", payload="#:(memory0)::val", payloadType=type0),
        inject(id="n1", topic="t1", payload="#:(memory1)::val", payloadType=type1),
        HELPER,
    ]
    async with FlowTestHarness(flow, STORES) as h:
        ctx = h.node("n0").node.context()
        (ctx.flow if type0 == "flow" else ctx.global_).set("val", "foo", "memory0")
        (ctx.flow if type1 == "flow" else ctx.global_).set("val", "bar", "memory1")
        h.node("n0").receive({})
        h.node("n1").receive({})
        msgs = await h.node("n2").inputs(2)
        assert {m["topic"]: m["payload"] for m in msgs} == {"t0": "foo", "t1": "bar"}


async def test_once_default_delay_property():
    flow = [TAB, inject(topic="t1", payload="", payloadType="date", once=True), HELPER]
    async with FlowTestHarness(flow) as h:
        assert h.node("n1").node.once_delay == 0.1


def arrivals(h, t0, node="n2"):
    """Virtual seconds after t0 (rounded to ms) at which each message reached `node`."""
    return [round(at - t0, 3) for at in h.node(node).received_at]


async def test_inject_once_with_default_delay():
    before = time.time() * 1000
    flow = [TAB, inject(topic="t1", payload="", payloadType="date", once=True), HELPER]
    async with FlowTestHarness(flow, clock="virtual") as h:
        t0 = h.clock.time()
        await h.clock.advance(0.099)
        assert h.node("n2").received == []
        await h.clock.advance(0.001)
        (msg,) = h.node("n2").received
        assert msg["topic"] == "t1"
        assert msg["payload"] >= before - 1  # a timestamp taken when it fired
        await h.clock.advance(10)
        assert arrivals(h, t0) == [0.1]  # once, not repeatedly


async def test_once_delay_property():
    flow = [TAB, inject(topic="t1", payload="", payloadType="date", once=True, onceDelay=0.5), HELPER]
    async with FlowTestHarness(flow) as h:
        assert h.node("n1").node.once_delay == 0.5
        assert h.node("n2").received == []


async def test_inject_once_with_delay():
    """The spec's two seconds, on the virtual clock: nothing before, one message then."""
    flow = [TAB, inject(topic="t1", payload="", payloadType="date", once=True, onceDelay="2"), HELPER]
    async with FlowTestHarness(flow, clock="virtual") as h:
        t0 = h.clock.time()
        await h.clock.advance(1.999)
        assert h.node("n2").received == []
        await h.clock.advance(5)
        assert arrivals(h, t0) == [2.0]
        msg = h.node("n2").received[0]
        assert msg["topic"] == "t1"
        assert isinstance(msg["payload"], int)


async def test_inject_repeatedly():
    flow = [TAB, inject(payload="payload", topic="t2", repeat=0.2), HELPER]
    async with FlowTestHarness(flow, clock="virtual") as h:
        t0 = h.clock.time()
        await h.clock.advance(0.65)
        assert arrivals(h, t0) == [0.2, 0.4, 0.6]
        msgs = h.node("n2").received
        for msg in msgs:
            assert msg["topic"] == "t2"
            assert msg["payload"] == "payload"
        assert len({m["_msgid"] for m in msgs}) == 3


async def test_inject_once_with_delay_and_repeatedly():
    flow = [
        TAB,
        inject(topic="t1", payload="", payloadType="date", repeat="0.2", once=True, onceDelay=0.3),
        HELPER,
    ]
    async with FlowTestHarness(flow, clock="virtual") as h:
        t0 = h.clock.time()
        await h.clock.advance(0.75)
        assert arrivals(h, t0) == [0.3, 0.5, 0.7]
        msgs = h.node("n2").received
        assert all(m["topic"] == "t1" for m in msgs)
        assert msgs[0]["payload"] <= msgs[1]["payload"] <= msgs[2]["payload"]


async def test_inject_with_cron():
    """6-field crontab (seconds first), as the spec's "* * * * * *": once a second, on the second."""
    wall_start = 1_700_000_000.25
    flow = [TAB, inject(payloadType="date", topic="t3", crontab="* * * * * *", wires=[["n2"]]), HELPER]
    async with FlowTestHarness(flow, clock=VirtualClock(start=0.0, wall_start=wall_start)) as h:
        await h.clock.advance(0.749)
        assert h.node("n2").received == []
        await h.clock.advance(2.0)
        assert arrivals(h, 0.0) == [0.75, 1.75]  # at wall times ...001.000 and ...002.000
        msg = h.node("n2").received[0]
        assert msg["topic"] == "t3"
        assert isinstance(msg["payload"], int)


async def test_timers_cleared_on_close():
    flow = [TAB, inject(payload="x", repeat=0.01, once=True, onceDelay=0.01), HELPER]
    async with FlowTestHarness(flow, clock="virtual") as h:
        await h.clock.advance(0.015)
        assert len(h.node("n2").received) == 1
        node = h.node("n1").node
        await h.redeploy([TAB, HELPER])
        await h.clock.advance(1)
        assert len(h.node("n2").received) == 1
        assert node.pending_timers == 0 and h.clock.pending == 0


async def test_inject_multiple_properties():
    props = [
        {"p": "topic", "v": "t1", "vt": "str"},
        {"p": "payload", "v": "foo", "vt": "str"},
        {"p": "x", "v": 10, "vt": "num"},
        {"p": "y", "v": "x+2", "vt": "jsonata"},
    ]
    msg = await inject_once([TAB, inject(props=props), HELPER])
    assert (msg["topic"], msg["payload"], msg["x"], msg["y"]) == ("t1", "foo", 10, 12)


async def test_inject_nested_property():
    msg = await inject_once([TAB, inject(props=[{"p": "a.b[0]", "v": "1", "vt": "num"}]), HELPER])
    assert msg["a"] == {"b": [1]}


async def test_inject_custom_properties_in_message():
    props = [
        {"p": "payload", "v": "static", "vt": "str"},
        {"p": "topic", "v": "static", "vt": "str"},
        {"p": "bool1", "v": "true", "vt": "bool"},
        {"p": "str1", "v": "1", "vt": "str"},
    ]
    async with FlowTestHarness([TAB, inject(props=props), HELPER]) as h:
        h.node("n1").receive(
            {
                "__user_inject_props__": [
                    {"p": "topic", "v": "t_override", "vt": "str"},
                    {"p": "str1", "v": "1", "vt": "num"},
                    {"p": "num1", "v": "1", "vt": "num"},
                    {"p": "bool1", "v": "false", "vt": "bool"},
                ]
            }
        )
        msg = await h.node("n2").next_input()
        assert "payload" not in msg
        assert msg["topic"] == "t_override"
        assert msg["str1"] == 1
        assert msg["num1"] == 1
        assert msg["bool1"] is False
        assert "__user_inject_props__" not in msg


async def test_inject_multiple_properties_using_legacy_props():
    node = inject(
        payload="123", payloadType="num", topic="foo", props=[{"p": "topic", "vt": "str"}, {"p": "payload"}]
    )
    msg = await inject_once([TAB, node, HELPER])
    assert msg["topic"] == "foo"
    assert msg["payload"] == 123


@pytest.mark.parametrize("vt", ["string", "strnig"])
async def test_unknown_value_type_injects_the_value_as_it_is(vt):
    # Node-RED: evaluateNodeProperty returns the value unchanged for a type it does not know
    props = [{"p": "payload", "v": "hello", "vt": vt}, {"p": "n", "v": 5, "vt": vt}]
    msg = await inject_once([TAB, inject(props=props), HELPER])
    assert msg["payload"] == "hello"
    assert msg["n"] == 5


async def test_undefined_values_leave_the_property_out():
    # setMessageProperty(msg, p, undefined, true): JSONata with no result, a missing context key
    props = [
        {"p": "payload", "v": "$.nothing", "vt": "jsonata"},
        {"p": "a.b", "v": "nothing", "vt": "flow"},
        {"p": "n", "v": "null", "vt": "jsonata"},
    ]
    msg = await inject_once([TAB, inject(props=props), HELPER])
    assert "payload" not in msg
    assert msg["a"] == {}
    assert msg["n"] is None


@pytest.mark.parametrize("repeat,expected", [("0x2", 2.0), (" 3 ", 3.0), ("1_0", None), ("inf", None)])
async def test_repeat_is_read_as_javascript_number(repeat, expected):
    async with FlowTestHarness([TAB, inject(repeat=repeat), HELPER]) as h:
        assert h.node("n1").node.repeat == expected


async def test_legacy_payload_without_type_is_a_string():
    msg = await inject_once([TAB, inject(payload="payload", topic="t"), HELPER])
    assert msg["payload"] == "payload"


async def test_report_invalid_jsonata_expression():
    props = [{"p": "topic", "v": "t1", "vt": "str"}, {"p": "payload", "v": "@", "vt": "jsonata"}]
    flow = [
        TAB,
        inject(props=props),
        HELPER,
        {"id": "c", "type": "catch", "z": "flow", "wires": [["n3"]]},
        {"id": "n3", "type": "helper", "z": "flow"},
    ]
    async with FlowTestHarness(flow) as h:
        # reported once when the node starts (no message: logged) ...
        err, msg = await h.node("n1").next_error()
        assert msg is None and "Invalid JSONata expression" in str(err)
        # ... and for each injection, with the message, and nothing is sent
        h.node("n1").receive({})
        caught = await h.node("n3").next_input()
        assert "Invalid JSONata expression" in caught["error"]["message"]
        assert caught["topic"] == "t1"
        assert h.node("n2").received == []


async def test_bad_typed_value_reports_error():
    flow = [TAB, inject(props=[{"p": "payload", "v": "{not json", "vt": "json"}]), HELPER]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({})
        err, msg = await h.node("n1").next_error()
        assert msg is not None and err
        assert h.node("n2").received == []


async def test_invalid_crontab_refuses_to_start():
    flow = [TAB, inject(payload="x", crontab="61 * * * *"), HELPER]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.get_node("n1") is None
        assert any("invalid crontab" in r.text for r in h.logs)


async def test_repeat_too_long_is_an_error():
    flow = [TAB, inject(payload="x", repeat=2147484), HELPER]
    async with FlowTestHarness(flow) as h:
        err, _ = await h.node("n1").next_error()
        assert "Interval too large" in str(err)
        assert h.node("n1").node.repeat is None


# ----- flowrt.lang.cron ---------------------------------------------------------------


@pytest.mark.parametrize(
    "expr,after,expected",
    [
        # "at a time" form of the editor
        ("00 12 * * *", "2024-02-28 12:00", "2024-02-29 12:00"),
        ("30 07 * * 1,3,5", "2024-01-02 08:00", "2024-01-03 07:30"),
        # "interval between times" forms
        ("*/5 9-17 * * 1-5", "2024-01-05 17:57", "2024-01-08 09:00"),
        ("*/10 22-23,0-1 * * *", "2024-01-01 01:55", "2024-01-01 22:00"),
        ("0 9-17 * * *", "2024-01-01 09:00", "2024-01-01 10:00"),
        ("*/15 * * * *", "2024-01-01 10:07", "2024-01-01 10:15"),
        # names, day-of-week 7, day-or-weekday rule, leap day
        ("0 0 * jan,feb sun", "2024-02-20 00:00", "2024-02-25 00:00"),
        ("0 0 * jan,feb sun", "2024-02-26 00:00", "2025-01-05 00:00"),
        ("0 0 * * 7", "2024-01-01 00:00", "2024-01-07 00:00"),
        ("0 0 13 * 5", "2024-01-06 00:00", "2024-01-12 00:00"),
        ("0 0 29 2 *", "2024-03-01 00:00", "2028-02-29 00:00"),
        ("@hourly", "2024-01-01 10:30", "2024-01-01 11:00"),
    ],
)
def test_cron_next(expr, after, expected):
    schedule = parse_cron(expr)
    got = schedule.next_after(dt.datetime.fromisoformat(after))
    assert got == dt.datetime.fromisoformat(expected)
    assert schedule.matches(got)


def test_cron_seconds_field():
    schedule = parse_cron("*/20 * * * * *")
    assert schedule.next_after(dt.datetime(2024, 1, 1, 0, 0, 41, 500)) == dt.datetime(2024, 1, 1, 0, 1, 0)


@pytest.mark.parametrize("expr", ["", "* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "x * * * *"])
def test_cron_rejects(expr):
    with pytest.raises(CronError):
        parse_cron(expr)
