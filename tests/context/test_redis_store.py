"""The `redis` context store (flowrt/context/redis.py) against a real redis-server.

The store-independent cases of Node-RED's context specs (memory_spec.js, index_spec.js:
get/set/keys/delete/clean, nested paths, callbacks, several keys) run here on Redis; then
what only a shared store has: JSON encoding as Node-RED's file store writes it, atomic
updates from two clients at once, and Redis unreachable at start, killed and restarted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading

import pytest

from flowrt.context import ContextError, ContextManager
from flowrt.lang.propertypath import PropertyPathError
from flowrt.testing.redisserver import MISSING, RedisServer, free_port, redis_server_binary

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason=MISSING)

_prefixes = itertools.count()


class ListLog:
    def __init__(self):
        self.records: list[tuple[str, str]] = []

    def error(self, msg):
        self.records.append(("error", msg))

    def warning(self, msg):
        self.records.append(("warning", msg))

    def info(self, msg):
        self.records.append(("info", msg))

    def text(self, level: str) -> str:
        return "\n".join(m for lv, m in self.records if lv == level)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer.start_new(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


def storage(url: str, **config) -> dict:
    config = {"url": url, "prefix": f"t{next(_prefixes)}:", **config}
    return {"default": {"module": "memory"}, "shared": {"module": "redis", "config": config}}


@pytest.fixture
async def manager(server):
    log = ListLog()
    mgr = ContextManager(storage(server.url), None, log=log)
    mgr.test_log = log
    await mgr.start()
    yield mgr
    await mgr.stop()


@pytest.fixture
def store(manager):
    return manager.store("shared")


@pytest.fixture
def node_x(manager):
    """Node "nodeX"'s context with the redis store as its default (for the callback cases)."""
    return _OnStore(manager.node_context("nodeX", None), "shared")


class _OnStore:
    """A Context whose calls all name one store (Node-RED's specs use the default store)."""

    def __init__(self, ctx, name):
        self.ctx, self.name = ctx, name

    def get(self, key, callback=None):
        return self.ctx.get(key, self.name, callback)

    def set(self, key, value, callback=None):
        return self.ctx.set(key, value, self.name, callback)

    def keys(self, callback=None):
        return self.ctx.keys(self.name, callback)


# ------------------------------------------------------------ Node-RED's store cases


def test_should_store_property(store):
    assert store.get("nodeX", "foo") is None
    store.set("nodeX", "foo", "test")
    assert store.get("nodeX", "foo") == "test"


def test_should_store_property_creates_parent_properties(store):
    store.set("nodeX", "foo.bar", "test")
    assert store.get("nodeX", "foo") == {"bar": "test"}
    assert store.get("nodeX", "foo.bar") == "test"
    assert store.get("nodeX", "foo.missing.deeper") is None


def test_should_delete_property(store):
    store.set("nodeX", "foo.abc.bar1", "test1")
    store.set("nodeX", "foo.abc.bar2", "test2")
    assert store.get("nodeX", "foo.abc") == {"bar1": "test1", "bar2": "test2"}
    store.set("nodeX", "foo.abc.bar1", None)
    assert store.get("nodeX", "foo.abc") == {"bar2": "test2"}
    store.set("nodeX", "foo.abc", None)
    assert store.get("nodeX", "foo.abc") is None
    store.set("nodeX", "foo", None)
    assert store.get("nodeX", "foo") is None
    assert store.keys("nodeX") == []


def test_should_not_share_context_with_other_scope(store):
    store.set("nodeX", "foo", "testX")
    store.set("nodeY", "foo", "testY")
    assert store.get("nodeX", "foo") == "testX"
    assert store.get("nodeY", "foo") == "testY"


def test_should_throw_the_error_if_the_error_occurs(store):
    with pytest.raises(PropertyPathError):
        store.set("nodeX", ".foo", "test")
    with pytest.raises(PropertyPathError):
        store.get("nodeX", ".foo")


def test_keys_in_each_scope_and_global(store):
    assert store.keys("nodeX") == [] and store.keys("global") == []
    store.set("nodeX", "foo", "bar")
    store.set("nodeX", "abc.def", "bar")
    store.set("nodeY", "hoge", "piyo")
    store.set("global", "g", 1)
    assert store.keys("nodeX") == ["foo", "abc"]
    assert store.keys("nodeY") == ["hoge"]
    assert store.keys("global") == ["g"]


def test_delete_context(store):
    store.set("nodeX", "foo", "abc")
    store.set("nodeY", "foo", "abc")
    store.delete("nodeX")
    assert store.get("nodeX", "foo") is None
    assert store.get("nodeY", "foo") == "abc"


