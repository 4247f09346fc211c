"""Ports of Node-RED's test/nodes/core/sequence/18-sort_spec.js."""

import flowrt.nodes.sequence.sort  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness

DATA = ["200", "4", "30", "1000"]
CASES = [
    ("ascending", False, DATA, ["1000", "200", "30", "4"]),
    ("descending", False, DATA, ["4", "30", "200", "1000"]),
    ("ascending", True, DATA, ["4", "30", "200", "1000"]),
    ("descending", True, DATA, ["1000", "200", "30", "4"]),
]


def flow(**config):
    return [{"id": "n1", "type": "sort", "wires": [["n2"]], **config}, {"id": "n2", "type": "helper"}]


async def sort_prop(config, target, data_in):
    async with FlowTestHarness(flow(target=target, targetType="msg", **config)) as h:
        h.node("n1").receive({target: data_in})
        return (await h.node("n2").next_input())[target]


async def sort_seq(config, prop, data_in):
    async with FlowTestHarness(flow(targetType="seq", **config)) as h:
        for i, v in enumerate(data_in):
            h.node("n1").receive({"parts": {"id": "X", "index": i, "count": len(data_in)}, prop: v})
        msgs = await h.node("n2").inputs(len(data_in))
    assert all(m["parts"]["count"] == len(data_in) for m in msgs)
    assert [m["parts"]["index"] for m in msgs] == list(range(len(data_in)))
    return [m[prop] for m in msgs]


async def test_loaded():
    async with FlowTestHarness(flow(order="ascending", as_num=False, name="SortNode")) as h:
        assert h.node("n1").node.name == "SortNode"


@pytest.mark.parametrize(("order", "as_num", "data_in", "data_out"), CASES)
@pytest.mark.parametrize("target", ["payload", "data"])
async def test_sort_property_elements(order, as_num, data_in, data_out, target):
    cfg = {"order": order, "as_num": as_num, "msgKey": "", "msgKeyType": "elem"}
    assert await sort_prop(cfg, target, list(data_in)) == data_out


@pytest.mark.parametrize(("order", "as_num", "data_in", "data_out"), CASES)
@pytest.mark.parametrize("prop", ["payload", "data"])
async def test_sort_message_group(order, as_num, data_in, data_out, prop):
    cfg = {"order": order, "as_num": as_num, "seqKey": prop, "seqKeyType": "msg"}
    assert await sort_seq(cfg, prop, data_in) == data_out


@pytest.mark.parametrize(
    ("order", "data_out"),
    [("ascending", ["D1000", "C200", "B30", "A4"]), ("descending", ["A4", "B30", "C200", "D1000"])],
)
async def test_sort_property_by_expression(order, data_out):
    cfg = {"order": order, "as_num": False, "msgKey": "$substring($,1)", "msgKeyType": "jsonata"}
    assert await sort_prop(cfg, "data", ["C200", "A4", "B30", "D1000"]) == data_out


@pytest.mark.parametrize(
    ("order", "data_out"),
    [("ascending", ["D1000", "C200", "B30", "A4"]), ("descending", ["A4", "B30", "C200", "D1000"])],
)
async def test_sort_group_by_expression(order, data_out):
    cfg = {"order": order, "as_num": False, "seqKey": "$substring(payload,1)", "seqKeyType": "jsonata"}
    assert await sort_seq(cfg, "payload", ["C200", "A4", "B30", "D1000"]) == data_out


async def test_sort_payload_of_objects():
    cfg = {"order": "ascending", "as_num": True, "msgKey": "val", "msgKeyType": "jsonata"}
    data = [{"val": v} for v in DATA]
    assert await sort_prop(cfg, "data", data) == [{"val": v} for v in ["4", "30", "200", "1000"]]


async def test_sort_payload_by_flow_context():
    cfg = {
        "target": "data",
        "targetType": "msg",
        "msgKey": "$flowContext($)",
        "msgKeyType": "jsonata",
        "order": "ascending",
    }
    async with FlowTestHarness(flow(**cfg)) as h:
        ctx = h.node("n1").node.context().flow
        for k, v in (("first", "3"), ("second", "1"), ("third", "2"), ("fourth", "4")):
            ctx.set(k, v)
        h.node("n1").receive({"data": ["first", "second", "third", "fourth"]})
        msg = await h.node("n2").next_input()
        assert msg["data"] == ["second", "third", "first", "fourth"]


async def test_sort_group_by_global_context():
    cfg = {
        "target": "data",
        "targetType": "seq",
        "seqKey": "$globalContext(payload)",
        "seqKeyType": "jsonata",
        "order": "ascending",
    }
    async with FlowTestHarness(flow(**cfg)) as h:
        ctx = h.node("n1").node.context().global_
        for k, v in (("first", "4"), ("second", "1"), ("third", "3"), ("fourth", "2")):
            ctx.set(k, v)
        for i, v in enumerate(["first", "second", "third", "fourth"]):
            h.node("n1").receive({"payload": v, "parts": {"id": "X", "index": i, "count": 4}})
        msgs = await h.node("n2").inputs(4)
        assert [m["payload"] for m in msgs] == ["second", "fourth", "third", "first"]


async def test_jsonata_error_is_node_error():
    cfg = {
        "order": "ascending",
        "target": "payload",
        "targetType": "seq",
        "seqKey": "$unknown()",
        "seqKeyType": "jsonata",
    }
    async with FlowTestHarness(flow(**cfg)) as h:
        h.node("n1").receive({"payload": "A", "parts": {"id": "X", "index": 0, "count": 2}})
        h.node("n1").receive({"payload": "B", "parts": {"id": "X", "index": 1, "count": 2}})
        err, msg = await h.node("n1").next_error()
        assert "JSONata" in str(err)
        assert msg["payload"] == "B"
        assert h.node("n2").received == []


