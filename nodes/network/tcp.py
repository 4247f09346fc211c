"""`tcp in`, `tcp out` and `tcp request` (Node-RED's 31-tcpin.js), on asyncio transports.

- `tcp in` listens on a port (`server: "server"`) or connects to `host:port` (`"client"`, reconnecting
  after `socketReconnectTime` ms, default 10 s). `datamode` "stream" sends what arrives (split on
  `newline` for strings, with `trim` re-attaching it), "single" one message per connection when the peer
  ends it. `datatype` buffer / utf8 / base64. Each message has `msg._session = {type: "tcp", id}` (and
  `ip`/`port` in server mode) so a `tcp out` in "reply" mode answers that connection.
- `tcp out` writes to a `tcp in` session (`beserver: "reply"`, every session without `msg._session`,
  `msg.reset` closes), to a server it connects to ("client") or to every client of its own server
  ("server"); `end` closes after each message; `base64` decodes string payloads.
- `tcp request` connects to `server:port` (or `msg.host`/`msg.port`), writes the payload and returns
  after `splitc` ms ("time"), `splitc` bytes ("count"), a character ("char"), at once ("immed") or
  keeps the connection and sends what arrives ("sit", `msg.reset` closes). Messages wait per connection
  while it connects, at most `tcpMsgQueueSize` (default 1000; the oldest is dropped).

The setting `socketTimeout` (ms) closes idle sockets as Node-RED does.
Differences from Node-RED: strings are decoded with an incremental UTF-8 decoder (a character split
between two reads stays whole) and a "single" base64 message encodes the whole data (Node-RED joins
the base64 text of each read); `tcp request` buffers any amount of reply data (Node-RED: 64 kB).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import codecs
import errno
import os
import re
import socket
import ssl
import tempfile
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.util import clone_message, generate_id, js

DEFAULT_RECONNECT_MS = 10000
DEFAULT_QUEUE_SIZE = 1000
KEEPALIVE_SECONDS = 120
CLOSE_WAIT_SECONDS = 5.0

#: The open sockets of every `tcp in` node of a runtime, by session id (Node-RED's connectionPool).
_pools: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Transport]] = weakref.WeakKeyDictionary()


def session_pool(runtime: Any) -> dict[str, asyncio.Transport]:
    pool = _pools.get(runtime)
    if pool is None:
        pool = _pools[runtime] = {}
    return pool


# ------------------------------------------------------------------ helpers
def connections_text(count: int) -> str:
    return f"{count} connection" if count == 1 else f"{count} connections"


def unescape_newline(text: Any) -> str:
    """The delimiter as typed in the editor: \\n, \\r and \\t stand for the characters."""
    text = "" if not text else js.js_string(text)
    return text.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def decode_base64(text: str) -> bytes:
    """Buffer.from(text, "base64"): URL-safe letters allowed, other characters skipped, ends at "="."""
    text = _NOT_BASE64.sub("", text.split("=", 1)[0].replace("-", "+").replace("_", "/"))
    if len(text) % 4 == 1:
        text = text[:-1]
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return b""


def payload_bytes(payload: Any, is_base64: bool) -> bytes:
    """What tcp out writes: a Buffer as is, a base64 string decoded, anything else String(payload)."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return decode_base64(payload) if is_base64 else payload.encode()
    return js.js_string(payload).encode()


def error_text(err: BaseException, action: str, host: Any, port: Any) -> str:
    """An OSError as Node's err.toString(): 'Error: connect ECONNREFUSED 127.0.0.1:9'."""
    if isinstance(err, OSError) and err.errno in errno.errorcode:
        reason = (err.strerror or "").lower()
        code = errno.errorcode[err.errno]
        if action == "listen":
            return f"Error: listen {code}: {reason} {host}:{port}"
        return f"Error: {action} {code} {host}:{port}"
    return f"Error: {err}"


def set_keepalive(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_SECONDS)
    except OSError:
        pass


