"""catch, status, complete: ported from Node-RED's 25-catch, 25-status and 24-complete specs,
plus the routing the flow does for them as seen from these nodes."""

from __future__ import annotations

import pytest

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness

MST = {"text": "Oh dear", "source": {"id": "12345", "type": "testnode", "name": "fred"}}


@register_type("test-csc-fail")
class FailNode(Node):
    def on_input(self, msg, send, done):
        done(f"failed on {msg.get('payload')}")


@register_type("test-csc-status")
class StatusSetter(Node):
    def on_input(self, msg, send, done):
        self.status({"fill": "red", "shape": "dot", "text": msg.get("payload")})
        send(msg)
        done()


@pytest.mark.parametrize("node_type", ["catch", "status", "complete"])
async def test_outputs_a_message_when_called(node_type):
    flow = [
        {"id": "n1", "type": node_type, "name": node_type, "wires": [["n2"]], "scope": []},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("n1").node.name == node_type
        h.node("n1").receive(dict(MST))
        msg = await h.node("n2").next_input()
        assert msg["text"] == "Oh dear"
        assert msg["source"] == {"id": "12345", "type": "testnode", "name": "fred"}


async def test_catch_receives_errors():
    flow = [
        {"id": "f", "type": "test-csc-fail", "name": "F", "wires": []},
        {"id": "c", "type": "catch", "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({"payload": 7})
        msg = await h.node("out").next_input()
        assert msg["payload"] == 7
        assert msg["error"]["message"] == "failed on 7"
        assert msg["error"]["source"] == {"id": "f", "type": "test-csc-fail", "name": "F", "count": 1}


async def test_status_node_receives_status():
    flow = [
        {"id": "s", "type": "test-csc-status", "name": "S", "wires": []},
        {"id": "st", "type": "status", "scope": ["s"], "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("s").receive({"payload": 3})
        msg = await h.node("out").next_input()
        assert msg["status"] == {
            "fill": "red",
            "shape": "dot",
            "text": "3",
            "source": {"id": "s", "type": "test-csc-status", "name": "S"},
        }


async def test_status_scope_drops_directly_wired_nodes(marker):
    """A status node wired to a node it watches would loop: Node-RED removes such nodes from its scope."""
    flow = [
        {"id": "s", "type": "test-csc-status", "wires": []},
        {"id": "st", "type": "status", "scope": ["s"], "wires": [["s"]]},
        marker.node("st"),
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("st").node.config["scope"] == []
        h.node("s").receive({"payload": 1})
        assert await marker.received(h, "st") == []


async def test_complete_receives_done_messages():
    flow = [
        {"id": "j", "type": "junction", "wires": [["out"]]},
        {"id": "cp", "type": "complete", "scope": ["j"], "wires": [["done"]]},
        {"id": "out", "type": "helper"},
        {"id": "done", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("j").receive({"payload": "p"})
        msg = await h.node("done").next_input()
        assert msg["payload"] == "p"
        assert msg["complete"] == {"source": {"id": "j", "type": "junction", "name": ""}}


async def test_complete_scope_drops_directly_wired_nodes(marker):
    flow = [
        {"id": "j", "type": "junction", "wires": [[]]},
        {"id": "cp", "type": "complete", "scope": ["j"], "wires": [["j"]]},
        marker.node("cp"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("j").receive({"payload": "p"})
        assert await marker.received(h, "cp") == []


async def test_catch_uncaught_only_gets_unhandled_errors(marker):
    flow = [
        {"id": "f", "type": "test-csc-fail", "wires": []},
        {"id": "g", "type": "test-csc-fail", "wires": []},
        {"id": "scoped", "type": "catch", "scope": ["f"], "wires": [["a"]]},
        {"id": "rest", "type": "catch", "uncaught": True, "wires": [["b"]]},
        {"id": "a", "type": "helper"},
        {"id": "b", "type": "helper"},
        marker.node("scoped", "rest"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({"payload": 1})
        h.node("g").receive({"payload": 2})
        assert [m["payload"] for m in await marker.received(h, "a")] == [1]
        assert [m["payload"] for m in await marker.received(h, "b")] == [2]


@pytest.mark.parametrize(
    "node",
    [
        {
            "type": "switch",
            "property": "payload",
            "rules": [{"t": "nnull"}],
            "checkall": "true",
            "outputs": 1,
        },
        {"type": "rbe", "func": "rbe", "property": "payload"},
    ],
    ids=["switch", "filter"],
)
async def test_switch_and_filter_do_not_trigger_complete_nodes(node):
    """Node-RED's switch and filter (rbe) register a one-argument input handler and never call
    done(), so a complete node watching them gets nothing; a change node in the same scope does."""
    flow = [
        {"id": "watched", **node, "wires": [["out"]]},
        {"id": "ch", "type": "change", "rules": [], "wires": [["out"]]},
        {"id": "cp", "type": "complete", "scope": ["watched", "ch"], "wires": [["done"]]},
        {"id": "out", "type": "helper"},
        {"id": "done", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("watched").receive({"payload": "first"})
        h.node("ch").receive({"payload": "second"})
        assert (await h.node("out").next_input())["payload"] == "first"  # it did pass the message on
        msg = await h.node("done").next_input()
        assert msg["payload"] == "second"
        assert msg["complete"]["source"]["id"] == "ch"


async def test_complete_output_carries_msg_complete_so_a_manual_join_sends_each_alone():
    """Flow.js handleComplete sets msg.complete = {source}; join (manual mode) sends a group when a
    message has a `complete` property: each completed message leaves the join on its own."""
    flow = [
        {"id": "ch", "type": "change", "rules": [], "wires": [[]]},
        {"id": "cp", "type": "complete", "scope": ["ch"], "wires": [["j"]]},
        {"id": "j", "type": "join", "mode": "custom", "build": "array", "count": "3", "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        for payload in (1, 2):
            h.node("ch").receive({"payload": payload})
        first, second = await h.node("out").inputs(2)
        assert first["payload"] == [1] and second["payload"] == [2]


@register_type("test-csc-start-status")
class StartStatusSetter(StatusSetter):
    def setup(self):
        self.status({})  # as csv, file, delay... clear their status when they start
        self.status({"fill": "grey", "shape": "ring", "text": "starting"})


async def test_status_nodes_get_no_start_up_statuses():
    """Flow.start builds statusNodes after creating every node, so statuses set while nodes start
    (constructors in Node-RED, setup here) reach no status node; later ones do."""
    flow = [
        {"id": "s", "type": "test-csc-start-status", "wires": []},
        {"id": "dbg", "type": "debug", "active": True, "tosidebar": False, "tostatus": True, "wires": []},
        {"id": "st", "type": "status", "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("s").node is not None
        h.node("s").receive({"payload": "later"})
        msg = await h.node("out").next_input()
        assert msg["status"]["text"] == "later"
        assert msg["status"]["source"]["id"] == "s"
