"""Port of the main cases of Node-RED's test/nodes/core/function/89-delay_spec.js
(small delays; order and content asserted, never elapsed time)."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness


def flow_of(**config):
    return [
        {"id": "d1", "type": "delay", "name": "delayNode", "wires": [["h1"], ["h2"]], **config},
        {"id": "h1", "type": "helper"},
        {"id": "h2", "type": "helper"},
    ]


async def test_loaded():
    async with FlowTestHarness(
        flow_of(
            pauseType="delay",
            timeout="5",
            timeoutUnits="seconds",
            rate="1",
            rateUnits="day",
            randomFirst="1",
            randomLast="5",
            randomUnits="seconds",
        )
    ) as h:
        node = h.node("d1").node
        assert node.name == "delayNode" and node.timeout == 5000 and node.rate == 86_400_000


@pytest.mark.parametrize("units,rate", [("hour", 3_600_000), ("minute", 60_000)])
async def test_rate_units(units, rate):
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits=units, nbRateUnits="1")) as h:
        assert h.node("d1").node.rate == rate


@pytest.mark.parametrize(
    "timeout,units", [("0.05", "seconds"), ("50", "milliseconds"), ("0.0005", "minutes")]
)
async def test_delay_fixed(timeout, units):
    async with FlowTestHarness(flow_of(pauseType="delay", timeout=timeout, timeoutUnits=units)) as h:
        h.node("d1").receive({"payload": "delayme"})
        assert (await h.node("h1").next_input())["payload"] == "delayme"


@pytest.mark.parametrize("delay", [20, None, 0, -5])
async def test_variable_delay(delay):
    async with FlowTestHarness(flow_of(pauseType="delayv", timeout="0.02", timeoutUnits="seconds")) as h:
        msg = {"payload": "delayme"}
        if delay is not None:
            msg["delay"] = delay
        h.node("d1").receive(msg)
        assert (await h.node("h1").next_input())["payload"] == "delayme"


@pytest.mark.parametrize("units", ["seconds", "milliseconds"])
async def test_random_delay(units):
    first, last = ("0.01", "0.03") if units == "seconds" else ("10", "30")
    async with FlowTestHarness(
        flow_of(pauseType="random", randomFirst=first, randomLast=last, randomUnits=units)
    ) as h:
        h.node("d1").receive({"payload": "delayme"})
        assert (await h.node("h1").next_input())["payload"] == "delayme"


async def test_rate_limit_queues_in_order():
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate="50", rateUnits="second", nbRateUnits="1", drop=False)
    ) as h:
        for i in range(5):
            h.node("d1").receive({"payload": i})
        got = await h.node("h1").inputs(5)
        assert [m["payload"] for m in got] == [0, 1, 2, 3, 4]


async def test_rate_limit_drop_to_second_output():
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate="1", rateUnits="second", nbRateUnits="1", drop=True, outputs=2)
    ) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        assert (await h.node("h1").next_input())["payload"] == 0
        dropped = await h.node("h2").inputs(3)
        assert [m["payload"] for m in dropped] == [1, 2, 3]


async def test_rate_with_msg_rate():
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate="1", rateUnits="second", nbRateUnits="1", allowrate=True)
    ) as h:
        h.node("d1").receive({"payload": 0, "rate": 10})
        for i in range(1, 3):
            h.node("d1").receive({"payload": i, "rate": 10})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 2]


async def test_queue_by_topic():
    async with FlowTestHarness(
        flow_of(pauseType="queue", rate="50", rateUnits="second", nbRateUnits="1")
    ) as h:
        for topic, p in (("A", 1), ("B", 1), ("A", 2), ("C", 1)):
            h.node("d1").receive({"topic": topic, "payload": p})
        got = await h.node("h1").inputs(3)
        assert [(m["topic"], m["payload"]) for m in got] == [("A", 2), ("B", 1), ("C", 1)]


async def test_timed_queue_releases_latest_per_topic():
    async with FlowTestHarness(
        flow_of(pauseType="timed", rate="20", rateUnits="second", nbRateUnits="1")
    ) as h:
        for topic, p in (("A", 1), ("B", 1), ("A", 2)):
            h.node("d1").receive({"topic": topic, "payload": p})
        got = await h.node("h1").inputs(2)
        assert sorted((m["topic"], m["payload"]) for m in got) == [("A", 2), ("B", 1)]


async def test_flush_delay_queue():
    async with FlowTestHarness(flow_of(pauseType="delay", timeout="10", timeoutUnits="seconds")) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"flush": True})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 2]


async def test_part_flush_delay_queue():
    async with FlowTestHarness(flow_of(pauseType="delay", timeout="10", timeoutUnits="seconds")) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"flush": 2})
        h.node("d1").receive({"flush": 1})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 2]
        assert len(h.node("d1").node.held) == 1


async def test_reset_delay_queue():
    async with FlowTestHarness(flow_of(pauseType="delay", timeout="10", timeoutUnits="seconds")) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"reset": True})
        assert h.node("d1").node.held == []
        assert {"fill": "blue", "shape": "ring", "text": 0} in h.node("d1").statuses


async def test_flush_rate_queue():
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits="minute", nbRateUnits="1")) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"flush": True})
        got = await h.node("h1").inputs(4)
        assert [m["payload"] for m in got] == [0, 1, 2, 3]


async def test_part_flush_rate_queue_and_front():
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits="minute", nbRateUnits="1")) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"payload": 9, "toFront": True})
        h.node("d1").receive({"flush": 2})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 9, 1]


async def test_reset_rate_queue():
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits="minute", nbRateUnits="1")) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"reset": True})
        h.node("d1").receive({"payload": "after"})
        got = await h.node("h1").inputs(2)
        assert [m["payload"] for m in got] == [0, "after"]


async def test_burst_and_reset():
    async with FlowTestHarness(
        flow_of(pauseType="burst", rate="2", rateUnits="minute", nbRateUnits="1", outputs=2)
    ) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"reset": True})
        h.node("d1").receive({"payload": 3})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 3]
        assert (await h.node("h2").next_input())["payload"] == 2


async def test_complete_called_when_emitted():
    flow = flow_of(pauseType="delay", timeout="10", timeoutUnits="milliseconds") + [
        {"id": "c1", "type": "complete", "scope": ["d1"], "wires": [["h3"]]},
        {"id": "h3", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        if h.runtime.get_node("c1") is None:
            pytest.skip("complete node not available")
        h.node("d1").receive({"payload": 1})
        assert (await h.node("h3").next_input())["payload"] == 1
