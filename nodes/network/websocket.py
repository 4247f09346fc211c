"""WebSocket nodes (Node-RED's 22-websocket.js): `websocket-listener` and `websocket-client`
config nodes, `websocket in` and `websocket out`.

    client --ws--> [websocket-listener /ws] -> [websocket in] -> ... -> [websocket out] --ws--> client

A `websocket-listener` answers WebSocket upgrades on its path on the shared HTTP server (the
port of `http in`). A `websocket-client` keeps one connection to a `ws://` / `wss://` URL, opened
once an in or out node uses it, and opened again 3 s after it closes or fails (Node-RED's fixed
delay). Every received frame becomes a message with `msg._session = {type: "websocket", id}` (the
connection); `websocket out` answers that one connection when the message carries such a session,
else it sends to every client of the listener (or to the client connection).

With `wholemsg` "true" the frame is the whole message as JSON (a frame that is no JSON object
becomes `{payload: value}`); otherwise the frame is the payload: a text frame a string, a binary
frame a Buffer (bytes), and a payload is sent as a binary frame if it is a Buffer, else as text
(`RED.util.ensureString`). An empty string payload is not sent (Node-RED's `if (payload)`).

Limits: a frame larger than the `webSocketNodeMaxPayload` setting (default 100 MiB, the `ws`
library's maxPayload that Node-RED runs with) closes that connection with code 1009 and an error
status; a client that does not read while more than `httpStreamMaxBuffer` bytes (default 4 MB)
wait to be sent to it is dropped with a warning (Node-RED buffers without a bound).

Differences from Node-RED, on purpose: a `websocket-client` URL must start with ws:// or wss://
(Node-RED would silently listen on it as a path instead); a `wholemsg` frame that is JSON null or
an array becomes `{payload: value}` (Node-RED throws / sends an array); `wholemsg` may also be a
boolean; proxies (`http_proxy`) and `webSocketNodeVerifyClient` are not supported.
"""

from __future__ import annotations

import asyncio
import types
from collections import deque
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from flowrt import Node, NodeConfigError, register_type
from flowrt.http.server import parse_size
from flowrt.util import clone_message, ensure_string, generate_id
from flowrt.util import js as jsv

#: Seconds before a websocket-client connects again after a close or a failed attempt.
RECONNECT_DELAY = 3.0
#: Default of `webSocketNodeMaxPayload`: the `ws` library's maxPayload (100 MiB).
DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024
DEFAULT_MAX_UNSENT = 4 * 1024 * 1024
SEND_ERROR = "An error occurred while sending: "
CONNECT_ERROR = "An error occurred on the ws connection: "
MISSING_CONFIG = "Missing server configuration"
CLOSE_TIMEOUT = 2.0  # seconds a peer has to answer our close frame
STOPPING_CLOSE_CODE = 1001  # going away
TOO_SLOW_CLOSE_CODE = 1008  # policy violation: the peer does not read

_BOOL_STRING = {"enum": ["true", "false", True, False, ""]}


class NotOpenError(ConnectionError):
    def __str__(self) -> str:
        return "Error: WebSocket is not open"


