"""comment, junction, unknown, global-config: ported from Node-RED's 90-comment, 98-unknown and
91-global-config specs (05-junction has no spec upstream)."""

from __future__ import annotations

import time

from flowrt.testing import FlowTestHarness


async def test_comment_loaded():
    async with FlowTestHarness([{"id": "n1", "type": "comment", "name": "comment"}]) as h:
        assert h.node("n1").node.name == "comment"


async def test_comment_is_inert(marker):
    flow = [
        {"id": "n1", "type": "comment", "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
        marker.node("n2"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": 1})
        assert await marker.received(h, "n2") == []


async def test_unknown_loaded():
    async with FlowTestHarness([{"id": "n1", "type": "unknown", "name": "unknown"}]) as h:
        assert h.node("n1").node.name == "unknown"


async def test_unknown_drops_and_logs(marker):
    flow = [
        {"id": "n1", "type": "unknown", "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
        marker.node("n2"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": 1})
        h.node("n1").receive({"payload": 2})
        record = await h.node("n1").next_log("warn")
        assert "dropped" in record.text
        assert await marker.received(h, "n2") == []
        assert len([r for r in h.node("n1").logs if r.level == "warn"]) == 1


async def test_junction_passes_through():
    flow = [
        {"id": "j", "type": "junction", "wires": [["a", "b"]]},
        {"id": "a", "type": "helper"},
        {"id": "b", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        original = {"payload": {"k": 1}}
        h.node("j").receive(original)
        a = await h.node("a").next_input()
        b = await h.node("b").next_input()
        assert a is original and b == original and b is not original


async def test_global_config_loaded():
    async with FlowTestHarness([{"id": "n1", "type": "global-config", "name": "XYZ"}]) as h:
        assert h.node("n1").node.name == "XYZ"


async def test_global_config_env_variable():
    flow = [
        {
            "id": "n1",
            "type": "global-config",
            "name": "XYZ",
            "env": [{"name": "X", "type": "string", "value": "foo"}],
        },
        {
            "id": "n2",
            "type": "inject",
            "topic": "t1",
            "payload": "X",
            "payloadType": "env",
            "wires": [["n3"]],
        },
        {"id": "n3", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n2").receive({})
        assert (await h.node("n3").next_input())["payload"] == "foo"


async def test_global_config_jsonata_env_variable():
    flow = [
        {
            "id": "n1",
            "type": "global-config",
            "name": "XYZ",
            "env": [{"name": "now-var", "type": "jsonata", "value": "$millis()"}],
        },
        {
            "id": "n2",
            "type": "inject",
            "topic": "t1",
            "payload": "now-var",
            "payloadType": "env",
            "wires": [["n3"]],
        },
        {"id": "n3", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n2").receive({})
        payload = (await h.node("n3").next_input())["payload"]
        assert abs(payload - time.time() * 1000) < 60_000
