"""The editor's `/comms` WebSocket: status, debug and runtime notices pushed to every open editor.

As Node-RED's `editor-api/lib/editor/comms.js`: every frame is a JSON array of `{topic, data}`; a
connection gets every published message (the client filters), at most 50 per frame and one frame per
50 ms; `{"subscribe": pattern}` replays the retained messages matching the pattern; a heartbeat
`{"topic": "hb"}` goes out when nothing was sent for `webSocketKeepAliveTime` ms. Each connection's
queue is bounded (a slow editor loses its oldest messages, counted, never the runtime's memory).
With adminAuth a connection gets nothing until its first message authenticates it (`{"auth": token}`,
or any message when there is an anonymous default user), and is closed with `{"auth":"fail"}` when
its login ends.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from flowrt.editor.auth import has_permission

FRAME_MESSAGES = 50
FRAME_INTERVAL = 0.05
QUEUE_LIMIT = 1000


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT-style match, as the editor's RED.comms: `+` one level, a trailing `/#` (or `#`) the rest."""
    if pattern in ("#", topic):
        return True
    regex = re.escape(pattern).replace(r"\+", "[^/]+")
    if regex.endswith("/\\#"):
        regex = regex[:-3] + "(/.*)?"
    return re.fullmatch(regex, topic) is not None


class _Connection:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.token: str | None = None  # the login session it authenticated with (adminAuth)
        self.queue: deque[dict] = deque(maxlen=QUEUE_LIMIT)
        self.dropped = 0
        self.wake = asyncio.Event()

    def push(self, message: dict) -> None:
        if len(self.queue) == QUEUE_LIMIT:
            self.dropped += 1
        self.queue.append(message)
        self.wake.set()


class CommsHub:
    def __init__(self, keepalive_ms: float = 15000, allowed_origin: Any = None) -> None:
        self.retained: dict[str, Any] = {}
        self.connections: set[_Connection] = set()
        self.keepalive = max(float(keepalive_ms), 100.0) / 1000.0
        self.allowed_origin = allowed_origin  # callable(origin) -> bool, or None for any
        self.auth: Any = None  # an auth.AdminAuth when adminAuth is set: connections authenticate first

    @property
    def active(self) -> bool:
        return bool(self.connections)

    def publish(self, topic: str, data: Any, retain: bool = False) -> None:
        if retain:
            self.retained[topic] = data
        elif data in (None, {}):  # an empty unretained message clears the retained one (status)
            self.retained.pop(topic, None)
        if not self.connections:
            return
        message = {"topic": topic, "data": data}
        for connection in self.connections:
            connection.push(message)

    def forget(self, topic: str) -> None:
        self.retained.pop(topic, None)

    async def handle(self, request: web.BaseRequest, params: dict | None = None) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and self.allowed_origin is not None and not self.allowed_origin(origin):
            return web.Response(status=403, text=f"origin {origin} is not allowed\n")
        ws = web.WebSocketResponse(max_msg_size=1024 * 1024)
        await ws.prepare(request)
        connection = _Connection(ws)
        pending = self.auth is not None  # with adminAuth it gets nothing until it authenticates
        if not pending:
            self.connections.add(connection)
        sender = asyncio.get_running_loop().create_task(self._send_loop(connection))
        try:
            async for frame in ws:
                if (
                    frame.type == WSMsgType.TEXT
                    and self.auth is not None
                    and (pending or _is_auth(frame.data))
                ):
                    pending = not await self._authenticate(connection, frame.data)
                elif frame.type == WSMsgType.TEXT:
                    await self._received(connection, frame.data)
                elif frame.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.connections.discard(connection)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            if not ws.closed:
                await ws.close()
        return ws

    async def _authenticate(self, connection: _Connection, text: str) -> bool:
        """The first message under adminAuth, as Node-RED's comms: `{"auth": token}` with a token
        whose scope allows `status.read` gets `{"auth":"ok"}`; any other message is taken as the
        anonymous user's (adminAuth.default) if there is one; else `{"auth":"fail"}` and close."""
        message = _parse(text)
        if message is None:
            return False  # Node-RED ignores frames it cannot parse
        token = message.get("auth")
        if token is not None:
            found = await self.auth.user_of_token(token) if isinstance(token, str) else None
        else:
            anonymous = await self.auth.users.default()
            found = (anonymous, anonymous.get("permissions")) if isinstance(anonymous, dict) else None
        if found is None or not isinstance(found[0], dict) or not has_permission(found[1], "status.read"):
            await connection.ws.send_str(json.dumps({"auth": "fail"}))
            await connection.ws.close()
            return False
        if token is not None:
            if self.auth.tokens.get(token) is not None:  # a login session, which can expire
                connection.token = token
            connection.push({"auth": "ok"})
        self.connections.add(connection)
        if token is None:
            await self._received(connection, text)
        return True

    async def _received(self, connection: _Connection, text: str) -> None:
        message = _parse(text)
        if message is None:
            return  # Node-RED ignores frames it cannot parse
        pattern = message.get("subscribe")
        if isinstance(pattern, str):
            for topic, data in list(self.retained.items()):
                if topic_matches(pattern, topic):
                    connection.push({"topic": topic, "data": data})
        elif "auth" in message:
            connection.push({"auth": "ok"})  # no adminAuth (or authenticated already)

    def _session_ended(self, connection: _Connection) -> bool:
        """Whether the login the connection authenticated with has expired (or was revoked)."""
        return connection.token is not None and self.auth.tokens.get(connection.token) is None

    async def _send_loop(self, connection: _Connection) -> None:
        ws = connection.ws
        last_sent = time.monotonic()
        while not ws.closed:
            try:
                await asyncio.wait_for(connection.wake.wait(), timeout=self.keepalive)
            except TimeoutError:
                if connection not in self.connections:
                    continue  # not authenticated yet: no heartbeat either
                if self.auth is not None and self._session_ended(connection):
                    await ws.send_str(json.dumps({"auth": "fail"}))  # the editor shows its login
                    await ws.close()
                    return
                if time.monotonic() - last_sent >= self.keepalive:
                    await ws.send_str(json.dumps([{"topic": "hb", "data": int(time.time() * 1000)}]))
                    last_sent = time.monotonic()
                continue
            connection.wake.clear()
            while connection.queue:
                batch = []
                while connection.queue and len(batch) < FRAME_MESSAGES:
                    batch.append(connection.queue.popleft())
                auth = [m for m in batch if "auth" in m]
                for m in auth:
                    await ws.send_str(json.dumps(m))
                batch = [m for m in batch if "auth" not in m]
                if batch:
                    await ws.send_str(json.dumps(batch, default=str))
                last_sent = time.monotonic()
                if connection.queue:
                    await asyncio.sleep(FRAME_INTERVAL)


def _is_auth(text: str) -> bool:
    message = _parse(text)
    return message is not None and "auth" in message


def _parse(text: str) -> dict | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
