"""flowrt.engine.leader: the inject leader of `--workers N`, and inject nodes gated by it."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from flowrt import is_leader
from flowrt.engine.leader import Leadership, RedisLease
from flowrt.testing import FlowTestHarness
from flowrt.testing.redisserver import MISSING, RedisServer, redis_server_binary

_prefixes = itertools.count()


class Follower(Leadership):
    def __init__(self):
        self.leading = False

    def is_leader(self) -> bool:
        return self.leading


def inject(**config) -> dict:
    return {"id": "n1", "type": "inject", "wires": [["n2"]], **config}


FLOW_HELPER = {"id": "n2", "type": "helper"}


async def test_a_follower_injects_no_timed_message_but_any_it_is_sent():
    flow = [inject(repeat=0.5, once=True, onceDelay=0.1), FLOW_HELPER]
    async with FlowTestHarness(flow, clock="virtual") as h:
        follower = Follower()
        h.runtime.add_service(follower, Leadership)
        await h.clock.advance(2.05)
        assert h.node("n2").received == []  # once and repeat: not the leader
        h.node("n1").receive({})  # a message (the editor's button) always injects
        await h.node("n2").next_input()
        follower.leading = True
        await h.clock.advance(0.5)
        assert len(h.node("n2").received) == 2


async def test_all_workers_fires_without_leading():
    flow = [inject(repeat=0.5, allWorkers=True), FLOW_HELPER]
    async with FlowTestHarness(flow, clock="virtual") as h:
        h.runtime.add_service(Follower(), Leadership)
        await h.clock.advance(1.05)
        assert len(h.node("n2").received) == 2


async def test_one_process_always_leads():
    async with FlowTestHarness([inject(), FLOW_HELPER]) as h:
        assert is_leader(h.runtime.nodes["n1"]) is True


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if redis_server_binary() is None:
        pytest.skip(MISSING)
    srv = RedisServer.start_new(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


async def test_one_lease_holder_and_a_takeover(server):
    config = {"url": server.url, "prefix": f"lease{next(_prefixes)}:", "leaseTtl": 0.6}
    a, b = RedisLease(config, owner="A"), RedisLease(config, owner="B")
    await a.start()
    await b.start()
    try:
        assert (a.is_leader(), b.is_leader()) == (True, False)
        await asyncio.sleep(0.5)  # renewals keep A leading past its TTL
        assert (a.is_leader(), b.is_leader()) == (True, False)
        await a.stop()  # gives the lease up: B takes it at its next attempt
        while not b.is_leader():
            await asyncio.sleep(0.05)
    finally:
        await b.stop()


async def test_a_dead_leaders_lease_runs_out(server):
    config = {"url": server.url, "prefix": f"lease{next(_prefixes)}:", "leaseTtl": 0.6}
    a, b = RedisLease(config, owner="A"), RedisLease(config, owner="B")
    await a.start()
    await b.start()
    try:
        a._task.cancel()  # stops renewing, as a killed process
        await asyncio.gather(a._task, return_exceptions=True)
        while not b.is_leader():
            await asyncio.sleep(0.05)
        assert await b._client.get(b.key) == "B"
    finally:
        a._task = None
        a._leader = False
        await a.stop()
        await b.stop()


async def test_no_leader_while_redis_is_unreachable(tmp_path):
    logs = []

    class Log:
        def error(self, text):
            logs.append(text)

        def info(self, text):
            logs.append(text)

    server = RedisServer.start_new(tmp_path)
    lease = RedisLease({"url": server.url, "leaseTtl": 0.6}, log=Log(), owner="A")
    await lease.start()
    try:
        assert lease.is_leader()
        server.stop()
        while lease.is_leader():
            await asyncio.sleep(0.05)
        assert any(f"leader lease: cannot reach {server.url}" in line for line in logs)
        server.start()
        while not lease.is_leader():
            await asyncio.sleep(0.05)
    finally:
        await lease.stop()
        server.stop()