def test_clean_keeps_active_and_global(store):
    store.set("nodeX:flow1", "foo", "abc")
    store.set("nodeY:flow1", "foo", "abc")
    store.set("flow1", "f", 1)
    store.set("flow2", "f", 2)
    store.set("global", "foo", "abc")
    store.clean({"nodeX", "flow1"})
    assert store.get("nodeX:flow1", "foo") == "abc"
    assert store.get("nodeY:flow1", "foo") is None
    assert store.get("flow1", "f") == 1 and store.get("flow2", "f") is None
    store.clean(set())
    assert store.get("global", "foo") == "abc"


def test_callbacks_get_set_keys(node_x):
    calls = []
    node_x.get("foo", callback=lambda err, value: calls.append(("get", err, value)))
    node_x.set("foo", "test", callback=lambda err: calls.append(("set", err)))
    node_x.get("foo", callback=lambda err, value: calls.append(("get", err, value)))
    node_x.keys(callback=lambda err, keys: calls.append(("keys", err, keys)))
    assert calls == [("get", None, None), ("set", None), ("get", None, "test"), ("keys", None, ["foo"])]


def test_callback_gets_the_error(node_x):
    errors = []
    node_x.set(".foo", "test", callback=lambda err, *rest: errors.append(err))
    node_x.get(".foo", callback=lambda err, *rest: errors.append(err))
    assert len(errors) == 2 and all(isinstance(e, Exception) for e in errors)


def test_multiple_values(node_x):
    for key, value in (("one", "test1"), ("two", "test2"), ("four", "test4")):
        node_x.set(key, value)
    assert node_x.get(["one", "unknown.with.levels", "four"]) == ["test1", None, "test4"]
    args = []
    node_x.get(["one", "two"], callback=lambda *a: args.extend(a))
    assert args == [None, "test1", "test2"]


def test_store_prefix_in_key_and_flow_scope(manager):
    ctx = manager.node_context("n1", "f1")
    ctx.flow.set("#:(shared)::count", 3)
    assert ctx.flow.get("count", "shared") == 3
    assert ctx.flow.get("count") is None  # the memory store is the default
    assert manager.store("shared").get("f1", "count") == 3


# ------------------------------------------------------------ encoding


@pytest.mark.parametrize(
    "value",
    ["text", 12345, 1.5, True, ["a", 1, None], {"a": {"b": [1, 2]}}, "", 0, False],
    ids=repr,
)
def test_values_round_trip(store, value):
    store.set("nodeX", "v", value)
    assert store.get("nodeX", "v") == value


