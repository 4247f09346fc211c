"""aiohttp-backed implementations of the live HTTP objects of `flowrt.engine.live`.

`AioRequest` is Express's `req` as flows read it; `AioResponse` is Node's
`http.ServerResponse` over an aiohttp `StreamResponse`.

Writes never block the event loop: `write()`/`end()` only queue chunks. The
aiohttp handler coroutine that created the response (see `HttpServer` and the
`http in` node) runs `AioResponse.pump()`, which prepares the response when the
first chunk (or the end) arrives, writes the queued chunks in order and returns
once the response is ended. The server runs with aiohttp's handler
cancellation on, so when a client goes away the pump is cancelled at once and
the response fires its 'close' listeners: that is how SSE streams learn of a
disconnect without polling.

A response still streaming once its headers and first chunks are out (an SSE
stream, say) is detached from aiohttp: its connection gets a small protocol
of our own (`_DetachedStream`) that frames and writes each chunk at once and
reports the client going away, and aiohttp's per-connection machinery (request
handler, parser, tasks, request and response objects) is released. An open
stream then costs a few hundred bytes of Python objects instead of ~8 kB.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from functools import cached_property
from http import HTTPStatus
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time


def parse_query(text: str) -> dict[str, Any]:
    """A query string as Express's parser gives it: repeated keys become lists."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in out:
            existing = out[key]
            if isinstance(existing, list):
                existing.append(value)
            else:
                out[key] = [existing, value]
        else:
            out[key] = value
    return out


def parse_cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        out = {}
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                out[name] = value
        return out
    return {name: morsel.value for name, morsel in jar.items()}


def _latin1(value: str) -> str:
    """A header value as Node reads it: each byte one character (latin1). aiohttp decodes UTF-8
    and keeps other bytes as surrogate escapes ('\\udcff'), which no encoder can write back."""
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


class AioRequest:
    """Express's req for one aiohttp request (the fields flows use).

    Fields are read from the aiohttp request when first used: a flow that never
    looks at the headers or cookies does not pay for them."""

    live_kind = "req"  # what JS code gets for it (flowrt.js.sandbox: a LiveRequest)

    def __init__(self, request: web.BaseRequest, params: dict[str, str] | None = None) -> None:
        self._request = request
        self.method: str = request.method
        self.params: dict[str, str] = dict(params) if params else {}
        self.baseUrl: str = ""
        self.body: Any = None
        self.files: list[dict] | None = None

    @cached_property
    def url(self) -> str:
        return self._request.raw_path

    @cached_property
    def originalUrl(self) -> str:
        return self._request.raw_path

    @cached_property
    def path(self) -> str:
        return self._request.path

    @cached_property
    def headers(self) -> dict[str, str]:
        # Node lower-cases header names; repeated headers are joined as Node does.
        headers: dict[str, str] = {}
        for name, value in self._request.headers.items():
            key = name.lower()
            if not value.isascii():
                value = _latin1(value)
            if key in headers:
                headers[key] = f"{headers[key]}, {value}"
            else:
                headers[key] = value
        return headers

    @cached_property
    def query(self) -> dict[str, Any]:
        raw = self._request.raw_path
        return parse_query(urlsplit(raw).query) if "?" in raw else {}

    @cached_property
    def cookies(self) -> dict[str, str]:
        return parse_cookies(self._request.headers.get("Cookie"))

    @cached_property
    def ip(self) -> str:
        return self._request.remote or ""

    @cached_property
    def protocol(self) -> str:
        return self._request.scheme

    @cached_property
    def secure(self) -> bool:
        return self._request.secure

    @cached_property
    def hostname(self) -> str | None:
        # Express 4 req.hostname without 'trust proxy' (Node-RED's http-in app): the Host header
        # without its port ("[::1]:1880" -> "[::1]"); X-Forwarded-Host ignored; no Host: undefined.
        host = self._request.headers.get("Host")
        if not host:
            return None
        start = host.find("]") + 1 if host.startswith("[") else 0
        colon = host.find(":", start)
        return host[:colon] if colon != -1 else host

    @cached_property
    def httpVersion(self) -> str:
        version = self._request.version
        return f"{version.major}.{version.minor}"

    def get(self, name: str) -> str | None:
        """Express's req.get(header)."""
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"<AioRequest {self.method} {self.url}>"


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_checked_names: set[str] = set()


