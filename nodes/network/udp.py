"""`udp in` and `udp out` (Node-RED's 32-udp.js), on asyncio datagram endpoints.

- `udp in` binds `port` (`ipv` "udp4" or "udp6", dual-stack), optionally joins the multicast `group`
  (`multicast: "true"`) on the interface `iface` (an address, or an interface name resolved to its
  address), and sends each datagram as a Buffer, a utf8 string or base64 text with `msg.fromip`
  ("address:port"), `msg.ip` and `msg.port`.
- `udp out` sends the payload to `addr:port` (or `msg.ip`/`msg.port`): unicast (`multicast: "false"`),
  broadcast ("broad", and any other value, as Node-RED compares with the string "false") or multicast
  ("multi", joining the group `addr`), from the local port `outport` when given. `base64` decodes the
  payload first. When `outport` (else `port`) is the port of a `udp in` node, that node's socket sends,
  so replies come from the port the peer talked to (Node-RED's udpInputPortsInUse).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import ipaddress
import re
import socket
import struct
import weakref
from collections.abc import Callable
from typing import Any

from flowrt import Node, register_type
from flowrt.util import js

MULTICAST_TTL = 128


class Endpoint(asyncio.DatagramProtocol):
    """One bound UDP socket of a runtime, shared by the `udp in` nodes of its port and a `udp out`."""

    def __init__(self, sock: socket.socket, port: Any) -> None:
        self.sock = sock
        self.port = port
        self.listeners: list[UdpIn] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.users = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        for node in self.listeners:
            node.datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for an earlier send: Node-RED ignores these too

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        else:
            self.sock.close()


#: The sockets by port of every runtime (Node-RED's udpInputPortsInUse).
_ports: weakref.WeakKeyDictionary[Any, dict[str, Endpoint]] = weakref.WeakKeyDictionary()


def ports_in_use(runtime: Any) -> dict[str, Endpoint]:
    ports = _ports.get(runtime)
    if ports is None:
        ports = _ports[runtime] = {}
    return ports


def port_key(value: Any) -> str:
    return js.js_string(value)


# ------------------------------------------------------------------ helpers
def interface_address(name: str, ipv: str) -> str | None:
    """The first IPv4 (udp4) or IPv6 (udp6) address of the network interface `name`, or None."""
    if ipv == "udp6":
        try:
            with open("/proc/net/if_inet6") as table:
                for line in table:
                    fields = line.split()
                    if len(fields) >= 6 and fields[5] == name:
                        return str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
        except OSError:
            return None
        return None
    try:
        import fcntl

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            packed = struct.pack("256s", name.encode()[:15])
            return socket.inet_ntoa(fcntl.ioctl(probe.fileno(), 0x8915, packed)[20:24])  # SIOCGIFADDR
    except (OSError, ImportError):
        return None


def resolve_iface(node: Node, iface: Any, ipv: str) -> str | None:
    """Node-RED's iface: an address as is; a name without "." becomes the interface's address."""
    if not iface:
        return None
    iface = js.js_string(iface)
    if "." in iface:
        return iface
    address = interface_address(iface, ipv)
    if address is None:
        node.warn(f"udp: interface {iface} not found")
    return address


def errno_code(err: OSError) -> str:
    return errno.errorcode.get(err.errno or 0, str(err.errno))


def membership_error(err: OSError) -> str:
    if err.errno == errno.EINVAL:
        return "Bad Multicast Address"
    if err.errno == errno.ENODEV:
        return "Must be ip address of the required interface"
    return f"error: {errno_code(err)}"


def new_socket(ipv: str) -> socket.socket:
    family = socket.AF_INET6 if ipv == "udp6" else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setblocking(False)
    return sock


def bind(sock: socket.socket, port: Any) -> None:
    number = js.js_number(port) if port not in (None, "") else 0
    host = "::" if sock.family == socket.AF_INET6 else "0.0.0.0"
    sock.bind((host, int(number) if number == number else 0))


def enable_broadcast(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)


def interface_index(address: str | None) -> int:
    """The index of the interface holding the IPv6 `address` (0: any)."""
    if not address:
        return 0
    try:
        wanted = ipaddress.IPv6Address(address.split("%")[0])
        with open("/proc/net/if_inet6") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 6 and ipaddress.IPv6Address(bytes.fromhex(fields[0])) == wanted:
                    return int(fields[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def add_membership(sock: socket.socket, group: Any, iface: str | None) -> None:
    """setMulticastTTL(128) and addMembership(group, iface); OSError as Node's errors."""
    group = js.js_string(group)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, MULTICAST_TTL)
        try:
            packed = socket.inet_pton(socket.AF_INET6, group)
        except OSError:
            raise OSError(errno.EINVAL, "invalid multicast group") from None
        sock.setsockopt(
            socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, packed + struct.pack("@I", interface_index(iface))
        )
        return
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
    try:
        group_bytes = socket.inet_aton(group)
        iface_bytes = socket.inet_aton(iface) if iface else socket.inet_aton("0.0.0.0")
    except OSError:
        raise OSError(errno.EINVAL, "invalid address") from None
    if iface:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface_bytes)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group_bytes + iface_bytes)


