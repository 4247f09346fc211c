"""`udp in` and `udp out` against real datagram sockets on 127.0.0.1 (and ::1 where the host has IPv6).

Ports Node-RED's test/nodes/core/network/32-udpin_spec.js and 32-udpout_spec.js (their peers are
asyncio datagram endpoints here), plus warnings, socket sharing with a udp in port, broadcast and
multicast set-up, errors, and the sockets released on stop and redeploy (/proc/self/fd counted).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from pathlib import Path

import pytest

from flowrt.testing import FlowProcess, FlowTestHarness

WAIT = 10.0


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


IPV6 = has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="this host has no IPv6 loopback (::1)")


def free_udp_port(family: int = socket.AF_INET) -> int:
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver(asyncio.DatagramProtocol):
    """A datagram peer: what arrives goes into `queue` as (data, address)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data, addr) -> None:
        self.queue.put_nowait((data, addr))

    async def next(self):
        return await asyncio.wait_for(self.queue.get(), WAIT)


async def receiver(host: str = "127.0.0.1") -> tuple[Receiver, int]:
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_datagram_endpoint(Receiver, local_addr=(host, 0))
    return peer, peer.transport.get_extra_info("sockname")[1]


def send_datagram(data: bytes, port: int, host: str = "127.0.0.1") -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, (host, port))


def udp_in(port: int, **config) -> list[dict]:
    base = {"id": "n1", "type": "udp in", "group": "", "multicast": False, "port": port, "ipv": "udp4"}
    base.update({"datatype": "buffer", "iface": ""})
    base.update(config)
    return [{**base, "wires": [["n2"]]}, {"id": "n2", "type": "helper"}]


# ------------------------------------------------------------------ udp in (32-udpin_spec.js)
IN_CASES = [
    ("ipv4-buffer", "buffer", "udp4", b"hello"),
    ("ipv4-string", "utf8", "udp4", "hello"),
    ("ipv4-base64", "base64", "udp4", base64.b64encode(b"hello").decode()),
    ("ipv6-buffer", "buffer", "udp6", b"hello"),
    ("ipv6-string", "utf8", "udp6", "hello"),
    ("ipv6-base64", "base64", "udp6", base64.b64encode(b"hello").decode()),
]


@pytest.mark.parametrize(
    ("datatype", "ipv", "expected"), [c[1:] for c in IN_CASES], ids=[c[0] for c in IN_CASES]
)
async def test_udp_in_receives(datatype, ipv, expected):
    if ipv == "udp6" and not IPV6:
        pytest.skip("this host has no IPv6 loopback (::1)")
    port = free_udp_port()
    async with FlowTestHarness(udp_in(port, datatype=datatype, ipv=ipv), http=False) as h:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sender_port = sock.getsockname()[1]
            sock.sendto(b"hello", ("127.0.0.1", port))
        msg = await h.node("n2").next_input(WAIT)
        ip = ("::ffff:" if ipv == "udp6" else "") + "127.0.0.1"  # an IPv4 sender on a dual-stack socket
        assert msg["payload"] == expected
        assert msg["ip"] == ip and msg["port"] == sender_port and msg["fromip"] == f"{ip}:{sender_port}"


@needs_ipv6
async def test_udp_in_ipv6_sender():
    port = free_udp_port(socket.AF_INET6)
    async with FlowTestHarness(udp_in(port, ipv="udp6", datatype="utf8"), http=False) as h:
        send_datagram(b"six", port, "::1")
        msg = await h.node("n2").next_input(WAIT)
        assert msg["payload"] == "six" and msg["ip"] == "::1"


async def test_udp_in_logs_listener_and_stop():
    port = free_udp_port()
    h = FlowTestHarness(udp_in(port), http=False)
    await h.start()
    assert any(r.text == f"udp listener at 0.0.0.0:{port}" for r in h.logs)
    await h.stop()
    assert any(r.text == "udp listener stopped" for r in h.logs)