def _check_header(name: Any, value: Any) -> None:
    """As Node's setHeader: a name that is an HTTP token, values without line breaks."""
    if type(name) is not str or name not in _checked_names:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"Header name must be a valid HTTP token [{name!r}]")
        if len(_checked_names) < 1000:  # the names seen so far, as a cache
            _checked_names.add(name)
    for item in value if isinstance(value, list) else (value,):
        text = item if type(item) is str else str(item)
        if "\r" in text or "\n" in text:
            raise ValueError(f'Invalid character in header content ["{name}"]')


class ResponseClosedError(RuntimeError):
    """Raised when writing to a response that has ended or whose client went away."""


class AioResponse:
    """Node's http.ServerResponse over an aiohttp StreamResponse."""

    live_kind = "res"  # what JS code gets for it (flowrt.js.sandbox: a LiveResponse)

    def __init__(
        self, request: web.BaseRequest, open_streams: set | None = None, stream_max_buffer: int = 0
    ) -> None:
        self._request = request
        self._open_streams = open_streams  # where a detached stream is listed (None: never detach)
        self._stream_max_buffer = stream_max_buffer  # unsent bytes a detached stream may hold (0: any)
        self.close_reason: str | None = None  # why the server dropped the client, if it did
        self.statusCode = 200
        self.statusMessage: str | None = None
        self._headers: dict[str, tuple[str, Any]] = {}  # lower name -> (name as set, value)
        self._chunks: list[bytes] = []  # a list: an empty deque costs ~760 bytes per open stream
        self._wakeup: asyncio.Future | None = None
        self._headers_sent = False
        self._ended = False  # end() was called
        self._finished = False  # the end reached the client
        self._client_gone = False
        self._listeners: dict[str, list[Callable[..., Any]]] = {}
        self._resp: web.StreamResponse | None = None
        self._stream: _DetachedStream | None = None  # set once detached from aiohttp

    # ----- state ---------------------------------------------------------------
    @property
    def headersSent(self) -> bool:
        return self._headers_sent

    @property
    def finished(self) -> bool:
        """True once end() was called (Node's writableEnded)."""
        return self._ended

    @property
    def writableEnded(self) -> bool:
        return self._ended

    @property
    def writableFinished(self) -> bool:
        return self._finished

    @property
    def closed(self) -> bool:
        """True when the client went away before the response ended."""
        return self._client_gone

    # ----- headers ---------------------------------------------------------------
    def setHeader(self, name: str, value: Any) -> AioResponse:
        if self._headers_sent:
            raise ResponseClosedError("Cannot set headers after they are sent to the client")
        _check_header(name, value)
        self._headers[name.lower()] = (name, value)
        return self

    def getHeader(self, name: str) -> Any:
        entry = self._headers.get(name.lower())
        return entry[1] if entry else None

    def getHeaders(self) -> dict[str, Any]:
        return {key: value for key, (_, value) in self._headers.items()}

    def hasHeader(self, name: str) -> bool:
        return name.lower() in self._headers

    def removeHeader(self, name: str) -> None:
        if self._headers_sent:
            raise ResponseClosedError("Cannot remove headers after they are sent to the client")
        self._headers.pop(name.lower(), None)

    def appendHeader(self, name: str, value: Any) -> AioResponse:
        _check_header(name, value)
        current = self.getHeader(name)
        if current is None:
            return self.setHeader(name, value)
        values = current if isinstance(current, list) else [current]
        values = values + (value if isinstance(value, list) else [value])
        self._headers[name.lower()] = (self._headers[name.lower()][0], values)
        return self

    def writeHead(
        self, status: int, headers: dict[str, Any] | str | None = None, more: Any = None
    ) -> AioResponse:
        if self._headers_sent:
            raise ResponseClosedError("Cannot write headers after they are sent to the client")
        self.statusCode = int(status)
        if isinstance(headers, str):  # writeHead(status, statusMessage, headers)
            self.statusMessage = headers
            headers = more
        for name, value in (headers or {}).items():
            self.setHeader(name, value)
        self._headers_sent = True
        self._kick()
        return self

    def flushHeaders(self) -> None:
        if not self._headers_sent:
            self._headers_sent = True
            self._kick()

    # ----- body ---------------------------------------------------------------------
    def write(self, data: str | bytes | bytearray | None, encoding: str | None = None) -> bool:
        if self._ended:
            raise ResponseClosedError("write after end")
        if self._client_gone:
            return False
        self._headers_sent = True
        chunk = _to_bytes(data, encoding)
        if self._stream is not None:
            if chunk:
                self._stream.write(chunk)
            return True
        if chunk:
            self._chunks.append(chunk)
        self._kick()
        return True

    def end(self, data: str | bytes | bytearray | None = None, encoding: str | None = None) -> AioResponse:
        if self._ended:
            return self
        if self._stream is not None:
            self._end_detached(data, encoding)
            return self
        if data is not None and not callable(data):
            chunk = _to_bytes(data, encoding)
            if chunk:
                self._chunks.append(chunk)
        if not self._headers_sent and "content-length" not in self._headers:
            self._headers["content-length"] = ("Content-Length", sum(len(c) for c in self._chunks))
        self._headers_sent = True
        self._ended = True
        self._kick()
        return self

    # ----- events ---------------------------------------------------------------------
    def on(self, event: str, callback: Callable[..., Any]) -> AioResponse:
        self._listeners.setdefault(event, []).append(callback)
        return self

    def once(self, event: str, callback: Callable[..., Any]) -> AioResponse:
        return self.on(event, callback)

    def off(self, event: str, callback: Callable[..., Any]) -> AioResponse:
        listeners = self._listeners.get(event)
        if listeners and callback in listeners:
            listeners.remove(callback)
        return self

    removeListener = off

    def _emit(self, event: str) -> None:
        for callback in self._listeners.pop(event, []):
            try:
                callback()
            except Exception as err:  # a listener's bug must not break the server
                import logging

                logging.getLogger("flowrt.http").warning("error in response %r listener: %s", event, err)

    # ----- driving the aiohttp response (called by the handler coroutine) ----------
    def _kick(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _build(self, cls: type[web.StreamResponse] = web.StreamResponse) -> web.StreamResponse:
        resp = cls(status=self.statusCode, reason=self.statusMessage)
        headers = resp.headers
        for name, value in self._headers.values():
            if isinstance(value, list):
                for item in value:
                    headers.add(name, str(item))
            elif name.lower() == "content-length":
                resp.content_length = int(value)
            else:
                headers[name] = str(value)
        return resp

    def sent_at_once(self) -> Any:
        """When the flow has already answered with a whole response: send it now and return what
        aiohttp's handler returns (saves running `pump`); else None."""
        if self._ended and self._resp is None and self._request.method != "HEAD" and self._send_direct():
            self._mark_finished()
            return self._resp
        return None

    async def pump(self) -> web.StreamResponse:
        """Write the response as the flow produces it; returns when it has ended.

        Cancelled (by aiohttp) when the client disconnects: the response is then
        marked gone and its 'close' listeners run.
        """
        request = self._request
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not self._headers_sent and not self._chunks and not self._ended:
                    self._wakeup = loop.create_future()
                    await self._wakeup
                    continue
                if self._resp is None and self._ended and request.method != "HEAD":
                    if not self._send_direct():
                        await self._send_whole()
                    break
                if self._resp is None:
                    self._resp = self._build()
                    await self._resp.prepare(request)
                if request.method == "HEAD":
                    self._chunks.clear()
                while self._chunks:
                    chunks, self._chunks = self._chunks, []
                    for chunk in chunks:
                        await self._resp.write(chunk)
                if self._ended:
                    await self._resp.write_eof()
                    break
                if request.method != "HEAD" and self._detach():
                    self._wakeup = None
                    return self._resp_after_detach()
                self._wakeup = loop.create_future()
                await self._wakeup
        except asyncio.CancelledError:
            self._gone()
            raise
        except (ConnectionError, RuntimeError):
            self._gone()
            raise asyncio.CancelledError() from None
        self._wakeup = None
        self._mark_finished()
        return self._resp

    def _send_direct(self) -> bool:
        """The common whole response, written to the connection in one go; False: leave it to
        `_send_whole` (aiohttp's writer), which handles every other case the same way.

        The bytes are those `_send_whole` produces: status line, the flow's headers in order,
        Content-Length, a default Content-Type, Connection where needed, Date last."""
        request = self._request
        transport = request.transport
        status = self.statusCode
        if transport is None or transport.is_closing() or request.method == "CONNECT":
            return False
        if not 200 <= status < 600 or status in (204, 304):  # no body, or not a final answer
            return False
        body = b"".join(self._chunks)
        reason = self.statusMessage if self.statusMessage is not None else _REASONS.get(status, "")
        lines = []
        has_type = has_connection = has_length = False
        for name, value in self._headers.values():
            lower = name.lower()
            if lower in _LEFT_TO_AIOHTTP:
                return False
            if lower == "content-length":
                if str(value).strip() != str(len(body)):
                    return False
                has_length = True
                lines.append(f"Content-Length: {len(body)}")
                continue
            has_type = has_type or lower == "content-type"
            has_connection = has_connection or lower == "connection"
            for item in value if isinstance(value, list) else (value,):
                lines.append(f"{name}: {item}")
        if not has_length:
            lines.append(f"Content-Length: {len(body)}")
        if body and not has_type:
            lines.append("Content-Type: application/octet-stream")
        version = request.version
        keep_alive = request.keep_alive
        if not has_connection:
            if keep_alive and version == (1, 0):
                lines.append("Connection: keep-alive")
            elif not keep_alive and version == (1, 1):
                lines.append("Connection: close")
        lines.append(f"Date: {rfc822_formatted_time()}")
        if "\r" in reason or "\n" in reason:  # (header values were checked by setHeader)
            return False  # aiohttp's writer refuses it with an error
        head = f"HTTP/{version[0]}.{version[1]} {status} {reason}\r\n" + "\r\n".join(lines) + "\r\n\r\n"
        self._chunks.clear()
        transport.write(head.encode("utf-8") + body)
        self._resp = _SentResponse(status, keep_alive, len(body))
        return True

    async def _send_whole(self) -> None:
        """The response ended before anything was sent: headers and body in one write.

        As Node does for `res.end(data)` before any write, the body gets a
        Content-Length unless the flow set one or chose chunked encoding.
        """
        body = b"".join(self._chunks)
        self._chunks.clear()
        resp = self._build(_WholeBodyResponse)
        names = {name.lower() for name, _ in self._headers.values()}
        if "content-length" not in names and "transfer-encoding" not in names:
            resp.content_length = len(body)
        self._resp = resp
        await resp.prepare(self._request)
        await resp.write_eof(body)

    # ----- detached streams ---------------------------------------------------------
    def _detach(self) -> bool:
        """Take the connection over from aiohttp (see the module doc); False when it can't be."""
        request, resp, streams = self._request, self._resp, self._open_streams
        protocol = request.protocol
        transport = request.transport
        writer = getattr(resp, "_payload_writer", None)
        if (
            streams is None
            or transport is None
            or transport.is_closing()
            or writer is None
            or getattr(resp, "_compression", True)  # compression: aiohttp's writer must frame it
            or not request.content.is_eof()  # an unread body: aiohttp still reads the connection
            or not all(hasattr(protocol, a) for a in ("transport", "_manager", "_keepalive_handle"))
        ):
            return False
        chunked = bool(getattr(writer, "chunked", False))
        stream = _DetachedStream(transport, self, chunked, streams, self._stream_max_buffer)
        transport.set_protocol(stream)
        # aiohttp's handler lets go: no transport to close, no keepalive timer, not listed
        protocol.transport = None
        if protocol._keepalive_handle is not None:
            protocol._keepalive_handle.cancel()
            protocol._keepalive_handle = None
        if protocol._manager is not None:
            protocol._manager.connection_lost(protocol, None)
        self._stream = stream
        return True

    def _resp_after_detach(self) -> web.StreamResponse:
        """The response aiohttp's handler gets back: ended as far as aiohttp is concerned."""
        resp = self._resp
        resp._eof_sent = True  # finish_response() writes nothing more
        resp._req = None
        resp._payload_writer = None
        resp.force_close()
        self._resp = None
        self._request = None
        return resp

    def _end_detached(self, data: Any, encoding: str | None) -> None:
        stream = self._stream
        if data is not None and not callable(data) and not self._client_gone:
            chunk = _to_bytes(data, encoding)
            if chunk:
                stream.write(chunk)
        self._ended = True
        if self._client_gone:
            return
        stream.end()
        asyncio.get_running_loop().call_soon(self._mark_finished)  # as Node: events come later

    def _mark_finished(self) -> None:
        """The end reached the client: 'finish', then 'close'."""
        self._finished = True
        self._emit("finish")
        self._emit("close")

    def _gone(self) -> None:
        if self._finished or self._client_gone:
            return
        self._client_gone = True
        self._chunks.clear()
        self._listeners.pop("finish", None)
        self._emit("close")

    def __repr__(self) -> str:
        state = "ended" if self._ended else "gone" if self._client_gone else "open"
        return f"<AioResponse {self.statusCode} {state}>"


class _DetachedStream(asyncio.Protocol):
    """The connection of a detached streaming response: writes chunks, notices the client leave.

    Node's http server does what this does after the headers: chunked framing
    when the response is chunked, raw bytes otherwise (a Content-Length set by
    the flow, or HTTP/1.0). Whatever the client sends now is ignored; the
    connection is closed when the response ends.

    A client that does not read must not make the server queue without bound: once more than
    `max_buffer` bytes wait unsent (`httpStreamMaxBuffer`), the next write drops the connection
    and the response fires 'close' with `close_reason` set.
    """

    __slots__ = ("transport", "response", "chunked", "streams", "max_buffer")

    def __init__(
        self,
        transport: asyncio.Transport,
        response: AioResponse,
        chunked: bool,
        streams: set,
        max_buffer: int = 0,
    ) -> None:
        self.transport = transport
        self.response = response
        self.chunked = chunked
        self.streams = streams
        self.max_buffer = max_buffer
        streams.add(self)

    def write(self, chunk: bytes) -> None:
        if self.max_buffer and self.transport.get_write_buffer_size() > self.max_buffer:
            self._drop_slow_client()
            return
        if self.chunked:
            self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            self.transport.write(chunk)

    def end(self) -> None:
        self.response = None  # the connection closing now is not the client going away
        if self.chunked:
            self.transport.write(b"0\r\n\r\n")
        self.transport.close()

    def close(self) -> None:
        """The server stops: drop the connection (the response sees its client go)."""
        self.transport.close()

    def _drop_slow_client(self) -> None:
        unsent = self.transport.get_write_buffer_size()
        self.transport.abort()  # frees the unsent bytes now
        response, self.response = self.response, None
        if response is not None:
            response.close_reason = f"the client does not read: {unsent} bytes unsent, over httpStreamMaxBuffer ({self.max_buffer})"
            response._gone()

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the client closed its side: close ours too (Node does)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.streams.discard(self)
        response = self.response
        if response is not None:
            self.response = None
            response._gone()


class _SentResponse:
    """What aiohttp's request handler gets back for a response `_send_direct` wrote:
    nothing more to write; keep the connection if the request allows it."""

    __slots__ = ("status", "keep_alive", "body_length")

    def __init__(self, status: int, keep_alive: bool, body_length: int) -> None:
        self.status = status
        self.keep_alive = keep_alive
        self.body_length = body_length

    async def prepare(self, request: Any) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


# Headers `_send_direct` leaves to aiohttp's writer (and our prepare hook) to handle.
_LEFT_TO_AIOHTTP = frozenset({"transfer-encoding", "date", "server"})
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _WholeBodyResponse(web.StreamResponse):
    """A response whose body is known in full: aiohttp sends headers with the body."""

    _send_headers_immediately = False


def _to_bytes(data: Any, encoding: str | None = None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        if encoding in ("latin1", "binary"):
            return data.encode("latin-1")
        return data.encode("utf-8")
    if isinstance(data, (dict, list)):
        return json.dumps(data, separators=(",", ":")).encode()
    return str(data).encode("utf-8")
