"""`tcp in`, `tcp out` and `tcp request` against real sockets on 127.0.0.1.

Ports Node-RED's test/nodes/core/network/31-tcpin_spec.js and 31-tcprequest_spec.js (their peers are
written here with asyncio streams), plus tcp out (no spec in Node-RED), status texts, faults (peer
closing mid-message, a flood of connections, connection refused) and the sockets released on stop and
redeploy (file descriptors counted in /proc/self/fd). Nothing waits on a time: tests wait for messages,
statuses or peer events; tcp request's timeout runs on the harness's virtual clock.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from flowrt.testing import FlowProcess, FlowTestHarness, free_port

WAIT = 10.0


async def until(condition, timeout: float = WAIT) -> None:
    """Wait for a condition another party makes true (socket events we cannot await directly)."""

    async def poll():
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


# ------------------------------------------------------------------ peers
async def send_each(port: int, chunks: list[bytes | str], host: str = "127.0.0.1") -> None:
    """Node-RED's spec send(): one connection per chunk, written then ended."""
    for chunk in chunks:
        _, writer = await asyncio.open_connection(host, port)
        writer.write(chunk.encode() if isinstance(chunk, str) else chunk)
        await writer.drain()
        writer.close()
        await writer.wait_closed()


class Peer:
    """A TCP server for the nodes to connect to; `handler(reader, writer)` talks to each client."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self.active = 0
        self.connected = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Peer:
        async def on_client(reader, writer):
            self.connections += 1
            self.writers.append(writer)
            self.connected.set()
            self.active += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                self.active -= 1
                writer.close()

        self.server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()


def writes_then_ends(chunks: list[str]):
    async def handler(reader, writer):
        for chunk in chunks:
            writer.write(chunk.encode())
            await writer.drain()
        writer.close()

    return handler


async def ack_handler(reader, writer):
    """Node-RED's tcp request spec server: each read answered with "ACK:" + the data."""
    while data := await reader.read(65536):
        writer.write(b"ACK:" + data)
        await writer.drain()
    writer.close()


def tcp_in(port: int, **config) -> list[dict]:
    base = {"id": "n1", "type": "tcp in", "server": "server", "host": "localhost", "port": port}
    base.update({"datamode": "stream", "datatype": "buffer", "newline": "", "topic": "", "base64": False})
    base.update(config)
    return [{**base, "wires": [["n2"]]}, {"id": "n2", "type": "helper"}]


async def received(h: FlowTestHarness, count: int) -> list:
    return [m["payload"] for m in await h.node("n2").inputs(count, timeout=WAIT)]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# ------------------------------------------------------------------ tcp in, server (31-tcpin_spec.js)
SERVER_CASES = [
    ("stream-buffer", {}, ["foo"], [b"foo"]),
    ("stream-string-newline", {"datatype": "utf8", "newline": "\n"}, ["foo\nbar"], ["foo", "bar"]),
    ("stream-string-o-newline", {"datatype": "utf8", "newline": "o\n"}, ["foo\nbar"], ["fo", "bar"]),
    (
        "stream-string-o-newline-reattach",
        {"datatype": "utf8", "newline": "o\n", "trim": True},
        ["foo\nbar"],
        ["foo\n", "bar"],
    ),
    ("stream-string-no-delimiter", {"datatype": "utf8"}, ["foo\nbar"], ["foo\nbar"]),
    ("stream-base64", {"datatype": "base64"}, ["foo"], [b64("foo")]),
    ("single-buffer", {"datamode": "single"}, ["foo"], [b"foo"]),
    (
        "single-string",
        {"datamode": "single", "datatype": "utf8", "newline": "\n"},
        ["foo\nbar\nbaz"],
        ["foo\nbar\nbaz"],
    ),
    ("single-base64", {"datamode": "single", "datatype": "base64"}, ["foo"], [b64("foo")]),
    ("multiple-stream-buffer", {}, ["foo", "bar"], [b"foo", b"bar"]),
    (
        "multiple-stream-string-newline",
        {"datatype": "utf8", "newline": "\n"},
        ["foo", "bar\nbaz"],
        ["foo", "bar", "baz"],
    ),
    ("multiple-stream-string-no-delimiter", {"datatype": "utf8"}, ["foo", "bar\nbaz"], ["foo", "bar\nbaz"]),
    ("multiple-stream-base64", {"datatype": "base64"}, ["foo", "bar"], [b64("foo"), b64("bar")]),
]


