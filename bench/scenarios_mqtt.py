"""MQTT scenarios: `mqtt in -> change -> mqtt out` through one mosquitto, flowrt vs Node-RED.

Both runtimes run the same flow file (bench/flows/mqtt_qos0.json, mqtt_qos1.json): an `mqtt in`
on bench/in, a `change` setting msg.topic to bench/out, an `mqtt out`. The broker's port reaches
both through the environment (`${FLOWRT_BENCH_MQTT_PORT}` in the flow). One mosquitto is started
for the whole bench run (on first use) and stopped at exit.

The load comes from paho clients in this process: a publisher on bench/in and a subscriber on
bench/out. Throughput keeps WINDOW messages in flight end to end (the publisher waits for the
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
import threading
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


class Peer:
    """A paho publisher on bench/in and a subscriber on bench/out, each with its network thread."""

    def __init__(self, port: int, qos: int) -> None:
        import paho.mqtt.client as paho

        self.qos = qos
        self.received = 0
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.slots = threading.Semaphore(WINDOW)
        self.arrived = threading.Event()
        stamp = f"{os.getpid()}-{time.monotonic_ns()}"
        self.sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{stamp}")
        self.pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{stamp}")
        self.pub.max_inflight_messages_set(WINDOW * 2)
        self.sub.on_message = self._on_message
        subscribed = threading.Event()
        self.sub.on_subscribe = lambda *a: subscribed.set()
        for client in (self.sub, self.pub):
            client.connect("127.0.0.1", port, 60)
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.loop_start()
        self.sub.subscribe(OUT_TOPIC, qos)
        if not subscribed.wait(10):
            raise RuntimeError("the bench subscriber got no SUBACK")

    def _on_message(self, client, userdata, message) -> None:
        now = time.perf_counter()
        key = message.payload.decode()
        sent = self.sent_at.pop(key, None)
        if sent is not None:
            self.latencies.append(now - sent)
        self.received += 1
        self.slots.release()
        self.arrived.set()

    def publish(self, key: str) -> None:
        self.sent_at[key] = time.perf_counter()
        self.pub.publish(IN_TOPIC, key, self.qos)

    def wait_flow_ready(self, timeout: float) -> None:
        """Publish probes until one comes back: the runtime is connected and subscribed."""
        deadline = time.monotonic() + timeout
        n = 0
        while time.monotonic() < deadline:
            self.arrived.clear()
            self.publish(f"probe{n}")
            n += 1
            if self.arrived.wait(0.5):
                time.sleep(0.2)  # late probes
                return
        raise RuntimeError(f"no message came back through the flow within {timeout}s")

    def throughput(self, warmup: float, duration: float) -> float:
        stop = time.perf_counter() + warmup + duration
        measure_from = time.perf_counter() + warmup
        start_count = None
        n = 0
        while True:
            now = time.perf_counter()
            if start_count is None and now >= measure_from:
                start_count, started = self.received, now
            if now >= stop:
                break
            if not self.slots.acquire(timeout=5):
                raise RuntimeError(f"the flow stopped answering ({self.received} messages came back)")
            self.pub.publish(IN_TOPIC, str(n), self.qos)
            n += 1
        return (self.received - start_count) / (time.perf_counter() - started)

    def latency(self, count: int) -> list[float]:
        self.latencies.clear()
        for n in range(count):
            self.arrived.clear()
            self.publish(f"lat{n}")
            if not self.arrived.wait(5):
                raise RuntimeError("a latency probe did not come back within 5 s")
        return list(self.latencies)

    def close(self) -> None:
        for client in (self.pub, self.sub):
            client.disconnect()
            client.loop_stop()


def _peer_for(qos: int) -> Peer:
    return Peer(ensure_broker(), qos)


async def measure_mqtt(scenario: Scenario, server, settings: Settings) -> dict:
    params = scenario.params
    ensure_broker()
    peer = await asyncio.to_thread(_peer_for, params["qos"])
    try:
        # the runtime may have started before the broker (first run): it reconnects on its own
        await asyncio.to_thread(peer.wait_flow_ready, 30.0)
        if params.get("latency"):
            count = 300 if settings.quick else 3000
            samples = sorted(await asyncio.to_thread(peer.latency, count))
            return {
                "p50_ms": statistics.median(samples) * 1000,
                "p99_ms": samples[int(len(samples) * 0.99) - 1] * 1000,
                "rss_kb": server.rss_kb(),
            }
        rate = await asyncio.to_thread(peer.throughput, settings.warmup, settings.duration)
        return {"msg_s": round(rate), "rss_kb": server.rss_kb()}
    finally:
        await asyncio.to_thread(peer.close)


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
