"""Hostile HTTP clients against a real `flowrt run` process (issue 12, items 2, 3, 7 and 8):
reflected XSS in the 404 page, DNS rebinding (Host check), body-parser and protocol errors, and slow
or stuck clients. Timeouts are configured small and each test waits for the close event it expects,
never for a duration."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path

import pytest

from flowrt.testing import FlowProcess

FLOW = [
    {"id": "tab", "type": "tab", "label": "hostile"},
    {"id": "sse-in", "type": "http in", "z": "tab", "url": "/sse", "method": "get", "wires": [["sse"]]},
    {"id": "sse", "type": "sse-session", "z": "tab", "keepalive": 0, "wires": [[], ["closed-debug"]]},
    {"id": "closed-debug", "type": "debug", "z": "tab", "name": "closed", "complete": "payload", "wires": []},
    {"id": "echo-in", "type": "http in", "z": "tab", "url": "/echo", "method": "post", "wires": [["answer"]]},
    {
        "id": "up-in",
        "type": "http in",
        "z": "tab",
        "url": "/upload",
        "method": "post",
        "upload": True,
        "wires": [["answer"]],
    },
    {
        "id": "hello-in",
        "type": "http in",
        "z": "tab",
        "url": "/hello",
        "method": "get",
        "wires": [["answer"]],
    },
    {"id": "answer", "type": "http response", "z": "tab", "wires": []},
    {
        "id": "push-in",
        "type": "http in",
        "z": "tab",
        "url": "/push",
        "method": "post",
        "wires": [["push", "ok"]],
    },
    {
        "id": "push",
        "type": "function",
        "z": "tab",
        "func": "const chunk = 'x'.repeat(msg.payload.size);\n"
        "for (let i = 0; i < msg.payload.count; i++) {\n"
        "  node.send({sessionId: msg.payload.sessionId, payload: chunk});\n"
        "}\nreturn null;",
        "outputs": 1,
        "wires": [["send"]],
    },
    {"id": "send", "type": "sse-send", "z": "tab", "wires": []},
    {"id": "ok", "type": "http response", "z": "tab", "statusCode": "202", "wires": []},
]

TIMEOUTS = json.dumps({"headersTimeout": 1000, "keepAliveTimeout": 500, "requestTimeout": 1000})


@pytest.fixture
async def server(tmp_path: Path):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(FLOW))
    args = ["-D", f"httpServerTimeouts={TIMEOUTS}", "-D", "httpStreamMaxBuffer=1mb"]
    async with FlowProcess([path], *args) as proc:
        yield proc


async def raw_request(port: int, data: bytes, read_until_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        if read_until_close:
            return await asyncio.wait_for(reader.read(), 30)
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    finally:
        writer.close()


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def request(
    method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- 2: reflected XSS in the 404 page -------------------------------------------------------


async def test_404_page_escapes_the_path_and_forbids_scripts(server):
    host = f"127.0.0.1:{server.port}"
    raw = await raw_request(server.port, request("GET", "/<script>alert('x')</script>?q=<b>", host))
    status, headers, body = split_response(raw)
    assert status == 404
    assert b"<script>" not in body and b"<b>" not in body
    assert b"<pre>Cannot GET /%3Cscript%3Ealert(&#39;x&#39;)%3C/script%3E</pre>" in body
    assert body.startswith(b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    assert headers["content-security-policy"] == "default-src 'none'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"] == "text/html; charset=utf-8"


# --- 3: Host allow-list (DNS rebinding) -------------------------------------------------------


async def test_sse_refuses_a_foreign_host_and_serves_loopback_names(server):
    port = server.port
    raw = await raw_request(port, request("GET", "/sse", f"rebind.attacker.example:{port}"))
    status, _, body = split_response(raw)
    assert status == 421
    assert b"httpAllowedHosts" in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        head = await raw_request(port, request("GET", "/sse", host), read_until_close=False)
        assert split_response(head)[0] == 200, host
    await server.wait_for_line("refused an SSE stream for host 'rebind.attacker.example")


async def test_host_check_can_be_turned_off(tmp_path):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(FLOW))
    async with FlowProcess([path], "-D", "httpAllowedHosts=false") as proc:
        head = await raw_request(proc.port, request("GET", "/sse", "other.example"), read_until_close=False)
        assert split_response(head)[0] == 200


# --- 7: body parser and protocol errors ------------------------------------------------------

BAD_BODIES = [
    ("application/json", b"[" * 100_000 + b"]" * 100_000, {}, 400, "nested too deeply"),
    ("application/json", b'{"n": ' + b"7" * 100_000 + b"}", {}, 400, "number is too long"),
    ("application/json; charset=klingon", b"{}", {}, 415, "unsupported charset 'klingon'"),
    ("text/plain; charset=base64", b"abc", {}, 415, "unsupported charset 'base64'"),
    (
        "application/json",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff",
        {"Content-Encoding": "gzip"},
        400,
        "cannot read the body",
    ),
]


@pytest.mark.parametrize(("ctype", "body", "extra", "status", "reason"), BAD_BODIES)
async def test_bad_bodies_are_4xx_naming_the_problem_with_one_log_line(
    server, ctype, body, extra, status, reason
):
    host = f"127.0.0.1:{server.port}"
    raw = await raw_request(
        server.port, request("POST", "/echo", host, {"Content-Type": ctype, **extra}, body)
    )
    got, _, text = split_response(raw)
    assert got == status, text[:300]
    assert reason in text.decode()
    line = await server.wait_for_line(reason)
    assert len(line) < 400
    assert "Traceback" not in server.output


async def test_malformed_multipart_is_400(server):
    host = f"127.0.0.1:{server.port}"
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    body = b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nno closing boundary'
    raw = await raw_request(server.port, request("POST", "/upload", host, headers, body))
    status, _, text = split_response(raw)
    assert status == 400, text
    assert b"multipart" in text or b"cannot read the body" in text
    assert "Traceback" not in server.output


async def test_malformed_requests_log_one_short_warning_line(server):
    for _ in range(20):
        raw = await raw_request(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n")
        assert re.match(rb"HTTP/1\.[01] 400 ", raw), raw
    # the next request is served: the server is well
    raw = await raw_request(server.port, request("GET", "/hello", f"127.0.0.1:{server.port}"))
    assert split_response(raw)[0] == 200
    await server.wait_for_line("malformed request from")
    reports = [line for line in server.lines if "malformed request" in line]
    assert 1 <= len(reports) <= 3  # rate-limited: one per 10 s
    assert "Traceback" not in server.output


# --- 8: slow and stuck clients ---------------------------------------------------------------


async def open_stuck_sse_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """An SSE client that reads the endpoint event, then never reads again (small receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    writer.write(request("GET", "/sse", f"127.0.0.1:{port}"))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    assert b" 200 " in head
    event = await asyncio.wait_for(reader.readuntil(b"\n\n"), 30)  # the endpoint event
    session = re.search(rb"sessionId=([0-9a-f]+)", event).group(1).decode()
    return reader, writer, session


async def test_a_client_that_does_not_read_is_dropped_not_buffered(server):
    reader, writer, session = await open_stuck_sse_client(server.port)
    try:
        push = json.dumps({"sessionId": session, "size": 1024 * 1024, "count": 50}).encode()
        raw = await raw_request(
            server.port,
            request("POST", "/push", f"127.0.0.1:{server.port}", {"Content-Type": "application/json"}, push),
        )
        assert split_response(raw)[0] == 202
        # The sse-session node's "closed" output fires with the reason, and the node warns.
        line = await server.wait_for_line("the client does not read", timeout=60)
        assert "httpStreamMaxBuffer" in line
        await server.wait_for_line("[debug:closed]", timeout=30)
        raw = await raw_request(server.port, request("GET", "/hello", f"127.0.0.1:{server.port}"))
        assert split_response(raw)[0] == 200
    finally:
        writer.close()


async def test_slowloris_connections_are_closed_and_normal_requests_served(server):
    port = server.port
    opened = asyncio.Event()
    count = 100

    async def slow_client(ready: list) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ready.append(1)
        if len(ready) == count:
            opened.set()
        received = b""
        try:
            for byte in b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100_000:
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    received += await asyncio.wait_for(reader.read(100), 0.05)
                except TimeoutError:
                    continue
                if reader.at_eof():
                    return received
            return b"never closed"
        except ConnectionError:
            return received or b"reset"
        finally:
            writer.close()

    ready: list = []
    clients = [asyncio.create_task(slow_client(ready)) for _ in range(count)]
    await asyncio.wait_for(opened.wait(), 60)
    raw = await raw_request(port, request("GET", "/hello", f"127.0.0.1:{port}"))
    assert split_response(raw)[0] == 200
    results = await asyncio.wait_for(asyncio.gather(*clients), 120)
    assert all(r != b"never closed" for r in results)
    assert sum(r.startswith(b"HTTP/1.1 408") for r in results) >= count // 2


async def test_idle_keep_alive_connection_is_closed(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        await reader.readexactly(length)
        assert await asyncio.wait_for(reader.read(), 30) == b""  # closed by the server
    finally:
        writer.close()


async def test_a_slow_body_gets_408_and_is_closed(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
        )
        answer = b""
        for _ in range(1000):
            writer.write(b"a")
            await writer.drain()
            try:
                answer += await asyncio.wait_for(reader.read(1000), 0.05)
            except TimeoutError:
                continue
            if reader.at_eof() or answer.endswith(b"\n"):
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer
        await asyncio.wait_for(reader.read(), 30)  # returns once the server has closed the connection
        assert reader.at_eof()
    finally:
        writer.close()