async def test_too_many_pending():
    cfg = {
        "order": "ascending",
        "target": "payload",
        "targetType": "seq",
        "seqKey": "payload",
        "seqKeyType": "msg",
    }
    async with FlowTestHarness(flow(**cfg), settings={"nodeMessageBufferMaxLength": 2}) as h:
        for i in range(4):
            h.node("n1").receive({"payload": f"V{i}", "parts": {"id": "X", "index": i, "count": 4}})
        err, msg = await h.node("n1").next_error()
        assert str(err) == TOO_MANY_TEXT
        assert msg["payload"] == "V2"


TOO_MANY_TEXT = "too many pending messages"


async def test_clear_pending_on_close(marker):
    cfg = {
        "order": "ascending",
        "target": "payload",
        "targetType": "seq",
        "seqKey": "payload",
        "seqKeyType": "msg",
    }
    h = FlowTestHarness([*flow(**cfg), marker.node("n2")])
    await h.start()
    try:
        h.node("n1").receive({"payload": 0, "parts": {"id": "X", "index": 0, "count": 2}})
        assert await marker.received(h, "n2") == []  # half a sequence is held
    finally:
        await h.stop()
    assert any("cleared" in r.text for r in h.logs if r.node_id == "n1")


def _need(*types):
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    for t in types:
        if registry.get_type(t) is None:
            pytest.skip(f"{t} node not available")


def complete_flow(target_type):
    return [
        {
            "id": "s1",
            "type": "sort",
            "order": "ascending",
            "target": "payload",
            "targetType": target_type,
            "seqKey": "payload",
            "seqKeyType": "msg",
            "wires": [[]],
        },
        {"id": "c1", "type": "complete", "scope": ["s1"], "wires": [["h1"]]},
        {"id": "k1", "type": "catch", "scope": ["s1"], "wires": [["h1"]]},
        {"id": "h1", "type": "helper"},
    ]


async def test_done_when_sent_payload():
    _need("complete", "catch")
    async with FlowTestHarness(complete_flow("msg"), settings={"nodeMessageBufferMaxLength": 2}) as h:
        h.node("s1").receive({"seq": 0, "payload": [1, 3, 2]})
        msg = await h.node("h1").next_input()
        assert msg["seq"] == 0


async def test_done_when_sequence_sent(marker):
    _need("complete", "catch")
    flow = [*complete_flow("seq"), marker.node("c1", "k1")]
    async with FlowTestHarness(flow, settings={"nodeMessageBufferMaxLength": 2}) as h:
        h.node("s1").receive({"seq": 0, "payload": 3, "parts": {"id": "A", "index": 0, "count": 2}})
        assert await marker.received(h, "h1") == []
        h.node("s1").receive({"seq": 1, "payload": 2, "parts": {"id": "A", "index": 1, "count": 2}})
        msgs = await marker.received(h, "h1")
        assert sorted(m["seq"] for m in msgs) == [0, 1]


async def test_done_regardless_of_overflow_same_group():
    _need("complete", "catch")
    async with FlowTestHarness(complete_flow("seq"), settings={"nodeMessageBufferMaxLength": 2}) as h:
        for i, v in enumerate((1, 3, 2)):
            h.node("s1").receive({"seq": i, "payload": v, "parts": {"id": "A", "index": i, "count": 3}})
        msgs = await h.node("h1").inputs(3)
        assert sorted(m["seq"] for m in msgs) == [0, 1, 2]


async def test_done_regardless_of_overflow_different_groups():
    _need("complete", "catch")
    seq = [(1, "A", 0), (3, "B", 0), (5, "C", 0), (2, "B", 1), (4, "C", 1)]
    async with FlowTestHarness(complete_flow("seq"), settings={"nodeMessageBufferMaxLength": 2}) as h:
        for i, (v, g, x) in enumerate(seq):
            h.node("s1").receive({"seq": i, "payload": v, "parts": {"id": g, "index": x, "count": 2}})
        msgs = await h.node("h1").inputs(5)
        assert sorted(m["seq"] for m in msgs) == [0, 1, 2, 3, 4]


async def test_sort_payload_by_persistable_context():
    cfg = {
        "target": "data",
        "targetType": "msg",
        "msgKey": '$globalContext($,"memory")',
        "msgKeyType": "jsonata",
        "order": "descending",
    }
    async with FlowTestHarness(
        flow(**cfg), settings={"contextStorage": {"memory": {"module": "memory"}}}
    ) as h:
        ctx = h.node("n1").node.context().global_
        for k, v in (("first", "3"), ("second", "1"), ("third", "2"), ("fourth", "4")):
            ctx.set(k, v, "memory")
        h.node("n1").receive({"data": ["first", "second", "third", "fourth"]})
        msg = await h.node("n2").next_input()
        assert msg["data"] == ["fourth", "first", "third", "second"]


async def test_sort_group_by_persistable_context():
    cfg = {
        "target": "data",
        "targetType": "seq",
        "seqKey": '$flowContext(payload,"memory")',
        "seqKeyType": "jsonata",
        "order": "descending",
    }
    async with FlowTestHarness(
        flow(**cfg), settings={"contextStorage": {"memory": {"module": "memory"}}}
    ) as h:
        ctx = h.node("n1").node.context().flow
        for k, v in (("first", "4"), ("second", "1"), ("third", "3"), ("fourth", "2")):
            ctx.set(k, v, "memory")
        for i, v in enumerate(["first", "second", "third", "fourth"]):
            h.node("n1").receive({"payload": v, "parts": {"id": "X", "index": i, "count": 4}})
        msgs = await h.node("n2").inputs(4)
        assert [m["payload"] for m in msgs] == ["first", "third", "fourth", "second"]
