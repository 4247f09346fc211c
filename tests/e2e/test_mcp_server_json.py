"""flows/mcp-server.json: the MCP server (HTTP+SSE) as a plain Node-RED export.

Every test runs against `flowrt run` as a real process. The same tests run against Node-RED 4
when FLOWRT_TEST_NODE_RED=1 and it is installed at ~/.cache/flowrt-bench/node-red-4 (`make bench`
installs it) with `node` on PATH; otherwise those cases skip, saying so. They are opt-in because
they exercise another program (its start-up time varies), not flowrt.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.testing import FlowProcess, free_port

FLOW = Path(__file__).resolve().parents[2] / "flows" / "mcp-server.json"
NODE_RED = Path.home() / ".cache" / "flowrt-bench" / "node-red-4" / "node_modules" / "node-red" / "red.js"
STANDARD_TYPES = {"tab", "http in", "http response", "function", "switch", "change"}
SUPPORTED = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

load_builtin_nodes()
pytestmark = pytest.mark.skipif(
    registry.get_type("function") is None, reason="the JS `function` node is not registered"
)

mcp = pytest.importorskip("mcp")
from mcp import ClientSession  # noqa: E402
from mcp.client.sse import sse_client  # noqa: E402

try:  # mcp 2.x
    from mcp.shared.exceptions import MCPError as McpError
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError


# ----------------------------------------------------------------------------- servers
class NodeRedProcess:
    """Node-RED 4 headless on a free port, running a copy of the flow."""

    def __init__(self, userdir: Path, env: dict[str, str]) -> None:
        self.userdir = userdir
        self.env = env
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.log = userdir / "node-red.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> NodeRedProcess:
        shutil.copy(FLOW, self.userdir / "flows.json")
        settings = {
            "uiPort": self.port,
            "uiHost": "127.0.0.1",
            "userDir": str(self.userdir),
            "flowFile": "flows.json",
            "disableEditor": True,
            "credentialSecret": False,
            "logging": {"console": {"level": "warn"}},
        }
        (self.userdir / "settings.js").write_text("module.exports = " + json.dumps(settings) + ";\n")
        with open(self.log, "wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                "node",
                str(NODE_RED),
                "-s",
                str(self.userdir / "settings.js"),
                "-u",
                str(self.userdir),
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        async with aiohttp.ClientSession() as s:
            for _ in range(600):
                if self.process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError):
                    async with s.get(self.base_url + "/no-such-route") as r:
                        if r.status == 404:
                            return self
                await asyncio.sleep(0.1)
        await self.__aexit__()
        raise AssertionError("Node-RED did not start:\n" + self.log.read_text(errors="replace"))

    async def __aexit__(self, *exc) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@pytest.fixture(params=["flowrt", "node-red"])
async def server(request, tmp_path):
    """Base URL of a running server with the flow; keepalive comments every 0.2 s."""
    env = {"MCP_KEEPALIVE_SECONDS": "0.2"}
    if request.param == "flowrt":
        async with FlowProcess([FLOW], env=env) as proc:
            yield proc.base_url
    else:
        if os.environ.get("FLOWRT_TEST_NODE_RED") != "1":
            pytest.skip("Node-RED cross-checks are opt-in: set FLOWRT_TEST_NODE_RED=1")
        if not NODE_RED.exists() or shutil.which("node") is None:
            pytest.skip(f"Node-RED 4 is not installed at {NODE_RED} (or `node` is not on PATH)")
        async with NodeRedProcess(tmp_path, env) as proc:
            yield proc.base_url


# ----------------------------------------------------------------------------- helpers
def dump(model) -> dict:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result["content"] if c.get("type") == "text")


async def read_event(resp) -> tuple[str | None, str | None, list[str]]:
    """One SSE block: (event, data, comment lines)."""
    event, data, comments = None, [], []
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode()
        if line == "":
            raise EOFError("stream ended")
        line = line.rstrip("\n")
        if line == "":
            return event, "\n".join(data) if data else None, comments
        if line.startswith(":"):
            comments.append(line)
        elif line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            data.append(line[len("data: ") :])


async def next_message(resp) -> dict:
    """The next `message` event's JSON, skipping keepalive comments."""
    while True:
        event, data, _ = await read_event(resp)
        if data is not None:
            assert event == "message"
            return json.loads(data)


