import asyncio
import json
import logging

import pytest

from flowrt.context import (
    ContextError,
    ContextManager,
    LocalFileSystemStore,
    MemoryStore,
    parse_context_store,
)


class ListLog:
    def __init__(self):
        self.records = []

    def warning(self, msg):
        self.records.append(("warning", msg))

    def info(self, msg):
        self.records.append(("info", msg))

    def error(self, msg):
        self.records.append(("error", msg))


def file_storage(**config):
    return {
        "default": {"module": "memory"},
        "file": {"module": "localfilesystem", "config": config},
    }


# ------------------------------------------------------------ parse_context_store


@pytest.mark.parametrize(
    "key,expected",
    [
        ("#:(file)::foo.bar", ("file", "foo.bar")),
        ("#:(memory)::x", ("memory", "x")),
        ("foo", (None, "foo")),
        ("#:(file)foo", (None, "#:(file)foo")),
        ("#:()::foo", (None, "#:()::foo")),
        ("#:(a b)::foo", (None, "#:(a b)::foo")),
    ],
)
def test_parse_context_store(key, expected):
    assert parse_context_store(key) == expected


# ------------------------------------------------------------ memory store


def test_memory_store_nested_and_delete():
    store = MemoryStore()
    store.set("s", "a.b[1]", "x")
    assert store.get("s", "a") == {"b": [None, "x"]}
    assert store.get("s", "a.b[1]") == "x"
    assert store.get("s", "missing.deep") is None
    assert store.get("other", "a") is None
    store.set("s", "a.b", None)
    assert store.get("s", "a") == {}
    assert store.keys("s") == ["a"]
    assert store.keys("nothing") == []


def test_memory_store_keeps_references():
    class Response:
        pass

    res = Response()
    store = MemoryStore()
    store.set("s", "res", res)
    assert store.get("s", "res") is res


def test_memory_store_clean_and_delete():
    store = MemoryStore()
    store.set("global", "g", 1)
    store.set("flow1", "f", 1)
    store.set("n1:flow1", "n", 1)
    store.set("n2:flow1", "n", 1)
    store.clean({"flow1", "n1"})
    assert sorted(store.data) == ["flow1", "global", "n1:flow1"]
    store.delete("flow1")
    assert "flow1" not in store.data


# ------------------------------------------------------------ Context basics


def test_node_flow_global_contexts_are_separate():
    cm = ContextManager(None, None)
    node = cm.node_context("n1", "f1")
    node.set("foo", "node")
    node.flow.set("foo", "flow")
    node.global_.set("foo", "global")
    assert node.get("foo") == "node"
    assert node.flow.get("foo") == "flow"
    assert node.global_.get("foo") == "global"
    assert cm.flow_context("f1") is node.flow
    assert cm.global_context() is node.global_
    assert cm.node_context("n1", "f1") is node
    other = cm.node_context("n2", "f1")
    assert other.get("foo") is None
    assert other.flow is node.flow


def test_node_context_without_flow():
    cm = ContextManager(None, None)
    ctx = cm.node_context("n1", None)
    assert ctx.flow is None
    assert ctx.global_ is cm.global_context()
    ctx.set("a", 1)
    assert ctx.get("a") == 1


def test_nested_paths_and_delete_by_none():
    ctx = ContextManager(None, None).node_context("n1", "f1")
    ctx.set("a.b.c", 5)
    assert ctx.get("a") == {"b": {"c": 5}}
    assert ctx.get("a.b.c") == 5
    assert ctx.get("a['b'].c") == 5
    ctx.set("a.b.c", None)
    assert ctx.get("a.b") == {}
    ctx.set("a", None)
    assert ctx.keys() == []


def test_get_missing_parent_is_none():
    ctx = ContextManager(None, None).node_context("n1", "f1")
    assert ctx.get("no.such.thing") is None


def test_invalid_keys():
    ctx = ContextManager(None, None).node_context("n1", "f1")
    for bad in ("", [], ["a", ""], None, 5):
        with pytest.raises(ContextError):
            ctx.get(bad)
        with pytest.raises(ContextError):
            ctx.set(bad, 1)
    errors = []
    assert ctx.get("", callback=lambda err, *v: errors.append(err)) is None
    assert isinstance(errors[0], ContextError)


