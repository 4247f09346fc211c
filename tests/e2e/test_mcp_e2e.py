"""MCP flows end to end: `flowrt run` as a real process, the official MCP SDK as the client.

flows/mcp-streamable.yaml (a function-node MCP server) here; flows/mcp-server.yaml, built on the
mcp-* nodes, in tests/mcp/test_mcp_server_flow.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.testing import FlowProcess

FLOWS = Path(__file__).resolve().parents[2] / "flows"

load_builtin_nodes()
needs_function = pytest.mark.skipif(
    registry.get_type("function") is None,
    reason="the JS `function` node (nodes/function/function.py) is not registered yet; the MCP flows use it",
)
pytestmark = needs_function

mcp = pytest.importorskip("mcp")
from mcp import ClientSession  # noqa: E402

try:  # mcp 2.x
    from mcp.shared.exceptions import MCPError as McpError
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError

try:
    from mcp.client.streamable_http import streamable_http_client as streamable_client
except ImportError:  # older SDK
    from mcp.client.streamable_http import streamablehttp_client as streamable_client


def dump(model) -> dict:
    """Wire (camelCase) form of an SDK result, the same in SDK 1.x and 2.x."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result["content"] if c.get("type") == "text")


async def exercise(session: ClientSession) -> None:
    init = dump(await session.initialize())
    assert init["serverInfo"]["name"] == "flowrt-mcp"
    assert "tools" in init["capabilities"]
    await session.send_ping()
    tools = {t["name"]: t for t in dump(await session.list_tools())["tools"]}
    assert set(tools) == {"add", "word_count"}
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]
    result = dump(await session.call_tool("add", {"a": 2, "b": 3}))
    assert not result.get("isError")
    assert text_of(result) == "5"
    result = dump(await session.call_tool("word_count", {"text": "one two\nthree"}))
    assert json.loads(text_of(result)) == {"words": 3, "lines": 2, "characters": 13}
    with pytest.raises(McpError) as info:
        await session.call_tool("nope", {})
    assert info.value.error.code == -32602
    with pytest.raises(McpError) as info:
        await session.call_tool("add", {"a": "x", "b": 1})
    assert info.value.error.code == -32602


async def test_streamable_http_transport_with_the_official_sdk():
    async with FlowProcess([FLOWS / "mcp-streamable.yaml"]) as proc:
        async with streamable_client(proc.url("/mcp")) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await asyncio.wait_for(exercise(session), 30)


async def test_streamable_http_protocol_rules():
    async with FlowProcess([FLOWS / "mcp-streamable.yaml"]) as proc:
        url = proc.url("/mcp")
        accept = {"Accept": "application/json, text/event-stream"}
        async with aiohttp.ClientSession() as s:
            init = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "0"},
                },
            }
            async with s.post(url, json=init, headers=accept) as r:
                assert r.status == 200
                sid = r.headers["Mcp-Session-Id"]
                assert (await r.json())["result"]["protocolVersion"] == "2025-06-18"
            headers = {**accept, "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}
            async with s.post(
                url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
            ) as r:
                assert r.status == 202
            async with s.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers) as r:
                assert r.status == 200 and (await r.json()) == {"jsonrpc": "2.0", "id": 2, "result": {}}
            async with s.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}, headers=accept) as r:
                assert r.status == 400
            async with s.post(
                url,
                json={"jsonrpc": "2.0", "id": 3, "method": "ping"},
                headers={**headers, "Mcp-Session-Id": "nope"},
            ) as r:
                assert r.status == 404
            async with s.post(
                url,
                json={"jsonrpc": "2.0", "id": 3, "method": "ping"},
                headers={**headers, "MCP-Protocol-Version": "1999-01-01"},
            ) as r:
                assert r.status == 400
            async with s.post(
                url, data=b"{nope", headers={**headers, "Content-Type": "application/json"}
            ) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == -32700
            async with s.get(url, headers=headers) as r:
                assert r.status == 405
            async with s.delete(url, headers=headers) as r:
                assert r.status in (200, 204)
            async with s.post(url, json={"jsonrpc": "2.0", "id": 4, "method": "ping"}, headers=headers) as r:
                assert r.status == 404


# ----- bounded work: large calls and failing tools answer with JSON-RPC errors -------------------

BIG_TEXT = "ab cd\n" * 700_000  # 4.2 MB of arguments
LONG_TEXT = "w " * 60_000  # within the message limit, over the tool's 100,000 characters


def _with_failing_add(tmp_path: Path, flow_file: str) -> Path:
    """A copy of an MCP flow whose `add` tool throws."""
    import yaml

    document = yaml.safe_load((FLOWS / flow_file).read_text())
    for node in document["flows"][0]["nodes"]:
        if node["id"] == "tool-add":
            node["func"] = 'throw new Error("add is broken");'
    copy = tmp_path / flow_file
    copy.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


async def test_streamable_large_calls_and_failing_tools_get_json_rpc_errors(tmp_path):
    async with FlowProcess([_with_failing_add(tmp_path, "mcp-streamable.yaml")]) as proc:
        url = proc.url("/mcp")
        async with aiohttp.ClientSession() as s:
            big = {"jsonrpc": "2.0", "id": 9, "method": "tools/call"}
            big["params"] = {"name": "word_count", "arguments": {"text": BIG_TEXT}}
            async with s.post(url, json=big, headers={"Accept": "application/json"}) as r:
                assert r.status == 413
                assert (await r.json())["error"]["code"] == -32600
        async with streamable_client(url) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await asyncio.wait_for(session.initialize(), 30)
                with pytest.raises(McpError) as info:
                    await asyncio.wait_for(session.call_tool("word_count", {"text": LONG_TEXT}), 30)
                assert info.value.error.code == -32602
                with pytest.raises(McpError) as info:
                    await asyncio.wait_for(session.call_tool("add", {"a": 1, "b": 2}), 30)
                assert info.value.error.code == -32603