async def test_two_udp_in_nodes_on_one_port_share_the_socket():
    port = free_udp_port()
    flow = udp_in(port) + [
        {"id": "n3", "type": "udp in", "port": port, "datatype": "utf8", "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow, http=False) as h:
        assert any(r.text == f"udp: port {port} already in use" for r in h.logs)
        send_datagram(b"both", port)
        assert (await h.node("n2").next_input(WAIT))["payload"] == b"both"
        assert (await h.node("n4").next_input(WAIT))["payload"] == "both"


async def test_udp_in_multicast_group_joins_and_receives():
    port = free_udp_port()
    group = "239.255.42.99"
    flow = udp_in(port, multicast="true", group=group, iface="127.0.0.1", datatype="utf8")
    async with FlowTestHarness(flow, http=False) as h:
        errors = h.node("n1").errors
        if errors:
            pytest.skip(f"this host cannot join multicast groups on lo: {errors[0][0]}")
        assert any(r.text == f"udp multicast group {group}" for r in h.logs)
        assert h.node("n1").statuses[-1] == {"text": "127.0.0.1 : 127.0.0.1"}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            sock.sendto(b"group", (group, port))
        assert (await h.node("n2").next_input(WAIT))["payload"] == "group"


async def test_udp_in_bad_multicast_group_is_an_error():
    port = free_udp_port()
    async with FlowTestHarness(udp_in(port, multicast="true", group="not-an-address"), http=False) as h:
        err, _ = await h.node("n1").next_error(WAIT)
        assert str(err) == "Bad Multicast Address"


async def test_udp_in_unknown_interface_name_warns():
    port = free_udp_port()
    async with FlowTestHarness(udp_in(port, iface="nosuchif0"), http=False) as h:
        record = await h.node("n1").next_log("warn", WAIT)
        assert record.text == "udp: interface nosuchif0 not found"


async def test_udp_in_interface_name_is_resolved_to_its_address():
    port = free_udp_port()
    async with FlowTestHarness(udp_in(port, iface="lo"), http=False) as h:
        node = h.node("n1").node
        if node.iface is None:
            pytest.skip("no interface named lo with an IPv4 address")
        assert node.iface == "127.0.0.1"


# ------------------------------------------------------------------ udp out (32-udpout_spec.js)
def udp_out(**config) -> list[dict]:
    base = {"id": "n1", "type": "udp out", "iface": "", "ipv": "udp4", "outport": "", "base64": False}
    base.update({"multicast": False})
    return [{**base, **config, "wires": []}]


@pytest.mark.parametrize(
    ("decode", "in_msg"),
    [(False, False), (True, False), (False, True)],
    ids=["ipv4", "ipv4-base64", "ipv4-dest-from-msg"],
)
async def test_udp_out_sends(decode, in_msg):
    peer, port = await receiver()
    try:
        config = {"base64": decode} if in_msg else {"addr": "127.0.0.1", "port": port, "base64": decode}
        async with FlowTestHarness(udp_out(**config), http=False) as h:
            msg = {"payload": base64.b64encode(b"hello").decode() if decode else "hello"}
            if in_msg:
                msg.update(ip="127.0.0.1", port=port)
            h.node("n1").receive(msg)
            data, _ = await peer.next()
            assert data == b"hello"
    finally:
        peer.transport.close()


async def test_udp_out_unicast_from_local_port_and_payload_encodings():
    peer, port = await receiver()
    local = free_udp_port()
    try:
        flow = udp_out(addr="127.0.0.1", port=port, multicast="false", outport=local)
        async with FlowTestHarness(flow, http=False) as h:
            assert any(r.text == f"udp ready: {local} -> 127.0.0.1:{port}" for r in h.logs)
            for payload, expected in (
                (b"\x00\xff", b"\x00\xff"),
                (42, b"42"),
                ({"a": 1}, b"[object Object]"),
            ):
                h.node("n1").receive({"payload": payload})
                data, addr = await peer.next()
                assert data == expected and addr[1] == local
    finally:
        peer.transport.close()


@needs_ipv6
async def test_udp_out_ipv6():
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_datagram_endpoint(Receiver, local_addr=("::1", 0))
    port = peer.transport.get_extra_info("sockname")[1]
    try:
        async with FlowTestHarness(udp_out(addr="::1", port=port, ipv="udp6"), http=False) as h:
            h.node("n1").receive({"payload": "v6"})
            assert (await peer.next())[0] == b"v6"
    finally:
        peer.transport.close()


async def test_udp_out_sends_from_the_udp_in_socket_of_its_port():
    """A reply goes out of the port the peer wrote to (Node-RED shares udpInputPortsInUse)."""
    port = free_udp_port()
    flow = udp_in(port, datatype="utf8")
    flow[0]["wires"] = [["o1"]]
    flow = [flow[0], {"id": "o1", "type": "udp out", "outport": port, "multicast": "false", "wires": []}]
    peer, peer_port = await receiver()
    try:
        async with FlowTestHarness(flow, http=False) as h:
            assert any(r.text.startswith("udp re-use socket:") for r in h.logs)
            peer.transport.sendto(b"ping", ("127.0.0.1", port))
            data, addr = await peer.next()  # the udp in message (ip/port of the peer) goes back
            assert data == b"ping" and addr[1] == port
            assert peer_port
    finally:
        peer.transport.close()


async def test_udp_out_broadcast_socket():
    peer, port = await receiver()
    try:
        async with FlowTestHarness(udp_out(addr="127.0.0.1", port=port, multicast="broad"), http=False) as h:
            assert any(r.text == f"udp broadcast ready:  -> 127.0.0.1:{port}" for r in h.logs)
            sock = h.node("n1").node.endpoint.sock
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
            h.node("n1").receive({"payload": "all"})
            assert (await peer.next())[0] == b"all"
    finally:
        peer.transport.close()


async def test_udp_out_multicast_sends_to_the_group():
    port, local = free_udp_port(), free_udp_port()
    group = "239.255.42.98"
    flow = udp_in(port, multicast="true", group=group, iface="127.0.0.1", datatype="utf8")
    out = {"id": "o1", "type": "udp out", "addr": group, "port": port, "outport": local, "wires": []}
    flow.append({**out, "multicast": "multi", "iface": "127.0.0.1"})
    async with FlowTestHarness(flow, http=False) as h:
        if h.node("n1").errors or h.node("o1").errors:
            pytest.skip("this host cannot join multicast groups on lo")
        assert any(r.text == f"udp multicast ready: 127.0.0.1:{local} -> {group}:{port}" for r in h.logs)
        sock = h.node("o1").node.endpoint.sock
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # Node-RED turns loopback off
        h.node("o1").receive({"payload": "to the group"})
        msg = await h.node("n2").next_input(WAIT)
        assert msg["payload"] == "to the group" and msg["port"] == local


async def test_udp_out_to_the_port_of_a_udp_in_reuses_its_socket():
    port = free_udp_port()
    flow = udp_in(port) + [{"id": "o1", "type": "udp out", "addr": "127.0.0.1", "port": port, "wires": []}]
    async with FlowTestHarness(flow, http=False) as h:
        assert any(r.text == f"udp re-use socket:  -> 127.0.0.1:{port}" for r in h.logs)
        assert h.node("o1").node.endpoint is h.node("n1").node.endpoint


@pytest.mark.parametrize(
    ("config", "msg", "warning"),
    [
        ({"port": 1234}, {"payload": "x"}, "udp: ip address not set"),
        ({"addr": "127.0.0.1"}, {"payload": "x"}, "udp: port not set"),
        ({"addr": "127.0.0.1"}, {"payload": "x", "port": "abc"}, "udp: port number not valid"),
        ({"addr": "127.0.0.1"}, {"payload": "x", "port": 70000}, "udp: port number not valid"),
    ],
    ids=["no-ip", "no-port", "port-not-a-number", "port-too-big"],
)
async def test_udp_out_warnings(config, msg, warning):
    flow = udp_out(**config) + [
        {"id": "c1", "type": "complete", "scope": ["n1"], "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow, http=False) as h:
        h.node("n1").receive(msg)
        assert (await h.node("n1").next_log("warn", WAIT)).text == warning
        await h.node("n2").next_input(WAIT)  # completed


async def test_udp_out_send_error_reaches_catch():
    flow = udp_out(addr="255.255.255.255", port=9, multicast="false") + [
        {"id": "c1", "type": "catch", "scope": ["n1"], "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow, http=False) as h:
        h.node("n1").receive({"payload": "x"})  # broadcast without SO_BROADCAST: EACCES
        caught = await h.node("n2").next_input(WAIT)
        assert caught["error"]["message"] == "udp : Error: send EACCES 255.255.255.255:9"


async def test_udp_out_resolves_host_names():
    peer, port = await receiver()
    try:
        async with FlowTestHarness(udp_out(addr="localhost", port=port), http=False) as h:
            h.node("n1").receive({"payload": "named"})
            assert (await peer.next())[0] == b"named"
    finally:
        peer.transport.close()


# ------------------------------------------------------------------ sockets released
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc/self/fd to count sockets")
async def test_stop_and_redeploy_release_every_socket():
    port, local = free_udp_port(), free_udp_port()
    flow = udp_in(port) + [
        {"id": "o1", "type": "udp out", "addr": "127.0.0.1", "port": port, "outport": local, "wires": []},
        {"id": "o2", "type": "udp out", "addr": "127.0.0.1", "port": port, "multicast": "false", "wires": []},
    ]
    before = open_fds()
    h = FlowTestHarness(flow, http=False)
    await h.start()
    assert open_fds() > before
    h.node("o2").receive({"payload": "x"})
    await h.node("n2").next_input(WAIT)
    await h.redeploy([{"id": "n2", "type": "helper", "wires": []}])
    assert open_fds() <= before
    for p in (port, local):  # the ports can be bound again without SO_REUSEADDR
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("0.0.0.0", p))
    await h.redeploy(flow)  # and the nodes bind them again
    h.node("o2").receive({"payload": "again"})
    assert (await h.node("n2").next_input(WAIT))["payload"] == b"again"
    await h.stop()
    assert open_fds() <= before


# ------------------------------------------------------------------ end to end
async def test_flowrt_run_udp_echo(tmp_path):
    port = free_udp_port()
    flow = [
        {"id": "t1", "type": "tab", "label": "udp echo"},
        {"id": "in", "type": "udp in", "z": "t1", "port": port, "datatype": "buffer", "wires": [["out"]]},
        {"id": "out", "type": "udp out", "z": "t1", "outport": port, "multicast": "false", "wires": []},
    ]
    path = tmp_path / "udp-echo.json"
    path.write_text(json.dumps(flow))
    peer, _ = await receiver()
    try:
        async with FlowProcess([path]) as proc:
            await proc.wait_for_line(f"udp listener at 0.0.0.0:{port}", WAIT)
            for data in (b"one", b"two"):
                peer.transport.sendto(data, ("127.0.0.1", port))
                got, addr = await peer.next()
                assert got == data and addr[1] == port
    finally:
        peer.transport.close()


async def test_example_flow_udp_echo():
    from flowrt.formats.document import load_deployment

    port = free_udp_port()
    nodes = load_deployment([Path(__file__).parents[3] / "flows" / "examples" / "udp-echo.yaml"]).nodes
    for node in nodes:
        if node.get("type") == "udp in" or node.get("type") == "udp out":
            node["port" if node["type"] == "udp in" else "outport"] = str(port)
    peer, _ = await receiver()
    try:
        async with FlowTestHarness(nodes, http=False):
            peer.transport.sendto(b"ping", ("127.0.0.1", port))
            data, addr = await peer.next()
            assert data == b"ping" and addr[1] == port
    finally:
        peer.transport.close()
