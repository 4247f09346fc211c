"""Partial deploys (`Node-RED-Deployment-Type: nodes`) against a real `flowrt run --editor` process
with real clients: what is not changed keeps running (an open SSE session, an MQTT connection on
mosquitto, a delay node's queue, an inject's timer, node context); what is changed restarts
(its close handler runs, its new config answers). An invalid partial deploy changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from flowrt.testing import FlowProcess, free_port

V2 = {"Node-RED-API-Version": "v2", "Accept": "application/json"}
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)
TOPIC = f"flowrt-deploy-{os.getpid()}"

FINALIZE = 'global.set("finals", (global.get("finals") || []).concat([node.id]));'
COUNT = """
const n = (context.get("n") || 0) + 1;
context.set("n", n);
global.set("log", (global.get("log") || []).concat([msg.payload + ":" + n]));
return null;
"""
STATE = 'msg.payload = {log: global.get("log") || [], finals: global.get("finals") || []}; return msg;'


def node(node_id: str, type_: str, wires=(), **props) -> dict:
    return {
        "id": node_id,
        "type": type_,
        "z": "t1",
        "x": 100,
        "y": 100,
        "wires": [list(w) for w in wires],
        **props,
    }


def function(node_id: str, func: str, wires=(), **props) -> dict:
    return node(node_id, "function", wires, func=func, finalize=FINALIZE, outputs=1, **props)


def http_in(node_id: str, method: str, url: str, to: str) -> dict:
    return node(node_id, "http in", [[to]], method=method, url=url)


def build_flow(mqtt_port: int) -> list[dict]:
    return [
        {"id": "t1", "type": "tab", "label": "Main"},
        # an SSE stream and the endpoint that pushes to it
        http_in("sse_in", "get", "/sse", "sess"),
        node("sess", "sse-session", [[], []], keepalive=0),
        http_in("push_in", "post", "/push", "push_fn"),
        function(
            "push_fn",
            "msg.sessionId = msg.payload.sessionId; msg.payload = msg.payload.data; return msg;",
            [["push_send"]],
        ),
        node("push_send", "sse-send", [["push_res"]]),
        node("push_res", "http response"),
        # a request held in a delay node's queue until /flush releases it
        http_in("slow_in", "get", "/slow", "hold"),
        node("hold", "delay", [["slow_res"]], pauseType="delay", timeout="1", timeoutUnits="hours"),
        node("slow_res", "http response"),
        node("flush_in", "http in", [["flush_fn", "flush_res"]], method="post", url="/flush"),
        function("flush_fn", "return {flush: true};", [["hold"]]),
        node("flush_res", "http response"),
        # injects (once, then every hour) counted in a function's node context
        node(
            "tick",
            "inject",
            [["count_fn"]],
            once=True,
            onceDelay="0.1",
            repeat="3600",
            payload="tick",
            payloadType="str",
            topic="",
        ),
        node(
            "marker",
            "inject",
            [["count_fn"]],
            once=True,
            onceDelay="0.6",
            repeat="",
            payload="marker",
            payloadType="str",
            topic="",
        ),
        function("count_fn", COUNT),
        http_in("state_in", "get", "/state", "state_fn"),
        function("state_fn", STATE, [["state_res"]]),
        node("state_res", "http response"),
        # the node the deploys change
        http_in("hi_in", "get", "/hi", "hi_fn"),
        function("hi_fn", 'msg.payload = "one"; return msg;', [["hi_res"]]),
        node("hi_res", "http response"),
        # MQTT: the broker node announces each connection with a birth message
        {
            "id": "broker",
            "type": "mqtt-broker",
            "name": "local",
            "broker": "127.0.0.1",
            "port": mqtt_port,
            "clientid": "",
            "autoConnect": True,
            "cleansession": True,
            "keepalive": 60,
            "protocolVersion": 4,
            "birthTopic": f"{TOPIC}/birth",
            "birthPayload": "up",
            "birthQos": "0",
            "birthRetain": "false",
        },
        node("mq_in", "mqtt in", [["mq_fn"]], broker="broker", topic=f"{TOPIC}/in", qos="1", datatype="utf8"),
        function("mq_fn", f'msg.topic = "{TOPIC}/out"; return msg;', [["mq_out"]]),
        node("mq_out", "mqtt out", broker="broker", topic="", qos="1", retain="false"),
    ]


@pytest.fixture
def mosquitto(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"mosquitto did not start on port {port}")
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


class MqttPeer:
    """An aiomqtt client subscribed to the flow's birth and output topics, recording what arrives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[str, str]] = []
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> MqttPeer:
        aiomqtt = pytest.importorskip("aiomqtt", reason="aiomqtt (the test peer client) is not installed")
        self._client = aiomqtt.Client("127.0.0.1", self.port)
        await self._client.__aenter__()
        await self._client.subscribe(f"{TOPIC}/#", qos=1)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        async for message in self._client.messages:
            self.messages.append((str(message.topic), message.payload.decode()))
            self._arrived.set()

    async def wait_for(self, topic: str, payload: str, timeout: float = 20.0) -> None:
        await self.wait_until(lambda: (f"{TOPIC}/{topic}", payload) in self.messages, timeout)

    async def wait_until(self, condition, timeout: float) -> None:
        async def wait() -> None:
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), timeout)

    def count(self, topic: str) -> int:
        return sum(1 for t, _ in self.messages if t == f"{TOPIC}/{topic}")

    async def publish(self, topic: str, payload: str) -> None:
        await self._client.publish(f"{TOPIC}/{topic}", payload, qos=1)

    async def round_trip(self, payload: str, attempts: int = 40) -> None:
        """A message through mqtt in -> function -> mqtt out, published again each half second
        until it arrives at the output topic (mqtt in subscribes just after it connects)."""
        for _ in range(attempts):
            await self.publish("in", payload)
            with contextlib.suppress(TimeoutError):
                return await self.wait_for("out", payload, 0.5)
        raise AssertionError(f"{payload!r} did not come back through the flow: {self.messages}")

    async def __aexit__(self, *exc) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self._client.__aexit__(None, None, None)


