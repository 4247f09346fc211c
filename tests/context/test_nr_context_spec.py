"""Node-RED's context specs, ported as behaviour:
test/unit/@node-red/runtime/lib/nodes/context/memory_spec.js (the memory store),
index_spec.js (the context API over stores) and localfilesystem_spec.js (the file store).

Each test names the `it("...")` it ports. Node-RED's store API is `store.get(scope, key[, cb])`;
flowrt's store classes take no callbacks, so the callback ("async") cases run through the
`Context` object, which is where flowrt offers `get/set/keys(..., callback)`.
Counts and skipped cases: docs/conformance-runtime.md.
"""

from __future__ import annotations

import json

import pytest

from flowrt.context import ContextError, ContextManager, LocalFileSystemStore, MemoryStore
from flowrt.lang.propertypath import PropertyPathError

# ===================================================================== memory_spec.js


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def node_x():
    """The context of a node "nodeX" on the default memory store, for the callback cases."""
    return ContextManager(None, None).node_context("nodeX", None)


def test_memory_get_set_sync_should_store_property(store):
    """it('should store property')"""
    assert store.get("nodeX", "foo") is None
    store.set("nodeX", "foo", "test")
    assert store.get("nodeX", "foo") == "test"


def test_memory_should_store_property_creates_parent_properties(store):
    """it('should store property - creates parent properties')"""
    store.set("nodeX", "foo.bar", "test")
    assert store.get("nodeX", "foo") == {"bar": "test"}


def test_memory_should_delete_property(store):
    """it('should delete property'): setting undefined deletes"""
    store.set("nodeX", "foo.abc.bar1", "test1")
    store.set("nodeX", "foo.abc.bar2", "test2")
    assert store.get("nodeX", "foo.abc") == {"bar1": "test1", "bar2": "test2"}
    store.set("nodeX", "foo.abc.bar1", None)
    assert store.get("nodeX", "foo.abc") == {"bar2": "test2"}
    store.set("nodeX", "foo.abc", None)
    assert store.get("nodeX", "foo.abc") is None
    store.set("nodeX", "foo", None)
    assert store.get("nodeX", "foo") is None


def test_memory_should_not_shared_context_with_other_scope(store):
    """it('should not shared context with other scope')"""
    assert store.get("nodeX", "foo") is None and store.get("nodeY", "foo") is None
    store.set("nodeX", "foo", "testX")
    store.set("nodeY", "foo", "testY")
    assert store.get("nodeX", "foo") == "testX"
    assert store.get("nodeY", "foo") == "testY"


def test_memory_should_throw_the_error_if_the_error_occurs(store):
    """it('should throw the error if the error occurs'): ".foo" is a bad key for set and get"""
    with pytest.raises(PropertyPathError):
        store.set("nodeX", ".foo", "test")
    with pytest.raises(PropertyPathError):
        store.get("nodeX", ".foo")


def set_four(ctx):
    for key, value in (("one", "test1"), ("two", "test2"), ("three", "test3"), ("four", "test4")):
        ctx.set(key, value)


def test_memory_should_get_multiple_values_all_known(node_x):
    """it('should get multiple values - all known') (sync)"""
    set_four(node_x)
    assert node_x.get(["one", "two", "four"]) == ["test1", "test2", "test4"]


def test_memory_should_get_multiple_values_include_unknown(node_x):
    """it('should get multiple values - include unknown') (sync)"""
    set_four(node_x)
    assert node_x.get(["one", "unknown.with.multiple.levels"]) == ["test1", None]


def test_memory_should_throw_error_if_bad_key_included_in_multiple_keys(node_x):
    """it('should throw error if bad key included in multiple keys') (sync)"""
    set_four(node_x)
    with pytest.raises(Exception):  # noqa: B017 - Node-RED only asserts that it throws
        node_x.get(["one", ".foo", "three"])


def test_memory_async_should_store_property(node_x):
    """it('should store property') (async)"""
    calls = []
    node_x.get("foo", callback=lambda err, value: calls.append(("get", err, value)))
    node_x.set("foo", "test", callback=lambda err: calls.append(("set", err)))
    node_x.get("foo", callback=lambda err, value: calls.append(("get", err, value)))
    assert calls == [("get", None, None), ("set", None), ("get", None, "test")]


