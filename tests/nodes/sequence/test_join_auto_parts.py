"""join in auto mode: the parts after a sequence's first one take a shorter path (issue 19);
these cases go through it and through the general path and must agree with Node-RED's join."""

from __future__ import annotations

from flowrt.testing import FlowTestHarness

JOIN = {"id": "j1", "type": "join", "mode": "auto", "wires": [["h1"]]}


async def joined(messages, **config):
    flow = [{**JOIN, **config}, {"id": "h1", "type": "helper"}]
    async with FlowTestHarness(flow) as h:
        for m in messages:
            h.node("j1").receive(m)
        return await h.node("h1").next_input()


def part(index, payload, count=4, **extra):
    return {
        "payload": payload,
        "parts": {"id": "A", "type": "array", "len": 1, "index": index, "count": count},
        **extra,
    }


async def test_out_of_order_parts():
    out = await joined([part(2, "c"), part(0, "a"), part(3, "d"), part(1, "b")])
    assert out["payload"] == ["a", "b", "c", "d"] and "parts" not in out


async def test_a_repeated_index_is_replaced_not_counted():
    flow = [{**JOIN}, {"id": "h1", "type": "helper"}]
    async with FlowTestHarness(flow) as h:
        for m in [part(0, "a"), part(1, "b"), part(1, "B"), part(2, "c")]:
            h.node("j1").receive(m)
        await h.idle()
        assert h.node("h1").received == []  # 3 of 4 indexes seen
        h.node("j1").receive(part(3, "d"))
        out = await h.node("h1").next_input()
    assert out["payload"] == ["a", "B", "c", "d"]


async def test_the_last_message_keeps_its_other_properties():
    out = await joined([part(0, 1, topic="t0"), part(1, 2, topic="t1", extra=True), part(2, 3), part(3, 4)])
    assert out["payload"] == [1, 2, 3, 4] and out["topic"] == "t1" and out["extra"] is True


async def test_string_parts_and_a_named_property():
    def sp(i, text):
        return {
            "value": text,
            "parts": {"id": "S", "type": "string", "ch": "-", "index": i, "count": 3, "property": "value"},
        }

    out = await joined([sp(0, "x"), sp(1, "y"), sp(2, "z")])
    assert out["value"] == "x-y-z"


async def test_complete_ends_the_sequence_early():
    out = await joined([part(0, "a"), part(1, "b", complete=True)])
    assert out["payload"] == ["a", "b"] and "complete" not in out


async def test_count_given_only_on_the_last_part():
    msgs = [part(0, "a"), part(1, "b"), part(2, "c", count=3)]
    for m in msgs[:2]:
        del m["parts"]["count"]
    out = await joined(msgs)
    assert out["payload"] == ["a", "b", "c"]


async def test_nested_sequence_parts_are_restored():
    outer = {"id": "O", "type": "array", "index": 5, "count": 9, "len": 1}
    msgs = [
        {
            "payload": i,
            "parts": {"id": "A", "type": "array", "len": 1, "index": i, "count": 2, "parts": outer},
        }
        for i in range(2)
    ]
    out = await joined(msgs)
    assert out["payload"] == [0, 1] and out["parts"] == outer
