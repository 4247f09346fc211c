"""The benchmark harness (bench/) must not rot: its parts work and its quick mode measures something.

No timing assertions: only that numbers were produced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402
import nodered  # noqa: E402
import scenarios  # noqa: E402

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:1880/hello
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.12ms    5.01ms  47.20ms   80.00%
    Req/Sec     5.40k   310.22     6.01k    71.00%
  Latency Distribution
     50%    7.95ms
     75%   10.10ms
     90%   14.70ms
     99%   34.02ms
  53760 requests in 10.01s, 10.61MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   5370.63
Transfer/sec:      1.06MB
"""


def test_parse_wrk_output():
    result = loadgen.parse_wrk_output(WRK_OUTPUT, 10)
    assert result.engine == "wrk"
    assert result.requests == 53760
    assert result.req_s == 5370.63
    assert result.p50_ms == 7.95
    assert result.p99_ms == 34.02
    assert result.errors == 3


def test_wrk_latency_units():
    assert loadgen._wrk_ms("850.00us") == 0.85
    assert loadgen._wrk_ms("1.50s") == 1500.0


def test_engine_choice_builtin_when_asked():
    assert loadgen.choose_engine("builtin") == ("builtin", None)


async def _serve(handler_text: str = "Hello, World!"):
    async def hello(request: web.Request) -> web.Response:
        if request.method == "POST":
            data = await request.json()
            return web.json_response({"n": data["n"] + 1})
        return web.Response(text=handler_text)

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_post("/echo", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = nodered.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def test_builtin_load_generator_counts_requests():
    runner, port = await _serve()
    try:
        result = await loadgen.builtin_load("127.0.0.1", port, scenarios.HELLO, 4, 0.3, 0.1)
        post = await loadgen.builtin_load("127.0.0.1", port, scenarios.ECHO, 2, 0.3)
        status, body = await loadgen.http_once("127.0.0.1", port, scenarios.ECHO)
        client = loadgen.KeepAliveClient("127.0.0.1", port)
        again = [await client.request(scenarios.HELLO) for _ in range(3)]
        client.close()
    finally:
        await runner.cleanup()
    assert result.requests > 0 and result.req_s > 0 and result.errors == 0
    assert result.p50_ms is not None and result.p99_ms is not None
    assert post.requests > 0 and post.errors == 0
    assert (status, json.loads(body)) == (200, {"n": 2})
    assert again == [(200, b"Hello, World!")] * 3


def test_flat_flow_for_node_red():
    tab = {"id": "t", "type": "tab", "label": "x", "nodes": [{"id": "n", "type": "comment", "z": "t"}]}
    assert nodered.flat_flow(tab) == [
        {"id": "t", "type": "tab", "label": "x"},
        {"id": "n", "type": "comment", "z": "t"},
    ]
    assert nodered.flat_flow([tab]) == [tab]


def test_generated_flows_are_current(tmp_path, monkeypatch):
    if not scenarios.REFERENCE.exists():
        pytest.skip(f"Node-RED reference flows not on this machine ({scenarios.REFERENCE})")
    committed = {p.name: p.read_text() for p in scenarios.OWN_FLOWS.glob("*.json")}
    monkeypatch.setattr(scenarios, "OWN_FLOWS", tmp_path)
    for path in scenarios.generate_flows():
        assert committed.get(path.name) == path.read_text(), (
            f"run: python bench/scenarios.py gen-flows ({path.name})"
        )


def test_quick_chain_flow_is_shortened(tmp_path):
    flow = scenarios.reference_flow("c_chain_change_k1.json")
    if not flow.exists():
        pytest.skip(f"{flow} not on this machine")
    quick = scenarios.prepare_flow(flow, scenarios.Settings.make(True, "builtin"), tmp_path)
    assert "window_ms: 2000" in quick.read_text() and "window_ms: 10000" not in quick.read_text()


def test_scenario_selection():
    assert [s.name for s in scenarios.select(["hello"])] == ["hello"]
    assert [s.name for s in scenarios.select(["hello-"])] == ["hello-vs-aiohttp"]
    assert {s.name for s in scenarios.select(["chain-change"])} == {"chain-change-k1", "chain-change-k100"}
    assert [s.name for s in scenarios.select(["chain-change-k1"])] == ["chain-change-k1"]
    assert [s.name for s in scenarios.select(["hello,echo-js"])] == ["hello", "echo-js"]
    with pytest.raises(SystemExit):
        scenarios.select(["nope"])


def _missing_hello_types() -> list[str]:
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    try:
        load_builtin_nodes()
    except Exception as err:  # a node module under construction elsewhere
        return [f"built-in nodes do not load ({err!r})"]
    return [t for t in ("http in", "change", "http response") if registry.get_type(t) is None]


def test_quick_mode_measures_get_hello(tmp_path):
    missing = _missing_hello_types()
    if missing:
        pytest.skip(f"node types not registered yet: {', '.join(missing)}")
    flow = scenarios.BY_NAME["hello"].flowrt_flow
    if not flow.exists():
        pytest.skip(f"{flow} not on this machine")
    out = tmp_path / "bench.json"
    command = [sys.executable, str(BENCH / "run.py"), "--quick", "--only", "hello", "--runs", "1"]
    command += ["--duration", "1", "--loadgen", "builtin", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    hello = {s["name"]: s for s in report["scenarios"]}["hello"]
    assert hello["status"] == "ok", hello
    assert hello["flowrt"] > 0
    assert hello["median"]["flowrt"]["p99_ms"] > 0
    assert "load generator: builtin" in done.stdout


def test_without_node_the_harness_says_so(monkeypatch):
    monkeypatch.setattr(nodered.shutil, "which", lambda name: None)
    red, line = nodered.ensure_node_red()
    assert red is None
    assert "node and npm not found" in line and "flowrt runs alone" in line


def test_node_red_settings_are_headless(tmp_path, monkeypatch):
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"id": "t", "type": "tab", "nodes": []}))
    server = nodered.nodered_server(tmp_path / "red.js", flow, port=1234)
    try:
        settings_path = Path(server.argv[server.argv.index("--settings") + 1])
        settings = settings_path.read_text()
        assert "disableEditor: true" in settings and "uiPort: 1234" in settings
        assert json.loads((settings_path.parent / "flows.json").read_text()) == [{"id": "t", "type": "tab"}]
    finally:
        server.cleanup()