def test_memory_async_should_pass_the_error_to_callback_if_the_error_occurs(node_x):
    """it('should pass the error to callback if the error occurs')"""
    errors = []
    node_x.set(".foo", "test", callback=lambda err, *rest: errors.append(err))
    node_x.get(".foo", callback=lambda err, *rest: errors.append(err))
    assert len(errors) == 2 and all(isinstance(e, Exception) for e in errors)


def test_memory_async_should_get_multiple_values_all_known(node_x):
    """it('should get multiple values - all known') (async): callback(err, v1, v2, v3)"""
    set_four(node_x)
    args = []
    node_x.get(["one", "two", "four"], callback=lambda *a: args.extend(a))
    assert args == [None, "test1", "test2", "test4"]


def test_memory_async_should_get_multiple_values_include_unknown(node_x):
    """it('should get multiple values - include unknown') (async)"""
    set_four(node_x)
    args = []
    node_x.get(["one", "unknown"], callback=lambda *a: args.extend(a))
    assert args == [None, "test1", None]


def test_memory_async_should_throw_error_if_bad_key_included_in_multiple_keys(node_x):
    """it('should throw error if bad key included in multiple keys') (async)"""
    set_four(node_x)
    errors = []
    node_x.get(["one", ".foo", "three"], callback=lambda err, *rest: errors.append(err))
    assert len(errors) == 1 and isinstance(errors[0], Exception)


def test_memory_keys_should_enumerate_context_keys(store):
    """it('should enumerate context keys') (sync)"""
    assert store.keys("nodeX") == []
    store.set("nodeX", "foo", "bar")
    assert store.keys("nodeX") == ["foo"]
    store.set("nodeX", "abc.def", "bar")
    assert store.keys("nodeX") == ["foo", "abc"]


def test_memory_keys_should_enumerate_context_keys_in_each_scopes(store):
    """it('should enumerate context keys in each scopes')"""
    assert store.keys("nodeX") == [] and store.keys("nodeY") == []
    store.set("nodeX", "foo", "bar")
    store.set("nodeY", "hoge", "piyo")
    assert store.keys("nodeX") == ["foo"]
    assert store.keys("nodeY") == ["hoge"]


def test_memory_keys_should_enumerate_global_context_keys(store):
    """it('should enumerate global context keys')"""
    assert store.keys("global") == []
    store.set("global", "foo", "bar")
    assert store.keys("global") == ["foo"]
    store.set("global", "abc.def", "bar")
    assert store.keys("global") == ["foo", "abc"]


def test_memory_keys_should_not_return_specific_keys_as_global_context_keys(store):
    """it('should not return specific keys as global context keys'): memory.js keys() filters
    "set", "get" and "keys" out of the global scope."""
    for key in ("set", "get", "keys"):
        store.set("global", key, "bar")
    assert store.keys("global") == []


def test_memory_keys_async_should_enumerate_context_keys(node_x):
    """it('should enumerate context keys') (async)"""
    seen = []
    node_x.keys(callback=lambda err, keys: seen.append((err, list(keys))))
    node_x.set("foo", "bar", callback=lambda err: None)
    node_x.keys(callback=lambda err, keys: seen.append((err, list(keys))))
    node_x.set("abc.def", "bar", callback=lambda err: None)
    node_x.keys(callback=lambda err, keys: seen.append((err, list(keys))))
    assert seen == [(None, []), (None, ["foo"]), (None, ["foo", "abc"])]


def test_memory_delete_should_delete_context(store):
    """it('should delete context')"""
    store.set("nodeX", "foo", "abc")
    store.set("nodeY", "foo", "abc")
    store.delete("nodeX")
    assert store.get("nodeX", "foo") is None
    assert store.get("nodeY", "foo") == "abc"


