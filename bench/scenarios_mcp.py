"""MCP scenarios (issue 15): `tools/call` over Streamable HTTP, flowrt vs the Python MCP servers.

The same tool, `add(a, b)` -> the sum as text and as structured content, served by
- flowrt running flows/mcp-streamable.yaml (standard nodes: JSON-RPC in a function node) and, once
  it is node-based, flows/mcp-server.yaml (mcp-server / mcp-tool nodes);
- the official Python SDK's server (`mcp` 2.x: MCPServer, once FastMCP) on uvicorn;
- the `fastmcp` package (its own FastMCP) on uvicorn, installed on first use into a venv of its
  own under ~/.cache/flowrt-bench/fastmcp (pinned; its `mcp` need not match ours).
Both Python servers answer with JSON (`json_response=True`), as the flowrt flow does when the
client accepts application/json, and keep sessions (stateful), as the flow does.

Load: a lean aiohttp client speaking JSON-RPC, not an SDK client (which costs more than the
servers it would measure): each of 50 clients initializes once (initialize, then
notifications/initialized), then calls tools/call in a loop; round trips/s over the measured
window, p50/p99 of each call. Idle sessions: RSS growth after opening 1,000 sessions that then
do nothing, per session.

    .venv/bin/python bench/run.py --only mcp-          # every MCP scenario, 3 alternating runs
    .venv/bin/python bench/mcp_baseline.py mcp-sdk 8000   # a baseline server by hand
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import TYPE_CHECKING

# bench/scenarios.py imports this module half-way through its own import: only names defined
# above its scenario table are there yet.
from scenarios import ROOT, Scenario

if TYPE_CHECKING:
    from scenarios import Settings

HOST = "127.0.0.1"
PATH = "/mcp"
STREAMABLE_FLOW = ROOT / "flows" / "mcp-streamable.yaml"
NODES_FLOW = ROOT / "flows" / "mcp-server.yaml"
BASELINE_SERVER = Path(__file__).resolve().with_name("mcp_baseline.py")
FASTMCP_VERSION = os.environ.get("FLOWRT_BENCH_FASTMCP", "4.1.6")
FASTMCP_VENV = Path(os.environ.get("FLOWRT_BENCH_CACHE", Path.home() / ".cache" / "flowrt-bench")) / "fastmcp"
PROTOCOL = "2025-06-18"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


# ---------------------------------------------------------------- the load client


class McpClient:
    """One MCP client over Streamable HTTP: a session id, JSON-RPC requests as pre-built bytes."""

    def __init__(self, http, url: str, number: int) -> None:
        self.http = http
        self.url = url
        self.number = number
        self.headers = dict(HEADERS)
        self.next_id = 0

    async def post(self, message: dict) -> tuple[int, bytes]:
        async with self.http.post(self.url, data=json.dumps(message).encode(), headers=self.headers) as r:
            return r.status, await r.read()

    async def initialize(self) -> None:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": f"flowrt-bench-{self.number}", "version": "1"},
            },
        }
        async with self.http.post(self.url, data=json.dumps(init).encode(), headers=self.headers) as r:
            body = await r.read()
            if r.status != 200 or "Mcp-Session-Id" not in r.headers:
                raise RuntimeError(f"initialize answered {r.status} {body[:200]!r}")
            self.headers["Mcp-Session-Id"] = r.headers["Mcp-Session-Id"]
            self.headers["MCP-Protocol-Version"] = PROTOCOL
        status, body = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if status != 202:
            raise RuntimeError(f"notifications/initialized answered {status} {body[:200]!r}")

    async def call_add(self, a: int, b: int) -> None:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call"}
        message["params"] = {"name": "add", "arguments": {"a": a, "b": b}}
        status, body = await self.post(message)
        if status != 200:
            raise RuntimeError(f"tools/call answered {status} {body[:200]!r}")
        reply = _rpc_reply(body)
        result = reply.get("result")
        if reply.get("id") != self.next_id or not result or result.get("isError"):
            raise RuntimeError(f"tools/call: unexpected reply {body[:200]!r}")
        if _text(result) not in (str(a + b), f"{a + b}.0"):
            raise RuntimeError(f"add({a}, {b}) answered {_text(result)!r}")


def _rpc_reply(body: bytes) -> dict:
    """The JSON-RPC reply of a JSON body or of the first `data:` line of an SSE body."""
    text = body.strip()
    if text[:1] != b"{":
        for line in text.splitlines():
            if line.startswith(b"data:"):
                text = line[5:].strip()
                break
    return json.loads(text)


def _text(result: dict) -> str:
    return "".join(item.get("text", "") for item in result.get("content", []) if item.get("type") == "text")


def _connector():
    import aiohttp

    return aiohttp.TCPConnector(limit=0, force_close=False, enable_cleanup_closed=False)


async def measure_calls(scenario: Scenario, server, settings: Settings) -> dict:
    """tools/call round trips/s with `clients` concurrent clients, and p50/p99 of a call."""
    import aiohttp

    clients_count = settings.connections or scenario.params["clients"]
    url = f"http://{HOST}:{server.port}{PATH}"
    async with aiohttp.ClientSession(connector=_connector()) as http:
        clients = [McpClient(http, url, n) for n in range(clients_count)]
        await asyncio.gather(*(client.initialize() for client in clients))
        started = time.perf_counter()
        measure_from = started + settings.warmup
        stop_at = measure_from + settings.duration
        latencies: list[float] = []

        async def loop(client: McpClient) -> int:
            count = 0
            while True:
                begun = time.perf_counter()
                if begun >= stop_at:
                    return count
                await client.call_add(count, client.number)
                if begun >= measure_from:
                    latencies.append(time.perf_counter() - begun)
                    count += 1

        counts = await asyncio.gather(*(loop(client) for client in clients))
        elapsed = time.perf_counter() - measure_from
    latencies.sort()
    return {
        "rt_s": round(sum(counts) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "calls": sum(counts),
        "rss_kb": server.rss_kb(),
    }


async def measure_idle_sessions(scenario: Scenario, server, settings: Settings) -> dict:
    """RSS growth per session after opening `sessions` sessions that then stay idle."""
    import aiohttp

    count = settings.sse_sessions or scenario.params["sessions"]
    url = f"http://{HOST}:{server.port}{PATH}"
    async with aiohttp.ClientSession(connector=_connector()) as http:
        warm = McpClient(http, url, -1)  # lazy start-up costs do not count per session
        await warm.initialize()
        await warm.call_add(1, 2)
        await asyncio.sleep(settings.settle / 2)
        before = server.rss_kb()
        gate = asyncio.Semaphore(50)

        async def open_one(number: int) -> None:
            async with gate:
                await McpClient(http, url, number).initialize()

        started = time.perf_counter()
        await asyncio.gather(*(open_one(n) for n in range(count)))
        opened = time.perf_counter() - started
        await asyncio.sleep(settings.settle)
        after = server.rss_kb()
    return {
        "sessions": count,
        "open_s": round(opened, 3),
        "rss_before_kb": before,
        "rss_after_kb": after,
        "rss_per_session_kb": round((after - before) / count, 2),
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * q))]


# ---------------------------------------------------------------- the baseline servers


def fastmcp_python() -> str:
    """The python of the fastmcp venv, created (pip install fastmcp==FASTMCP_VERSION) on first use."""
    python = FASTMCP_VENV / "bin" / "python"
    marker = FASTMCP_VENV / f".installed-{FASTMCP_VERSION}"
    if not marker.exists():
        FASTMCP_VENV.parent.mkdir(parents=True, exist_ok=True)
        venv.create(FASTMCP_VENV, with_pip=True, clear=True)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"fastmcp=={FASTMCP_VERSION}", "uvicorn"],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"pip install fastmcp=={FASTMCP_VERSION} failed: {result.stderr[-500:]}")
        marker.touch()
    return str(python)


def baseline_server(kind: str):
    """A bench/nodered.py ServerProcess serving the add tool with `kind`."""
    import nodered

    port = nodered.free_port()
    python = sys.executable if kind == "mcp-sdk" else fastmcp_python()
    argv = [python, str(BASELINE_SERVER), kind, str(port)]
    return nodered.ServerProcess(kind, argv, port, env={"PYTHONUNBUFFERED": "1"})


SERVERS = {
    "mcp-sdk": lambda scenario: baseline_server("mcp-sdk"),
    "fastmcp": lambda scenario: baseline_server("fastmcp"),
}

# ---------------------------------------------------------------- the scenarios

_NAMES = {"mcp-sdk": "the official Python SDK (mcp MCPServer)", "fastmcp": "fastmcp"}


def _scenarios(prefix: str, flow: Path, what: str) -> list[Scenario]:
    out = []
    for baseline in ("mcp-sdk", "fastmcp"):
        short = "sdk" if baseline == "mcp-sdk" else "fastmcp"
        out.append(
            Scenario(
                f"{prefix}-calls-{short}",
                f"tools/call add over Streamable HTTP, 50 clients: {what} vs {_NAMES[baseline]}",
                "mcp_calls",
                flow,
                baseline,
                None,
                "rt_s",
                "higher",
                ">= 2.0",
                ("p50_ms", "p99_ms"),
                {"clients": 50},
            )
        )
        out.append(
            Scenario(
                f"{prefix}-idle-{short}",
                f"RSS per idle Streamable HTTP session, 1,000 sessions: {what} vs {_NAMES[baseline]}",
                "mcp_sessions",
                flow,
                baseline,
                None,
                "rss_per_session_kb",
                "lower",
                "<= 0.5",
                ("open_s",),
                {"sessions": 1000},
            )
        )
    return out


def _node_based(flow: Path) -> bool:
    return flow.exists() and "type: mcp-server" in flow.read_text()


SCENARIOS = _scenarios("mcp", STREAMABLE_FLOW, "flows/mcp-streamable.yaml") + _scenarios(
    "mcp-nodes",
    # until flows/mcp-server.yaml is built on the mcp-* nodes, the scenario is skipped (no such file)
    NODES_FLOW if _node_based(NODES_FLOW) else NODES_FLOW.with_name("mcp-server.yaml (node-based, not yet)"),
    "flows/mcp-server.yaml (mcp-* nodes)",
)

MEASURES = {"mcp_calls": measure_calls, "mcp_sessions": measure_idle_sessions}
