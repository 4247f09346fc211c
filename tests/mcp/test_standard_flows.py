"""The standard-node MCP flows (issue 15): batches in 2025-03-26 sessions, Origin on GET and DELETE,
session ids from the sandbox's CSPRNG. Each test runs `flowrt run` as a real process."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest

from flowrt.testing import FlowProcess

FLOWS = Path(__file__).resolve().parents[2] / "flows"
ACCEPT = {"Accept": "application/json, text/event-stream"}
FOREIGN = {"Origin": "https://evil.example.com"}


@pytest.fixture
async def streamable():
    async with FlowProcess([FLOWS / "mcp-streamable.yaml"]) as proc:
        yield proc


def initialize(version: str, rpc_id=1) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
    }


async def open_session(http: aiohttp.ClientSession, url: str, version: str) -> dict:
    async with http.post(url, json=initialize(version), headers=ACCEPT) as r:
        assert r.status == 200
        assert (await r.json())["result"]["protocolVersion"] == version
        headers = {**ACCEPT, "Mcp-Session-Id": r.headers["Mcp-Session-Id"]}
    if version != "2025-03-26":
        headers["MCP-Protocol-Version"] = version
    async with http.post(
        url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers
    ) as r:
        assert r.status == 202
    return headers


def call(rpc_id, tool: str, **arguments) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


async def test_a_2025_03_26_session_accepts_batches(streamable):
    url = streamable.url("/mcp")
    async with aiohttp.ClientSession() as http:
        headers = await open_session(http, url, "2025-03-26")
        batch = [
            call("a", "add", a=2, b=3),
            {
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": {"progressToken": 1, "progress": 1},
            },
            {"jsonrpc": "2.0", "id": 7, "method": "ping"},
            call("w", "word_count", text="one two three"),
            call("x", "add", a="no", b=1),
            {"jsonrpc": "2.0", "id": 8, "method": "no/such"},
            {"jsonrpc": "2.0", "id": 9, "result": {}},  # a response to a server request
            42,
            initialize("2025-03-26", rpc_id=10),
        ]
        async with http.post(url, json=batch, headers=headers) as r:
            assert r.status == 200, await r.text()
            replies = await r.json()
        # one reply per request, in the batch's order; none for the notification and the response
        assert [reply["id"] for reply in replies] == ["a", 7, "w", "x", 8, None, 10]
        assert replies[0]["result"]["structuredContent"] == {"sum": 5}
        assert replies[1]["result"] == {}
        assert replies[2]["result"]["structuredContent"] == {"words": 3, "lines": 1, "characters": 13}
        assert [replies[i]["error"]["code"] for i in (3, 4, 5, 6)] == [-32602, -32601, -32600, -32600]
        assert "batch" in replies[6]["error"]["message"]

        only_notifications = [
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "zz"}},
            {"jsonrpc": "2.0", "id": 11, "result": {}},
        ]
        async with http.post(url, json=only_notifications, headers=headers) as r:
            assert (r.status, await r.read()) == (202, b"")

        async with http.post(url, json=[], headers=headers) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == -32600

        # a client that accepts only SSE gets the batch's replies as one event
        sse_only = {**headers, "Accept": "text/event-stream"}
        async with http.post(
            url, json=[{"jsonrpc": "2.0", "id": 12, "method": "ping"}], headers=sse_only
        ) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
            data = (await r.text()).split("data: ", 1)[1].strip()
            assert json.loads(data) == [{"jsonrpc": "2.0", "id": 12, "result": {}}]


async def test_later_revisions_refuse_batches(streamable):
    url = streamable.url("/mcp")
    async with aiohttp.ClientSession() as http:
        for version in ("2025-06-18", "2025-11-25"):
            headers = await open_session(http, url, version)
            async with http.post(
                url, json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}], headers=headers
            ) as r:
                assert r.status == 400
                body = await r.json()
                assert body["error"]["code"] == -32600 and version in body["error"]["message"]


async def test_a_foreign_origin_cannot_end_a_session_or_open_a_stream(streamable):
    url = streamable.url("/mcp")
    async with aiohttp.ClientSession() as http:
        headers = await open_session(http, url, "2025-06-18")
        async with http.delete(url, headers={**headers, **FOREIGN}) as r:
            assert r.status == 403
        async with http.get(url, headers={**headers, **FOREIGN}) as r:
            assert r.status == 403
        async with http.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=headers) as r:
            assert r.status == 200  # the session survived
        async with http.get(url, headers={**headers, "Origin": "http://localhost:6274"}) as r:
            assert r.status == 405
        async with http.delete(url, headers={**headers, "Origin": "http://127.0.0.1:6274"}) as r:
            assert r.status == 204
        async with http.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}, headers=headers) as r:
            assert r.status == 404


async def test_a_client_accepting_only_sse_gets_one_event(streamable):
    url = streamable.url("/mcp")
    async with aiohttp.ClientSession() as http:
        headers = await open_session(http, url, "2025-06-18")
        sse_only = {**headers, "Accept": "text/event-stream"}
        for message in ({"jsonrpc": "2.0", "id": 1, "method": "ping"}, call(2, "add", a=1, b=2)):
            async with http.post(url, json=message, headers=sse_only) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
                text = await r.text()
            assert text.startswith("event: message\ndata: ") and text.endswith("\n\n")
            assert json.loads(text.split("data: ", 1)[1])["id"] == message["id"]
        async with http.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}, headers=headers) as r:
            assert r.headers["Content-Type"].startswith("application/json")
            assert await r.json() == {"jsonrpc": "2.0", "id": 3, "result": {}}


async def test_session_ids_are_random_uuids(streamable):
    url = streamable.url("/mcp")
    ids = set()
    async with aiohttp.ClientSession() as http:
        for _ in range(20):
            async with http.post(url, json=initialize("2025-06-18"), headers=ACCEPT) as r:
                ids.add(r.headers["Mcp-Session-Id"])
    assert len(ids) == 20
    # crypto.randomUUID's layout (version 4, variant 10): Math.random hex digits would not keep it
    assert all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", sid) for sid in ids), ids


# ---------------------------------------------------------------- flows/mcp-server.json (HTTP+SSE)


async def _sse_session(http: aiohttp.ClientSession, base: str):
    """GET /sse: the open stream and its POST endpoint."""
    stream = await http.get(base + "/sse")
    assert stream.status == 200
    event = await _next_event(stream)
    assert event[0] == "endpoint"
    return stream, base + event[1]


async def _next_event(stream) -> tuple[str, str]:
    name, data = "message", []
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            return name, "\n".join(data)


async def _replies(stream, count: int) -> list[dict]:
    return [json.loads((await _next_event(stream))[1]) for _ in range(count)]


async def test_sse_flow_accepts_batches_in_a_2025_03_26_session():
    async with FlowProcess([FLOWS / "mcp-server.json"]) as proc, aiohttp.ClientSession() as http:
        stream, endpoint = await _sse_session(http, proc.base_url)
        async with http.post(endpoint, json=initialize("2025-03-26")) as r:
            assert r.status == 202
        assert (await _replies(stream, 1))[0]["result"]["protocolVersion"] == "2025-03-26"
        batch = [
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            call("a", "add", a=2, b=3),
            {"jsonrpc": "2.0", "id": 7, "method": "ping"},
            {"jsonrpc": "2.0", "id": 8, "result": {}},  # a response to a server request: dropped
            {"jsonrpc": "1.0", "id": 9, "method": "ping"},
            initialize("2025-03-26", rpc_id=10),
        ]
        async with http.post(endpoint, json=batch) as r:
            assert r.status == 202
        replies = {reply["id"]: reply for reply in await _replies(stream, 4)}
        assert set(replies) == {"a", 7, 9, 10}
        assert replies["a"]["result"]["structuredContent"] == {"sum": 5}
        assert replies[7]["result"] == {}
        assert replies[9]["error"]["code"] == replies[10]["error"]["code"] == -32600
        async with http.post(endpoint, json={"jsonrpc": "2.0", "id": 11, "method": "ping"}) as r:
            assert r.status == 202  # nothing more was queued before this reply
        assert (await _replies(stream, 1))[0]["id"] == 11
        async with http.post(endpoint, json=[]) as r:
            assert r.status == 400
        stream.close()


async def test_sse_flow_refuses_batches_in_other_revisions():
    async with FlowProcess([FLOWS / "mcp-server.json"]) as proc, aiohttp.ClientSession() as http:
        for version in ("2024-11-05", "2025-06-18"):
            stream, endpoint = await _sse_session(http, proc.base_url)
            async with http.post(endpoint, json=initialize(version)) as r:
                assert r.status == 202
            await _replies(stream, 1)
            async with http.post(endpoint, json=[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]) as r:
                assert r.status == 400
                body = await r.json()
                assert body["error"]["code"] == -32600 and version in body["error"]["message"]
            stream.close()
