"""WebSocket scenarios (issue 14): echo messages/s with 100 clients, RSS per open connection.

Both runtimes run bench/flows/websocket_echo.json (websocket in -> websocket out on /ws). The
clients are raw asyncio protocols, not a WebSocket library, so the load generator costs little
next to the server: each client does the upgrade by hand, then keeps `window` small text frames in
flight (pre-built, masked with a zero key as RFC 6455 allows) and sends one more per echo it
reads.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from pathlib import Path

from scenarios import Scenario  # defined before bench/scenarios.py loads this module

HOST = "127.0.0.1"
ECHO_FLOW = Path(__file__).resolve().parent / "flows" / "websocket_echo.json"
PAYLOAD = b'{"n":1,"text":"hello websocket"}'
FRAME = bytes([0x81, 0x80 | len(PAYLOAD)]) + b"\x00\x00\x00\x00" + PAYLOAD  # masked, key 0


class EchoClient(asyncio.Protocol):
    """One connection: upgrade, then count the echoed frames and keep `window` in flight."""

    def __init__(self, path: str, window: int) -> None:
        self.path = path
        self.window = window
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded: asyncio.Future = asyncio.get_running_loop().create_future()
        self.received = 0
        self.sending = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:  # no Nagle delay on the small frames (as browsers and ws do)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if not self.upgraded.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            head, buffer = buffer[:end], buffer[end + 4 :]
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(head[:80].decode(errors="replace")))
                return
            self.upgraded.set_result(None)
        frames = 0
        while len(buffer) >= 2:  # server frames are unmasked; the echo is short
            length = buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                break
            if buffer[0] & 0x0F in (0x1, 0x2):
                frames += 1
            buffer = buffer[start + length :]
        self.buffer = buffer
        if frames:
            self.received += frames
            if self.sending and self.transport is not None:
                self.transport.write(FRAME * frames)

    def start(self) -> None:
        self.sending = True
        assert self.transport is not None
        self.transport.write(FRAME * self.window)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError(f"closed before the upgrade: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _connect(port: int, path: str, count: int, window: int, parallel: int = 100) -> list[EchoClient]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(parallel)

    async def one() -> EchoClient:
        async with gate:
            _, client = await loop.create_connection(lambda: EchoClient(path, window), HOST, port)
            await asyncio.wait_for(client.upgraded, 10)
            return client

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    clients = [r for r in results if isinstance(r, EchoClient)]
    failed = [r for r in results if not isinstance(r, EchoClient)]
    if failed:
        for client in clients:
            client.close()
        raise RuntimeError(f"{len(failed)} of {count} WebSocket connections failed: {failed[0]!r}")
    return clients


async def measure_ws_echo(scenario: Scenario, server, settings) -> dict:
    params = scenario.params
    clients = await _connect(server.port, params["path"], params["clients"], params["window"])
    try:
        for client in clients:
            client.start()
        await asyncio.sleep(settings.warmup)
        before = sum(c.received for c in clients)
        started = time.perf_counter()
        await asyncio.sleep(settings.duration)
        elapsed = time.perf_counter() - started
        count = sum(c.received for c in clients) - before
        starved = sum(1 for c in clients if c.received == 0)
    finally:
        for client in clients:
            client.close()
    if count == 0:
        raise RuntimeError("no echo came back")
    return {
        "msgs_s": round(count / elapsed, 1),
        "clients": len(clients),
        "starved_clients": starved,
        "rss_kb": server.rss_kb(),
    }


async def measure_ws_rss(scenario: Scenario, server, settings) -> dict:
    params = scenario.params
    count = 200 if settings.quick else params["connections"]
    warm = await _connect(server.port, params["path"], 1, 0)  # lazy set-up does not count per connection
    await asyncio.sleep(settings.settle / 2)
    before = server.rss_kb()
    clients = await _connect(server.port, params["path"], count, 0)
    try:
        await asyncio.sleep(settings.settle)
        after = server.rss_kb()
    finally:
        for client in clients + warm:
            client.close()
    return {
        "connections": count,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "rss_per_conn_kb": round((after - before) / count, 2),
    }


SCENARIOS = [
    Scenario(
        "ws-echo",
        "WebSocket echo (websocket in -> websocket out), 100 clients, 8 frames in flight each",
        "ws_echo",
        ECHO_FLOW,
        "node-red",
        ECHO_FLOW,
        "msgs_s",
        "higher",
        ">= 2.0",
        ("starved_clients",),
        {"path": "/ws", "clients": 100, "window": 8},
    ),
    Scenario(
        "ws-rss",
        "RSS per open WebSocket connection, 1,000 idle connections",
        "ws_rss",
        ECHO_FLOW,
        "node-red",
        ECHO_FLOW,
        "rss_per_conn_kb",
        "lower",
        "<= 0.3",
        ("rss_before_kb", "rss_after_kb"),
        {"path": "/ws", "connections": 1000},
    ),
]

MEASURES = {"ws_echo": measure_ws_echo, "ws_rss": measure_ws_rss}