def test_memory_clean_should_clean_unnecessary_context(store):
    """it('should clean unnecessary context')"""
    store.set("nodeX", "foo", "abc")
    store.set("nodeY", "foo", "abc")
    store.clean(set())
    assert store.get("nodeX", "foo") is None and store.get("nodeY", "foo") is None


def test_memory_clean_should_not_clean_active_context(store):
    """it('should not clean active context')"""
    store.set("nodeX", "foo", "abc")
    store.set("nodeY", "foo", "abc")
    store.clean({"nodeX"})
    assert store.get("nodeX", "foo") == "abc"
    assert store.get("nodeY", "foo") is None


def test_memory_clean_should_not_clean_global_context(store):
    """it('should not clean global context')"""
    store.set("global", "foo", "abc")
    store.clean({"global"})
    assert store.get("global", "foo") == "abc"
    store.clean(set())
    assert store.get("global", "foo") == "abc"


# ================================================================ localfilesystem_spec.js
# Node-RED's cases run with `cache: false` (each get reads the file); flowrt's file store always
# keeps a cache and writes on flush/close, so "stored" is checked by closing the store and
# reading the values back from a new store on the same directory.


async def reopened(directory, **config):
    store = LocalFileSystemStore({"dir": str(directory), **config})
    await store.open()
    return store


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("test", id="should store property"),
        pytest.param("test", id="should store string"),
        pytest.param(12345, id="should store number"),
        pytest.param(True, id="should store boolean"),
        pytest.param({"obj": "bar"}, id="should store object"),
        pytest.param(["this", "is", "an", "array"], id="should store array"),
        pytest.param([["this", "is"], ["an", "array"]], id="should store array of arrays"),
        pytest.param([{"obj": "foo"}, {"obj": "bar"}], id="should store array of objects"),
    ],
)
async def test_localfilesystem_stores_values_of_each_type(tmp_path, value):
    """it('should store property'), it('should store string'), it('should store number'), it('should store boolean'),
    it('should store object'), it('should store array'), it('should store array of arrays'),
    it('should store array of objects')"""
    store = await reopened(tmp_path)
    assert store.get("nodeX", "foo") is None
    store.set("nodeX", "foo", value)
    assert store.get("nodeX", "foo") == value
    await store.close()
    again = await reopened(tmp_path)
    assert again.get("nodeX", "foo") == value
    await again.close()


async def test_localfilesystem_should_store_property_creates_parent_properties(tmp_path):
    """it('should store property - creates parent properties')"""
    store = await reopened(tmp_path)
    store.set("nodeX", "foo.bar", "test")
    await store.close()
    again = await reopened(tmp_path)
    assert again.get("nodeX", "foo") == {"bar": "test"}
    await again.close()


async def test_localfilesystem_should_store_local_scope_property(tmp_path):
    """it('should store local scope property'): a node scope "abc:def" is file def/abc.json"""
    store = await reopened(tmp_path)
    store.set("abc:def", "foo.bar", "test")
    await store.close()
    assert json.loads((tmp_path / "context" / "def" / "abc.json").read_text()) == {"foo": {"bar": "test"}}
    again = await reopened(tmp_path)
    assert again.get("abc:def", "foo") == {"bar": "test"}
    await again.close()


async def test_localfilesystem_should_delete_property(tmp_path):
    """it('should delete property')"""
    store = await reopened(tmp_path)
    store.set("nodeX", "foo.abc.bar1", "test1")
    store.set("nodeX", "foo.abc.bar2", "test2")
    store.set("nodeX", "foo.abc.bar1", None)
    await store.close()
    again = await reopened(tmp_path)
    assert again.get("nodeX", "foo.abc") == {"bar2": "test2"}
    again.set("nodeX", "foo", None)
    await again.close()
    third = await reopened(tmp_path)
    assert third.get("nodeX", "foo") is None
    await third.close()


async def test_localfilesystem_should_not_shared_context_with_other_scope(tmp_path):
    """it('should not shared context with other scope')"""
    store = await reopened(tmp_path)
    store.set("nodeX", "foo", "testX")
    store.set("nodeY", "foo", "testY")
    await store.close()
    again = await reopened(tmp_path)
    assert (again.get("nodeX", "foo"), again.get("nodeY", "foo")) == ("testX", "testY")
    await again.close()


