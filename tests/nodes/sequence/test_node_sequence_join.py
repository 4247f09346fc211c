"""Ports of the JOIN cases of Node-RED's test/nodes/core/sequence/17-split_spec.js."""


import flowrt.nodes.sequence.join  # noqa: F401
import flowrt.nodes.sequence.split  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness


def flow(**config):
    return [{"id": "n1", "type": "join", "wires": [["n2"]], **config}, {"id": "n2", "type": "helper"}]


def parts(id_, type_, index, count, **extra):
    return {"id": id_, "type": type_, "index": index, "count": count, **extra}


async def test_loaded_defaults():
    async with FlowTestHarness([{"id": "j1", "type": "join", "name": "joinNode"}]) as h:
        node = h.node("j1").node
        assert node.name == "joinNode"
        assert node.count == 0
        assert node.timer == 0
        assert node.build == "array"


async def test_join_string_automatically(run_flow):
    msgs = [{"payload": c, "parts": parts(1, "string", i, 4, ch=",")} for i, c in enumerate("ABCD")]
    [out] = await run_flow(flow(joiner=",", build="string", mode="auto"), msgs)
    assert out["payload"] == "A,B,C,D"
    assert "parts" not in out


async def test_join_string_automatically_with_buffer_joiner(run_flow):
    msgs = [{"payload": c, "parts": parts(1, "string", i, 4, ch=",")} for i, c in enumerate("ABCD")]
    [out] = await run_flow(flow(joiner="[44]", joinerType="bin", build="string", mode="auto"), msgs)
    assert out["payload"] == "A,B,C,D"


async def test_join_buffer_automatically(run_flow):
    msgs = [{"payload": c.encode(), "parts": parts(1, "buffer", i, 4, ch=b"-")} for i, c in enumerate("ABCD")]
    [out] = await run_flow(flow(joiner=",", build="buffer", mode="auto"), msgs)
    assert out["payload"] == b"A-B-C-D"


async def test_join_array_after_count(run_flow):
    [out] = await run_flow(
        flow(count=3, joiner=",", mode="custom"), [{"payload": 1}, {"payload": True}, {"payload": {"a": 1}}]
    )
    assert out["payload"] == [1, True, {"a": 1}]


async def test_join_count_setting_is_read_as_javascript_number(run_flow):
    # 17-split.js: Number(n.count || 0); "0x2" is 2 in JavaScript (Python's float() refuses it)
    first, second = await run_flow(
        flow(count="0x2", mode="custom", build="array"), [{"payload": i} for i in range(4)], 2
    )
    assert first["payload"] == [0, 1] and second["payload"] == [2, 3]


async def test_join_array_ignores_parts_index_in_manual_mode(run_flow):
    msgs = [
        {"payload": 1, "parts": {"index": 3}},
        {"payload": True, "parts": {"index": 0}},
        {"payload": {"a": 1}, "parts": {"index": 9}},
    ]
    [out] = await run_flow(flow(count=3, joiner=",", mode="custom"), msgs)
    assert out["payload"] == [1, True, {"a": 1}]


async def test_join_array_after_count_with_buffer_joiner(run_flow):
    [out] = await run_flow(
        flow(count=3, joinerType="bin", joiner="", mode="custom"),
        [{"payload": 1}, {"payload": True}, {"payload": {"a": 1}}],
    )
    assert out["payload"][:2] == [1, True]


async def test_join_array_on_sub_property_auto(run_flow):
    msgs = [
        {"foo": {"bar": c}, "parts": parts(1, "array", i, 4, len=1, property="foo.bar")}
        for i, c in enumerate("ABCD")
    ]
    [out] = await run_flow(flow(count=3, joiner=",", mode="auto"), msgs)
    assert out["foo"]["bar"] == ["A", "B", "C", "D"]


async def test_join_strings_into_buffer_after_count(run_flow):
    [out] = await run_flow(
        flow(count=2, build="buffer", joinerType="bin", joiner="", mode="custom"),
        [{"payload": "hello"}, {"payload": "world"}],
    )
    assert out["payload"] == b"helloworld"