def test_bad_property_path_raises():
    ctx = ContextManager(None, None).node_context("n1", "f1")
    with pytest.raises(ValueError):
        ctx.get("a[")


def test_multiple_keys_sync_and_callback():
    ctx = ContextManager(None, None).node_context("n1", "f1")
    ctx.set(["a", "b", "c"], [1, 2])
    assert ctx.get(["a", "b", "c"]) == [1, 2, None]
    seen = []
    ctx.get(["a", "b"], callback=lambda err, *values: seen.append((err, values)))
    assert seen == [(None, (1, 2))]
    ctx.set(["x", "y"], "only-first")
    assert ctx.get(["x", "y"]) == ["only-first", None]


def test_callbacks():
    ctx = ContextManager(None, None).node_context("n1", "f1")
    calls = []
    assert ctx.set("k", "v", callback=lambda err: calls.append(("set", err))) is None
    assert ctx.get("k", callback=lambda err, value: calls.append(("get", err, value))) is None
    assert ctx.keys(callback=lambda err, keys: calls.append(("keys", err, keys))) is None
    # store argument position may hold the callback, as in Node-RED
    ctx.get("k", lambda err, value: calls.append(("get2", err, value)))
    assert calls == [("set", None), ("get", None, "v"), ("keys", None, ["k"]), ("get2", None, "v")]
    with pytest.raises(ContextError):
        ctx.get("k", "memory", "not callable")


def test_global_context_seeded_with_function_global_context():
    os_module = object()
    cm = ContextManager(None, None, function_global_context={"os": os_module, "cfg": {"a": 1}})
    g = cm.global_context()
    assert g.get("os") is os_module
    assert g.get("cfg.a") == 1
    assert sorted(g.keys()) == ["cfg", "os"]
    g.set("cfg", {"a": 2})
    assert g.get("cfg.a") == 2
    g.set("extra", 1)
    assert g.keys() == ["os", "cfg", "extra"]
    assert cm.node_context("n", "f").global_.get("os") is os_module


def test_export_global_context_keys_false_hides_seed_keys():
    cm = ContextManager(None, None, function_global_context={"os": 1}, export_global_context_keys=False)
    assert cm.global_context().keys() == []
    assert cm.global_context().get("os") == 1


def test_parent_flow_context():
    cm = ContextManager(None, None)
    top = cm.flow_context("tab1")
    sub = cm.flow_context("sf1", "tab1")
    subsub = cm.flow_context("sf2", "sf1")
    top.set("x", "top")
    sub.set("x", "sub")
    assert sub.get("$parent.x") == "top"
    assert subsub.get("$parent.x") == "sub"
    assert subsub.get("$parent.$parent.x") == "top"
    assert subsub.get("$parent.$parent.$parent.x") is None
    assert top.get("$parent.x") is None
    assert sub.get("$parent") is None
    subsub.set("$parent.$parent.y", 5)
    assert top.get("y") == 5
    top.set("$parent.z", 1)  # root context: ignored
    assert top.keys() == ["x", "y"]
    # node contexts have no parent
    assert cm.node_context("n1", "sf1").get("$parent.x") is None


def test_parent_with_store_prefix():
    cm = ContextManager(file_storage(), None)
    top = cm.flow_context("tab1")
    sub = cm.flow_context("sf1", "tab1")
    top.set("#:(file)::v", "in-file")
    assert sub.get("#:(file)::$parent.v") == "in-file"
    assert sub.get("$parent.v") is None


# ------------------------------------------------------------ store selection


def test_store_selection_with_prefix_and_argument(tmp_path):
    cm = ContextManager(file_storage(), tmp_path)
    ctx = cm.node_context("n1", "f1")
    ctx.set("#:(file)::a", "file-a")
    ctx.set("a", "mem-a")
    assert ctx.get("a") == "mem-a"
    assert ctx.get("a", "file") == "file-a"
    assert ctx.get("#:(file)::a") == "file-a"
    # "memory" is not a configured name here: falls back to the default store
    assert ctx.get("#:(memory)::a") == "mem-a"
    assert ctx.get("a", "default") == "mem-a"
    assert ctx.keys("file") == ["a"]
    ctx.set("b", 1, "file")
    assert sorted(ctx.keys("file")) == ["a", "b"]
    assert ctx.keys() == ["a"]
    # explicit store argument wins over the key prefix
    assert ctx.get("#:(file)::a", "default") == "mem-a"


