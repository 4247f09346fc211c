"""The bytes of whole HTTP responses (written directly by AioResponse._send_direct, or by
aiohttp's writer for the rarer cases): status line, header order as Node writes them, the
Connection header, keep-alive."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from flowrt.testing import FlowTestHarness

FLOW = [
    {"id": "in1", "type": "http in", "url": "/hello", "method": "get", "wires": [["c1"]]},
    {
        "id": "c1",
        "type": "change",
        "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "Hello, World!", "tot": "str"}],
        "wires": [["r1"]],
    },
    {"id": "r1", "type": "http response", "statusCode": "", "headers": {}, "wires": []},
    {"id": "in2", "type": "http in", "url": "/json", "method": "get", "wires": [["f2"]]},
    {
        "id": "f2",
        "type": "function",
        "func": "msg.payload = {a: [1, 'é']}; msg.statusCode = 404;"
        "msg.headers = {'X-One': '1', 'x-multi': ['a', 'b']};"
        "msg.cookies = {c1: 'v1', c2: {value: 'v2', maxAge: 1000, httpOnly: true}}; return msg;",
        "wires": [["r2"]],
    },
    {"id": "r2", "type": "http response", "statusCode": "", "headers": {"X-Node": "n"}, "wires": []},
    {"id": "in3", "type": "http in", "url": "/raw", "method": "get", "wires": [["f3"]]},
    {
        "id": "f3",
        "type": "function",
        "func": "const r = msg.res._res; r.statusCode = 299;"
        "if (msg.req.query.bin) { r.end(Buffer.from('xy')); return null; }"
        "if (msg.req.query.bad) r.setHeader('X-Bad', 'a\\r\\nInjected: yes');"
        "r.setHeader('Content-Type', 'text/plain'); r.end('bye'); return null;",
        "wires": [[]],
    },
    {"id": "in4", "type": "http in", "url": "/empty", "method": "get", "wires": [["f4"]]},
    {
        "id": "f4",
        "type": "function",
        "func": "msg.statusCode = 204; delete msg.payload; return msg;",
        "wires": [["r4"]],
    },
    {"id": "r4", "type": "http response", "statusCode": "", "headers": {}, "wires": []},
    {"id": "in5", "type": "http in", "url": "/echo", "method": "post", "wires": [["r5"]]},
    {"id": "r5", "type": "http response", "statusCode": "", "headers": {}, "wires": []},
]
HELLO_HEAD = b"Content-Type: text/html; charset=utf-8\r\nContent-Length: 13\r\n"


async def exchange(h: FlowTestHarness, *requests: bytes) -> list[bytes]:
    """Send requests one after the other on one connection; each answer, Date blanked."""
    url = urlsplit(h.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    answers = []
    try:
        for request in requests:
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = re.search(rb"Content-Length: (\d+)", head)
            body = (
                await reader.readexactly(int(length.group(1)))
                if length and b"HEAD" not in request[:4]
                else b""
            )
            answers.append(re.sub(rb"Date: [^\r]+", b"Date: D", head + body))
    finally:
        writer.close()
    return answers


async def test_text_json_cookies_and_custom_status():
    async with FlowTestHarness(FLOW) as h:
        hello, json_, raw, binary, empty = await exchange(
            h,
            b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /raw HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /raw?bin=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
        )
    assert hello == b"HTTP/1.1 200 OK\r\n" + HELLO_HEAD + b"Date: D\r\n\r\nHello, World!"
    assert json_ == (
        b"HTTP/1.1 404 Not Found\r\nX-Node: n\r\nX-One: 1\r\nx-multi: a\r\nx-multi: b\r\n"
        b"Set-Cookie: c1=v1; Path=/\r\nSet-Cookie: c2=v2; HttpOnly; Max-Age=1; Path=/\r\n"
        b"Content-Type: application/json; charset=utf-8\r\nContent-Length: 14\r\nDate: D\r\n\r\n"
        + '{"a":[1,"é"]}'.encode()
    )
    assert raw == b"HTTP/1.1 299 \r\nContent-Type: text/plain\r\nContent-Length: 3\r\nDate: D\r\n\r\nbye"
    assert binary == (
        b"HTTP/1.1 299 \r\nContent-Length: 2\r\nContent-Type: application/octet-stream\r\nDate: D\r\n\r\nxy"
    )
    assert empty == b"HTTP/1.1 204 No Content\r\nDate: D\r\n\r\n"


async def test_connection_header_follows_the_request():
    async with FlowTestHarness(FLOW) as h:
        (http10,) = await exchange(h, b"GET /hello HTTP/1.0\r\n\r\n")
        kept = await exchange(
            h,
            b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        (closing,) = await exchange(h, b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        (head,) = await exchange(h, b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert http10 == b"HTTP/1.0 200 OK\r\n" + HELLO_HEAD + b"Date: D\r\n\r\nHello, World!"
    assert (
        kept
        == [b"HTTP/1.0 200 OK\r\n" + HELLO_HEAD + b"Connection: keep-alive\r\nDate: D\r\n\r\nHello, World!"]
        * 2
    )
    assert (
        closing == b"HTTP/1.1 200 OK\r\n" + HELLO_HEAD + b"Connection: close\r\nDate: D\r\n\r\nHello, World!"
    )
    assert head == b"HTTP/1.1 200 OK\r\n" + HELLO_HEAD + b"Date: D\r\n\r\n"


async def test_keep_alive_serves_many_requests_on_one_connection():
    async with FlowTestHarness(FLOW) as h:
        answers = await exchange(h, *[b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"] * 5)
    assert answers == [b"HTTP/1.1 200 OK\r\n" + HELLO_HEAD + b"Date: D\r\n\r\nHello, World!"] * 5


async def test_a_line_break_in_a_header_is_an_error_of_the_code_setting_it():
    # As Node's res.setHeader: the call throws (ERR_INVALID_CHAR); nothing is sent.
    async with FlowTestHarness(FLOW) as h:
        url = urlsplit(h.base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(b"GET /raw?bad=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        err, _ = await h.node("f3").next_error()
        writer.close()
    assert 'Invalid character in header content ["X-Bad"]' in str(err)


def test_header_names_must_be_tokens():
    from aiohttp.test_utils import make_mocked_request

    from flowrt.http.objects import AioResponse

    res = AioResponse(make_mocked_request("GET", "/"))
    res.setHeader("X-Fine", ["a", 1])
    for bad in ("Bad Name", "", "x:y"):
        try:
            res.setHeader(bad, "v")
        except ValueError as err:
            assert "valid HTTP token" in str(err)
        else:
            raise AssertionError(f"{bad!r} was accepted")


async def test_expect_100_continue_is_answered_before_the_body():
    # curl sends `Expect: 100-continue` before a large body and waits for the go-ahead.
    async with FlowTestHarness(FLOW) as h:
        url = urlsplit(h.base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.write(b"hello")
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\nhello")
