"""`sse-session` / `sse-send` and the session registry."""

from __future__ import annotations

import asyncio

import aiohttp

from flowrt.http.sessions import MemorySessionRegistry, SseSession, format_comment, format_event, registry_for
from flowrt.testing import FlowTestHarness


def sse_flow(**session_cfg):
    return [
        {"id": "in", "type": "http in", "url": "/sse", "method": "get", "wires": [["sess"]]},
        {"id": "sess", "type": "sse-session", "wires": [["opened"], ["closed"]], **session_cfg},
        {"id": "opened", "type": "helper"},
        {"id": "closed", "type": "helper"},
        {"id": "send", "type": "sse-send", "wires": [["sent"]]},
        {"id": "sent", "type": "helper"},
        {"id": "catch", "type": "catch", "scope": ["send"], "wires": [["caught"]]},
        {"id": "caught", "type": "helper"},
    ]


async def read_event(resp: aiohttp.ClientResponse) -> str:
    """Read up to and including the next blank line."""
    buf = b""
    while not buf.endswith(b"\n\n"):
        line = await asyncio.wait_for(resp.content.readline(), 5)
        if not line:
            raise AssertionError(f"stream ended after {buf!r}")
        buf += line
    return buf.decode()


def test_format_event_splits_lines():
    assert format_event("a\nb\r\nc", "message") == "event: message\ndata: a\ndata: b\ndata: c\n\n"
    assert format_event({"x": 1}, "message", "7") == 'id: 7\nevent: message\ndata: {"x":1}\n\n'
    assert format_event("", None) == "data: \n\n"


def test_format_event_writes_json_as_javascript():
    assert format_event({"n": 5.0, "e": 1e-7, "s": "é"}) == 'data: {"n":5,"e":1e-7,"s":"é"}\n\n'
    assert format_comment("ping") == ": ping\n\n"


async def test_open_stream_endpoint_push_and_disconnect_cleanup():
    async with FlowTestHarness(sse_flow()) as h:
        async with aiohttp.ClientSession() as s:
            async with s.get(h.url("/sse")) as r:
                assert r.status == 200
                assert r.headers["Content-Type"] == "text/event-stream"
                assert r.headers["Cache-Control"] == "no-cache"
                assert r.headers["Connection"] == "keep-alive"
                assert r.headers["X-Accel-Buffering"] == "no"
                first = await read_event(r)
                opened = await h.node("opened").next_input()
                sid = opened["sessionId"]
                assert len(sid) == 32
                assert first == f"event: endpoint\ndata: /sse/message?sessionId={sid}\n\n"
                assert opened["payload"]["endpoint"] == f"/sse/message?sessionId={sid}"
                registry = registry_for(h.runtime)
                assert registry.local(sid) is not None

                h.node("send").receive(
                    {"sessionId": sid, "payload": {"jsonrpc": "2.0", "id": 1, "result": {}}}
                )
                assert await read_event(r) == 'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'
                sent = await h.node("sent").next_input()
                assert sent["sessionId"] == sid
                h.node("send").receive({"sessionId": sid, "event": "note", "payload": "two\nlines"})
                assert await read_event(r) == "event: note\ndata: two\ndata: lines\n\n"
            # client gone: session removed at once, second output fires
            closed = await h.node("closed").next_input()
            assert closed["sessionId"] == sid
            assert closed["payload"]["reason"] == "client disconnected"
            assert registry.local(sid) is None
            node = h.node("sess").node
            assert node.sessions == {} and node.pending_timers == 0

            h.node("send").receive({"sessionId": sid, "payload": "late"})
            caught = await h.node("caught").next_input()
            assert "unknown or closed SSE session" in caught["error"]["message"]
            assert caught["sessionId"] == sid


async def test_keepalive_comments_and_custom_endpoint_and_cors():
    cfg = {"keepalive": 0.05, "endpoint": "http://example.test/messages/{{sessionId}}", "cors": "*"}
    async with FlowTestHarness(sse_flow(**cfg)) as h:
        async with aiohttp.ClientSession() as s:
            async with s.get(h.url("/sse")) as r:
                assert r.headers["Access-Control-Allow-Origin"] == "*"
                first = await read_event(r)
                sid = (await h.node("opened").next_input())["sessionId"]
                assert first == f"event: endpoint\ndata: http://example.test/messages/{sid}\n\n"
                assert await read_event(r) == ": ping\n\n"
                assert await read_event(r) == ": ping\n\n"


