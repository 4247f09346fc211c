"""The template node with compiled templates: its own template is compiled once, a template from
msg.template per new text, a bad one is reported for each message that uses it, and env/context
names resolve beside the message's own."""

from __future__ import annotations

from flowrt.testing import FlowTestHarness


def flow(**config):
    return [
        {"id": "t1", "type": "tab"},
        {"id": "n1", "type": "template", "z": "t1", "wires": [["n2"]], **config},
        {"id": "n2", "type": "helper", "z": "t1"},
    ]


async def test_the_nodes_own_template_is_compiled_once():
    async with FlowTestHarness(flow(field="msg.rendered", template="{{payload}}!")) as h:
        for payload in ("a", "b"):
            h.node("n1").receive({"payload": payload})
        got = await h.node("n2").inputs(2)
        node = h.node("n1").node
        compiled = node.compiled
        h.node("n1").receive({"payload": "c"})
        (third,) = (await h.node("n2").inputs(3))[2:]
        assert node.compiled is compiled
    assert [m["rendered"] for m in got + [third]] == ["a!", "b!", "c!"]


async def test_msg_templates_good_and_bad_in_turn():
    async with FlowTestHarness(flow(field="payload", template="")) as h:
        n1 = h.node("n1")
        n1.receive({"payload": "x", "template": "<{{payload}}>"})
        n1.receive({"payload": "y", "template": "{{#payload}}"})
        n1.receive({"payload": "z", "template": "<{{payload}}>"})
        n1.receive({"payload": "w", "template": "{{#payload}}"})
        got = await h.node("n2").inputs(2)
        first, _ = await n1.next_error()
        second, _ = await n1.next_error()
    assert [m["payload"] for m in got] == ["<x>", "<z>"]
    assert str(first) == str(second) == 'Unclosed section "payload" at 12'


async def test_context_and_env_names_beside_message_names(monkeypatch):
    monkeypatch.setenv("T19_NAME", "from env")
    template = "{{payload}}|{{flow.f}}|{{global.g}}|{{env.T19_NAME}}|{{flow.unset}}|{{nothing}}"
    async with FlowTestHarness(flow(field="out.text", template=template)) as h:
        ctx = h.node("n1").node.context()
        ctx.flow.set("f", "<flow>")
        ctx.global_.set("g", 3)
        h.node("n1").receive({"payload": "p"})
        (msg,) = await h.node("n2").inputs(1)
    assert msg["out"] == {"text": "p|&lt;flow&gt;|3|from env||"}
