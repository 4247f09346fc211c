"""Port of Node-RED's test/nodes/core/function/16-range_spec.js."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness


def range_node(action, minin, maxin, minout, maxout, round_):
    return {
        "id": "r1",
        "type": "range",
        "minin": minin,
        "maxin": maxin,
        "minout": minout,
        "maxout": maxout,
        "action": action,
        "round": round_,
        "name": "rangeNode",
        "wires": [["h1"]],
    }


async def test_defaults():
    async with FlowTestHarness([{"id": "r1", "type": "range", "name": "rangeNode"}]) as h:
        node = h.node("r1").node
        assert node.name == "rangeNode"
        assert node.round is False


CASES = [
    ("scale", 0, 100, 0, 1000, False, 50, 500),
    ("scale", 0, 100, 0, 1, False, 55, 0.55),
    ("roll", 0, 10, 0, 360, True, 15, 180),
    ("roll", 0, 10, 0, 360, True, 13.3333, 120),
    ("roll", 0, 10, 0, 360, True, 12.5, 90),
    ("roll", 0, 10, 0, 360, True, -12.5, 270),
    ("roll", 0, 10, 0, 360, True, -10, 0),
    ("clamp", 0, 10, 0, 1000, False, 111, 1000),
    ("clamp", 0, 10, 0, 1000, False, -1, 0),
    ("clamp", 0, 9.5, 0.5, 100.5, True, 13.1, 100),
    ("clamp", 0, 9.5, 0.3, 100.5, True, -13.1, 1),
    ("scale", 100, 0, 0, -100, False, 40, -60),
    ("scale", 100, 0, -100, 0, False, 10, -10),
]


@pytest.mark.parametrize("action,minin,maxin,minout,maxout,round_,payload,expected", CASES)
async def test_range(action, minin, maxin, minout, maxout, round_, payload, expected):
    async with FlowTestHarness(
        [range_node(action, minin, maxin, minout, maxout, round_), {"id": "h1", "type": "helper"}]
    ) as h:
        h.node("r1").receive({"payload": payload})
        msg = await h.node("h1").next_input()
        assert msg["payload"] == pytest.approx(expected)


async def test_drop_outside_range():
    async with FlowTestHarness([range_node("drop", 2, 8, 20, 80, True), {"id": "h1", "type": "helper"}]) as h:
        for p in (1, 9, 5):
            h.node("r1").receive({"payload": p})
        msg = await h.node("h1").next_input()
        assert msg["payload"] == 50


async def test_passes_on_without_payload():
    async with FlowTestHarness(
        [range_node("scale", 0, 100, 0, 100, True), {"id": "h1", "type": "helper"}]
    ) as h:
        h.node("r1").receive({"topic": "pass on"})
        msg = await h.node("h1").next_input()
        assert "payload" not in msg and msg["topic"] == "pass on"


async def test_reports_not_a_number():
    flow = [range_node("scale", 0, 0, 0, 0, True), {"id": "h1", "type": "helper"}]
    async with FlowTestHarness(flow, settings={"logLevel": "info"}) as h:
        h.node("r1").receive({"payload": "NOT A NUMBER"})
        record = await h.node("r1").next_log("info")
        assert "NOT A NUMBER" in record.text
        assert h.node("h1").received == []


async def test_string_number_and_property():
    node = {**range_node("scale", 0, 10, 0, 100, False), "property": "data.v"}
    async with FlowTestHarness([node, {"id": "h1", "type": "helper"}]) as h:
        h.node("r1").receive({"data": {"v": "5"}})
        assert (await h.node("h1").next_input())["data"]["v"] == 50


async def test_null_is_number_zero_and_a_missing_property_passes():
    # Node-RED: Number(null) is 0, so null is scaled; only undefined passes unchanged.
    flow = [range_node("scale", 0, 10, 100, 200, False), {"id": "h1", "type": "helper"}]
    flow[0]["property"] = "payload.v"
    async with FlowTestHarness(flow) as h:
        h.node("r1").receive({"payload": {"v": None}})
        h.node("r1").receive({"payload": {}})
        got = await h.node("h1").inputs(2)
    assert [m["payload"] for m in got] == [{"v": 100}, {}]
