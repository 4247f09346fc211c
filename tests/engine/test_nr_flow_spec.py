"""Node-RED's runtime spec test/unit/@node-red/runtime/lib/flows/Flow_spec.js, ported as behaviour.

Each test names the `it("...")` it ports. Node-RED's spec builds a `Flow` object from
`flowUtils.parseConfig` and calls `flow.handleStatus/handleError` directly; here a running flow is
observed through its nodes: `node.status()` and `node.error()` are how a node reaches those, and
status/catch/complete nodes report what arrived. Counts: docs/conformance-runtime.md.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from flowrt import Node, register_type
from flowrt.engine.registry import registry
from flowrt.formats.document import load_deployment
from flowrt.formats.validate import validate_deployment
from flowrt.testing import FlowTestHarness

EVENTS: list[tuple[str, str]] = []  # ("setup"|"close", node id), in order
NEVER = asyncio.Event()


@register_type("nr-flow-test")
class FlowTestNode(Node):
    """Node-RED's spec "test" node: passes messages on, records setup and close."""

    def setup(self):
        EVENTS.append(("setup", self.id))
        self.handled = 0
        ref = self.config.get("foo")
        self.ref_seen = self.runtime.get_node(ref) if isinstance(ref, str) else None

    def on_input(self, msg, send, done):
        self.handled += 1
        msg["handled"] = self.handled
        send(msg)
        done()

    def on_close(self, removed):
        EVENTS.append(("close", self.id))


@register_type("nr-flow-test-hang")
class HangingCloseNode(Node):
    """Node-RED's "testAsync" node with a close that does not finish in time."""

    async def on_close(self, removed):
        EVENTS.append(("close-start", self.id))
        await NEVER.wait()


def node(node_id, wires=None, **extra):
    """A flow node: parseConfig tells them from config nodes by their x and y."""
    return {"id": node_id, "type": "nr-flow-test", "z": "t1", "x": 10, "y": 10, "wires": wires or [], **extra}


def config_node(node_id, **extra):
    """A node without x/y: parseConfig files it under the flow's config nodes."""
    return {"id": node_id, "type": "nr-flow-test", "z": "t1", **extra}


TAB = {"id": "t1", "type": "tab"}


def helper(node_id, **extra):
    return {"id": node_id, "type": "helper", "z": "t1", **extra}


async def settle():
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def clear_events():
    EVENTS.clear()


# ----- #constructor / #start ---------------------------------------------------------------


async def test_constructor_called_with_an_empty_flow():
    """it('called with an empty flow')"""
    async with FlowTestHarness([]) as h:
        assert not [n for n in h.runtime.nodes.values() if n.type not in ("tab",)]


async def test_start_instantiates_an_initial_configuration_and_stops_it():
    """it("instantiates an initial configuration and stops it")"""
    flow = [
        TAB,
        node("1", [["2"]]),
        node("2", [["3"]]),
        node("3", [["out"]]),
        config_node("4"),
        helper("out"),
    ]
    async with FlowTestHarness(flow) as h:
        for node_id in ("1", "2", "3", "4"):
            assert h.node(node_id).node.id == node_id
        assert [h.node(i).node.handled for i in ("1", "2", "3")] == [0, 0, 0]
        h.node("1").receive({"payload": "test"})
        await h.node("out").next_input()
        assert [h.node(i).node.handled for i in ("1", "2", "3")] == [1, 1, 1]
    assert {node_id for event, node_id in EVENTS if event == "close"} == {"1", "2", "3", "4"}


async def test_start_instantiates_config_nodes_in_the_right_order():
    """it("instantiates config nodes in the right order"): node 4 refers to node 5 (foo: "5"),
    so 5 is created first and 4 can find it while it starts."""
    flow = [
        TAB,
        node("1", [["2"]]),
        node("2", [["3"]]),
        node("3"),
        config_node("4", foo="5"),
        config_node("5"),
    ]
    async with FlowTestHarness(flow) as h:
        setups = [node_id for event, node_id in EVENTS if event == "setup"]
        assert sorted(setups) == ["1", "2", "3", "4", "5"]
        assert setups.index("5") < setups.index("4")
        assert h.node("4").node.ref_seen is h.node("5").node