async def test_origin_check_refuses_foreign_browser_origin():
    async with FlowTestHarness(sse_flow()) as h:
        async with aiohttp.ClientSession() as s:
            async with s.get(h.url("/sse"), headers={"Origin": "http://evil.test"}) as r:
                assert r.status == 403
            async with s.get(h.url("/sse"), headers={"Origin": "http://localhost:6274"}) as r:
                assert r.status == 200
                await read_event(r)


async def test_close_after_send_ends_stream():
    f = sse_flow()
    f[4]["close"] = True
    async with FlowTestHarness(f) as h:
        async with aiohttp.ClientSession() as s:
            async with s.get(h.url("/sse")) as r:
                await read_event(r)
                sid = (await h.node("opened").next_input())["sessionId"]
                h.node("send").receive({"sessionId": sid, "payload": "bye"})
                rest = await asyncio.wait_for(r.read(), 5)
                assert rest == b"event: message\ndata: bye\n\n"
        closed = await h.node("closed").next_input()
        assert closed["payload"]["reason"] == "closed by sse-send"
        assert registry_for(h.runtime).local_count() == 0


async def test_redeploy_closes_streams_and_unregisters():
    async with FlowTestHarness(sse_flow()) as h:
        async with aiohttp.ClientSession() as s:
            async with s.get(h.url("/sse")) as r:
                await read_event(r)
                assert registry_for(h.runtime).local_count() == 1
                await h.redeploy(sse_flow())
                assert await asyncio.wait_for(r.content.read(), 5) == b""
                assert registry_for(h.runtime).local_count() == 0


async def test_memory_registry_publish_unknown_and_duplicate():
    class FakeRes:
        def __init__(self):
            self.chunks = []
            self.cb = {}

        def on(self, ev, cb):
            self.cb[ev] = cb

        def write(self, data):
            self.chunks.append(data)

        def end(self):
            self.cb.pop("close")()

    reg = MemorySessionRegistry()
    res = FakeRes()
    session = SseSession("abc", res)
    session.on_close(lambda s, reason: reg.unregister(s.id))
    reg.register(session)
    assert await reg.exists("abc")
    assert await reg.publish("abc", "data: 1\n\n")
    assert res.chunks == ["data: 1\n\n"]
    assert not await reg.publish("nope", "data: 1\n\n")
    try:
        reg.register(SseSession("abc", FakeRes()))
    except ValueError:
        pass
    else:
        raise AssertionError("duplicate session id accepted")
    session.close()
    assert not await reg.exists("abc")
    assert reg.local_count() == 0


async def _open_and_read_endpoint(port: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    data = b""
    while b"event: endpoint" not in data:
        chunk = await reader.read(4096)
        if not chunk:
            raise AssertionError(f"connection closed early: {data!r}")
        data += chunk
    return writer


async def test_thousand_sessions_open_and_drop_leave_nothing_behind():
    async with FlowTestHarness(sse_flow(keepalive=30)) as h:
        port = h.runtime.http.port
        registry = registry_for(h.runtime)
        node = h.node("sess").node
        baseline_tasks = len(asyncio.all_tasks())
        writers = []
        for _batch in range(4):
            writers += await asyncio.gather(*(_open_and_read_endpoint(port) for _ in range(250)))
        assert registry.local_count() == 1000
        assert len(node.sessions) == 1000 and node.pending_timers == 1000
        for w in writers:
            w.close()
        await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)
        closed = await h.node("closed").inputs(1000, timeout=30)
        assert len({m["sessionId"] for m in closed}) == 1000
        assert registry.local_count() == 0
        assert node.sessions == {} and node._keepalive_timers == {}
        assert node.pending_timers == 0 and node.pending_tasks == 0

        # the handler tasks of the dropped connections finish: back to the tasks there were before
        for _ in range(1000):
            if len(asyncio.all_tasks()) <= baseline_tasks:
                break
            await asyncio.sleep(0.01)
        else:
            left = [repr(t.get_coro())[:100] for t in asyncio.all_tasks()]
            raise AssertionError(f"tasks left behind: {left[:5]} ({len(left)} in all)")