def listening_socket(port: int) -> socket.socket:
    """server.listen(port) as Node does it: every interface, IPv6 and IPv4 on one socket when the
    host has IPv6. Bound and listening before the first await, so a client node that connects while
    the flow starts finds it (Node-RED binds in the constructor)."""
    families = [socket.AF_INET6, socket.AF_INET] if socket.has_ipv6 else [socket.AF_INET]
    for family in families:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
            sock.listen(511)
            sock.setblocking(False)
            return sock
        except OSError as err:
            sock.close()
            if family == socket.AF_INET6 and err.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                continue
            raise
    raise OSError(errno.EAFNOSUPPORT, "no address family to listen on")


def peer_of(transport: asyncio.BaseTransport) -> tuple[Any, Any]:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return peer[0], peer[1]
    return None, None


def parse_port(value: Any) -> int:
    """n.port * 1 / Number(n.port): 0 when empty or not a number."""
    number = js.js_number(value) if value is not None else 0
    if number != number or number in (float("inf"), float("-inf")):
        return 0
    return int(number)


def socket_timeout(node: Node) -> float | None:
    value = node.settings.get("socketTimeout")
    return float(value) / 1000 if value else None


def reconnect_time(node: Node) -> float:
    return float(node.settings.get("socketReconnectTime") or DEFAULT_RECONNECT_MS) / 1000


class IdleTimer:
    """Node's socket.setTimeout: calls `on_idle` after `seconds` without reads or writes."""

    __slots__ = ("handle", "node", "on_idle", "seconds")

    def __init__(self, node: Node, seconds: float, on_idle: Callable[[], None]) -> None:
        self.node, self.seconds, self.on_idle = node, seconds, on_idle
        self.handle: asyncio.TimerHandle | None = None
        self.touch()

    def touch(self) -> None:
        self.node.cancel_timer(self.handle)
        self.handle = self.node.call_later(self.seconds, self.on_idle)

    def cancel(self) -> None:
        self.node.cancel_timer(self.handle)
        self.handle = None


class Receiver:
    """Turns the bytes of one connection into `tcp in` messages (stream / single, datatype, newline)."""

    __slots__ = ("decoder", "ip", "node", "parts", "port", "rest", "session")

    def __init__(self, node: TcpIn, session_id: str, ip: Any = None, port: Any = None) -> None:
        self.node = node
        self.session = session_id
        self.ip, self.port = ip, port
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace") if node.datatype == "utf8" else None
        self.rest = ""  # stream/utf8 with a delimiter: the text after the last delimiter
        self.parts: list[bytes] = []  # single mode: everything received

    def message(self, payload: Any) -> dict:
        node = self.node
        msg: dict[str, Any] = (
            {"topic": node.topic, "payload": payload} if node.topic is not None else {"payload": payload}
        )
        if node.server and self.ip is not None:
            msg["ip"], msg["port"] = self.ip, self.port
        msg["_session"] = {"type": "tcp", "id": self.session}
        return msg

    def feed(self, data: bytes) -> None:
        node = self.node
        if not node.stream:
            self.parts.append(data)
            return
        if self.decoder is None:
            node.send(self.message(base64.b64encode(data).decode() if node.datatype == "base64" else data))
            return
        text = self.decoder.decode(data)
        newline = node.newline
        if not newline:
            if text:
                node.send(self.message(text))
            return
        pieces = (self.rest + text).split(newline)
        self.rest = pieces.pop()
        for piece in pieces:
            node.send(self.message(piece + newline if node.trim else piece))

    def end(self) -> bool:
        """The peer ended the connection: send what is kept; True when something was sent."""
        node = self.node
        if node.stream:
            payload: Any = self.rest + (self.decoder.decode(b"", True) if self.decoder is not None else "")
            self.rest = ""
        else:
            data = b"".join(self.parts)
            self.parts = []
            if node.datatype == "utf8":
                payload = data.decode("utf-8", "replace")
            elif node.datatype == "base64":
                payload = base64.b64encode(data).decode()
            else:
                payload = data
        if len(payload) == 0:
            return False
        node.send(self.message(payload))
        return True


