"""link in / link out / link call: ported from Node-RED's 60-link_spec.js, plus flowrt extras."""

from __future__ import annotations

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness


@register_type("test-link-double")
class DoubleNode(Node):
    """payload += payload (as the spec's helper with an input handler)."""

    def on_input(self, msg, send, done):
        msg["payload"] = msg["payload"] + msg["payload"]
        send(msg)
        done()


@register_type("test-link-times")
class TimesNode(Node):
    def on_input(self, msg, send, done):
        msg["payload"] *= int(self.config["factor"])
        send(msg)
        done()


@register_type("test-link-fail")
class FailNode(Node):
    def on_input(self, msg, send, done):
        raise AssertionError("this node should not be called")


async def test_link_in_loaded():
    async with FlowTestHarness([{"id": "n1", "type": "link in", "name": "link-in"}]) as h:
        assert h.node("n1").node.name == "link-in"


async def test_link_out_loaded():
    async with FlowTestHarness([{"id": "n1", "type": "link out", "name": "link-out"}]) as h:
        assert h.node("n1").node.name == "link-out"


async def test_linked():
    flow = [
        {"id": "n1", "type": "link out", "name": "link-out", "links": ["n2"]},
        {"id": "n2", "type": "link in", "name": "link-in", "wires": [["n3"]]},
        {"id": "n3", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "hello"})
        msg = await h.node("n3").next_input()
        assert msg["payload"] == "hello"


