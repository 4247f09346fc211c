"""MQTT scenarios: `mqtt in -> change -> mqtt out` through one mosquitto, flowrt vs Node-RED.

Both runtimes run the same flow file (bench/flows/mqtt_qos0.json, mqtt_qos1.json): an `mqtt in`
on bench/in, a `change` setting msg.topic to bench/out, an `mqtt out`. The broker's port reaches
both through the environment (`${FLOWRT_BENCH_MQTT_PORT}` in the flow). One mosquitto is started
for the whole bench run (on first use) and stopped at exit.

The load comes from this process: a publisher on bench/in and a subscriber on bench/out, each a
minimal MQTT 3.1.1 client on asyncio streams (RawClient) so that the generator costs little. Throughput keeps WINDOW messages in flight end to end (the publisher waits for the
subscriber when WINDOW are outstanding), so neither runtime nor the broker drops or queues
without bound; messages/s is what arrived at bench/out over the measured window. Latency sends
one message at a time and times each round trip publisher -> flow -> subscriber.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

# bench/scenarios.py imports this module half-way through its own import: only names defined
# above its scenario table are there yet.
from scenarios import OWN_FLOWS, Scenario

if TYPE_CHECKING:
    from scenarios import Settings

PORT_ENV = "FLOWRT_BENCH_MQTT_PORT"
WINDOW = 100
IN_TOPIC, OUT_TOPIC = "bench/in", "bench/out"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


os.environ.setdefault(PORT_ENV, str(_free_port()))
_broker: subprocess.Popen | None = None


def ensure_broker() -> int:
    """Start mosquitto on $FLOWRT_BENCH_MQTT_PORT once per bench run; returns the port."""
    global _broker
    port = int(os.environ[PORT_ENV])
    if _broker is not None and _broker.poll() is None:
        return port
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe):
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    conf = Path(tempfile.mkdtemp(prefix="flowrt-bench-mqtt-")) / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nset_tcp_nodelay true\n"
    )
    _broker = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(_broker.terminate)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def _text(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


class RawClient:
    """A minimal MQTT 3.1.1 client on asyncio streams: the load generator must cost less than what
    it measures, and paho in Python threads did not (both runtimes topped out at its speed)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.on_publish = None  # called with (payload bytes) for each PUBLISH received
        self._acks: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._next_id = 0

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _text("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big") + _text(self.name)
        self.writer.write(_packet(0x10, body))
        self._task = asyncio.get_running_loop().create_task(self._read())
        kind, _ = await asyncio.wait_for(self._acks.get(), 10)
        if kind != 0x20:
            raise RuntimeError(f"expected CONNACK, got packet type {kind:#x}")

    async def subscribe(self, topic: str, qos: int) -> None:
        self.writer.write(_packet(0x82, (1).to_bytes(2, "big") + _text(topic) + bytes([qos])))
        kind, _ = await asyncio.wait_for(self._acks.get(), 10)
        if kind != 0x90:
            raise RuntimeError(f"expected SUBACK, got packet type {kind:#x}")

    def publish_packet(self, topic: str, payload: bytes, qos: int) -> bytes:
        if not qos:
            return _packet(0x30, _text(topic) + payload)
        self._next_id = self._next_id % 65535 + 1
        return _packet(0x32, _text(topic) + self._next_id.to_bytes(2, "big") + payload)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def _read(self) -> None:
        reader = self.reader
        buffer = bytearray()
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                return
            buffer += chunk
            pos = 0
            acks = []
            while True:
                if len(buffer) - pos < 2:
                    break
                first = buffer[pos]
                length, shift, i = 0, 0, pos + 1
                while i < len(buffer):
                    byte = buffer[i]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    i += 1
                    if not byte & 0x80:
                        break
                else:
                    break
                if len(buffer) - i < length:
                    break
                body = bytes(buffer[i : i + length])
                pos = i + length
                kind = first & 0xF0
                if kind == 0x30:
                    qos = (first >> 1) & 3
                    topic_len = int.from_bytes(body[:2], "big")
                    start = 2 + topic_len
                    if qos:
                        acks.append(_packet(0x40, body[start : start + 2]))
                        start += 2
                    if self.on_publish is not None:
                        self.on_publish(body[start:])
                elif kind in (0x20, 0x90):
                    self._acks.put_nowait((kind, body))
                # PUBACK (0x40) for what we published and PINGRESP need nothing
            del buffer[:pos]
            if acks:
                self.writer.write(b"".join(acks))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.write(b"\xe0\x00")
            self.writer.close()
        if self._task is not None:
            self._task.cancel()