def test_start_detects_dependency_loops_in_config_nodes(tmp_path):
    """it("detects dependency loops in config nodes"): Node-RED's Flow.start rejects with
    "Circular config node dependency detected: node1"; flowrt refuses such a flow before it
    starts (`flowrt validate` / `flowrt run` report an error naming both nodes)."""
    flow = [TAB, config_node("node1", foo="node2"), config_node("node2", foo="node1")]
    path = tmp_path / "flows.json"
    path.write_text(json.dumps(flow))
    problems = validate_deployment(load_deployment([path]), registry)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1
    assert "Circular config node dependency" in errors[0].message
    assert "node1" in errors[0].message and "node2" in errors[0].message


async def test_start_instantiates_a_node_with_environment_variable_property_values(monkeypatch):
    """it("instantiates a node with environment variable property values"): a whole "$(NAME)"
    string (the old syntax) is replaced, inside objects and arrays too; not with spaces around,
    and an unknown name is left as it is."""
    monkeypatch.setenv("NODE_RED_TEST_VALUE", "a-value")
    flow = [
        TAB,
        node("1", foo="$(NODE_RED_TEST_VALUE)"),
        node("2", foo={"a": "$(NODE_RED_TEST_VALUE)"}),
        node("3", foo=" $(NODE_RED_TEST_VALUE)"),
        node("4", foo="$(NODE_RED_TEST_VALUE) "),
        node("5", foo="$(NODE_RED_TEST_VALUE_NONE)"),
        node("6", foo=["$(NODE_RED_TEST_VALUE)"]),
    ]
    async with FlowTestHarness(flow) as h:
        foo = {i: h.node(i).node.config["foo"] for i in "123456"}
        assert foo["1"] == "a-value"
        assert foo["2"]["a"] == "a-value"
        assert foo["3"] == " $(NODE_RED_TEST_VALUE)"
        assert foo["4"] == "$(NODE_RED_TEST_VALUE) "
        assert foo["5"] == "$(NODE_RED_TEST_VALUE_NONE)"
        assert foo["6"][0] == "a-value"


async def test_start_ignores_disabled_nodes():
    """it("ignores disabled nodes"): a disabled node is not created and messages do not pass it"""
    flow = [
        TAB,
        node("1", [["2"]]),
        node("2", [["3"]], d=True),
        node("3"),
        config_node("4"),
        config_node("5", d=True),
    ]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.get_node("2") is None and h.runtime.get_node("5") is None
        assert {"1", "3", "4"} <= set(h.runtime.nodes)
        h.node("1").receive({"payload": "test"})
        await h.node("1").next_input()
        await settle()
        assert h.node("1").node.handled == 1
        assert h.node("3").node.handled == 0  # 2 is disabled
    closed = {node_id for event, node_id in EVENTS if event == "close"}
    assert closed == {"1", "3", "4"}


# ----- #stop -----------------------------------------------------------------------------


async def test_stop_stops_all_nodes():
    """it("stops all nodes")"""
    flow = [TAB, node("1", [["2"]]), node("2", [["3"]]), node("3")]
    async with FlowTestHarness(flow):
        pass
    assert {node_id for event, node_id in EVENTS if event == "close"} == {"1", "2", "3"}


async def test_stop_stops_config_nodes_last():
    """it("stops config nodes last")"""
    flow = [
        TAB,
        node("1", [["2"]]),
        config_node("c1"),
        node("2", [["3"]]),
        config_node("c2"),
        node("3"),
        config_node("c3"),
    ]
    async with FlowTestHarness(flow):
        assert not [e for e in EVENTS if e[0] == "close"]
    assert [node_id for event, node_id in EVENTS if event == "close"] == ["1", "2", "3", "c1", "c2", "c3"]


async def test_stop_times_out_a_node_that_fails_to_close():
    """it("Times out a node that fails to close"): stopping does not wait past nodeCloseTimeout
    for a close handler that never finishes; the other nodes are closed."""
    flow = [
        TAB,
        {"id": "1", "type": "nr-flow-test-hang", "z": "t1", "wires": [["2"]]},
        node("2", [["3"]]),
        node("3"),
    ]
    async with FlowTestHarness(flow, settings={"nodeCloseTimeout": 50}):
        pass
    assert ("close-start", "1") in EVENTS
    assert {node_id for event, node_id in EVENTS if event == "close"} == {"2", "3"}


# ----- #getNode ---------------------------------------------------------------------------


