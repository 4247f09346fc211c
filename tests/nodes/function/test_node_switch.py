"""Port of Node-RED's test/nodes/core/function/10-switch_spec.js."""

from __future__ import annotations

import math

import pytest

from flowrt.testing import FlowTestHarness

STORES = {"contextStorage": {"memory0": {"module": "memory"}, "memory1": {"module": "memory"}}}
OMIT = object()  # send a message without the property (JavaScript undefined)


def switch(rules, checkall=True, **kw):
    return {
        "id": "s1",
        "type": "switch",
        "name": "switchNode",
        "property": "payload",
        "rules": rules,
        "checkall": checkall,
        "outputs": 1,
        "wires": [["h1"]],
        **kw,
    }


async def received(node, message, settings=None, before=None, extra=()):
    """Send `message`, then a marker through a pass-through node to the same helper;
    returns what the helper got before the marker (deliveries are in order)."""
    flow = [
        node,
        {"id": "h1", "type": "helper"},
        *extra,
        {"id": "pass", "type": "change", "rules": [], "wires": [["h1"]]},
    ]
    async with FlowTestHarness(flow, settings=settings) as h:
        if before:
            before(h.node("s1").node.context())
        h.node("s1").receive(message)
        h.node("pass").receive({"marker": True})
        got = []
        while True:
            msg = await h.node("h1").next_input()
            if msg.get("marker"):
                return got
            got.append(msg)


async def check(node, should_receive, payload, **kw):
    message = {} if payload is OMIT else {"payload": payload}
    got = await received(node, message, **kw)
    if should_receive:
        assert len(got) == 1 and got[0] is message
    else:
        assert got == []


async def test_defaults():
    async with FlowTestHarness([{"id": "s1", "type": "switch", "name": "switchNode"}]) as h:
        node = h.node("s1").node
        assert node.name == "switchNode"
        assert node.checkall is True
        assert node.rules == []


GENERIC = [
    ("eq", "Hello", True, "Hello"),
    ("eq", "Hello", False, "Hello!"),
    ("neq", "Hello", True, "HEllO"),
    ("neq", "Hello", False, "Hello"),
    ("eq", 3, True, 3),
    ("eq", 2, False, 4),
    ("neq", 55667744, True, -1234),
    ("neq", 10, False, 10),
    ("lt", 3, True, 2),
    ("lt", 3, False, 4),
    ("lte", 3, True, 3),
    ("gt", 3, True, 6),
    ("gt", 3, False, -1),
    ("gte", 3, True, 3),
    ("gt", 3, False, -1),
    ("gte", 3, True, 3),
    ("hask", "a", True, {"a": 1}),
    ("hask", "a", False, {"b": 1}),
    ("hask", 1, False, {"a": 1}),
    ("hask", "a", False, None),
    ("hask", "a", False, OMIT),
    ("cont", "Hello", True, "Hello World!"),
    ("cont", "Hello", False, "This is not a greeting!"),
    ("regex", "[abc]+", True, "abbabac"),
    ("istype", "string", True, "Hello"),
    ("istype", "number", True, 999),
    ("istype", "number", True, 0),
    ("istype", "number", False, math.nan),
    ("istype", "number", True, math.inf),
    ("istype", "boolean", True, True),
    ("istype", "boolean", True, True),
    ("istype", "array", True, [1, 2, 3, "a", "b"]),
    ("istype", "buffer", True, b"Hello"),
    ("istype", "object", True, {"a": 1, "b": "b", "c": True}),
    ("istype", "json", True, '{"a":1,"b":"b","c":true}'),
    ("istype", "json", False, "Hello"),
    ("istype", "null", True, None),
    ("istype", "undefined", True, OMIT),
    ("regex", "\\d+", False, "This is not a digit"),
    ("cont", "Hello", False, "This is not a greeting!"),
]


@pytest.mark.parametrize("rule,value,should,payload", GENERIC)
async def test_generic(rule, value, should, payload):
    await check(switch([{"t": rule, "v": value}]), should, payload)


TWO_FIELD = [("3", "5", True, 4), ("5", "3", True, 4), ("c", "e", True, "d"), (3, 5, False, 12)]


@pytest.mark.parametrize("v,v2,should,payload", TWO_FIELD)
async def test_between(v, v2, should, payload):
    await check(switch([{"t": "btwn", "v": v, "v2": v2}]), should, payload)


