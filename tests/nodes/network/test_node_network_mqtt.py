"""mqtt-broker, mqtt in, mqtt out against real brokers (mosquitto and amqtt), with aiomqtt as the peer.

The cases of Node-RED's test/nodes/core/network/21-mqtt_spec.js are ported first (their names
in `SPEC:` comments), then flowrt's own: credentials, TLS, wildcards, shared subscriptions,
QoS 2, dynamic unsubscribe, payload encodings, and the faults of issue 14 (broker down at
start, broker restart mid-run with queued messages, malformed JSON, sockets released on close).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import ssl

import pytest
from mqtt_broker import PASSWORD, USER, Broker, skip_reason

from flowrt.testing import FlowTestHarness

aiomqtt = pytest.importorskip("aiomqtt", reason="aiomqtt (the test peer client) is not installed")

SETTINGS = {"mqttReconnectTime": 400}
_topics = itertools.count(1)


def next_topic(base: str = "unittest") -> str:
    return f"nr{os.getpid()}/{base}{next(_topics)}"


@pytest.fixture(scope="module", params=["mosquitto", "amqtt"])
def broker(request, tmp_path_factory):
    reason = skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    b = Broker(request.param, tmp_path_factory.mktemp(request.param)).start()
    yield b
    b.stop()


def need_v5(broker: Broker) -> None:
    if not broker.v5:
        pytest.skip(f"{broker.kind} 0.12 speaks MQTT 3.1.1 only (no MQTT 5 properties)")


def broker_node(broker: Broker, node_id: str = "mqtt.broker", **options) -> dict:
    node = {
        "id": node_id,
        "type": "mqtt-broker",
        "name": node_id,
        "broker": broker.host,
        "port": broker.port,
        "clientid": "",
        "autoConnect": True,
        "cleansession": True,
    }
    node.update(options)
    return node


def basic_flow(
    broker: Broker, broker_opts: dict | None = None, in_opts: dict | None = None, out_opts: dict | None = None
) -> list[dict]:
    """Node-RED's buildBasicMQTTSendRecvFlow: broker, mqtt out, mqtt in -> helper, catch(mqtt in) -> helper."""
    broker_opts = dict(broker_opts or {})
    bid = broker_opts.pop("id", "mqtt.broker")
    in_opts = dict(in_opts or {})
    dynamic = in_opts.pop("topicType", "static") == "dynamic"
    mqtt_in = {
        "id": "mqtt.in",
        "type": "mqtt in",
        "broker": in_opts.pop("broker", bid),
        "topic": "",
        "qos": "2",
        "datatype": "utf8",
        "inputs": 1 if dynamic else 0,
        "wires": [["helper.node"]],
    }
    mqtt_in.update(in_opts)
    mqtt_out = {"id": "mqtt.out", "type": "mqtt out", "broker": bid, "topic": "", "wires": []}
    mqtt_out.update(out_opts or {})
    return [
        broker_node(broker, bid, **broker_opts),
        mqtt_in,
        mqtt_out,
        {"id": "helper.node", "type": "helper"},
        {"id": "catch.node", "type": "catch", "scope": ["mqtt.in"], "wires": [["helper.node"]]},
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


async def wait_connected(h: FlowTestHarness, *broker_ids: str, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not all(h.runtime.get_node(b).connected for b in broker_ids):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def subscribed(h: FlowTestHarness, topic: str) -> None:
    """Wait until mqtt in's subscription is in place: a probe from mqtt out comes back."""
    h.node("mqtt.out").receive({"topic": topic, "payload": '"probe"'})
    assert (await h.node("helper.node").next_input(10))["payload"] in ("probe", '"probe"')


def compare(msg: dict, expect: dict, broker: Broker, sub_qos: int = 2) -> None:
    """Node-RED's compareMsgToExpected. amqtt 0.12 delivers at the subscription's QoS instead of
    the lower of the publish and subscription QoS (MQTT 3.1.1 section 3.8.4), so its QoS is that."""
    assert msg["topic"] == expect["topic"]
    assert msg["payload"] == expect["payload"]
    assert type(msg["payload"]) is type(expect["payload"]) or isinstance(
        expect["payload"], (bytes, bytearray)
    )
    if "retain" in expect:
        assert msg["retain"] == expect["retain"]
    assert msg["qos"] == (sub_qos if broker.kind == "amqtt" else min(sub_qos, expect.get("qos", 0)))
    for key in (
        "userProperties",
        "contentType",
        "correlationData",
        "responseTopic",
        "payloadFormatIndicator",
    ):
        if key in expect:
            assert msg[key] == expect[key], key
    if "messageExpiryInterval" in expect:  # the broker sends what remains of the interval
        assert (
            expect["messageExpiryInterval"] - 5
            <= msg["messageExpiryInterval"]
            <= expect["messageExpiryInterval"]
        )


async def send_recv(
    broker: Broker, broker_opts: dict, in_opts: dict, send: dict, expect: dict | None
) -> dict:
    """Node-RED's testSendRecv: mqtt out publishes `send`, mqtt in's message must match `expect`."""
    in_opts = dict(in_opts)
    if in_opts.get("topicType") != "dynamic":
        in_opts.setdefault("topic", send["topic"])
    async with FlowTestHarness(basic_flow(broker, broker_opts, in_opts), settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        if h.runtime.get_node("mqtt.in").is_dynamic:
            h.node("mqtt.in").receive({"action": "subscribe", "topic": send["topic"]})
        h.node("mqtt.out").receive(dict(send))
        msg = await h.node("helper.node").next_input(10)
        if expect is not None:
            compare(msg, expect, broker)
        return msg


# ----- SPEC: should be loaded and have default values --------------------------------------------
async def test_defaults_v4(broker):
    flow = basic_flow(broker, {"autoConnect": False}, {"topic": "in_topic"}, {"topic": "out_topic"})
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        mqtt_in = h.runtime.get_node("mqtt.in")
        mqtt_out = h.runtime.get_node("mqtt.out")
        b = h.runtime.get_node("mqtt.broker")
        assert mqtt_in.config["broker"] == "mqtt.broker" and mqtt_in.datatype == "utf8"
        assert mqtt_in.is_dynamic is False and mqtt_in.qos == 2 and mqtt_in.topic == "in_topic"
        assert mqtt_out.topic == "out_topic"
        assert b.broker == broker.host and b.port == broker.port and b.brokerurl
        assert b.autoUnsubscribe is True and b.autoConnect is False
        assert b.options["clean"] is True and b.options["clientId"].startswith("nodered")
        assert isinstance(b.options["keepalive"], int) and isinstance(b.options["reconnectPeriod"], int)
        assert "protocolVersion" not in b.options and "properties" not in b.options
        assert b.connecting is False and b.client is None


async def test_defaults_v5(broker):
    opts = {
        "autoConnect": False,
        "cleansession": False,
        "clientid": "clientid",
        "keepalive": 35,
        "sessionExpiry": "6000",
        "protocolVersion": "5",
        "userProps": {"prop": "val"},
    }
    async with FlowTestHarness(basic_flow(broker, opts, {"topic": "in_topic"}), settings=SETTINGS) as h:
        b = h.runtime.get_node("mqtt.broker")
        assert b.options["clean"] is False and b.options["clientId"] == "clientid"
        assert b.options["keepalive"] == 35 and b.options["protocolVersion"] == 5
        assert b.options["properties"]["sessionExpiryInterval"] == 6000
        assert b.options["properties"]["userProperties"] == {"prop": "val"}


# ----- SPEC: basic send and receive ----------------------------------------------------------------
DATATYPE_CASES = [
    # (spec name, datatype, sent payload, expected payload, qos)
    ("basic send and receive tests", "auto", "hello", "hello", 0),
    (
        "should send JSON and receive string (auto mode)",
        "auto",
        '{"prop":"value1", "num":1}',
        '{"prop":"value1", "num":1}',
        1,
    ),
    (
        "should send JSON and receive object (auto-detect mode)",
        "auto-detect",
        '{"prop":"value1", "num":1}',
        {"prop": "value1", "num": 1},
        1,
    ),
    (
        "should send invalid JSON and receive string (auto mode)",
        "auto",
        '{prop:"value3", "num":3}',
        '{prop:"value3", "num":3}',
        None,
    ),
    (
        "should send invalid JSON and receive string (auto-detect mode)",
        "auto-detect",
        '{prop:"value3", "num":3}',
        '{prop:"value3", "num":3}',
        None,
    ),
    (
        "should send JSON and receive string (utf8 mode)",
        "utf8",
        '{"prop":"value2", "num":2}',
        '{"prop":"value2", "num":2}',
        2,
    ),
    (
        "should send JSON and receive Object (json mode)",
        "json",
        '{"prop":"value3", "num":3}',
        {"prop": "value3", "num": 3},
        None,
    ),
    ("should send String and receive Buffer (buffer mode)", "buffer", "a b c", b"a b c", None),
    ("should send utf8 Buffer and receive String (auto mode)", "auto", b"x y z", "x y z", None),
    (
        "should send non utf8 Buffer and receive Buffer (auto mode)",
        "auto",
        bytes([0xC0, 0xC1, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF]),
        bytes([0xC0, 0xC1, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF]),
        None,
    ),
]


@pytest.mark.parametrize(
    "name,datatype,sent,expected,qos", DATATYPE_CASES, ids=[c[0] for c in DATATYPE_CASES]
)
async def test_spec_datatypes(broker, name, datatype, sent, expected, qos):
    send = {"topic": next_topic(), "payload": sent}
    expect = {"topic": send["topic"], "payload": expected}
    if qos is not None:
        send["qos"] = expect["qos"] = qos
    await send_recv(broker, {}, {"datatype": datatype}, send, expect)


async def test_spec_invalid_json_json_mode_raises_error(broker):
    """SPEC: should send invalid JSON and raise error (json mode) -- a catch node sees it."""
    msg = await send_recv(
        broker, {}, {"datatype": "json"}, {"topic": next_topic(), "payload": '{prop:"value3", "num":3}'}, None
    )
    assert msg["error"]["source"]["id"] == "mqtt.in"
    assert msg["error"]["message"] == "Failed to parse JSON string"
    assert msg["payload"] == b'{prop:"value3", "num":3}'


# ----- SPEC: v5 ----------------------------------------------------------------------------------
async def test_spec_v5_all_flags(broker):
    """SPEC: should send/receive all v5 flags and settings."""
    need_v5(broker)
    t = next_topic()
    send = {
        "topic": t + "/command",
        "payload": b'{"version":"v5"}',
        "qos": 1,
        "retain": True,
        "responseTopic": t + "/response",
        "userProperties": {"prop1": "val1"},
        "contentType": "text/plain",
        "correlationData": bytes([1, 2, 3]),
        "payloadFormatIndicator": True,
        "messageExpiryInterval": 2000,
    }
    expect = dict(send, payload='{"version":"v5"}')
    expect.pop("payloadFormatIndicator")
    in_opts = {"datatype": "auto", "qos": 1, "nl": False, "rap": True, "rh": 1}
    await send_recv(broker, {"protocolVersion": 5}, in_opts, send, expect)


V5_MEDIA_CASES = [
    (
        'should send regular string with v5 media type "text/plain" and receive a string (auto mode)',
        "auto",
        "abc",
        "text/plain",
        "abc",
    ),
    (
        'should send JSON with v5 media type "text/plain" and receive a string (auto mode)',
        "auto",
        '{"prop":"val"}',
        "text/plain",
        '{"prop":"val"}',
    ),
    (
        'should send JSON with v5 media type "text/plain" and receive a string (auto-detect mode)',
        "auto-detect",
        '{"prop":"val"}',
        "text/plain",
        '{"prop":"val"}',
    ),
    (
        'should send JSON with v5 media type "application/json" and receive an object (auto-detect mode)',
        "auto-detect",
        '{"prop":"val"}',
        "application/json",
        {"prop": "val"},
    ),
    (
        'should send buffer with v5 media type "application/json" and receive an object (auto-detect mode)',
        "auto-detect",
        b'{"prop":"val"}',
        "application/json",
        {"prop": "val"},
    ),
    (
        'should send buffer with v5 media type "text/plain" and receive a string (auto mode)',
        "auto",
        b'{"prop":"val"}',
        "text/plain",
        '{"prop":"val"}',
    ),
    (
        'should send buffer with v5 media type "application/zip" and receive a buffer (auto mode)',
        "auto",
        b'{"prop":"val"}',
        "application/zip",
        b'{"prop":"val"}',
    ),
]


@pytest.mark.parametrize(
    "name,datatype,sent,ctype,expected", V5_MEDIA_CASES, ids=[c[0] for c in V5_MEDIA_CASES]
)
async def test_spec_v5_media_types(broker, name, datatype, sent, ctype, expected):
    need_v5(broker)
    send = {"topic": next_topic(), "payload": sent, "contentType": ctype}
    expect = dict(send, payload=expected)
    await send_recv(broker, {"protocolVersion": 5}, {"datatype": datatype}, send, expect)


async def test_spec_v5_invalid_json_application_json_raises_error(broker):
    """SPEC: should send invalid JSON with v5 media type "application/json" and raise an error (auto mode)."""
    need_v5(broker)
    send = {"topic": next_topic(), "payload": '{prop:"value3", "num":3}', "contentType": "application/json"}
    msg = await send_recv(broker, {"protocolVersion": 5}, {"datatype": "auto"}, send, None)
    assert msg["error"]["source"]["id"] == "mqtt.in"
    assert msg["error"]["message"] == "Failed to parse JSON string"


async def test_spec_subscribe_dynamically(broker):
    """SPEC: should subscribe dynamically via action."""
    need_v5(broker)
    send = {"topic": next_topic(), "payload": "abc"}
    await send_recv(
        broker, {"protocolVersion": 5}, {"datatype": "utf8", "topicType": "dynamic"}, send, dict(send)
    )


# ----- SPEC: advanced ----------------------------------------------------------------------------
async def test_spec_connect_action(broker):
    """SPEC: should connect via "connect" action."""
    version = 5 if broker.v5 else 4
    flow = basic_flow(broker, {"protocolVersion": version, "autoConnect": False}, {"topicType": "dynamic"})
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        b = h.runtime.get_node("mqtt.broker")
        await asyncio.sleep(0)
        assert b.autoConnect is False and b.connecting is False and b.connected is False
        h.node("mqtt.in").receive({"action": "connect"})
        await wait_connected(h, "mqtt.broker")


async def test_spec_disconnect_action(broker):
    """SPEC: should disconnect via "disconnect" action (a status node on mqtt out sees it)."""
    version = 5 if broker.v5 else 4
    flow = basic_flow(broker, {"protocolVersion": version}, {"topic": next_topic()})
    flow.append({"id": "status.node", "type": "status", "scope": ["mqtt.out"], "wires": [["status.helper"]]})
    flow.append({"id": "status.helper", "type": "helper"})
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        b = h.runtime.get_node("mqtt.broker")
        await asyncio.sleep(0)
        assert b.autoConnect is True and b.connecting is True
        await wait_connected(h, "mqtt.broker")
        h.node("mqtt.out").receive({"action": "disconnect"})
        while True:
            msg = await h.node("status.helper").next_input(10)
            if "disconnect" in msg["status"]["text"]:
                break
        assert msg["status"] == {
            "fill": "red",
            "shape": "ring",
            "text": "disconnected",
            "source": msg["status"]["source"],
        }
        assert b.connected is False


async def test_spec_birth_message(broker):
    """SPEC: should publish birth message."""
    topic = next_topic() + "/birth"
    opts = {
        "autoConnect": False,
        "protocolVersion": 4,
        "birthTopic": topic,
        "birthPayload": "broker birth",
        "birthQos": 2,
    }
    async with FlowTestHarness(basic_flow(broker, opts, {"topic": topic}), settings=SETTINGS) as h:
        h.node("mqtt.in").receive({"action": "connect"})
        msg = await h.node("helper.node").next_input(10)
        compare(msg, {"topic": topic, "payload": "broker birth", "qos": 2}, broker)


async def test_spec_bad_birth_topic_discarded(broker):
    """SPEC: should safely discard bad birth topic (a wildcard in a publish topic): warned, nothing sent."""
    topic = next_topic() + "#"
    opts = {"protocolVersion": 4, "birthTopic": topic, "birthPayload": "broker connected", "birthQos": 2}
    probe = next_topic()
    async with FlowTestHarness(basic_flow(broker, opts, {"topic": probe}), settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        record = await h.node("mqtt.broker").next_log("warn")
        assert record.text == "Invalid topic specified"
        h.node("mqtt.out").receive({"topic": probe, "payload": "still working"})
        assert (await h.node("helper.node").next_input(10))["payload"] == "still working"


async def test_spec_close_message(broker):
    """SPEC: should publish close message."""
    topic = next_topic() + "/close"
    flow = basic_flow(
        broker, {"id": "mqtt.broker1"}, {"topic": topic, "datatype": "json"}, {"broker": "mqtt.broker2"}
    )
    flow.append(
        broker_node(broker, "mqtt.broker2", closeTopic=topic, closePayload='{"msg":"close"}', closeQos=1)
    )
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker1", "mqtt.broker2")
        await subscribed(h, topic)
        h.node("mqtt.out").receive({"action": "disconnect"})
        msg = await h.node("helper.node").next_input(10)
        assert msg["topic"] == topic and msg["payload"] == {"msg": "close"}
        compare(msg, {"topic": topic, "payload": {"msg": "close"}, "qos": 1}, broker)


async def test_spec_will_message(broker):
    """SPEC: should publish will message (the second connection is severed without DISCONNECT)."""
    topic = next_topic() + "/will"
    flow = basic_flow(
        broker, {"id": "mqtt.broker1"}, {"topic": topic, "datatype": "utf8"}, {"broker": "mqtt.broker2"}
    )
    flow.append(broker_node(broker, "mqtt.broker2", willTopic=topic, willPayload='{"msg":"will"}', willQos=2))
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker1", "mqtt.broker2")
        await subscribed(h, topic)
        h.runtime.get_node("mqtt.broker2").drop_connection()
        msg = await h.node("helper.node").next_input(10)
        assert msg["topic"] == topic and msg["payload"] == '{"msg":"will"}' and msg["qos"] == 2


async def test_spec_will_message_v5_properties(broker):
    """SPEC: should publish will message with V5 properties."""
    need_v5(broker)
    topic = next_topic() + "/will"
    will = {
        "contentType": "application/json",
        "userProps": {"will": "value"},
        "respTopic": topic + "/resp",
        "correl": b"abc",
        "expiry": 2000,
        "payloadFormatIndicator": True,
    }
    flow = basic_flow(
        broker,
        {"id": "mqtt.broker1", "protocolVersion": 5},
        {"topic": topic, "datatype": "utf8"},
        {"broker": "mqtt.broker2"},
    )
    flow.append(
        broker_node(
            broker,
            "mqtt.broker2",
            protocolVersion=5,
            willTopic=topic,
            willPayload='{"msg":"will"}',
            willQos=2,
            willMsg=will,
        )
    )
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker1", "mqtt.broker2")
        await subscribed(h, topic)
        h.runtime.get_node("mqtt.broker2").drop_connection()
        msg = await h.node("helper.node").next_input(10)
        compare(
            msg,
            {
                "topic": topic,
                "payload": '{"msg":"will"}',
                "qos": 2,
                "contentType": "application/json",
                "userProperties": {"will": "value"},
                "responseTopic": topic + "/resp",
                "correlationData": b"abc",
                "messageExpiryInterval": 2000,
            },
            broker,
        )


# ----- flowrt's own cases: the peer is aiomqtt ---------------------------------------------------
def peer(broker: Broker, v5: bool = False, **kw) -> aiomqtt.Client:
    protocol = aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311
    kw.setdefault("identifier", f"peer{os.getpid()}-{next(_topics)}")  # amqtt reuses sessions of empty ids
    return aiomqtt.Client(broker.host, kw.pop("port", broker.port), protocol=protocol, **kw)


async def next_message(client: aiomqtt.Client, timeout: float = 10.0) -> aiomqtt.Message:
    return await asyncio.wait_for(anext(aiter(client.messages)), timeout)


async def synced(h: FlowTestHarness, client: aiomqtt.Client, out_id: str = "mqtt.out") -> None:
    """Wait until the flow's subscriptions are in place: the flow's SUBSCRIBEs went out on its
    connection before this PUBLISH, and the broker handles a connection's packets in order."""
    topic = next_topic("sync")
    await client.subscribe(topic)
    h.node(out_id).receive({"topic": topic, "payload": "sync"})
    while (await next_message(client)).topic.value != topic:
        pass  # amqtt 0.12 may hand a new subscription retained messages of other topics


async def test_out_payload_encoding(broker):
    """Objects as JSON, Buffers raw, numbers and booleans as String(), null as empty."""
    topic = next_topic()
    flow = basic_flow(broker, {}, {"topic": next_topic()})
    cases = [
        ({"a": [1, 2]}, b'{"a":[1,2]}'),
        ([1, "x"], b'[1,"x"]'),
        (42, b"42"),
        (1.5, b"1.5"),
        (True, b"true"),
        (None, b""),
        (b"\x00\xff", b"\x00\xff"),
        ("text", b"text"),
    ]
    async with peer(broker) as client, FlowTestHarness(flow, settings=SETTINGS) as h:
        await client.subscribe(topic)
        await wait_connected(h, "mqtt.broker")
        for payload, _ in cases:
            h.node("mqtt.out").receive({"topic": topic, "payload": payload})
        got = [bytes((await next_message(client)).payload) for _ in cases]
    assert got == [expected for _, expected in cases]


async def test_out_topic_qos_retain_from_node_or_msg(broker):
    node_topic, msg_topic = next_topic(), next_topic()
    flow = basic_flow(broker, {}, {"topic": next_topic()}, {"id": "mqtt.out"})
    flow.append(
        {
            "id": "out.fixed",
            "type": "mqtt out",
            "broker": "mqtt.broker",
            "topic": node_topic,
            "qos": "1",
            "retain": "true",
            "wires": [],
        }
    )
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        h.node("out.fixed").receive({"topic": "ignored/topic", "payload": "fixed", "qos": 0, "retain": False})
        h.node("mqtt.out").receive({"topic": msg_topic, "payload": "from msg", "qos": "1", "retain": "true"})
        # the node's topic wins over msg.topic; both are retained: a new subscriber gets them
        async with peer(broker) as client:
            await client.subscribe(node_topic, qos=2)
            first = await next_message(client)
            await client.subscribe(msg_topic, qos=2)
            second = await next_message(client)
    assert (first.topic.value, bytes(first.payload), first.qos, first.retain) == (
        node_topic,
        b"fixed",
        1,
        True,
    )
    assert (second.topic.value, bytes(second.payload), second.qos, second.retain) == (
        msg_topic,
        b"from msg",
        1,
        True,
    )
    async with peer(broker) as client:  # clear the retained messages
        await client.publish(node_topic, b"", retain=True)
        await client.publish(msg_topic, b"", retain=True)


async def test_in_wildcards_base64_and_qos2(broker):
    base = next_topic()
    flow = basic_flow(broker, {}, {"topic": base + "/+/temp", "datatype": "utf8", "qos": "2"})
    # on a second connection: overlapping subscriptions of one connection may be merged by the broker
    flow.append(broker_node(broker, "broker2"))
    flow.append(
        {
            "id": "in.all",
            "type": "mqtt in",
            "broker": "broker2",
            "topic": base + "/#",
            "datatype": "base64",
            "qos": "0",
            "wires": [["all.helper"]],
        }
    )
    flow.append({"id": "out2", "type": "mqtt out", "broker": "broker2", "wires": []})
    flow.append({"id": "all.helper", "type": "helper"})
    async with peer(broker) as client, FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker", "broker2")
        await synced(h, client)
        await synced(h, client, "out2")
        await client.publish(base + "/kitchen/temp", b"21.5", qos=2)
        await client.publish(base + "/kitchen/humidity", b"40", qos=1)
        await client.publish(base + "/a/b/temp", b"no", qos=1)  # + is one level: only "#" matches
        plus = await h.node("helper.node").next_input(10)
        every = await h.node("all.helper").inputs(3, 10)
    assert (plus["topic"], plus["payload"], plus["qos"]) == (base + "/kitchen/temp", "21.5", 2)
    assert [m["payload"] for m in every] == ["MjEuNQ==", "NDA=", "bm8="]
    assert all(m["qos"] == 0 for m in every) or broker.kind == "amqtt"  # amqtt: see compare()
    assert h.node("helper.node").received == [plus]


async def test_shared_subscription(broker):
    if broker.kind == "amqtt":
        pytest.skip("amqtt 0.12 has no shared subscriptions ($share/...)")
    topic = next_topic()
    flow = basic_flow(broker, {"protocolVersion": 5}, {"topic": f"$share/flowrt/{topic}", "datatype": "utf8"})
    async with peer(broker) as client, FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        await synced(h, client)
        await client.publish(topic, b"shared", qos=1)
        msg = await h.node("helper.node").next_input(10)
    assert msg["topic"] == topic and msg["payload"] == "shared"


async def test_dynamic_subscriptions_list_and_unsubscribe(broker):
    t1, t2, probe = next_topic(), next_topic(), next_topic()
    flow = basic_flow(broker, {}, {"topicType": "dynamic", "datatype": "auto-detect"})
    flow.append(
        {
            "id": "probe.in",
            "type": "mqtt in",
            "broker": "mqtt.broker",
            "topic": probe,
            "datatype": "utf8",
            "wires": [["probe.helper"]],
        }
    )
    flow.append({"id": "probe.helper", "type": "helper"})
    flow.append(
        {"id": "complete.node", "type": "complete", "scope": ["mqtt.in"], "wires": [["complete.helper"]]}
    )
    flow.append({"id": "complete.helper", "type": "helper"})
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        mqtt_in, out = h.node("mqtt.in"), h.node("mqtt.out")
        mqtt_in.receive({"action": "subscribe", "topic": [t1, {"topic": t2, "qos": 1, "datatype": "utf8"}]})
        done = await h.node("complete.helper").next_input()
        assert [s["topic"] for s in done["subscriptions"]] == [t1, t2]
        mqtt_in.receive({"action": "getSubscriptions"})
        listing = await h.node("helper.node").next_input()
        assert listing["topic"] == "subscriptions"
        assert listing["payload"] == [{"topic": t1, "qos": 2}, {"topic": t2, "qos": 1, "datatype": "utf8"}]
        out.receive({"topic": t1, "payload": '{"n":1}'})
        out.receive({"topic": t2, "payload": '{"n":2}'})
        got = {m["topic"]: m for m in (await h.node("helper.node").inputs(3))[1:]}  # amqtt: any order
        assert got[t1]["payload"] == {"n": 1} and got[t2]["payload"] == '{"n":2}'
        mqtt_in.receive({"action": "unsubscribe", "topic": True})
        await h.node("complete.helper").inputs(2)
        out.receive({"topic": t1, "payload": "after unsubscribe"})
        out.receive({"topic": probe, "payload": "probe"})  # same connection: arrives after t1 would have
        await h.node("probe.helper").next_input(10)
        assert len(h.node("helper.node").received) == 3
        mqtt_in.receive({"action": "dance"})
        err, _ = await h.node("mqtt.in").next_error()
        assert str(err) == "Invalid action specified"
        mqtt_in.receive({"action": "subscribe", "topic": "a/#/b"})
        err, _ = await h.node("mqtt.in").next_error()
        assert str(err) == "Invalid topic specified"


async def test_v5_properties_from_mqtt_out_node(broker):
    need_v5(broker)
    topic = next_topic()
    flow = basic_flow(
        broker,
        {"protocolVersion": "5"},
        {"topic": next_topic()},
        {
            "respTopic": topic + "/reply",
            "correl": "abc",
            "contentType": "application/json",
            "expiry": "60",
            "userProps": '{"source": "flowrt", "n": 1}',
        },
    )
    async with peer(broker, v5=True) as client, FlowTestHarness(flow, settings=SETTINGS) as h:
        await client.subscribe(topic)
        await wait_connected(h, "mqtt.broker")
        h.node("mqtt.out").receive({"topic": topic, "payload": {"x": 1}})
        msg = await next_message(client)
    props = msg.properties
    assert bytes(msg.payload) == b'{"x":1}'
    assert props.ResponseTopic == topic + "/reply" and props.CorrelationData == b"abc"
    assert props.ContentType == "application/json" and 55 <= props.MessageExpiryInterval <= 60
    assert dict(props.UserProperty) == {"source": "flowrt", "n": "1"}


async def test_v5_no_local(broker):
    """nl: messages this connection publishes are not sent back to it."""
    need_v5(broker)
    topic, probe = next_topic(), next_topic()
    flow = basic_flow(broker, {"protocolVersion": 5}, {"topic": topic, "nl": True})
    flow.append(
        {
            "id": "probe.in",
            "type": "mqtt in",
            "broker": "mqtt.broker",
            "topic": probe,
            "wires": [["probe.helper"]],
        }
    )
    flow.append({"id": "probe.helper", "type": "helper"})
    async with peer(broker, v5=True) as client, FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        h.node("mqtt.out").receive({"topic": topic, "payload": "own"})
        h.node("mqtt.out").receive({"topic": probe, "payload": "probe"})
        await h.node("probe.helper").next_input(10)
        assert h.node("helper.node").received == []
        await client.publish(topic, b"from peer")
        assert (await h.node("helper.node").next_input(10))["payload"] == "from peer"


async def test_response_topic_used_when_no_topic(broker):
    need_v5(broker)
    reply = next_topic()
    flow = basic_flow(broker, {"protocolVersion": 5}, {"topic": reply})
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        h.node("mqtt.out").receive({"payload": "answer", "responseTopic": reply})
        msg = await h.node("helper.node").next_input(10)
    assert msg["topic"] == reply and msg["payload"] == "answer"


async def test_invalid_topics_and_missing_broker(broker):
    flow = basic_flow(broker, {}, {"topic": "a/#/b"})
    flow.append({"id": "orphan", "type": "mqtt out", "broker": "nope", "wires": []})
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        assert (await h.node("mqtt.in").next_log("warn")).text == "Invalid topic specified"
        err, _ = await h.node("orphan").next_error()
        assert str(err) == "missing broker configuration"
        await wait_connected(h, "mqtt.broker")
        h.node("mqtt.out").receive({"topic": "bad/+/topic", "payload": "x"})
        assert (await h.node("mqtt.out").next_log("warn")).text == "Invalid topic specified"
        h.node("mqtt.out").receive({"payload": "no topic"})
        assert (await h.node("mqtt.out").next_log("warn")).text == "Invalid topic specified"


async def test_credentials(broker):
    if broker.auth_port is None:
        pytest.skip(f"no password listener on {broker.kind} (mosquitto_passwd missing or amqtt)")
    topic = next_topic()
    good = broker_node(
        broker, "good", port=broker.auth_port, credentials={"user": USER, "password": PASSWORD}
    )
    bad = broker_node(broker, "bad", port=broker.auth_port, credentials={"user": USER, "password": "wrong"})
    flow = [
        good,
        bad,
        {"id": "in.good", "type": "mqtt in", "broker": "good", "topic": topic, "wires": [["h"]]},
        {"id": "out.good", "type": "mqtt out", "broker": "good", "wires": []},
        {"id": "in.bad", "type": "mqtt in", "broker": "bad", "topic": topic, "wires": [["h"]]},
        {"id": "h", "type": "helper"},
    ]
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "good")
        h.node("out.good").receive({"topic": topic, "payload": "authenticated"})
        assert (await h.node("h").next_input(10))["payload"] == "authenticated"
        record = await h.node("bad").next_log("info")
        assert record.text.startswith("Connection failed to broker: mqtt://127.0.0.1:")
        await wait_status(h, "in.bad", "disconnected")
        assert h.runtime.get_node("bad").connected is False


async def test_tls_with_tls_config_node(broker):
    if broker.tls_port is None:
        pytest.skip(f"no TLS listener on {broker.kind}")
    topic = next_topic()
    flow = [
        {"id": "tls", "type": "tls-config", "ca": str(broker.cert), "verifyservercert": True},
        broker_node(broker, "mqtt.broker", port=broker.tls_port, usetls=True, tls="tls"),
        {"id": "mqtt.in", "type": "mqtt in", "broker": "mqtt.broker", "topic": topic, "wires": [["h"]]},
        {"id": "mqtt.out", "type": "mqtt out", "broker": "mqtt.broker", "wires": []},
        {"id": "h", "type": "helper"},
    ]
    async with FlowTestHarness(flow, settings=SETTINGS) as h:
        await wait_connected(h, "mqtt.broker")
        assert h.runtime.get_node("mqtt.broker").brokerurl.startswith("mqtts://")
        assert isinstance(h.runtime.get_node("mqtt.broker").client.socket(), ssl.SSLSocket)
        h.node("mqtt.out").receive({"topic": topic, "payload": "over TLS"})
        assert (await h.node("h").next_input(10))["payload"] == "over TLS"