def test_buffers_and_dates_as_node_red_stores_write_them(store):
    when = dt.datetime(2026, 12, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    store.set("nodeX", "b", b"\x00\x01\xff")
    store.set("nodeX", "d", when)
    assert store.get("nodeX", "b") == {"type": "Buffer", "data": [0, 1, 255]}
    assert store.get("nodeX", "d") == "2026-12-02T03:04:05.678Z"


def test_a_value_that_is_not_json_is_an_error_naming_store_and_key(store):
    with pytest.raises(ContextError, match=r"'shared': cannot store nodeX 'bad'"):
        store.set("nodeX", "bad", float("nan"))
    with pytest.raises(ContextError, match="cannot store"):
        store.set("nodeX", "obj", {"f": object()})
    assert store.keys("nodeX") == []


# ------------------------------------------------------------ atomic updates


def test_update_counter_from_threads_loses_nothing(store, server):
    """Two clients (as two processes) increment one counter 500 times each with `update`."""
    other = ContextManager(storage(server.url, prefix=store.prefix), None)
    other_store = other.store("shared")

    def bump(s):
        for _ in range(500):
            s.update("flow1", "count", lambda n: (n or 0) + 1)

    threads = [threading.Thread(target=bump, args=(s,)) for s in (store, other_store)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("flow1", "count") == 1000


def test_get_then_set_from_threads_can_lose_increments_update_does_not(store, server):
    """Why `update` exists: the same race with a plain get and set (nothing asserted about the
    loss itself, which depends on scheduling); with `update` the count is exact."""
    other = ContextManager(storage(server.url, prefix=store.prefix), None).store("shared")

    def bump(s):
        for _ in range(300):
            s.set("flow1", "n", (s.get("flow1", "n") or 0) + 1)
            s.update("flow1", "m", lambda n: (n or 0) + 1)

    threads = [threading.Thread(target=bump, args=(s,)) for s in (store, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("flow1", "m") == 600
    assert store.get("flow1", "n") <= 600


def test_nested_sets_by_two_clients_keep_both(store, server):
    other = ContextManager(storage(server.url, prefix=store.prefix), None).store("shared")

    def fill(s, name):
        for i in range(200):
            s.set("flow1", f"obj.{name}{i}", i)

    threads = [threading.Thread(target=fill, args=(s, n)) for s, n in ((store, "a"), (other, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get("flow1", "obj")) == 400


def test_write_if_unchanged_refuses_a_stale_token(store):
    store.set("nodeX", "k", 1)
    value, token = store.read_for_update("nodeX", "k")
    assert value == 1
    store.set("nodeX", "k", 2)
    assert store.write_if_unchanged("nodeX", "k", 10, token) is False
    assert store.get("nodeX", "k") == 2
    value, token = store.read_for_update("nodeX", "missing")
    assert (value, token) == (None, None)
    assert store.write_if_unchanged("nodeX", "missing", "new", token) is True
    assert store.write_if_unchanged("nodeX", "missing", "again", None) is False


def test_context_update_on_memory_and_redis(manager):
    ctx = manager.node_context("n1", "f1")
    assert ctx.flow.update("c", lambda n: (n or 0) + 1) == 1
    assert ctx.flow.update("c", lambda n: (n or 0) + 1) == 2
    assert ctx.flow.update("c", lambda n: (n or 0) + 5, "shared") == 5
    assert ctx.flow.update("#:(shared)::c", lambda n: n * 2) == 10
    assert ctx.flow.get("c") == 2 and ctx.flow.get("c", "shared") == 10


# ------------------------------------------------------------ failures


async def test_unreachable_at_start_logs_fails_writes_and_connects_later(tmp_path):
    port = free_port()
    log = ListLog()
    mgr = ContextManager(
        storage(f"redis://127.0.0.1:{port}/0", retryMaxDelay=0.1, timeout=0.5), None, log=log
    )
    await mgr.start()  # does not raise: flows that do not use the store still start
    store = mgr.store("shared")
    assert f"Context store 'shared' cannot reach redis://127.0.0.1:{port}/0" in log.text("error")
    assert store.available is False
    with pytest.raises(ContextError, match=rf"'shared' \(redis://127.0.0.1:{port}/0\) is unavailable"):
        store.set("nodeX", "k", 1)
    with pytest.raises(ContextError, match="is unavailable"):
        store.get("nodeX", "k")
    mgr.clean({"nodeX"})  # what a deploy does: no error, a warning
    assert "the context of removed nodes and flows stays" in log.text("warning")
    back = asyncio.Event()
    store.on_availability(lambda up: back.set() if up else None)
    server = RedisServer(redis_server_binary(), tmp_path, port)
    server.start()
    try:
        await asyncio.wait_for(back.wait(), 30)
        store.set("nodeX", "k", 1)
        assert store.get("nodeX", "k") == 1
        assert "reconnected" in log.text("info")
    finally:
        await mgr.stop()
        server.stop()


async def test_killed_and_restarted_mid_run(tmp_path):
    server = RedisServer.start_new(tmp_path)
    log = ListLog()
    mgr = ContextManager(storage(server.url, retryMaxDelay=0.1), None, log=log)
    await mgr.start()
    store = mgr.store("shared")
    changes: list[bool] = []
    changed = asyncio.Event()

    def on_change(up):
        changes.append(up)
        changed.set()

    store.on_availability(on_change)
    try:
        store.set("nodeX", "k", "before")
        server.stop()
        with pytest.raises(ContextError, match=rf"'shared' \({server.url}\) is unavailable"):
            store.set("nodeX", "k", "during")
        assert f"Context store 'shared' lost its connection to {server.url}" in log.text("error")
        assert changes == [False]
        with pytest.raises(ContextError, match="is unavailable"):  # at once, without a round trip
            store.get("nodeX", "k")
        changed.clear()
        server.start()
        await asyncio.wait_for(changed.wait(), 30)
        assert changes == [False, True]
        assert store.get("nodeX", "k") is None  # a server without persistence came back empty
        store.set("nodeX", "k", "after")
        assert store.get("nodeX", "k") == "after"
    finally:
        await mgr.stop()
        server.stop()


async def test_password_from_the_environment(tmp_path, monkeypatch):
    port = free_port()
    server = RedisServer(redis_server_binary(), tmp_path, port, extra_args=["--requirepass", "s3cret"])
    server.start()
    try:
        log = ListLog()
        wrong = ContextManager(storage(server.url, password="wrong", retryMaxDelay=60), None, log=log)
        await wrong.start()
        assert "Context store 'shared' cannot reach" in log.text("error")
        await wrong.stop()
        monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
        mgr = ContextManager(storage(server.url), None)
        await mgr.start()
        mgr.store("shared").set("nodeX", "k", 1)
        assert mgr.store("shared").get("nodeX", "k") == 1
        await mgr.stop()
        url = f"redis://:s3cret@127.0.0.1:{port}/0"
        mgr = ContextManager(storage(url), None, log=log)
        assert "s3cret" not in repr(mgr.store("shared"))
        await mgr.stop()
    finally:
        server.stop()


def test_unknown_module_lists_redis():
    with pytest.raises(ValueError, match="available modules: localfilesystem, memory, redis"):
        ContextManager({"x": {"module": "nosuch"}}, None)