def test_unknown_store_falls_back_to_default_with_one_warning(tmp_path):
    log = ListLog()
    cm = ContextManager(file_storage(), tmp_path, log=log)
    ctx = cm.node_context("n1", "f1")
    ctx.set("#:(nosuch)::a", 1)
    assert ctx.get("a") == 1
    assert ctx.get("a", "nosuch") == 1
    warnings = [m for level, m in log.records if level == "warning"]
    assert len(warnings) == 1 and "nosuch" in warnings[0]


def test_default_alias(tmp_path):
    cm = ContextManager(
        {"default": "file", "file": {"module": "localfilesystem"}, "mem": {"module": "memory"}},
        tmp_path,
    )
    assert cm.list_stores() == {"default": "file", "stores": ["file", "mem"]}
    assert isinstance(cm.store(), LocalFileSystemStore)
    assert isinstance(cm.store("mem"), MemoryStore)


def test_first_store_is_default_without_default_key():
    cm = ContextManager({"mem1": {"module": "memory"}, "mem2": {"module": "memory"}}, None)
    assert cm.list_stores() == {"default": "mem1", "stores": ["mem1", "mem2"]}
    assert cm.store() is cm.store("mem1")


def test_unconfigured_storage_lists_memory():
    assert ContextManager(None, None).list_stores() == {"default": "memory", "stores": ["memory"]}
    assert ContextManager({}, None).list_stores() == {"default": "memory", "stores": ["memory"]}


@pytest.mark.parametrize(
    "storage,fragment",
    [
        ({"mongo": {"module": "mongodb"}}, "mongodb"),  # (redis is a store now)
        ({"default": "nosuch", "mem": {"module": "memory"}}, "nosuch"),
        ({"nomodule": {"config": {}}}, "nomodule"),
        ({"bad-name": {"module": "memory"}}, "bad-name"),
    ],
)
def test_bad_storage_configuration(storage, fragment):
    with pytest.raises(ValueError, match=fragment):
        ContextManager(storage, None)


def test_custom_store_factory():
    created = []

    class MyStore(MemoryStore):
        def __init__(self, config):
            super().__init__(config)
            created.append(config)

    cm = ContextManager({"custom": {"module": MyStore, "config": {"x": 1}}}, "/u")
    cm.node_context("n", "f").set("a", 1)
    assert created[0]["x"] == 1 and created[0]["settings"] == {"userDir": "/u"}
    assert cm.store("custom").data["n:f"] == {"a": 1}


# ------------------------------------------------------------ delete / clean


def test_delete_node_context_without_configured_store():
    cm = ContextManager(None, None)
    ctx = cm.node_context("n1", "f1")
    ctx.set("a", 1)
    cm.delete_node_context("n1", "f1")
    assert cm.node_context("n1", "f1").get("a") is None


def test_delete_node_context_keeps_configured_store_values():
    cm = ContextManager({"default": {"module": "memory"}}, None)
    cm.node_context("n1", "f1").set("a", 1)
    cm.delete_node_context("n1", "f1")
    assert cm.node_context("n1", "f1").get("a") == 1


def test_clean_and_delete_global():
    cm = ContextManager(None, None, function_global_context={"seed": 1})
    cm.node_context("n1", "f1").set("a", 1)
    cm.node_context("n2", "f1").set("a", 2)
    cm.global_context().set("g", 1)
    cm.clean({"n1", "f1"})
    assert cm.node_context("n1", "f1").get("a") == 1
    assert cm.node_context("n2", "f1").get("a") is None
    cm.delete_global_context()
    assert cm.global_context().get("g") is None
    assert cm.global_context().get("seed") == 1


# ------------------------------------------------------------ file store


async def test_file_store_persists_across_restart(tmp_path):
    cm = ContextManager(file_storage(), tmp_path)
    await cm.start()
    node = cm.node_context("n1", "f1")
    node.set("#:(file)::count", 3)
    node.flow.set("#:(file)::nested.list", [1, 2])
    node.global_.set("#:(file)::g", {"x": "y"})
    node.set("memonly", 1)
    await cm.stop()

    base = tmp_path / "context"
    assert json.loads((base / "f1" / "n1.json").read_text()) == {"count": 3}
    assert json.loads((base / "f1" / "flow.json").read_text()) == {"nested": {"list": [1, 2]}}
    assert json.loads((base / "global" / "global.json").read_text()) == {"g": {"x": "y"}}

    cm2 = ContextManager(file_storage(), tmp_path)
    await cm2.start()
    node2 = cm2.node_context("n1", "f1")
    assert node2.get("count", "file") == 3
    assert node2.flow.get("nested.list[1]", "file") == 2
    assert node2.global_.get("#:(file)::g.x") == "y"
    assert node2.get("memonly") is None
    await cm2.stop()


