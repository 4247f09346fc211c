"""Port of Node-RED's test/nodes/core/function/15-change_spec.js."""

from __future__ import annotations

import datetime
import time

import pytest

from flowrt.testing import FlowTestHarness

STORES = {"contextStorage": {"memory0": {"module": "memory"}, "memory1": {"module": "memory"}}}


def change(rules=None, z=None, **kw):
    node = {"id": "c1", "type": "change", "name": "changeNode", "wires": [["h1"]], **kw}
    if rules is not None:
        node["rules"] = rules
    if z:
        node["z"] = z
    return node


def flow_of(node, z=None):
    flow = [node, {"id": "h1", "type": "helper", **({"z": z} if z else {})}]
    if z:
        flow.insert(0, {"id": z, "type": "tab"})
    return flow


async def run(node, msg, z=None, settings=None, before=None):
    async with FlowTestHarness(flow_of(node, z), settings=settings) as h:
        if before:
            before(h.node("c1").node.context())
        h.node("c1").receive(msg)
        out = await h.node("h1").next_input()
        return out, h.node("c1").node.context()


async def assert_dropped(node, msg, z=None):
    """The node sends nothing for `msg`: a marker sent afterwards arrives first."""
    flow = flow_of(node, z) + [
        {"id": "pass", "type": "change", "rules": [], "wires": [["h1"]], **({"z": z} if z else {})}
    ]
    async with FlowTestHarness(flow) as h:
        h.node("c1").receive(msg)
        h.node("pass").receive({"marker": True})
        out = await h.node("h1").next_input()
        assert out.get("marker") is True
        return h


def legacy(action, prop, frm="", to="", reg=False):
    return change(action=action, property=prop, **{"from": frm, "to": to, "reg": reg})


# ------------------------------------------------------------------ loading


async def test_load_defaults():
    async with FlowTestHarness([{"id": "c1", "type": "change", "name": "change1"}]) as h:
        node = h.node("c1").node
        assert node.name == "change1"
        rule = node.rules[0]
        assert {k: rule[k] for k in ("fromt", "pt", "tot", "p")} == {
            "fromt": "str",
            "pt": "msg",
            "tot": "str",
            "p": "",
        }
        assert not rule["t"]


async def test_load_defaults_replace():
    async with FlowTestHarness([{"id": "c1", "type": "change", "name": "change1", "action": "replace"}]) as h:
        rule = h.node("c1").node.rules[0]
        assert {k: rule[k] for k in ("fromt", "p", "pt", "t", "to", "tot")} == {
            "fromt": "str",
            "p": "",
            "pt": "msg",
            "t": "set",
            "to": "",
            "tot": "str",
        }


async def test_load_defaults_change():
    async with FlowTestHarness([{"id": "c1", "type": "change", "name": "change1", "action": "change"}]) as h:
        rule = h.node("c1").node.rules[0]
        assert {k: rule[k] for k in ("from", "fromt", "p", "pt", "t", "to", "tot")} == {
            "from": "",
            "fromt": "str",
            "p": "",
            "pt": "msg",
            "t": "change",
            "to": "",
            "tot": "str",
        }
        assert rule["fromRE"].pattern == ""


async def test_no_rules_is_noop():
    node = change([], action="", property="", to="", reg=False, **{"from": ""})
    sent = {"payload": {"a": 1, "b": 2}}
    out, _ = await run(node, sent)
    assert out["payload"] == {"a": 1, "b": 2}


# ------------------------------------------------------------------ #set

