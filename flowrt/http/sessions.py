"""Server-Sent Events sessions: the open streams `sse-session` creates and `sse-send` writes to.

Two layers:

* `SseSession` is a stream held by *this* process: it wraps the live HTTP
  response, writes already formatted SSE frames to it and runs its keepalive.
* `SessionRegistry` maps session ids to streams. Everything that crosses it is
  plain text (`publish(session_id, frame)` with a formatted frame), so an
  implementation backed by Redis can deliver to a session held by another
  process: `register` records the id with the owning process (a key with a TTL
  refreshed by the keepalive), `publish` writes locally when the session is
  here and otherwise PUBLISHes the frame on the owner's channel, whose
  subscriber calls `deliver_local`. `MemorySessionRegistry` is the
  single-process implementation.

A runtime gets its registry from `registry_for(runtime)`, a runtime service
(`runtime.service(SessionRegistry)`) created on first use; the setting
`sseSessionRegistry` may name a factory (a callable taking the runtime) to
replace the in-memory one. A registry with an async `stop()` has it called when
the runtime closes.
"""

from __future__ import annotations

import re
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from flowrt.lang.jsvalues import js_json_dumps

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def new_session_id() -> str:
    """A cryptographically random session id (128 bits, hex)."""
    return secrets.token_hex(16)


def data_text(data: Any) -> str:
    """What goes after `data:` for a value: strings as they are, bytes decoded, the rest as
    JSON.stringify writes it (a Node-RED flow writing an object to a stream gets 5, not 5.0)."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray)):
        return bytes(data).decode("utf-8", errors="replace")
    if isinstance(data, bool):
        return "true" if data else "false"
    return js_json_dumps(data)


def format_event(
    data: Any, event: str | None = None, event_id: str | None = None, retry: int | None = None
) -> str:
    """One SSE frame; multi-line data becomes one `data:` line per line, as the spec requires."""
    lines = []
    if event_id is not None and event_id != "":
        lines.append(f"id: {_one_line(str(event_id))}")
    if event:
        lines.append(f"event: {_one_line(event)}")
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    for line in _LINE_BREAK.split(data_text(data)):
        lines.append(f"data: {line}")
    return "\n".join(lines) + "\n\n"


def format_comment(text: str = "") -> str:
    return "".join(f": {line}\n" for line in _LINE_BREAK.split(text)) + "\n" if text else ":\n\n"


def _one_line(text: str) -> str:
    return _LINE_BREAK.sub(" ", text)


class SessionClosedError(LookupError):
    """The session does not exist (any more)."""


class SseSession:
    """An open SSE stream held by this process."""

    def __init__(self, session_id: str, response: Any, owner: Any = None, info: dict | None = None) -> None:
        self.id = session_id
        self.response = response  # a flowrt.engine.live.LiveResponse
        self.owner = owner  # the sse-session node
        self.info = dict(info or {})
        self.created = time.time()
        self.closed = False
        self.events_sent = 0
        self._close_callbacks: list[Callable[[SseSession, str], Any]] = []
        response.on("close", self._on_response_close)

    def write(self, frame: str) -> bool:
        if self.closed:
            return False
        self.response.write(frame)
        self.events_sent += 1
        return True

    def on_close(self, callback: Callable[[SseSession, str], Any]) -> None:
        self._close_callbacks.append(callback)

    def close(self, reason: str = "closed by the server") -> None:
        """End the stream from the server side."""
        if self.closed:
            return
        try:
            self.response.end()
        finally:
            self._closed(reason)

    def _on_response_close(self) -> None:
        self._closed(getattr(self.response, "close_reason", None) or "client disconnected")

    def _closed(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            callback(self, reason)

    def __repr__(self) -> str:
        return f"<SseSession {self.id} {'closed' if self.closed else 'open'}>"


class SessionRegistry(ABC):
    """Session id -> stream, possibly across processes (see the module doc)."""

    @abstractmethod
    def register(self, session: SseSession) -> None:
        """Make a local session reachable by its id."""

    @abstractmethod
    def unregister(self, session_id: str) -> None:
        """Forget a session (at once, when its client goes away)."""

    @abstractmethod
    def local(self, session_id: str) -> SseSession | None:
        """The session if this process holds it."""

    @abstractmethod
    async def publish(self, session_id: str, frame: str) -> bool:
        """Deliver a formatted frame to the session wherever it is held; False if it is unknown."""

    @abstractmethod
    async def exists(self, session_id: str) -> bool:
        """Is the session open in any process?"""

    @abstractmethod
    def local_count(self) -> int:
        """Open sessions held by this process."""

    def deliver_local(self, session_id: str, frame: str) -> bool:
        """Write a frame to a session of this process (a remote publisher's subscriber calls this too)."""
        session = self.local(session_id)
        if session is None or session.closed:
            return False
        return session.write(frame)


class MemorySessionRegistry(SessionRegistry):
    """All sessions in this process."""

    def __init__(self) -> None:
        self._sessions: dict[str, SseSession] = {}

    def register(self, session: SseSession) -> None:
        if session.id in self._sessions:
            raise ValueError(f"SSE session {session.id!r} is already registered")
        self._sessions[session.id] = session

    def unregister(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def local(self, session_id: str) -> SseSession | None:
        return self._sessions.get(session_id)

    async def publish(self, session_id: str, frame: str) -> bool:
        return self.deliver_local(session_id, frame)

    async def exists(self, session_id: str) -> bool:
        session = self._sessions.get(session_id)
        return session is not None and not session.closed

    def local_count(self) -> int:
        return len(self._sessions)

    def sessions(self) -> list[SseSession]:
        return list(self._sessions.values())


def registry_for(runtime: Any) -> SessionRegistry:
    """The runtime's session registry (a runtime service), created on first use."""
    return runtime.service(SessionRegistry, create=new_registry)


def wants_redis(setting: Any) -> bool:
    """Does the setting `sseSessionRegistry` ask for the Redis registry?"""
    return setting == "redis" or (isinstance(setting, dict) and setting.get("module") == "redis")


def new_registry(runtime: Any) -> SessionRegistry:
    """The registry the setting `sseSessionRegistry` makes (a factory taking the runtime), else
    an in-memory one. `redis` (or `{module: redis, config: {...}}`) is added as a service by
    the composition root (`flowrt.http.redis_sessions.install`), so it is found before this."""
    factory = runtime.settings.get("sseSessionRegistry")
    if callable(factory):
        return factory(runtime)
    if wants_redis(factory):
        raise ValueError("sseSessionRegistry: redis: call flowrt.http.redis_sessions.install(runtime) first")
    if factory not in (None, "", "memory"):
        raise ValueError(f"sseSessionRegistry: unknown registry {factory!r} (memory or redis)")
    return MemorySessionRegistry()
