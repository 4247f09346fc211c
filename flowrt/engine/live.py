"""Live HTTP objects that travel in messages: `msg["req"]` and `msg["res"]["_res"]`.

Node-RED flows touch Express's request and Node's http.ServerResponse directly
(the supplied MCP tab stores `msg.res._res` in global context and writes to it
from a timer). These protocols are the Python side of those objects: the HTTP
nodes implement them over aiohttp, the JS sandbox exposes them to function
nodes under Node's method names, and Python function nodes use them as-is.

`msg["res"]` is a plain dict `{"_res": <LiveResponse>}`; cloning a message
keeps `req` and `res` shared, so every copy reaches the same response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class LiveRequest(Protocol):
    """Express's req, as flows read it."""

    method: str
    url: str  # path and query, as sent
    originalUrl: str
    path: str
    headers: dict[str, str]  # lower-case names
    query: dict[str, Any]
    params: dict[str, str]
    body: Any
    cookies: dict[str, str]
    ip: str


@runtime_checkable
class LiveResponse(Protocol):
    """Node's http.ServerResponse, the part flows use. Writes never block the loop."""

    statusCode: int

    @property
    def headersSent(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    def setHeader(self, name: str, value: Any) -> None: ...

    def getHeader(self, name: str) -> Any: ...

    def removeHeader(self, name: str) -> None: ...

    def writeHead(self, status: int, headers: dict[str, Any] | None = None) -> None: ...

    def flushHeaders(self) -> None: ...

    def write(self, data: str | bytes) -> bool:
        """Queue a chunk (headers go first); returns True like Node's res.write."""
        ...

    def end(self, data: str | bytes | None = None) -> None: ...

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """'close' (client gone or response done) and 'finish' (response ended)."""
        ...


def live_response(msg: Any) -> LiveResponse | None:
    """The live response a message carries (`msg["res"]["_res"]`), if any."""
    res = msg.get("res") if isinstance(msg, dict) else None
    live = res.get("_res") if isinstance(res, dict) else None
    return live if isinstance(live, LiveResponse) else None


def answer_if_open(res: LiveResponse, status: int, text: str) -> bool:
    """Answer `status` with a plain-text body when nothing has been sent yet; True if it did.

    For the answers the server gives on a flow's behalf: an uncaught error (500), no answer
    in time (504), shutting down (503)."""
    if res.headersSent or res.finished or getattr(res, "closed", False):
        return False
    res.statusCode = status
    res.setHeader("Content-Type", "text/plain; charset=utf-8")
    res.end(text + "\n")
    return True
