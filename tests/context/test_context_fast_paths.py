"""The memory store's plain-name fast paths (issue 19) do what the property-path functions do."""

from __future__ import annotations

import random

from flowrt.context import MemoryStore
from flowrt.lang.propertypath import delete_object_property, set_object_property
from flowrt.testing import FlowTestHarness

NAMES = ["a", "seen", "last_hop1", "_x", "$y", "A9", "n_0"]


def test_set_of_plain_names_matches_the_property_path_functions():
    rng = random.Random(19)
    store, reference = MemoryStore(), {}
    values = [1, 0, "", "s", [1, 2], {"k": 1}, None, False, 2.5]
    for _ in range(2_000):
        key, value = rng.choice(NAMES), rng.choice(values)
        store.set("flow", key, value)
        if value is None:
            delete_object_property(reference, key)
        else:
            set_object_property(reference, key, value)
        assert store.data.get("flow", {}) == reference


def test_other_keys_still_take_the_property_path():
    store = MemoryStore()
    store.set("flow", "a.b", 1)
    store.set("flow", "c[0]", 2)
    store.set("flow", "d", {"e": 1})
    store.set("flow", "d.e", None)
    assert store.data["flow"] == {"a": {"b": 1}, "c": [2], "d": {}}


async def test_js_reads_scalars_and_seeded_globals_as_before():
    flow = [
        {
            "id": "f1",
            "type": "function",
            "func": "flow.set('seen', (flow.get('seen') || 0) + 1);"
            "msg.payload = [flow.get('seen'), global.get('seeded'), flow.get('missing')]; return msg;",
            "wires": [["out"]],
        },
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow, settings={"functionGlobalContext": {"seeded": 7}}) as h:
        h.node("f1").receive({})
        h.node("f1").receive({})
        first, second = await h.node("out").inputs(2)
    assert first["payload"] == [1, 7, None] and second["payload"] == [2, 7, None]
