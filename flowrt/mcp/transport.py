"""MCP over HTTP: Streamable HTTP (one path: POST, GET, DELETE; revisions 2025-03-26 and later,
and a stateless mode) and the legacy HTTP+SSE pair (GET stream + POST endpoint; 2024-11-05).

The handlers are routes on the runtime's HTTP server (`HttpServer.add_route`); a stream is
written by the handler of the request that holds it, woken when an event is queued (session.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from flowrt.http.origins import origin_allowed
from flowrt.http.sessions import format_comment, format_event
from flowrt.mcp import protocol
from flowrt.mcp.protocol import McpError
from flowrt.mcp.server import McpServer
from flowrt.mcp.session import Session, Stream

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


def json_route(document: Callable[[], dict]) -> Callable[[web.BaseRequest, dict], Awaitable[web.Response]]:
    """A GET route answering a JSON document (the auth metadata routes)."""

    async def handler(_request: web.BaseRequest, _params: dict) -> web.Response:
        return web.json_response(document())

    return handler


def _error_response(status: int, code: int, message: str, headers: dict | None = None) -> web.Response:
    body = protocol.dumps(protocol.error(None, code, message))
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


class HttpTransport:
    """What both transports share: the origin / host / auth guard, reading a body, writing a stream."""

    def __init__(self, server: McpServer, http: Any, authenticator: Any = None) -> None:
        self.server = server
        self.http = http
        self.auth = authenticator

    async def guard(self, request: web.BaseRequest) -> tuple[web.StreamResponse | None, dict | None]:
        """A refusal for a request from a foreign page or without valid credentials, else the claims."""
        headers = request.headers
        if self.http is not None and not self.http.host_allowed(headers.get("Host")):
            self.server.log("warn", f"MCP: refused a request for host {str(headers.get('Host'))[:100]!r}")
            return _error_response(403, protocol.INVALID_REQUEST, "Forbidden: host not allowed"), None
        if not origin_allowed(headers.get("Origin"), self.server.options.allowed_origins):
            self.server.log(
                "warn", f"MCP: refused a request from origin {str(headers.get('Origin'))[:100]!r}"
            )
            return _error_response(403, protocol.INVALID_REQUEST, "Forbidden: origin not allowed"), None
        if self.auth is None:
            return None, None
        outcome = await self.auth.check(request.method, request.path, headers)
        if not outcome.ok:
            body = outcome.body if outcome.body is not None else {"error": "unauthorized"}
            return web.json_response(body, status=outcome.status, headers=outcome.headers), None
        return None, outcome.claims

    def extra_headers(self, request: web.BaseRequest) -> dict[str, str]:
        headers = self.http.cors_headers(request) if self.http is not None else {}
        if headers:
            headers["Access-Control-Expose-Headers"] = (
                "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate"
            )
        return headers

    async def read_messages(self, request: web.BaseRequest) -> Any:
        limit = self.server.options.max_message
        if request.content_length is not None and request.content_length > limit:
            raise _TooLarge(limit)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _TooLarge(limit) from None
        if len(body) > limit:
            raise _TooLarge(limit)
        return protocol.parse(body)

    def handle_all(self, session: Session, messages: list, stream: Stream) -> list[dict]:
        """Hand each message to the server; the errors for messages that are no JSON-RPC."""
        invalid = []
        for message in messages:
            if protocol.kind(message) == "invalid":
                invalid.append(protocol.invalid_reply(message))
            else:
                self.server.handle(session, message, stream)
        self.server.deliver_now()
        return invalid

    async def pump(
        self, request: web.BaseRequest, response: web.StreamResponse, stream: Stream, first: str = ""
    ) -> None:
        """Write a stream's events to this connection until it is finished, closed or the client goes."""
        if stream.attached:
            raise web.HTTPConflict(text="this stream is already being read\n")
        stream.attached = True
        keepalive = self.server.options.keepalive or None
        session = stream.session
        try:
            if first:
                await response.write(first.encode())
            while True:
                frames = stream.pending_frames()
                if frames:
                    await response.write("".join(frames).encode())
                    continue  # more may have come while we wrote
                if stream.finished or session.closed:
                    break
                if stream.close_requested:
                    stream.close_requested = False
                    break
                if not await stream.changed(keepalive):
                    await response.write(format_comment("ping").encode())
        except (ConnectionResetError, RuntimeError):
            pass  # the client went away while we wrote
        finally:
            stream.attached = False
            session.touch()
            if stream.finished:
                session.forget_stream(stream)
        await _end(response)

    def priming(self, stream: Stream) -> str:
        """2025-11-25: an event with an id and no data first, so the client can resume from it."""
        if not protocol.version_at_least(stream.session.version, "2025-11-25"):
            return ""
        return f"id: {stream.id}_{stream.cursor}\nretry: {self.server.options.retry_ms}\ndata: \n\n"


async def _prepared(response: web.StreamResponse, request: web.BaseRequest) -> bool:
    """Send the headers of a stream; False if the client is already gone."""
    try:
        await response.prepare(request)
    except ConnectionResetError:
        return False
    return True