class SseClient:
    """One open SSE stream of GET /sse: its session id and the data frames it receives."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.data: list[str] = []
        self._arrived = asyncio.Event()
        self.session_id: str | None = None
        self.ended = False

    async def open(self) -> None:
        self._resp = await self.session.get(self.url, timeout=aiohttp.ClientTimeout(total=None))
        assert self._resp.status == 200
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await self.wait_for(lambda: self.session_id is not None)

    async def _read(self) -> None:
        async for raw in self._resp.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data:"):
                value = line[5:].strip()
                if self.session_id is None:
                    self.session_id = value.rsplit("sessionId=", 1)[-1]
                else:
                    self.data.append(value)
                self._arrived.set()
        self.ended = True
        self._arrived.set()

    async def wait_for(self, condition, timeout: float = 20.0) -> None:
        async def wait() -> None:
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), timeout)

    def close(self) -> None:
        self._reader.cancel()
        self._resp.close()


async def until(check, timeout: float = 20.0, every: float = 0.05):
    """Poll `check()` (async) until it returns something true; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(every)


class Editor:
    def __init__(self, proc: FlowProcess, session: aiohttp.ClientSession) -> None:
        self.proc, self.session = proc, session

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.proc.url(path)) as resp:
            return resp.status, await resp.text()

    async def state(self) -> dict:
        async with self.session.get(self.proc.url("/state")) as resp:
            return await resp.json(content_type=None)

    async def flows(self) -> dict:
        async with self.session.get(self.proc.url("/flows"), headers=V2) as resp:
            return await resp.json(content_type=None)

    async def deploy(self, flows: list[dict], rev: str, deploy_type: str = "nodes") -> tuple[int, dict]:
        headers = {**V2, "Content-Type": "application/json", "Node-RED-Deployment-Type": deploy_type}
        body = json.dumps({"flows": flows, "rev": rev})
        async with self.session.post(self.proc.url("/flows"), data=body, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def change(self, node_id: str, deploy_type: str = "nodes", **props) -> tuple[int, dict]:
        current = await self.flows()
        flows = json.loads(json.dumps(current["flows"]))
        next(n for n in flows if n["id"] == node_id).update(props)
        return await self.deploy(flows, current["rev"], deploy_type)


async def test_a_nodes_deploy_keeps_untouched_nodes_running(tmp_path: Path, editor_files, mosquitto):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(build_flow(mosquitto)))
    async with MqttPeer(mosquitto) as mqtt:
        proc = FlowProcess([flow_file], "--editor", "-u", str(tmp_path / "user"))
        await proc.start(timeout=60, wait_for="Editor at")
        try:
            async with aiohttp.ClientSession() as session:
                await check_partial_deploys(Editor(proc, session), mqtt)
        finally:
            await proc.stop()


