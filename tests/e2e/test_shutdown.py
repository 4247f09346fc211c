"""Stopping `flowrt run` (a real process) with requests in flight, and a second signal while stopping."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.testing import FlowProcess

load_builtin_nodes()
pytestmark = pytest.mark.skipif(registry.get_type("function") is None, reason="needs the JS function node")

#: Only a guard against a hang: every wait below ends on an event long before this.
WATCHDOG = 60


#: A python-function body that answers only once the runtime has begun to stop.
ANSWER_WHEN_STOPPING = """
import asyncio
node.warn("in flight")
while not node._n.runtime.stopping:
    await asyncio.sleep(0.02)
msg["payload"] = "late answer"
return msg
"""


def _http_flow(tmp_path: Path, func: str, node_type: str = "function") -> Path:
    """GET /slow -> function (warns "in flight", then `func`) -> http response."""
    if node_type == "function":
        func = 'node.warn("in flight");\n' + func
    nodes = [
        {"id": "t", "type": "tab"},
        {"id": "in", "type": "http in", "z": "t", "url": "/slow", "method": "get", "wires": [["fn"]]},
        {"id": "fn", "type": node_type, "z": "t", "func": func, "wires": [["out"]]},
        {"id": "out", "type": "http response", "z": "t"},
        {"id": "quick", "type": "http in", "z": "t", "url": "/quick", "method": "get", "wires": [["out"]]},
    ]
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(nodes))
    return flow


async def _request_then_signal(proc: FlowProcess, sig: int = signal.SIGTERM) -> tuple[int, str, int]:
    """GET /slow; once the flow has it, signal the process; the answer and the exit status."""
    async with aiohttp.ClientSession() as session:
        request = asyncio.ensure_future(session.get(proc.url("/slow")))
        await proc.wait_for_line("in flight", WATCHDOG)
        proc.process.send_signal(sig)
        async with asyncio.timeout(WATCHDOG):
            resp = await request
            body = await resp.text()
            await proc.process.wait()
        status = await proc.stop()
    return resp.status, body, status


async def test_sigterm_lets_a_request_in_flight_get_its_answer_and_exits_0(tmp_path):
    # The function answers only after the stop has begun: the answer must still reach the client.
    flow = _http_flow(tmp_path, ANSWER_WHEN_STOPPING, "python-function")
    proc = await FlowProcess([flow], "-D", "nodeCloseTimeout=30000").start()
    answer, body, status = await _request_then_signal(proc)
    assert (answer, body) == (200, "late answer"), proc.output
    assert status == 0, proc.output
    assert proc.output.index("Stopping flows") < proc.output.index("Stopped")


async def test_sigterm_answers_a_request_the_flow_never_answers_with_503_and_exits_0(tmp_path):
    flow = _http_flow(tmp_path, "return;")  # never answers
    proc = await FlowProcess([flow], "-D", "nodeCloseTimeout=500").start()
    answer, body, status = await _request_then_signal(proc)
    assert answer == 503, proc.output
    assert "stopping" in body
    assert status == 0, proc.output
    assert "Traceback" not in proc.output


async def test_requests_arriving_while_stopping_get_503_on_an_open_connection(tmp_path):
    release = tmp_path / "release"  # the slow request is answered once this file exists
    wait_for_release = f"""
import asyncio, os
node.warn("in flight")
while not os.path.exists({str(release)!r}):
    await asyncio.sleep(0.02)
return msg
"""
    flow = _http_flow(tmp_path, wait_for_release, "python-function")
    proc = await FlowProcess([flow], "-D", "nodeCloseTimeout=60000").start()
    async with aiohttp.ClientSession() as session:
        first = asyncio.ensure_future(session.get(proc.url("/slow")))
        await proc.wait_for_line("in flight", WATCHDOG)
        async with session.get(proc.url("/quick")) as warm:  # a second, idle keep-alive connection
            assert warm.status == 200
        proc.process.send_signal(signal.SIGTERM)
        await proc.wait_for_line("Stopping flows", WATCHDOG)
        async with asyncio.timeout(WATCHDOG):
            async with session.get(proc.url("/quick")) as late:
                assert late.status == 503
                assert late.headers.get("Connection") == "close"
            release.write_text("")
            assert (await first).status == 200
            await proc.process.wait()
    assert await proc.stop() == 0, proc.output


async def test_a_second_sigint_while_stopping_exits_at_once_quietly_with_130(tmp_path):
    flow = _http_flow(tmp_path, "return;")  # keeps the stop waiting for nodeCloseTimeout
    proc = await FlowProcess([flow], "-D", "nodeCloseTimeout=120000").start()
    async with aiohttp.ClientSession() as session:
        request = asyncio.ensure_future(session.get(proc.url("/slow")))
        await proc.wait_for_line("in flight", WATCHDOG)
        proc.process.send_signal(signal.SIGINT)
        await proc.wait_for_line("Stopping flows", WATCHDOG)
        proc.process.send_signal(signal.SIGINT)
        async with asyncio.timeout(WATCHDOG):
            status = await proc.process.wait()
        request.cancel()
    await proc.stop()
    assert status == 130, proc.output
    assert "Traceback" not in proc.output
    assert "KeyboardInterrupt" not in proc.output
    assert "exiting at once" in proc.output


async def test_sigterm_closes_open_sse_streams_and_exits_0(tmp_path):
    nodes = [
        {"id": "t", "type": "tab"},
        {"id": "in", "type": "http in", "z": "t", "url": "/sse", "method": "get", "wires": [["s"]]},
        {"id": "s", "type": "sse-session", "z": "t", "wires": [[], []]},
    ]
    flow = tmp_path / "sse.json"
    flow.write_text(json.dumps(nodes))
    proc = await FlowProcess([flow]).start()
    async with aiohttp.ClientSession() as session:
        streams = [await session.get(proc.url("/sse")) for _ in range(3)]
        for stream in streams:
            assert stream.status == 200
            assert (await asyncio.wait_for(stream.content.readline(), WATCHDOG)).startswith(b"event:")
        proc.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WATCHDOG):
            for stream in streams:
                while await stream.content.readline():  # read to the end of the stream
                    pass
            await proc.process.wait()
    assert await proc.stop() == 0, proc.output
    assert "Traceback" not in proc.output


async def test_sighup_stops_as_sigterm_does(tmp_path):
    flow = _http_flow(tmp_path, ANSWER_WHEN_STOPPING, "python-function")
    proc = await FlowProcess([flow]).start()
    answer, body, status = await _request_then_signal(proc, signal.SIGHUP)
    assert (answer, body, status) == (200, "late answer", 0), proc.output
