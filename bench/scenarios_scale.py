"""Scaling-out scenarios (issue 17): `flowrt run --workers 2`, SSE across processes, Redis context.

- scale-hello-workers: GET /hello (the reference a_hello flow), 50 connections. The flowrt side
  measures the one-process server the bench started, then `flowrt run --workers 2` on another
  port (no Redis: the flow is stateless); `req_s` is the two-worker figure (compared with
  Node-RED), `speedup` two workers over one (target >= 1.7).
- scale-sse-push-cross: two `flowrt run` processes A and B on one redis-server
  (sseSessionRegistry: redis); 100 SSE sessions open on A, each POST goes to B, whose sse-send
  publishes through Redis to A: time from the POST until the event is read on A's stream.
- scale-redis-context: a function node doing `flow.set(k, flow.get(k) + 1)` in a loop on the
  memory store and on the redis store, and `flow.update` on redis: operations per second.

One redis-server (flowrt.testing.redisserver) is started per bench run on first use. The
bench-started one-process server of the last two scenarios idles while they run their own.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import loadgen
import nodered

# bench/scenarios.py imports this module half-way through its own import: only names defined
# above its scenario table are there yet (the rest is looked up at run time, as `scenarios.X`).
import scenarios
from loadgen import Request
from scenarios import OWN_FLOWS, Scenario, reference_flow

if TYPE_CHECKING:
    from scenarios import Settings

HOST = "127.0.0.1"
HELLO = Request("GET", "/hello")
_redis = None


def ensure_redis():
    """One redis-server for the bench run (stopped at exit)."""
    global _redis
    if _redis is None:
        from flowrt.testing.redisserver import MISSING, RedisServer

        _redis = RedisServer.start_new(Path(tempfile.mkdtemp(prefix="flowrt-bench-redis-")))
        if _redis is None:
            raise RuntimeError(MISSING)
        atexit.register(_redis.stop)
    return _redis


def _flowrt(flow: Path, *extra: str) -> nodered.ServerProcess:
    port = nodered.free_port()
    tmp = tempfile.TemporaryDirectory(prefix="flowrt-bench-scale-")
    argv = [sys.executable, "-m", "flowrt", "run", str(flow), "-p", str(port), "-u", tmp.name, *extra]
    return nodered.ServerProcess("flowrt", argv, port, env={"PYTHONUNBUFFERED": "1"}, cleanup=tmp.cleanup)


def _redis_args(url: str, prefix: str) -> list[str]:
    storage = {"default": {"module": "memory"}, "shared": {"module": "redis", "config": {"url": url}}}
    storage["shared"]["config"]["prefix"] = prefix + "ctx:"
    return [
        "-D",
        f"contextStorage={json.dumps(storage)}",
        "-D",
        "sseSessionRegistry=redis",
        "-D",
        f"redis={json.dumps({'url': url, 'prefix': prefix})}",
    ]


# ---------------------------------------------------------------- GET /hello on 2 workers


async def _hello_load(port: int, settings: Settings, connections: int) -> loadgen.LoadResult:
    status, body = await loadgen.http_once(HOST, port, HELLO)
    if status != 200 or b"Hello" not in body:
        raise RuntimeError(f"probe GET /hello answered {status} {body[:100]!r}")
    result = await loadgen.run_load(
        settings.engine,
        HOST,
        port,
        HELLO,
        settings.connections or connections,
        settings.duration,
        settings.warmup,
    )
    if result.requests == 0:
        raise RuntimeError(f"no successful request under load ({result.errors} errors)")
    return result


async def measure_workers(scenario: Scenario, server, settings: Settings) -> dict:
    connections = scenario.params["connections"]
    if server.name != "flowrt":  # the baseline: Node-RED as it is
        result = await _hello_load(server.port, settings, connections)
        return {"req_s": result.req_s, "p50_ms": result.p50_ms, "p99_ms": result.p99_ms}
    one = await _hello_load(server.port, settings, connections)
    workers = _flowrt(scenario.flowrt_flow, "--workers", "2")
    try:
        await workers.start(timeout=60, wait_for="all 2 workers started")
        two = await _hello_load(workers.port, settings, connections)
    finally:
        await workers.stop()
    return {
        "req_s": two.req_s,
        "req_s_1w": one.req_s,
        "speedup": round(two.req_s / one.req_s, 3) if one.req_s else None,
        "p50_ms": two.p50_ms,
        "p99_ms": two.p99_ms,
        "errors": two.errors,
    }


# ---------------------------------------------------------------- SSE push across processes

SSE_FLOW = [
    {"id": "t", "type": "tab", "label": "bench scale sse"},
    {"id": "get", "type": "http in", "z": "t", "url": "/sse", "method": "get", "wires": [["sess"]]},
    {"id": "sess", "type": "sse-session", "z": "t", "keepalive": 15, "wires": [[], []]},
    {"id": "push", "type": "http in", "z": "t", "url": "/push", "method": "post", "wires": [["send"]]},
    {"id": "send", "type": "sse-send", "z": "t", "session": "req.query.sid", "wires": [["ok"]]},
    {"id": "ok", "type": "http response", "z": "t", "statusCode": "202", "wires": []},
]


async def measure_sse_cross(scenario: Scenario, server, settings: Settings) -> dict:
    url = ensure_redis().url
    count = scenario.params["sessions"]
    requests = settings.push_requests or scenario.params["requests"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(SSE_FLOW, f)
    prefix = f"bench{time.time_ns()}:"
    a, b = _flowrt(Path(f.name), *_redis_args(url, prefix)), _flowrt(Path(f.name), *_redis_args(url, prefix))
    clients = []
    poster = None
    try:
        await a.start(timeout=60)
        await b.start(timeout=60)
        clients, _ = await scenarios._open_sessions(a.port, "/sse", count)
        sids = [client.first[1].split("sessionId=")[1].strip() for client in clients]
        poster = loadgen.KeepAliveClient(HOST, b.port)
        latencies = []
        for number in range(requests):
            index = number % count
            started = time.perf_counter()
            push = Request("POST", f"/push?sid={sids[index]}", str(number).encode(), "text/plain")
            status, body = await poster.request(push)
            if status != 202:
                raise RuntimeError(f"POST /push on B answered {status}: {body[:200]!r}")
            while True:
                name, data = await asyncio.wait_for(clients[index].next_event(), 5.0)
                if name == "message" and data == str(number):
                    break
            latencies.append(time.perf_counter() - started)
    finally:
        if poster is not None:
            poster.close()
        for client in clients:
            client.close()
        await a.stop()
        await b.stop()
        Path(f.name).unlink(missing_ok=True)
    latencies.sort()
    return {
        "sessions": count,
        "requests": requests,
        "p50_ms": round(loadgen.percentile(latencies, 0.5) * 1000, 3),
        "p99_ms": round(loadgen.percentile(latencies, 0.99) * 1000, 3),
    }


# ---------------------------------------------------------------- Redis context from a function


CONTEXT_FLOW = [
    {"id": "t", "type": "tab", "label": "bench scale context"},
    {"id": "in", "type": "http in", "z": "t", "url": "/ctx", "method": "get", "wires": [["fn"]]},
    {
        "id": "fn",
        "type": "function",
        "z": "t",
        "func": (
            "const n = Number(msg.req.query.n), store = msg.req.query.store;\n"
            "const t0 = Date.now();\n"
            'if (msg.req.query.op === "update") {\n'
            '  for (let i = 0; i < n; i++) flow.update("k", v => (v || 0) + 1, store);\n'
            "} else {\n"
            '  for (let i = 0; i < n; i++) flow.set("k", (flow.get("k", store) || 0) + 1, store);\n'
            "}\n"
            "msg.payload = String(n / Math.max(Date.now() - t0, 1) * 1000);\nreturn msg;"
        ),
        "wires": [["out"]],
    },
    {"id": "out", "type": "http response", "z": "t", "wires": []},
]


async def measure_context(scenario: Scenario, server, settings: Settings) -> dict:
    url = ensure_redis().url
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(CONTEXT_FLOW, f)
    proc = _flowrt(Path(f.name), *_redis_args(url, f"benchctx{time.time_ns()}:"))
    rounds = 2 if settings.quick else 5
    found: dict[str, list[float]] = {"memory": [], "redis": [], "update": []}
    try:
        await proc.start(timeout=60)
        queries = {
            "memory": "store=default&n=50000",
            "redis": "store=shared&n=5000",
            "update": "store=shared&op=update&n=3000",
        }
        for _ in range(rounds):
            for name, query in queries.items():
                status, body = await loadgen.http_once(HOST, proc.port, Request("GET", f"/ctx?{query}"), 120)
                if status != 200:
                    raise RuntimeError(f"GET /ctx?{query} answered {status} {body[:200]!r}")
                found[name].append(float(body))
    finally:
        await proc.stop()
        Path(f.name).unlink(missing_ok=True)
    memory, redis_ops, update = (statistics.median(found[k]) for k in ("memory", "redis", "update"))
    return {
        "redis_ops_s": round(redis_ops),
        "memory_ops_s": round(memory),
        "update_ops_s": round(update),
        "redis_vs_memory": round(redis_ops / memory, 4),
    }


SCENARIOS = [
    Scenario(
        "scale-hello-workers",
        "GET /hello -> change -> http response, flowrt run --workers 2 (vs 1 and vs Node-RED), 50 connections",
        "scale_http",
        reference_flow("a_hello.json"),
        "node-red",
        reference_flow("a_hello.json"),
        "req_s",
        "higher",
        "speedup >= 1.7",
        ("req_s_1w", "speedup", "p99_ms"),
        {"connections": 50},
        note="2 cores shared by the load generator, both workers and other work on the machine",
    ),
    Scenario(
        "scale-sse-push-cross",
        "SSE push across processes: POST to B -> sse-send -> Redis -> stream on A, 100 sessions",
        "scale_sse",
        OWN_FLOWS / "b_echo_python.json",  # the bench-started server idles; A and B are the scenario's
        None,
        None,
        "p99_ms",
        "lower",
        "p99_ms < 5",
        ("p50_ms",),
        {"sessions": 100, "requests": 2000},
        note="flowrt only: two processes on one redis-server",
    ),
    Scenario(
        "scale-redis-context",
        "function node flow.get+flow.set per second: redis store vs memory store (and flow.update)",
        "scale_context",
        OWN_FLOWS / "b_echo_python.json",
        None,
        None,
        "redis_ops_s",
        "higher",
        "report",
        ("memory_ops_s", "update_ops_s", "redis_vs_memory"),
        {},
        note="one get+set is one loop iteration: two Redis round trips on the redis store",
    ),
]

MEASURES = {"scale_http": measure_workers, "scale_sse": measure_sse_cross, "scale_context": measure_context}