async def check_partial_deploys(editor: Editor, mqtt: MqttPeer) -> None:
    # -- before: everything runs
    await mqtt.wait_for("birth", "up")
    await until(lambda: _has(editor, "marker:2"))
    await mqtt.round_trip("before")
    stream = SseClient(editor.session, editor.proc.url("/sse"))
    await stream.open()
    await push(editor, stream, "first")
    slow = asyncio.ensure_future(editor.get("/slow"))
    await until(lambda: _status_held(editor))

    # -- a nodes deploy changing hi_fn and the marker inject
    status, body = await editor.change("hi_fn", func='msg.payload = "two"; return msg;')
    assert status == 200, body
    assert await editor.get("/hi") == (200, "two")  # the new config answers
    await editor.change("marker", payload="marker2")
    state = await until(lambda: _has(editor, "marker2:3"))
    # hi_fn's close handler (its On Stop code) ran; no untouched function node's did
    assert state["finals"] == ["hi_fn"]
    # the inject that was not changed did not fire "once" again; count_fn kept its node context (3)
    assert state["log"] == ["tick:1", "marker:2", "marker2:3"]
    # the SSE stream is the same one and still delivered to
    await push(editor, stream, "after")
    assert not stream.ended and stream.data == ["first", "after"]
    # the delay node still holds the request it was holding, and releases it
    assert not slow.done()
    async with editor.session.post(editor.proc.url("/flush")) as resp:
        assert resp.status == 200
    assert (await asyncio.wait_for(slow, 20))[0] == 200
    # the MQTT connection is the first one: one birth message, and messages still go through
    await mqtt.round_trip("after")
    assert mqtt.count("birth") == 1

    # -- an invalid nodes deploy: 400 with the problem, nothing stops or changes
    current = await editor.flows()
    broken = [*current["flows"], node("bad", "no such type")]
    next(n for n in broken if n["id"] == "hi_fn")["func"] = 'msg.payload = "three"; return msg;'
    status, body = await editor.deploy(broken, current["rev"])
    assert status == 400 and body["code"] == "invalid_flows" and "bad" in body["message"]
    assert await editor.get("/hi") == (200, "two")
    assert (await editor.flows())["rev"] == current["rev"]
    await push(editor, stream, "still")
    assert (await editor.state())["finals"] == ["hi_fn"]

    # -- changing the broker node restarts it (a new connection: a second birth) and its users
    status, body = await editor.change("broker", keepalive=30)
    assert status == 200, body
    await mqtt.wait_until(lambda: mqtt.count("birth") == 2, 20)
    await mqtt.round_trip("reconnected")
    # its users (mqtt in, mqtt out) restart with it; mq_fn between them is only wired to them
    assert (await editor.state())["finals"] == ["hi_fn"]
    await push(editor, stream, "last")
    assert not stream.ended
    stream.close()


async def push(editor: Editor, stream: SseClient, data: str) -> None:
    body = {"sessionId": stream.session_id, "data": data}
    async with editor.session.post(editor.proc.url("/push"), json=body) as resp:
        assert resp.status == 200, await resp.text()
    await stream.wait_for(lambda: data in stream.data)


async def _has(editor: Editor, entry: str) -> dict | None:
    state = await editor.state()
    return state if entry in state["log"] else None


async def _status_held(editor: Editor) -> bool:
    """Has the delay node reported one held message? (It sets its status when it holds one.)"""
    async with editor.session.ws_connect(editor.proc.url("/comms")) as ws:
        await ws.send_str(json.dumps({"subscribe": "status/hold"}))
        try:
            frame = await ws.receive(timeout=1.0)
        except TimeoutError:
            return False
        messages = json.loads(frame.data) if frame.type == aiohttp.WSMsgType.TEXT else []
        return any(m.get("topic") == "status/hold" and str(m["data"].get("text")) == "1" for m in messages)