class Connection:
    """One open WebSocket. A frame is written at once, without a task (the hot path); only while
    the transport is paused (a slow peer) do frames wait in `pending`, written by one task; more
    than `max_unsent` bytes waiting drops the peer."""

    __slots__ = ("id", "ws", "owner", "pending", "unsent", "writer", "dropped", "transport")

    def __init__(self, conn_id: str, ws: Any, owner: WebSocketConfig, transport: Any = None) -> None:
        self.id = conn_id
        self.transport = transport  # the server side's TCP transport, to abort a peer that does not read
        self.ws = ws
        self.owner = owner
        self.pending: deque[tuple[bytes, WSMsgType]] = deque()
        self.unsent = 0
        self.writer: asyncio.Task | None = None
        self.dropped = False  # closed by us for not reading: what is sent to it is discarded

    def send(self, data: bytes, opcode: WSMsgType) -> None:
        if self.dropped:
            return
        if self.ws.closed:
            raise NotOpenError()
        self.pending.append((data, opcode))
        self.unsent += len(data)
        limit = self.owner.max_unsent
        if limit and self.unsent > limit:
            self.pending.clear()
            self.unsent = 0
            self.dropped = True
            self.owner.warn(
                f"dropped WebSocket connection {self.id}: the peer does not read "
                f"(more than {limit} bytes unsent, httpStreamMaxBuffer)"
            )
            self.owner.create_task(self.close(TOO_SLOW_CLOSE_CODE))
            return
        if self.writer is None:
            self._write_now()

    async def close(self, code: int) -> None:
        """Close with `code`; a peer that does not take the close frame within CLOSE_TIMEOUT is cut off
        (the close frame cannot be written to a peer that does not read)."""
        try:
            await asyncio.wait_for(self.ws.close(code=code), CLOSE_TIMEOUT)
        except (TimeoutError, ConnectionError):
            if self.transport is not None:
                self.transport.abort()

    def _write_now(self) -> None:
        """Write the first pending frame without a task: aiohttp's send_frame only suspends when the
        transport is paused (the peer reads slowly); then a task finishes it and what follows."""
        data, opcode = self.pending.popleft()
        self.unsent -= len(data)
        step = self.ws.send_frame(data, opcode)
        try:
            waiting_on = step.send(None)
        except StopIteration:
            if self.pending:  # frames queued while writing (none today: send_frame does not call back)
                self.writer = self.owner.create_task(self._flush())
            return
        except (ConnectionError, RuntimeError):
            self.pending.clear()
            self.unsent = 0
            return
        self.writer = self.owner.create_task(self._flush(_resume(step, waiting_on)))

    async def _flush(self, started: Any = None) -> None:
        pending = self.pending
        try:
            if started is not None:
                await started
            while pending:
                data, opcode = pending.popleft()
                self.unsent -= len(data)
                await self.ws.send_frame(data, opcode)
        except (ConnectionError, RuntimeError):  # the peer went away: what is left is lost with it
            pending.clear()
            self.unsent = 0
        finally:
            self.writer = None


class ServerConnection(Connection):
    """A listener's connection: server frames are unmasked and uncompressed, so they are built here
    and the frames of one loop turn go out in one write (one system call, not one per frame)."""

    __slots__ = ("batch",)

    def __init__(self, conn_id: str, ws: Any, owner: WebSocketConfig, transport: Any) -> None:
        super().__init__(conn_id, ws, owner, transport)
        self.batch: list[bytes] | None = None

    def send(self, data: bytes, opcode: WSMsgType) -> None:
        if self.dropped:
            return
        transport = self.transport
        if self.ws.closed or transport is None or transport.is_closing():
            raise NotOpenError()
        size = len(data)
        if size < 126:
            head = bytes((0x80 | opcode, size))
        elif size < 65536:
            head = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
        if self.batch is None:
            self.batch = [head, data]
            self.owner.loop.call_soon(self._write_batch)
        else:
            self.batch += (head, data)

    def _write_batch(self) -> None:
        batch, self.batch = self.batch, None
        transport = self.transport
        if not batch or self.dropped or self.ws.closed or transport.is_closing():
            return
        transport.write(b"".join(batch))
        limit = self.owner.max_unsent
        if limit and transport.get_write_buffer_size() > limit:
            self.dropped = True
            self.owner.warn(
                f"dropped WebSocket connection {self.id}: the peer does not read "
                f"(more than {limit} bytes unsent, httpStreamMaxBuffer)"
            )
            transport.abort()  # a close frame would wait behind what the peer does not read


@types.coroutine
def _resume(step: Any, waiting_on: Any) -> Any:
    """Go on with a coroutine already stepped once by hand, which waits on `waiting_on`
    (what `await` would do had a task started it)."""
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            step.close()
            raise
        except BaseException as err:
            try:
                waiting_on = step.throw(err)
            except StopIteration:
                return
        else:
            try:
                waiting_on = step.send(sent)
            except StopIteration:
                return


def _frame(data: str | bytes) -> tuple[bytes, WSMsgType]:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass"), WSMsgType.TEXT
    return bytes(data), WSMsgType.BINARY


def _bool_setting(value: Any) -> bool:
    return value is True or value == "true"


