"""Nodes on the `redis` context store: the function node's flow.get/set/update (sync and
callback forms), the change node, and a write while Redis is down failing as a node error."""

from __future__ import annotations

import itertools

import pytest

from flowrt.testing import FlowTestHarness
from flowrt.testing.redisserver import MISSING, RedisServer, redis_server_binary

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason=MISSING)
_prefixes = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer.start_new(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


def settings(url: str, **config) -> dict:
    config = {"url": url, "prefix": f"flows{next(_prefixes)}:", "retryMaxDelay": 0.1, **config}
    return {
        "contextStorage": {"default": {"module": "memory"}, "shared": {"module": "redis", "config": config}}
    }


def function(code: str, **extra) -> list[dict]:
    return [
        {"id": "t1", "type": "tab"},
        {"id": "f1", "type": "function", "z": "t1", "func": code, "wires": [["h1"]], **extra},
        {"id": "h1", "type": "helper", "z": "t1"},
        {"id": "c1", "type": "catch", "z": "t1", "scope": None, "wires": [["h2"]]},
        {"id": "h2", "type": "helper", "z": "t1"},
    ]


async def test_function_node_sync_and_callback_forms(server):
    code = """
flow.set("obj", {a: 1, buf: Buffer.from("hi"), when: new Date(0)}, "shared");
flow.set("obj.b", 2, "shared");
const sync = flow.get("obj", "shared");
flow.get("obj.b", "shared", (err, b) => {
  msg.payload = {sync, b, err, keys: flow.keys("shared"), missing: flow.get("nope", "shared")};
  node.send(msg);
});
"""
    async with FlowTestHarness(function(code), settings=settings(server.url)) as h:
        h.node("f1").receive({"payload": 0})
        out = (await h.node("h1").next_input())["payload"]
    assert out["sync"] == {
        "a": 1,
        "buf": {"type": "Buffer", "data": [104, 105]},
        "when": "1970-01-01T00:00:00.000Z",
        "b": 2,
    }
    assert out["b"] == 2 and out["err"] is None and out["keys"] == ["obj"]
    assert "missing" not in out  # undefined


async def test_function_node_update_counts_every_message(server):
    code = 'msg.payload = flow.update("count", n => (n || 0) + 1, "shared"); return msg;'
    async with FlowTestHarness(function(code), settings=settings(server.url)) as h:
        for _ in range(20):
            h.node("f1").receive({})
        outs = await h.node("h1").inputs(20)
        stored = h.node("f1").node.context().flow.get("count", "shared")
    assert [m["payload"] for m in outs] == list(range(1, 21))
    assert stored == 20


async def test_change_node_sets_and_reads_the_shared_store(server):
    flow = [
        {"id": "t1", "type": "tab"},
        {
            "id": "ch1",
            "type": "change",
            "z": "t1",
            "rules": [
                {"t": "set", "p": "#:(shared)::last", "pt": "flow", "to": "payload", "tot": "msg"},
                {"t": "set", "p": "copy", "pt": "msg", "to": "#:(shared)::last", "tot": "flow"},
            ],
            "wires": [["h1"]],
        },
        {"id": "h1", "type": "helper", "z": "t1"},
    ]
    async with FlowTestHarness(flow, settings=settings(server.url)) as h:
        h.node("ch1").receive({"payload": {"x": [1, 2]}})
        out = await h.node("h1").next_input()
        assert h.node("ch1").node.context().flow.get("last", "shared") == {"x": [1, 2]}
    assert out["copy"] == {"x": [1, 2]}


async def test_a_write_while_redis_is_down_is_a_node_error(tmp_path):
    server = RedisServer.start_new(tmp_path)
    code = 'flow.set("k", msg.payload, "shared"); return msg;'
    try:
        async with FlowTestHarness(function(code), settings=settings(server.url)) as h:
            h.node("f1").receive({"payload": 1})
            await h.node("h1").next_input()
            server.stop()
            h.node("f1").receive({"payload": 2})
            err = await h.node("h2").next_input()
            assert f"Context store 'shared' ({server.url}) is unavailable" in err["error"]["message"]
            assert err["payload"] == 2
    finally:
        server.stop()


async def test_flows_start_and_run_with_redis_unreachable():
    from flowrt.testing.redisserver import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    code = 'if (msg.useRedis) flow.set("k", 1, "shared"); else flow.set("k", 1); return msg;'
    async with FlowTestHarness(function(code), settings=settings(dead)) as h:
        h.node("f1").receive({"payload": "plain"})
        assert (await h.node("h1").next_input())["payload"] == "plain"
        h.node("f1").receive({"payload": "shared", "useRedis": True})
        err = await h.node("h2").next_input()
        assert f"Context store 'shared' ({dead}) is unavailable" in err["error"]["message"]
