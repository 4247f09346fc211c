"""Beyond one process (issue 17), with real `flowrt run` processes and a real redis-server:

* two `flowrt run` processes on one Redis: an SSE stream opened on A gets what a POST to B
  sends; a counter incremented 10,000 times through each of them ends at 20,000;
* `flowrt run --workers 2`: both workers serve the port, a killed worker is restarted, a
  repeating inject fires in one worker only, SIGTERM stops everything; without Redis it
  serves and warns.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal

import aiohttp
import pytest

from flowrt.testing import FlowProcess
from flowrt.testing.redisserver import MISSING, RedisServer, redis_server_binary

needs_redis = pytest.mark.skipif(redis_server_binary() is None, reason=MISSING)
WATCHDOG = 60.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if redis_server_binary() is None:
        pytest.skip(MISSING)
    srv = RedisServer.start_new(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


def tab(*nodes: dict) -> list[dict]:
    return [{"id": "t", "type": "tab"}, *({"z": "t", **n} for n in nodes)]


SHARED_FLOW = tab(
    {"id": "get", "type": "http in", "url": "/sse", "method": "get", "wires": [["sess"]]},
    {"id": "sess", "type": "sse-session", "keepalive": 15, "wires": [[], []]},
    {"id": "push", "type": "http in", "url": "/push", "method": "post", "wires": [["send"]]},
    {"id": "send", "type": "sse-send", "session": "req.query.sid", "wires": [["ok"]]},
    {"id": "ok", "type": "http response", "statusCode": "202", "wires": []},
    {"id": "incr", "type": "http in", "url": "/incr", "method": "post", "wires": [["count"]]},
    {
        "id": "count",
        "type": "function",
        "func": "const n = Number(msg.req.query.n);\n"
        'for (let i = 0; i < n; i++) flow.update("count", c => (c || 0) + 1, "shared");\n'
        'msg.payload = String(flow.get("count", "shared"));\nreturn msg;',
        "wires": [["reply"]],
    },
    {"id": "read", "type": "http in", "url": "/count", "method": "get", "wires": [["readfn"]]},
    {
        "id": "readfn",
        "type": "function",
        "func": 'msg.payload = String(flow.get("count", "shared")); return msg;',
        "wires": [["reply"]],
    },
    {"id": "reply", "type": "http response", "wires": []},
)


def redis_args(url: str, prefix: str) -> list[str]:
    storage = {"shared": {"module": "redis", "config": {"url": url, "prefix": prefix + "ctx:"}}}
    return [
        "-D",
        f"contextStorage={json.dumps({'default': {'module': 'memory'}, **storage})}",
        "-D",
        "sseSessionRegistry=redis",
        "-D",
        f"redis={json.dumps({'url': url, 'prefix': prefix})}",
    ]


async def read_event(stream: aiohttp.ClientResponse) -> tuple[str | None, str]:
    """The next SSE event on a stream: (event name, data)."""
    event, data = None, []
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), WATCHDOG)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and (event or data):
            return event, "\n".join(data)


@needs_redis
async def test_two_processes_share_sessions_and_a_counter(server, tmp_path):
    flow = tmp_path / "shared.json"
    flow.write_text(json.dumps(SHARED_FLOW))
    args = redis_args(server.url, "two:")
    a = await FlowProcess([flow], *args).start()
    b = await FlowProcess([flow], *args).start()
    try:
        async with aiohttp.ClientSession() as http:
            stream = await http.get(a.url("/sse"))
            event, endpoint = await read_event(stream)
            assert event == "endpoint"
            sid = endpoint.split("sessionId=")[1]
            for i in range(3):  # each POST lands on B, whose registry finds the stream on A
                async with http.post(b.url(f"/push?sid={sid}"), data=f"from B {i}") as r:
                    assert r.status == 202, f"{await r.text()}\nA:\n{a.output}\nB:\n{b.output}"
                assert await read_event(stream) == ("message", f"from B {i}")
            stream.close()

            async def bump(proc: FlowProcess) -> None:
                for _ in range(10):
                    async with http.post(proc.url("/incr?n=1000")) as r:
                        assert r.status == 200, await r.text()

            await asyncio.wait_for(asyncio.gather(bump(a), bump(b)), 300)
            async with http.get(a.url("/count")) as r:
                assert await r.text() == "20000"
            async with http.get(b.url("/count")) as r:
                assert await r.text() == "20000"
    finally:
        assert await a.stop() == 0
        assert await b.stop() == 0


WORKER_FLOW = tab(
    {"id": "hello", "type": "http in", "url": "/hello", "method": "get", "wires": [["who"]]},
    {
        "id": "who",
        "type": "function",
        "func": 'msg.payload = env.get("FLOWRT_WORKER"); return msg;',
        "wires": [["reply"]],
    },
    {"id": "reply", "type": "http response", "wires": []},
    {"id": "tick", "type": "inject", "repeat": "0.1", "once": True, "onceDelay": 0.1, "wires": [["mark"]]},
    {
        "id": "mark",
        "type": "function",
        "func": 'const w = env.get("FLOWRT_WORKER");\n'
        'flow.update("firedBy", s => Object.assign(s || {}, {[w]: ((s || {})[w] || 0) + 1}), "shared");\n'
        "return null;",
        "wires": [],
    },
    {"id": "fired", "type": "http in", "url": "/fired", "method": "get", "wires": [["firedfn"]]},
    {
        "id": "firedfn",
        "type": "function",
        "func": 'msg.payload = flow.get("firedBy", "shared") || {}; return msg;',
        "wires": [["reply"]],
    },
)


async def said_twice(proc: FlowProcess, text: str) -> None:
    async def wait() -> None:
        while sum(text in line for line in proc.lines) < 2:  # polls the output the reader collects
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), WATCHDOG)


async def workers_seen(proc: FlowProcess, want: set[str], attempts: int = 400) -> set[str]:
    """GET /hello on new connections until every worker in `want` answered (bounded)."""
    seen: set[str] = set()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(attempts):
            async with http.get(proc.url("/hello")) as r:
                assert r.status == 200
                seen.add(await r.text())
            if want <= seen:
                break
    return seen


@needs_redis
async def test_workers_share_the_port_restart_and_elect_one_inject_leader(server, tmp_path):
    flow = tmp_path / "workers.json"
    flow.write_text(json.dumps(WORKER_FLOW))
    proc = FlowProcess([flow], "--workers", "2", *redis_args(server.url, "w2:"))
    await proc.start(wait_for="all 2 workers started", timeout=WATCHDOG)
    try:
        assert await workers_seen(proc, {"0", "1"}) == {"0", "1"}
        async with aiohttp.ClientSession() as http:
            fired: dict = {}
            while sum(fired.values()) < 10:  # the repeating inject fires every 0.1 s
                await asyncio.sleep(0.1)
                async with http.get(proc.url("/fired")) as r:
                    fired = await r.json()
            assert len(fired) == 1, fired  # one worker only: the leader
        leader_lines = [ln for ln in proc.lines if "now runs the inject timers (leader)" in ln]
        assert len(leader_lines) == 1, proc.output

        line = await proc.wait_for_line("worker 1 started (pid")
        pid = int(re.search(r"pid (\d+)", line).group(1))
        import os

        os.kill(pid, signal.SIGKILL)
        await proc.wait_for_line(f"worker 1 (pid {pid}) exited with status -9; restarting", WATCHDOG)
        await said_twice(proc, "all 2 workers started")  # said again once it is back
        assert await workers_seen(proc, {"0", "1"}) == {"0", "1"}
    finally:
        code = await proc.stop(timeout=WATCHDOG)
    assert code == 0, proc.output
    assert "flowrt: supervisor: stopped" in proc.output
    assert proc.output.count("] Stopped") >= 2  # each worker stopped gracefully


async def test_workers_without_redis_serve_and_warn(tmp_path):
    hello = [n for n in WORKER_FLOW if n.get("id") in ("t", "hello", "who", "reply")]
    flow = tmp_path / "hello.json"
    flow.write_text(json.dumps(hello))
    proc = FlowProcess([flow], "--workers", "2", env={"REDIS_URL": ""})
    await proc.start(wait_for="all 2 workers started", timeout=WATCHDOG)
    try:
        assert "inject nodes with once/repeat/cron fire in every worker" in proc.output
        assert await workers_seen(proc, {"0", "1"}) == {"0", "1"}
    finally:
        assert await proc.stop(timeout=WATCHDOG) == 0
