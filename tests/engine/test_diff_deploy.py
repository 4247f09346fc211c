"""Partial deploys in the runtime (`Runtime.redeploy(configs, "nodes" | "flows")`): only what the
diff restarts is stopped and started; the other nodes keep running as the same objects.

Ports the partial-deploy cases of Node-RED's Flow_spec.js ("stops specified nodes", "rewires
nodes specified by diff") and flows/index_spec.js ("updates existing flows with partial
deployment - nodes / - flows") as behaviour, plus what lib/flows/index.js and Flow.js do with
the diff: config node users, subflow instances, tab env, global-config, removed nodes.
"""

from __future__ import annotations

import copy

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness

EVENTS: list[tuple[str, str, int, bool]] = []  # (setup | close, node id, instance number, removed)
_instances = iter(range(1, 1_000_000))


@register_type("test-diff-life")
class LifeNode(Node):
    """Records its setup and close; sends what it gets with its `tag` added."""

    def setup(self):
        self.instance = next(_instances)
        EVENTS.append(("setup", self.id, self.instance, False))

    def on_input(self, msg, send, done):
        msg.setdefault("path", []).append(f"{self.alias or self.id}:{self.config.get('tag', '')}")
        send(msg)
        done()

    def on_close(self, removed):
        EVENTS.append(("close", self.id, self.instance, removed))


@register_type("test-diff-config")
class LifeConfig(LifeNode):
    """A config node (no wires) with the same record."""


def life(node_id, z="t1", wires=(), **extra):
    return {"id": node_id, "type": "test-diff-life", "z": z, "x": 1, "y": 1, "wires": [list(wires)], **extra}


def tab(tab_id="t1", **extra):
    return {"id": tab_id, "type": "tab", "label": tab_id, **extra}


def helper(node_id, z="t1"):
    return {"id": node_id, "type": "helper", "z": z, "x": 1, "y": 1}


def chain():
    """t1: a -> b -> c -> out, and d alone; t2: e alone."""
    return [
        tab(),
        life("a", wires=["b"]),
        life("b", wires=["c"]),
        life("c", wires=["out"]),
        helper("out"),
        life("d"),
        tab("t2"),
        life("e", z="t2"),
    ]


def changed(flow, node_id, **props):
    new = copy.deepcopy(flow)
    for node in new:
        if node["id"] == node_id:
            node.update(props)
    return new


def restarted() -> set[str]:
    """Ids closed since the last EVENTS.clear() (each restarted or removed)."""
    return {node_id for kind, node_id, _n, _r in EVENTS if kind == "close"}


def started() -> set[str]:
    return {node_id for kind, node_id, _n, _r in EVENTS if kind == "setup"}


async def send_through(h, node_id="a", payload="x"):
    h.node(node_id).receive({"payload": payload})
    return (await h.node("out").next_input())["path"]


async def test_nodes_deploy_restarts_only_the_changed_node():
    async with FlowTestHarness(chain(), http=False) as h:
        kept = {i: h.node(i).node for i in "acde"}
        EVENTS.clear()
        await h.redeploy(changed(chain(), "b", tag="new"), "nodes")
        assert restarted() == started() == {"b"}
        assert all(h.node(i).node is node for i, node in kept.items())
        # a kept node sends to the restarted node's new object, which runs its new config
        assert await send_through(h) == ["a:", "b:new", "c:"]


async def test_flows_deploy_restarts_the_changed_node_and_those_wired_to_it():
    """lib/flows/index.js: a `flows` deploy stops changed + removed + linked + rewired."""
    async with FlowTestHarness(chain(), http=False) as h:
        kept = {i: h.node(i).node for i in "de"}
        EVENTS.clear()
        await h.redeploy(changed(chain(), "b", tag="new"), "flows")
        assert restarted() == {"a", "b", "c"}  # `out` is a helper: not recorded, restarted too
        assert all(h.node(i).node is node for i, node in kept.items())
        assert await send_through(h) == ["a:", "b:new", "c:"]


async def test_full_deploy_restarts_every_node():
    async with FlowTestHarness(chain(), http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(chain(), "b", tag="new"), "full")
        assert restarted() == started() == set("abcde")


async def test_an_unchanged_partial_deploy_restarts_nothing():
    async with FlowTestHarness(chain(), http=False) as h:
        EVENTS.clear()
        moved = changed(chain(), "a", x=300, y=200)  # positions do not count
        await h.redeploy(moved, "nodes")
        await h.redeploy(moved, "flows")
        assert EVENTS == []


async def test_stops_specified_nodes():
    """Flow_spec #stop it("stops specified nodes"): of 1 -> 2 -> 3 only 2 stops."""
    flow = [tab(), life("1", wires=["2"]), life("2", wires=["3"]), life("3")]
    async with FlowTestHarness(flow, http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(flow, "2", foo="b"), "nodes")
        assert restarted() == {"2"}
        assert [e[0] for e in EVENTS if e[1] == "2"] == ["close", "setup"]


