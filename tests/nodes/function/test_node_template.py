"""Port of Node-RED's test/nodes/core/function/80-template_spec.js."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness

STORES = {
    "contextStorage": {
        "memory0": {"module": "memory"},
        "memory1": {"module": "memory"},
        "memory2": {"module": "memory"},
    }
}


def flow_of(z=True, **config):
    zz = {"z": "t1"} if z else {}
    nodes = [
        {"id": "n1", "type": "template", "wires": [["n2"]], **zz, **config},
        {"id": "n2", "type": "helper", **zz},
    ]
    if z:
        nodes.insert(0, {"id": "t1", "type": "tab"})
    return nodes


async def run(flow, *messages, settings=None, before=None):
    async with FlowTestHarness(flow, settings=settings) as h:
        if before:
            before(h.node("n1").node.context())
        for m in messages:
            h.node("n1").receive(m)
        got = await h.node("n2").inputs(len(messages))
        return got, h.node("n1").node.context()


async def test_node_template():
    tpl = "this should be ignored as the node has its own template {{payload}}"
    (msg,), _ = await run(
        flow_of(field="payload", template="payload={{payload}}"),
        {"payload": "foo", "topic": "bar", "template": tpl},
    )
    assert msg["topic"] == "bar" and msg["payload"] == "payload=foo" and msg["template"] == tpl


async def test_msg_template_into_property():
    (msg,), _ = await run(
        flow_of(field="randomProperty", template=""),
        {"payload": "foo", "topic": "bar", "template": "payload={{payload}}"},
    )
    assert msg["payload"] == "foo" and msg["randomProperty"] == "payload=foo"
    assert msg["template"] == "payload={{payload}}"


async def test_msg_template_overwrites():
    (msg,), _ = await run(
        flow_of(field="payload", template=""),
        {"payload": "foo", "topic": "bar", "template": "topic={{topic}}"},
    )
    assert msg["payload"] == "topic=bar" and msg["template"] == "topic={{topic}}"


async def test_msg_template_sequence():
    got, _ = await run(
        flow_of(field="payload", template=""),
        {"payload": "foo", "topic": "bar", "template": "topic={{topic}}"},
        {"payload": "foo", "topic": "another bar", "template": "topic={{topic}}"},
        {"payload": "foo", "topic": "bar", "template": "payload={{payload}}"},
    )
    assert [m["payload"] for m in got] == ["topic=bar", "topic=another bar", "payload=foo"]


async def test_env_variable(monkeypatch):
    monkeypatch.setenv("TEST", "xyzzy")
    (msg,), _ = await run(flow_of(field="payload", template="payload={{env.TEST}}"), {"payload": "foo"})
    assert msg["payload"] == "payload=xyzzy"


@pytest.mark.parametrize(
    "template,values,expected",
    [
        ("payload={{flow.value}}", [("flow", None, "foo")], "payload=foo"),
        ("payload={{flow[memory1].value}}", [("flow", "memory1", "foo")], "payload=foo"),
        (
            "payload={{flow[memory1].value}}/{{flow[memory2].value}}",
            [("flow", "memory1", "foo"), ("flow", "memory2", "bar")],
            "payload=foo/bar",
        ),
        ("payload={{global.value}}", [("global", None, "foo")], "payload=foo"),
        ("payload={{global[memory1].value}}", [("global", "memory1", "foo")], "payload=foo"),
        (
            "payload={{global[memory1].value}}/{{global[memory2].value}}",
            [("global", "memory1", "foo"), ("global", "memory2", "bar")],
            "payload=foo/bar",
        ),
        (
            "payload={{flow[memory1].value}}/{{global[memory1].value}}",
            [("flow", "memory1", "foo"), ("global", "memory1", "bar")],
            "payload=foo/bar",
        ),
    ],
    ids=[
        "flow",
        "flow store",
        "two flow stores",
        "global",
        "global store",
        "two global stores",
        "flow and global",
    ],
)
async def test_context_values(template, values, expected):
    def before(ctx):
        for scope, store, value in values:
            (ctx.flow if scope == "flow" else ctx.global_).set("value", value, store)

    (msg,), _ = await run(
        flow_of(field="payload", template=template),
        {"payload": "foo", "topic": "bar"},
        settings=STORES,
        before=before,
    )
    assert msg["topic"] == "bar" and msg["payload"] == expected


NESTED = (
    "{{#flow.time}}time={{flow.time}}{{/flow.time}}{{^flow.time}}!time{{/flow.time}}"
    "{{#flow.random}}random={{flow.random}}randomtime={{flow.randomtime}}{{/flow.random}}"
    "{{^flow.random}}!random{{/flow.random}}"
)


async def test_nested_context_tags_unset():
    (msg,), _ = await run(flow_of(field="payload", template=NESTED), {"payload": "foo", "topic": "bar"})
    assert msg["payload"] == "!time!random"


async def test_nested_context_tags_set():
    def before(ctx):
        ctx.flow.set(["time", "random", "randomtime"], ["123", "456", "789"])

    (msg,), _ = await run(
        flow_of(field="payload", template=NESTED), {"payload": "foo", "topic": "bar"}, before=before
    )
    assert msg["payload"] == "time=123random=456randomtime=789"


async def test_missing_node_context():
    (msg,), _ = await run(
        flow_of(z=False, field="payload", template="payload={{flow.value}},{{global.value}}"),
        {"payload": "foo", "topic": "bar"},
    )
    assert msg["payload"] == "payload=,"


async def test_json_output_escapes():
    text = "line\t1\nline\\2\r\nline\b3\f"
    (msg,), _ = await run(
        flow_of(
            z=False, field="payload", syntax="mustache", template='{"data":"{{payload}}"}', output="json"
        ),
        {"payload": text},
    )
    assert msg["payload"] == {"data": text}


async def test_plain_text():
    (msg,), _ = await run(
        flow_of(z=False, field="payload", syntax="plain", template="payload={{payload}}"),
        {"payload": "foo", "topic": "bar"},
    )
    assert msg["payload"] == "payload={{payload}}"


@pytest.mark.parametrize("scope", ["flow", "global"])
@pytest.mark.parametrize("store", [None, "memory1"])
async def test_into_context(scope, store):
    field = f"#:({store})::payload" if store else "payload"
    (msg,), ctx = await run(
        flow_of(field=field, fieldType=scope, template="payload={{payload}}"),
        {"payload": "foo", "topic": "bar"},
        settings=STORES,
    )
    assert msg["payload"] == "foo" and msg["topic"] == "bar"
    assert (ctx.flow if scope == "flow" else ctx.global_).get("payload", store) == "payload=foo"


async def test_field_default():
    (msg,), _ = await run(
        flow_of(z=False, template="payload={{payload}}"), {"payload": "foo", "topic": "bar"}
    )
    assert msg["payload"] == "payload=foo"


async def test_deeper_objects():
    (msg,), _ = await run(
        flow_of(z=False, field="topic.foo.bar", template="payload={{payload.doh.rei.me}}"),
        {"payload": {"doh": {"rei": {"me": "foo"}}}},
    )
    assert msg["topic"] == {"foo": {"bar": "payload=foo"}}


async def test_block_contexts():
    (msg,), _ = await run(
        flow_of(z=False, template="A{{#payload.A}}{{payload.A}}{{.}}{{/payload.A}}B"),
        {"payload": {"A": "abc"}},
    )
    assert msg["payload"] == "AabcabcB"


async def test_bad_template_raises_error():
    async with FlowTestHarness(flow_of(z=False, field="payload", template="payload={{payload")) as h:
        h.node("n1").receive({"payload": "foo"})
        err, _ = await h.node("n1").next_error()
        assert str(err).startswith("Unclosed tag at ")


# ------------------------------------------------------------------ beyond the spec


async def test_html_escaping_triple_and_yaml():
    (msg,), _ = await run(
        flow_of(z=False, template="a: '{{{payload}}}'\nb: '{{payload}}'", output="yaml"), {"payload": "<x>"}
    )
    assert msg["payload"] == {"a": "<x>", "b": "&lt;x&gt;"}


async def test_sections_over_lists():
    (msg,), _ = await run(
        flow_of(z=False, template="{{#payload}}[{{name}}]{{/payload}}{{^payload}}none{{/payload}}"),
        {"payload": [{"name": "a"}, {"name": "b"}]},
    )
    assert msg["payload"] == "[a][b]"


@pytest.mark.parametrize(
    "template,text",
    [
        ("ab {{payload", "Unclosed tag at 12"),
        ("{{{payload}", "Unclosed tag at 11"),
        ("{{#payload}}x", 'Unclosed section "payload" at 13'),
        ("{{#a}}x{{/b}}", 'Unclosed section "a" at 7'),
        ("x {{/a}}", 'Unopened section "a" at 2'),
    ],
)
async def test_template_errors_are_mustache_js_texts(template, text):
    # 80-template.js: done(err.message) with mustache.js's parse errors (positions as its scanner's)
    async with FlowTestHarness(flow_of(template=template)) as h:
        h.node("n1").receive({"payload": "p"})
        err, _ = await h.node("n1").next_error()
        assert str(err) == text