@pytest.mark.parametrize(
    ("config", "sent", "expected"), [c[1:] for c in SERVER_CASES], ids=[c[0] for c in SERVER_CASES]
)
async def test_tcp_in_server_receives(config, sent, expected):
    port = free_port()
    async with FlowTestHarness(tcp_in(port, **config)) as h:
        await send_each(port, sent)
        assert await received(h, len(expected)) == expected


CLIENT_CASES = [
    ("stream-buffer", {}, ["foo"], [b"foo"]),
    ("stream-string-newline", {"datatype": "utf8", "newline": "\n"}, ["foo\nbar"], ["foo", "bar"]),
    ("stream-string-no-delimiter", {"datatype": "utf8"}, ["foo\nbar"], ["foo\nbar"]),
    ("stream-base64", {"datatype": "base64"}, ["foo"], [b64("foo")]),
    ("single-buffer", {"datamode": "single"}, ["foo"], [b"foo"]),
    (
        "single-string",
        {"datamode": "single", "datatype": "utf8", "newline": "\n"},
        ["foo\nbar\nbaz"],
        ["foo\nbar\nbaz"],
    ),
    ("single-base64", {"datamode": "single", "datatype": "base64"}, ["foo"], [b64("foo")]),
]


@pytest.mark.parametrize(
    ("config", "sent", "expected"), [c[1:] for c in CLIENT_CASES], ids=[c[0] for c in CLIENT_CASES]
)
async def test_tcp_in_client_connects_and_receives(config, sent, expected):
    async with Peer(writes_then_ends(sent)) as peer:
        flow = tcp_in(peer.port, server="client", host="127.0.0.1", **config)
        async with FlowTestHarness(flow) as h:
            assert (await received(h, len(expected)))[: len(expected)] == expected


# ------------------------------------------------------------------ tcp in: message shape, escapes, status
async def test_tcp_in_message_has_topic_ip_port_and_session():
    port = free_port()
    async with FlowTestHarness(tcp_in(port, topic="t1", datatype="utf8")) as h:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        local_port = writer.get_extra_info("sockname")[1]
        writer.write(b"hi")
        msg = await h.node("n2").next_input(WAIT)
        assert msg["topic"] == "t1" and msg["payload"] == "hi"
        assert msg["ip"] == "::ffff:127.0.0.1" and msg["port"] == local_port  # dual-stack, as Node
        assert msg["_session"]["type"] == "tcp" and isinstance(msg["_session"]["id"], str)
        writer.close()


async def test_tcp_in_newline_escapes_are_characters():
    port = free_port()
    async with FlowTestHarness(tcp_in(port, datatype="utf8", newline="\\r\\n")) as h:
        await send_each(port, ["a\r\nb\r\nc"])
        assert await received(h, 3) == ["a", "b", "c"]


async def test_tcp_in_utf8_character_split_between_reads_stays_whole():
    port = free_port()
    async with FlowTestHarness(tcp_in(port, datatype="utf8", newline="\n")) as h:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        data = "é\n".encode()
        writer.write(data[:1])
        await writer.drain()
        writer.write(data[1:])
        await writer.drain()
        assert await received(h, 1) == ["é"]
        writer.close()


async def test_tcp_in_server_status_counts_connections():
    port = free_port()
    async with FlowTestHarness(tcp_in(port)) as h:
        _, w1 = await asyncio.open_connection("127.0.0.1", port)
        first = await h.node("n1").next_status(WAIT)
        assert first["text"] == "1 connection" and first["event"] == "connect"
        assert first["ip"] == "::ffff:127.0.0.1" and first["_session"]["type"] == "tcp"
        _, w2 = await asyncio.open_connection("127.0.0.1", port)
        assert (await h.node("n1").next_status(WAIT))["text"] == "2 connections"
        w1.close()
        gone = await h.node("n1").next_status(WAIT)
        assert gone["text"] == "1 connection" and gone["event"] == "disconnect"
        w2.close()
        assert (await h.node("n1").next_status(WAIT))["text"] == "0 connections"


