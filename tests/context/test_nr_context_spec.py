"""Node-RED's context specs, ported as behaviour:
test/unit/@node-red/runtime/lib/nodes/context/memory_spec.js (the memory store),
index_spec.js (the context API over stores) and localfilesystem_spec.js (the file store).

Each test names the `it("...")` it ports. Node-RED's store API is `store.get(scope, key[, cb])`;
flowrt's store classes take no callbacks, so the callback ("async") cases run through the
`Context` object, which is where flowrt offers `get/set/keys(..., callback)`.
Counts and skipped cases: docs/conformance-runtime.md.
"""

from __future__ import annotations

import pytest

from flowrt.context import ContextManager, MemoryStore
from flowrt.propertypath import PropertyPathError

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


@pytest.mark.xfail(
    strict=True, reason="flowrt's memory store lists global keys named set/get/keys; Node-RED hides them"
)
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