def drop_membership(sock: socket.socket, group: Any, iface: str | None) -> None:
    try:
        if sock.family == socket.AF_INET6:
            packed = socket.inet_pton(socket.AF_INET6, js.js_string(group))
            sock.setsockopt(
                socket.IPPROTO_IPV6,
                socket.IPV6_LEAVE_GROUP,
                packed + struct.pack("@I", interface_index(iface)),
            )
        else:
            iface_bytes = socket.inet_aton(iface) if iface else socket.inet_aton("0.0.0.0")
            membership = socket.inet_aton(js.js_string(group)) + iface_bytes
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, membership)
    except OSError:
        pass


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def decode_base64(value: Any) -> bytes:
    """Buffer.from(value, "base64"): a Buffer copied; text decoded leniently (URL-safe, junk skipped)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    text = js.js_string(value) if not isinstance(value, str) else value
    text = _NOT_BASE64.sub("", text.split("=", 1)[0].replace("-", "+").replace("_", "/"))
    if len(text) % 4 == 1:
        text = text[:-1]
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return b""


def datagram_of(payload: Any, is_base64: bool) -> bytes:
    if is_base64:
        return decode_base64(payload)
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    return js.js_string(payload).encode()


# ------------------------------------------------------------------ udp in
@register_type("udp in")
class UdpIn(Node):
    schema = {
        "type": "object",
        "properties": {
            "port": {"type": ["string", "number"]},
            "ipv": {"enum": ["udp4", "udp6", ""], "default": "udp4"},
            "datatype": {"enum": ["buffer", "utf8", "base64", ""], "default": "buffer"},
            "multicast": {"enum": ["true", "false", True, False, ""], "default": "false"},
            "group": {"type": "string", "description": "multicast group address"},
            "iface": {"type": "string", "description": "local interface: an address or a name"},
        },
    }

    async def setup(self) -> None:
        cfg = self.config
        self.port = cfg.get("port")
        self.group = cfg.get("group")
        self.datatype = cfg.get("datatype")
        self.ipv = cfg.get("ipv") or "udp4"
        self.multicast = js.loose_eq(cfg.get("multicast"), "true")
        self.iface_name = cfg.get("iface")
        self.iface = resolve_iface(self, cfg.get("iface"), self.ipv)
        self.endpoint: Endpoint | None = None
        ports = ports_in_use(self.runtime)
        key = port_key(self.port)
        shared = ports.get(key)
        if shared is not None:
            self.log(f"udp: port {key} already in use")
            self.attach(shared)
            if self.iface:
                self.status({"text": f"{self.iface_name} : {self.iface}"})
            return
        sock = new_socket(self.ipv)
        try:
            bind(sock, self.port)
        except OSError as err:
            sock.close()
            number = js.js_number(self.port)
            if err.errno == errno.EACCES and number < 1024:
                self.error("UDP access error, you may need root access for ports below 1024")
            else:
                self.error(f"error: {errno_code(err)}")
            return
        endpoint = Endpoint(sock, key)
        await self.loop.create_datagram_endpoint(lambda: endpoint, sock=sock)
        ports[key] = endpoint
        self.attach(endpoint)
        if self.multicast:
            self.join(sock)
        address = sock.getsockname()
        self.log(f"udp listener at {self.iface or address[0]}:{address[1]}")

    def join(self, sock: socket.socket) -> None:
        try:
            enable_broadcast(sock)
            add_membership(sock, self.group, self.iface)
        except OSError as err:
            self.error(membership_error(err))
            return
        if self.iface:
            self.status({"text": f"{self.iface_name} : {self.iface}"})
        self.log(f"udp multicast group {js.js_string(self.group)}")

    def attach(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        endpoint.listeners.append(self)
        endpoint.users += 1

    def datagram(self, data: bytes, addr: tuple) -> None:
        ip, port = addr[0], addr[1]
        if self.datatype == "base64":
            payload: Any = base64.b64encode(data).decode()
        elif self.datatype == "utf8":
            payload = data.decode("utf-8", "replace")
        else:
            payload = data
        self.send({"payload": payload, "fromip": f"{ip}:{port}", "ip": ip, "port": port})

    def on_close(self, removed: bool) -> None:
        endpoint = self.endpoint
        if endpoint is not None:
            if self in endpoint.listeners:
                endpoint.listeners.remove(self)
            if self.multicast:
                drop_membership(endpoint.sock, self.group, self.iface)
            release(self.runtime, endpoint)
            self.log("udp listener stopped")
        self.status({})


def release(runtime: Any, endpoint: Endpoint) -> None:
    """One user less of a socket; the last one closes it and frees its port."""
    endpoint.users -= 1
    if endpoint.users > 0:
        return
    endpoint.close()
    ports = ports_in_use(runtime)
    if ports.get(endpoint.port) is endpoint:
        del ports[endpoint.port]


# ------------------------------------------------------------------ udp out
@register_type("udp out")
class UdpOut(Node):
    schema = {
        "type": "object",
        "properties": {
            "addr": {"type": "string", "description": "destination; empty: msg.ip"},
            "port": {"type": ["string", "number"], "description": "destination port; empty: msg.port"},
            "outport": {"type": ["string", "number"], "description": "local port to bind"},
            "ipv": {"enum": ["udp4", "udp6", ""], "default": "udp4"},
            "multicast": {"enum": ["false", "broad", "multi", True, False, ""], "default": "false"},
            "iface": {"type": "string", "description": "local interface for multicast"},
            "base64": {"type": "boolean", "description": "decode the payload from base64"},
        },
    }

    async def setup(self) -> None:
        cfg = self.config
        self.port = cfg.get("port")
        self.outport = cfg.get("outport") if cfg.get("outport") not in (None, "") else ""
        self.base64 = js.js_truthy(cfg.get("base64"))
        self.addr = cfg.get("addr")
        self.ipv = cfg.get("ipv") or "udp4"
        self.mode = cfg.get("multicast")
        self.iface_name = cfg.get("iface")
        self.iface = resolve_iface(self, cfg.get("iface"), self.ipv)
        self.endpoint: Endpoint | None = None
        self.resolved: dict[str, str] = {}
        local = self.outport or self.port or "0"
        self.key = port_key(local)
        ports = ports_in_use(self.runtime)
        shared = ports.get(self.key) if js.loose_eq(local, 0) is False else None
        target = f"{js.js_string(self.addr)}:{js.js_string(self.port)}"
        broadcast = not js.loose_eq(self.mode, "false")
        if shared is not None:
            self.endpoint = shared
            shared.users += 1
            if broadcast:
                enable_broadcast(shared.sock)
            self.log(f"udp re-use socket: {self.outport} -> {target}")
            if self.iface:
                self.status({"text": f"{self.iface_name} : {self.iface}"})
            return
        sock = new_socket(self.ipv)
        bound = False
        try:
            if broadcast:
                bind(sock, self.outport)
                enable_broadcast(sock)
                bound = True
            elif self.outport != "" and port_key(self.outport) not in ports:
                bind(sock, self.outport)
                bound = True
        except OSError as err:
            sock.close()
            self.error(f"error: {errno_code(err)}")
            return
        endpoint = Endpoint(sock, self.key)
        endpoint.users = 1
        await self.loop.create_datagram_endpoint(lambda: endpoint, sock=sock)
        self.endpoint = endpoint
        if bound and self.outport != "":  # a udp in on this port later shares it (Node-RED: any port)
            ports.setdefault(self.key, endpoint)
        if broadcast and js.loose_eq(self.mode, "multi"):
            try:
                add_membership(sock, self.addr, self.iface)
            except OSError as err:
                self.error(membership_error(err))
            else:
                if self.iface:
                    self.status({"text": f"{self.iface_name} : {self.iface}"})
                self.log(f"udp multicast ready: {self.iface}:{self.outport} -> {target}")
        elif broadcast:
            self.log(f"udp broadcast ready: {self.outport} -> {target}")
        elif self.outport != "":
            self.log(f"udp ready: {self.outport} -> {target}")
        else:
            self.log(f"udp ready: {target}")

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        if "payload" not in msg:
            return  # Node-RED neither sends nor completes it
        address = self.addr or msg.get("ip") or ""
        port = self.port or msg.get("port") or 0
        if address == "":
            self.warn("udp: ip address not set")
            done()
            return
        if js.loose_eq(port, 0):
            self.warn("udp: port not set")
            done()
            return
        number = js.js_number(port)
        if number != number or number < 1 or number > 65535:
            self.warn("udp: port number not valid")
            done()
            return
        if self.endpoint is None:
            done()  # the socket could not be opened (reported at start)
            return
        data = datagram_of(msg["payload"], self.base64)
        host = js.js_string(address)
        resolved = self.resolved.get(host) or (host if is_ip(host) else None)
        if resolved is None:
            self.create_task(self.send_resolved(data, host, int(number), msg, done))
            return
        self.send_to(data, resolved, int(number), msg, done)

    def send_to(self, data: bytes, host: str, port: int, msg: dict, done: Callable) -> None:
        endpoint = self.endpoint
        if endpoint is None:
            done()
            return
        target = (host, port)
        if endpoint.sock.family == socket.AF_INET6 and ":" not in host:
            target = ("::ffff:" + host, port)
        try:
            endpoint.sock.sendto(data, target)
        except BlockingIOError:
            if endpoint.transport is not None:
                endpoint.transport.sendto(data, target)  # buffered until the socket can write
        except OSError as err:
            self.error(f"udp : Error: send {errno_code(err)} {host}:{port}", msg)
        done()

    async def send_resolved(self, data: bytes, host: str, port: int, msg: dict, done: Callable) -> None:
        family = socket.AF_INET6 if self.ipv == "udp6" else socket.AF_INET
        try:
            infos = await self.loop.getaddrinfo(host, port, family=family, type=socket.SOCK_DGRAM)
        except OSError:
            self.error(f"udp : Error: getaddrinfo ENOTFOUND {host}", msg)
            done()
            return
        address = infos[0][4][0]
        self.resolved[host] = address
        self.send_to(data, address, port, msg, done)

    def on_close(self, removed: bool) -> None:
        endpoint = self.endpoint
        if endpoint is not None:
            if js.loose_eq(self.mode, "multi"):
                drop_membership(endpoint.sock, self.addr, self.iface)
            release(self.runtime, endpoint)
            self.endpoint = None
            self.log("udp output stopped")
        self.status({})


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