async def test_file_store_flushes_on_interval(tmp_path):
    cm = ContextManager(file_storage(flushInterval=0), tmp_path)
    await cm.start()
    store = cm.store("file")
    cm.flow_context("f1").set("#:(file)::a", 1)
    # flushInterval 0: the write is scheduled on the loop; wait for it to finish
    for _ in range(100):
        if store._flush_task is not None:
            await store._flush_task
            break
        await asyncio.sleep(0)
    assert json.loads((tmp_path / "context" / "f1" / "flow.json").read_text()) == {"a": 1}
    await cm.stop()


async def test_file_store_does_not_write_before_interval_but_does_on_stop(tmp_path):
    cm = ContextManager(file_storage(flushInterval=3600), tmp_path)
    await cm.start()
    cm.flow_context("f1").set("#:(file)::a", 1)
    await asyncio.sleep(0)
    path = tmp_path / "context" / "f1" / "flow.json"
    assert not path.exists()
    await cm.stop()
    assert json.loads(path.read_text()) == {"a": 1}
    assert not list(path.parent.glob("*.tmp"))


async def test_file_store_explicit_dir_and_base(tmp_path):
    storage = {"file": {"module": "localfilesystem", "config": {"dir": str(tmp_path / "d"), "base": "b"}}}
    cm = ContextManager(storage, tmp_path / "user")
    await cm.start()
    cm.global_context().set("k", "v")
    await cm.stop()
    assert json.loads((tmp_path / "d" / "b" / "global" / "global.json").read_text()) == {"k": "v"}


async def test_file_store_skips_unserialisable_values_with_warning(tmp_path):
    log = ListLog()
    cm = ContextManager(file_storage(), tmp_path, log=log)
    await cm.start()
    ctx = cm.node_context("n1", "f1")
    circular = {}
    circular["self"] = circular
    ctx.set("#:(file)::good", "yes")
    ctx.set("#:(file)::obj", object())
    ctx.set("#:(file)::loop", circular)
    ctx.set("#:(file)::buf", b"\x01\x02")
    await cm.stop()
    saved = json.loads((tmp_path / "context" / "f1" / "n1.json").read_text())
    assert saved == {"good": "yes", "buf": {"type": "Buffer", "data": [1, 2]}}
    warnings = [m for level, m in log.records if level == "warning"]
    assert any("n1:f1/obj" in w for w in warnings)
    assert any("n1:f1/loop" in w for w in warnings)
    # the live values are still in the cache
    assert ctx.get("#:(file)::loop") is circular


async def test_file_store_invalid_json_fails_open(tmp_path):
    bad = tmp_path / "context" / "f1"
    bad.mkdir(parents=True)
    (bad / "flow.json").write_text("{not json")
    cm = ContextManager(file_storage(), tmp_path)
    with pytest.raises(ContextError, match="flow.json"):
        await cm.start()


async def test_file_store_delete_and_clean_remove_files(tmp_path):
    cm = ContextManager({"default": {"module": "localfilesystem"}}, tmp_path)
    await cm.start()
    cm.node_context("n1", "f1").set("a", 1)
    cm.node_context("n2", "f1").set("a", 1)
    cm.node_context("n3", "f2").set("a", 1)
    cm.global_context().set("g", 1)
    await cm.store().flush()
    base = tmp_path / "context"
    assert (base / "f2" / "n3.json").exists()
    cm.clean({"f1", "n1"})
    assert not (base / "f2").exists()
    assert not (base / "f1" / "n2.json").exists()
    assert (base / "f1" / "n1.json").exists()
    assert (base / "global" / "global.json").exists()
    cm.delete_global_context()
    assert not (base / "global" / "global.json").exists()
    await cm.stop()

    cm2 = ContextManager({"default": {"module": "localfilesystem"}}, tmp_path)
    await cm2.start()
    assert cm2.node_context("n1", "f1").get("a") == 1
    assert cm2.node_context("n2", "f1").get("a") is None
    assert cm2.global_context().get("g") is None
    await cm2.stop()


