"""The switch node's precompiled rules (issue 19): each rule type with each operand type, the
property getter's shortcuts, and operands Node-RED evaluates per message seen changing between
messages. The operator table (OPERATORS) is the reference the shortcuts are checked against."""

from __future__ import annotations

import datetime
import itertools
import math

import pytest
from flowrt.nodes.function.switch import OPERATORS, _constant_test

from flowrt.lang.jsvalues import UNDEFINED
from flowrt.testing import FlowTestHarness

# ----------------------------------------------------------------------- shortcuts = operators

PROPERTIES = [
    0, 1, 42, -0.0, 2.5, 55.0, math.nan, math.inf, -math.inf, 2**60, True, False, None, UNDEFINED,
    "42", "55", " 7 ", "abc", "ABC", "", "x1", "é", "0x10", [1], [], [42], {}, {"a": 1}, b"ab",
    bytearray(b""), datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC), (1, 2),
]  # fmt: skip
OPERANDS = [
    1, 42, 50, 60, 2.5, math.nan, math.inf, "42", "abc", "", "^x", "a", "string", "number",
    "array", "object", "buffer", "json", "null", "boolean", "undefined", "[", True, None,
    UNDEFINED, [1], {"a": 1},
]  # fmt: skip
SECOND = [UNDEFINED, 60, 50, "z", math.nan, None]
PARTS = [None, {"id": "p", "index": 1, "count": 3}]


def _outcome(fn, *args):
    try:
        return ("value", fn(*args))
    except Exception as err:  # the same failure either way (an invalid regular expression)
        return ("error", type(err))


def _same(x, y) -> bool:
    return x == y or (x[0] == "value" and x[1] is y[1])


@pytest.mark.parametrize("rule_type", sorted(OPERATORS))
def test_every_constant_test_answers_as_its_operator(rule_type):
    op = OPERATORS[rule_type]
    seconds = SECOND if rule_type in ("btwn", "index") else [UNDEFINED]
    cases = 0
    for b, c, case, parts in itertools.product(OPERANDS, seconds, (False, True), PARTS):
        test = _constant_test(rule_type, b, c, case)
        for a in PROPERTIES:
            want = _outcome(op, a, b, c, case, parts)
            got = _outcome(test, a, {"parts": parts}, parts)
            assert _same(got, want), (rule_type, a, b, c, case, parts, got, want)
            cases += 1
    assert cases > 1000


# ----------------------------------------------------------------------- through the node


async def routes(rules, messages, *, before=None, settings=None, **switch_config):
    """Send each message to a switch with one output per rule; the outputs each message left by.
    `before(i, ctx)` runs before message i (to change context between messages)."""
    n = len(rules)
    flow = [
        {
            "id": "s1",
            "type": "switch",
            "property": "payload",
            "rules": rules,
            "checkall": True,
            "outputs": n,
            "wires": [[f"h{i}"] for i in range(n)],
            **switch_config,
        },
        *({"id": f"h{i}", "type": "helper"} for i in range(n)),
        {"id": "pass", "type": "change", "rules": [], "wires": [[f"h{i}" for i in range(n)]]},
    ]
    result = []
    async with FlowTestHarness(flow, settings=settings) as h:
        for i, message in enumerate(messages):
            if before:
                before(i, h.node("s1").node.context())
            h.node("s1").receive(message)
            h.node("pass").receive({"marker": True})
            outputs = []
            for j in range(n):
                got = []
                while not (msg := await h.node(f"h{j}").next_input()).get("marker"):
                    got.append(msg)
                assert all(m["_msgid"] == message["_msgid"] for m in got)
                if got:
                    outputs.append(j)
            result.append(outputs)
    return result


def payloads(*values):
    return [{"payload": v} for v in values]