async def _end(response: web.StreamResponse) -> None:
    try:
        await response.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def response(self) -> web.Response:
        return _error_response(
            413, protocol.INVALID_REQUEST, f"Invalid Request: a message may have at most {self.limit} bytes"
        )


class StreamableHttp(HttpTransport):
    """The Streamable HTTP transport on one path (POST messages, GET a stream, DELETE the session)."""

    def __init__(
        self, server: McpServer, http: Any, authenticator: Any = None, stateless: bool = False
    ) -> None:
        super().__init__(server, http, authenticator)
        self.stateless = stateless

    def routes(self) -> list[tuple[str, Callable[[web.BaseRequest, dict], Awaitable[web.StreamResponse]]]]:
        return [("post", self.post), ("get", self.get), ("delete", self.delete)]

    async def post(self, request: web.BaseRequest, _params: dict) -> web.StreamResponse:
        refused, claims = await self.guard(request)
        if refused is not None:
            return refused
        headers = self.extra_headers(request)
        accept = request.headers.get("Accept", "")
        takes_sse = "text/event-stream" in accept or "*/*" in accept
        takes_json = not accept or "application/json" in accept or "*/*" in accept
        if not (takes_sse or takes_json):
            return _error_response(
                406, protocol.INVALID_REQUEST, "Not Acceptable: accept application/json and text/event-stream"
            )
        if request.content_type != "application/json":
            return _error_response(
                415, protocol.INVALID_REQUEST, "Unsupported Media Type: send application/json"
            )
        try:
            data = await self.read_messages(request)
        except _TooLarge as err:
            return err.response()
        except McpError as err:
            return _error_response(400, err.code, err.message)
        batch = isinstance(data, list)
        messages = data if batch else [data]
        if not messages:
            return _error_response(400, protocol.INVALID_REQUEST, "Invalid Request: an empty batch")
        session, refusal = self._session_for(request, messages, batch)
        if refusal is not None:
            return refusal
        if claims is not None:
            session.auth = claims
        if session.transport != "stateless" and session.id in self.server.sessions:
            headers["Mcp-Session-Id"] = session.id
        stream = session.new_stream()
        invalid = self.handle_all(session, messages, stream)
        if not stream.waiting and not stream.responses:
            session.forget_stream(stream)
            if invalid and len(invalid) == len(messages):
                return web.Response(
                    status=400,
                    text=protocol.dumps(invalid if batch else invalid[0]),
                    content_type="application/json",
                    headers=headers,
                )
            return web.Response(status=202, headers=headers)
        quick = stream.finished and not stream.notes and not stream.close_requested
        if quick or not takes_sse:
            return await self._json_reply(stream, invalid, batch, headers)
        for error in invalid:
            stream.expect(error["id"])
            stream.send(error)
        stream.as_sse()
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
        if await _prepared(response, request):
            await self.pump(request, response, stream, self.priming(stream))
        return response

    def _session_for(self, request: web.BaseRequest, messages: list, batch: bool) -> tuple[Session, Any]:
        initializing = any(isinstance(m, dict) and m.get("method") == "initialize" for m in messages)
        if initializing:
            if batch:
                return None, _error_response(  # type: ignore[return-value]
                    400, protocol.INVALID_REQUEST, "Invalid Request: initialize must not be part of a batch"
                )
            return self.server.new_session("stateless" if self.stateless else "streamable"), None
        version = request.headers.get("MCP-Protocol-Version")
        if version is not None and version not in protocol.SUPPORTED_VERSIONS:
            return (
                None,
                _error_response(  # type: ignore[return-value]
                    400,
                    protocol.INVALID_REQUEST,
                    f"Bad Request: unsupported MCP-Protocol-Version {version[:40]!r} "
                    f"(supported: {', '.join(protocol.SUPPORTED_VERSIONS)})",
                ),
            )
        if self.stateless:
            session = self.server.new_session("stateless")
            session.version = version or protocol.DEFAULT_HTTP_VERSION
            session.initialized = True
        else:
            session_id = request.headers.get("Mcp-Session-Id")
            if not session_id:
                return None, _error_response(  # type: ignore[return-value]
                    400, protocol.INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is required"
                )
            session = self.server.sessions.get(session_id)
            if session is None:
                return None, _error_response(  # type: ignore[return-value]
                    404, protocol.INVALID_REQUEST, "Not Found: no such session (it ended or expired)"
                )
        if batch and session.version not in protocol.BATCH_VERSIONS:
            return None, _error_response(  # type: ignore[return-value]
                400,
                protocol.INVALID_REQUEST,
                f"Invalid Request: revision {session.version} does not accept JSON-RPC batches",
            )
        return session, None

    async def _json_reply(self, stream: Stream, invalid: list, batch: bool, headers: dict) -> web.Response:
        stream.as_json()
        session = stream.session
        try:
            while not stream.finished and not session.closed:
                await stream.changed(None)
        finally:
            session.forget_stream(stream)
        answers = stream.responses + invalid
        if not answers:  # cancelled by the client, or the session ended: nothing to say
            return web.Response(status=202, headers=headers)
        body = answers if batch else answers[0]
        return web.Response(
            status=200, text=protocol.dumps(body), content_type="application/json", headers=headers
        )

    async def get(self, request: web.BaseRequest, _params: dict) -> web.StreamResponse:
        refused, _claims = await self.guard(request)
        if refused is not None:
            return refused
        if self.stateless:
            return web.Response(
                status=405, text="Method Not Allowed: this server is stateless\n", headers={"Allow": "POST"}
            )
        if "text/event-stream" not in request.headers.get("Accept", "text/event-stream"):
            return _error_response(406, protocol.INVALID_REQUEST, "Not Acceptable: accept text/event-stream")
        session, refusal = self._known_session(request)
        if refusal is not None:
            return refusal
        stream = self._resumed(session, request.headers.get("Last-Event-ID"))
        first = ""
        if stream is None:
            stream = session.standalone_stream()
            first = self.priming(stream)
        if stream.attached:
            return _error_response(
                409, protocol.INVALID_REQUEST, "Conflict: this session's stream is already open"
            )
        headers = {**SSE_HEADERS, **self.extra_headers(request), "Mcp-Session-Id": session.id}
        response = web.StreamResponse(status=200, headers=headers)
        if await _prepared(response, request):
            await self.pump(request, response, stream, first)
        return response

    @staticmethod
    def _resumed(session: Session, last_event_id: str | None) -> Stream | None:
        """The stream a Last-Event-ID names, rewound to just after that event."""
        if not last_event_id:
            return None
        stream_id, _, number = last_event_id.rpartition("_")
        stream = session.streams.get(stream_id)
        if stream is None or not number.isdigit():
            return None
        stream.rewind(int(number))
        return stream

    def _known_session(self, request: web.BaseRequest) -> tuple[Session, Any]:
        session_id = request.headers.get("Mcp-Session-Id")
        if not session_id:
            return None, _error_response(  # type: ignore[return-value]
                400, protocol.INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is required"
            )
        session = self.server.sessions.get(session_id)
        if session is None:
            return None, _error_response(  # type: ignore[return-value]
                404, protocol.INVALID_REQUEST, "Not Found: no such session (it ended or expired)"
            )
        session.touch()
        return session, None

    async def delete(self, request: web.BaseRequest, _params: dict) -> web.StreamResponse:
        refused, _claims = await self.guard(request)
        if refused is not None:
            return refused
        if self.stateless:
            return web.Response(
                status=405, text="Method Not Allowed: this server is stateless\n", headers={"Allow": "POST"}
            )
        session, refusal = self._known_session(request)
        if refusal is not None:
            return refusal
        self.server.end_session(session)
        return web.Response(status=200, headers=self.extra_headers(request))