# ------------------------------------------------------------------ tcp in
class InboundProtocol(asyncio.Protocol):
    """One connection of a `tcp in` node (accepted by its server or made by its client)."""

    def __init__(self, node: TcpIn) -> None:
        self.node = node
        self.transport: asyncio.Transport | None = None
        self.receiver: Receiver | None = None
        self.session_id = generate_id()
        self.idle: IdleTimer | None = None
        self.ip: Any = None
        self.port: Any = None
        self.ended = False  # the peer ended the connection after sending data: reconnect at once
        self.closed = node.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        node = self.node
        self.transport = transport  # type: ignore[assignment]
        set_keepalive(transport)
        self.ip, self.port = peer_of(transport)
        if node.server:
            self.receiver = Receiver(node, self.session_id, self.ip, self.port)
        else:
            self.receiver = Receiver(node, self.session_id)
        if node.closed:
            transport.close()
            return
        session_pool(node.runtime)[self.session_id] = self.transport
        node.connection_opened(self)
        timeout = socket_timeout(node) if node.server else None
        if timeout:
            self.idle = IdleTimer(node, timeout, self.timed_out)

    def timed_out(self) -> None:
        self.node.log(f"timeout closed socket port {self.node.port}")
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.idle is not None:
            self.idle.touch()
        try:
            self.receiver.feed(data)
        except Exception as err:
            self.node.error(f"error: {js.error_to_string(err)}")

    def eof_received(self) -> bool:
        self.ended = self.receiver.end() if self.receiver is not None else False
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if self.idle is not None:
            self.idle.cancel()
        node = self.node
        if exc is not None:
            node.log(js.error_to_string(exc))
        if session_pool(node.runtime).pop(self.session_id, None) is not None:
            node.connection_closed(self)


class TcpEndpoint(Node):
    """What tcp in and tcp out share: listening in server mode, connecting (and reconnecting)
    in client mode. A subclass names its protocol and what a failed connect does."""

    host: Any
    port: int
    ssl: Any
    listener: asyncio.Server | None
    reconnect_handle: asyncio.TimerHandle | None

    def new_protocol(self) -> asyncio.Protocol:
        raise NotImplementedError

    def connect_failed(self, err: OSError) -> None:
        raise NotImplementedError

    # server mode
    async def listen(self) -> None:
        try:
            self.listener = await self.loop.create_server(
                self.new_protocol, sock=listening_socket(self.port), ssl=self.ssl
            )
        except OSError as err:
            self.error(
                f"unable to listen on port {self.port}, error: {error_text(err, 'listen', '::', self.port)}"
            )
            return
        self.log(f"listening on port {self.port}")

    async def stop_listening(self) -> None:
        if self.listener is not None:
            self.listener.close()
            await self.listener.wait_closed()
            self.log(f"stopped listening on port {self.port}")

    # client mode
    def connect(self) -> None:
        self.reconnect_handle = None
        if self.closed:
            return
        self.log(f"connecting to {self.host}:{self.port}")
        self.status({"fill": "grey", "shape": "dot", "text": "common.status.connecting"})
        self.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            await self.loop.create_connection(self.new_protocol, self.host or None, self.port, ssl=self.ssl)
        except OSError as err:
            self.connect_failed(err)