async def test_tcp_in_port_in_use_is_a_node_error():
    blocker = socket.socket(socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET)
    blocker.bind(("", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        async with FlowTestHarness(tcp_in(port)) as h:
            err, _ = await h.node("n1").next_error(WAIT)
            assert str(err).startswith(f"unable to listen on port {port}, error: Error: listen EADDRINUSE")
    finally:
        blocker.close()


async def test_tcp_in_client_status_and_reconnect_after_peer_ends():
    async with Peer(writes_then_ends(["x"])) as peer:
        flow = tcp_in(peer.port, server="client", host="127.0.0.1", datamode="single")
        async with FlowTestHarness(flow) as h:
            statuses = h.node("n1")
            assert (await statuses.next_status(WAIT))["text"] == "common.status.connecting"
            connected = await statuses.next_status(WAIT)
            assert connected["fill"] == "green" and connected["text"] == "common.status.connected"
            assert connected["_session"]["type"] == "tcp"
            await received(h, 2)  # the peer ended after data: Node-RED reconnects at once (20 ms)
            assert peer.connections >= 2


async def test_tcp_in_client_retries_after_reconnect_time_when_refused():
    port = free_port()
    flow = tcp_in(port, server="client", host="127.0.0.1")
    async with FlowTestHarness(flow, clock="virtual", settings={"socketReconnectTime": 5000}) as h:
        node = h.node("n1")
        assert (await node.next_status(WAIT))["text"] == "common.status.connecting"
        lost = await node.next_status(WAIT)
        assert lost == {"fill": "red", "shape": "ring", "text": "common.status.disconnected"}
        assert any("connection lost to 127.0.0.1:" in r.text for r in h.logs)
        assert h.clock.next_due() == pytest.approx(5.0)
        await h.clock.advance(5.0)
        assert (await node.next_status(WAIT))["text"] == "common.status.connecting"


async def test_tcp_in_peer_ending_mid_message_sends_the_rest():
    port = free_port()
    async with FlowTestHarness(tcp_in(port, datatype="utf8", newline="\n")) as h:
        await send_each(port, ["whole\npart"])
        assert await received(h, 2) == ["whole", "part"]


async def test_tcp_in_peer_resetting_mid_message_drops_the_rest_and_keeps_serving():
    port = free_port()
    async with FlowTestHarness(tcp_in(port, datatype="utf8", newline="\n")) as h:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"whole\npart")
        await writer.drain()
        assert await received(h, 1) == ["whole"]
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # a reset (RST), not an orderly end: Node-RED sends no 'end' data
        while h.node("n1").node.count:
            await h.node("n1").next_status(WAIT)
        await send_each(port, ["next\n"])
        assert await received(h, 2) == ["whole", "next"]


async def test_tcp_in_flood_of_connections_all_delivered_and_released():
    port = free_port()
    count = 200
    async with FlowTestHarness(tcp_in(port, datamode="single", datatype="utf8")) as h:

        async def one(i):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"m{i}".encode())
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        await asyncio.gather(*(one(i) for i in range(count)))
        payloads = await received(h, count)
        assert sorted(payloads) == sorted(f"m{i}" for i in range(count))
        while h.node("n1").node.count:
            await h.node("n1").next_status(WAIT)
        assert h.node("n1").node.count == 0


async def test_tcp_in_socket_timeout_setting_closes_idle_sockets():
    port = free_port()
    async with FlowTestHarness(tcp_in(port), clock="virtual", settings={"socketTimeout": 2000}) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await h.node("n1").next_status(WAIT))["text"] == "1 connection"
        await h.clock.advance(2.0)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # the node closed it
        assert (await h.node("n1").next_status(WAIT))["text"] == "0 connections"
        assert any(r.text == f"timeout closed socket port {port}" for r in h.logs)
        writer.close()


# ------------------------------------------------------------------ tcp out
def tcp_out(**config) -> list[dict]:
    return [{"id": "o1", "type": "tcp out", "wires": [], **config}]


async def test_tcp_out_reply_answers_the_session_that_sent():
    port = free_port()
    flow = tcp_in(port, datatype="utf8", newline="\n", trim=True)  # an echo: each line back to its sender
    flow[0]["wires"] = [["o1"]]
    flow = [flow[0], *tcp_out(beserver="reply")]
    async with FlowTestHarness(flow):
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(b"one\n")
        assert await asyncio.wait_for(r1.readline(), WAIT) == b"one\n"
        w2.write(b"two\n")
        assert await asyncio.wait_for(r2.readline(), WAIT) == b"two\n"
        w1.write(b"three\n")  # had "two" gone to the first client too, it would come first
        assert await asyncio.wait_for(r1.readline(), WAIT) == b"three\n"
        w1.close()
        w2.close()