async def test_join_object_after_count(run_flow):
    msgs = [
        {"payload": 1, "topic": "a"},
        {"payload": "2", "topic": "b"},
        {"payload": True, "topic": "c"},
        {"payload": {"e": 5}, "topic": "d"},
        {"payload": {"e": 7}, "topic": "d"},
        {"payload": {"f": 6}, "topic": "g"},
    ]
    [out] = await run_flow(flow(count=5, build="object", mode="custom"), msgs)
    assert out["payload"] == {"a": 1, "b": "2", "c": True, "d": {"e": 7}, "g": {"f": 6}}


async def test_merge_objects(run_flow):
    msgs = [
        {"payload": {"a": 9}, "topic": "f"},
        {"payload": {"a": 1}, "topic": "a"},
        {"payload": {"b": 9}, "topic": "b"},
        {"payload": {"b": 2}, "topic": "b"},
        {"payload": {"c": 3}, "topic": "c"},
        {"payload": {"d": 4}, "topic": "d"},
        {"payload": {"e": 5}, "topic": "e"},
    ]
    [out] = await run_flow(flow(count=5, build="merged", mode="custom"), msgs)
    assert out["payload"] == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


async def test_merge_sub_property_objects(run_flow):
    msgs = [
        {"foo": {"bar": {k: v}, "topic": k}}
        for k, v in [("a", 9), ("a", 1), ("b", 9), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]
    ]
    [out] = await run_flow(flow(count=5, property="foo.bar", build="merged", mode="custom"), msgs)
    assert out["foo"]["bar"] == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


async def test_merge_full_msg_objects(run_flow):
    msgs = [
        {"payload": 1, "topic": "f"},
        {"payload": 2, "topic": "a"},
        {"payload": 3, "foo": "b"},
        {"payload": 4, "bar": "b"},
        {"payload": 5, "aha": "c"},
        {"payload": 6, "foo": "d"},
        {"payload": 7, "bingo": "e"},
    ]
    [out] = await run_flow(
        flow(count=6, build="merged", mode="custom", propertyType="full", property=""), msgs
    )
    p = out["payload"]
    assert (p["payload"], p["aha"], p["bar"], p["bingo"], p["foo"], p["topic"]) == (
        7,
        "c",
        "b",
        "e",
        "d",
        "a",
    )


async def test_accumulate_merged_object(run_flow):
    msgs = [
        {"payload": {k: v}, "topic": t}
        for k, v, t in [
            ("a", 1, "a"),
            ("b", 2, "b"),
            ("c", 3, "c"),
            ("a", 3, "d"),
            ("b", 2, "e"),
            ("c", 1, "f"),
        ]
    ]
    outs = await run_flow(flow(build="merged", mode="custom", accumulate=True, count=3), msgs, 4)
    assert outs[0]["payload"] == {"a": 1, "b": 2, "c": 3}
    assert outs[3]["payload"] == {"a": 3, "b": 2, "c": 1}


async def test_reset_accumulation(run_flow):
    msgs = [
        {"payload": {"a": 1}, "topic": "a"},
        {"payload": {"b": 2}, "topic": "b"},
        {"payload": {"c": 3}, "topic": "c"},
        {"payload": {"d": 4}, "topic": "d", "complete": True},
        {"payload": {"e": 2}, "topic": "e"},
        {"payload": {"f": 1}, "topic": "f", "complete": True},
        {"payload": {"g": 2}, "topic": "g"},
        {"payload": {"h": 1}, "topic": "h"},
        {"reset": True},
        {"payload": {"g": 2}, "topic": "g"},
        {"payload": {"h": 1}, "topic": "h"},
        {"payload": {"i": 3}, "topic": "i"},
    ]
    outs = await run_flow(flow(build="merged", accumulate=True, mode="custom", count=3), msgs, 4)
    assert outs[1]["payload"] == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert outs[2]["payload"] == {"e": 2, "f": 1}
    assert outs[3]["payload"] == {"g": 2, "h": 1, "i": 3}