def _subprotocols(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


class WebSocketConfig(Node):
    """What the listener and the client share: the nodes using them, events, frames to messages."""

    is_server = True

    def __init__(self, config: dict, flow: Any) -> None:
        super().__init__(config, flow)
        self.input_nodes: list[Node] = []
        self.watchers: list[WebSocketEndpoint] = []  # in and out nodes: they show the status
        self.path = config.get("path")
        self.wholemsg = _bool_setting(config.get("wholemsg"))
        self.subprotocol = _subprotocols(config.get("subprotocol"))
        self.closing = False

    def read_limits(self) -> None:
        try:
            self.max_payload = parse_size(
                self.settings.get("webSocketNodeMaxPayload", DEFAULT_MAX_PAYLOAD), "webSocketNodeMaxPayload"
            )
            self.max_unsent = parse_size(
                self.settings.get("httpStreamMaxBuffer", DEFAULT_MAX_UNSENT), "httpStreamMaxBuffer"
            )
        except ValueError as err:
            raise NodeConfigError(str(err)) from None

    # ----- the nodes using this connection -----------------------------------
    def register_input(self, node: Node) -> None:
        self.input_nodes.append(node)
        self.use()

    def watch(self, node: WebSocketEndpoint) -> None:
        self.watchers.append(node)

    def release(self, node: Node) -> None:
        if node in self.input_nodes:
            self.input_nodes.remove(node)
        if node in self.watchers:
            self.watchers.remove(node)

    def use(self) -> None:
        """An in or out node uses this config (a client connects on first use)."""

    # ----- events (Node-RED's opened / erro / closed) -------------------------
    def _emit(self, status: dict) -> None:
        for node in list(self.watchers):
            node.status(dict(status))

    def _event_opened(self, conn_id: str, count: Any) -> None:
        self._emit(_connected_status(count, "connect", conn_id))

    def _event_closed(self, conn_id: str, count: Any) -> None:
        if self.closing:
            return
        if isinstance(count, int) and count > 0:
            self._emit(_connected_status(count, "disconnect", conn_id))
        else:
            self._emit(
                {
                    "fill": "red",
                    "shape": "ring",
                    "text": "common.status.disconnected",
                    "event": "disconnect",
                    "_session": {"type": "websocket", "id": conn_id},
                }
            )

    def _event_error(self, conn_id: str, err: Any) -> None:
        if self.closing:
            return
        self._emit(
            {
                "fill": "red",
                "shape": "ring",
                "text": "common.status.error",
                "event": "error",
                "_session": {"type": "websocket", "id": conn_id},
            }
        )

    # ----- frames in ------------------------------------------------------------
    def message_for(self, data: str | bytes, conn_id: str) -> dict:
        if self.wholemsg:
            try:
                value = jsv.js_json_loads(data)
            except (ValueError, RecursionError):
                value = data
                msg = {"payload": value}
            else:
                msg = value if isinstance(value, dict) else {"payload": value}
        else:
            msg = {"payload": data}
        msg["_session"] = {"type": "websocket", "id": conn_id}
        return msg

    def deliver(self, data: str | bytes, conn_id: str) -> None:
        nodes = self.input_nodes
        if not nodes:
            return
        msg = self.message_for(data, conn_id)
        nodes[0].send(msg)
        for node in nodes[1:]:
            node.send(clone_message(msg))

    async def pump(self, ws: Any, conn_id: str) -> None:
        """Read frames until the connection closes; a protocol error is an error event."""
        while True:
            item = await ws.receive()
            kind = item.type
            if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
                self.deliver(item.data, conn_id)
            elif kind is WSMsgType.ERROR:
                self._event_error(conn_id, item.data)
                if not self.closing:
                    if getattr(item.data, "code", None) == 1009:  # aiohttp's "Message size ... exceeds limit"
                        text = (
                            "RangeError: Max payload size exceeded "
                            f"(more than {self.max_payload} bytes, webSocketNodeMaxPayload)"
                        )
                    else:
                        text = _error_text(item.data)
                    self.warn(f"{CONNECT_ERROR}{text}")
                if not ws.closed:
                    await ws.close()
                return
            elif kind in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return

    # ----- frames out -------------------------------------------------------------
    def broadcast(self, data: str | bytes) -> None:
        raise NotImplementedError

    def reply(self, conn_id: str, data: str | bytes) -> None:
        """Node-RED answers a session only among a listener's clients; errors are swallowed."""


def _connected_status(count: Any, event: str, conn_id: str) -> dict:
    return {
        "fill": "green",
        "shape": "dot",
        "text": f"connected {count}",
        "event": event,
        "_session": {"type": "websocket", "id": conn_id},
    }


def _error_text(err: Any) -> str:
    if isinstance(err, aiohttp.ServerTimeoutError):
        return "Error: timeout"
    text = str(err) or type(err).__name__
    return text if text.startswith("Error") else f"Error: {text}"


@register_type("websocket-listener")
class WebSocketListener(WebSocketConfig):
    schema = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "minLength": 1,
                "description": "path on the HTTP server (under httpNodeRoot)",
                "x-fatal": True,
            },
            "wholemsg": {**_BOOL_STRING, "description": '"true": frames are whole messages as JSON'},
        },
        "required": ["path"],
    }

    def setup(self) -> None:
        self.read_limits()
        self.clients: dict[str, ServerConnection] = {}
        path = self.path
        if not isinstance(path, str) or not path:
            raise NodeConfigError("missing path")
        http = self._http()
        if http is None:
            raise NodeConfigError("the HTTP server is disabled: cannot listen for WebSocket connections")
        try:
            self.full_path = http.add_websocket(path, self._upgrade, owner=self)
        except ValueError:
            raise NodeConfigError(f"Cannot have two WebSocket listeners on the same path: {path}") from None
        self.http = http

    def _http(self) -> Any:
        """The shared HTTP server (the one place this module reaches it)."""
        return self.runtime.http

    async def _upgrade(self, request: web.BaseRequest) -> web.StreamResponse:
        if self.closing or self.runtime.stopping:
            return web.Response(status=503, text="Service Unavailable: the server is stopping\n")
        offered = _subprotocols(request.headers.get("Sec-WebSocket-Protocol"))
        # As the ws library's server: the client's first protocol is accepted.
        ws = web.WebSocketResponse(protocols=offered[:1], max_msg_size=self.max_payload + 1, compress=False)
        await ws.prepare(request)
        conn = ServerConnection(generate_id(), ws, self, request.transport)
        self.clients[conn.id] = conn
        self._event_opened(conn.id, len(self.clients))
        try:
            await self.pump(ws, conn.id)
        finally:
            self.clients.pop(conn.id, None)
            self._event_closed(conn.id, len(self.clients))
        return ws

    def broadcast(self, data: str | bytes) -> None:
        frame, opcode = _frame(data)
        for conn in list(self.clients.values()):
            try:
                conn.send(frame, opcode)
            except ConnectionError as err:
                self.warn(f"{SEND_ERROR} {conn.id} {err}")

    def reply(self, conn_id: str, data: str | bytes) -> None:
        conn = self.clients.get(conn_id)
        if conn is not None:
            try:
                conn.send(*_frame(data))
            except ConnectionError:
                pass

    async def on_close(self, removed: bool) -> None:
        self.closing = True
        self.http.remove_routes(self)
        self.input_nodes.clear()
        self.watchers.clear()
        conns = list(self.clients.values())
        await asyncio.gather(*(conn.close(STOPPING_CLOSE_CODE) for conn in conns), return_exceptions=True)


