"""bench/scenarios_mcp.py must not rot: its load client and measures work against flowrt's MCP flow
and the official SDK's server (fastmcp is installed by the bench on first use: not here).

No timing assertions: only that each side answered every call and numbers were produced.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import nodered  # noqa: E402
import scenarios  # noqa: E402
import scenarios_mcp  # noqa: E402

pytest.importorskip("mcp.server.mcpserver", reason="the official MCP SDK 2.x (test extra) is not installed")
pytest.importorskip("uvicorn", reason="uvicorn (with the MCP SDK) is not installed")

SHORT = scenarios.Settings(quick=True, duration=0.5, warmup=0.1, connections=5, sse_sessions=20, settle=0.2)


def test_the_mcp_scenarios_are_registered():
    names = {s.name for s in scenarios.SCENARIOS if s.name.startswith("mcp-")}
    assert {"mcp-calls-sdk", "mcp-calls-fastmcp", "mcp-idle-sdk", "mcp-idle-fastmcp"} <= names
    assert set(scenarios_mcp.SERVERS) <= set(scenarios.EXTRA_SERVERS)


@pytest.mark.parametrize("side", ["flowrt", "mcp-sdk"])
async def test_calls_and_idle_sessions_are_measured(side):
    calls = scenarios.BY_NAME["mcp-calls-sdk"]
    idle = scenarios.BY_NAME["mcp-idle-sdk"]
    for scenario, measure in (
        (calls, scenarios_mcp.measure_calls),
        (idle, scenarios_mcp.measure_idle_sessions),
    ):
        if side == "flowrt":
            server = nodered.flowrt_server(scenario.flowrt_flow)
        else:
            server = scenarios.EXTRA_SERVERS[side](scenario)
        try:
            await server.start(timeout=60)
            metrics = await measure(scenario, server, SHORT)
        finally:
            await server.stop()
        if measure is scenarios_mcp.measure_calls:
            assert metrics["calls"] > 0 and metrics["rt_s"] > 0 and metrics["p99_ms"] >= metrics["p50_ms"] > 0
        else:
            assert metrics["sessions"] == 20 and metrics["rss_after_kb"] > 0
