"""Ports of the SPLIT cases of Node-RED's test/nodes/core/sequence/17-split_spec.js."""

import flowrt.nodes.sequence.join  # noqa: F401
import flowrt.nodes.sequence.split  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness


def flow(**config):
    return [{"id": "sn1", "type": "split", "wires": [["sn2"]], **config}, {"id": "sn2", "type": "helper"}]


async def test_loaded_with_name():
    async with FlowTestHarness([{"id": "s1", "type": "split", "name": "splitNode"}]) as h:
        assert h.node("s1").node.name == "splitNode"


async def test_split_array(run_flow):
    msgs = await run_flow(flow(), [{"payload": [1, 2, 3, 4]}], 4)
    assert [m["payload"] for m in msgs] == [1, 2, 3, 4]
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2, 3]
    assert all(m["parts"]["count"] == 4 and m["parts"]["type"] == "array" for m in msgs)
    assert len({m["parts"]["id"] for m in msgs}) == 1
    assert all(m["parts"]["len"] == 1 for m in msgs)


async def test_split_array_sub_property(run_flow):
    msgs = await run_flow(flow(property="foo"), [{"foo": [1, 2, 3, 4]}], 4)
    assert [m["foo"] for m in msgs] == [1, 2, 3, 4]
    assert all(m["parts"]["property"] == "foo" and m["parts"]["count"] == 4 for m in msgs)


async def test_split_array_in_chunks(run_flow):
    msgs = await run_flow(flow(arraySplt=3, arraySpltType="len"), [{"payload": [1, 2, 3, 4]}], 2)
    assert [m["payload"] for m in msgs] == [[1, 2, 3], [4]]
    assert all(m["parts"]["count"] == 2 and m["parts"]["type"] == "array" for m in msgs)


async def test_split_object(run_flow):
    msgs = await run_flow(flow(), [{"topic": "foo", "payload": {"a": 1, "b": "2", "c": True}}], 3)
    assert [m["payload"] for m in msgs] == [1, "2", True]
    assert [m["parts"]["key"] for m in msgs] == ["a", "b", "c"]
    assert all(m["parts"]["type"] == "object" and m["parts"]["count"] == 3 for m in msgs)
    assert all(m["topic"] == "foo" for m in msgs)


async def test_split_object_sub_property(run_flow):
    msgs = await run_flow(
        flow(property="foo.bar"), [{"topic": "foo", "foo": {"bar": {"a": 1, "b": "2", "c": True}}}], 3
    )
    assert [m["foo"]["bar"] for m in msgs] == [1, "2", True]
    assert all(m["parts"]["property"] == "foo.bar" for m in msgs)


async def test_split_object_key_into_topic(run_flow):
    msgs = await run_flow(
        flow(addname="topic"), [{"topic": "foo", "payload": {"a": 1, "b": "2", "c": True}}], 3
    )
    assert [(m["topic"], m["payload"]) for m in msgs] == [("a", 1), ("b", "2"), ("c", True)]


async def test_split_string_on_newlines(run_flow):
    msgs = await run_flow(flow(), [{"payload": "Da\nve\n \nCJ"}], 4)
    assert [m["payload"] for m in msgs] == ["Da", "ve", " ", "CJ"]
    assert all(m["parts"]["type"] == "string" and m["parts"]["count"] == 4 for m in msgs)


async def test_split_string_on_char(run_flow):
    msgs = await run_flow(flow(splt="\n"), [{"payload": "1\n2\n3"}], 3)
    assert [m["payload"] for m in msgs] == ["1", "2", "3"]
    assert all(m["parts"]["ch"] == "\n" and m["parts"]["count"] == 3 for m in msgs)


async def test_split_string_escaped_separator(run_flow):
    msgs = await run_flow(flow(splt="\\t"), [{"payload": "a\tb"}], 2)
    assert [m["payload"] for m in msgs] == ["a", "b"]


async def test_split_string_into_lengths(run_flow):
    msgs = await run_flow(flow(splt="2", spltType="len"), [{"payload": "12345678"}], 4)
    assert [m["payload"] for m in msgs] == ["12", "34", "56", "78"]
    assert all(m["parts"]["ch"] == "" and m["parts"]["count"] == 4 for m in msgs)


async def test_split_string_stream_mode(run_flow):
    msgs = await run_flow(
        flow(splt="\n", stream=True), [{"payload": "1\n2\n3\n"}, {"payload": "4\n5\n6\n"}], 6
    )
    assert [m["payload"] for m in msgs] == ["1", "2", "3", "4", "5", "6"]
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2, 3, 4, 5]
    assert all("count" not in m["parts"] for m in msgs)


