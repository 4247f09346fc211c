"""The benchmark scenarios and how each kind is measured on a running server.

Every scenario names the flow flowrt runs and the baseline it is compared with: Node-RED 4.x running
a flow file (the same file when both runtimes can run it), or a bare aiohttp "Hello" handler (the
ceiling of our HTTP stack). Kinds:

- http:      N keep-alive connections for a fixed time (wrk or the built-in generator): req/s, p50, p99
- chain:     the flow measures itself and prints `RESULT ... node_deliveries_per_s=N` via node.warn
- sse_open:  open N SSE sessions at once: time until every one got its first event, RSS per session
- sse_push:  S open MCP SSE sessions; POST a JSON-RPC request, time until its reply event arrives
- idle:      start-up time to the first answered request, then RSS of the idle process

`python bench/scenarios.py gen-flows` regenerates bench/flows/*.json (the python-function variants
of the Node-RED reference flows); `python bench/scenarios.py aiohttp-hello PORT` is the bare
aiohttp server.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "node-red-reference" / "flows"
SEED_MCP_TAB = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "mcp-server-tab.json"
MCP_FLOW = ROOT / "flows" / "mcp-server.yaml"
OWN_FLOWS = BENCH / "flows"

sys.path.insert(0, str(BENCH))
import loadgen  # noqa: E402
from loadgen import Request  # noqa: E402


def reference_flow(name: str) -> Path:
    """A Node-RED reference flow; falls back to a copy under bench/flows/ on other machines."""
    shared = REFERENCE / name
    return shared if shared.exists() else OWN_FLOWS / "reference" / name


@dataclass
class Scenario:
    name: str
    title: str
    kind: str
    flowrt_flow: Path
    baseline: str | None  # "node-red", "aiohttp" or None (flowrt alone)
    baseline_flow: Path | None
    metric: str  # the metric the ratio is taken on
    better: str  # "higher" or "lower"
    target: str  # e.g. ">= 2.0" (ratio) or "p99 < 5" (absolute, flowrt figure)
    show: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)
    note: str = ""

    def target_met(self, ratio: float | None, flowrt: dict) -> bool | None:
        op, _, value = self.target.partition(" ")
        if op in (">=", "<="):
            if ratio is None:
                return None
            return ratio >= float(value) if op == ">=" else ratio <= float(value)
        match = re.fullmatch(r"(\w+) ([<>]=?) ([\d.]+)", self.target)
        if match and flowrt.get(match.group(1)) is not None:
            got, cmp, want = flowrt[match.group(1)], match.group(2), float(match.group(3))
            return {"<": got < want, "<=": got <= want, ">": got > want, ">=": got >= want}[cmp]
        return None


HELLO = Request("GET", "/hello")
ECHO = Request("POST", "/echo", b'{"n":1}')


def _chain(kind: str, k: int, title: str, target: str, baseline_kind: str | None = None) -> Scenario:
    own = kind == "python"
    flow = OWN_FLOWS / f"c_chain_python_k{k}.json" if own else reference_flow(f"c_chain_{kind}_k{k}.json")
    return Scenario(
        name=f"chain-{kind}-k{k}",
        title=f"{title}, {k} in flight",
        kind="chain",
        flowrt_flow=flow,
        baseline="node-red",
        baseline_flow=reference_flow(f"c_chain_{baseline_kind or kind}_k{k}.json"),
        metric="deliveries_s",
        better="higher",
        target=target,
        note="Node-RED runs the JS function chain" if own else "",
    )


SCENARIOS: list[Scenario] = [
    Scenario(
        "hello",
        "GET /hello -> change -> http response, 50 connections",
        "http",
        reference_flow("a_hello.json"),
        "node-red",
        reference_flow("a_hello.json"),
        "req_s",
        "higher",
        ">= 2.0",
        ("p50_ms", "p99_ms"),
        {"request": HELLO, "connections": 50, "expect": b"Hello, World!"},
    ),
    Scenario(
        "hello-vs-aiohttp",
        "GET /hello on flowrt vs a bare aiohttp handler (our stack's ceiling), 50 connections",
        "http",
        reference_flow("a_hello.json"),
        "aiohttp",
        None,
        "req_s",
        "higher",
        ">= 0.7",
        ("p50_ms", "p99_ms"),
        {"request": HELLO, "connections": 50, "expect": b"Hello, World!"},
    ),
    Scenario(
        "echo-js",
        "POST /echo -> JS function -> http response, 50 connections",
        "http",
        reference_flow("b_echo.json"),
        "node-red",
        reference_flow("b_echo.json"),
        "req_s",
        "higher",
        ">= 1.2",
        ("p50_ms", "p99_ms"),
        {"request": ECHO, "connections": 50, "expect": b'"n":2'},
    ),
    Scenario(
        "echo-python",
        "POST /echo -> python-function -> http response, 50 connections",
        "http",
        OWN_FLOWS / "b_echo_python.json",
        "node-red",
        reference_flow("b_echo.json"),
        "req_s",
        "higher",
        ">= 2.0",
        ("p50_ms", "p99_ms"),
        {"request": ECHO, "connections": 50, "expect": b'"n":2'},
        note="Node-RED runs the JS function echo",
    ),
    _chain("change", 1, "10 change nodes in a loop", ">= 1.0"),
    _chain("change", 100, "10 change nodes in a loop", ">= 1.0"),
    _chain("function", 1, "10 JS function nodes in a loop", ">= 1.0"),
    _chain("function", 100, "10 JS function nodes in a loop", ">= 1.0"),
    _chain("python", 1, "10 python-function nodes in a loop", ">= 3.0", baseline_kind="function"),
    _chain("python", 100, "10 python-function nodes in a loop", ">= 3.0", baseline_kind="function"),
    *(
        Scenario(
            f"{name}{suffix}",
            f"{count:,} open SSE sessions {what}",
            "sse_open",
            flow,
            "node-red",
            node_red_flow,
            "rss_per_session_kb",
            "lower",
            "<= 0.33",
            ("open_s",),
            {"path": "/sse", "sessions": count},
        )
        for name, what, flow, node_red_flow in (
            (
                "sse-open",
                "(d_sse: http in -> function writing to msg.res._res)",
                reference_flow("d_sse.json"),
                reference_flow("d_sse.json"),
            ),
            ("sse-open-mcp", "on the MCP flow (Node-RED: the seed MCP Server tab)", MCP_FLOW, SEED_MCP_TAB),
        )
        for suffix, count in (("", 1000), ("-10k", 10000))
    ),
    Scenario(
        "sse-push",
        "SSE push latency on the MCP flow: POST JSON-RPC ping -> reply event, 100 open sessions",
        "sse_push",
        MCP_FLOW,
        None,
        None,
        "p99_ms",
        "lower",
        "p99_ms < 5",
        ("p50_ms",),
        {"path": "/sse", "sessions": 100, "requests": 2000},
        note="flowrt only (the seed tab answers through a 1 s poller)",
    ),
    Scenario(
        "idle-mcp",
        "Idle process with the MCP flow loaded (Node-RED: the seed MCP Server tab)",
        "idle",
        MCP_FLOW,
        "node-red",
        SEED_MCP_TAB,
        "rss_kb",
        "lower",
        "<= 0.5",
        ("startup_ms",),
        {"probe": "/sse"},
    ),
]


def _load_extra_scenarios() -> dict:
    """Scenario groups in bench/scenarios_*.py (one per capability, e.g. scenarios_mqtt.py).

    Each such module defines `SCENARIOS` (a list of Scenario) and `MEASURES` ({kind: async function
    (scenario, server, settings) -> metrics}), and may define `SERVERS` ({baseline name: function
    (scenario) -> nodered.ServerProcess}) for baselines of its own; importing this module adds them
    to the tables here.
    """
    import importlib

    measures: dict = {}
    for path in sorted(BENCH.glob("scenarios_*.py")):
        module = importlib.import_module(path.stem)
        SCENARIOS.extend(module.SCENARIOS)
        measures.update(getattr(module, "MEASURES", {}))
        EXTRA_SERVERS.update(getattr(module, "SERVERS", {}))
    return measures


EXTRA_SERVERS: dict = {}
# Run as a script (`python bench/scenarios.py aiohttp-hello PORT`) this module is __main__, and
# the scenario modules' own `import scenarios` loads a second copy: only that copy loads them.
EXTRA_MEASURES = _load_extra_scenarios() if __name__ != "__main__" else {}
BY_NAME = {s.name: s for s in SCENARIOS}


def select(patterns: list[str]) -> list[Scenario]:
    """Scenarios named by the patterns: an exact name, else every name starting with it."""
    if not patterns:
        return list(SCENARIOS)
    wanted = [p.strip() for text in patterns for p in text.split(",") if p.strip()]

    def matches(scenario: Scenario, pattern: str) -> bool:
        return scenario.name == pattern if pattern in BY_NAME else scenario.name.startswith(pattern)

    unknown = [p for p in wanted if not any(matches(s, p) for s in SCENARIOS)]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    return [s for s in SCENARIOS if any(matches(s, p) for p in wanted)]


# ---------------------------------------------------------------- run settings


@dataclass
class Settings:
    quick: bool = False
    engine: str = "builtin"
    duration: float = 10.0
    warmup: float = 1.0
    connections: int | None = None  # overrides the scenario's
    sse_sessions: int | None = None
    push_requests: int | None = None
    settle: float = 2.0

    @classmethod
    def make(cls, quick: bool, engine: str, duration: float | None = None) -> Settings:
        if quick:
            return cls(True, engine, duration or 2.0, 0.3, None, 200, 200, 0.5)
        return cls(False, engine, duration or 10.0, 1.0)


QUICK_CHAIN = [
    ("warm_ms: 2000, window_ms: 10000", "warm_ms: 500, window_ms: 2000"),
    ("}, 1500);", "}, 300);"),
]


def prepare_flow(path: Path, settings: Settings, tmp: Path) -> Path:
    """The flow file to run: in quick mode the chain flows measure over 2 s instead of 10 s."""
    if not settings.quick or path.suffix != ".json":
        return path
    text = path.read_text()
    if "window_ms" not in text:
        return path
    document = json.loads(text)
    for node in document if isinstance(document, list) else []:
        init = node.get("initialize") if isinstance(node, dict) else None
        if init:
            for old, new in QUICK_CHAIN:
                init = init.replace(old, new)
            node["initialize"] = init
    out = tmp / f"quick-{path.name}"
    out.write_text(json.dumps(document))
    return out


# ---------------------------------------------------------------- measurements

HOST = "127.0.0.1"


async def measure(scenario: Scenario, server, settings: Settings) -> dict:
    kind = {"http": measure_http, "chain": measure_chain, "sse_open": measure_sse_open}
    kind |= {"sse_push": measure_sse_push, "idle": measure_idle} | EXTRA_MEASURES
    return await kind[scenario.kind](scenario, server, settings)


async def measure_http(scenario: Scenario, server, settings: Settings) -> dict:
    params = scenario.params
    request: Request = params["request"]
    status, body = await loadgen.http_once(HOST, server.port, request)
    if not 200 <= status < 300 or (params.get("expect") and params["expect"] not in body):
        raise RuntimeError(f"probe {request.method} {request.path} answered {status} {body[:120]!r}")
    result = await loadgen.run_load(
        settings.engine,
        HOST,
        server.port,
        request,
        settings.connections or params["connections"],
        settings.duration,
        settings.warmup,
    )
    if result.requests == 0:
        raise RuntimeError(f"no successful request under load ({result.errors} errors)")
    return {
        "req_s": result.req_s,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "errors": result.errors,
        "rss_kb": server.rss_kb(),
        "engine": result.engine,
    }


RESULT_RE = re.compile(r"RESULT chain=(\S+) inflight=(\d+) loops=(\d+) .*node_deliveries_per_s=(\d+)")


async def measure_chain(scenario: Scenario, server, settings: Settings) -> dict:
    # the chain flows log nothing at error level when they work: the first error fails the run
    line = await server.wait_for_line("RESULT chain=", 40.0 if settings.quick else 90.0, fail_on="[error]")
    match = RESULT_RE.search(line)
    if not match:
        raise RuntimeError(f"cannot read the RESULT line: {line}")
    return {
        "deliveries_s": float(match.group(4)),
        "loops": int(match.group(3)),
        "inflight": int(match.group(2)),
        "rss_kb": server.rss_kb(),
    }


class SseClient:
    """One raw SSE connection: sends GET, reads the headers and parses events as they arrive."""

    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.status = 0
        self.chunked = False
        self.buffer = b""
        self.events: asyncio.Queue = asyncio.Queue()

    async def open(self, port: int, path: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.chunked = b"transfer-encoding: chunked" in head.lower()

    async def next_event(self) -> tuple[str, str]:
        """(event name, data) of the next event; comments (keep-alives) are skipped."""
        assert self.reader is not None
        while True:
            text = self.buffer.replace(b"\r\n", b"\n")
            end = text.find(b"\n\n")
            if end >= 0:
                block, self.buffer = text[:end], text[end + 2 :]
                name, data = "message", []
                for line in block.decode(errors="replace").split("\n"):
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                if data or name != "message":
                    return name, "\n".join(data)
                continue
            self.buffer += await self._read_more()

    async def _read_more(self) -> bytes:
        assert self.reader is not None
        if not self.chunked:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("SSE stream closed")
            return data
        size_line = await self.reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            raise ConnectionError("SSE stream ended")
        data = await self.reader.readexactly(size + 2)
        return data[:-2]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _open_sessions(port: int, path: str, count: int, parallel: int = 100) -> tuple[list, float]:
    gate = asyncio.Semaphore(parallel)

    async def one() -> SseClient:
        client = SseClient()
        async with gate:
            await client.open(port, path)
            if client.status != 200:
                client.close()
                raise RuntimeError(f"GET {path} answered {client.status}")
            client.first = await client.next_event()
        return client

    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    clients = [r for r in results if isinstance(r, SseClient)]
    failures = [r for r in results if not isinstance(r, SseClient)]
    if failures:
        for client in clients:
            client.close()
        raise RuntimeError(f"{len(failures)} of {count} SSE sessions failed: {failures[0]!r}")
    return clients, elapsed


async def measure_sse_open(scenario: Scenario, server, settings: Settings) -> dict:
    count = settings.sse_sessions or scenario.params["sessions"]
    path = scenario.params["path"]
    # one session first: lazy initialisation on the first request does not count per session
    warm, _ = await _open_sessions(server.port, path, 1)
    await asyncio.sleep(settings.settle / 2)
    before = server.rss_kb()
    clients, elapsed = await _open_sessions(server.port, path, count)
    try:
        await asyncio.sleep(settings.settle)
        after = server.rss_kb()
    finally:
        for client in clients + warm:
            client.close()
    return {
        "sessions": count,
        "open_s": round(elapsed, 3),
        "rss_before_kb": before,
        "rss_after_kb": after,
        "rss_per_session_kb": round((after - before) / count, 2),
    }


def _endpoint(data: str, path: str) -> str:
    """The POST path from an `endpoint` event (relative or absolute URL)."""
    data = data.strip()
    if data.startswith("http://") or data.startswith("https://"):
        data = "/" + data.split("/", 3)[3] if data.count("/") >= 3 else "/"
    if not data.startswith("/"):
        data = path.rsplit("/", 1)[0] + "/" + data
    return data


async def _post(client: loadgen.KeepAliveClient, path: str, payload: dict) -> int:
    status, _ = await client.request(Request("POST", path, json.dumps(payload).encode()))
    return status


async def _reply(client: SseClient, wanted_id, timeout: float = 5.0) -> dict:
    async def wait() -> dict:
        while True:
            name, data = await client.next_event()
            if name != "message":
                continue
            try:
                message = json.loads(data)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("id") == wanted_id:
                return message

    return await asyncio.wait_for(wait(), timeout)


async def measure_sse_push(scenario: Scenario, server, settings: Settings) -> dict:
    path = scenario.params["path"]
    count = scenario.params["sessions"]
    requests = settings.push_requests or scenario.params["requests"]
    clients, _ = await _open_sessions(server.port, path, count)
    poster = loadgen.KeepAliveClient(HOST, server.port)
    try:
        endpoints = []
        for index, client in enumerate(clients):
            name, data = client.first
            if name != "endpoint":
                raise RuntimeError(f"first SSE event is {name!r}, not 'endpoint'")
            endpoint = _endpoint(data, path)
            endpoints.append(endpoint)
            init_id = f"init-{index}"
            status = await _post(
                poster,
                endpoint,
                {
                    "jsonrpc": "2.0",
                    "id": init_id,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-06-18",
                        "capabilities": {},
                        "clientInfo": {"name": "flowrt-bench", "version": "1"},
                    },
                },
            )
            if not 200 <= status < 300:
                raise RuntimeError(f"POST {endpoint} (initialize) answered {status}")
            await _reply(client, init_id)
            await _post(poster, endpoint, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        latencies = []
        for number in range(requests):
            index = number % count
            started = time.perf_counter()
            status = await _post(poster, endpoints[index], {"jsonrpc": "2.0", "id": number, "method": "ping"})
            if not 200 <= status < 300:
                raise RuntimeError(f"POST {endpoints[index]} (ping) answered {status}")
            await _reply(clients[index], number)
            latencies.append(time.perf_counter() - started)
    finally:
        poster.close()
        for client in clients:
            client.close()
    latencies.sort()
    return {
        "sessions": count,
        "requests": requests,
        "p50_ms": round(loadgen.percentile(latencies, 0.5) * 1000, 3),
        "p99_ms": round(loadgen.percentile(latencies, 0.99) * 1000, 3),
        "rss_kb": server.rss_kb(),
    }


async def _first_status(port: int, path: str) -> int | None:
    """Status of GET path, reading only the response head (works on SSE streams)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 1.0)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        return int(head.split(b" ", 2)[1])
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
        return None
    finally:
        writer.close()


