"""Port of Node-RED's test/nodes/core/function/rbe_spec.js (the filter node, type rbe)."""

from __future__ import annotations

from flowrt.testing import FlowTestHarness


async def run(config, messages, count=None):
    flow = [
        {"id": "n1", "type": "rbe", "wires": [["n2"]], **config},
        {"id": "n2", "type": "helper"},
        {"id": "pass", "type": "change", "rules": [], "wires": [["n2"]]},
    ]
    async with FlowTestHarness(flow) as h:
        for m in messages:
            h.node("n1").receive(m)
        h.node("pass").receive({"marker": True})
        got = []
        while not (msg := await h.node("n2").next_input()).get("marker"):
            got.append(msg)
        return got, h


async def test_defaults():
    async with FlowTestHarness([{"id": "n1", "type": "rbe", "name": "rbe1", "wires": [[]]}]) as h:
        node = h.node("n1").node
        assert node.name == "rbe1" and node.func == "rbe" and node.gap == 0


async def test_rbe_multiple_topics():
    msgs = [
        {"payload": "a"},
        {"payload": "a"},
        {"payload": "a"},
        {"payload": 2},
        {"payload": 2},
        {"payload": {"b": 1, "c": 2}},
        {"payload": {"c": 2, "b": 1}},
        {"payload": {"c": 2, "b": 1}},
        {"payload": True},
        {"payload": False},
        {"payload": False},
        {"payload": True},
        {"topic": "a", "payload": 1},
        {"topic": "b", "payload": 1},
        {"topic": "b", "payload": 1},
        {"topic": "a", "payload": 1},
        {"topic": "c", "payload": 1},
    ]
    got, _ = await run({"func": "rbe", "gap": "0"}, msgs)
    assert [(m.get("topic"), m["payload"]) for m in got] == [
        (None, "a"),
        (None, 2),
        (None, {"b": 1, "c": 2}),
        (None, True),
        (None, False),
        (None, True),
        ("a", 1),
        ("b", 1),
        ("c", 1),
    ]


async def test_rbe_ignores_topics_if_told():
    msgs = [
        {"topic": "a", "payload": "a"},
        {"topic": "b", "payload": "a"},
        {"topic": "c", "payload": "a"},
        {"topic": "a", "payload": 2},
        {"topic": "b", "payload": 2},
        {"payload": {"b": 1, "c": 2}},
        {"payload": {"c": 2, "b": 1}},
        {"payload": {"c": 2, "b": 1}},
        {"topic": "a", "payload": True},
        {"topic": "b", "payload": False},
        {"topic": "c", "payload": False},
        {"topic": "d", "payload": True},
        {"topic": "a", "payload": 1},
        {"topic": "b", "payload": 1},
        {"topic": "c", "payload": 1},
        {"topic": "d", "payload": 1},
        {"topic": "a", "payload": 2},
    ]
    got, _ = await run({"func": "rbe", "gap": "0", "septopics": False}, msgs)
    assert [m["payload"] for m in got] == ["a", 2, {"b": 1, "c": 2}, True, False, True, 1, 2]
    assert got[6]["topic"] == "a" and got[7]["topic"] == "a"


async def test_rbe_other_property():
    msgs = [
        {"foo": "a"},
        {"payload": "a"},
        {"foo": "a"},
        {"payload": "a"},
        {"foo": "a"},
        {"foo": "b"},
        {"foo": {"b": 1, "c": 2}},
        {"foo": {"c": 2, "b": 1}},
        {"payload": {"c": 2, "b": 1}},
    ]
    got, _ = await run({"func": "rbe", "gap": "0", "property": "foo"}, msgs)
    assert [m["foo"] for m in got] == ["a", "b", {"b": 1, "c": 2}]


async def test_rbei_ignores_first_value():
    msgs = [
        {"payload": "a", "topic": "a"},
        {"payload": "a", "topic": "b"},
        {"payload": "a", "topic": "a"},
        {"payload": "b", "topic": "a"},
        {"payload": "b", "topic": "b"},
        {"payload": "c", "topic": "a"},
        {"payload": "c", "topic": "b"},
    ]
    got, _ = await run({"func": "rbei", "gap": "0"}, msgs)
    assert [(m["payload"], m["topic"]) for m in got] == [("b", "a"), ("b", "b"), ("c", "a"), ("c", "b")]


async def test_reset():
    msgs = [
        {"topic": "a", "payload": "a"},
        {"topic": "a", "payload": "a"},
        {"topic": "b", "payload": "b"},
        {"reset": True},
        {"topic": "a", "payload": "a"},
        {"topic": "b", "payload": "b"},
        {"topic": "b", "payload": "b"},
        {"topic": "b", "reset": ""},
        {"topic": "b", "payload": "b"},
        {"topic": "a", "payload": "a"},
        {"reset": ""},
        {"topic": "b", "payload": "b"},
        {"topic": "a", "payload": "a"},
        {"topic": "c"},
        {"topic": "b", "payload": "b"},
        {"topic": "a", "payload": "a"},
        {"topic": "c", "payload": "c"},
    ]
    got, _ = await run({"func": "rbe", "gap": "0"}, msgs)
    assert [m["payload"] for m in got] == ["a", "b", "a", "b", "b", "b", "a", "c"]


async def test_deadband_eq():
    got, _ = await run(
        {"func": "deadbandEq", "gap": "10", "inout": "out"},
        [{"payload": p} for p in (0, 2, 4, 6, 8, 10, 15, 20)],
    )
    assert [m["payload"] for m in got] == [0, 10, 20]


async def test_deadband():
    got, _ = await run(
        {"func": "deadband", "gap": "10"}, [{"payload": p} for p in (0, 2, 4, "6 deg", 8, 20, 15, "5 deg")]
    )
    assert [m["payload"] for m in got] == [0, 20, "5 deg"]


async def test_deadband_percent():
    got, _ = await run(
        {"func": "deadband", "gap": "10%"}, [{"payload": p} for p in (100, 95, 105, 111, 120, 135)]
    )
    assert [m["payload"] for m in got] == [100, 111, 135]


async def test_deadband_warns_without_number():
    got, h = await run({"func": "deadband", "gap": "10"}, [{"payload": "banana"}])
    assert got == []
    warnings = [r for r in h.logs if r.node_id == "n1"]
    assert len(warnings) == 1 and warnings[0].level == "warn" and warnings[0].node_type == "rbe"


async def test_narrowband_eq():
    got, _ = await run(
        {"func": "narrowbandEq", "gap": "10", "inout": "out", "start": "1"},
        [{"payload": p} for p in (100, 0, 10, 5, 15, 10, 20, 25)],
    )
    assert [m["payload"] for m in got][:3] == [0, 5, 10]


async def test_narrowband():
    got, _ = await run(
        {"func": "narrowband", "gap": "10"},
        [{"payload": p} for p in (0, 20, 40, "6 deg", 18, 20, 50, "5 deg")],
    )
    assert [m["payload"] for m in got] == [0, "6 deg", "5 deg"]


async def test_narrowband_gap_zero():
    got, _ = await run({"func": "narrowband", "gap": "0"}, [{"payload": p} for p in (1, 1, 1, 1, 0, 1)])
    assert len(got) == 5 and got[0]["payload"] == 1 and got[4]["payload"] == 1


async def test_narrowband_step_mode():
    got, _ = await run(
        {"func": "narrowband", "gap": "10", "inout": "in", "start": "500"},
        [{"payload": p} for p in (50, 55, 200, 205)],
    )
    assert [m["payload"] for m in got] == [55, 205]