async def test_getnode_gets_a_node_known_to_the_flow():
    """it("gets a node known to the flow")"""
    flow = [TAB, node("1", [["2"]]), node("2", [["3"]]), node("3"), config_node("4")]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.get_node("1").id == "1"
        assert h.runtime.get_node("4").id == "4"


# ----- #handleStatus ------------------------------------------------------------------------


async def test_handlestatus_passes_a_status_event_to_the_adjacent_status_node():
    """it("passes a status event to the adjacent status node"): every unscoped status node gets
    it, with extra properties and status.source {id, type, name}"""
    flow = [
        TAB,
        node("1", [["2"]], name="a"),
        node("2", [["3"]]),
        node("3"),
        {"id": "sn", "type": "status", "z": "t1", "wires": [["o1"]]},
        {"id": "sn2", "type": "status", "z": "t1", "wires": [["o2"]]},
        helper("o1"),
        helper("o2"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").node.status({"text": "my-status", "random": "otherProperty"})
        for out in ("o1", "o2"):
            status = (await h.node(out).next_input())["status"]
            assert status["text"] == "my-status"
            assert status["random"] == "otherProperty"
            assert status["source"] == {"id": "1", "type": "nr-flow-test", "name": "a"}
        await settle()
        assert len(h.node("o1").received) == len(h.node("o2").received) == 1


async def test_handlestatus_passes_a_status_event_to_the_adjacent_scoped_status_node():
    """it("passes a status event to the adjacent scoped status node ")"""
    flow = [
        TAB,
        node("1", [["2"]], name="a"),
        node("2", [["3"]]),
        node("3"),
        {"id": "sn", "type": "status", "z": "t1", "scope": ["2"], "wires": [["o1"]]},
        {"id": "sn2", "type": "status", "z": "t1", "scope": ["1"], "wires": [["o2"]]},
        helper("o1"),
        helper("o2"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").node.status({"text": "my-status"})
        status = (await h.node("o2").next_input())["status"]
        assert status["text"] == "my-status"
        assert status["source"] == {"id": "1", "type": "nr-flow-test", "name": "a"}
        await settle()
        assert h.node("o1").received == []


def group_scoped_flow(kind):
    return [
        TAB,
        {"id": "g1", "type": "group", "g": "g3", "z": "t1"},
        {"id": "g2", "type": "group", "z": "t1"},
        {"id": "g3", "type": "group", "z": "t1"},
        node("1", [["2"]], g="g1", name="a"),
        {"id": "sn", "type": kind, "z": "t1", "g": "g1", "scope": "group", "wires": [["o1"]]},
        {"id": "sn2", "type": kind, "z": "t1", "g": "g2", "scope": "group", "wires": [["o2"]]},
        {"id": "sn3", "type": kind, "z": "t1", "g": "g3", "scope": "group", "wires": [["o3"]]},
        {"id": "sn4", "type": kind, "z": "t1", "g": "g2", "wires": [["o4"]]},
        *(helper(f"o{i}") for i in range(1, 5)),
    ]


async def test_handlestatus_passes_a_status_event_to_the_group_scoped_status_node():
    """it("passes a status event to the group scoped status node"): the source's group and its
    enclosing groups, not another group"""
    async with FlowTestHarness(group_scoped_flow("status")) as h:
        h.node("1").node.status({"text": "my-status"})
        await h.node("o1").next_input()
        await h.node("o3").next_input()
        await settle()
        assert h.node("o2").received == []
        assert len(h.node("o1").received) == len(h.node("o3").received) == 1


# ----- #handleError -------------------------------------------------------------------------


async def test_handleerror_passes_an_error_event_to_the_adjacent_catch_node():
    """it("passes an error event to the adjacent catch node"): all unscoped catch nodes, not the
    uncaught-only one"""
    flow = [
        TAB,
        node("1", [["2"]], name="a"),
        node("2", [["3"]]),
        node("3"),
        {"id": "sn", "type": "catch", "z": "t1", "wires": [["o1"]]},
        {"id": "sn2", "type": "catch", "z": "t1", "wires": [["o2"]]},
        {"id": "sn3", "type": "catch", "z": "t1", "uncaught": True, "wires": [["o3"]]},
        *(helper(f"o{i}") for i in range(1, 4)),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").node.error("my-error", {"a": "foo"})
        for out in ("o1", "o2"):
            msg = await h.node(out).next_input()
            assert msg["a"] == "foo"
            assert msg["error"]["message"] == "my-error"
            source = msg["error"]["source"]
            assert (source["id"], source["type"], source["name"]) == ("1", "nr-flow-test", "a")
        await settle()
        assert h.node("o3").received == []


async def test_handleerror_passes_an_error_event_to_the_adjacent_scoped_catch_node():
    """it("passes an error event to the adjacent scoped catch node "): scoped catches get errors
    of their nodes only; errors nobody caught go to every uncaught-only catch"""
    flow = [
        TAB,
        node("1", [["2"]], name="a"),
        node("2", [["3"]]),
        node("3"),
        {"id": "sn", "type": "catch", "z": "t1", "scope": ["2"], "wires": [["o1"]]},
        {"id": "sn2", "type": "catch", "z": "t1", "scope": ["1"], "wires": [["o2"]]},
        {"id": "sn3", "type": "catch", "z": "t1", "uncaught": True, "wires": [["o3"]]},
        {"id": "sn4", "type": "catch", "z": "t1", "uncaught": True, "wires": [["o4"]]},
        *(helper(f"o{i}") for i in range(1, 5)),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").node.error("my-error", {"a": "foo"})
        msg = await h.node("o2").next_input()
        assert msg["error"]["message"] == "my-error" and msg["error"]["source"]["id"] == "1"
        await settle()
        assert h.node("o1").received == h.node("o3").received == h.node("o4").received == []

        h.node("3").node.error("my-error-2", {"a": "foo-2"})
        for out in ("o3", "o4"):
            msg = await h.node(out).next_input()
            assert msg["error"]["message"] == "my-error-2"
            assert (msg["error"]["source"]["id"], msg["error"]["source"]["type"]) == ("3", "nr-flow-test")
        await settle()
        assert h.node("o1").received == [] and len(h.node("o2").received) == 1


async def test_handleerror_passes_an_error_event_to_the_group_scoped_catch_node():
    """it("passes an error event to the group scoped catch node")"""
    async with FlowTestHarness(group_scoped_flow("catch")) as h:
        h.node("1").node.error("my-error", {"a": "foo"})
        await h.node("o1").next_input()
        await h.node("o3").next_input()
        await settle()
        assert h.node("o2").received == []


async def test_handleerror_moves_any_existing_error_object_sideways():
    """it("moves any existing error object sideways"): msg.error becomes msg._error"""
    flow = [
        TAB,
        node("1", [["2"]], name="a"),
        node("2"),
        {"id": "sn", "type": "catch", "z": "t1", "wires": [["o1"]]},
        helper("o1"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").node.error("my-error", {"a": "foo", "error": "existing"})
        msg = await h.node("o1").next_input()
        assert msg["_error"] == "existing"
        assert msg["error"]["message"] == "my-error"
        source = msg["error"]["source"]
        assert (source["id"], source["type"], source["name"]) == ("1", "nr-flow-test", "a")


@register_type("nr-flow-test-fail")
class FailingNode(Node):
    def on_input(self, msg, send, done):
        done("fails again")


async def test_handleerror_prevents_an_error_looping_more_than_10_times():
    """it("prevents an error looping more than 10 times") (an empty case in Node-RED's spec; the
    behaviour is Flow.handleError's count check): a catch node wired back to the failing node
    catches the error nine times (counts 1..9), then at count 10 the node warns and the loop ends"""
    flow = [
        TAB,
        {"id": "f", "type": "nr-flow-test-fail", "z": "t1", "x": 1, "y": 1, "wires": []},
        {"id": "c", "type": "catch", "z": "t1", "scope": ["f"], "wires": [["f", "o1"]]},
        helper("o1"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({"payload": 1})
        record = await h.node("f").next_log("warn")
        assert record.text == "Message exceeded maximum number of catches"
        await settle()
        counts = [m["error"]["source"]["count"] for m in h.node("o1").received]
        assert counts == list(range(1, 10))


# ----- #handleComplete ----------------------------------------------------------------------


async def test_handlecomplete_passes_a_complete_event_to_the_adjacent_complete_node():
    """it("passes a complete event to the adjacent Complete node"): done() of nodes 1 and 3 both
    reach the complete node scoped to them, each with the message as that node finished it"""
    flow = [
        TAB,
        node("1", [["2"]], name="a"),
        node("2", [["3"]]),
        node("3"),
        {"id": "cn", "type": "complete", "z": "t1", "scope": ["1", "3"], "wires": [["o1"]]},
        helper("o1"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").receive({"payload": "hello world"})
        first, second = await h.node("o1").inputs(2)
        assert first["handled"] == 1 and second["handled"] == 1
        assert first["payload"] == second["payload"] == "hello world"


# ----- #env -----------------------------------------------------------------------------


async def test_env_can_instantiate_a_node_with_environment_variable_property_values_of_group_and_tab(
    monkeypatch,
):
    """it("can instantiate a node with environment variable property values of group and tab")"""
    monkeypatch.setenv("V0", "gv0")
    monkeypatch.setenv("V1", "gv1")
    monkeypatch.setenv("V3", "gv3")
    flow = [
        {"id": "t1", "type": "tab", "env": [env("V0", "t1v0"), env("V2", "t1v2")]},
        {"id": "g1", "type": "group", "z": "t1", "env": [env("V0", "g1v0"), env("V1", "g1v1")]},
        {"id": "g2", "type": "group", "z": "t1", "g": "g1", "env": [env("V1", "g2v1")]},
        node("t1__V0", foo="${V0}"),
        node("t1g1V0", g="g1", foo="${V0}"),
        node("t1g1V1", g="g1", foo="${V1}"),
        node("t1g2V0", g="g2", foo="${V0}"),
        node("t1g2V1", g="g2", foo="${V1}"),
        node("t1g2V2", g="g2", foo="${V2}"),
        node("t1g2V3", g="g2", foo="${V3}"),
        node("t1__V1", foo="${V1}"),
    ]
    expected = {
        "t1__V0": "t1v0",
        "t1__V1": "gv1",
        "t1g1V0": "g1v0",
        "t1g1V1": "g1v1",
        "t1g2V0": "g1v0",
        "t1g2V1": "g2v1",
        "t1g2V2": "t1v2",
        "t1g2V3": "gv3",
    }
    async with FlowTestHarness(flow) as h:
        assert {i: h.node(i).node.config["foo"] for i in expected} == expected


def env(name, value, type_="str"):
    return {"name": name, "value": value, "type": type_}


async def test_env_can_access_environment_variable_property_using_parent(monkeypatch):
    """it("can access environment variable property using $parent")"""
    monkeypatch.setenv("V0", "gv0")
    monkeypatch.setenv("V1", "gv1")
    flow = [
        {"id": "t1", "type": "tab", "env": [env("V0", "v0")]},
        {"id": "g1", "type": "group", "z": "t1", "env": [env("V0", "v1"), env("V1", "v2")]},
        {"id": "g2", "type": "group", "z": "t1", "g": "g1", "env": [env("V1", "v3")]},
        node("1", foo="${$parent.V0}"),
        node("2", g="g1", foo="${$parent.V0}"),
        node("3", g="g1", foo="${$parent.V1}"),
        node("4", g="g2", foo="${$parent.V1}"),
        node("5", foo="${$parent.V1}"),
    ]
    expected = {"1": "gv0", "2": "v0", "3": "gv1", "4": "v2", "5": "gv1"}
    async with FlowTestHarness(flow) as h:
        assert {i: h.node(i).node.config["foo"] for i in expected} == expected


@pytest.mark.parametrize(
    "case",
    [
        "can define environment variable using JSONata",
        "can access global environment variables defined as JSONata values",
    ],
)
async def test_env_can_define_environment_variable_using_jsonata(case):
    """it("can define environment variable using JSONata") and it("can access global environment
    variables defined as JSONata values") (the two cases are the same flow in Node-RED's spec)"""
    flow = [
        {"id": "t1", "type": "tab", "env": [env("V0", "1+2", "jsonata")]},
        {"id": "g1", "type": "group", "z": "t1", "env": [env("V1", "2+3", "jsonata")]},
        node("1", g="g1", foo="$(V0)"),
        node("2", g="g1", foo="$(V1)"),
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("1").node.config["foo"] == 3
        assert h.node("2").node.config["foo"] == 5


async def test_env_global_flow_can_access_global_config_defined_environment_variables():
    """it("global flow can access global-config defined environment variables"), without the
    credential half (GC_CRED comes from a sinon stub of Node-RED's credentials module)"""
    flow = [
        {"id": "gc", "type": "global-config", "env": [env("GC0", "3+4", "jsonata")]},
        TAB,
        node("1", foo="${GC0}"),
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("1").node.config["foo"] == 7
