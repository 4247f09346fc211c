"""WebSocket nodes: Node-RED's 22-websocket_spec.js ported (real sockets on 127.0.0.1, aiohttp
clients against flowrt's listener, flowrt's client against an aiohttp server the test starts),
then faults: a peer closing mid-frame, an oversize frame, a flood of connections, a server down
for the client, sockets released on stop and redeploy."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from flowrt.testing import FlowProcess, FlowTestHarness, free_port

REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 10


def ws_url(h: FlowTestHarness, path: str) -> str:
    return h.url(path).replace("http://", "ws://", 1)


def node(h: FlowTestHarness, node_id: str):
    return h.runtime.get_node(node_id)


async def receive(ws, timeout: float = TIMEOUT):
    return await asyncio.wait_for(ws.receive(), timeout)


async def wait_until(predicate, what: str, timeout: float = TIMEOUT) -> None:
    """Wait for a condition driven by socket events (checked each loop turn), not for a time."""

    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class Peer:
    """A real aiohttp WebSocket server for flowrt's websocket-client to connect to."""

    def __init__(
        self, port: int | None = None, protocols: tuple[str, ...] = (), autoping: bool = True
    ) -> None:
        self.port = port or free_port()
        self.autoping = autoping  # False: pings reach `received` and get no pong
        self.protocols = protocols
        self.connections: asyncio.Queue = asyncio.Queue()
        self.received: asyncio.Queue = asyncio.Queue()
        self.sockets: list[web.WebSocketResponse] = []
        self.headers: list[dict] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=self.protocols, autoping=self.autoping)
        await ws.prepare(request)
        self.sockets.append(ws)
        self.headers.append(dict(request.headers))
        await self.connections.put(ws)
        async for item in ws:
            await self.received.put(item)
        return ws

    async def start(self) -> Peer:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        return self

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Peer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        yield s


# ----- websocket-listener (spec: describe 'websocket-listener') ---------------------------------


async def test_listener_loads_with_path_and_is_server():
    flow = [{"id": "n1", "type": "websocket-listener", "path": "/ws"}]
    async with FlowTestHarness(flow) as h:
        assert node(h, "n1").path == "/ws"
        assert node(h, "n1").is_server is True


async def test_listener_wholemsg_property():
    flow = [
        {"id": "n1", "type": "websocket-listener", "path": "/ws"},
        {"id": "n2", "type": "websocket-listener", "path": "/ws2", "wholemsg": "true"},
    ]
    async with FlowTestHarness(flow) as h:
        assert node(h, "n1").wholemsg is False
        assert node(h, "n2").wholemsg is True


async def test_listener_creates_socket(session):
    flow = [
        {"id": "n1", "type": "websocket-listener", "path": "/ws"},
        {"id": "n2", "type": "websocket in", "server": "n1"},
    ]
    async with FlowTestHarness(flow) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            assert not ws.closed
            status = await h.node("n2").next_status()
            assert status["text"] == "connected 1" and status["event"] == "connect"


async def test_listener_closes_socket_on_delete(session):
    flow = [{"id": "n1", "type": "websocket-listener", "path": "/ws"}]
    async with FlowTestHarness(flow) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await wait_until(lambda: len(node(h, "n1").clients) == 1, "the connection")
            await h.redeploy([])
            msg = await receive(ws)
            assert (msg.type, msg.data) == (WSMsgType.CLOSE, 1001)


def in_flow(**listener):
    return [
        {"id": "n1", "type": "websocket-listener", "path": "/ws", **listener},
        {"id": "n2", "type": "websocket in", "server": "n1", "wires": [["n3"]]},
        {"id": "n3", "type": "helper"},
    ]


async def test_listener_receives_data_with_session(session):
    async with FlowTestHarness(in_flow()) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str("hello")
            msg = await h.node("n3").next_input()
            assert msg["payload"] == "hello"
            (conn_id,) = node(h, "n1").clients
            assert msg["_session"] == {"type": "websocket", "id": conn_id}
            await ws.send_bytes(b"\x00\x01")
            assert (await h.node("n3").next_input())["payload"] == b"\x00\x01"