SET_CASES = [
    (
        "set value",
        legacy("replace", "payload", to="changed"),
        {"payload": "changeMe"},
        {"payload": "changed"},
    ),
    (
        "set value and type",
        change([{"t": "set", "p": "payload", "pt": "msg", "to": "12345", "tot": "num"}]),
        {"payload": "changeMe"},
        {"payload": 12345},
    ),
    (
        "set existing multi-level",
        legacy("replace", "foo.bar", to="bar"),
        {"foo": {"bar": "foo"}},
        {"foo": {"bar": "bar"}},
    ),
    ("set empty multi-level", legacy("replace", "foo.bar", to="bar"), {}, {"foo": {"bar": "bar"}}),
    ("set to msg property", legacy("replace", "foo", to="msg.fred"), {"fred": "bar"}, {"foo": "bar"}),
    (
        "multi-level to multi-level",
        legacy("replace", "foo.bar", to="msg.fred.red"),
        {"fred": {"red": "bar"}},
        {"foo": {"bar": "bar"}},
    ),
    (
        "split dotted properties",
        legacy("replace", "pay.load", to="10"),
        {"pay": {"load": "changeMe"}},
        {"pay": {"load": "10"}},
    ),
    (
        "to number",
        change([{"t": "set", "p": "payload", "to": "123", "tot": "num"}]),
        {"payload": ""},
        {"payload": 123},
    ),
    (
        "to boolean",
        change([{"t": "set", "p": "payload", "to": "true", "tot": "bool"}]),
        {"payload": ""},
        {"payload": True},
    ),
    (
        "to js object",
        change([{"t": "set", "p": "payload", "to": '{"a":123}', "tot": "json"}]),
        {"payload": ""},
        {"payload": {"a": 123}},
    ),
    (
        "to buffer",
        change(
            [{"t": "set", "p": "payload", "to": "[72,101,108,108,111,32,87,111,114,108,100]", "tot": "bin"}]
        ),
        {"payload": ""},
        {"payload": b"Hello World"},
    ),
    (
        "jsonata",
        change([{"t": "set", "p": "payload", "to": "$length(payload)", "tot": "jsonata"}]),
        {"payload": "Hello World!"},
        {"payload": 12},
    ),
    (
        "nested property source",
        change([{"t": "set", "p": "payload", "pt": "msg", "to": "lookup[msg.topic]", "tot": "msg"}]),
        {"payload": "", "lookup": {"a": 1, "b": 2}, "topic": "b"},
        {"payload": 2},
    ),
    (
        "nested property target",
        change([{"t": "set", "p": "lookup[msg.topic]", "pt": "msg", "to": "payload", "tot": "msg"}]),
        {"payload": "newValue", "lookup": {"a": 1, "b": 2}, "topic": "b"},
        {"lookup": {"a": 1, "b": "newValue"}},
    ),
]


@pytest.mark.parametrize("name,node,msg,expected", SET_CASES, ids=[c[0] for c in SET_CASES])
async def test_set(name, node, msg, expected):
    out, _ = await run(node, msg)
    for key, value in expected.items():
        assert out[key] == value
        assert type(out[key]) is type(value)


async def test_legacy_to_msg_is_migrated():
    async with FlowTestHarness(flow_of(legacy("replace", "foo", to="msg.fred"))) as h:
        rule = h.node("c1").node.rules[0]
        assert rule["t"] == "set" and rule["tot"] == "msg"


async def test_set_missing_to_property_does_not_set():
    out, _ = await run(legacy("replace", "foo.bar", to="msg.fred.red"), {})
    assert out.get("foo") is None


async def test_set_missing_to_property_overrides_with_undefined():
    out, _ = await run(legacy("replace", "payload", to="msg.foo"), {"payload": "Hello"})
    assert out.get("payload") is None


async def test_set_null_to_property():
    out, _ = await run(legacy("replace", "payload", to="msg.foo"), {"payload": "Hello", "foo": None})
    assert "payload" in out and out["payload"] is None


async def test_set_does_not_set_other_properties_with_equals():
    out, _ = await run(legacy("replace", "payload", to="msg.otherProp=10"), {"payload": "changeMe"})
    assert out.get("payload") is None
    assert "otherProp" not in out


@pytest.mark.parametrize("store", [None, "memory1"])
async def test_set_global_context(store):
    key = f"#:({store})::globalValue" if store else "globalValue"
    node = change([{"t": "set", "p": key, "pt": "global", "to": "changed", "tot": "str"}])
    _, ctx = await run(node, {"payload": ""}, settings=STORES if store else None)
    assert ctx.global_.get("globalValue", store) == "changed"


@pytest.mark.parametrize("scope", ["flow", "global"])
@pytest.mark.parametrize("store", [None, "memory1"])
async def test_set_from_context(scope, store):
    key = f"#:({store})::{scope}Value" if store else f"{scope}Value"
    node = change([{"t": "set", "p": "payload", "to": key, "tot": scope}], z="flow")

    def before(ctx):
        getattr(ctx, "flow" if scope == "flow" else "global_").set(f"{scope}Value", "Hello World!", store)

    out, _ = await run(node, {"payload": ""}, z="flow", settings=STORES if store else None, before=before)
    assert out["payload"] == "Hello World!"