@register_type("tcp in")
class TcpIn(TcpEndpoint):
    schema = {
        "type": "object",
        "properties": {
            "server": {"enum": ["server", "client", True, False], "default": "server"},
            "host": {"type": "string", "description": "client mode: the host to connect to"},
            "port": {"type": ["string", "number"]},
            "datamode": {"enum": ["stream", "single", ""], "default": "stream"},
            "datatype": {"enum": ["buffer", "utf8", "base64", ""], "default": "buffer"},
            "newline": {"type": "string", "description": "stream/utf8: split on this (\\n \\r \\t escapes)"},
            "topic": {"type": "string"},
            "trim": {"type": "boolean", "description": "re-attach the delimiter"},
            "base64": {"type": "boolean"},
            "tls": {"type": "string", "description": "id of a tls-config node"},
        },
    }

    async def setup(self) -> None:
        cfg = self.config
        self.host = cfg.get("host")
        self.port = parse_port(cfg.get("port"))
        self.topic = cfg.get("topic")
        self.stream = not cfg.get("datamode") or cfg.get("datamode") == "stream"
        self.datatype = cfg.get("datatype") or "buffer"
        self.newline = unescape_newline(cfg.get("newline"))
        self.trim = bool(cfg.get("trim"))
        server = cfg.get("server")
        self.server = server if isinstance(server, bool) else server == "server"
        self.count = 0
        self.ssl = tls_context(self, cfg.get("tls"), server_side=self.server)
        self.listener: asyncio.Server | None = None
        self.client: InboundProtocol | None = None
        self.reconnect_handle: asyncio.TimerHandle | None = None
        if self.server:
            await self.listen()
        else:
            self.connect()

    def new_protocol(self) -> InboundProtocol:
        return InboundProtocol(self)

    def connect_failed(self, err: OSError) -> None:
        self.log(error_text(err, "connect", self.host, self.port))
        self.status({"fill": "red", "shape": "ring", "text": "common.status.disconnected"})
        self.schedule_reconnect(ended=False)

    def schedule_reconnect(self, ended: bool) -> None:
        if self.closed:
            return
        if not ended:
            self.log(f"connection lost to {self.host}:{self.port}")
        self.reconnect_handle = self.call_later(0.02 if ended else reconnect_time(self), self.connect)

    def connection_opened(self, conn: InboundProtocol) -> None:
        session = {"type": "tcp", "id": conn.session_id}
        if self.server:
            self.count += 1
            self.status(
                {
                    "text": connections_text(self.count),
                    "event": "connect",
                    "ip": conn.ip,
                    "port": conn.port,
                    "_session": session,
                }
            )
            return
        self.client = conn
        self.log(f"connected to {self.host}:{self.port}")
        self.status({"fill": "green", "shape": "dot", "text": "common.status.connected", "_session": session})

    def connection_closed(self, conn: InboundProtocol) -> None:
        session = {"type": "tcp", "id": conn.session_id}
        if self.server:
            self.count -= 1
            if not self.closed:
                self.status(
                    {
                        "text": connections_text(self.count),
                        "event": "disconnect",
                        "ip": conn.ip,
                        "port": conn.port,
                        "_session": session,
                    }
                )
            return
        self.client = None
        if not self.closed:
            self.status(
                {"fill": "red", "shape": "ring", "text": "common.status.disconnected", "_session": session}
            )
            self.schedule_reconnect(ended=getattr(conn, "ended", False))

    async def on_close(self, removed: bool) -> None:
        self.cancel_timer(self.reconnect_handle)
        pool = session_pool(self.runtime)
        closing = []
        for session_id, transport in list(pool.items()):
            protocol = transport.get_protocol()
            if isinstance(protocol, InboundProtocol) and protocol.node is self:
                pool.pop(session_id, None)
                closing.append(protocol.closed)
                if self.server:
                    transport.close()
                else:
                    transport.abort()
        await self.stop_listening()
        await wait_closed(closing)


async def wait_closed(futures: list[asyncio.Future]) -> None:
    """Wait (bounded) until the closed transports have released their sockets."""
    if futures:
        await asyncio.wait(futures, timeout=CLOSE_WAIT_SECONDS)