async def test_listener_receives_wholemsg(session):
    async with FlowTestHarness(in_flow(wholemsg="true")) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str('{"text":"hello"}')
            msg = await h.node("n3").next_input()
            assert msg["text"] == "hello" and msg["_session"]["type"] == "websocket"


async def test_listener_receives_wholemsg_when_data_not_json(session):
    async with FlowTestHarness(in_flow(wholemsg="true")) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str("hello")
            assert (await h.node("n3").next_input())["payload"] == "hello"


async def test_listener_receives_wholemsg_when_data_not_object(session):
    async with FlowTestHarness(in_flow(wholemsg="true")) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str("123")
            assert (await h.node("n3").next_input())["payload"] == 123
            await ws.send_str("[1,2]")  # Node-RED would send the array as outputs; we keep it whole
            assert (await h.node("n3").next_input())["payload"] == [1, 2]


def out_flow(**listener):
    return [
        {"id": "n1", "type": "websocket-listener", "path": "/ws", **listener},
        {"id": "n2", "type": "helper", "wires": [["n3"]]},
        {"id": "n3", "type": "websocket out", "server": "n1"},
    ]


async def connected(h: FlowTestHarness, session, count: int = 1, listener: str = "n1") -> list:
    sockets = [await session.ws_connect(ws_url(h, "/ws")) for _ in range(count)]
    await wait_until(lambda: len(node(h, listener).clients) == count, f"{count} connection(s)")
    return sockets


async def test_listener_sends(session):
    async with FlowTestHarness(out_flow()) as h:
        (ws,) = await connected(h, session)
        h.node("n2").node.send({"payload": "hello"})
        msg = await receive(ws)
        assert (msg.type, msg.data) == (WSMsgType.TEXT, "hello")
        h.node("n2").node.send({"payload": b"hello"})
        msg = await receive(ws)
        assert (msg.type, msg.data) == (WSMsgType.BINARY, b"hello")
        h.node("n2").node.send({"payload": {"a": 1.0, "b": [True, None]}})
        assert (await receive(ws)).data == '{"a":1,"b":[true,null]}'
        h.node("n2").node.send({"payload": 0})
        assert (await receive(ws)).data == "0"
        await ws.close()


async def test_listener_sends_wholemsg(session):
    async with FlowTestHarness(out_flow(wholemsg="true")) as h:
        (ws,) = await connected(h, session)
        h.node("n2").node.send({"text": "hello", "_session": {"type": "other", "id": "x"}})
        sent = json.loads((await receive(ws)).data)
        assert sent["text"] == "hello" and "_session" not in sent
        await ws.close()


async def test_listener_does_nothing_without_payload(session):
    async with FlowTestHarness(out_flow()) as h:
        (ws,) = await connected(h, session)
        h.node("n2").node.send({"topic": "hello"})
        h.node("n2").node.send({"payload": ""})  # Node-RED: `if (payload)`: an empty string is not sent
        h.node("n2").node.send({"payload": "after"})
        assert (await receive(ws)).data == "after"
        assert not [r for r in h.logs if r.level in ("warn", "error")]
        await ws.close()


def echo_flow(**listener):
    return [
        {"id": "n1", "type": "websocket-listener", "path": "/ws", **listener},
        {"id": "n2", "type": "websocket in", "server": "n1", "wires": [["n3"]]},
        {"id": "n3", "type": "websocket out", "server": "n1"},
    ]


async def test_listener_echoes(session):
    async with FlowTestHarness(echo_flow()) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str("hello")
            assert (await receive(ws)).data == "hello"


async def test_listener_echoes_wholemsg(session):
    async with FlowTestHarness(echo_flow(wholemsg="true")) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str('{"text":"hello"}')
            echoed = json.loads((await receive(ws)).data)
            assert echoed["text"] == "hello" and "_session" not in echoed


async def test_echo_answers_only_the_sender(session):
    async with FlowTestHarness(echo_flow()) as h:
        a, b = await connected(h, session, 2)
        await a.send_str("from a")
        await b.send_str("from b")
        assert (await receive(a)).data == "from a"
        assert (await receive(b)).data == "from b"
        await a.close()
        await b.close()