async def test_constant_operands_of_each_comparison():
    rules = [
        {"t": "eq", "v": "42", "vt": "num"},
        {"t": "eq", "v": "42", "vt": "str"},
        {"t": "neq", "v": "42", "vt": "num"},
        {"t": "lt", "v": "10", "vt": "num"},
        {"t": "lte", "v": "10", "vt": "num"},
        {"t": "gt", "v": "10", "vt": "num"},
        {"t": "gte", "v": "b", "vt": "str"},
        {"t": "btwn", "v": "60", "vt": "num", "v2": "40", "v2t": "num"},
        {"t": "eq", "v": "true", "vt": "bool"},
        {"t": "eq", "v": "7"},  # no vt: a number
    ]
    got = await routes(rules, payloads(42, "42", 10, 9.5, "b", True, "7", math.nan, None))
    assert got == [
        [0, 1, 5, 7],  # 42
        [0, 1, 5, 7],  # "42": == 42 and as a number; "42" >= "b" compares text: false
        [2, 4],  # 10
        [2, 3, 4],  # 9.5
        [2, 6],  # "b": NaN against numbers; "b" >= "b"
        [2, 3, 4, 8],  # true: == 1 for numbers, == true
        [2, 3, 4, 9],  # "7"
        [2],  # NaN
        [2, 3, 4],  # null: 0 < 10
    ]


async def test_regex_istype_and_the_others():
    rules = [
        {"t": "regex", "v": "^x", "vt": "str"},
        {"t": "regex", "v": "^x", "vt": "str", "case": True},
        {"t": "cont", "v": "b", "vt": "str"},
        {"t": "istype", "v": "string", "vt": "string"},
        {"t": "istype", "v": "number", "vt": "number"},
        {"t": "istype", "v": "array", "vt": "array"},
        {"t": "hask", "v": "b", "vt": "str"},
        {"t": "empty"},
        {"t": "null"},
        {"t": "true"},
    ]
    got = await routes(rules, payloads("xa", "XA", "abc", 3, [], {"b": 1}, True, {}))
    assert got == [[0, 1, 3], [1, 3], [2, 3], [4], [5, 7], [2, 6], [9], [2, 7]]  # "[object Object]" has a b
    assert (await routes(rules, [{}]))[0] == [8]  # undefined: null


async def test_an_invalid_regex_fails_each_message():
    flow = [
        {"id": "s1", "type": "switch", "property": "payload", "rules": [{"t": "regex", "v": "["}]},
    ]
    async with FlowTestHarness(flow) as h:
        for _ in range(2):
            h.node("s1").receive({"payload": "x"})
            err, msg = await h.node("s1").next_error()
            assert "Invalid regular expression" in str(err) and msg["payload"] == "x"


async def test_msg_operands_are_read_per_message():
    rules = [
        {"t": "eq", "v": "limit", "vt": "msg"},
        {"t": "lt", "v": "limit", "vt": "msg"},
        {"t": "btwn", "v": "low", "vt": "msg", "v2": "limit", "v2t": "msg"},
        {"t": "regex", "v": "pattern", "vt": "msg"},
    ]
    messages = [
        {"payload": 5, "limit": 5, "low": 1, "pattern": "^5$"},
        {"payload": 5, "limit": 9, "low": 6, "pattern": "^6"},
        {"payload": 5, "limit": 9, "low": 4},
    ]
    assert await routes(rules, messages) == [[0, 2, 3], [1], [1, 2]]  # no pattern: /null/


@pytest.mark.parametrize("scope", ["flow", "global"])
async def test_context_operands_changing_between_messages_are_seen(scope):
    rules = [
        {"t": "lt", "v": "limit", "vt": scope},
        {"t": "btwn", "v": "low", "vt": scope, "v2": "limit", "v2t": scope},
        {"t": "eq", "v": "word", "vt": scope},
    ]
    values = [(10, 0, "x"), (3, 1, 5), (6, 5, None)]

    def before(i, ctx):
        store = ctx.flow if scope == "flow" else ctx.global_
        limit, low, word = values[i]
        store.set("limit", limit)
        store.set("low", low)
        store.set("word", word)

    assert await routes(rules, payloads(5, 5, 5), before=before) == [[0, 1], [2], [0, 1]]