async def test_accumulate_key_value_object(run_flow):
    msgs = [
        {"payload": 2, "foo": "b"},
        {"payload": 3, "foo": "c"},
        {"reset": True},
        {"payload": 1, "foo": "a"},
        {"payload": 2, "foo": "b"},
        {"payload": 3, "foo": "c"},
        {"payload": 4, "foo": "d"},
    ]
    [out] = await run_flow(
        flow(build="object", accumulate=True, mode="custom", topic="bar", key="foo", count=4), msgs
    )
    assert out["payload"] == {"a": 1, "b": 2, "c": 3, "d": 4}


async def test_join_strings_after_timeout(run_flow):
    [out] = await run_flow(
        flow(build="string", timeout=0.05, count="", joiner=",", mode="custom"),
        [{"payload": "a"}, {"payload": "b"}, {"payload": "c"}],
    )
    assert out["payload"] == "a,b,c"


async def test_timeout_can_be_restarted():
    config = flow(build="string", timeout=0.3, count="", joiner=",", mode="custom")
    async with FlowTestHarness(config, clock="virtual") as h:
        h.node("n1").receive({"payload": "a"})
        await h.clock.advance(0.2)
        h.node("n1").receive({"payload": "b", "restartTimeout": True})
        await h.clock.advance(0.2)
        # the restart moved the deadline: nothing sent yet after 0.4s in all
        assert h.node("n2").received == []
        h.node("n1").receive({"payload": "c"})
        await h.clock.advance(0.09)
        assert h.node("n2").received == []
        await h.clock.advance(0.02)  # 0.3 s after the restart
        assert [m["payload"] for m in h.node("n2").received] == ["a,b,c"]


async def test_complete_when_told(run_flow):
    msgs = [
        {"payload": "Hello"},
        {"payload": "NodeRED"},
        {"payload": "World"},
        {"payload": "", "complete": True},
    ]
    [out] = await run_flow(flow(build="string", timeout=5, count=0, joiner="\n", mode="custom"), msgs)
    assert out["payload"] == "Hello\nNodeRED\nWorld\n"
    assert "complete" not in out


async def test_join_complete_messages_into_array(run_flow):
    [out] = await run_flow(
        flow(build="array", timeout=0, count=3, propertyType="full", mode="custom"),
        [{"payload": "a"}, {"payload": "b"}, {"payload": "c"}],
    )
    assert [m["payload"] for m in out["payload"]] == ["a", "b", "c"]


async def test_join_split_things_into_array(run_flow):
    msgs = [{"payload": v, "parts": {"index": v - 1, "count": 4, "id": 111}} for v in (3, 2, 4, 1)]
    [out] = await run_flow(flow(), msgs)
    assert out["payload"] == [1, 2, 3, 4]


async def test_join_split_things_into_object(run_flow):
    msgs = [
        {"payload": v, "parts": {"index": v - 1, "count": 4, "id": 222, "key": k, "type": "object"}}
        for v, k in ((3, "c"), (2, "b"), (4, "d"), (1, "a"))
    ]
    [out] = await run_flow(flow(), msgs)
    assert out["payload"] == {"a": 1, "b": 2, "c": 3, "d": 4}


async def test_join_split_things_complete_when_told(run_flow):
    msgs = [
        {"payload": 3, "parts": {"index": 2, "count": 4, "id": 444}},
        {"payload": 2, "parts": {"index": 1, "count": 4, "id": 444}},
        {"payload": 4, "parts": {"index": 3, "count": 4, "id": 444}, "complete": True},
    ]
    [out] = await run_flow(flow(timeout=0.250), msgs)
    assert out["payload"] == [None, 2, 3, 4]


async def test_manual_array_complete_when_told(run_flow):
    msgs = [
        {"payload": 1, "topic": "A"},
        {"payload": 2, "topic": "B"},
        {"payload": 3, "topic": "C"},
        {"complete": True},
    ]
    [out] = await run_flow(flow(timeout=1, mode="custom", build="array"), msgs)
    assert out["payload"] == [1, 2, 3]