class Peer:
    """A publisher on bench/in and a subscriber on bench/out (RawClient), on the bench's event loop."""

    def __init__(self, qos: int) -> None:
        self.qos = qos
        self.sent = 0
        self.received = 0
        self.sent_at: dict[bytes, float] = {}
        self.latencies: list[float] = []
        self.arrived = asyncio.Event()
        stamp = f"{os.getpid()}-{time.monotonic_ns()}"
        self.sub = RawClient(f"bench-sub-{stamp}")
        self.pub = RawClient(f"bench-pub-{stamp}")

    async def open(self, port: int) -> None:
        await self.sub.connect(port)
        await self.pub.connect(port)
        self.sub.on_publish = self._on_publish
        await self.sub.subscribe(OUT_TOPIC, self.qos)

    def _on_publish(self, payload: bytes) -> None:
        self.received += 1
        if self.sent_at:
            sent = self.sent_at.pop(payload, None)
            if sent is not None:
                self.latencies.append(time.perf_counter() - sent)
        self.arrived.set()

    async def _round_trip(self, payload: bytes, timeout: float) -> bool:
        self.arrived.clear()
        self.sent_at[payload] = time.perf_counter()
        self.pub.send(self.pub.publish_packet(IN_TOPIC, payload, self.qos))
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_flow_ready(self, timeout: float) -> None:
        """Publish probes until one comes back: the runtime is connected and subscribed."""
        deadline = time.monotonic() + timeout
        n = 0
        while time.monotonic() < deadline:
            n += 1
            if await self._round_trip(b"probe%d" % n, 0.5):
                await asyncio.sleep(0.3)  # late probes
                self.sent_at.clear()
                return
        raise RuntimeError(f"no message came back through the flow within {timeout}s")

    async def throughput(self, warmup: float, duration: float) -> float:
        """Messages/s arriving at bench/out with at most WINDOW outstanding."""
        start = time.perf_counter()
        measure_from, stop = start + warmup, start + warmup + duration
        base_count = base_time = None
        outstanding = 0
        self.received = 0
        while True:
            now = time.perf_counter()
            if base_count is None and now >= measure_from:
                base_count, base_time = self.received, now
            if now >= stop:
                break
            room = WINDOW - (outstanding - self.received)
            if room > 0:
                self.pub.send(
                    b"".join(self.pub.publish_packet(IN_TOPIC, b"m", self.qos) for _ in range(room))
                )
                outstanding += room
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), 5)
            except TimeoutError:
                raise RuntimeError(
                    f"the flow stopped answering ({self.received} messages came back)"
                ) from None
        return (self.received - base_count) / (time.perf_counter() - base_time)

    async def latency(self, count: int) -> list[float]:
        self.latencies.clear()
        for n in range(count):
            if not await self._round_trip(b"lat%d" % n, 5):
                raise RuntimeError("a latency probe did not come back within 5 s")
        return list(self.latencies)

    async def close(self) -> None:
        await self.pub.close()
        await self.sub.close()


async def measure_mqtt(scenario: Scenario, server, settings: Settings) -> dict:
    params = scenario.params
    port = ensure_broker()
    peer = Peer(params["qos"])
    try:
        await peer.open(port)
        # the runtime may have started before the broker (first run): it reconnects on its own
        await peer.wait_flow_ready(30.0)
        if params.get("latency"):
            samples = sorted(await peer.latency(300 if settings.quick else 3000))
            return {
                "p50_ms": statistics.median(samples) * 1000,
                "p99_ms": samples[int(len(samples) * 0.99) - 1] * 1000,
                "rss_kb": server.rss_kb(),
            }
        rate = await peer.throughput(settings.warmup, settings.duration)
        return {"msg_s": round(rate), "rss_kb": server.rss_kb()}
    finally:
        await peer.close()


def _scenario(name: str, title: str, flow: str, metric: str, better: str, target: str, **params) -> Scenario:
    path = OWN_FLOWS / flow
    show = ("p50_ms",) if metric == "p99_ms" else ()
    return Scenario(name, title, "mqtt", path, "node-red", path, metric, better, target, show, params)


SCENARIOS = [
    _scenario(
        "mqtt-qos0",
        f"mqtt in -> change -> mqtt out, QoS 0, {WINDOW} in flight",
        "mqtt_qos0.json",
        "msg_s",
        "higher",
        ">= 1.5",
        qos=0,
    ),
    _scenario(
        "mqtt-qos1",
        f"mqtt in -> change -> mqtt out, QoS 1, {WINDOW} in flight",
        "mqtt_qos1.json",
        "msg_s",
        "higher",
        ">= 1.5",
        qos=1,
    ),
    _scenario(
        "mqtt-latency",
        "mqtt in -> change -> mqtt out, QoS 1, one message at a time: round trip",
        "mqtt_qos1.json",
        "p99_ms",
        "lower",
        "<= 1.0",
        qos=1,
        latency=True,
    ),
]

MEASURES = {"mqtt": measure_mqtt}
