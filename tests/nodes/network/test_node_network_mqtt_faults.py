"""MQTT faults (issue 14): broker down at start, broker restarted mid-run with messages queued,
the offline queue's bound, sockets released on stop and redeploy, and `flowrt run` end to end."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml
from mqtt_broker import Broker, skip_reason

from flowrt.testing import FlowProcess, FlowTestHarness, free_port

aiomqtt = pytest.importorskip("aiomqtt", reason="aiomqtt (the test peer client) is not installed")

SETTINGS = {"mqttReconnectTime": 300}


@pytest.fixture(params=["mosquitto", "amqtt"])
def kind(request) -> str:
    reason = skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


@pytest.fixture
def stopped_broker(kind, tmp_path):
    """A broker with its ports chosen but not started; stopped at the end."""
    b = Broker(kind, tmp_path)
    yield b
    b.stop()


def mqtt_flow(port: int, topic: str, **broker_opts) -> list[dict]:
    return [
        {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": port, **broker_opts},
        {
            "id": "in",
            "type": "mqtt in",
            "broker": "b",
            "topic": topic,
            "qos": "1",
            "datatype": "utf8",
            "wires": [["got"]],
        },
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "", "qos": "1", "wires": []},
        {"id": "got", "type": "helper"},
        {
            "id": "other",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "still running", "tot": "str"}],
            "wires": [["other.out"]],
        },
        {"id": "other.out", "type": "helper"},
        {"id": "catch", "type": "catch", "scope": ["out"], "wires": [["caught"]]},
        {"id": "caught", "type": "helper"},
    ]


async def wait_status(h: FlowTestHarness, node_id: str, text: str, timeout: float = 15.0) -> dict:
    """The first status of the node (since the start) with this text, waiting for it if need be."""
    handle = h.node(node_id)
    seen = 0
    while True:
        statuses = handle.statuses
        for status in statuses[seen:]:
            if status.get("text") == text:
                return status
        seen = len(statuses)
        await handle.next_status(timeout)


async def test_broker_down_at_start_then_up(stopped_broker):
    """Red status, 'Connection failed' log lines and no traceback; the rest of the flow runs; once
    the broker starts the node connects by itself (reconnect with backoff)."""
    b = stopped_broker
    async with FlowTestHarness(mqtt_flow(b.port, "fault/start"), settings=SETTINGS) as h:
        status = await wait_status(h, "in", "disconnected")
        assert status["fill"] == "red"
        await wait_status(h, "out", "connecting")
        record = await h.node("b").next_log("info")
        assert record.text.startswith(f"Connection failed to broker: mqtt://127.0.0.1:{b.port}")
        h.node("other").receive({"payload": "x"})
        assert (await h.node("other.out").next_input())["payload"] == "still running"
        await asyncio.to_thread(b.start)
        await wait_status(h, "in", "connected")
        h.node("out").receive({"topic": "fault/start", "payload": "after start"})
        assert (await h.node("got").next_input(10))["payload"] == "after start"
    text = "\n".join(r.text for r in h.logs)
    assert "Traceback" not in text and not [r for r in h.logs if r.level == "error"]


async def test_broker_restart_mid_run_queued_messages_go_out(stopped_broker):
    b = stopped_broker
    await asyncio.to_thread(b.start)
    async with FlowTestHarness(mqtt_flow(b.port, "fault/restart"), settings=SETTINGS) as h:
        await wait_status(h, "in", "connected")
        h.node("out").receive({"topic": "fault/restart", "payload": "before"})
        assert (await h.node("got").next_input(10))["payload"] == "before"
        await asyncio.to_thread(b.stop)
        await wait_status(h, "in", "disconnected")
        for n in range(5):
            h.node("out").receive({"topic": "fault/restart", "payload": f"queued {n}"})
        await asyncio.to_thread(b.start)
        got = await h.node("got").inputs(6, 20)
    assert sorted(m["payload"] for m in got[1:]) == [f"queued {n}" for n in range(5)]
    assert not h.node("caught").received


async def test_offline_queue_is_bounded(stopped_broker):
    """mqttOfflineQueueSize messages wait; each one dropped beyond it is an error catch nodes see."""
    b = stopped_broker
    await asyncio.to_thread(b.start)
    settings = dict(SETTINGS, mqttOfflineQueueSize=3)
    async with FlowTestHarness(mqtt_flow(b.port, "fault/queue", autoConnect=False), settings=settings) as h:
        for n in range(5):
            h.node("out").receive({"topic": "fault/queue", "payload": f"m{n}"})
        caught = await h.node("caught").inputs(2)
        assert [m["payload"] for m in caught] == ["m0", "m1"]
        assert caught[0]["error"]["message"] == "MQTT offline queue full (3 messages): oldest message dropped"
        h.node("in").receive({"action": "connect"})
        got = await h.node("got").inputs(3, 10)
    assert sorted(m["payload"] for m in got) == ["m2", "m3", "m4"]


async def wait_connected(h: FlowTestHarness, *broker_ids: str, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not all(h.runtime.get_node(b).connected for b in broker_ids):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd to count descriptors")
async def test_close_and_redeploy_release_sockets(stopped_broker):
    b = stopped_broker
    await asyncio.to_thread(b.start)
    flow = mqtt_flow(b.port, "fault/fds")
    flow.append({"id": "b2", "type": "mqtt-broker", "broker": "127.0.0.1", "port": b.port})
    flow.append({"id": "in2", "type": "mqtt in", "broker": "b2", "topic": "fault/fds", "wires": []})
    before = open_fds()
    h = FlowTestHarness(flow, settings=SETTINGS, http=False)
    await h.start()
    try:
        await wait_status(h, "in", "connected")
        await wait_status(h, "in2", "connected")
        running = open_fds()
        assert running >= before + 2  # two broker connections
        for round_ in range(3):
            await h.redeploy(flow)
            await wait_connected(h, "b", "b2")
            h.node("out").receive({"topic": "fault/fds", "payload": f"round {round_}"})
            await h.node("got").inputs(round_ + 1, 10)
            assert open_fds() == running
    finally:
        await h.stop()
    assert open_fds() <= before


async def test_flowrt_run_end_to_end(kind, tmp_path):
    """`flowrt run` with the example flow as a real process: in -> change -> out through the broker."""
    if kind == "amqtt":
        pytest.skip("one end-to-end run is enough: mosquitto")
    b = Broker(kind, tmp_path).start()
    try:
        example = Path(__file__).resolve().parents[3] / "flows" / "examples" / "mqtt.yaml"
        assert yaml.safe_load(example.read_text())
        env = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(b.port)}
        async with aiomqtt.Client("127.0.0.1", b.port, identifier="e2e-peer") as client:
            await client.subscribe("sensors/+/fahrenheit")
            await client.subscribe("flowrt/example/status")
            # retained, so the flow gets it whenever its subscription is in place
            await client.publish("sensors/kitchen/temperature", b"21.5", qos=1, retain=True)
            proc = FlowProcess([example], port=free_port(), env=env)
            async with proc:
                await proc.wait_for_line("Connected to broker: mqtt://127.0.0.1:")
                seen = {}
                while len(seen) < 2:
                    msg = await asyncio.wait_for(anext(aiter(client.messages)), 15)
                    seen[msg.topic.value] = bytes(msg.payload)
                assert seen["flowrt/example/status"] == b"online"
                assert seen["sensors/kitchen/fahrenheit"] == b'{"celsius":21.5,"fahrenheit":70.7}'
            assert proc.process.returncode == 0, proc.output
            assert "Traceback" not in proc.output
            await client.publish("sensors/kitchen/temperature", b"", retain=True)
    finally:
        b.stop()
