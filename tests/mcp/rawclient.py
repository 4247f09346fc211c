"""A raw MCP client over aiohttp for protocol tests: every header and status visible."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

ACCEPT_BOTH = "application/json, text/event-stream"


def initialize(version: str = "2025-11-25", request_id: Any = 1, capabilities: dict | None = None) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "raw-test-client", "version": "0"},
        },
    }


def rpc(request_id: Any, method: str, params: dict | None = None) -> dict:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def parse_sse(text: str) -> list[dict]:
    """SSE text to events: {id, event, data, retry}."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event: dict[str, Any] = {}
        data = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            else:
                event[name] = value
        if event or data:
            event["data"] = "\n".join(data)
            events.append(event)
    return events


async def read_events(response: aiohttp.ClientResponse, until: Any = None, timeout: float = 10) -> list[dict]:
    """Events of an SSE response until it ends, or until `until(event)` is true."""
    events: list[dict] = []
    buffer = ""

    async def read() -> None:
        nonlocal buffer
        async for chunk in response.content.iter_any():
            buffer += chunk.decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                for event in parse_sse(block + "\n\n"):
                    events.append(event)
                    if until is not None and until(event):
                        return

    await asyncio.wait_for(read(), timeout)
    return events


def messages_of(events: list[dict]) -> list[dict]:
    return [json.loads(e["data"]) for e in events if e.get("data")]


class RawSession:
    """One Streamable HTTP session: initialize, then post with its id and revision."""

    def __init__(self, http: aiohttp.ClientSession, url: str, version: str = "2025-11-25") -> None:
        self.http = http
        self.url = url
        self.version = version
        self.session_id = ""
        self._next = 100

    async def start(self, capabilities: dict | None = None) -> dict:
        async with self.http.post(
            self.url, json=initialize(self.version, 1, capabilities), headers={"Accept": ACCEPT_BOTH}
        ) as r:
            assert r.status == 200, await r.text()
            self.session_id = r.headers["Mcp-Session-Id"]
            body = await r.json()
        await self.notify("notifications/initialized")
        return body

    def headers(self, **extra: str) -> dict:
        headers = {
            "Accept": ACCEPT_BOTH,
            "Mcp-Session-Id": self.session_id,
            "MCP-Protocol-Version": self.version,
        }
        headers.update(extra)
        return headers

    async def notify(self, method: str, params: dict | None = None) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        async with self.http.post(self.url, json=message, headers=self.headers()) as r:
            return r.status

    async def call(self, method: str, params: dict | None = None) -> dict:
        """A request; its answer whether it comes as JSON or on an SSE stream."""
        self._next += 1
        request_id = self._next
        async with self.http.post(
            self.url, json=rpc(request_id, method, params), headers=self.headers()
        ) as r:
            assert r.status == 200, (r.status, await r.text())
            if r.content_type == "application/json":
                return await r.json()
            events = await read_events(r)
        answers = [m for m in messages_of(events) if m.get("id") == request_id and "method" not in m]
        assert len(answers) == 1, events
        return answers[0]