SINGULAR = [
    (True, True, True),
    (True, False, False),
    (False, True, False),
    (False, False, True),
    ("empty", True, ""),
    ("empty", True, []),
    ("empty", True, b""),
    ("empty", True, {}),
    ("empty", False, "1"),
    ("empty", False, [1]),
    ("empty", False, b"\x00"),
    ("empty", False, {"a": 1}),
    ("empty", False, None),
    ("empty", False, OMIT),
    ("empty", False, 0),
    ("nempty", False, ""),
    ("nempty", False, []),
    ("nempty", False, b""),
    ("nempty", False, {}),
    ("nempty", True, "1"),
    ("nempty", True, [1]),
    ("nempty", True, b"\x00"),
    ("nempty", True, {"a": 1}),
    ("nempty", False, None),
    ("nempty", False, OMIT),
    ("nempty", False, 0),
    ("else", True, 123456),
]


@pytest.mark.parametrize("rule,should,payload", SINGULAR)
async def test_singular(rule, should, payload):
    # a boolean rule type is what Node-RED's spec sends: the operator is looked up by its text
    await check(switch([{"t": rule}]), should, payload)


@pytest.mark.parametrize("scope", ["flow", "global"])
@pytest.mark.parametrize("store", [None, "memory1"])
async def test_context(scope, store):
    prop = f"#:({store})::foo" if store else "foo"
    value = f"#:({store})::bar" if store else "bar"
    node = switch([{"t": "eq", "v": value, "vt": scope}], checkall="true", property=prop, propertyType=scope)

    def before(ctx):
        target = ctx.flow if scope == "flow" else ctx.global_
        target.set("foo", f"{scope}Value", store)
        target.set("bar", f"{scope}Value", store)

    got = await received(node, {"payload": "value"}, settings=STORES if store else None, before=before)
    assert [m["payload"] for m in got] == ["value"]


NESTED = [
    ({"t": "eq", "v": "bar"}, True, {"topic": "foo", "payload": {"foo": "bar"}}),
    ({"t": "eq", "v": "bar"}, False, {"topic": "foo", "payload": {"foo": "none"}}),
    (
        {"t": "eq", "v": "payload[msg.topic2]", "vt": "msg"},
        True,
        {"topic": "foo", "topic2": "foo2", "payload": {"foo": "bar", "foo2": "bar"}},
    ),
    (
        {"t": "eq", "v": "payload[msg.topic2]", "vt": "msg"},
        False,
        {"topic": "foo", "topic2": "foo2", "payload": {"foo": "bar", "foo2": "none"}},
    ),
]


@pytest.mark.parametrize("rule,should,message", NESTED)
async def test_nested_property(rule, should, message):
    got = await received(switch([rule], property="payload[msg.topic]"), message)
    assert (got == [message]) if should else (got == [])


@pytest.mark.parametrize("case,should", [(True, True), (OMIT, False), (False, False)])
async def test_regex_case(case, should):
    rule = {"t": "regex", "v": "onetwothree"}
    if case is not OMIT:
        rule["case"] = case
    await check(switch([rule]), should, "oneTWOthree")


async def run_many(node, messages, settings=None):
    flow = [
        node,
        {"id": "h1", "type": "helper"},
        {"id": "pass", "type": "change", "rules": [], "wires": [["h1"]]},
    ]
    async with FlowTestHarness(flow, settings=settings) as h:
        for m in messages:
            h.node(node["id"]).receive(m)
        h.node("pass").receive({"marker": True})
        got = []
        while not (msg := await h.node("h1").next_input()).get("marker"):
            got.append(msg)
        return got, h


async def test_previous_value():
    got, _ = await run_many(
        switch([{"t": "gt", "v": "", "vt": "prev"}]),
        [{"payload": 1}, {"payload": 0}, {"payload": -2}, {"payload": 2}],
    )
    assert [m["payload"] for m in got] == [1, 2]


async def test_previous_value_second_operand():
    node = switch([{"t": "btwn", "v": "10", "vt": "num", "v2": "", "v2t": "prev"}])
    got, _ = await run_many(node, [{"payload": p} for p in (0, 20, 30, 20, 30, 25)])
    # 0 matches too (prev is null, which compares as 0); Node-RED's spec skips falsy payloads
    assert [m["payload"] for m in got] == [0, 20, 25]


async def test_null():
    got, _ = await run_many(switch([{"t": "null"}]), [{"payload": None}, {"payload": 1}])
    assert len(got) == 1 and got[0]["payload"] is None


async def test_undefined_is_null():
    got, _ = await run_many(switch([{"t": "null"}]), [{}, {"payload": 1}])
    assert len(got) == 1 and "payload" not in got[0]


async def test_missing_msg_property_as_undefined():
    node = switch([{"t": "eq", "v": "this.does.not.exist", "vt": "msg"}], checkall="true")
    got, _ = await run_many(node, [{"topic": "messageOne", "payload": ""}, {"topic": "messageTwo"}])
    assert [m["topic"] for m in got] == ["messageTwo"]


async def test_not_null():
    got, _ = await run_many(switch([{"t": "nnull"}], checkall=False), [{"payload": "Anything here"}])
    assert got[0]["payload"] == "Anything here"