async def measure_idle(scenario: Scenario, server, settings: Settings) -> dict:
    """Expects a server that was spawned without waiting for its ready line."""
    probe = scenario.params["probe"]
    deadline = time.perf_counter() + 60
    while True:
        status = await _first_status(server.port, probe)
        if status is not None and 200 <= status < 300:
            break
        if server.process.returncode is not None or time.perf_counter() > deadline:
            raise RuntimeError(f"GET {probe} never answered 2xx (last: {status}):\n{server.tail()}")
        await asyncio.sleep(0.01)
    first = time.perf_counter()
    await server.wait_for_line("Started flows", 30)
    await asyncio.sleep(settings.settle)
    return {"startup_ms": round((first - server.spawned_at) * 1000, 1), "rss_kb": server.rss_kb()}


def median_metrics(runs: list[dict]) -> dict:
    out: dict = {}
    for key in runs[0] if runs else ():
        values = [
            r[key] for r in runs if isinstance(r.get(key), int | float) and not isinstance(r[key], bool)
        ]
        if values:
            out[key] = round(statistics.median(values), 3)
        elif key in runs[0]:
            out[key] = runs[0][key]
    return out


# ---------------------------------------------------------------- flows of our own


def _python_echo() -> list:
    flow = copy.deepcopy(json.loads(reference_flow("b_echo.json").read_text()))

    def own(node_id: str) -> str:
        return node_id.replace("b0000000000000", "bp000000000000")

    for node in flow:
        node["id"] = own(node["id"])
        if "z" in node:
            node["z"] = own(node["z"])
        if "wires" in node:
            node["wires"] = [[own(w) for w in out] for out in node["wires"]]
        if node["type"] == "tab":
            node["label"] = "bench b (python): POST /echo"
        elif node["type"] == "function":
            node["type"] = "python-function"
            node["func"] = 'msg["payload"] = {"n": msg["payload"]["n"] + 1}\nreturn msg'
    return flow


