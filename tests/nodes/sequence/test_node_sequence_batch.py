"""Ports of Node-RED's test/nodes/core/sequence/19-batch_spec.js (interval cases without timing assertions)."""

import flowrt.nodes.sequence.batch  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness


def flow(**config):
    base = {
        "id": "n1",
        "type": "batch",
        "name": "BatchNode",
        "overlap": 0,
        "interval": 10,
        "allowEmptySequence": False,
        "topics": [],
    }
    return [{**base, **config, "wires": [["n2"]]}, {"id": "n2", "type": "helper"}]


def check(msgs, results):
    """Messages form the expected sequences, each with its own parts.id and index/count."""
    pos = 0
    ids = set()
    for seq in results:
        group = msgs[pos : pos + len(seq)]
        pos += len(seq)
        assert [m["payload"] for m in group] == seq
        gid = group[0]["parts"]["id"]
        assert all(m["parts"]["id"] == gid for m in group)
        assert [m["parts"]["index"] for m in group] == list(range(len(seq)))
        assert all(m["parts"]["count"] == len(seq) for m in group)
        ids.add(gid)
    assert len(ids) == len(results)
    assert len({id(m) for m in msgs}) == len(msgs)


async def run_count(config, results):
    async with FlowTestHarness(flow(mode="count", **config)) as h:
        for i in range(6):
            h.node("n1").receive({"payload": i, "parts": {"count": 6, "index": i}})
        msgs = await h.node("n2").inputs(sum(len(r) for r in results))
        check(msgs, results)


async def test_loaded():
    async with FlowTestHarness(flow()) as h:
        assert h.node("n1").node.name == "BatchNode"
        assert h.node("n1").node.mode == "count"


async def test_count():
    await run_count({"count": 2}, [[0, 1], [2, 3], [4, 5]])


async def test_count_more_sent_than_count():
    await run_count({"count": 4}, [[0, 1, 2, 3]])


async def test_count_terminates_early_when_parts_honoured():
    await run_count({"count": 4, "honourParts": True}, [[0, 1, 2, 3], [4, 5]])


async def test_count_with_overlap():
    await run_count({"count": 3, "overlap": 2}, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])


async def test_overlap_not_smaller_than_count_refuses_to_start():
    async with FlowTestHarness(flow(mode="count", count=2, overlap=2)) as h:
        assert h.runtime.get_node("n1") is None


async def test_count_setting_is_read_as_javascript_number():
    # 19-batch.js: Number(n.count || 1); " 0x2 " is 2 in JavaScript (Python's float() refuses it)
    await run_count({"count": " 0x2 "}, [[0, 1], [2, 3], [4, 5]])


@pytest.mark.parametrize("count", ["1_000", "2e", "Infinity"])
async def test_count_that_is_not_a_javascript_number_refuses_to_start(count):
    async with FlowTestHarness(flow(mode="count", count=count)) as h:
        assert h.runtime.get_node("n1") is None


@pytest.mark.parametrize("mode", ["count", "interval"])
async def test_too_many_pending(mode):
    async with FlowTestHarness(
        flow(mode=mode, count=5, interval=10), settings={"nodeMessageBufferMaxLength": 2}
    ) as h:
        for i in range(3):
            h.node("n1").receive({"payload": i})
        err, msg = await h.node("n1").next_error()
        assert str(err) == "too many pending messages"
        assert msg["payload"] == 2
        assert h.node("n1").node.pending == []


async def test_count_reset():
    async with FlowTestHarness(flow(mode="count", count=2, interval=0)) as h:
        for m in (
            {"payload": 0},
            {"payload": 1},
            {"payload": 2},
            {"payload": 3, "reset": True},
            {"payload": 4},
            {"payload": 5},
        ):
            h.node("n1").receive(m)
        msgs = await h.node("n2").inputs(4)
        check(msgs, [[0, 1], [4, 5]])