async def open_stream(s: aiohttp.ClientSession, base: str):
    resp = await s.get(base + "/sse")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["Cache-Control"] == "no-cache"
    event, data, _ = await read_event(resp)
    assert event == "endpoint"
    assert data is not None and data.startswith("/sse/message?sessionId=")
    session_id = data[len("/sse/message?sessionId=") :]
    assert UUID.match(session_id), session_id
    return resp, base + data, session_id


async def post(s: aiohttp.ClientSession, url: str, body, **kw) -> tuple[int, str]:
    if isinstance(body, bytes):
        kw.setdefault("headers", {})["Content-Type"] = "application/json"
        async with s.post(url, data=body, **kw) as r:
            return r.status, await r.text()
    async with s.post(url, json=body, **kw) as r:
        return r.status, await r.text()


def rpc(id_, method, params=None) -> dict:
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return message


# ----------------------------------------------------------------------------- tests
def test_flow_is_a_plain_node_red_export_that_validates():
    nodes = json.loads(FLOW.read_text())
    assert isinstance(nodes, list) and nodes[0]["type"] == "tab"
    assert {n["type"] for n in nodes} <= STANDARD_TYPES
    tab = nodes[0]["id"]
    assert all(n.get("z") == tab for n in nodes[1:])
    assert all(not n.get("libs") for n in nodes if n["type"] == "function")
    ids = {n["id"] for n in nodes}
    assert all(t in ids for n in nodes for port in n.get("wires", []) for t in port)
    done = subprocess.run(
        [sys.executable, "-m", "flowrt", "validate", str(FLOW)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 warning(s)" in done.stdout


async def test_the_official_sdk_client(server):
    async def exercise(session: ClientSession) -> None:
        init = dump(await session.initialize())
        assert init["serverInfo"]["name"] == "flowrt-mcp"
        assert "tools" in init["capabilities"]
        assert init["protocolVersion"] in SUPPORTED
        await session.send_ping()
        tools = {t["name"]: t for t in dump(await session.list_tools())["tools"]}
        assert set(tools) == {"add", "word_count"}
        assert tools["add"]["inputSchema"]["required"] == ["a", "b"]
        result = dump(await session.call_tool("add", {"a": 2, "b": 3}))
        assert not result.get("isError")
        assert text_of(result) == "5"
        assert result["structuredContent"] == {"sum": 5}
        result = dump(await session.call_tool("add", {"a": 0.5, "b": -2}))
        assert text_of(result) == "-1.5"
        result = dump(await session.call_tool("word_count", {"text": "one two\nthree  four"}))
        assert json.loads(text_of(result)) == {"words": 4, "lines": 2, "characters": 19}
        with pytest.raises(McpError) as info:
            await session.call_tool("nope", {})
        assert info.value.error.code == -32602
        assert "nope" in info.value.error.message
        with pytest.raises(McpError) as info:
            await session.call_tool("add", {"a": "x", "b": 1})
        assert info.value.error.code == -32602
        with pytest.raises(McpError) as info:
            await session.call_tool("word_count", {})
        assert info.value.error.code == -32602

    async with sse_client(server + "/sse", timeout=10, sse_read_timeout=30) as (read, write):
        async with ClientSession(read, write) as session:
            await asyncio.wait_for(exercise(session), 60)


async def test_json_rpc_over_the_stream_and_errors(server):
    async with aiohttp.ClientSession() as s:
        resp, url, _ = await open_stream(s, server)

        assert await post(s, url, rpc("abc", "no/such")) == (202, "Accepted")
        reply = await next_message(resp)
        assert reply == {
            "jsonrpc": "2.0",
            "id": "abc",
            "error": {"code": -32601, "message": "Method not found: no/such"},
        }

        for asked, expected in [(v, v) for v in SUPPORTED] + [
            ("1999-01-01", SUPPORTED[0]),
            (None, SUPPORTED[0]),
        ]:
            params = {"capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
            if asked:
                params["protocolVersion"] = asked
            assert (await post(s, url, rpc(41, "initialize", params)))[0] == 202
            reply = await next_message(resp)
            assert reply["id"] == 41 and reply["result"]["protocolVersion"] == expected

        assert await post(s, url, {"jsonrpc": "2.0", "method": "notifications/initialized"}) == (
            202,
            "Accepted",
        )
        assert await post(s, url, rpc(0, "ping")) == (202, "Accepted")
        assert await next_message(resp) == {"jsonrpc": "2.0", "id": 0, "result": {}}

        await post(s, url, rpc(5, "tools/call", {"name": "add", "arguments": {"a": 1}}))
        assert (await next_message(resp))["error"]["code"] == -32602
        await post(s, url, rpc(6, "tools/call"))
        reply = await next_message(resp)
        assert reply["id"] == 6 and reply["error"]["code"] == -32602

        status, text = await post(s, url, b'{"jsonrpc": "2.0", "id": 1,')
        assert status == 400
        assert json.loads(text)["error"]["code"] == -32700
        status, text = await post(s, url, b"[1, 2]")
        assert status == 400 and json.loads(text)["error"]["code"] == -32600
        assert (await post(s, url, {"id": 9, "method": "ping"}))[0] == 202  # no "jsonrpc": "2.0"
        reply = await next_message(resp)
        assert reply["id"] == 9 and reply["error"]["code"] == -32600

        # nothing else was queued on the stream: the next message is the answer to this ping
        await post(s, url, rpc("last", "ping"))
        assert (await next_message(resp))["id"] == "last"
        resp.close()


async def test_sessions_unknown_missing_foreign_origin_and_keepalive(server):
    async with aiohttp.ClientSession() as s:
        assert await post(s, server + "/sse/message?sessionId=unknown", rpc(1, "ping")) == (
            404,
            "Session not found",
        )
        assert (await post(s, server + "/sse/message", rpc(1, "ping")))[0] == 400

        async with s.get(server + "/sse", headers={"Origin": "http://evil.test"}) as r:
            assert r.status == 403
        resp, url, _ = await open_stream(s, server)
        assert (await post(s, url, rpc(1, "ping"), headers={"Origin": "http://evil.test"}))[0] == 403
        assert (await post(s, url, rpc(2, "ping"), headers={"Origin": "http://localhost:6274"}))[0] == 202
        assert (await next_message(resp))["id"] == 2

        # keepalive comments arrive on an idle stream (MCP_KEEPALIVE_SECONDS=0.2 here)
        for _ in range(100):
            _, data, comments = await read_event(resp)
            if comments:
                break
        assert comments == [": ping"] and data is None
        resp.close()


async def test_replies_go_to_their_own_session(server):
    async with aiohttp.ClientSession() as s:
        a, url_a, id_a = await open_stream(s, server)
        b, url_b, id_b = await open_stream(s, server)
        assert id_a != id_b
        await post(s, url_a, rpc(1, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}}))
        await post(s, url_b, rpc(1, "tools/call", {"name": "add", "arguments": {"a": 10, "b": 20}}))
        assert text_of((await next_message(a))["result"]) == "5"
        assert text_of((await next_message(b))["result"]) == "30"
        a.close()
        b.close()


async def test_session_is_removed_when_the_client_disconnects(server):
    async with aiohttp.ClientSession() as s:
        resp, url, _ = await open_stream(s, server)
        other, other_url, _ = await open_stream(s, server)
        assert (await post(s, url, rpc(1, "ping")))[0] == 202
        resp.close()
        status = None
        for _ in range(400):  # the close reaches the server asynchronously
            status, _ = await post(s, url, rpc(2, "ping"))
            if status == 404:
                break
            await asyncio.sleep(0.05)
        assert status == 404
        # the other session is untouched
        assert (await post(s, other_url, rpc(3, "ping")))[0] == 202
        assert (await next_message(other))["id"] == 3
        other.close()