async def test_linked_to_multiple_nodes():
    flow = [
        {"id": "n1", "type": "link out", "name": "link-out", "links": ["n2", "n3"]},
        {"id": "n2", "type": "link in", "name": "link-in0", "wires": [["n4"]]},
        {"id": "n3", "type": "link in", "name": "link-in1", "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        original = {"payload": "hello", "obj": {"a": 1}}
        h.node("n1").receive(original)
        first, second = await h.node("n4").inputs(2)
        assert first["payload"] == second["payload"] == "hello"
        # the first target gets the message itself, the other a deep clone
        assert first is original
        assert second is not original and second["obj"] is not original["obj"]
        assert first["_msgid"] == second["_msgid"]


async def test_linked_from_multiple_nodes():
    flow = [
        {"id": "n1", "type": "link out", "name": "link-out0", "links": ["n3"]},
        {"id": "n2", "type": "link out", "name": "link-out1", "links": ["n3"]},
        {"id": "n3", "type": "link in", "name": "link-in", "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "hello"})
        h.node("n2").receive({"payload": "hello"})
        msgs = await h.node("n4").inputs(2)
        assert [m["payload"] for m in msgs] == ["hello", "hello"]


async def test_linked_across_tabs_from_link_in_side():
    """A link in listing the link out (the editor stores both sides) also connects them."""
    flow = [
        {"id": "t1", "type": "tab"},
        {"id": "t2", "type": "tab"},
        {"id": "out", "z": "t1", "type": "link out"},
        {"id": "in", "z": "t2", "type": "link in", "links": ["out"], "wires": [["n3"]]},
        {"id": "n3", "z": "t2", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("out").receive({"payload": 1})
        assert (await h.node("n3").next_input())["payload"] == 1


async def test_link_call_static_gets_response():
    flow = [
        {"id": "link-in-1", "type": "link in", "wires": [["func"]]},
        {"id": "func", "type": "test-link-times", "factor": 3, "wires": [["link-out-1"]]},
        {"id": "link-out-1", "type": "link out", "mode": "return"},
        {"id": "link-call", "type": "link call", "links": ["link-in-1"], "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("link-call").receive({"payload": 41})
        msg = await h.node("n4").next_input()
        assert msg["payload"] == 123
        assert "_linkSource" not in msg


async def test_link_call_by_name_gets_response():
    flow = [
        {"id": "tab-flow-1", "type": "tab", "label": "Flow 1"},
        {"id": "tab-flow-2", "type": "tab", "label": "Flow 2"},
        {
            "id": "link-in-1",
            "z": "tab-flow-1",
            "type": "link in",
            "name": "double payload",
            "wires": [["func"]],
        },
        {
            "id": "link-in-2",
            "z": "tab-flow-2",
            "type": "link in",
            "name": "double payload",
            "wires": [["func"]],
        },
        {"id": "func", "z": "tab-flow-1", "type": "test-link-double", "wires": [["link-out-1"]]},
        {"id": "link-out-1", "z": "tab-flow-1", "type": "link out", "mode": "return"},
        {
            "id": "link-call",
            "z": "tab-flow-1",
            "type": "link call",
            "linkType": "dynamic",
            "links": [],
            "wires": [["n4"]],
        },
        {"id": "n4", "z": "tab-flow-1", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("link-call").receive({"payload": 21, "target": "double payload"})
        msg = await h.node("n4").next_input()
        assert msg["payload"] == 42
        # the link in on the caller's own tab was chosen
        assert len(h.node("link-in-1").received) == 1
        assert h.node("link-in-2").received == []


async def test_link_call_by_id_dynamic():
    flow = [
        {"id": "li", "type": "link in", "name": "x", "wires": [["lo"]]},
        {"id": "lo", "type": "link out", "mode": "return"},
        {"id": "lc", "type": "link call", "linkType": "dynamic", "links": [], "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("lc").receive({"payload": "p", "target": "li"})
        assert (await h.node("n4").next_input())["payload"] == "p"


async def test_link_call_timeout():
    flow = [
        {"id": "tab-flow-1", "type": "tab", "label": "Flow 1"},
        {
            "id": "link-in-1",
            "z": "tab-flow-1",
            "type": "link in",
            "name": "double payload",
            "wires": [["func"]],
        },
        {"id": "func", "z": "tab-flow-1", "type": "test-link-double", "wires": [["link-out-1"]]},
        {"id": "link-out-1", "z": "tab-flow-1", "type": "link out", "mode": ""},
        {
            "id": "link-call",
            "z": "tab-flow-1",
            "type": "link call",
            "linkType": "static",
            "timeout": "0.05",
            "links": ["link-in-1"],
            "wires": [["n4"]],
        },
        {
            "id": "catch-all",
            "z": "tab-flow-1",
            "type": "catch",
            "scope": ["link-call"],
            "uncaught": True,
            "wires": [["n4"]],
        },
        {"id": "n4", "z": "tab-flow-1", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("link-call").receive({"payload": "hello", "target": "double payload"})
        msg = await h.node("n4").next_input()
        assert msg["target"] == "double payload"
        assert msg["error"]["message"] == "timeout"
        assert msg["error"]["source"]["id"] == "link-call"
        # the error carries the message as it was sent, not as it came back
        assert msg["payload"] == "hello"


async def _multiple_targets(flow):
    async with FlowTestHarness(flow) as h:
        h.node("link-call").receive({"payload": "hello", "target": "double payload"})
        msg = await h.node("n4").next_input()
        assert msg["target"] == "double payload"
        assert "Multiple link-in nodes" in msg["error"]["message"]
        assert msg["error"]["source"]["id"] == "link-call"
        assert h.node("func").received == []


def _multi_flow(tab_of_in1, tab_of_in2, tabs):
    return [
        *({"id": t, "type": "tab", "label": t} for t in tabs),
        {
            "id": "link-in-1",
            "z": tab_of_in1,
            "type": "link in",
            "name": "double payload",
            "wires": [["func"]],
        },
        {
            "id": "link-in-2",
            "z": tab_of_in2,
            "type": "link in",
            "name": "double payload",
            "wires": [["func"]],
        },
        {"id": "func", "z": "tab-flow-1", "type": "test-link-fail", "wires": [["link-out-1"]]},
        {"id": "link-out-1", "z": "tab-flow-1", "type": "link out", "mode": "return"},
        {
            "id": "link-call",
            "z": "tab-flow-1",
            "type": "link call",
            "linkType": "dynamic",
            "links": [],
            "wires": [["n4"]],
        },
        {
            "id": "catch-all",
            "z": "tab-flow-1",
            "type": "catch",
            "scope": ["link-call"],
            "uncaught": True,
            "wires": [["n4"]],
        },
        {"id": "n4", "z": "tab-flow-1", "type": "helper"},
    ]


async def test_link_call_multiple_targets_same_tab():
    await _multiple_targets(_multi_flow("tab-flow-1", "tab-flow-1", ["tab-flow-1"]))


async def test_link_call_multiple_targets_different_tabs():
    await _multiple_targets(
        _multi_flow("tab-flow-2", "tab-flow-3", ["tab-flow-1", "tab-flow-2", "tab-flow-3"])
    )


async def test_link_call_target_not_found():
    flow = [
        {"id": "lc", "type": "link call", "linkType": "dynamic", "links": [], "wires": [["n4"]]},
        {"id": "c", "type": "catch", "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("lc").receive({"payload": 1, "target": "nowhere"})
        msg = await h.node("n4").next_input()
        assert msg["error"]["message"] == "target link-in node 'nowhere' not found"


async def test_link_call_no_error_after_renaming_duplicate():
    flow = [
        {"id": "tab-flow-1", "type": "tab", "label": "Flow 1"},
        {
            "id": "link-in-1",
            "z": "tab-flow-1",
            "type": "link in",
            "name": "duplicate",
            "wires": [["link-out-1"]],
        },
        {
            "id": "link-in-2",
            "z": "tab-flow-1",
            "type": "link in",
            "name": "duplicate",
            "wires": [["link-out-1"]],
        },
        {"id": "link-out-1", "z": "tab-flow-1", "type": "link out", "mode": "return"},
        {
            "id": "link-call",
            "z": "tab-flow-1",
            "type": "link call",
            "linkType": "dynamic",
            "links": [],
            "wires": [["n4"]],
        },
        {"id": "n4", "z": "tab-flow-1", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("link-in-2").node.name == "duplicate"
        renamed = [dict(n) for n in flow]
        renamed[2]["name"] = "add"
        await h.redeploy(renamed)
        assert h.node("link-in-2").node.name == "add"
        h.node("link-call").receive({"payload": "hello", "target": "add"})
        msg = await h.node("n4").next_input()
        assert msg["target"] == "add"
        assert "error" not in msg


async def test_nested_link_calls():
    flow = [
        {"id": "li1", "type": "link in", "wires": [["m2"]]},
        {"id": "m2", "type": "test-link-times", "factor": 2, "wires": [["lo1"]]},
        {"id": "lo1", "type": "link out", "mode": "return"},
        {"id": "li2", "type": "link in", "wires": [["m3"]]},
        {"id": "m3", "type": "test-link-times", "factor": 3, "wires": [["lo2"]]},
        {"id": "lo2", "type": "link out", "mode": "return"},
        {"id": "li3", "type": "link in", "wires": [["link-call-1"]]},
        {"id": "link-call-1", "type": "link call", "links": ["li1"], "wires": [["link-call-2"]]},
        {"id": "link-call-2", "type": "link call", "links": ["li2"], "wires": [["lo3"]]},
        {"id": "lo3", "type": "link out", "mode": "return"},
        {"id": "link-call", "type": "link call", "links": ["li3"], "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("link-call").receive({"payload": 4})
        assert (await h.node("n4").next_input())["payload"] == 24


async def test_return_without_link_source_warns():
    flow = [{"id": "lo", "type": "link out", "mode": "return", "wires": []}]
    async with FlowTestHarness(flow) as h:
        h.node("lo").receive({"payload": 1})
        record = await h.node("lo").next_log("warn")
        assert "Missing return" in record.text


async def test_link_call_in_subflow_by_name():
    """The spec's disabled subflow case: a dynamic link call finds the link in of its own instance."""
    flow = [
        {
            "id": "sf",
            "type": "subflow",
            "name": "Subflow",
            "in": [{"wires": [{"id": "link-call-1"}]}],
            "out": [{"wires": [{"id": "link-call-1", "port": 0}]}],
        },
        {
            "id": "link-call-1",
            "type": "link call",
            "z": "sf",
            "links": [],
            "linkType": "dynamic",
            "timeout": "5",
            "wires": [[]],
        },
        {"id": "link-in-1", "type": "link in", "z": "sf", "name": "double payload", "wires": [["func"]]},
        {"id": "func", "type": "test-link-double", "z": "sf", "wires": [["link-out-1"]]},
        {"id": "link-out-1", "type": "link out", "z": "sf", "mode": "return", "links": [], "wires": []},
        {"id": "t1", "type": "tab"},
        {"id": "sub-flow-1", "type": "subflow:sf", "z": "t1", "wires": [["n4"]]},
        {"id": "n4", "z": "t1", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("sub-flow-1").receive({"payload": 5, "target": "double payload"})
        assert (await h.node("n4").next_input())["payload"] == 10