@pytest.mark.parametrize("interval", [1, 0.1], ids=["whole-seconds", "float"])
async def test_interval_groups_what_arrived(interval):
    async with FlowTestHarness(flow(mode="interval", interval=interval), clock="virtual") as h:
        h.node("n1").receive({"payload": 0})
        h.node("n1").receive({"payload": 1})
        await h.clock.advance(interval * 0.9)
        assert h.node("n2").received == []
        await h.clock.advance(interval * 0.2)
        first = h.node("n2").received
        assert len(first) == 2
        h.node("n1").receive({"payload": 2})
        h.node("n1").receive({"payload": 3})
        await h.clock.advance(interval)
        msgs = h.node("n2").received
        assert msgs[:2] == first
        check(msgs, [[0, 1], [2, 3]])


async def test_interval_does_not_send_empty_sequence():
    async with FlowTestHarness(flow(mode="interval", interval=0.02), clock="virtual") as h:
        await h.clock.advance(0.1)  # five intervals with nothing
        assert h.node("n2").received == []
        h.node("n1").receive({"payload": 0})
        await h.clock.advance(0.02)
        [msg] = h.node("n2").received
        assert msg["payload"] == 0 and msg["parts"]["count"] == 1


async def test_interval_sends_empty_sequence():
    config = flow(mode="interval", interval=0.02, allowEmptySequence=True)
    async with FlowTestHarness(config, clock="virtual") as h:
        await h.clock.advance(0.02)
        [msg] = h.node("n2").received
        assert msg["payload"] is None
        assert msg["parts"]["index"] == 0 and msg["parts"]["count"] == 1


async def test_interval_reset():
    async with FlowTestHarness(flow(mode="interval", interval=0.2), clock="virtual") as h:
        h.node("n1").receive({"payload": 0})
        h.node("n1").receive({"reset": True})
        h.node("n1").receive({"payload": 1})
        await h.clock.advance(0.2)
        [msg] = h.node("n2").received
        assert msg["payload"] == 1


CONCAT = [
    (
        "series",
        ["TA", "TB"],
        [["TB", 0, 0, 2], ["TB", 1, 1, 2], ["TA", 2, 0, 2], ["TA", 3, 1, 2]],
        [2, 3, 0, 1],
    ),
    (
        "mixed",
        ["TA", "TB"],
        [["TA", 2, 0, 2], ["TB", 0, 0, 2], ["TA", 3, 1, 2], ["TB", 1, 1, 2]],
        [2, 3, 0, 1],
    ),
    (
        "three",
        ["TA", "TB", "TC"],
        [["TC", 4, 0, 1], ["TB", 0, 0, 2], ["TB", 1, 1, 2], ["TA", 2, 0, 2], ["TA", 3, 1, 2]],
        [2, 3, 0, 1, 4],
    ),
    ("same", ["TA", "TA"], [["TA", 9, 0, 2], ["TA", 8, 1, 2]], [9, 8, 9, 8]),
]


def concat_msg(topic, payload, index, count):
    return {"topic": topic, "payload": payload, "parts": {"id": topic, "index": index, "count": count}}


@pytest.mark.parametrize(("name", "topics", "inputs", "result"), CONCAT, ids=[c[0] for c in CONCAT])
async def test_concat(name, topics, inputs, result):
    async with FlowTestHarness(flow(mode="concat", topics=[{"topic": t} for t in topics])) as h:
        for data in inputs:
            h.node("n1").receive(concat_msg(*data))
        msgs = await h.node("n2").inputs(len(result))
        check(msgs, [result])


async def test_concat_too_many_pending():
    cfg = {"mode": "concat", "topics": [{"topic": "TA"}, {"topic": "TB"}]}
    async with FlowTestHarness(flow(**cfg), settings={"nodeMessageBufferMaxLength": 2}) as h:
        for data in (["TA", 1, 0, 2], ["TA", 2, 1, 2], ["TB", 3, 0, 2]):
            h.node("n1").receive(concat_msg(*data))
        err, msg = await h.node("n1").next_error()
        assert str(err) == "too many pending messages"
        assert msg["payload"] == 3