async def test_file_store_set_outside_loop_is_written_on_close(tmp_path):
    store = LocalFileSystemStore({"dir": str(tmp_path)})
    await store.open()

    def set_from_thread():
        store.set("global", "t", 1)

    await asyncio.to_thread(set_from_thread)
    await store.close()
    assert json.loads((tmp_path / "context" / "global" / "global.json").read_text()) == {"t": 1}


def test_default_logger_is_used(caplog):
    cm = ContextManager(None, None)
    with caplog.at_level(logging.WARNING, logger="flowrt.context"):
        cm.node_context("n", "f").get("a", "elsewhere")
    assert "elsewhere" in caplog.text


async def test_file_store_reopen_schedules_flushes_again(tmp_path):
    store = LocalFileSystemStore({"dir": str(tmp_path), "flushInterval": 0})
    await store.open()
    store.set("f1", "a", 1)
    await store.close()
    await store.open()
    assert store.get("f1", "a") == 1
    store.set("f1", "a", 2)
    for _ in range(100):
        if store._flush_task is not None:
            await store._flush_task
            break
        await asyncio.sleep(0)
    assert json.loads((tmp_path / "context" / "f1" / "flow.json").read_text()) == {"a": 2}
    await store.close()


async def test_file_store_set_from_another_thread_is_flushed(tmp_path):
    store = LocalFileSystemStore({"dir": str(tmp_path), "flushInterval": 0})
    await store.open()
    await asyncio.to_thread(store.set, "global", "from_thread", [1])
    for _ in range(100):
        if store._flush_task is not None:
            await store._flush_task
            break
        await asyncio.sleep(0)
    path = tmp_path / "context" / "global" / "global.json"
    assert json.loads(path.read_text()) == {"from_thread": [1]}
    await store.close()


# ----- file layout: ids never leave the context directory, corrupt files are named ---------------


@pytest.mark.parametrize(
    "node_id, flow_id",
    [
        ("../../etc/passwd", "f1"),
        ("n1", "../../outside"),
        ("/abs/path", "/etc"),
        ("a\0b", ".."),
        (".", "x/.."),
        ("", "f2"),
    ],
)
async def test_file_store_ids_stay_inside_the_context_directory_and_round_trip(tmp_path, node_id, flow_id):
    base = tmp_path / "user"
    cm = ContextManager({"default": {"module": "localfilesystem"}}, base)
    await cm.start()
    cm.node_context(node_id, flow_id).set("k", "node value")
    cm.flow_context(flow_id).set("k", "flow value")
    await cm.stop()
    context_dir = (base / "context").resolve()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 2
    for path in written:
        assert path.resolve().is_relative_to(context_dir), path
    cm2 = ContextManager({"default": {"module": "localfilesystem"}}, base)
    await cm2.start()
    assert cm2.node_context(node_id, flow_id).get("k") == "node value"
    assert cm2.flow_context(flow_id).get("k") == "flow value"
    await cm2.stop()


def test_usual_node_red_ids_keep_node_reds_file_layout(tmp_path):
    store = LocalFileSystemStore({"dir": str(tmp_path)})
    assert store.scope_path("8a3b4c5d.9e8f7a:f1f2f3f4f5f6f7f8") == (
        tmp_path / "context" / "f1f2f3f4f5f6f7f8" / "8a3b4c5d.9e8f7a.json"
    )
    assert store.scope_path("tab_1-a") == tmp_path / "context" / "tab_1-a" / "flow.json"


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"{not json", "Invalid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe\x00junk", "not UTF-8"),
        (b"[" * 100_000, "Invalid JSON"),
    ],
    ids=["syntax", "array", "binary", "deep"],
)
async def test_a_corrupt_context_file_is_a_context_error_naming_the_file(tmp_path, content, fragment):
    bad = tmp_path / "context" / "f1" / "flow.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content)
    cm = ContextManager({"default": {"module": "localfilesystem"}}, tmp_path)
    with pytest.raises(ContextError) as caught:
        await cm.start()
    assert str(bad) in str(caught.value)
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < 500
