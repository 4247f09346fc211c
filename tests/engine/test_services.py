"""Runtime services: the composition root adds them (the HTTP server, ...), the runtime
starts and stops them but never builds one; nodes find them with runtime.service(...)."""

from __future__ import annotations

import subprocess
import sys

import aiohttp

from flowrt.engine.runtime import Runtime
from flowrt.http.server import HttpServer
from flowrt.http.sessions import MemorySessionRegistry, SessionRegistry, registry_for
from flowrt.settings import Settings
from flowrt.testing import FlowTestHarness


class Recording:
    def __init__(self, name: str, calls: list) -> None:
        self.name, self.calls = name, calls

    async def start(self) -> None:
        self.calls.append((self.name, "start"))

    async def stop_accepting(self) -> None:
        self.calls.append((self.name, "stop_accepting"))

    async def stop(self) -> None:
        self.calls.append((self.name, "stop"))


class StopOnly:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    async def stop(self) -> None:
        self.calls.append(("stop-only", "stop"))


def runtime(tmp_path) -> Runtime:
    return Runtime(Settings({"userDir": str(tmp_path), "logLevel": "error"}))


async def test_services_are_started_and_stopped_in_order(tmp_path):
    calls: list = []
    rt = runtime(tmp_path)
    rt.add_service(Recording("a", calls))
    rt.add_service(StopOnly(calls))
    await rt.start([])
    assert calls == [("a", "start")]
    await rt.close()
    # stop_accepting before the flows stop; stop after, last added first
    assert calls[1:] == [("a", "stop_accepting"), ("stop-only", "stop"), ("a", "stop")]
    assert rt.service(Recording) is None  # a closed runtime holds no services


async def test_service_finds_by_key_or_class_and_creates_on_first_use(tmp_path):
    rt = runtime(tmp_path)
    calls: list = []
    service = Recording("a", calls)
    rt.add_service(service)
    assert rt.service(Recording) is service
    assert rt.service(object) is service  # an instance of the key is found too
    assert rt.service(StopOnly) is None
    made = []
    created = rt.service(StopOnly, create=lambda r: made.append(r) or StopOnly(calls))
    assert made == [rt]
    assert rt.service(StopOnly) is created  # created once


async def test_the_runtime_never_builds_an_http_server(tmp_path):
    rt = Runtime(Settings({"userDir": str(tmp_path), "httpServer": True, "uiPort": 0}))
    await rt.start([])
    try:
        assert rt.http is None and rt.service(HttpServer) is None
    finally:
        await rt.close()


async def test_http_server_added_by_the_composition_root_is_the_runtime_http():
    flow = [
        {"id": "in", "type": "http in", "url": "/hi", "method": "get", "wires": [["res"]]},
        {"id": "res", "type": "http response", "statusCode": "200"},
    ]
    async with FlowTestHarness(flow) as h:
        server = h.runtime.service(HttpServer)
        assert server is not None and h.runtime.http is server
        async with aiohttp.ClientSession() as session, session.get(h.url("/hi")) as resp:
            assert resp.status == 200
    assert h.runtime.http is None  # stopped and forgotten on close


async def test_sse_session_registry_is_a_runtime_service():
    async with FlowTestHarness([], http=False) as h:
        registry = registry_for(h.runtime)
        assert isinstance(registry, MemorySessionRegistry)
        assert h.runtime.service(SessionRegistry) is registry
        assert registry_for(h.runtime) is registry
        assert not hasattr(h.runtime, "sse_sessions")


async def test_sse_session_registry_factory_setting_is_used_once():
    made = []

    def factory(rt):
        made.append(rt)
        return MemorySessionRegistry()

    async with FlowTestHarness([], http=False, settings={"sseSessionRegistry": factory}) as h:
        first = registry_for(h.runtime)
        assert registry_for(h.runtime) is first
        assert made == [h.runtime]


def test_engine_modules_import_neither_http_nor_the_node_modules():
    code = (
        "import sys; import flowrt.engine.runtime, flowrt.engine.registry, flowrt.engine.node;"
        "print(sorted(m for m in sys.modules if m.startswith(('flowrt.http', 'flowrt.nodes'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