def tls_context(node: Node, tls_id: Any, server_side: bool) -> Any:
    """The SSL context of the `tls-config` node `tls_id` (None without one): its client context,
    or for a server one built from its certificate and key (`.cert`, `.key`, `.passphrase`)."""
    if not tls_id:
        return None
    tls = node.runtime.get_node(tls_id) if isinstance(tls_id, str) else None
    if tls is None or not hasattr(tls, "context"):
        raise NodeConfigError(f"tls-config node {js.js_string(tls_id)!r} (property tls) is missing")
    if not server_side:
        return tls.context
    cert, key = getattr(tls, "cert", None), getattr(tls, "key", None)
    if not cert or not key:
        raise NodeConfigError(f"tls-config node {tls_id!r} has no certificate and key for a server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    passphrase = getattr(tls, "passphrase", None) or ""
    with tempfile.TemporaryDirectory(prefix="flowrt-tcp-tls-") as folder:
        paths = []
        for name, data in (("cert.pem", cert), ("key.pem", key)):
            path = os.path.join(folder, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data if isinstance(data, bytes) else str(data).encode())
            paths.append(path)
        try:
            context.load_cert_chain(paths[0], paths[1], password=lambda: passphrase.encode())
        except ssl.SSLError as err:
            raise NodeConfigError(
                f"cannot use the certificate of tls-config node {tls_id!r}: {err}"
            ) from None
    return context


# ------------------------------------------------------------------ tcp out
class OutboundProtocol(asyncio.Protocol):
    """A connection of a `tcp out` node: its client connection or one client of its server."""

    def __init__(self, node: TcpOut) -> None:
        self.node = node
        self.transport: asyncio.Transport | None = None
        self.idle: IdleTimer | None = None
        self.peer: tuple[Any, Any] = (None, None)
        self.closed = node.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        set_keepalive(transport)
        self.peer = peer_of(transport)
        if self.node.closed:
            transport.close()
            return
        self.node.opened(self)
        timeout = socket_timeout(self.node) if self.node.mode == "server" else None
        if timeout:
            self.idle = IdleTimer(self.node, timeout, self.timed_out)

    def timed_out(self) -> None:
        self.node.log(f"timeout closed socket port {self.node.port}")
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.idle is not None:
            self.idle.touch()

    def eof_received(self) -> bool:
        if self.node.mode == "client":
            self.node.status({})
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if self.idle is not None:
            self.idle.cancel()
        if exc is not None and self.node.mode == "client":
            self.node.log(f"error: {js.error_to_string(exc)}")
        self.node.lost(self)


@register_type("tcp out")
class TcpOut(TcpEndpoint):
    schema = {
        "type": "object",
        "properties": {
            "beserver": {"enum": ["client", "server", "reply", ""], "default": "client"},
            "host": {"type": "string"},
            "port": {"type": ["string", "number"]},
            "base64": {"type": "boolean", "description": "decode string payloads from base64"},
            "end": {"type": "boolean", "description": "close the connection after each message"},
            "tls": {"type": "string", "description": "id of a tls-config node"},
        },
    }

    async def setup(self) -> None:
        cfg = self.config
        self.host = cfg.get("host")
        self.port = parse_port(cfg.get("port"))
        self.base64 = bool(cfg.get("base64"))
        self.doend = cfg.get("end") is True
        mode = cfg.get("beserver")
        self.mode = mode if mode in ("reply", "server") else "client"
        self.ssl = tls_context(self, cfg.get("tls"), server_side=self.mode == "server")
        self.client: OutboundProtocol | None = None
        self.ending = False
        self.reconnect_handle: asyncio.TimerHandle | None = None
        self.listener: asyncio.Server | None = None
        self.clients: set[OutboundProtocol] = set()
        if self.mode == "client":
            self.connect()
        elif self.mode == "server":
            self.status({"text": connections_text(0)})
            await self.listen()

    def new_protocol(self) -> OutboundProtocol:
        return OutboundProtocol(self)

    def connect_failed(self, err: OSError) -> None:
        self.log(f"error: {error_text(err, 'connect', self.host, self.port)}")
        self.disconnected()

    def disconnected(self) -> None:
        self.client = None
        if self.closed:
            return
        self.status({"fill": "red", "shape": "ring", "text": "common.status.disconnected"})
        if self.ending:
            self.ending = False
            delay = 0.02
        else:
            self.log(f"connection lost to {self.host}:{self.port}")
            delay = reconnect_time(self)
        self.reconnect_handle = self.call_later(delay, self.connect)

    def opened(self, conn: OutboundProtocol) -> None:
        if self.mode == "client":
            self.client = conn
            self.log(f"connected to {self.host}:{self.port}")
            self.status({"fill": "green", "shape": "dot", "text": "common.status.connected"})
            return
        self.log(f"connection from {conn.peer[0]}:{conn.peer[1]}")
        self.clients.add(conn)
        self.status({"text": connections_text(len(self.clients))})

    def lost(self, conn: OutboundProtocol) -> None:
        if self.mode == "client":
            if self.client is conn or self.client is None:
                self.disconnected()
            return
        if conn in self.clients:
            self.clients.discard(conn)
            if not self.closed:
                self.log(f"connection closed from {conn.peer[0]}:{conn.peer[1]}")
                self.status({"text": connections_text(len(self.clients))})

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        payload = msg.get("payload")
        if self.mode == "reply":
            self.reply(msg)
        elif self.mode == "client":
            client = self.client
            if client is not None and client.transport is not None and payload is not None:
                client.transport.write(payload_bytes(payload, self.base64))
                if self.doend:
                    self.ending = True
                    self.status({})
                    client.transport.close()
        elif payload is not None:
            data = payload_bytes(payload, self.base64)
            for conn in list(self.clients):
                if conn.transport is not None:
                    conn.transport.write(data)
                    if self.doend:
                        conn.transport.close()
                    if conn.idle is not None:
                        conn.idle.touch()
        done()

    def reply(self, msg: dict) -> None:
        pool = session_pool(self.runtime)
        session = msg.get("_session")
        if isinstance(session, dict) and session.get("type") == "tcp":
            transport = pool.get(session.get("id"))
            targets = [transport] if transport is not None else []
        else:
            targets = list(pool.values())
        reset = msg.get("reset") is True
        data = None if reset else payload_bytes(msg.get("payload", js.UNDEFINED), self.base64)
        for transport in targets:
            if reset:
                transport.abort()
            else:
                transport.write(data)

    async def on_close(self, removed: bool) -> None:
        self.cancel_timer(self.reconnect_handle)
        closing = []
        if self.client is not None and self.client.transport is not None:
            closing.append(self.client.closed)
            self.client.transport.abort()
        for conn in list(self.clients):
            if conn.transport is not None:
                closing.append(conn.closed)
                conn.transport.close()
        self.clients.clear()
        await self.stop_listening()
        await wait_closed(closing)


# ------------------------------------------------------------------ tcp request
def split_char(value: Any) -> int:
    """The "char" return mode's character code: "\\n"-style escapes, "0x.." hex, else the first character."""
    text = js.js_string(value) if value is not None else ""
    if text.startswith("\\"):
        escapes = {"\\n": 0x0A, "\\r": 0x0D, "\\t": 0x09, "\\e": 0x1B, "\\f": 0x0C, "\\0": 0x00}
        for escape, code in escapes.items():
            if text.startswith(escape):
                return code
        return -1  # parseInt of an unknown escape: NaN, which never matches
    if text[:2] == "0x":
        number = js.parse_int(text)
        return int(number) if number == number else -1
    return ord(text[0]) if text else -1


class RequestConnection(asyncio.Protocol):
    """One connection of a `tcp request` node, to one host:port; messages wait in `queue` while it connects."""

    def __init__(self, node: TcpRequest, key: str, queue_size: int) -> None:
        self.node = node
        self.key = key
        self.queue: deque[tuple[dict, Callable]] = deque(maxlen=queue_size)
        self.last_msg: dict = {}
        self.first_msg: dict = {}
        self.transport: asyncio.Transport | None = None
        self.connected = False
        self.connecting = False
        self.buffer = bytearray()
        self.chunk = ""
        self.timer: asyncio.TimerHandle | None = None
        self.idle: IdleTimer | None = None
        self.closed: asyncio.Future | None = None

    # the connection's life
    def start(self, host: Any, port: Any) -> None:
        self.connecting = True
        self.buffer = bytearray()
        self.chunk = ""
        self.closed = self.node.loop.create_future()
        self.node.create_task(self._connect(host, port))

    async def _connect(self, host: Any, port: Any) -> None:
        try:
            await self.node.loop.create_connection(
                lambda: self, js.js_string(host), int(port), ssl=self.node.ssl
            )
        except (OSError, ValueError, TypeError):
            self.failed()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        node = self.node
        self.transport = transport  # type: ignore[assignment]
        if node.clients.get(self.key) is not self or node.closed:
            transport.abort()
            return
        self.connected, self.connecting = True, False
        node.status({"fill": "green", "shape": "dot", "text": connections_text(len(node.clients))})
        timeout = socket_timeout(node)
        if timeout:
            self.idle = IdleTimer(node, timeout, self.timed_out)
        self.flush()
        if node.immediate:
            self.connected = self.connecting = False
            transport.close()
            node.clients.pop(self.key, None)
            node.status({})

    def flush(self) -> None:
        data = []
        queue = self.queue
        while queue:
            msg, done = queue.popleft()
            payload = msg.get("payload", js.UNDEFINED)
            if payload is not js.UNDEFINED:
                data.append(payload if isinstance(payload, (bytes, bytearray)) else str(payload).encode())
            done()
        if data and self.transport is not None:
            self.transport.write(b"".join(data))

    def failed(self) -> None:
        node = self.node
        self.connected = self.connecting = False
        if node.closed:
            return
        node.status({"fill": "red", "shape": "ring", "text": "common.status.error"})
        node.error(f"connect failed {self.key}", self.first_msg)
        self.drop()

    def drop(self) -> None:
        """Close the connection and forget it (Node-RED's destroy + delete clients[id])."""
        node = self.node
        if node.clients.get(self.key) is self:
            del node.clients[self.key]
        if self.transport is not None:
            self.transport.abort()
            self.transport = None
        node.cancel_timer(self.timer)
        self.timer = None

    def timed_out(self) -> None:
        self.connected = self.connecting = False
        self.node.status({"fill": "grey", "shape": "dot", "text": "tcpin.errors.connect-timeout"})
        if self.transport is not None:
            self.transport.abort()
            self.transport = None

    def eof_received(self) -> bool:
        self.node.status({"fill": "grey", "shape": "ring", "text": "common.status.disconnected"})
        self.connected = self.connecting = False
        self.transport = None
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)
        if self.idle is not None:
            self.idle.cancel()
        if self.transport is not None and exc is not None and self.node.clients.get(self.key) is self:
            self.failed()
            return
        self.connected = self.connecting = False
        self.transport = None

    # replies
    def reply(self, payload: bytes) -> dict:
        msg = clone_message(self.last_msg)
        msg["payload"] = payload.decode("utf-8", "replace") if self.node.ret == "string" else payload
        return msg

    def finish(self, payload: bytes) -> None:
        self.node.send(self.reply(payload))
        if self.transport is not None:
            self.node.status({})
        self.drop()

    def data_received(self, data: bytes) -> None:
        if self.idle is not None:
            self.idle.touch()
        node = self.node
        mode = node.out
        if node.clients.get(self.key) is not self:
            return
        if mode == "sit":
            self.keep(data)
        elif mode == "time":
            self.buffer += data
            if self.timer is None:
                self.timer = node.call_later(node.splitc / 1000, self.time_up)
        elif mode == "count":
            self.buffer += data
            wanted = max(node.splitc, 1)
            if len(self.buffer) >= wanted:
                wanted = int(wanted)
                self.finish(bytes(self.buffer[:wanted]))
        else:
            start = len(self.buffer)
            self.buffer += data
            at = self.buffer.find(node.splitc, start) if 0 <= node.splitc <= 255 else -1
            if at >= 0:
                self.finish(bytes(self.buffer[: at + 1]))

    def time_up(self) -> None:
        self.timer = None
        if self.node.clients.get(self.key) is not self:
            return
        self.node.send(self.reply(bytes(self.buffer)))
        self.buffer = bytearray()
        if self.transport is not None:
            self.node.status({})
            self.drop()

    def keep(self, data: bytes) -> None:
        node = self.node
        if node.ret != "string":
            msg = clone_message(self.last_msg)
            msg["payload"] = bytes(data)
            node.send(msg)
            return
        text = data.decode("utf-8", "replace")
        if not node.newline:
            node.send(self.reply(data))
            return
        pieces = (self.chunk + text).split(node.newline)
        self.chunk = pieces.pop()
        for piece in pieces:
            msg = clone_message(self.last_msg)
            msg["payload"] = piece + node.newline if node.trim else piece
            node.send(msg)