async def test_tcp_out_reply_without_session_writes_to_every_connection_and_reset_closes():
    port = free_port()
    flow = tcp_in(port) + tcp_out(beserver="reply", base64=True)
    async with FlowTestHarness(flow) as h:
        peers = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        while h.node("n1").node.count < 2:
            await h.node("n1").next_status(WAIT)
        h.node("o1").receive({"payload": b64("all")})
        for reader, _ in peers:
            assert await asyncio.wait_for(reader.readexactly(3), WAIT) == b"all"
        h.node("o1").receive({"reset": True})
        for reader, writer in peers:
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
                await asyncio.wait_for(reader.readexactly(1), WAIT)
            writer.close()


async def test_tcp_out_payload_encodings():
    async with Peer(ack_handler) as peer:
        received_data = asyncio.Queue()

        async def collect(reader, writer):
            while data := await reader.read(65536):
                await received_data.put(data)

        peer.handler = collect
        async with FlowTestHarness(tcp_out(host="127.0.0.1", port=peer.port, beserver="client")) as h:
            while (await h.node("o1").next_status(WAIT))["text"] != "common.status.connected":
                pass
            got = b""
            for payload in (b"\x00\x01", "text", 42, {"a": 1}):
                h.node("o1").receive({"payload": payload})
            while len(got) < len(b"\x00\x01text42[object Object]"):
                got += await asyncio.wait_for(received_data.get(), WAIT)
            assert got == b"\x00\x01text42[object Object]"


async def test_tcp_out_client_end_closes_after_each_message_and_reconnects():
    lines = asyncio.Queue()

    async def collect(reader, writer):
        await lines.put(await reader.read())  # until the node closes

    async with Peer(collect) as peer:
        flow = tcp_out(host="127.0.0.1", port=peer.port, beserver="client", end=True)
        async with FlowTestHarness(flow) as h:
            node = h.node("o1")
            for text in ("a", "b"):
                while (await node.next_status(WAIT)).get("text") != "common.status.connected":
                    pass
                node.receive({"payload": text})
                assert await asyncio.wait_for(lines.get(), WAIT) == text.encode()
            assert peer.connections >= 2