@register_type("websocket-client")
class WebSocketClient(WebSocketConfig):
    is_server = False
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "ws:// or wss:// URL", "x-fatal": True},
            "tls": {"type": "string", "description": "id of a tls-config node"},
            "wholemsg": {**_BOOL_STRING, "description": '"true": frames are whole messages as JSON'},
            "hb": {
                "type": ["string", "number"],
                "description": "heartbeat (ping) interval in seconds; empty: none",
            },
            "subprotocol": {"type": "string", "description": "comma-separated subprotocols"},
            "headers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "keyType": {"type": "string"},
                        "keyValue": {"type": "string"},
                        "valueType": {"type": "string"},
                        "valueValue": {"type": "string"},
                    },
                },
                "description": "headers of the upgrade request",
            },
        },
        "required": ["path"],
    }

    def setup(self) -> None:
        self.read_limits()
        url = self.path
        if not isinstance(url, str) or not url.lower().startswith(("ws://", "wss://")):
            raise NodeConfigError(f"the URL must start with ws:// or wss://, not {url!r}")
        self.url = url
        self.heartbeat: float | None = None
        hb = jsv.parse_int(self.config.get("hb")) if self.config.get("hb") not in (None, "") else 0
        if isinstance(hb, int) and hb > 0:
            self.heartbeat = float(hb)
        self.ssl: Any = True
        tls_id = self.config.get("tls")
        if tls_id:
            tls = self.runtime.get_node(tls_id) if isinstance(tls_id, str) else None
            context = getattr(tls, "context", None)
            if context is None:
                raise NodeConfigError(f"tls-config node {jsv.js_string(tls_id)!r} (property tls) is missing")
            self.ssl = context
        self.upgrade_headers = self._headers(self.config.get("headers"))
        self.connection: Connection | None = None
        self._task: asyncio.Task | None = None

    def _headers(self, items: Any) -> dict[str, str]:
        headers: dict[str, str] = {}
        if not isinstance(items, list):
            return headers
        for item in items:
            if not isinstance(item, dict):
                continue
            key_type = item.get("keyType")
            name = item.get("keyValue") if key_type == "other" else key_type
            value_type = item.get("valueType")
            if value_type == "other":
                value = item.get("valueValue")
            elif value_type == "env":
                value = self.evaluate(item.get("valueValue"), "env")
            else:
                value = value_type
            if name and value:
                headers[str(name)] = jsv.js_string(value)
        return headers

    def use(self) -> None:
        if self._task is None and not self.closing:
            self._task = self.create_task(self._run())

    async def _run(self) -> None:
        reported = False  # one warning per outage, not one per attempt
        async with aiohttp.ClientSession() as session:
            while not self.closing:
                conn_id = generate_id()
                try:
                    ws = await session.ws_connect(
                        self.url,
                        protocols=self.subprotocol,
                        headers=self.upgrade_headers,
                        heartbeat=self.heartbeat,
                        max_msg_size=self.max_payload + 1,
                        ssl=self.ssl,
                    )
                except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
                    if not reported:
                        self.warn(f"{CONNECT_ERROR}{_error_text(err)} ({self.url})")
                        reported = True
                    self._event_error(conn_id, err)
                    self._event_closed(conn_id, "")
                    await asyncio.sleep(RECONNECT_DELAY)
                    continue
                reported = False
                self.connection = Connection(conn_id, ws, self)
                self._event_opened(conn_id, "")
                try:
                    await self.pump(ws, conn_id)
                finally:
                    self.connection = None
                    if not ws.closed:
                        await ws.close()
                self._event_closed(conn_id, "")
                if not self.closing:
                    await asyncio.sleep(RECONNECT_DELAY)

    def broadcast(self, data: str | bytes) -> None:
        conn = self.connection
        try:
            if conn is None:
                raise NotOpenError()
            conn.send(*_frame(data))
        except ConnectionError as err:
            self.warn(f"{SEND_ERROR} {err}")

    async def on_close(self, removed: bool) -> None:
        self.closing = True
        self.input_nodes.clear()
        self.watchers.clear()
        conn = self.connection
        if conn is not None:
            await conn.close(STOPPING_CLOSE_CODE)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class WebSocketEndpoint(Node):
    """`websocket in` / `websocket out`: the config node they use shows its events as their status."""

    ws_config: WebSocketConfig | None = None

    schema = {
        "type": "object",
        "properties": {
            "server": {"type": "string", "description": "id of a websocket-listener"},
            "client": {"type": "string", "description": "id of a websocket-client"},
        },
    }

    def find_config(self) -> WebSocketConfig | None:
        config_id = self.config.get("client") or self.config.get("server")
        found = self.runtime.get_node(config_id) if isinstance(config_id, str) and config_id else None
        if not isinstance(found, WebSocketConfig) or found.closing:
            self.error(MISSING_CONFIG)
            return None
        found.watch(self)
        return found

    def on_close(self, removed: bool) -> None:
        if self.ws_config is not None:
            self.ws_config.release(self)
        self.status({})


@register_type("websocket in")
class WebSocketIn(WebSocketEndpoint):
    def setup(self) -> None:
        self.ws_config = self.find_config()
        if self.ws_config is not None:
            self.ws_config.register_input(self)


@register_type("websocket out")
class WebSocketOut(WebSocketEndpoint):
    def setup(self) -> None:
        self.ws_config = self.find_config()
        if self.ws_config is not None:
            self.ws_config.use()

    def on_input(self, msg: dict, send: Any, done: Any) -> None:
        config = self.ws_config
        if config is None:
            done()
            return
        if config.wholemsg:
            payload: str | bytes | None = jsv.js_json_dumps({k: v for k, v in msg.items() if k != "_session"})
        elif "payload" in msg:
            value = msg["payload"]
            payload = bytes(value) if isinstance(value, (bytes, bytearray)) else ensure_string(value)
        else:
            payload = None
        if payload is not None and (payload != "" or isinstance(payload, bytes)):
            session = msg.get("_session")
            if isinstance(session, dict) and session.get("type") == "websocket":
                config.reply(session.get("id"), payload)
            else:
                config.broadcast(payload)
        done()
