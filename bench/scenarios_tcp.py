"""TCP scenarios: round trips through Node-RED's tcp nodes, flowrt vs Node-RED on the same flow file.

- tcp-request: a client sends a line to `tcp in` (server, port 17811); `tcp request` (return when "\\n"
  arrives, a new connection per request, as the node works) asks an echo server the bench runs on
  port 17812; `tcp out` (reply) answers the client's session. One client, one line in flight: the
  node keeps one connection per host:port and answers with the latest message, so it is serial.
- tcp-echo: `tcp in` -> `tcp out` (reply) on port 17813, 50 clients each with one line in flight.

The metric is round trips per second seen by the clients (p50/p99 of one round trip shown).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from scenarios import Scenario

FLOWS = Path(__file__).resolve().parent / "flows"
HOST = "127.0.0.1"
LINE = b"ping 0123456789abcdef\n"

SCENARIOS = [
    Scenario(
        "tcp-request",
        "tcp in -> tcp request (to an echo server, until \\n) -> tcp out (reply), 1 client",
        "tcp_round_trips",
        FLOWS / "tcp_request.json",
        "node-red",
        FLOWS / "tcp_request.json",
        "rt_s",
        "higher",
        ">= 1.5",
        ("p50_ms", "p99_ms"),
        {"port": 17811, "echo_port": 17812, "connections": 1},
    ),
    Scenario(
        "tcp-echo",
        "tcp in -> tcp out (reply to the session), 50 clients",
        "tcp_round_trips",
        FLOWS / "tcp_echo.json",
        "node-red",
        FLOWS / "tcp_echo.json",
        "rt_s",
        "higher",
        ">= 1.5",
        ("p50_ms", "p99_ms"),
        {"port": 17813, "connections": 50},
    ),
]


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _connect(port: int, timeout: float = 10.0):
    deadline = time.perf_counter() + timeout
    while True:
        try:
            return await asyncio.open_connection(HOST, port)
        except OSError:
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.05)


async def _client(port: int, start_at: float, end_at: float, latencies: list[float]) -> int:
    reader, writer = await _connect(port)
    done = 0
    try:
        while (now := time.perf_counter()) < end_at:
            writer.write(LINE)
            line = await asyncio.wait_for(reader.readline(), 10.0)
            if line != LINE:
                raise RuntimeError(f"the flow answered {line[:80]!r}, not {LINE!r}")
            if now >= start_at:
                latencies.append(time.perf_counter() - now)
                done += 1
    finally:
        writer.close()
    return done


async def measure_tcp_round_trips(scenario: Scenario, server, settings) -> dict:
    params = scenario.params
    echo = None
    if params.get("echo_port"):
        echo = await asyncio.start_server(_echo, HOST, params["echo_port"], reuse_address=True)
    try:
        await _client(params["port"], 0, time.perf_counter() + 0.001, [])  # probe: one round trip
        count = settings.connections or params["connections"]
        start_at = time.perf_counter() + settings.warmup
        end_at = start_at + settings.duration
        latencies: list[float] = []
        results = await asyncio.gather(
            *(_client(params["port"], start_at, end_at, latencies) for _ in range(count))
        )
    finally:
        if echo is not None:
            echo.close()
            await echo.wait_closed()
    total = sum(results)
    if total == 0:
        raise RuntimeError("no round trip completed under load")
    latencies.sort()
    return {
        "rt_s": total / settings.duration,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rss_kb": server.rss_kb(),
    }


MEASURES = {"tcp_round_trips": measure_tcp_round_trips}