def _python_chain(k: int) -> list:
    flow = copy.deepcopy(json.loads(reference_flow(f"c_chain_function_k{k}.json").read_text()))
    for node in flow:
        if node.get("type") == "tab":
            node["label"] = f"bench c: python-function chain x10, inflight={k}"
        elif node.get("name", "").startswith("hop"):
            node["type"] = "python-function"
            node["func"] = 'msg["hops"] = msg["hops"] + 1\nreturn msg'
        elif node.get("name") == "starter":
            node["initialize"] = node["initialize"].replace("chain: 'function'", "chain: 'python'")
    return flow


def generate_flows() -> list[Path]:
    """bench/flows/*.json: the python-function variants (starter and counter stay JS, as measured)."""
    OWN_FLOWS.mkdir(exist_ok=True)
    written = []
    for name, flow in [
        ("b_echo_python.json", _python_echo()),
        ("c_chain_python_k1.json", _python_chain(1)),
        ("c_chain_python_k100.json", _python_chain(100)),
    ]:
        path = OWN_FLOWS / name
        path.write_text(json.dumps(flow, indent=2) + "\n")
        written.append(path)
    return written


# ---------------------------------------------------------------- bare aiohttp server


def serve_aiohttp_hello(port: int) -> None:
    """The ceiling of our HTTP stack: aiohttp answering GET /hello with no flow behind it."""
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Hello, World!", content_type="text/html")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/hello", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, HOST, port).start()
        print(f"Started flows (bare aiohttp hello on port {port})", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal

    if sys.argv[1:2] == ["gen-flows"]:
        for written in generate_flows():
            print(f"wrote {written.relative_to(ROOT)}")
    elif sys.argv[1:2] == ["aiohttp-hello"] and len(sys.argv) == 3:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve_aiohttp_hello(int(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