def three_way(checkall):
    return [
        {
            "id": "s1",
            "type": "switch",
            "property": "payload",
            "checkall": checkall,
            "outputs": 3,
            "rules": [{"t": "eq", "v": "Hello"}, {"t": "cont", "v": "ello"}, {"t": "else"}],
            "wires": [["h1"], ["h2"], ["h3"]],
        },
        {"id": "h1", "type": "helper"},
        {"id": "h2", "type": "helper"},
        {"id": "h3", "type": "helper"},
        {"id": "pass", "type": "change", "rules": [], "wires": [["h1", "h2", "h3"]]},
    ]


async def _outputs(flow, message):
    async with FlowTestHarness(flow) as h:
        h.node("s1").receive(message)
        h.node("pass").receive({"marker": True})
        result = []
        for hid in ("h1", "h2", "h3"):
            got = []
            while not (msg := await h.node(hid).next_input()).get("marker"):
                got.append(msg["payload"])
            result.append(got)
        return result


async def test_more_than_one_rule_matches():
    assert await _outputs(three_way(True), {"payload": "Hello"}) == [["Hello"], ["Hello"], []]


async def test_stops_after_first_match():
    assert await _outputs(three_way("false"), {"payload": "Hello"}) == [["Hello"], [], []]


async def test_jsonata_property_and_values():
    node = switch(
        [{"t": "btwn", "v": "$sqrt(16)", "vt": "jsonata", "v2": "$sqrt(36)", "v2t": "jsonata"}],
        property="$abs(payload)",
        propertyType="jsonata",
    )
    await check(node, True, -5)


@pytest.mark.parametrize("store", [None, "memory1"])
async def test_jsonata_with_contexts(store):
    s = f',"{store}"' if store else ""
    node = switch(
        [
            {
                "t": "btwn",
                "v": f'$flowContext("vt"{s})',
                "vt": "jsonata",
                "v2": f'$globalContext("v2t"{s})',
                "v2t": "jsonata",
            }
        ],
        property=f'$abs($flowContext("payload"{s}))',
        propertyType="jsonata",
    )

    def before(ctx):
        ctx.flow.set("payload", -5, store)
        ctx.flow.set("vt", 4, store)
        ctx.global_.set("v2t", 6, store)

    got = await received(node, {"payload": "pass"}, settings=STORES if store else None, before=before)
    assert [m["payload"] for m in got] == ["pass"]


async def test_env_property(monkeypatch):
    monkeypatch.setenv("VAR", "VAL")
    await check(switch([{"t": "eq", "v": "VAL"}], property="VAR", propertyType="env"), True, "OK")


async def sequence(node, seq_in, seq_out, repair, before=None):
    flow = [node, {"id": "h1", "type": "helper"}]
    async with FlowTestHarness(flow) as h:
        if before:
            before(h.node("s1").node.context())
        for i, value in enumerate(seq_in):
            h.node("s1").receive(
                {"payload": value, "xindex": i, "parts": {"index": i, "count": len(seq_in), "id": 222}}
            )
        got = await h.node("h1").inputs(len(seq_out))
    ids = {m["parts"]["id"] for m in got}
    assert len(ids) == 1
    for count, msg in enumerate(got):
        assert msg["payload"] == seq_out[count]
        if repair:
            assert msg["parts"]["index"] == count and msg["parts"]["count"] == len(seq_out)
        else:
            assert msg["parts"]["index"] == msg["xindex"] and msg["parts"]["count"] == len(seq_in)


SEQ = [
    ("head no repair", {"t": "head", "v": 3}, False, False, [0, 1, 2]),
    ("head repair", {"t": "head", "v": 3}, False, True, [0, 1, 2]),
    ("head jsonata", {"t": "head", "v": "1+4/2", "vt": "jsonata"}, False, True, [0, 1, 2]),
    ("tail no repair", {"t": "tail", "v": 3}, True, False, [2, 3, 4]),
    ("tail repair", {"t": "tail", "v": 3}, True, True, [2, 3, 4]),
    ("slice no repair", {"t": "index", "v": 1, "v2": 3}, True, False, [1, 2, 3]),
    ("slice repair", {"t": "index", "v": 1, "v2": 3}, True, True, [1, 2, 3]),
    ("$I", {"t": "jsonata_exp", "v": "$I % 2 = 1", "vt": "jsonata"}, True, True, [1, 3]),
    ("$N", {"t": "jsonata_exp", "v": "payload >= $N-2", "vt": "jsonata"}, True, True, [3, 4]),
    ("comment", {"t": "jsonata_exp", "v": "$I % 2 = 1 /* odd */", "vt": "jsonata"}, True, True, [1, 3]),
]


