"""flowrt.http.redis_sessions: two registries (as two processes) on one real redis-server."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from flowrt.http.redis_sessions import RedisSessionRegistry, SessionRegistryUnavailable, install
from flowrt.http.sessions import SessionRegistry, SseSession, format_event, new_registry, registry_for
from flowrt.testing.redisserver import MISSING, RedisServer, redis_server_binary

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason=MISSING)
_prefixes = itertools.count()


class FakeResponse:
    """What SseSession needs of a live response: write, end, on('close')."""

    def __init__(self):
        self.frames: list[str] = []
        self.arrived = asyncio.Event()
        self._on_close = []

    def write(self, frame):
        self.frames.append(frame)
        self.arrived.set()

    def end(self):
        pass

    def on(self, event, callback):
        if event == "close":
            self._on_close.append(callback)

    def client_went_away(self):
        for callback in self._on_close:
            callback()

    async def next_frame(self) -> str:
        while not self.frames:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)
        return self.frames.pop(0)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer.start_new(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


@pytest.fixture
async def pair(server):
    config = {"url": server.url, "prefix": f"sse{next(_prefixes)}:", "ttl": 2}
    a = RedisSessionRegistry(config, owner="A")
    b = RedisSessionRegistry(config, owner="B")
    yield a, b
    await a.stop()
    await b.stop()


async def open_session(registry, session_id="s1") -> FakeResponse:
    response = FakeResponse()
    session = SseSession(session_id, response)
    registry.register(session)
    session.on_close(lambda s, reason: registry.unregister(s.id))
    await registry._subscribed.wait()
    await asyncio.gather(*registry._pending)  # its key is set
    return response


async def test_publish_from_another_process_reaches_the_stream(pair):
    a, b = pair
    response = await open_session(a)
    assert await b.exists("s1") and await a.exists("s1")
    assert b.local("s1") is None and b.local_count() == 0 and a.local_count() == 1
    frame = format_event({"n": 1}, "message")
    assert await b.publish("s1", frame) is True
    assert await response.next_frame() == frame
    assert await a.publish("s1", "data: local\n\n") is True  # the holder writes at once
    assert response.frames == ["data: local\n\n"]


async def test_multi_line_frames_and_many_sessions(pair):
    a, b = pair
    responses = [await open_session(a, f"s{i}") for i in range(20)]
    for i in range(20):
        assert await b.publish(f"s{i}", format_event(f"line1\nline{i}"))
    for i, response in enumerate(responses):
        assert await response.next_frame() == f"data: line1\ndata: line{i}\n\n"


async def test_unknown_and_closed_sessions(pair):
    a, b = pair
    assert await b.publish("nope", "data: x\n\n") is False
    assert await b.exists("nope") is False
    response = await open_session(a)
    response.client_went_away()
    await asyncio.gather(*a._pending)
    assert await b.exists("s1") is False
    assert await b.publish("s1", "data: x\n\n") is False


async def test_a_dead_holder_sessions_go(server):
    """The holder stops renewing and listening (as a killed process): its session key expires by
    TTL, and a publish that no subscriber receives removes it at once."""
    config = {"url": server.url, "prefix": f"sse{next(_prefixes)}:", "ttl": 30}
    a = RedisSessionRegistry(config, owner="A")
    b = RedisSessionRegistry(config, owner="B")
    try:
        await open_session(a)
        a._runner.cancel()  # no subscriber, no heartbeat: what is left of a killed process
        await asyncio.gather(a._runner, return_exceptions=True)
        assert await b.exists("s1") is True  # until someone notices
        assert await b.publish("s1", "data: x\n\n") is False
        assert await b.exists("s1") is False
        ttl_config = {**config, "ttl": 1}
        c = RedisSessionRegistry(ttl_config, owner="C")
        await open_session(c, "s2")
        c._runner.cancel()
        await asyncio.gather(c._runner, return_exceptions=True)
        while await b.exists("s2"):  # expires by itself
            await asyncio.sleep(0.1)
        await c.stop()
    finally:
        a._stopped = True
        await a.stop()
        await b.stop()


async def test_heartbeat_keeps_sessions_past_their_ttl(pair):
    a, b = pair  # ttl 2 s, renewed every 2/3 s
    await open_session(a)
    assert 0 < await b._client.pttl(b._key("s1")) <= 2000
    while await b._client.pttl(b._key("s1")) > 1600:  # time passes...
        await asyncio.sleep(0.05)
    while await b._client.pttl(b._key("s1")) < 1800:  # ...until a renewal lifts it again
        await asyncio.sleep(0.05)
    assert await b.exists("s1")


async def test_redis_down_and_back(tmp_path):
    server = RedisServer.start_new(tmp_path)
    config = {"url": server.url, "prefix": "down:", "ttl": 5}
    logs = []

    class Log:
        def error(self, text):
            logs.append(("error", text))

        def info(self, text):
            logs.append(("info", text))

        def warn(self, text):
            logs.append(("warn", text))

    a = RedisSessionRegistry(config, log=Log(), owner="A")
    b = RedisSessionRegistry(config, owner="B")
    try:
        response = await open_session(a)
        server.stop()
        assert await a.publish("s1", "data: here\n\n") is True  # a local session needs no Redis
        with pytest.raises(SessionRegistryUnavailable, match=rf"\({server.url}\) is unavailable"):
            await b.publish("s1", "data: x\n\n")
        server.start()  # empty: the subscriber reconnects and registers s1 again
        while not [m for level, m in logs if level == "info" and "reconnected" in m]:
            await asyncio.sleep(0.05)
        assert any(f"lost {server.url}" in m for level, m in logs if level == "error")
        while not await b.exists("s1"):
            await asyncio.sleep(0.05)
        assert await b.publish("s1", "data: again\n\n")
        assert await response.next_frame() == "data: here\n\n"
        assert await response.next_frame() == "data: again\n\n"
    finally:
        await a.stop()
        await b.stop()
        server.stop()


async def test_setting_selects_the_registry(server):
    from flowrt.engine.runtime import Runtime
    from flowrt.settings import Settings

    runtime = Runtime(Settings({"sseSessionRegistry": "redis", "redis": {"url": server.url}}))
    registry = install(runtime)
    assert registry_for(runtime) is registry and registry.url == server.url
    await registry.stop()
    nested = {"sseSessionRegistry": {"module": "redis", "config": {"url": server.url, "prefix": "p:"}}}
    runtime = Runtime(Settings(nested))
    with pytest.raises(ValueError, match=r"call flowrt.http.redis_sessions.install\(runtime\) first"):
        new_registry(runtime)
    registry = install(runtime)
    assert registry.prefix == "p:" and runtime.service(SessionRegistry) is registry
    await registry.stop()
    assert install(Runtime(Settings({}))) is None
    with pytest.raises(ValueError, match="unknown registry 'nosuch'"):
        new_registry(Runtime(Settings({"sseSessionRegistry": "nosuch"})))