async def test_manual_object_complete_when_told(run_flow):
    msgs = [
        {"payload": 1, "topic": "A"},
        {"payload": 2, "topic": "B"},
        {"payload": 3, "topic": "C"},
        {"complete": True},
    ]
    [out] = await run_flow(flow(timeout=1, mode="custom", build="object"), msgs)
    assert out["payload"] == {"A": 1, "B": 2, "C": 3}


async def test_join_split_strings_into_word(run_flow):
    msgs = [
        {"payload": c, "parts": {"type": "string", "index": i, "count": 4, "ch": "", "id": 555}}
        for c, i in (("a", 0), ("d", 3), ("c", 2), ("b", 1))
    ]
    [out] = await run_flow(flow(mode="auto"), msgs)
    assert out["payload"] == "abcd"


async def test_chained_split_split_join_join():
    nodes = [
        {"id": "s1", "type": "split", "wires": [["s2"]]},
        {"id": "s2", "type": "split", "wires": [["j1"]]},
        {"id": "j1", "type": "join", "mode": "auto", "wires": [["j2"]]},
        {"id": "j2", "type": "join", "mode": "auto", "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(nodes) as h:
        h.node("s1").receive({"payload": [[1, 2, 3], "a\nb\nc", [7, 8, 9]]})
        out = await h.node("n2").next_input()
        assert out["payload"] == [[1, 2, 3], "a\nb\nc", [7, 8, 9]]
        assert "parts" not in out


async def test_concat_array_chunks(run_flow):
    msgs = [
        {"payload": [c], "parts": parts(1, "array", i, 3, ch=",", len=2)}
        for i, c in enumerate(["ab", "cd", "ef"])
    ]
    [out] = await run_flow(flow(build="array", mode="auto"), msgs)
    assert out["payload"] == ["ab", "cd", "ef"]


async def test_concat_buffer_without_join_char(run_flow):
    msgs = [{"payload": c.encode(), "parts": parts(1, "buffer", i, 3)} for i, c in enumerate("ABC")]
    [out] = await run_flow(flow(joiner=",", build="buffer", mode="auto"), msgs)
    assert out["payload"] == b"ABC"


async def test_concat_string_with_non_string_join_char(run_flow):
    msgs = [{"payload": c.encode(), "parts": parts(1, "string", i, 3, ch=b"0")} for i, c in enumerate("ABC")]
    [out] = await run_flow(flow(joiner=",", build="buffer", mode="auto"), msgs)
    assert out["payload"] == "A0B0C"


async def test_auto_mode_without_parts_id_warns():
    async with FlowTestHarness(flow(joiner="[44]", joinerType="bin", build="string", mode="auto")) as h:
        h.node("n1").receive({"payload": "A", "parts": {"type": "string", "ch": ",", "index": 0, "count": 2}})
        h.node("n1").receive({"payload": "B", "parts": {"type": "string", "ch": ",", "index": 1, "count": 2}})
        record = await h.node("n1").next_log("warn")
        assert "msg.parts" in record.text
        assert h.node("n2").received == []


async def test_duplicate_indexed_parts(run_flow):
    msgs = [
        {"payload": c, "parts": parts(1, "array", i, 2, ch=",")}
        for c, i in (("A", 0), ("B", 0), ("C", 0), ("D", 1))
    ]
    [out] = await run_flow(flow(joiner="[44]", joinerType="bin", build="array", mode="auto"), msgs)
    assert out["payload"] == ["C", "D"]


async def test_duplicate_indexed_parts_with_reset(run_flow):
    msgs = [
        {"payload": "A", "parts": parts(1, "array", 0, 2, ch=",")},
        {"payload": "B", "parts": parts(1, "array", 0, 2, ch=",")},
        {"reset": True},
        {"payload": "C", "parts": parts(1, "array", 1, 2, ch=",")},
        {"payload": "D", "parts": parts(1, "array", 0, 2, ch=",")},
    ]
    [out] = await run_flow(flow(joiner="[44]", joinerType="bin", build="array", mode="auto"), msgs)
    assert out["payload"] == ["D", "C"]


async def test_out_of_order_with_count_on_one_message(run_flow):
    msgs = [
        {"payload": i, "parts": {"id": "g", "index": i, **({"count": 5} if i == 4 else {})}}
        for i in (1, 2, 3, 4, 0)
    ]
    [out] = await run_flow(flow(mode="auto"), msgs)
    assert out["payload"] == [0, 1, 2, 3, 4]


async def test_nested_parts_restored(run_flow):
    msgs = [
        {
            "payload": c,
            "parts": {
                "id": "in",
                "index": i,
                "count": 2,
                "type": "string",
                "ch": "",
                "parts": {"id": "out", "index": 5},
            },
        }
        for i, c in enumerate("ab")
    ]
    [out] = await run_flow(flow(), msgs)
    assert out["parts"] == {"id": "out", "index": 5}


async def test_buffer_limit_drops_groups():
    msgs = [{"payload": i} for i in range(3)]
    async with FlowTestHarness(
        flow(mode="custom", count=10), settings={"nodeMessageBufferMaxLength": 2}
    ) as h:
        for m in msgs:
            h.node("n1").receive(m)
        err, emsg = await h.node("n1").next_error()
        assert str(err) == "too many pending messages"
        assert emsg["payload"] == 2
        assert h.node("n1").node.inflight == {}


async def test_invalid_buffer_join_type_is_error():
    async with FlowTestHarness(flow(mode="custom", build="buffer", count=2)) as h:
        h.node("n1").receive({"payload": 5})
        err, _ = await h.node("n1").next_error()
        assert "number" in str(err)


# ----- messaging API: completion ---------------------------------------------------------


def complete_flow(**config):
    return [
        {"id": "joinNode1", "type": "join", "wires": [[]], **config},
        {"id": "completeNode1", "type": "complete", "scope": ["joinNode1"], "wires": [["helperNode1"]]},
        {"id": "catchNode1", "type": "catch", "scope": ["joinNode1"], "wires": [["helperNode1"]]},
        {"id": "helperNode1", "type": "helper"},
    ]


def _need(*types):
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    for t in types:
        if registry.get_type(t) is None:
            pytest.skip(f"{t} node not available in this tree")


async def _completes(config, msgs, expected, settings=None):
    _need("complete", "catch")
    async with FlowTestHarness(
        complete_flow(**config), settings=settings or {"nodeMessageBufferMaxLength": 3}
    ) as h:
        for m in msgs[:-1]:
            h.node("joinNode1").receive(m)
        await h.idle()
        assert h.node("helperNode1").received == []
        h.node("joinNode1").receive(msgs[-1])
        outs = await h.node("helperNode1").inputs(expected)
        assert sorted(m["seq"] for m in outs) == list(range(expected))


async def test_done_when_all_joined():
    msgs = [{"seq": i, "payload": c, "parts": parts(1, "string", i, 3, ch=",")} for i, c in enumerate("ABC")]
    await _completes({"mode": "auto", "timeout": 1}, msgs, 3)


async def test_done_when_reset():
    msgs = [{"seq": i, "payload": c, "parts": parts(1, "string", i, 3, ch=",")} for i, c in enumerate("AB")]
    msgs.append({"seq": 2, "payload": "dummy", "reset": True, "parts": {"id": 1}})
    await _completes({"mode": "auto", "timeout": 1}, msgs, 3)


async def test_done_when_timed_out():
    _need("complete", "catch")
    config = {"mode": "custom", "joiner": ",", "build": "string", "timeout": 0.1}
    async with FlowTestHarness(complete_flow(**config)) as h:
        h.node("joinNode1").receive({"seq": 0, "payload": "A"})
        h.node("joinNode1").receive({"seq": 1, "payload": "B"})
        outs = await h.node("helperNode1").inputs(2)
        assert sorted(m["seq"] for m in outs) == [0, 1]


# ----- reduce mode -----------------------------------------------------------------------


def reduce_cfg(exp="$A+payload", init="0", init_type="num", fixup=None, right=False, **extra):
    return {
        "mode": "reduce",
        "reduceRight": right,
        "reduceExp": exp,
        "reduceInit": init,
        "reduceInitType": init_type,
        "reduceFixup": fixup,
        **extra,
    }


def four(values=(3, 2, 4, 1), count=4, gid=222):
    return [
        {"payload": v, "parts": {"index": i, "count": count, "id": gid}}
        for v, i in zip(values, (2, 1, 3, 0), strict=True)
    ]


async def test_reduce(run_flow):
    [out] = await run_flow(flow(**reduce_cfg()), four())
    assert out["payload"] == 10


async def test_reduce_count_only_in_last_part(run_flow):
    msgs = four()
    for m in (msgs[0], msgs[1], msgs[3]):
        del m["parts"]["count"]
    [out] = await run_flow(flow(**reduce_cfg()), msgs)
    assert out["payload"] == 10


@pytest.mark.parametrize(
    ("itype", "ival", "expected"),
    [
        ("str", "xyz", "xyz"),
        ("num", "10", 10),
        ("bool", "true", True),
        ("json", '{"x":"vx", "y":"vy", "z":"vz"}', {"x": "vx", "y": "vy", "z": "vz"}),
        ("bin", "[1,2,3]", b"\x01\x02\x03"),
        ("jsonata", "1+2+3", 6),
    ],
)
async def test_reduce_init_types(itype, ival, expected, run_flow):
    [out] = await run_flow(flow(**reduce_cfg(exp="$A", init=ival, init_type=itype)), four())
    assert out["payload"] == expected


async def test_reduce_init_type_env(monkeypatch, run_flow):
    monkeypatch.setenv("NR_XYZ", "nr_xyz")
    [out] = await run_flow(flow(**reduce_cfg(exp="$A", init="NR_XYZ", init_type="env")), four())
    assert out["payload"] == "nr_xyz"


@pytest.mark.parametrize("scope", ["flow", "global"])
async def test_reduce_init_type_context(scope):
    async with FlowTestHarness(flow(**reduce_cfg(exp="$A", init="foo", init_type=scope))) as h:
        ctx = h.node("n1").node.context()
        (ctx.flow if scope == "flow" else ctx.global_).set("foo", "bar")
        for m in four():
            h.node("n1").receive(m)
        out = await h.node("n2").next_input()
        assert out["payload"] == "bar"


async def test_reduce_using_index(run_flow):
    [out] = await run_flow(flow(**reduce_cfg(exp="$A+$I")), four())
    assert out["payload"] == 6


async def test_reduce_with_fixup(run_flow):
    msgs = four(count=5) + [{"payload": 0, "parts": {"index": 4, "count": 5, "id": 222}}]
    [out] = await run_flow(flow(**reduce_cfg(fixup="$A/$N")), msgs)
    assert out["payload"] == 2


@pytest.mark.parametrize(("right", "expected"), [(False, "((((0+1)+2)+3)+4)"), (True, "((((0+4)+3)+2)+1)")])
async def test_reduce_left_and_right(right, expected, run_flow):
    msgs = four(values=("3", "2", "4", "1"))
    [out] = await run_flow(
        flow(**reduce_cfg(exp="'(' & $A & '+' & payload & ')'", init_type="str", right=right)), msgs
    )
    assert out["payload"] == expected


async def test_reduce_array_result(run_flow):
    msgs = [
        {"payload": 1, "parts": {"index": 0, "count": 2, "id": 222}},
        {"payload": 2, "parts": {"index": 1, "count": 2, "id": 222}},
        {"payload": 3, "parts": {"index": 2, "count": 2, "id": 333}},
        {"payload": 4, "parts": {"index": 3, "count": 2, "id": 333}},
    ]
    outs = await run_flow(
        flow(**reduce_cfg(exp="$append($A,[payload])", init="[]", init_type="json")), msgs, 2
    )
    assert [o["payload"] for o in outs] == [[1, 2], [3, 4]]


async def test_reduce_too_many_pending():
    async with FlowTestHarness(flow(**reduce_cfg()), settings={"nodeMessageBufferMaxLength": 2}) as h:
        for m in four():
            h.node("n1").receive(m)
        err, _ = await h.node("n1").next_error()
        assert str(err) == "too many pending messages"
        await h.idle()
        assert h.node("n2").received == []


@pytest.mark.parametrize("scope", ["flow", "global"])
async def test_reduce_with_context(scope):
    fn = "$flowContext" if scope == "flow" else "$globalContext"
    op = "*" if scope == "flow" else "/"
    cfg = reduce_cfg(
        exp=f'$A+(payload{op}{fn}("two"))',
        init=f'{fn}("one")',
        init_type="jsonata",
        fixup=f'$A*{fn}("three")',
    )
    async with FlowTestHarness(flow(**cfg)) as h:
        ctx = h.node("n1").node.context()
        store = ctx.flow if scope == "flow" else ctx.global_
        store.set("one", 1)
        store.set("two", 2)
        store.set("three", 3)
        for m in four():
            h.node("n1").receive(m)
        out = await h.node("n2").next_input()
        if scope == "flow":
            assert out["payload"] == ((((1 + 1 * 2) + 2 * 2) + 3 * 2) + 4 * 2) * 3
        else:
            assert out["payload"] == ((((1 + 1 / 2) + 2 / 2) + 3 / 2) + 4 / 2) * 3


@pytest.mark.parametrize("cfg", [reduce_cfg(exp="invalid expr"), reduce_cfg(exp="$A", fixup="invalid expr")])
async def test_reduce_syntax_error_refuses_to_start(cfg):
    async with FlowTestHarness(flow(**cfg)) as h:
        assert h.runtime.get_node("n1") is None
        assert any("JSONata" in r.text for r in h.logs)


@pytest.mark.parametrize("cfg", [reduce_cfg(exp="$uknown()"), reduce_cfg(exp="$A", fixup="$unknown()")])
async def test_reduce_runtime_error(cfg):
    async with FlowTestHarness(flow(**cfg)) as h:
        h.node("n1").receive(
            {"payload": "A", "parts": {"id": 1, "type": "string", "ch": ",", "index": 0, "count": 1}}
        )
        err, msg = await h.node("n1").next_error()
        assert "JSONata" in str(err)
        assert msg["payload"] == "A"
        assert h.node("n2").received == []


async def test_reduce_passes_messages_without_parts(run_flow):
    [out] = await run_flow(flow(**reduce_cfg()), [{"payload": 7}])
    assert out["payload"] == 7


async def test_done_when_all_reduced():
    msgs = [
        {"seq": i, "payload": v, "parts": {"index": 2 - i, "count": 3, "id": 222}}
        for i, v in enumerate((3, 2, 4))
    ]
    await _completes(reduce_cfg(), msgs, 3)


async def test_done_regardless_of_overflow():
    msgs = [
        {"seq": i, "payload": v, "parts": {"index": x, "count": 5, "id": 222}}
        for i, (v, x) in enumerate(((3, 2), (2, 1), (4, 0), (1, 3)))
    ]
    await _completes(reduce_cfg(), msgs, 4)


@pytest.mark.parametrize("scope", ["flow", "global"])
async def test_reduce_with_persistable_context(scope):
    fn = "$flowContext" if scope == "flow" else "$globalContext"
    op = "*" if scope == "flow" else "/"
    cfg = reduce_cfg(
        exp=f'$A+(payload{op}{fn}("two","memory"))',
        init=f'{fn}("one","memory")',
        init_type="jsonata",
        fixup=f'$A*{fn}("three","memory")',
    )
    settings = {"contextStorage": {"memory": {"module": "memory"}}}
    async with FlowTestHarness(flow(**cfg), settings=settings) as h:
        ctx = h.node("n1").node.context()
        store = ctx.flow if scope == "flow" else ctx.global_
        for k, v in (("one", 1), ("two", 2), ("three", 3)):
            store.set(k, v, "memory")
        for m in four():
            h.node("n1").receive(m)
        out = await h.node("n2").next_input()
        if scope == "flow":
            assert out["payload"] == ((((1 + 1 * 2) + 2 * 2) + 3 * 2) + 4 * 2) * 3
        else:
            assert out["payload"] == ((((1 + 1 / 2) + 2 / 2) + 3 / 2) + 4 / 2) * 3