async def test_tcp_out_client_drops_message_while_not_connected():
    port = free_port()
    flow = tcp_out(host="127.0.0.1", port=port, beserver="client")
    flow += [
        {"id": "c1", "type": "complete", "scope": ["o1"], "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow, clock="virtual") as h:
        while (await h.node("o1").next_status(WAIT))["text"] != "common.status.disconnected":
            pass
        h.node("o1").receive({"payload": "lost"})
        assert (await h.node("n2").next_input(WAIT))["payload"] == "lost"  # done, not an error
        assert h.node("o1").errors == []


async def test_tcp_out_server_sends_to_all_clients_and_end_closes_them():
    port = free_port()
    async with FlowTestHarness(tcp_out(port=port, beserver="server", end=True)) as h:
        node = h.node("o1")
        assert (await node.next_status(WAIT))["text"] == "0 connections"
        peers = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        while (await node.next_status(WAIT))["text"] != "3 connections":
            pass
        node.receive({"payload": "bye"})
        for reader, writer in peers:
            assert await asyncio.wait_for(reader.read(), WAIT) == b"bye"  # then the end
            writer.close()
        while (await node.next_status(WAIT))["text"] != "0 connections":
            pass


# ------------------------------------------------------------------ tcp request (31-tcprequest_spec.js)
def tcp_request(port, **config) -> list[dict]:
    base = {
        "id": "n1",
        "type": "tcp request",
        "server": "127.0.0.1",
        "port": port,
        "out": "time",
        "splitc": "0",
    }
    return [{**base, **config, "wires": [["n2"]]}, {"id": "n2", "type": "helper"}]


def expect_payload(msg: dict, payload, **others) -> None:
    assert msg["payload"] == payload
    for key, value in others.items():
        assert msg[key] == value


SINGLE = [
    ("send-recv", {}, {"payload": "foo", "topic": "bar"}, b"ACK:foo"),
    ("retain-message", {}, {"payload": "foo", "topic": "bar"}, b"ACK:foo"),
    ("char", {"out": "char", "splitc": "0"}, {"payload": "foo0bar0", "topic": "bar"}, b"ACK:foo0"),
    ("count", {"out": "count", "splitc": "7"}, {"payload": "foo bar", "topic": "bar"}, b"ACK:foo"),
    ("keep", {"out": "sit", "splitc": "5"}, {"payload": "foo", "topic": "bar"}, b"ACK:foo"),
]


@pytest.mark.parametrize(("config", "sent", "expected"), [c[1:] for c in SINGLE], ids=[c[0] for c in SINGLE])
async def test_tcp_request_single_message(config, sent, expected):
    async with Peer(ack_handler) as peer, FlowTestHarness(tcp_request(peer.port, **config)) as h:
        h.node("n1").receive(dict(sent))
        expect_payload(await h.node("n2").next_input(WAIT), expected, topic="bar")


async def test_tcp_request_host_and_port_from_message():
    async with Peer(ack_handler) as peer, FlowTestHarness(tcp_request("", server="")) as h:
        h.node("n1").receive({"payload": "foo", "host": "localhost", "port": peer.port})
        expect_payload(await h.node("n2").next_input(WAIT), b"ACK:foo", host="localhost", port=peer.port)


MANY = [
    ("send-recv", {}, [{"payload": c, "topic": "bar"} for c in "foo"], b"ACK:foo", {"topic": "bar"}),
    (
        "char",
        {"out": "char", "splitc": "0"},
        [{"payload": "foo0", "topic": "bar"}, {"payload": "bar0", "topic": "bar"}],
        b"ACK:foo0",
        {"topic": "bar"},
    ),
    (
        "count",
        {"out": "count", "splitc": "7"},
        [{"payload": p, "topic": "bar"} for p in ("fo", "ob", "ar")],
        b"ACK:foo",
        {"topic": "bar"},
    ),
    (
        "keep",
        {"out": "sit", "splitc": "5"},
        [{"payload": p, "topic": "bar"} for p in ("foo", "bar", "baz")],
        b"ACK:foobarbaz",
        {"topic": "bar"},
    ),
    (
        "keep-string-not-split",
        {"out": "sit", "ret": "string", "newline": ""},
        [{"payload": "foo", "topic": "boo"}, {"payload": "bar<A>\nfoo", "topic": "boo"}],
        "ACK:foobar<A>\nfoo",
        {"topic": "boo"},
    ),
    (
        "keep-string-split",
        {"out": "sit", "ret": "string", "newline": "<A>\\n"},
        [{"payload": "foo", "topic": "boo"}, {"payload": "bar<A>\nfoo", "topic": "boo"}],
        "ACK:foobar",
        {"topic": "boo"},
    ),
    (
        "keep-string-split-reattach",
        {"out": "sit", "ret": "string", "newline": "<A>\\n", "trim": True},
        [{"payload": "foo", "topic": "boo"}, {"payload": "bar<A>\nfoo", "topic": "boo"}],
        "ACK:foobar<A>\n",
        {"topic": "boo"},
    ),
    (
        "only-latest-message-retained",
        {},
        [
            {"payload": "f", "topic": "bar"},
            {"payload": "o", "topic": "baz"},
            {"payload": "o", "topic": "quux"},
        ],
        b"ACK:foo",
        {"topic": "quux"},
    ),
]


@pytest.mark.parametrize(
    ("config", "sent", "expected", "others"), [c[1:] for c in MANY], ids=[c[0] for c in MANY]
)
async def test_tcp_request_many_messages(config, sent, expected, others):
    async with Peer(ack_handler) as peer, FlowTestHarness(tcp_request(peer.port, **config)) as h:
        for msg in sent:
            h.node("n1").receive(dict(msg))
        expect_payload(await h.node("n2").next_input(WAIT), expected, **others)


async def test_tcp_request_many_messages_host_and_port_from_message():
    async with Peer(ack_handler) as peer, FlowTestHarness(tcp_request("", server="")) as h:
        for c in "foo":
            h.node("n1").receive({"payload": c, "host": "localhost", "port": peer.port})
        expect_payload(await h.node("n2").next_input(WAIT), b"ACK:foo", host="localhost", port=peer.port)


async def test_tcp_request_limits_the_queue_size():
    flow_settings = {"tcpMsgQueueSize": 10}
    async with Peer(ack_handler) as peer:
        async with FlowTestHarness(
            tcp_request(peer.port, out="sit", splitc="5"), settings=flow_settings
        ) as h:
            for _ in range(11):
                h.node("n1").receive({"payload": "x"})
            assert (await h.node("n2").next_input(WAIT))["payload"] == b"ACK:" + b"x" * 10


# ------------------------------------------------------------------ tcp request: modes, errors, status
async def test_tcp_request_timeout_runs_on_the_clock():
    async def two_parts(reader, writer):
        await reader.read(100)
        writer.write(b"part1")
        await writer.drain()
        await reader.read(100)  # the test says when to send more
        writer.write(b"part2")
        await writer.drain()
        await reader.read(100)

    async with Peer(two_parts) as peer:
        async with FlowTestHarness(tcp_request(peer.port, splitc="500", ret="string"), clock="virtual") as h:
            h.node("n1").receive({"payload": "go"})
            await until(lambda: h.clock.pending)  # the first reply bytes start the timer
            await h.clock.advance(0.499)
            assert h.node("n2").received == []
            await h.clock.advance(0.001)
            assert (await h.node("n2").next_input(WAIT))["payload"] == "part1"


async def test_tcp_request_immediately_sends_no_reply_and_closes():
    got = asyncio.Queue()

    async def collect(reader, writer):
        await got.put(await reader.read())

    flow = tcp_request(0, out="immed")
    flow.append({"id": "c1", "type": "complete", "scope": ["n1"], "wires": [["n3"]]})
    flow.append({"id": "n3", "type": "helper"})
    async with Peer(collect) as peer:
        flow[0]["port"] = peer.port
        async with FlowTestHarness(flow) as h:
            h.node("n1").receive({"payload": "fire"})
            assert await asyncio.wait_for(got.get(), WAIT) == b"fire"
            assert (await h.node("n3").next_input(WAIT))["payload"] == "fire"
            assert h.node("n2").received == []
            assert h.node("n1").node.clients == {}


async def test_tcp_request_connection_refused_is_an_error_catch_sees():
    port = free_port()
    flow = tcp_request(port)
    flow += [
        {"id": "c1", "type": "catch", "scope": ["n1"], "wires": [["n3"]]},
        {"id": "n3", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "x", "topic": "t"})
        caught = await h.node("n3").next_input(WAIT)
        assert caught["error"]["message"] == f"connect failed 127.0.0.1:{port}"
        assert caught["topic"] == "t"
        statuses = [s.get("text") for s in h.node("n1").statuses]
        assert "common.status.error" in statuses


async def test_tcp_request_without_host_warns():
    async with FlowTestHarness(tcp_request("", server="")) as h:
        h.node("n1").receive({"payload": "x"})
        record = await h.node("n1").next_log("warn", WAIT)
        assert record.text == "Host and/or port not set"


async def test_tcp_request_keep_connection_reset_closes_and_reports_count():
    async with Peer(ack_handler) as peer, FlowTestHarness(tcp_request(peer.port, out="sit")) as h:
        node = h.node("n1")
        node.receive({"payload": "a"})
        assert (await h.node("n2").next_input(WAIT))["payload"] == b"ACK:a"
        node.receive({"reset": True})
        while (status := await node.next_status(WAIT)).get("text") != "0 connections":
            pass
        assert status == {"fill": "green", "shape": "ring", "text": "0 connections"}
        node.receive({"payload": "b"})  # a new connection
        assert (await h.node("n2").next_input(WAIT))["payload"] == b"ACK:b"
        assert peer.connections == 2


async def test_tcp_request_char_escape_and_hex():
    async with Peer(ack_handler) as peer:
        for splitc in ("\\n", "0x0a"):
            async with FlowTestHarness(tcp_request(peer.port, out="char", splitc=splitc, ret="string")) as h:
                h.node("n1").receive({"payload": "ab\ncd\n"})
                assert (await h.node("n2").next_input(WAIT))["payload"] == "ACK:ab\n"


async def test_tcp_request_peer_closing_mid_reply_then_next_request_reconnects():
    async def half_then_close(reader, writer):
        await reader.read(100)
        writer.write(b"ha")
        await writer.drain()
        writer.close()

    async with Peer(half_then_close) as peer:
        async with FlowTestHarness(tcp_request(peer.port, out="count", splitc="4")) as h:
            h.node("n1").receive({"payload": "x"})
            while (await h.node("n1").next_status(WAIT)).get("text") != "common.status.disconnected":
                pass
            peer.handler = ack_handler
            h.node("n1").receive({"payload": "y"})
            assert (await h.node("n2").next_input(WAIT))["payload"] == b"ACK:"


# ------------------------------------------------------------------ sockets released
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc/self/fd to count sockets")
async def test_stop_and_redeploy_release_every_socket():
    async with Peer(ack_handler) as peer:
        port_in, port_out = free_port(), free_port()
        flow = (
            tcp_in(port_in)
            + [{"id": "o1", "type": "tcp out", "beserver": "server", "port": port_out, "wires": []}]
            + [
                {
                    "id": "o2",
                    "type": "tcp out",
                    "beserver": "client",
                    "host": "127.0.0.1",
                    "port": peer.port,
                    "wires": [],
                }
            ]
            + [
                {
                    "id": "r1",
                    "type": "tcp request",
                    "server": "127.0.0.1",
                    "port": peer.port,
                    "out": "sit",
                    "wires": [["n2"]],
                }
            ]
        )
        before = open_fds()
        h = FlowTestHarness(flow, http=False)
        await h.start()
        clients = [await asyncio.open_connection("127.0.0.1", p) for p in (port_in, port_in, port_out)]
        h.node("r1").receive({"payload": "x"})
        await h.node("n2").next_input(WAIT)
        await until(lambda: peer.connections >= 2)
        await h.redeploy([{"id": "n2", "type": "helper", "wires": []}])
        for reader, writer in clients:  # every connection the nodes held is closed by them
            assert await asyncio.wait_for(reader.read(), WAIT) == b""
            writer.close()
            await writer.wait_closed()
        await until(lambda: not peer.active)  # the peer's ends of the node's connections
        assert open_fds() <= before
        await h.stop()
        assert open_fds() <= before
        for p in (port_in, port_out):  # the ports are free again
            with socket.socket() as probe:  # (TIME_WAIT remains: only a listener would refuse)
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", p))
                probe.listen()


# ------------------------------------------------------------------ end to end
async def test_flowrt_run_tcp_echo_server(tmp_path):
    port = free_port()
    flow = [
        {"id": "t1", "type": "tab", "label": "echo"},
        {
            "id": "in",
            "type": "tcp in",
            "z": "t1",
            "server": "server",
            "port": port,
            "datamode": "stream",
            "datatype": "utf8",
            "newline": "\\n",
            "trim": True,
            "wires": [["out"]],
        },
        {"id": "out", "type": "tcp out", "z": "t1", "beserver": "reply", "wires": []},
    ]
    path = tmp_path / "echo.json"
    import json

    path.write_text(json.dumps(flow))
    async with FlowProcess([path]) as proc:
        await proc.wait_for_line(f"listening on port {port}", WAIT)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for line in (b"hello\n", b"again\n"):
            writer.write(line)
            assert await asyncio.wait_for(reader.readline(), WAIT) == line
        writer.close()


async def test_example_flow_tcp_echo():
    import aiohttp

    from flowrt.formats.document import load_deployment

    port = free_port()
    nodes = load_deployment([Path(__file__).parents[3] / "flows" / "examples" / "tcp-echo.yaml"]).nodes
    for node in nodes:
        if node.get("type") in ("tcp in", "tcp request"):
            node["port"] = str(port)
    async with FlowTestHarness(nodes) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\n")
        assert await asyncio.wait_for(reader.readline(), WAIT) == b"HELLO\n"
        writer.close()
        async with aiohttp.ClientSession() as session, session.get(h.url("/ask?text=hi")) as response:
            assert response.status == 200 and await response.text() == "HI\n"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_tls_server_and_tls_request(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    tls = {"id": "tls1", "type": "tls-config", "cert": str(cert), "key": str(key), "ca": str(cert)}
    flow = [
        tls,
        {
            "id": "srv",
            "type": "tcp in",
            "server": "server",
            "port": port,
            "datatype": "utf8",
            "newline": "\\n",
            "trim": True,
            "tls": "tls1",
            "wires": [["reply"]],
        },
        {"id": "reply", "type": "tcp out", "beserver": "reply", "wires": []},
        *tcp_request(port, out="char", splitc="\\n", ret="string", tls="tls1"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "secret\n"})
        assert (await h.node("n2").next_input(WAIT))["payload"] == "secret\n"
        plain_reader, plain_writer = await asyncio.open_connection("127.0.0.1", port)
        plain_writer.write(b"not tls\n")  # a client without TLS gets no answer, the server goes on
        assert await asyncio.wait_for(plain_reader.read(), WAIT) == b""
        h.node("n1").receive({"payload": "again\n"})
        assert (await h.node("n2").next_input(WAIT))["payload"] == "again\n"
