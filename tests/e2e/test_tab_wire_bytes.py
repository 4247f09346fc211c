"""The supplied MCP tab: GET /sse gives the bytes Node-RED 4.1.15 sends (Date value aside)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.testing import FlowProcess

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "node-red-reference" / "seed_raw_wire.bin"

load_builtin_nodes()
pytestmark = [
    pytest.mark.skipif(
        registry.get_type("function") is None,
        reason="the JS `function` node is not registered yet; the supplied tab needs it",
    ),
    pytest.mark.skipif(not REFERENCE.exists(), reason="Node-RED reference capture not available"),
]

DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")


async def raw_get(
    port: int, path: str, until: bytes
) -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n".encode())
    await writer.drain()
    data = b""
    while not data.endswith(until):
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        if not chunk:
            break
        data += chunk
    return data, reader, writer


async def test_get_sse_matches_node_red_bytes_and_keeps_stream_open():
    expected = REFERENCE.read_bytes()
    async with FlowProcess([ROOT / "flows" / "mcp-server-tab.json"]) as proc:
        data, reader, writer = await raw_get(proc.port, "/sse", b"data: undefined\n\n\r\n")
        assert DATE.sub(b"\r\nDate: X\r\n", data) == DATE.sub(b"\r\nDate: X\r\n", expected)
        # the stream stays open: nothing more arrives and the connection is not closed
        more = asyncio.ensure_future(reader.read(1))
        done, _ = await asyncio.wait({more}, timeout=1.5)
        assert not done, "the stream should stay open with nothing more to send"
        more.cancel()
        writer.close()
        # the dangling wire to 2a76a8cf4603effc is reported at deploy, not per message
        warnings = [line for line in proc.lines if "2a76a8cf4603effc" in line]
        assert len(warnings) == 1 and "warn" in warnings[0]  # said once, naming both source nodes
        data2, _, writer2 = await raw_get(proc.port, "/sse", b"data: undefined\n\n\r\n")
        assert b"data: undefined" in data2
        writer2.close()
        assert len([line for line in proc.lines if "2a76a8cf4603effc" in line]) == len(warnings)