async def test_localfilesystem_should_handle_empty_context_file(tmp_path):
    """it('should handle empty context file')"""
    (tmp_path / "context" / "nodeX").mkdir(parents=True)
    (tmp_path / "context" / "nodeX" / "flow.json").write_text("")
    store = await reopened(tmp_path)
    assert store.get("nodeX", "foo") is None
    store.set("nodeX", "foo", "test")
    assert store.get("nodeX", "foo") == "test"
    await store.close()


async def test_localfilesystem_should_throw_an_error_when_reading_corrupt_context_file(tmp_path):
    """it('should throw an error when reading corrupt context file')"""
    (tmp_path / "context" / "nodeX").mkdir(parents=True)
    (tmp_path / "context" / "nodeX" / "flow.json").write_text("{abc")
    with pytest.raises(ContextError, match="flow.json"):
        await reopened(tmp_path)


async def test_localfilesystem_should_enumerate_context_keys_in_each_scopes(tmp_path):
    """it('should enumerate context keys') and it('should enumerate context keys in each scopes')"""
    store = await reopened(tmp_path)
    assert store.keys("nodeX") == [] and store.keys("nodeY") == []
    store.set("nodeX", "foo", "bar")
    store.set("nodeX", "abc.def", "bar")
    store.set("nodeY", "hoge", "piyo")
    await store.close()
    again = await reopened(tmp_path)
    assert again.keys("nodeX") == ["foo", "abc"]
    assert again.keys("nodeY") == ["hoge"]
    await again.close()


async def test_localfilesystem_should_delete_context(tmp_path):
    """it('should delete context'): the scope's file goes too"""
    store = await reopened(tmp_path)
    store.set("nodeX", "foo", "abc")
    store.set("nodeY", "foo", "abc")
    await store.flush()
    store.delete("nodeX")
    await store.close()
    again = await reopened(tmp_path)
    assert again.get("nodeX", "foo") is None
    assert again.get("nodeY", "foo") == "abc"
    await again.close()


@pytest.mark.parametrize(
    ("active", "kept"),
    [
        pytest.param(set(), set(), id="should clean unnecessary context"),
        pytest.param({"nodeX"}, {"nodeX"}, id="should not clean active context"),
    ],
)
async def test_localfilesystem_clean(tmp_path, active, kept):
    """it('should clean unnecessary context'), it('should not clean active context')"""
    store = await reopened(tmp_path)
    store.set("nodeX", "foo", "abc")
    store.set("nodeY", "foo", "abc")
    await store.flush()
    store.clean(active)
    await store.close()
    again = await reopened(tmp_path)
    assert {s for s in ("nodeX", "nodeY") if again.get(s, "foo") == "abc"} == kept
    await again.close()


async def test_localfilesystem_should_load_contexts_into_the_cache(tmp_path):
    """it('should load contexts into the cache'): values read at open stay after the files go"""
    base = tmp_path / "context"
    for rel, data in (
        ("global/global.json", "global"),
        ("flow/flow.json", "flow"),
        ("flow/node.json", "node"),
    ):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(json.dumps({"key": data}, indent=4))
    store = await reopened(tmp_path)
    for rel in ("global/global.json", "flow/flow.json", "flow/node.json"):
        (base / rel).unlink()
    assert store.get("global", "key") == "global"
    assert store.get("flow", "key") == "flow"
    assert store.get("node:flow", "key") == "node"


async def test_localfilesystem_configuration_should_change_a_base_directory(tmp_path):
    """it('should change a base directory')"""
    default = await reopened(tmp_path)
    other = await reopened(tmp_path, base="contexts2")
    other.set("node2", "foo2", "bar2")
    await other.close()
    assert (tmp_path / "contexts2" / "node2" / "flow.json").is_file()
    assert default.get("node2", "foo2") is None
    await default.close()