@pytest.mark.parametrize("name,rule,checkall,repair,out", SEQ, ids=[s[0] for s in SEQ])
async def test_sequence(name, rule, checkall, repair, out):
    await sequence(switch([rule], checkall=checkall, repair=repair), [0, 1, 2, 3, 4], out, repair)


async def test_sequence_head_with_context():
    node = switch([{"t": "head", "v": "count", "vt": "global"}], checkall=False, repair=True)
    await sequence(node, [0, 1, 2, 3, 4], [0, 1, 2], True, before=lambda ctx: ctx.global_.set("count", 3))


async def test_jsonata_expression_rule():
    await check(switch([{"t": "jsonata_exp", "v": "payload%2 = 1", "vt": "jsonata"}]), True, 9)


def multi_flow(rules, repair):
    return [
        {
            "id": "n1",
            "type": "switch",
            "property": "payload",
            "rules": rules,
            "checkall": True,
            "repair": repair,
            "outputs": 3,
            "wires": [["n2"], ["n3"], ["n4"]],
        },
        {"id": "n2", "type": "helper"},
        {"id": "n3", "type": "helper"},
        {"id": "n4", "type": "helper"},
        {"id": "pass", "type": "change", "rules": [], "wires": [["n2", "n3", "n4"]]},
    ]


@pytest.mark.parametrize(
    "rules,repair,expected",
    [
        ([{"t": "gt", "v": 0}, {"t": "lt", "v": 0}, {"t": "else"}], False, [[1, 2], [-2, -1], [0]]),
        ([{"t": "gt", "v": 0}, {"t": "lt", "v": 0}, {"t": "else"}], True, [[1, 2], [-2, -1], [0]]),
        ([{"t": "gte", "v": 0}, {"t": "lte", "v": 0}, {"t": "else"}], True, [[1, 2, 0], [-2, 0, -1], []]),
    ],
    ids=["no repair", "repair", "repair overlap"],
)
async def test_sequence_per_port(rules, repair, expected):
    data = [1, -2, 2, 0, -1]
    async with FlowTestHarness(multi_flow(rules, repair)) as h:
        for i, value in enumerate(data):
            h.node("n1").receive(
                {"payload": value, "xindex": i, "parts": {"index": i, "count": len(data), "id": 222}}
            )
        h.node("pass").receive({"marker": True})
        for port, hid in enumerate(("n2", "n3", "n4")):
            got = []
            while not (msg := await h.node(hid).next_input()).get("marker"):
                got.append(msg)
            assert [m["payload"] for m in got] == expected[port]
            ids = {m["parts"]["id"] for m in got}
            assert len(ids) <= 1
            for i, m in enumerate(got):
                if repair:
                    assert m["parts"]["count"] == len(expected[port]) and m["parts"]["index"] == i
                else:
                    assert m["parts"]["count"] == len(data) and m["parts"]["index"] == m["xindex"]


async def test_too_many_pending():
    flow = [
        {
            "id": "n1",
            "type": "switch",
            "property": "payload",
            "rules": [{"t": "tail", "v": 2}],
            "checkall": True,
            "repair": False,
            "outputs": 3,
            "wires": [["n2"]],
        },
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow, settings={"nodeMessageBufferMaxLength": 2}) as h:
        for payload, index in ((3, 2), (2, 1), (4, 3), (1, 0)):
            h.node("n1").receive({"payload": payload, "parts": {"index": index, "count": 4, "id": 222}})
        err, _ = await h.node("n1").next_error()
        assert "too many" in str(err)


async def test_invalid_jsonata_warns():
    node = switch(
        [{"t": "btwn", "v": "$sqrt(16)", "vt": "jsonata", "v2": "$sqrt(36)", "v2t": "jsonata"}],
        property="$invalidExpression(payload)",
        propertyType="jsonata",
    )
    async with FlowTestHarness([node, {"id": "h1", "type": "helper"}]) as h:
        h.node("s1").receive({"payload": 1})
        record = await h.node("s1").next_log("warn")
        assert record.node_type == "switch"


async def test_empty_rules():
    node = {
        "id": "s1",
        "type": "switch",
        "property": "payload",
        "rules": [],
        "checkall": True,
        "outputs": 0,
        "wires": [],
    }
    got, h = await run_many(node, [{"payload": 1}])
    assert got == []
    assert not [r for r in h.logs if r.node_id == "s1"]


@pytest.mark.parametrize(
    "expression,kind,matches",
    [
        ("$.nothing", "undefined", True),  # JSONata with no result is undefined, as in Node-RED
        ("$.nothing", "null", False),
        ("null", "null", True),
        ("null", "undefined", False),
    ],
)
async def test_jsonata_property_undefined_is_not_null(expression, kind, matches):
    node = switch([{"t": "istype", "v": kind, "vt": kind}], property=expression, propertyType="jsonata")
    await check(node, matches, 1)