async def test_set_timestamp():
    node = change([{"t": "set", "p": "ts", "pt": "msg", "to": "", "tot": "date"}])
    before = time.time() * 1000
    out, _ = await run(node, {"payload": 0})
    assert isinstance(out["ts"], int) and before - 1 <= out["ts"] <= time.time() * 1000 + 1


async def test_set_env(monkeypatch):
    monkeypatch.setenv("NR_TEST_A", "foo")
    node = change([{"t": "set", "p": "payload", "pt": "msg", "to": "NR_TEST_A", "tot": "env"}])
    out, _ = await run(node, {"payload": "123", "topic": "ABC"})
    assert out["payload"] == "foo"


async def test_set_env_from_tab():
    flow = [
        {"id": "tab1", "type": "tab", "env": [{"name": "NR_TEST_A", "value": "bar", "type": "str"}]},
        {**change([{"t": "set", "p": "payload", "pt": "msg", "to": "NR_TEST_A", "tot": "env"}]), "z": "tab1"},
        {"id": "h1", "type": "helper", "z": "tab1"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("c1").receive({"payload": "123"})
        assert (await h.node("h1").next_input())["payload"] == "bar"


@pytest.mark.parametrize("nested", [False, True])
async def test_set_env_from_group(nested):
    groups = [
        {
            "id": "group1",
            "type": "group",
            "z": "flow",
            "env": [{"name": "NR_TEST_A", "value": "bar", "type": "str"}],
        }
    ]
    gid = "group1"
    if nested:
        groups.append({"id": "group2", "type": "group", "g": "group1", "z": "flow", "env": []})
        gid = "group2"
    flow = [
        {"id": "flow", "type": "tab"},
        *groups,
        {
            **change([{"t": "set", "p": "payload", "pt": "msg", "to": "NR_TEST_A", "tot": "env"}]),
            "z": "flow",
            "g": gid,
        },
        {"id": "h1", "type": "helper", "z": "flow"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("c1").receive({"payload": "123"})
        assert (await h.node("h1").next_input())["payload"] == "bar"


async def test_set_invalid_jsonata_reports_error():
    h = await assert_dropped(
        change([{"t": "set", "p": "payload", "to": "$invalid(payload)", "tot": "jsonata"}]),
        {"payload": "Hello World!"},
    )
    assert len(h.node("c1").errors) == 1


@pytest.mark.parametrize("scope", ["flow", "global"])
@pytest.mark.parametrize("store", [None, "memory1"])
async def test_set_jsonata_context(scope, store):
    fn = "$flowContext" if scope == "flow" else "$globalContext"
    expr = f'{fn}("foo")' if store is None else f'{fn}("foo","{store}")'
    node = change([{"t": "set", "p": "payload", "to": expr, "tot": "jsonata"}], z="flow")

    def before(ctx):
        getattr(ctx, "flow" if scope == "flow" else "global_").set("foo", "bar", store)

    out, _ = await run(
        node, {"payload": "Hello World!"}, z="flow", settings=STORES if store else None, before=before
    )
    assert out["payload"] == "bar"


@pytest.mark.parametrize("case", [1, 2])
async def test_set_from_nested_flow_context(case):
    node = change(
        [{"t": "set", "p": "payload", "pt": "msg", "to": "lookup[msg.topic]", "tot": "flow"}], z="flow"
    )
    out, _ = await run(
        node,
        {"payload": "", "topic": "b"},
        z="flow",
        before=lambda ctx: ctx.flow.set("lookup", {"a": 1, "b": 2}),
    )
    assert out["payload"] == 2


async def test_set_nested_flow_context_from_msg():
    node = change(
        [{"t": "set", "p": "lookup[msg.topic]", "pt": "flow", "to": "payload", "tot": "msg"}], z="flow"
    )
    out, ctx = await run(
        node,
        {"payload": "newValue", "topic": "b"},
        z="flow",
        before=lambda ctx: ctx.flow.set("lookup", {"a": 1, "b": 2}),
    )
    assert out["payload"] == "newValue"
    assert ctx.flow.get("lookup.b") == "newValue"


async def test_set_deep_copy():
    original = {"a": {"b": 1}}
    node = change([{"t": "set", "p": "payload", "pt": "msg", "to": "source", "tot": "msg", "dc": True}])
    async with FlowTestHarness(flow_of(node)) as h:
        msg = {"source": original}
        h.node("c1").receive(msg)
        out = await h.node("h1").next_input()
        assert out["payload"] == original and out["payload"] is not original
        out["payload"]["a"]["c"] = 2
        assert "c" not in original["a"]


# ------------------------------------------------------------------ #change

CHANGE_CASES = [
    (
        "change value",
        legacy("change", "payload", "Hello", "Goodbye"),
        {"payload": "Hello World!"},
        {"payload": "Goodbye World!"},
    ),
    (
        "partial match keeps type",
        change(
            [
                {
                    "t": "change",
                    "p": "payload",
                    "pt": "msg",
                    "from": "123",
                    "fromt": "str",
                    "to": "456",
                    "tot": "num",
                }
            ]
        ),
        {"payload": "Change123Me"},
        {"payload": "Change456Me"},
    ),
    (
        "complete match number",
        change(
            [
                {
                    "t": "change",
                    "p": "payload",
                    "pt": "msg",
                    "from": "123",
                    "fromt": "str",
                    "to": "456",
                    "tot": "num",
                }
            ]
        ),
        {"payload": "123"},
        {"payload": 456},
    ),
    (
        "complete match boolean",
        change(
            [
                {
                    "t": "change",
                    "p": "payload.a",
                    "pt": "msg",
                    "from": "123",
                    "fromt": "str",
                    "to": "true",
                    "tot": "bool",
                },
                {
                    "t": "change",
                    "p": "payload.b",
                    "pt": "msg",
                    "from": "456",
                    "fromt": "str",
                    "to": "false",
                    "tot": "bool",
                },
            ]
        ),
        {"payload": {"a": "123", "b": "456"}},
        {"payload": {"a": True, "b": False}},
    ),
    (
        "multi-level",
        legacy("change", "foo.bar", "Hello", "Goodbye"),
        {"foo": {"bar": "Hello World!"}},
        {"foo": {"bar": "Goodbye World!"}},
    ),
    (
        "missing property unaltered",
        legacy("change", "foo", "Hello", "Goodbye"),
        {"payload": "Hello World!"},
        {"payload": "Hello World!"},
    ),
    (
        "missing multi-level unaltered",
        legacy("change", "foo.bar", "Hello", "Goodbye"),
        {"payload": "Hello World!"},
        {"payload": "Hello World!"},
    ),
    (
        "regex",
        change(
            [
                {
                    "t": "change",
                    "p": "payload.a",
                    "pt": "msg",
                    "from": "\\d+",
                    "fromt": "re",
                    "to": "NUMBER",
                    "tot": "str",
                },
                {
                    "t": "change",
                    "p": "payload.b",
                    "pt": "msg",
                    "from": "on",
                    "fromt": "re",
                    "to": "true",
                    "tot": "bool",
                },
                {
                    "t": "change",
                    "p": "payload.c",
                    "pt": "msg",
                    "from": "off",
                    "fromt": "re",
                    "to": "false",
                    "tot": "bool",
                },
            ]
        ),
        {"payload": {"a": "Replace all numbers 12 and 14", "b": "on", "c": "off"}},
        {"payload": {"a": "Replace all numbers NUMBER and NUMBER", "b": True, "c": False}},
    ),
    (
        "regex groups",
        legacy("change", "payload", "(Hello)", "$1-$1-$1", reg=True),
        {"payload": "Hello World"},
        {"payload": "Hello-Hello-Hello World"},
    ),
    (
        "regex groups new format",
        change(
            [
                {
                    "t": "change",
                    "p": "payload",
                    "from": "(Hello)",
                    "to": "$1-$1-$1",
                    "fromt": "re",
                    "tot": "str",
                }
            ]
        ),
        {"payload": "Hello World"},
        {"payload": "Hello-Hello-Hello World"},
    ),
    (
        "new format",
        change([{"t": "change", "p": "payload", "from": "ABC", "to": "123", "fromt": "str", "tot": "str"}]),
        {"payload": "abcABCabc"},
        {"payload": "abc123abc"},
    ),
    (
        "from msg property",
        change([{"t": "change", "p": "payload", "from": "topic", "to": "123", "fromt": "msg", "tot": "str"}]),
        {"payload": "abcABCabc", "topic": "ABC"},
        {"payload": "abc123abc"},
    ),
    (
        "number - string payload",
        change([{"t": "change", "p": "payload", "from": "123", "to": "456", "fromt": "num", "tot": "str"}]),
        {"payload": "123"},
        {"payload": "456"},
    ),
    (
        "number - number payload",
        change([{"t": "change", "p": "payload", "from": "123", "to": "abc", "fromt": "num", "tot": "str"}]),
        {"payload": 123},
        {"payload": "abc"},
    ),
    (
        "boolean - string payload",
        change([{"t": "change", "p": "payload", "from": "true", "to": "xxx", "fromt": "bool", "tot": "str"}]),
        {"payload": "true"},
        {"payload": "xxx"},
    ),
    (
        "boolean - boolean payload",
        change([{"t": "change", "p": "payload", "from": "true", "to": "xxx", "fromt": "bool", "tot": "str"}]),
        {"payload": True},
        {"payload": "xxx"},
    ),
]


@pytest.mark.parametrize("name,node,msg,expected", CHANGE_CASES, ids=[c[0] for c in CHANGE_CASES])
async def test_change(name, node, msg, expected):
    out, _ = await run(node, msg)
    for key, value in expected.items():
        assert out[key] == value
        assert type(out[key]) is type(value)


async def test_change_invalid_regex_refuses_to_start():
    node = legacy("change", "payload", "\\+**+", "NUMBER", reg=True)
    async with FlowTestHarness(flow_of(node)) as h:
        errors = [r for r in h.logs if r.level == "error" and r.node_id == "c1"]
        assert len(errors) == 1
        assert h.runtime.get_node("c1") is None


@pytest.mark.parametrize("scope", ["flow", "global"])
@pytest.mark.parametrize("store", [None, "memory1"])
async def test_change_from_context(scope, store):
    key = f"#:({store})::topic" if store else "topic"
    node = change(
        [{"t": "change", "p": "payload", "from": key, "to": "123", "fromt": scope, "tot": "str"}], z="flow"
    )

    def before(ctx):
        getattr(ctx, "flow" if scope == "flow" else "global_").set("topic", "ABC", store)

    out, _ = await run(
        node, {"payload": "abcABCabc"}, z="flow", settings=STORES if store else None, before=before
    )
    assert out["payload"] == "abc123abc"


@pytest.mark.parametrize("store", [None, "memory1"])
async def test_change_number_from_global_context(store):
    key = f"#:({store})::topic" if store else "topic"
    node = change(
        [{"t": "change", "p": "payload", "from": key, "to": "ABC", "fromt": "global", "tot": "str"}]
    )
    out, _ = await run(
        node,
        {"payload": 123},
        settings=STORES if store else None,
        before=lambda ctx: ctx.global_.set("topic", 123, store),
    )
    assert out["payload"] == "ABC"


@pytest.mark.parametrize("store", [None, "memory1"])
async def test_change_global_context_value(store):
    key = f"#:({store})::payload" if store else "payload"
    node = change(
        [
            {
                "t": "change",
                "p": key,
                "pt": "global",
                "from": "Hello",
                "fromt": "str",
                "to": "Goodbye",
                "tot": "str",
            }
        ],
        z="flow",
    )
    _, ctx = await run(
        node,
        {"payload": ""},
        z="flow",
        settings=STORES if store else None,
        before=lambda ctx: ctx.global_.set("payload", "Hello World!", store),
    )
    assert ctx.global_.get("payload", store) == "Goodbye World!"


FLOW_CONTEXT_CASES = [
    ("partial match keeps type", "123", "str", "456", "num", "Change123Me", "Change456Me"),
    ("complete match changes type", "123", "str", "456", "num", "123", 456),
    ("number - number", "123", "num", "abc", "str", 123, "abc"),
    ("boolean - boolean", "true", "bool", "abc", "str", True, "abc"),
]


@pytest.mark.parametrize(
    "name,frm,fromt,to,tot,initial,expected", FLOW_CONTEXT_CASES, ids=[c[0] for c in FLOW_CONTEXT_CASES]
)
@pytest.mark.parametrize("store", [None, "memory1"])
async def test_change_flow_context_value(name, frm, fromt, to, tot, initial, expected, store):
    key = f"#:({store})::payload" if store else "payload"
    node = change(
        [{"t": "change", "p": key, "pt": "flow", "from": frm, "fromt": fromt, "to": to, "tot": tot}], z="flow"
    )
    _, ctx = await run(
        node,
        {"payload": ""},
        z="flow",
        settings=STORES if store else None,
        before=lambda ctx: ctx.flow.set("payload", initial, store),
    )
    value = ctx.flow.get("payload", store)
    assert value == expected and type(value) is type(expected)


async def test_change_invalid_from_value_reports_error():
    node = change(
        [{"t": "change", "p": "payload", "from": "null", "fromt": "msg", "to": "abc", "tot": "str"}]
    )
    h = await assert_dropped(node, {"payload": "", "null": None})
    assert len(h.node("c1").errors) == 1


@pytest.mark.parametrize(
    "value",
    [None, {"a": 1}, [1], b"ab", (1, 2), datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)],
    ids=["null", "object", "array", "buffer", "tuple", "date"],
)
async def test_change_unsupported_from_type_is_named_as_javascript_typeof(value):
    # Node-RED: "unsupported type: " + (typeof fromValue); a Date (msg.d = new Date() in a
    # function node arrives as a datetime) or a tuple is an "object", not "datetime"/"tuple".
    node = change([{"t": "change", "p": "payload", "from": "v", "fromt": "msg", "to": "abc", "tot": "str"}])
    h = await assert_dropped(node, {"payload": "", "v": value})
    [(err, _msg)] = h.node("c1").errors
    assert str(err) == "invalid 'from' property: unsupported type: object"


async def test_change_from_a_date_set_by_a_function_node_is_an_object():
    rule = {"t": "change", "p": "payload", "from": "d", "fromt": "msg", "to": "x", "tot": "str"}
    flow = [
        {"id": "f1", "type": "function", "func": "msg.d = new Date(); return msg;", "wires": [["c1"]]},
        change([rule]),
        {"id": "h1", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f1").receive({"payload": "a"})
        err, _msg = await h.node("c1").next_error()
        assert str(err) == "invalid 'from' property: unsupported type: object"


async def test_change_to_env(monkeypatch):
    monkeypatch.setenv("NR_TEST_A", "foo")
    node = change(
        [{"t": "change", "p": "payload", "from": "topic", "to": "NR_TEST_A", "fromt": "msg", "tot": "env"}]
    )
    out, _ = await run(node, {"payload": "abcABCabc", "topic": "ABC"})
    assert out["payload"] == "abcfooabc"


# ------------------------------------------------------------------ #delete


async def test_delete_property():
    out, _ = await run(legacy("delete", "payload"), {"payload": "This won't get through!"})
    assert "payload" not in out


@pytest.mark.parametrize("store", [None, "memory1"])
async def test_delete_global_context(store):
    key = f"#:({store})::globalValue" if store else "globalValue"
    node = change([{"t": "delete", "p": key, "pt": "global"}])
    _, ctx = await run(
        node,
        {"payload": ""},
        settings=STORES if store else None,
        before=lambda ctx: ctx.global_.set("globalValue", "Hello World!", store),
    )
    assert ctx.global_.get("globalValue", store) is None


async def test_delete_multi_level():
    out, _ = await run(legacy("delete", "foo.bar"), {"payload": "x", "foo": {"bar": "deleted"}})
    assert "bar" not in out["foo"]


async def test_delete_missing_unaltered():
    out, _ = await run(legacy("delete", "foo"), {"payload": "payload"})
    assert "foo" not in out and out["payload"] == "payload"


async def test_delete_missing_multi_level_unaltered():
    out, _ = await run(legacy("delete", "foo.bar"), {"payload": "payload"})
    assert "foo" not in out and out["payload"] == "payload"


# ------------------------------------------------------------------ #move

MOVE_CASES = [
    (
        "move",
        "topic",
        "payload",
        {"topic": "You've got to move it move it.", "payload": {"foo": "bar"}},
        {"payload": "You've got to move it move it."},
        ["topic"],
    ),
    (
        "move object",
        "topic",
        "payload",
        {"topic": {"foo": {"bar": 1}}, "payload": "String"},
        {"payload": {"foo": {"bar": 1}}},
        ["topic"],
    ),
    ("move to itself", "payload", "payload", {"payload": "bar"}, {"payload": "bar"}, []),
    ("move to sub-property", "payload", "payload.foo", {"payload": "bar"}, {"payload": {"foo": "bar"}}, []),
    ("move sub-property up", "payload.foo", "payload", {"payload": {"foo": "bar"}}, {"payload": "bar"}, []),
]


@pytest.mark.parametrize("name,p,to,msg,expected,absent", MOVE_CASES, ids=[c[0] for c in MOVE_CASES])
async def test_move(name, p, to, msg, expected, absent):
    node = change([{"t": "move", "p": p, "pt": "msg", "to": to, "tot": "msg"}])
    out, _ = await run(node, msg)
    for key, value in expected.items():
        assert out[key] == value
    for key in absent:
        assert key not in out
    assert "_temp_move" not in out


# ------------------------------------------------------------------ multiple rules


async def test_multiple_rules():
    node = change(
        [
            {"t": "set", "p": "payload", "to": "newValue"},
            {"t": "change", "p": "changeProperty", "from": "this", "to": "that"},
            {"t": "delete", "p": "deleteProperty"},
        ]
    )
    out, _ = await run(
        node, {"payload": "changeMe", "changeProperty": "change this value", "deleteProperty": "x"}
    )
    assert out["payload"] == "newValue"
    assert out["changeProperty"] == "change that value"
    assert "deleteProperty" not in out


async def test_multiple_rules_in_order():
    node = change(
        [
            {"t": "set", "p": "payload", "to": "a this (hi)"},
            {"t": "change", "p": "payload", "from": "this", "to": "that"},
            {"t": "change", "p": "payload", "from": "\\(.*\\)", "to": "[new]", "re": True},
        ]
    )
    out, _ = await run(node, {"payload": "changeMe"})
    assert out["payload"] == "a that [new]"


@pytest.mark.parametrize("scopes", [("flow", "flow"), ("global", "global"), ("flow", "global")])
async def test_two_persistable_context_properties(scopes):
    node = change(
        [
            {"t": "set", "p": "val0", "to": "#:(memory0)::val", "tot": scopes[0]},
            {"t": "set", "p": "val1", "to": "#:(memory1)::val", "tot": scopes[1]},
        ],
        z="t1",
    )

    def before(ctx):
        getattr(ctx, "flow" if scopes[0] == "flow" else "global_").set("val", "foo", "memory0")
        getattr(ctx, "flow" if scopes[1] == "flow" else "global_").set("val", "bar", "memory1")

    out, _ = await run(node, {"payload": ""}, z="t1", settings=STORES, before=before)
    assert out["val0"] == "foo" and out["val1"] == "bar"


# ------------------------------------------------------------------ beyond the spec


async def test_replacement_patterns_and_escaping():
    node = change(
        [{"t": "change", "p": "payload", "from": "a.b", "fromt": "str", "to": "[$&]", "tot": "str"}]
    )
    out, _ = await run(node, {"payload": "a.b axb"})
    assert out["payload"] == "[a.b] axb"


async def test_set_warns_on_non_object_parent():
    node = change([{"t": "set", "p": "payload.x", "pt": "msg", "to": "1", "tot": "str"}])
    async with FlowTestHarness(flow_of(node)) as h:
        h.node("c1").receive({"payload": "text"})
        out = await h.node("h1").next_input()
        assert out["payload"] == "text"
        assert (await h.node("c1").next_log("warn")).text


# ------------------------------------------------------------------ undefined values delete
# Node-RED: getToValue gives undefined for a missing msg property, a missing context key or a JSONata
# expression with no result; setMessageProperty(msg, p, undefined) and context set(key, undefined)
# delete the target and create no parents. A missing env var is "" (evaluateEnvProperty), so it sets "".

UNDEFINED_SOURCES = [
    ("msg", "nothing"),
    ("msg", "payload.nothing"),
    ("flow", "nothing"),
    ("global", "nothing"),
    ("jsonata", "$.nothing"),
    ("jsonata", "payload.nothing /* no result */"),
]


def _undefined_rule(t, target_type, target, source_type, source):
    return change([{"t": t, "p": target, "pt": target_type, "to": source, "tot": source_type}], z="tab1")


@pytest.mark.parametrize("source_type,source", UNDEFINED_SOURCES)
@pytest.mark.parametrize("target", ["old", "deep.old", "missing.parent.x"])
async def test_set_msg_to_undefined_deletes_and_creates_no_parents(source_type, source, target):
    node = _undefined_rule("set", "msg", target, source_type, source)
    out, _ = await run(node, {"payload": {"a": 1}, "old": 1, "deep": {"old": 2, "keep": 3}}, z="tab1")
    assert ("old" in out) == (target != "old")
    assert out["deep"] == ({"keep": 3} if target == "deep.old" else {"old": 2, "keep": 3})
    assert "missing" not in out
    assert out["payload"] == {"a": 1}


@pytest.mark.parametrize("source_type,source", UNDEFINED_SOURCES)
@pytest.mark.parametrize("target_type", ["flow", "global"])
async def test_set_context_to_undefined_deletes_the_key(source_type, source, target_type):
    node = _undefined_rule("set", target_type, "old", source_type, source)

    def before(ctx):
        getattr(ctx, "flow" if target_type == "flow" else "global_").set("old", 1)
        ctx.flow.set("keep", 2)

    out, ctx = await run(node, {"payload": {"a": 1}, "old": 1}, z="tab1", before=before)
    target = ctx.flow if target_type == "flow" else ctx.global_
    assert "old" not in target.keys()
    assert ctx.flow.get("keep") == 2


@pytest.mark.parametrize(
    "target_type,target", [("msg", "old"), ("msg", "deep.old"), ("flow", "old"), ("global", "old")]
)
@pytest.mark.parametrize("source_type", ["msg", "flow", "global"])
async def test_move_of_missing_property_deletes_the_target(source_type, target_type, target):
    node = change(
        [{"t": "move", "p": "nothing", "pt": source_type, "to": target, "tot": target_type}], z="tab1"
    )

    def before(ctx):
        ctx.flow.set("old", 1)
        ctx.global_.set("old", 1)

    out, ctx = await run(node, {"old": 1, "deep": {"old": 2}}, z="tab1", before=before)
    if target_type == "msg":
        assert out.get("deep") == ({} if target == "deep.old" else {"old": 2})
        assert ("old" in out) == (target != "old")
    else:
        target_ctx = ctx.flow if target_type == "flow" else ctx.global_
        assert "old" not in target_ctx.keys()
    assert "nothing" not in out


@pytest.mark.parametrize("target_type", ["msg", "flow"])
async def test_set_to_null_keeps_a_null_value(target_type):
    # null is a value (msg.x = null, JSONata null): only undefined deletes
    rules = [
        {"t": "set", "p": "a", "pt": "msg", "to": "payload.none", "tot": "msg"},
        {"t": "set", "p": "b", "pt": "msg", "to": "null", "tot": "jsonata"},
        {"t": "set", "p": "c", "pt": "msg", "to": "payload.none", "tot": "jsonata"},
    ]
    out, _ = await run(change(rules), {"payload": {"none": None}, "a": 1, "b": 1, "c": 1})
    assert out["a"] is None and out["b"] is None and out["c"] is None


async def test_set_to_missing_env_var_sets_empty_string(monkeypatch):
    monkeypatch.delenv("FLOWRT_NO_SUCH_VAR", raising=False)
    rules = [
        {"t": "set", "p": "old", "pt": "msg", "to": "FLOWRT_NO_SUCH_VAR", "tot": "env"},
        {"t": "set", "p": "other", "pt": "msg", "to": "${FLOWRT_NO_SUCH_VAR}", "tot": "env"},
        {"t": "set", "p": "new.x", "pt": "msg", "to": "FLOWRT_NO_SUCH_VAR", "tot": "env"},
    ]
    out, _ = await run(change(rules), {"old": 1, "other": 2})
    assert out["old"] == "" and out["other"] == "" and out["new"] == {"x": ""}


async def test_set_undefined_below_a_missing_parent_warns_as_node_red():
    node = change([{"t": "set", "p": "missing.x", "pt": "msg", "to": "nothing", "tot": "msg"}])
    async with FlowTestHarness(flow_of(node)) as h:
        h.node("c1").receive({"payload": 1})
        out = await h.node("h1").next_input()
        assert "missing" not in out
        assert "missing.x" in (await h.node("c1").next_log("warn")).text


@pytest.mark.parametrize(
    "frm,fromt,payload,expected",
    [
        ("b", "str", "abc", "aundefinedc"),  # String.replace(/b/g, undefined) writes "undefined"
        ("abc", "str", "abc", None),  # an exact match sets undefined: the property is deleted
        ("5", "num", 5, None),
    ],
)
async def test_change_to_undefined_value(frm, fromt, payload, expected):
    rule = {
        "t": "change",
        "p": "payload",
        "pt": "msg",
        "from": frm,
        "fromt": fromt,
        "to": "nothing",
        "tot": "msg",
    }
    out, _ = await run(change([rule]), {"payload": payload})
    if expected is None:
        assert "payload" not in out
    else:
        assert out["payload"] == expected