class LegacySse(HttpTransport):
    """HTTP+SSE (2024-11-05): GET opens the stream, whose first event names the POST endpoint."""

    def __init__(self, server: McpServer, http: Any, endpoint: str, authenticator: Any = None) -> None:
        super().__init__(server, http, authenticator)
        self.endpoint = endpoint  # the message path as clients see it (under httpNodeRoot)

    async def get(self, request: web.BaseRequest, _params: dict) -> web.StreamResponse:
        refused, claims = await self.guard(request)
        if refused is not None:
            return refused
        session = self.server.new_session("sse")
        session.auth = claims
        session.version = "2024-11-05"
        stream = session.standalone_stream()
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **self.extra_headers(request)})
        first = format_event(f"{self.endpoint}?sessionId={session.id}", "endpoint")
        try:
            if await _prepared(response, request):
                await self.pump(request, response, stream, first)
        finally:
            self.server.end_session(session)
        return response

    async def post(self, request: web.BaseRequest, _params: dict) -> web.StreamResponse:
        refused, claims = await self.guard(request)
        if refused is not None:
            return refused
        session_id = request.query.get("sessionId")
        if not session_id:
            return _error_response(400, protocol.INVALID_REQUEST, "Bad Request: sessionId is required")
        session = self.server.sessions.get(session_id)
        if session is None or session.transport != "sse":
            return _error_response(404, protocol.INVALID_REQUEST, "Not Found: no such session")
        try:
            data = await self.read_messages(request)
        except _TooLarge as err:
            return err.response()
        except McpError as err:
            return _error_response(400, err.code, err.message)
        if claims is not None:
            session.auth = claims
        batch = isinstance(data, list)
        if batch and (not data or session.version not in protocol.BATCH_VERSIONS):
            return _error_response(
                400, protocol.INVALID_REQUEST, "Invalid Request: this batch is not accepted"
            )
        stream = session.standalone_stream()
        for error in self.handle_all(session, data if batch else [data], stream):
            stream.send(error)
        return web.Response(status=202, text="Accepted", headers=self.extra_headers(request))