async def test_listener_broadcasts(session):
    flow = [
        {"id": "n1", "type": "websocket-listener", "path": "/ws"},
        {"id": "n2", "type": "websocket out", "server": "n1"},
        {"id": "n3", "type": "helper", "wires": [["n2"]]},
    ]
    async with FlowTestHarness(flow) as h:
        socks = await connected(h, session, 2)
        h.node("n3").node.send({"payload": "hello"})
        for ws in socks:
            assert (await receive(ws)).data == "hello"
            await ws.close()


async def test_listener_status_counts_connections(session):
    async with FlowTestHarness(echo_flow()) as h:
        a, b = await connected(h, session, 2)
        await a.close()
        await wait_until(lambda: len(node(h, "n1").clients) == 1, "one connection left")
        await b.close()
        await wait_until(lambda: not node(h, "n1").clients, "no connection left")
        texts = [(s["event"], s["text"], s["fill"], s["shape"]) for s in h.node("n2").statuses]
        assert texts == [
            ("connect", "connected 1", "green", "dot"),
            ("connect", "connected 2", "green", "dot"),
            ("disconnect", "connected 1", "green", "dot"),
            ("disconnect", "common.status.disconnected", "red", "ring"),
        ]
        assert h.node("n3").statuses == h.node("n2").statuses  # websocket out shows the same
        ids = [s["_session"]["id"] for s in h.node("n2").statuses]
        assert ids[0] == ids[2] or ids[0] == ids[3]


async def test_listener_shares_the_port_and_path_with_http_in(session):
    flow = [
        *echo_flow(),
        {"id": "get", "type": "http in", "url": "/ws", "method": "get", "wires": [["answer"]]},
        {
            "id": "answer",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "plain", "tot": "str"}],
            "wires": [["res"]],
        },
        {"id": "res", "type": "http response"},
    ]
    async with FlowTestHarness(flow) as h:
        async with session.get(h.url("/ws")) as r:
            assert (r.status, await r.text()) == (200, "plain")
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str("hi")
            assert (await receive(ws)).data == "hi"


async def test_listener_under_http_node_root(session):
    async with FlowTestHarness(echo_flow(), settings={"httpNodeRoot": "/api"}) as h:
        assert node(h, "n1").full_path == "/api/ws"
        async with session.ws_connect(ws_url(h, "/api/ws")) as ws:
            await ws.send_str("hi")
            assert (await receive(ws)).data == "hi"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(ws_url(h, "/ws"))


async def test_two_listeners_on_one_path_is_node_reds_error():
    flow = [
        {"id": "n1", "type": "websocket-listener", "path": "/ws"},
        {"id": "n2", "type": "websocket-listener", "path": "/ws"},
    ]
    async with FlowTestHarness(flow) as h:
        errors = [r.text for r in h.logs if r.level == "error"]
        assert any("Cannot have two WebSocket listeners on the same path: /ws" in e for e in errors), errors
        assert node(h, "n1") is not None and node(h, "n2") is None


async def test_listener_accepts_the_first_offered_subprotocol(session):
    async with FlowTestHarness(echo_flow()) as h:
        async with session.ws_connect(ws_url(h, "/ws"), protocols=("p1", "p2")) as ws:
            assert ws.protocol == "p1"