async def test_split_buffer_into_lengths(run_flow):
    msgs = await run_flow(flow(splt="2", spltType="len"), [{"payload": b"12345678"}], 4)
    assert [m["payload"] for m in msgs] == [b"12", b"34", b"56", b"78"]
    assert all(m["parts"]["type"] == "buffer" and m["parts"]["count"] == 4 for m in msgs)


async def test_split_buffer_on_buffer_streaming(run_flow):
    msgs = await run_flow(
        flow(splt="[52]", spltType="bin", stream=True), [{"payload": b"123412"}, {"payload": b"341234"}], 3
    )
    assert [m["payload"] for m in msgs] == [b"123", b"123", b"123"]
    assert all(m["parts"]["ch"] == [52] for m in msgs)


@pytest.mark.parametrize(
    "config",
    [
        {"splt": "1", "spltType": "bin"},
        {"splt": 0, "spltType": "len"},
        {"arraySplt": 0, "arraySpltType": "len"},
    ],
)
async def test_invalid_config_refuses_to_start(config):
    async with FlowTestHarness(flow(**config)) as h:
        assert h.runtime.get_node("sn1") is None
        assert any("Invalid split property" in r.text for r in h.logs)


async def test_ceil_count_for_string(run_flow):
    msgs = await run_flow(flow(splt="2", spltType="len"), [{"payload": "123"}], 2)
    assert [m["payload"] for m in msgs] == ["12", "3"]
    assert all(m["parts"]["count"] == 2 for m in msgs)


async def test_bin_separator_on_string(run_flow):
    msgs = await run_flow(flow(splt="[52]", spltType="bin"), [{"payload": "123"}], 1)
    assert msgs[0]["payload"] == "123"
    assert msgs[0]["parts"]["index"] == 0


async def test_ceil_count_for_buffer(run_flow):
    msgs = await run_flow(flow(splt="2", spltType="len"), [{"payload": b"123"}], 2)
    assert [m["payload"] for m in msgs] == [b"12", b"3"]
    assert all(m["parts"]["count"] == 2 for m in msgs)


async def test_buffer_split_on_str_separator(run_flow):
    msgs = await run_flow(flow(splt="2", spltType="str", stream=False), [{"payload": b"123"}], 2)
    assert [m["payload"] for m in msgs] == [b"1", b"3"]
    assert all(m["parts"]["count"] == 2 and m["parts"]["ch"] == "2" for m in msgs)


async def test_existing_parts_pushed_onto_stack(run_flow):
    msgs = await run_flow(
        flow(splt=","), [{"payload": "a,b", "parts": {"id": "x", "index": 0, "count": 1}}], 2
    )
    assert msgs[0]["parts"]["parts"] == {"id": "x", "index": 0, "count": 1}


async def test_message_ids_differ(run_flow):
    msgs = await run_flow(flow(), [{"payload": [1, 2], "_msgid": "abc"}], 2)
    assert all(m["_msgid"] != "abc" for m in msgs)


# ----- messaging API: completion of split messages ----------------------------------------------


def complete_flow(**config):
    return [
        {"id": "splitNode1", "type": "split", "wires": [[]], **config},
        {"id": "completeNode1", "type": "complete", "scope": ["splitNode1"], "wires": [["helperNode1"]]},
        {"id": "helperNode1", "type": "helper"},
    ]


def _need_complete():
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    if registry.get_type("complete") is None:
        pytest.skip("complete node not available in this tree")


@pytest.mark.parametrize("payload", ["12345", [0, 1, 2, 3, 4], {"a": 1, "b": 2}])
async def test_done_when_message_sent(payload):
    _need_complete()
    async with FlowTestHarness(complete_flow(splt=2, spltType="len", stream=False)) as h:
        h.node("splitNode1").receive({"seq": 0, "payload": payload})
        msg = await h.node("helperNode1").next_input()
        assert msg["seq"] == 0
        assert "payload" in msg


@pytest.mark.parametrize(
    ("splt", "splt_type", "payloads"),
    [
        (5, "len", ["12", "34", "5"]),
        (5, "len", [b"12", b"34", b"5"]),
        ("5", "str", [b"12", b"34", b"5"]),
        ("[53]", "bin", [b"12", b"34", b"5"]),
    ],
)
async def test_done_when_consolidated_message_emitted(splt, splt_type, payloads, marker):
    _need_complete()
    flow = [*complete_flow(splt=splt, spltType=splt_type, stream=True), marker.node("completeNode1")]
    async with FlowTestHarness(flow) as h:
        for seq, p in enumerate(payloads[:2]):
            h.node("splitNode1").receive({"seq": seq, "payload": p})
        # nothing completes while the stream remainder is held
        assert await marker.received(h, "helperNode1") == []
        h.node("splitNode1").receive({"seq": 2, "payload": payloads[2]})
        msgs = await marker.received(h, "helperNode1")
        assert sorted(m["seq"] for m in msgs) == [0, 1, 2]