async def test_rewires_nodes_specified_by_diff():
    """Flow_spec #start it("rewires nodes specified by diff"): a `nodes` deploy that only changes
    a node's wires keeps the node (no new instance) and its messages take the new wires."""
    async with FlowTestHarness([*chain(), helper("out2")], http=False) as h:
        a = h.node("a").node
        EVENTS.clear()
        rewired = changed([*chain(), helper("out2")], "a", wires=[["out2"]])
        await h.redeploy(rewired, "nodes")
        assert EVENTS == []
        assert h.node("a").node is a and a.wires == [["out2"]]
        h.node("a").receive({"payload": 1})
        assert (await h.node("out2").next_input())["path"] == ["a:"]
        await h.idle()
        assert h.node("out").received == []


async def test_a_flows_deploy_restarts_a_rewired_node():
    async with FlowTestHarness([*chain(), helper("out2")], http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed([*chain(), helper("out2")], "a", wires=[["out2"]]), "flows")
        assert {"a", "b"} <= restarted() and "d" not in restarted()


async def test_a_removed_node_is_closed_with_removed_true():
    async with FlowTestHarness(chain(), http=False) as h:
        EVENTS.clear()
        without_d = [n for n in chain() if n["id"] != "d"]
        await h.redeploy(without_d, "nodes")
        assert [(kind, i, removed) for kind, i, _n, removed in EVENTS] == [("close", "d", True)]
        assert h.runtime.get_node("d") is None


async def test_updates_existing_flows_with_partial_deployment_nodes_and_flows():
    """index_spec it("updates existing flows with partial deployment - nodes" / "- flows"): a
    node added to a running tab and a new tab start; the running tab's nodes keep running."""
    original = [{"id": "t1-1", "type": "test-diff-life", "x": 10, "y": 10, "z": "t1", "wires": []}, tab()]
    new = [
        *copy.deepcopy(original),
        {"id": "t1-2", "type": "test-diff-life", "x": 10, "y": 10, "z": "t1", "wires": []},
        tab("t2"),
        {"id": "t2-1", "type": "test-diff-life", "x": 10, "y": 10, "z": "t2", "wires": []},
    ]
    for deploy_type in ("nodes", "flows"):
        async with FlowTestHarness(original, http=False) as h:
            flow_t1, first = h.runtime.flows["t1"], h.node("t1-1").node
            EVENTS.clear()
            await h.redeploy(new, deploy_type)
            assert restarted() == set() and started() == {"t1-2", "t2-1"}
            assert h.runtime.flows["t1"] is flow_t1 and h.node("t1-1").node is first
            assert set(h.runtime.flows) == {"t1", "t2"}
            assert h.runtime.flows["t1"].nodes.keys() == {"t1-1", "t1-2"}


async def test_a_changed_config_node_restarts_its_users():
    flow = [
        tab(),
        {"id": "cfg", "type": "test-diff-config", "tag": "one"},
        life("user", cfg="cfg"),
        life("other"),
    ]
    async with FlowTestHarness(flow, http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(flow, "cfg", tag="two"), "nodes")
        assert restarted() == started() == {"cfg", "user"}
        # config nodes close after the flow nodes that use them, and start before them
        assert [e[1] for e in EVENTS] == ["user", "cfg", "cfg", "user"]


def subflow_flow(inner_tag=""):
    return [
        tab(),
        {
            "id": "sf",
            "type": "subflow",
            "name": "sf",
            "in": [{"wires": [{"id": "inner"}]}],
            "out": [{"wires": [{"id": "inner", "port": 0}]}],
        },
        life("inner", z="sf", tag=inner_tag),
        life("a", wires=["inst"]),
        {"id": "inst", "type": "subflow:sf", "z": "t1", "x": 1, "y": 1, "wires": [["out"]]},
        helper("out"),
        life("d"),
    ]


async def test_a_changed_subflow_definition_restarts_its_instances():
    async with FlowTestHarness(subflow_flow(), http=False) as h:
        a, d = h.node("a").node, h.node("d").node
        EVENTS.clear()
        await h.redeploy(subflow_flow("new"), "nodes")
        assert restarted() == started() == {"inst-inner"}  # the instance's copy of `inner`
        assert h.node("a").node is a and h.node("d").node is d
        assert await send_through(h) == ["a:", "inner:new"]


async def test_an_untouched_subflow_instance_keeps_running():
    async with FlowTestHarness(subflow_flow(), http=False) as h:
        inner = h.node("inst-inner").node
        EVENTS.clear()
        await h.redeploy(changed(subflow_flow(), "d", tag="new"), "nodes")
        assert restarted() == {"d"}
        assert h.node("inst-inner").node is inner
        assert await send_through(h) == ["a:", "inner:"]


async def test_rewiring_a_subflow_instance_restarts_it():
    """Its outside wires are copied into its inner nodes, so flowrt restarts the instance where
    Node-RED rewires the instance node in place."""
    async with FlowTestHarness([*subflow_flow(), helper("out2")], http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed([*subflow_flow(), helper("out2")], "inst", wires=[["out2"]]), "nodes")
        assert restarted() == {"inst-inner"}
        h.node("a").receive({"payload": 1})
        assert (await h.node("out2").next_input())["path"] == ["a:", "inner:"]