async def test_two_in_nodes_get_their_own_copy(session):
    flow = [
        {"id": "n1", "type": "websocket-listener", "path": "/ws", "wholemsg": "true"},
        {"id": "a", "type": "websocket in", "server": "n1", "wires": [["ha"]]},
        {"id": "b", "type": "websocket in", "server": "n1", "wires": [["hb"]]},
        {"id": "ha", "type": "helper"},
        {"id": "hb", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str('{"payload":{"x":1}}')
            first, second = await h.node("ha").next_input(), await h.node("hb").next_input()
            assert first["payload"] == second["payload"] == {"x": 1}
            assert first["payload"] is not second["payload"]


# ----- websocket-client (spec: describe 'websocket-client') -------------------------------------


async def test_client_loads_and_is_not_server():
    flow = [
        {"id": "server", "type": "websocket-listener", "path": "/ws"},
        {"id": "n1", "type": "websocket-client", "path": "ws://127.0.0.1:9/ws"},
    ]
    async with FlowTestHarness(flow) as h:
        assert node(h, "n1").path == "ws://127.0.0.1:9/ws"
        assert node(h, "n1").is_server is False
        assert node(h, "n1").connection is None and node(h, "n1")._task is None  # unused: no connection


async def test_client_wholemsg_and_protocol_properties():
    flow = [
        {"id": "n1", "type": "websocket-client", "path": "ws://127.0.0.1:9/ws"},
        {
            "id": "n2",
            "type": "websocket-client",
            "path": "ws://127.0.0.1:9/ws",
            "wholemsg": "true",
            "subprotocol": "testprotocol1, testprotocol2",
        },
    ]
    async with FlowTestHarness(flow) as h:
        assert node(h, "n1").wholemsg is False and node(h, "n2").wholemsg is True
        assert node(h, "n1").subprotocol == []
        assert node(h, "n2").subprotocol == ["testprotocol1", "testprotocol2"]


async def test_client_url_must_be_ws():
    flow = [{"id": "n1", "type": "websocket-client", "path": "http://127.0.0.1/ws"}]
    async with FlowTestHarness(flow) as h:
        assert node(h, "n1") is None
        assert any("must start with ws:// or wss://" in r.text for r in h.logs if r.level == "error")


def client_flow(url: str, **client):
    return [
        {"id": "n1", "type": "websocket-client", "path": url, **client},
        {"id": "in", "type": "websocket in", "client": "n1", "server": "", "wires": [["got"]]},
        {"id": "got", "type": "helper"},
        {"id": "send", "type": "helper", "wires": [["out"]]},
        {"id": "out", "type": "websocket out", "client": "n1", "server": ""},
    ]


async def test_client_connects_to_server_with_subprotocol_and_headers():
    async with Peer(protocols=("testprotocol",)) as peer:
        headers = [
            {"keyType": "other", "keyValue": "X-Token", "valueType": "other", "valueValue": "abc"},
            {"keyType": "User-Agent", "keyValue": "", "valueType": "other", "valueValue": "flowrt-test"},
        ]
        flow = [
            {
                "id": "n2",
                "type": "websocket-client",
                "path": peer.url,
                "subprotocol": "testprotocol",
                "headers": headers,
            },
            {"id": "n3", "type": "websocket out", "client": "n2"},
        ]
        async with FlowTestHarness(flow) as h:
            ws = await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            assert ws.ws_protocol == "testprotocol"
            assert peer.headers[0]["X-Token"] == "abc" and peer.headers[0]["User-Agent"] == "flowrt-test"
            status = await h.node("n3").next_status()
            assert (status["event"], status["text"]) == ("connect", "connected ")


async def test_client_against_flowrt_listener_with_subprotocol():
    port = free_port()
    flow = [
        {"id": "server", "type": "websocket-listener", "path": "/ws"},
        {
            "id": "n2",
            "type": "websocket-client",
            "path": f"ws://127.0.0.1:{port}/ws",
            "subprotocol": "testprotocol",
        },
        {"id": "n3", "type": "websocket out", "client": "n2"},
    ]
    async with FlowTestHarness(flow, settings={"uiPort": port}) as h:
        await wait_until(lambda: node(h, "n2").connection is not None, "the client connection")
        (conn,) = node(h, "server").clients.values()
        assert conn.ws.ws_protocol == "testprotocol"


async def test_client_closes_on_delete():
    async with Peer() as peer:
        async with FlowTestHarness(client_flow(peer.url)) as h:
            ws = await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            await h.redeploy([])
            await wait_until(lambda: ws.closed, "the peer to see the close")
            assert peer.connections.empty()  # no reconnection after delete


async def test_client_receives_data():
    async with Peer() as peer:
        async with FlowTestHarness(client_flow(peer.url)) as h:
            ws = await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            await ws.send_str("hello")
            msg = await h.node("got").next_input()
            assert msg["payload"] == "hello"
            assert msg["_session"] == {"type": "websocket", "id": node(h, "n1").connection.id}
            await ws.send_bytes(b"\x01\x02")
            assert (await h.node("got").next_input())["payload"] == b"\x01\x02"


async def test_client_receives_wholemsg_and_not_json():
    async with Peer() as peer:
        async with FlowTestHarness(client_flow(peer.url, wholemsg="true")) as h:
            ws = await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            await ws.send_str('{"text":"hello"}')
            assert (await h.node("got").next_input())["text"] == "hello"
            await ws.send_str("hello")
            assert (await h.node("got").next_input())["payload"] == "hello"


async def client_connected(h: FlowTestHarness, peer: Peer):
    ws = await asyncio.wait_for(peer.connections.get(), TIMEOUT)
    await wait_until(lambda: node(h, "n1").connection is not None, "the client to see the connection")
    return ws


async def test_client_sends_text_buffer_and_wholemsg():
    async with Peer() as peer:
        async with FlowTestHarness(client_flow(peer.url)) as h:
            await client_connected(h, peer)
            h.node("send").node.send({"payload": "hello"})
            item = await asyncio.wait_for(peer.received.get(), TIMEOUT)
            assert (item.type, item.data) == (WSMsgType.TEXT, "hello")
            h.node("send").node.send({"payload": b"hello"})
            item = await asyncio.wait_for(peer.received.get(), TIMEOUT)
            assert (item.type, item.data) == (WSMsgType.BINARY, b"hello")
    async with Peer() as peer:
        async with FlowTestHarness(client_flow(peer.url, wholemsg="true")) as h:
            await client_connected(h, peer)
            h.node("send").node.send({"text": "hello"})
            item = await asyncio.wait_for(peer.received.get(), TIMEOUT)
            assert json.loads(item.data)["text"] == "hello"


async def test_client_does_not_feed_back_more_than_once():
    port = free_port()
    flow = [
        {"id": "server", "type": "websocket-listener", "path": "/ws", "wholemsg": "true"},
        {"id": "client", "type": "websocket-client", "path": f"ws://127.0.0.1:{port}/ws", "wholemsg": "true"},
        {"id": "n1", "type": "websocket in", "client": "client", "wires": [["n2", "output"]]},
        {"id": "n2", "type": "websocket out", "server": "server"},
        {"id": "n3", "type": "helper", "wires": [["n2"]]},
        {"id": "output", "type": "helper"},
    ]
    async with FlowTestHarness(flow, settings={"uiPort": port}) as h:
        await wait_until(lambda: len(node(h, "server").clients) == 1, "the client connection")
        h.node("n3").node.send({"payload": "ping"})
        assert (await h.node("output").next_input())["payload"] == "ping"
        # a feedback of "ping" would be written before this one, on the same socket
        h.node("n3").node.send({"payload": "marker"})
        assert (await h.node("output").next_input())["payload"] == "marker"
        assert [m["payload"] for m in h.node("output").received] == ["ping", "marker"]


async def test_client_send_while_not_connected_warns():
    flow = client_flow(f"ws://127.0.0.1:{free_port()}/ws")
    async with FlowTestHarness(flow) as h:
        h.node("send").node.send({"payload": "hello"})
        record = await h.node("n1").next_log("warn")
        while "while sending" not in record.text:
            record = await h.node("n1").next_log("warn")
        assert record.text == "An error occurred while sending:  Error: WebSocket is not open"


# ----- websocket in / out without a config (spec: 'should report error if no server config') ---


@pytest.mark.parametrize("node_type", ["websocket in", "websocket out"])
async def test_missing_config_is_node_reds_error(node_type):
    async with FlowTestHarness([{"id": "n1", "type": node_type, "mode": "server"}]) as h:
        (err, _msg) = await h.node("n1").next_error()
        assert str(err) == "Missing server configuration"
        assert h.runtime.get_node("n1") is not None
        if node_type == "websocket out":
            h.node("n1").receive({"payload": "x"})  # ignored, as Node-RED registers no input handler


# ----- faults -----------------------------------------------------------------------------------


def raw_upgrade(port: int, path: str = "/ws") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


async def test_peer_closing_mid_frame_disturbs_nothing(session):
    async with FlowTestHarness(echo_flow()) as h:
        port = h.runtime.http.port
        sock = await asyncio.to_thread(raw_upgrade, port)
        await wait_until(lambda: len(node(h, "n1").clients) == 1, "the raw connection")
        # a masked text frame announcing 100 bytes, of which only 10 are sent
        sock.sendall(bytes([0x81, 0x80 | 100]) + os.urandom(4) + b"0123456789")
        sock.close()
        await wait_until(lambda: not node(h, "n1").clients, "the server to drop the connection")
        assert h.node("n2").statuses[-1]["event"] in ("disconnect", "error")
        assert not [r for r in h.logs if "Traceback" in r.text]
        async with session.ws_connect(ws_url(h, "/ws")) as ws:
            await ws.send_str("still here")
            assert (await receive(ws)).data == "still here"


async def test_oversize_frame_closes_that_connection_only(session):
    async with FlowTestHarness(echo_flow(), settings={"webSocketNodeMaxPayload": 1024}) as h:
        big, small = await connected(h, session, 2)
        await big.send_str("x" * 2000)
        msg = await receive(big)
        assert (msg.type, msg.data) == (WSMsgType.CLOSE, 1009)
        await small.send_str("x" * 1024)
        assert (await receive(small)).data == "x" * 1024
        warnings = [r.text for r in h.node("n1").logs if r.level == "warn"]
        assert any(w.startswith("An error occurred on the ws connection: ") and "1024" in w for w in warnings)
        assert "error" in [s["event"] for s in h.node("n2").statuses]
        await small.close()


async def test_client_does_not_read_is_dropped(session):
    flow = [
        {"id": "n1", "type": "websocket-listener", "path": "/ws"},
        {"id": "n3", "type": "websocket out", "server": "n1"},
    ]
    async with FlowTestHarness(flow, settings={"httpStreamMaxBuffer": 64 * 1024}) as h:
        port = h.runtime.http.port
        sock = await asyncio.to_thread(raw_upgrade, port)  # never reads
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await wait_until(lambda: len(node(h, "n1").clients) == 1, "the raw connection")
        chunk = "y" * 16 * 1024
        for _ in range(100_000):  # until the unsent bytes pass the limit (the kernel buffers fill first)
            h.node("n3").receive({"payload": chunk})
            await asyncio.sleep(0)
            if any(r.level == "warn" for r in h.node("n1").logs):
                break
        record = await h.node("n1").next_log("warn")
        assert "the peer does not read" in record.text and "httpStreamMaxBuffer" in record.text
        await wait_until(lambda: not node(h, "n1").clients, "the dropped connection to go")
        sock.close()


async def test_flood_of_connections(session):
    flow = [
        *echo_flow(),
        {"id": "get", "type": "http in", "url": "/alive", "method": "get", "wires": [["res"]]},
        {"id": "res", "type": "http response"},
    ]
    count = 300
    async with FlowTestHarness(flow) as h:
        socks = await asyncio.gather(*(session.ws_connect(ws_url(h, "/ws")) for _ in range(count)))
        await wait_until(lambda: len(node(h, "n1").clients) == count, f"{count} connections")
        async with session.get(h.url("/alive")) as r:
            assert r.status == 200
        await asyncio.gather(*(ws.send_str(f"m{i}") for i, ws in enumerate(socks)))
        echoed = await asyncio.gather(*(receive(ws) for ws in socks))
        assert [m.data for m in echoed] == [f"m{i}" for i in range(count)]
        await asyncio.gather(*(ws.close() for ws in socks))
        await wait_until(lambda: not node(h, "n1").clients, "every connection closed")
        assert h.node("n2").statuses[-1]["text"] == "common.status.disconnected"


async def test_client_reconnects_when_the_server_comes_back():
    port = free_port()
    flow = client_flow(f"ws://127.0.0.1:{port}/ws")
    async with FlowTestHarness(flow) as h:
        first = await h.node("in").next_status()
        assert (first["event"], first["text"], first["fill"]) == ("error", "common.status.error", "red")
        second = await h.node("in").next_status()
        assert (second["event"], second["text"]) == ("disconnect", "common.status.disconnected")
        warn = await h.node("n1").next_log("warn")
        assert warn.text.startswith("An error occurred on the ws connection: ")
        async with Peer(port=port) as peer:
            ws = await asyncio.wait_for(peer.connections.get(), TIMEOUT)  # after the 3 s delay
            await ws.send_str("back")
            assert (await h.node("got").next_input())["payload"] == "back"
            # only one warning for the whole outage
            assert len([r for r in h.node("n1").logs if r.level == "warn"]) == 1
            await ws.close()  # the server closes: the client connects again
            again = await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            await again.send_str("again")
            assert (await h.node("got").next_input())["payload"] == "again"


async def test_client_heartbeat_pings_and_times_out_without_pong():
    async with Peer(autoping=False) as peer:
        async with FlowTestHarness(client_flow(peer.url, hb="1")) as h:
            assert node(h, "n1").heartbeat == 1.0
            await client_connected(h, peer)
            item = await asyncio.wait_for(peer.received.get(), TIMEOUT)
            assert item.type == WSMsgType.PING  # sent by flowrt's client, never answered
            record = await h.node("n1").next_log("warn")
            assert record.text == "An error occurred on the ws connection: Error: timeout"
            events = [s["event"] for s in h.node("in").statuses]
            assert events[:3] == ["connect", "error", "disconnect"]
            await asyncio.wait_for(peer.connections.get(), TIMEOUT)  # it connects again


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
async def test_stop_and_redeploy_release_every_socket():
    async with Peer() as peer:
        before = open_fds()
        port = free_port()
        listener = [
            {"id": "L", "type": "websocket-listener", "path": "/ws"},
            {"id": "Lin", "type": "websocket in", "server": "L", "wires": [["Lout"]]},
            {"id": "Lout", "type": "websocket out", "server": "L"},
        ]
        flow = [*listener, *client_flow(peer.url)]
        h = FlowTestHarness(flow, settings={"uiPort": port})
        await h.start()
        async with aiohttp.ClientSession() as s:
            socks = await asyncio.gather(*(s.ws_connect(f"ws://127.0.0.1:{port}/ws") for _ in range(50)))
            await wait_until(lambda: len(node(h, "L").clients) == 50, "50 connections")
            await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            await h.redeploy(flow)  # every socket closed, the client connects again
            for ws in socks:
                assert (await receive(ws)).type == WSMsgType.CLOSE
            await asyncio.wait_for(peer.connections.get(), TIMEOUT)
            socks = await asyncio.gather(*(s.ws_connect(f"ws://127.0.0.1:{port}/ws") for _ in range(50)))
            await wait_until(lambda: len(node(h, "L").clients) == 50, "50 connections again")
            await h.stop()
            for ws in socks:
                assert (await receive(ws)).type == WSMsgType.CLOSE
        for ws in peer.sockets:
            await wait_until(lambda ws=ws: ws.closed, "the peer's sockets closed")
        await wait_until(lambda: open_fds() <= before, f"fds back to {before} (now {open_fds()})")


# ----- end to end: flowrt run as a process ------------------------------------------------------


async def test_flowrt_run_websocket_echo_example():
    async with FlowProcess([REPO / "flows/examples/websocket-echo.yaml"]) as proc:
        base = proc.base_url.replace("http://", "ws://")
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(base + "/ws/echo") as ws:
                await ws.send_str("hello")
                assert (await receive(ws)).data == "hello"
                await ws.send_bytes(b"\x00\xff")
                assert (await receive(ws)).data == b"\x00\xff"
            async with s.ws_connect(base + "/ws/chat") as a, s.ws_connect(base + "/ws/chat") as b:
                await a.send_str('{"payload":"hi all"}')
                for ws in (a, b):
                    got = json.loads((await receive(ws)).data)
                    assert got["payload"] == "hi all" and isinstance(got["time"], int)
                    assert "_session" not in got
        assert await proc.stop() == 0