async def test_localfilesystem_configuration_should_use_userdir(tmp_path):
    """it('should use userDir'): without dir, settings.userDir is the directory"""
    store = LocalFileSystemStore({"base": "contexts2", "settings": {"userDir": str(tmp_path)}})
    await store.open()
    store.set("node2", "foo2", "bar2")
    await store.close()
    assert json.loads((tmp_path / "contexts2" / "node2" / "flow.json").read_text()) == {"foo2": "bar2"}


# ======================================================================= index_spec.js
# The context API over the default memory store ("local memory" section). A node context is
# ContextManager.node_context(node id, flow id); its .flow and .global_ reach the other scopes.


@pytest.fixture
def contexts():
    return ContextManager(None, None)


def test_index_stores_local_property(contexts):
    """it('stores local property')"""
    context1 = contexts.node_context("1", "flowA")
    assert context1.get("foo") is None
    context1.set("foo", "test")
    assert context1.get("foo") == "test"


def test_index_stores_local_property_creates_parent_properties(contexts):
    """it('stores local property - creates parent properties')"""
    context1 = contexts.node_context("1", "flowA")
    context1.set("foo.bar", "test")
    assert context1.get("foo") == {"bar": "test"}


def test_index_deletes_local_property(contexts):
    """it('deletes local property')"""
    context1 = contexts.node_context("1", "flowA")
    context1.set("foo.abc.bar1", "test1")
    context1.set("foo.abc.bar2", "test2")
    assert context1.get("foo.abc") == {"bar1": "test1", "bar2": "test2"}
    context1.set("foo.abc.bar1", None)
    assert context1.get("foo.abc") == {"bar2": "test2"}
    context1.set("foo.abc", None)
    assert context1.get("foo.abc") is None
    context1.set("foo", None)
    assert context1.get("foo") is None


@pytest.mark.parametrize(
    "scope",
    [pytest.param("flow", id="stores flow property"), pytest.param("global_", id="stores global property")],
)
def test_index_stores_flow_and_global_property(contexts, scope):
    """it('stores flow property'), it('stores global property')"""
    ctx = getattr(contexts.node_context("1", "flowA"), scope)
    assert ctx.get("foo") is None
    ctx.set("foo", "test")
    assert ctx.get("foo") == "test"


def test_index_keeps_local_context_local(contexts):
    """it('keeps local context local')"""
    context1, context2 = contexts.node_context("1", "flowA"), contexts.node_context("2", "flowA")
    context1.set("foo", "test")
    assert context1.get("foo") == "test" and context2.get("foo") is None


def test_index_flow_context_accessible_to_all_flow_nodes(contexts):
    """it('flow context accessible to all flow nodes')"""
    context1, context2 = contexts.node_context("1", "flowA"), contexts.node_context("2", "flowA")
    context1.flow.set("foo", "test")
    assert context1.flow.get("foo") == context2.flow.get("foo") == "test"


def test_index_flow_context_not_shared_to_nodes_on_other_flows(contexts):
    """it('flow context not shared to nodes on other flows')"""
    context1, context2 = contexts.node_context("1", "flowA"), contexts.node_context("2", "flowB")
    context1.flow.set("foo", "test")
    assert context1.flow.get("foo") == "test" and context2.flow.get("foo") is None


def test_index_global_context_shared_to_all_nodes(contexts):
    """it('global context shared to all nodes')"""
    context1, context2 = contexts.node_context("1", "flowA"), contexts.node_context("2", "flowB")
    context1.global_.set("foo", "test")
    assert context1.global_.get("foo") == context2.global_.get("foo") == "test"


def test_index_deletes_context(contexts):
    """it('deletes context')"""
    context = contexts.node_context("1", "flowA")
    context.set("foo", "abc")
    contexts.delete_node_context("1", "flowA")
    assert contexts.node_context("1", "flowA").get("foo") is None


def test_index_deletes_global_context():
    """it('deletes global context'): functionGlobalContext values stay"""
    contexts = ContextManager(None, None, function_global_context={"foo": "bar"})
    global_a = contexts.global_context()
    assert global_a.get("foo") == "bar"
    global_a.set("another", "value")
    contexts.delete_global_context()
    global_b = contexts.global_context()
    assert global_b.get("foo") == "bar"
    assert global_b.get("another") is None