async def test_a_changed_tab_env_restarts_its_whole_flow():
    async with FlowTestHarness(chain(), http=False) as h:
        e = h.node("e").node
        EVENTS.clear()
        new = changed(chain(), "t1", env=[{"name": "A", "value": "1", "type": "str"}])
        await h.redeploy(new, "nodes")
        assert restarted() == started() == set("abcd")
        assert h.node("e").node is e
        assert h.runtime.flows["t1"].env == {"A": "1"}


async def test_a_tab_label_change_restarts_nothing_and_renames_the_flow():
    async with FlowTestHarness(chain(), http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(chain(), "t1", label="renamed"), "nodes")
        assert EVENTS == []
        assert h.node("a").node.flow.get_setting("NR_FLOW_NAME") == "renamed"


async def test_disabling_and_enabling_a_tab():
    async with FlowTestHarness(chain(), http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(chain(), "t2", disabled=True), "nodes")
        assert [(kind, i, removed) for kind, i, _n, removed in EVENTS] == [("close", "e", True)]
        assert "t2" not in h.runtime.flows
        EVENTS.clear()
        await h.redeploy(chain(), "nodes")
        assert started() == {"e"} and restarted() == set()


async def test_a_changed_global_config_makes_any_deploy_full():
    flow = [*chain(), {"id": "gc", "type": "global-config", "env": []}]
    async with FlowTestHarness(flow, http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(flow, "gc", env=[{"name": "A", "value": "1", "type": "str"}]), "nodes")
        assert restarted() == set("abcde")


async def test_a_kept_catch_node_catches_errors_of_a_restarted_node():
    flow = [
        tab(),
        {"id": "f", "type": "function", "z": "t1", "x": 1, "y": 1, "func": "return msg;", "wires": [[]]},
        {"id": "catch", "type": "catch", "z": "t1", "x": 1, "y": 1, "wires": [["out"]]},
        helper("out"),
    ]
    async with FlowTestHarness(flow, http=False) as h:
        catch = h.node("catch").node
        await h.redeploy(changed(flow, "f", func="throw new Error('boom');"), "nodes")
        assert h.node("catch").node is catch
        h.node("f").receive({"payload": 1})
        assert (await h.node("out").next_input())["error"]["message"].endswith("boom")


async def test_a_delay_nodes_queue_survives_a_nodes_deploy_of_another_node():
    flow = [
        tab(),
        {
            "id": "delay",
            "type": "delay",
            "z": "t1",
            "x": 1,
            "y": 1,
            "pauseType": "delay",
            "timeout": "5",
            "timeoutUnits": "seconds",
            "wires": [["out"]],
        },
        helper("out"),
        life("d"),
    ]
    async with FlowTestHarness(flow, http=False, clock="virtual") as h:
        h.node("delay").receive({"payload": "held"})
        await h.idle()
        await h.redeploy(changed(flow, "d", tag="new"), "nodes")
        await h.clock.advance(5)
        assert (await h.node("out").next_input())["payload"] == "held"
        # the same deploy as a full one drops what the delay held (its close clears the queue)
        h.node("delay").receive({"payload": "dropped"})
        await h.idle()
        await h.redeploy(changed(flow, "d", tag="newer"), "full")
        await h.clock.advance(5)
        await h.idle()
        assert [m["payload"] for m in h.node("out").received] == ["held"]


async def test_env_substitution_leaves_the_deployed_configuration_as_it_was(monkeypatch):
    """A nested ${VAR} is substituted in the node's own copy: the running configuration (what the
    next deploy is compared with, what the editor shows and writes back) keeps "${VAR}"."""
    monkeypatch.setenv("FLOWRT_DIFF_TEST_VALUE", "secret")
    flow = [tab(), life("a", headers={"x": "${FLOWRT_DIFF_TEST_VALUE}"}, names=["$(FLOWRT_DIFF_TEST_VALUE)"])]
    async with FlowTestHarness(flow, http=False) as h:
        assert h.node("a").node.config["headers"] == {"x": "secret"}
        assert h.node("a").node.config["names"] == ["secret"]
        running = next(c for c in h.runtime.configs if c.get("id") == "a")
        assert running["headers"] == {"x": "${FLOWRT_DIFF_TEST_VALUE}"}
        EVENTS.clear()
        await h.redeploy(flow, "nodes")
        assert EVENTS == []


async def test_stops_subflow_instance_nodes():
    """Subflow_spec it("stops subflow instance nodes"): stopping instance 2 (here: a `nodes` deploy
    that changes it) stops the node inside it and neither 1 nor 3."""
    async with FlowTestHarness(subflow_flow(), http=False) as h:
        EVENTS.clear()
        await h.redeploy(changed(subflow_flow(), "inst", name="renamed"), "nodes")
        assert restarted() == {"inst-inner"}
        assert h.runtime.get_node("inst").name == "renamed"