async def test_env_operands_are_read_per_message(monkeypatch):
    rules = [
        {"t": "eq", "v": "SWITCH_TEST_LIMIT", "vt": "env"},
        {"t": "gt", "v": "${SWITCH_TEST_LIMIT}", "vt": "env"},
    ]

    def before(i, ctx):
        monkeypatch.setenv("SWITCH_TEST_LIMIT", ["5", "3", "9"][i])

    assert await routes(rules, payloads(5, 5, 5), before=before) == [[0], [1], []]


async def test_jsonata_and_prev_operands():
    rules = [
        {"t": "eq", "v": "$flowContext('x') * 2", "vt": "jsonata"},
        {"t": "gt", "v": "", "vt": "prev"},
        {"t": "btwn", "v": "", "vt": "prev", "v2": "payload + 10", "v2t": "jsonata"},
    ]

    def before(i, ctx):
        ctx.flow.set("x", [1, 2, 1][i])

    # prev starts as null (0 in comparisons); each message sets it to its property
    assert await routes(rules, payloads(2, 4, 3), before=before) == [[0, 1, 2], [0, 1, 2], []]


async def test_else_and_first_match_only():
    rules = [
        {"t": "lt", "v": "10", "vt": "num"},
        {"t": "else"},
        {"t": "lt", "v": "5", "vt": "num"},
        {"t": "else"},
    ]
    assert await routes(rules, payloads(3, 7, 20)) == [[0, 2], [0, 3], [1]]
    first = await routes(rules, payloads(3, 20), checkall="false")
    assert first == [[0], [1]]
    plain = [{"t": "lt", "v": "10", "vt": "num"}, {"t": "lt", "v": "5", "vt": "num"}]
    assert await routes(plain, payloads(3, 20), checkall="false") == [[0], []]


async def test_sequence_rules_read_parts():
    rules = [
        {"t": "head", "v": "2", "vt": "num"},
        {"t": "index", "v": "1", "vt": "num", "v2": "2", "v2t": "num"},
    ]  # (tail holds the sequence until its count is known: tests/nodes/function/test_node_switch.py)
    messages = [{"payload": i, "parts": {"id": "a", "index": i, "count": 4}} for i in range(4)]
    assert await routes(rules, messages) == [[0], [0, 1], [1], []]


class Live:
    method = "GET"


@pytest.mark.parametrize(
    ("prop", "message", "matches"),
    [
        ("payload.value", {"payload": {"value": 42}}, True),
        ("msg.payload.value", {"payload": {"value": 42}}, True),
        ("payload.value", {"payload": {"value": 41}}, False),
        ("payload.items[1]", {"payload": {"items": [0, 42]}}, True),
        ("payload.items.1", {"payload": {"items": [0, 42]}}, True),
        ("payload[1]", {"payload": {"1": 42}}, True),
        ("payload[msg.key]", {"payload": {"k": 42}, "key": "k"}, True),
        ("payload.items.length", {"payload": {"items": [1] * 42}}, True),
        ("req.method", {"req": Live()}, "GET"),
        ("payload.value", {"payload": "text"}, None),
        ("payload.value.deep", {"payload": {}}, None),
        ("payload.value", {}, None),
    ],
)
async def test_property_paths(prop, message, matches):
    rules = [{"t": "eq", "v": "42", "vt": "num"}, {"t": "eq", "v": "GET", "vt": "str"}, {"t": "null"}]
    want = {True: [0], False: [], "GET": [1], None: [2]}[matches]
    assert await routes(rules, [message], property=prop) == [want]


async def test_bad_property_path_reads_undefined():
    rules = [{"t": "null"}]
    assert await routes(rules, [{"payload": 1}], property="payload[") == [[0]]