@register_type("tcp request")
class TcpRequest(Node):
    schema = {
        "type": "object",
        "properties": {
            "server": {"type": "string", "description": "host; empty: msg.host"},
            "port": {"type": ["string", "number"], "description": "empty: msg.port"},
            "out": {"enum": ["time", "char", "count", "sit", "immed"], "default": "time"},
            "ret": {"enum": ["buffer", "string", ""], "default": "buffer"},
            "splitc": {"type": ["string", "number"], "description": "ms, byte count or character"},
            "newline": {"type": "string", "description": "sit/string: split on this"},
            "trim": {"type": "boolean", "description": "re-attach the delimiter"},
            "tls": {"type": "string", "description": "id of a tls-config node"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.server = cfg.get("server")
        self.port = parse_port(cfg.get("port"))
        self.out = cfg.get("out")
        self.ret = cfg.get("ret") or "buffer"
        newline = js.js_string(cfg.get("newline")) if cfg.get("newline") else ""
        # Node-RED replaces the first \n, \r and \t escape only
        self.newline = newline.replace("\\n", "\n", 1).replace("\\r", "\r", 1).replace("\\t", "\t", 1)
        self.trim = bool(cfg.get("trim"))
        self.immediate = self.out == "immed"
        if self.immediate:
            self.out, self.splitc = "time", -1
        elif self.out == "char":
            self.splitc = split_char(cfg.get("splitc"))
        else:
            number = js.js_number(cfg.get("splitc")) if cfg.get("splitc") is not None else float("nan")
            self.splitc = number if number == number else 0
        self.ssl = tls_context(self, cfg.get("tls"), server_side=False)
        self.queue_size = int(self.settings.get("tcpMsgQueueSize") or DEFAULT_QUEUE_SIZE)
        self.clients: dict[str, RequestConnection] = {}
        self.last_id: str | None = None

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        payload = msg.get("payload", js.UNDEFINED)
        if payload is None:
            raise TypeError("Cannot read properties of null (reading 'toString')")
        if payload is not js.UNDEFINED and not isinstance(payload, (bytes, bytearray, str)):
            msg["payload"] = js.js_string(payload)
        host = self.server or msg.get("host", js.UNDEFINED)
        port = self.port or msg.get("port", js.UNDEFINED)
        if self.out == "sit" and msg.get("reset"):
            self.reset(msg.get("reset"))
            if "payload" not in msg:
                return  # Node-RED does not complete it either
        key = f"{js.js_string(host)}:{js.js_string(port)}"
        if key != self.last_id:
            self.status({})
            self.last_id = key
        conn = self.clients.get(key)
        if conn is None:
            conn = self.clients[key] = RequestConnection(self, key, self.queue_size)
        conn.queue.append((msg, done))
        conn.last_msg = msg
        if not conn.connecting and not conn.connected:
            conn.first_msg = msg
            if js.js_truthy(host) and js.js_truthy(port):
                conn.start(host, port)
            else:
                self.warn("Host and/or port not set")
        elif conn.connected and not conn.connecting:
            conn.flush()

    def reset(self, which: Any) -> None:
        if which is True:
            for conn in list(self.clients.values()):
                conn.drop()
            self.clients.clear()
        elif isinstance(which, str) and ":" in which and which in self.clients:
            self.clients[which].drop()
        count = len(self.clients)
        self.status(
            {"fill": "green", "shape": "ring" if count == 0 else "dot", "text": connections_text(count)}
        )

    async def on_close(self, removed: bool) -> None:
        closing = [
            conn.closed for conn in self.clients.values() if conn.transport is not None and conn.closed
        ]
        for conn in list(self.clients.values()):
            conn.drop()
        self.clients.clear()
        self.status({})
        await wait_closed(closing)