async def test_concat_reset():
    cfg = {"mode": "concat", "topics": [{"topic": "TA"}, {"topic": "TB"}]}
    async with FlowTestHarness(flow(**cfg)) as h:
        for data in (["TA", 1, 0, 2], ["TA", 2, 1, 2]):
            h.node("n1").receive(concat_msg(*data))
        h.node("n1").receive({"reset": True})
        for data in (["TB", 0, 0, 2], ["TB", 1, 1, 2], ["TA", 2, 0, 2], ["TA", 3, 1, 2]):
            h.node("n1").receive(concat_msg(*data))
        msgs = await h.node("n2").inputs(4)
        check(msgs, [[2, 3, 0, 1]])


async def test_concat_without_parts_is_error():
    async with FlowTestHarness(flow(mode="concat", topics=[{"topic": "TA"}])) as h:
        h.node("n1").receive({"topic": "TA", "payload": 1})
        err, _ = await h.node("n1").next_error()
        assert "msg.parts" in str(err)


# ----- messaging API ---------------------------------------------------------------------


def _need(*types):
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    for t in types:
        if registry.get_type(t) is None:
            pytest.skip(f"{t} node not available")


def complete_flow(mode, count, interval):
    return [
        {
            "id": "b1",
            "type": "batch",
            "mode": mode,
            "count": count,
            "overlap": 0,
            "interval": interval,
            "allowEmptySequence": False,
            "topics": [{"topic": "TA"}],
            "wires": [[]],
        },
        {"id": "c1", "type": "complete", "scope": ["b1"], "wires": [["h1"]]},
        {"id": "k1", "type": "catch", "scope": ["b1"], "wires": [["h1"]]},
        {"id": "h1", "type": "helper"},
    ]


@pytest.mark.parametrize(
    ("mode", "count", "interval", "msgs", "settings"),
    [
        ("count", 2, 2, [{"payload": 0}, {"payload": 1}], None),
        ("count", 2, 2, [{"payload": 0}, {"payload": 1, "reset": True}], None),
        ("count", 10, 2, [{"payload": 0}, {"payload": 1}, {"payload": 2}], {"nodeMessageBufferMaxLength": 2}),
        ("interval", 2, 0.05, [{"payload": 0}, {"payload": 1}], None),
        ("interval", 2, 10, [{"payload": 0}, {"payload": 1, "reset": True}], None),
        (
            "interval",
            2,
            10,
            [{"payload": 0}, {"payload": 1}, {"payload": 2}],
            {"nodeMessageBufferMaxLength": 2},
        ),
        ("concat", 2, 2, [concat_msg("TA", 0, 0, 2), concat_msg("TA", 1, 1, 2)], None),
        ("concat", 2, 2, [concat_msg("TA", 0, 0, 2), {"payload": 1, "reset": True}], None),
        (
            "concat",
            2,
            2,
            [concat_msg("TA", 0, 0, 3), concat_msg("TA", 1, 1, 3), concat_msg("TA", 2, 2, 3)],
            {"nodeMessageBufferMaxLength": 2},
        ),
    ],
    ids=[
        "count-sent",
        "count-reset",
        "count-overflow",
        "interval-sent",
        "interval-reset",
        "interval-overflow",
        "concat-sent",
        "concat-reset",
        "concat-overflow",
    ],
)
async def test_done_called(mode, count, interval, msgs, settings):
    _need("complete", "catch")
    async with FlowTestHarness(complete_flow(mode, count, interval), settings=settings) as h:
        for m in msgs:
            h.node("b1").receive(m)
        outs = await h.node("h1").inputs(len(msgs))
        assert sorted(o["payload"] for o in outs) == list(range(len(msgs)))
