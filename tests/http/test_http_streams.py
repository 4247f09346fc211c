"""Streaming responses after aiohttp lets go of them (httpobjects._DetachedStream).

Once a response that is still streaming has its headers out, flowrt writes its chunks
straight to the connection. The bytes on the wire must stay what Node's http server
sends: chunked framing for HTTP/1.1, raw bytes with a Content-Length or for HTTP/1.0,
and the end closes the stream.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from flowrt.testing import FlowTestHarness

# Writes "one," at once, then "two," and "three" with the end from a timer.
STREAM_LATER = (
    "const res = msg.res._res; res.setHeader('Content-Type', 'text/plain');"
    "if (msg.req.query.len) res.setHeader('Content-Length', 13);"
    "res.write('one,');"
    "setTimeout(() => { res.write('two,'); res.end('three'); }, 20);"
    "return null;"
)
# Writes once and stays open; reports the client going away.
STREAM_OPEN = (
    "const res = msg.res._res; res.setHeader('Content-Type', 'text/event-stream');"
    "res.on('close', () => node.send({payload: 'closed'}));"
    "res.write('event: hello\\ndata: 1\\n\\n'); return null;"
)


def stream_flow(func: str) -> list[dict]:
    return [
        {"id": "in", "type": "http in", "url": "/s", "method": "get", "wires": [["fn"]]},
        {"id": "fn", "type": "function", "func": func, "wires": [["events"]]},
        {"id": "events", "type": "helper"},
    ]


async def raw_request(h: FlowTestHarness, request: bytes) -> tuple[bytes, bytes]:
    """Send a raw request; return (head, body) read until the server closes the connection."""
    url = urlsplit(h.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(request)
        data = await asyncio.wait_for(reader.read(), 10)  # to EOF
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


async def test_chunked_stream_written_later_then_ended():
    async with FlowTestHarness(stream_flow(STREAM_LATER)) as h:
        head, body = await raw_request(h, b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert b"Transfer-Encoding: chunked" in head
        assert body == b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"
        assert not h.runtime.http.open_streams


async def test_stream_with_content_length_is_not_framed():
    async with FlowTestHarness(stream_flow(STREAM_LATER)) as h:
        head, body = await raw_request(h, b"GET /s?len=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"Content-Length: 13" in head and b"chunked" not in head
        assert body == b"one,two,three"


async def test_http10_stream_is_not_framed():
    async with FlowTestHarness(stream_flow(STREAM_LATER)) as h:
        head, body = await raw_request(h, b"GET /s HTTP/1.0\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200 OK") and b"chunked" not in head
        assert body == b"one,two,three"


async def open_stream(h: FlowTestHarness) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """GET the open stream and read up to its first event."""
    url = urlsplit(h.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"data: 1" not in got:
        got += await asyncio.wait_for(reader.read(1024), 5)
    return reader, writer


async def test_client_leaving_an_open_stream_is_reported():
    async with FlowTestHarness(stream_flow(STREAM_OPEN)) as h:
        reader, writer = await open_stream(h)
        assert len(h.runtime.http.open_streams) == 1
        writer.close()
        assert (await h.node("events").next_input())["payload"] == "closed"
        assert not h.runtime.http.open_streams


async def test_stopping_the_server_closes_open_streams():
    h = FlowTestHarness(stream_flow(STREAM_OPEN))
    await h.start()
    try:
        reader, writer = await open_stream(h)
    finally:
        await h.stop()
    rest = await asyncio.wait_for(reader.read(), 5)  # EOF: the server closed the connection
    assert rest == b""
    writer.close()


async def test_head_request_to_a_stream_sends_no_body():
    async with FlowTestHarness(stream_flow(STREAM_LATER)) as h:
        head, body = await raw_request(h, b"HEAD /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and body == b""
