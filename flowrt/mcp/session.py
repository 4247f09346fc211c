"""MCP sessions, their SSE streams, and the calls the flow is answering.

A `Session` is one client's conversation (an `Mcp-Session-Id`, or one legacy SSE connection).
It has `Stream`s: the standalone one (the Streamable HTTP GET stream, or the legacy SSE stream)
for what relates to no request, and one per POST that carries requests, which ends once they
are all answered. A stream keeps its events (numbered `<stream id>_<n>`) so a client that lost
the connection can come back with `Last-Event-ID` and get what it missed (2025-11-25's
resumability); the HTTP side (transport.py) writes them to whichever connection is attached.

A `Call` is a request the flow answers (tools/call, resources/read, prompts/get): its token goes
out in `msg.mcp.call` and the `mcp-response` node hands the answer back with it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from flowrt.http.sessions import format_event
from flowrt.mcp import protocol

#: Events a long-lived stream keeps after writing them, for a client that reconnects.
REPLAY_KEEP = 64
#: Events a stream holds while no connection is attached; older ones are dropped.
BACKLOG_LIMIT = 1000


class Stream:
    """An SSE stream of a session: events in order, written to at most one connection at a time.

    A POST's stream starts `pending`: the transport decides after the flow's first turn whether
    the answer goes back as plain JSON (everything answered, nothing else to say) or as SSE."""

    __slots__ = (
        "id",
        "session",
        "events",
        "base",
        "cursor",
        "waiting",
        "responses",
        "mode",
        "attached",
        "close_requested",
        "notes",
        "held",
        "keep",
        "standalone",
        "_changed",
    )

    def __init__(self, session: Session, standalone: bool = False, keep: int = REPLAY_KEEP) -> None:
        self.id = secrets.token_hex(8)
        self.session = session
        self.events: list[str] = []  # formatted frames; events[i] has number base + i + 1
        self.base = 0
        self.cursor = 0  # the number of the last event written to a connection
        self.waiting: set[Any] = set()  # ids of the requests this stream still owes an answer
        self.responses: list[dict] = []  # the answers, in order (for a JSON reply)
        self.mode = "sse" if standalone else "pending"
        self.attached = False
        self.close_requested = False
        self.notes = 0  # events that are not answers (notifications, server requests)
        self.held: list[dict] = []  # messages sent while the stream was pending
        self.keep = keep
        self.standalone = standalone
        self._changed: asyncio.Event | None = None

    @property
    def finished(self) -> bool:
        """A POST's stream once every request it carried is answered (a standalone one never)."""
        return not self.standalone and not self.waiting

    def expect(self, request_id: Any) -> None:
        if not self.standalone:
            self.waiting.add(request_key(request_id))

    def send(self, message: dict) -> None:
        """Queue a JSON-RPC message. Until the transport picks JSON or SSE it is only held; on a
        JSON-mode stream only answers stay, the rest goes to the session's standalone stream."""
        is_answer = "method" not in message
        if is_answer and not self.standalone:
            key = request_key(message.get("id"))
            if key not in self.waiting:
                return  # answered already (a timeout, a cancellation)
            self.waiting.discard(key)
            self.responses.append(message)
        elif not is_answer:
            self.notes += 1
            if self.mode == "json":
                self.session.send_standalone(message)
                return
        if self.mode == "pending":
            self.held.append(message)
        elif self.mode == "sse":
            self._append(message)
        self.wake()

    def as_sse(self) -> None:
        """The transport answers with a stream: what was held becomes its first events."""
        self.mode = "sse"
        for message in self.held:
            self._append(message)
        self.held = []

    def as_json(self) -> None:
        """The transport answers with JSON: held notifications go to the standalone stream."""
        self.mode = "json"
        for message in self.held:
            if "method" in message:
                self.session.send_standalone(message)
        self.held = []

    def _append(self, message: dict) -> None:
        number = self.base + len(self.events) + 1
        self.events.append(format_event(protocol.dumps(message), "message", f"{self.id}_{number}"))
        self._trim()

    def pending_frames(self) -> list[str]:
        """Events not yet written; marks them written."""
        start = self.cursor - self.base
        frames = self.events[max(start, 0) :]
        self.cursor = self.base + len(self.events)
        self._trim()
        return frames

    def rewind(self, after: int) -> None:
        """A reconnecting client saw events up to number `after`: write the rest again."""
        self.cursor = max(min(after, self.base + len(self.events)), self.base)

    def wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def changed(self, timeout: float | None) -> bool:
        """Wait until something is queued (True) or `timeout` seconds pass (False)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            async with asyncio.timeout(timeout):  # no task per wait (wait_for makes one in 3.11)
                await self._changed.wait()
        except TimeoutError:
            return False
        finally:
            self._changed.clear()
        return True

    def request_close(self) -> None:
        """Drop the connection (the client reconnects and resumes with Last-Event-ID)."""
        self.close_requested = True
        self.wake()

    def _trim(self) -> None:
        written = self.cursor - self.base
        drop = 0
        if written > self.keep:
            drop = written - self.keep
        if len(self.events) - drop > BACKLOG_LIMIT:
            drop = len(self.events) - BACKLOG_LIMIT
        if drop > 0:
            del self.events[:drop]
            self.base += drop


def request_key(request_id: Any) -> Any:
    """Request ids as dict keys: 1 and "1" are different ids."""
    return (type(request_id).__name__, request_id)


class Call:
    """A request the flow answers: found again by its token when `mcp-response` answers."""

    __slots__ = (
        "token",
        "session",
        "stream",
        "request_id",
        "method",
        "params",
        "feature",
        "detail",
        "progress_token",
        "answered",
        "cancelled",
        "timer",
        "on_end",
    )

    def __init__(
        self, session: Session, stream: Stream, request_id: Any, method: str, params: dict, feature: Any
    ) -> None:
        self.token = secrets.token_hex(12)
        self.session = session
        self.stream = stream
        self.request_id = request_id
        self.method = method
        self.params = params
        self.feature = feature  # the Tool, Resource or Prompt
        self.detail: dict = {}  # what the feature matched (resource template variables)
        meta = params.get("_meta")
        self.progress_token = meta.get("progressToken") if isinstance(meta, dict) else None
        self.answered = False
        self.cancelled = False
        self.timer: asyncio.TimerHandle | None = None
        self.on_end: Callable[[Call], None] | None = None

    @property
    def open(self) -> bool:
        return not (self.answered or self.cancelled or self.session.closed)

    def describe(self, server_id: str) -> dict:
        """`msg.mcp`: what a flow needs to know about the request, and the token to answer it."""
        session = self.session
        out: dict[str, Any] = {
            "server": server_id,
            "session": None if session.transport == "stateless" else session.id,
            "requestId": self.request_id,
            "call": self.token,
            "method": self.method,
            "progressToken": self.progress_token,
            "protocolVersion": session.version,
            "clientCapabilities": dict(session.client_capabilities),
            "clientInfo": dict(session.client_info),
        }
        if session.auth is not None:
            out["auth"] = session.auth
        return out

    def reply(self, message: dict) -> bool:
        """Send the final answer (once); False if the call was answered, cancelled or its session is gone."""
        if not self.open:
            return False
        self.answered = True
        self.stream.send(message)
        self._end()
        return True

    def cancel(self) -> None:
        """notifications/cancelled: no answer goes out any more."""
        if self.open:
            self.cancelled = True
            self.stream.waiting.discard(request_key(self.request_id))
            self.stream.wake()
            self._end()

    def notify(self, message: dict) -> None:
        """A message related to this request: on its stream while it is open, else the standalone one."""
        if self.answered or self.cancelled:
            self.session.send_standalone(message)
        else:
            self.stream.send(message)

    def _end(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.session.calls.pop(request_key(self.request_id), None)
        if self.on_end is not None:
            self.on_end(self)


class Session:
    """One client: its revision, capabilities, log level, subscriptions, streams and calls."""

    def __init__(self, session_id: str, transport: str, keep: int = REPLAY_KEEP) -> None:
        self.id = session_id
        self.transport = transport  # "streamable", "sse" or "stateless"
        self.version = protocol.DEFAULT_HTTP_VERSION
        self.client_info: dict = {}
        self.client_capabilities: dict = {}
        self.initialized = False
        self.log_level: str | None = None
        self.subscriptions: set[str] = set()
        self.auth: dict | None = None
        self.last_active = time.monotonic()
        self.keep = keep
        self.standalone: Stream | None = None
        self.streams: dict[str, Stream] = {}
        self.calls: dict[Any, Call] = {}
        self.outgoing: dict[Any, asyncio.Future] = {}
        self._next_out = 0
        self.closed = False
        self.on_close: list[Callable[[Session], None]] = []

    def touch(self) -> None:
        self.last_active = time.monotonic()

    def new_stream(self) -> Stream:
        stream = Stream(self, keep=self.keep)
        self.streams[stream.id] = stream
        return stream

    def standalone_stream(self) -> Stream:
        if self.standalone is None:
            self.standalone = Stream(self, standalone=True, keep=self.keep)
            self.streams[self.standalone.id] = self.standalone
        return self.standalone

    def send_standalone(self, message: dict) -> None:
        """A message that relates to no open request: the GET stream (held until one attaches)."""
        if not self.closed:
            self.standalone_stream().send(message)

    def forget_stream(self, stream: Stream) -> None:
        if stream is not self.standalone:
            self.streams.pop(stream.id, None)

    def wants_log(self, level: str) -> bool:
        if self.log_level is None:
            return True
        return protocol.LOG_RANK.get(level, 0) >= protocol.LOG_RANK[self.log_level]

    def request(self, method: str, params: dict | None, via: Call | None) -> asyncio.Future:
        """A server-to-client request; the future gets the client's result (or an McpError)."""
        self._next_out += 1
        request_id = self._next_out
        future = asyncio.get_running_loop().create_future()
        self.outgoing[request_key(request_id)] = future
        message = protocol.request(request_id, method, params)
        if via is not None:
            via.notify(message)
        else:
            self.send_standalone(message)
        future.add_done_callback(lambda _f: self.outgoing.pop(request_key(request_id), None))
        return future

    def client_answered(self, message: dict) -> None:
        future = self.outgoing.get(request_key(message.get("id")))
        if future is None or future.done():
            return
        if "error" in message:
            err = message["error"] if isinstance(message["error"], dict) else {}
            future.set_exception(
                protocol.McpError(
                    int(err.get("code", protocol.INTERNAL_ERROR)),
                    str(err.get("message", "")),
                    err.get("data"),
                )
            )
        else:
            future.set_result(message.get("result"))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for call in list(self.calls.values()):
            call.cancel()
        for future in self.outgoing.values():
            if not future.done():
                future.set_exception(protocol.McpError(protocol.CONNECTION_CLOSED, "the session ended"))
        for stream in self.streams.values():
            stream.request_close()
        for callback in self.on_close:
            callback(self)
