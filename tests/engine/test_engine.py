"""Engine semantics (flowrt/engine/flow.py, runtime.py, node.py) exercised with the common nodes and
small Python test nodes: message passing, errors, completion, status, lifecycle, subflows, env."""

from __future__ import annotations

import sys

import pytest

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness

# Behaviour of "t-py" nodes, by node id: fn(node, msg, send, done).
BEHAVIOUR: dict = {}
CLOSED: list[tuple[str, bool]] = []


@register_type("t-py")
class PyNode(Node):
    def on_input(self, msg, send, done):
        BEHAVIOUR[self.config.get("fn", self.id)](self, msg, send, done)

    def on_close(self, removed):
        CLOSED.append((self.id, removed))


@register_type("t-nodone")
class NoDoneNode(Node):
    """A handler without `done`: never triggers complete nodes."""

    def on_input(self, msg, send):
        send(msg)


@register_type("t-loop")
class LoopNode(Node):
    """Counts hops: re-sends to itself (output 1) until `limit`, then out on output 2."""

    def setup(self):
        self.limit = int(self.config["limit"])
        self.depths = []

    def on_input(self, msg, send, done):
        msg["count"] = msg.get("count", 0) + 1
        if msg["count"] in (10, self.limit):
            depth, frame = 0, sys._getframe()
            while frame is not None:
                depth, frame = depth + 1, frame.f_back
            self.depths.append(depth)
        if msg["count"] >= self.limit:
            send([None, msg])
        else:
            send([msg, None])
        done()


def py(node_id, behaviour, wires=None, **extra):
    BEHAVIOUR[node_id] = behaviour
    node = {"id": node_id, "type": "t-py", "wires": wires if wires is not None else []}
    node.update(extra)
    return node


def helper(node_id, **extra):
    return {"id": node_id, "type": "helper", **extra}


def fail(text="boom"):
    def fn(node, msg, send, done):
        done(text)

    return fn


def passthrough(node, msg, send, done):
    send(msg)
    done()


# ----- sending ------------------------------------------------------------------------


async def test_fan_out_first_gets_original_others_clones():
    req, res = object(), {"_res": object()}
    flow = [py("a", passthrough, [["b", "c", "d"]]), helper("b"), helper("c"), helper("d")]
    async with FlowTestHarness(flow) as h:
        original = {"payload": {"deep": [1]}, "req": req, "res": res, "_msgid": "m1"}
        h.node("a").receive(original)
        b, c, d = (
            await h.node("b").next_input(),
            await h.node("c").next_input(),
            await h.node("d").next_input(),
        )
        assert b is original
        for clone in (c, d):
            assert clone is not original and clone == original
            assert clone["payload"]["deep"] is not original["payload"]["deep"]
            assert clone["req"] is req and clone["res"] is res
            assert clone["_msgid"] == "m1"


async def test_send_array_per_output_arrays_of_arrays_and_none(marker):
    def fn(node, msg, send, done):
        send([{"payload": 1}, None, [{"payload": 2}, None, {"payload": 3}]])
        done()

    flow = [
        py("a", fn, [["o1"], ["o2"], ["o3"]]),
        helper("o1"),
        helper("o2"),
        helper("o3"),
        marker.node("o2"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        assert (await h.node("o1").next_input())["payload"] == 1
        got = await h.node("o3").inputs(2)
        assert [m["payload"] for m in got] == [2, 3]
        assert await marker.received(h, "o2") == []
        # messages sent together without ids share one new _msgid
        assert h.node("o1").received[0]["_msgid"] == got[0]["_msgid"] == got[1]["_msgid"]


async def test_send_non_message_is_an_error():
    def fn(node, msg, send, done):
        send("not a message")
        done()

    flow = [py("a", fn, [["o"]]), helper("o")]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        err, _ = await h.node("a").next_error()
        assert "string" in str(err)


async def test_order_preserved_per_wire():
    def fn(node, msg, send, done):
        for i in range(200):
            send({"payload": i})
        done()

    flow = [py("a", fn, [["j"]]), {"id": "j", "type": "junction", "wires": [["o"]]}, helper("o")]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        got = await h.node("o").inputs(200)
        assert [m["payload"] for m in got] == list(range(200))


async def test_100000_hop_loop_does_not_grow_the_stack():
    flow = [{"id": "l", "type": "t-loop", "limit": 100_000, "wires": [["l"], ["o"]]}, helper("o")]
    async with FlowTestHarness(flow) as h:
        h.node("l").receive({"payload": "x"})
        msg = await h.node("o").next_input(timeout=120)
        assert msg["count"] == 100_000
        shallow, deep = h.node("l").node.depths
        assert deep == shallow


# ----- errors and catch nodes ---------------------------------------------------------------


async def test_error_shape_and_previous_error_moved():
    flow = [
        py("f", fail("bad thing"), name="F"),
        {"id": "c", "type": "catch", "wires": [["o"]]},
        helper("o"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({"payload": 1, "error": {"message": "earlier"}})
        msg = await h.node("o").next_input()
        assert msg["error"]["message"] == "bad thing"
        assert msg["error"]["source"] == {"id": "f", "type": "t-py", "name": "F", "count": 1}
        assert msg["_error"] == {"message": "earlier"}


async def test_exception_error_has_stack():
    def fn(node, msg, send, done):
        raise ValueError("exploded")

    flow = [py("f", fn), {"id": "c", "type": "catch", "wires": [["o"]]}, helper("o")]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({})
        msg = await h.node("o").next_input()
        assert msg["error"]["message"] == "exploded"
        assert "ValueError" in msg["error"]["stack"]


async def test_catch_scopes_all_scoped_uncaught(marker):
    flow = [
        py("f1", fail("e1")),
        py("f2", fail("e2")),
        {"id": "all", "type": "catch", "wires": [["o_all"]]},
        {"id": "only1", "type": "catch", "scope": ["f1"], "wires": [["o_1"]]},
        {"id": "unc", "type": "catch", "uncaught": True, "wires": [["o_unc"]]},
        helper("o_all"),
        helper("o_1"),
        helper("o_unc"),
        marker.node("unc"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f1").receive({})
        h.node("f2").receive({})
        got = await h.node("o_all").inputs(2)
        assert [m["error"]["message"] for m in got] == ["e1", "e2"]
        assert [m["error"]["message"] for m in await h.node("o_1").inputs(1)] == ["e1"]
        assert await marker.received(h, "o_unc") == []  # every error was handled by another catch


async def test_uncaught_catch_gets_errors_nobody_else_handles():
    flow = [
        py("f", fail("e")),
        {"id": "unc", "type": "catch", "uncaught": True, "wires": [["o"]]},
        helper("o"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({})
        assert (await h.node("o").next_input())["error"]["message"] == "e"


async def test_catch_group_rules(marker):
    flow = [
        {"id": "t", "type": "tab"},
        {"id": "g1", "type": "group", "z": "t"},
        {"id": "g2", "type": "group", "z": "t", "g": "g1"},
        py("inner", fail("inner"), z="t", g="g2"),
        py("outside", fail("outside"), z="t"),
        {"id": "cg", "type": "catch", "scope": "group", "z": "t", "g": "g1", "wires": [["o_group"]]},
        {"id": "ct", "type": "catch", "uncaught": True, "z": "t", "wires": [["o_tab"]]},
        helper("o_group", z="t"),
        helper("o_tab", z="t"),
        marker.node("cg", "ct", z="t"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("inner").receive({})
        h.node("outside").receive({})
        assert [m["error"]["message"] for m in await marker.received(h, "o_group")] == ["inner"]
        assert [m["error"]["message"] for m in await marker.received(h, "o_tab")] == ["outside"]


async def test_error_without_catch_is_logged():
    async with FlowTestHarness([py("f", fail("lonely"))]) as h:
        h.node("f").receive({})
        record = await h.node("f").next_log("error")
        assert record.text == "lonely"


async def test_error_loop_guard():
    def fn(node, msg, send, done):
        done("again")

    flow = [py("f", fn), {"id": "c", "type": "catch", "scope": ["f"], "wires": [["f", "o"]]}, helper("o")]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({})
        record = await h.node("f").next_log("warn")
        assert "maximum number of catches" in record.text
        counts = [m["error"]["source"]["count"] for m in h.node("o").received]
        assert counts == list(range(1, 10))


# ----- completion and status ---------------------------------------------------------------


async def test_done_reaches_complete_nodes(marker):
    flow = [
        py("a", passthrough),
        {"id": "nd", "type": "t-nodone", "wires": []},
        {"id": "cp", "type": "complete", "scope": ["a", "nd"], "wires": [["o"]]},
        helper("o"),
        marker.node("cp"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({"payload": 1})
        h.node("nd").receive({"payload": 2})
        [msg] = await marker.received(h, "o")  # the node without done() never completes
        assert msg["payload"] == 1 and msg["complete"]["source"]["id"] == "a"


async def test_done_with_error_does_not_complete(marker):
    flow = [
        py("f", fail("x")),
        {"id": "cp", "type": "complete", "scope": ["f"], "wires": [["o"]]},
        helper("o"),
        marker.node("cp"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f").receive({})
        await h.node("f").next_error()
        assert await marker.received(h, "o") == []


async def test_status_reaches_status_nodes_by_scope_and_group(marker):
    def set_status(node, msg, send, done):
        node.status({"text": msg["payload"]})
        done()

    flow = [
        {"id": "t", "type": "tab"},
        {"id": "g1", "type": "group", "z": "t"},
        py("in_g", set_status, z="t", g="g1"),
        py("out_g", set_status, z="t"),
        {"id": "sg", "type": "status", "scope": "group", "z": "t", "g": "g1", "wires": [["o_g"]]},
        {"id": "sa", "type": "status", "scope": None, "z": "t", "wires": [["o_all"]]},
        helper("o_g", z="t"),
        helper("o_all", z="t"),
        marker.node("sg", z="t"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("in_g").receive({"payload": 1})
        h.node("out_g").receive({"payload": 2})
        got = await h.node("o_all").inputs(2)
        assert [m["status"]["text"] for m in got] == ["1", "2"]
        assert [m["status"]["source"]["id"] for m in got] == ["in_g", "out_g"]
        assert [m["status"]["text"] for m in await marker.received(h, "o_g")] == ["1"]


# ----- lifecycle ---------------------------------------------------------------------------


async def test_close_on_stop_and_on_redeploy_with_removed_flag():
    CLOSED.clear()
    flow = [py("keep", passthrough), py("gone", passthrough)]
    h = FlowTestHarness(flow)
    await h.start()
    try:
        await h.redeploy([py("keep", passthrough)])
        assert sorted(CLOSED) == [("gone", True), ("keep", False)]
        CLOSED.clear()
    finally:
        await h.stop()
    assert CLOSED == [("keep", False)]


async def test_setup_failure_leaves_node_out():
    from flowrt import NodeConfigError

    @register_type("t-badsetup")
    class Bad(Node):
        def setup(self):
            raise NodeConfigError("no good")

    async with FlowTestHarness([{"id": "b", "type": "t-badsetup", "wires": []}]) as h:
        assert h.runtime.get_node("b") is None
        assert any("no good" in r.text for r in h.logs)


async def test_disabled_nodes_and_tabs():
    flow = [
        {"id": "t1", "type": "tab"},
        {"id": "t2", "type": "tab", "disabled": True},
        py("a", passthrough, [["dis", "o"]], z="t1"),
        {"id": "dis", "type": "helper", "z": "t1", "d": True},
        helper("o", z="t1"),
        py("on_disabled_tab", passthrough, z="t2"),
    ]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.get_node("dis") is None
        assert h.runtime.get_node("on_disabled_tab") is None
        h.node("a").receive({"payload": 1})
        assert (await h.node("o").next_input())["payload"] == 1
        assert not any("does not exist" in r.text for r in h.logs)  # no warning for a disabled target


async def test_dangling_wire_warned_once():
    flow = [py("a", passthrough, [["ghost", "o"]]), helper("o")]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        h.node("a").receive({})
        await h.node("o").inputs(2)
        warnings = [r for r in h.logs if r.level == "warn" and "ghost" in r.text]
        assert len(warnings) == 1


# ----- env: tabs, groups, subflows ----------------------------------------------------------


def env_inject(node_id, var, wires, **extra):
    """An inject whose payload is env var `var` (triggered by its input)."""
    node = {
        "id": node_id,
        "type": "inject",
        "props": [{"p": "payload", "v": var, "vt": "env"}],
        "wires": wires,
    }
    node.update(extra)
    return node


async def test_tab_env_and_nr_flow_vars():
    flow = [
        {"id": "t", "type": "tab", "label": "My Tab", "env": [{"name": "A", "type": "num", "value": "3"}]},
        env_inject("i1", "A", [["o"]], z="t"),
        env_inject("i2", "NR_FLOW_NAME", [["o"]], z="t"),
        env_inject("i3", "NR_FLOW_ID", [["o"]], z="t"),
        helper("o", z="t"),
    ]
    async with FlowTestHarness(flow) as h:
        for node_id in ("i1", "i2", "i3"):
            h.node(node_id).receive({})
        assert [m["payload"] for m in await h.node("o").inputs(3)] == [3, "My Tab", "t"]


async def test_group_env_and_nr_group_vars():
    flow = [
        {"id": "t", "type": "tab", "env": [{"name": "A", "type": "str", "value": "tab"}]},
        {
            "id": "g",
            "type": "group",
            "z": "t",
            "name": "G",
            "env": [{"name": "A", "type": "json", "value": '{"x":1}'}],
        },
        env_inject("i1", "A", [["o"]], z="t", g="g"),
        env_inject("i2", "NR_GROUP_NAME", [["o"]], z="t", g="g"),
        env_inject("i3", "NR_GROUP_ID", [["o"]], z="t", g="g"),
        env_inject("i4", "A", [["o"]], z="t"),
        helper("o", z="t"),
    ]
    async with FlowTestHarness(flow) as h:
        for node_id in ("i1", "i2", "i3", "i4"):
            h.node(node_id).receive({})
        assert [m["payload"] for m in await h.node("o").inputs(4)] == [{"x": 1}, "G", "g", "tab"]


SUBFLOW = {
    "id": "sf",
    "type": "subflow",
    "name": "SF",
    "in": [{"wires": [{"id": "inner"}]}],
    "out": [{"wires": [{"id": "inner", "port": 0}]}],
    "env": [
        {"name": "NUM", "type": "num", "value": "5"},
        {"name": "FLAG", "type": "bool", "value": "true"},
        {"name": "OBJ", "type": "json", "value": '{"a":[1]}'},
    ],
}


def subflow_with(var):
    return [
        dict(SUBFLOW),
        env_inject("inner", var, [[]], z="sf"),
        {"id": "t", "type": "tab", "label": "T"},
        {
            "id": "inst",
            "type": "subflow:sf",
            "z": "t",
            "name": "Instance",
            "env": [{"name": "NUM", "type": "num", "value": "7"}],
            "wires": [["o"]],
        },
        helper("o", z="t"),
    ]


@pytest.mark.parametrize(
    "var,expected",
    [
        ("NUM", 7),  # the instance overrides the definition
        ("FLAG", True),
        ("OBJ", {"a": [1]}),
        ("NR_SUBFLOW_NAME", "Instance"),
        ("NR_SUBFLOW_ID", "inst"),
        ("NR_SUBFLOW_PATH", "t/inst"),
        ("NR_NODE_ID", "inst-inner"),
        ("NR_NODE_PATH", "t/inst/inner"),
        ("NR_FLOW_NAME", "T"),
    ],
)
async def test_subflow_env_and_builtin_vars(var, expected):
    async with FlowTestHarness(subflow_with(var)) as h:
        h.node("inst").receive({"payload": None, "keep": 1})
        msg = await h.node("o").next_input()
        assert msg["payload"] == expected
        assert msg["keep"] == 1  # the message went in through the input port and out of the output


async def test_subflow_status_port_and_passthrough_wire():
    definition = {
        "id": "sf",
        "type": "subflow",
        "name": "SF",
        "in": [{"wires": [{"id": "sf"}, {"id": "inner"}]}],  # straight through, and to a node
        "out": [{"wires": [{"id": "sf", "port": 0}]}],
        "status": {"wires": [{"id": "inner", "port": 0}]},
    }
    flow = [
        definition,
        {"id": "inner", "type": "junction", "z": "sf", "wires": [[]]},
        {"id": "t", "type": "tab"},
        {"id": "inst", "type": "subflow:sf", "z": "t", "wires": [["o"]]},
        helper("o", z="t"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("inst").receive({"payload": "working"})
        assert (await h.node("o").next_input())["payload"] == "working"
        assert await h.node("inst").next_status() == {"text": "working"}


async def test_nested_subflow_env_and_errors():
    inner_def = {
        "id": "sfa",
        "type": "subflow",
        "name": "A",
        "in": [{"wires": [{"id": "ia"}]}],
        "out": [{"wires": [{"id": "ia", "port": 0}]}],
    }
    outer_def = {
        "id": "sfb",
        "type": "subflow",
        "name": "B",
        "in": [{"wires": [{"id": "ib"}]}],
        "out": [{"wires": [{"id": "ib", "port": 0}]}],
        "env": [{"name": "DEPTH", "type": "str", "value": "outer"}],
    }
    flow = [
        inner_def,
        outer_def,
        env_inject("ia", "DEPTH", [[]], z="sfa"),
        {"id": "ib", "type": "subflow:sfa", "z": "sfb", "wires": [[]]},
        {"id": "t", "type": "tab"},
        {"id": "inst", "type": "subflow:sfb", "z": "t", "wires": [["o"]]},
        helper("o", z="t"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("inst").receive({})
        assert (await h.node("o").next_input())["payload"] == "outer"


async def test_error_in_subflow_reaches_catch_outside():
    definition = {
        "id": "sf",
        "type": "subflow",
        "name": "SF",
        "in": [{"wires": [{"id": "f"}]}],
        "out": [],
    }
    flow = [
        definition,
        py("f", fail("inside"), z="sf", fn="subflow-failure"),
        {"id": "t", "type": "tab"},
        {"id": "inst", "type": "subflow:sf", "z": "t", "wires": []},
        {"id": "c", "type": "catch", "z": "t", "scope": ["inst"], "wires": [["o"]]},
        helper("o", z="t"),
    ]
    BEHAVIOUR["subflow-failure"] = fail("inside")
    async with FlowTestHarness(flow) as h:
        h.node("inst").receive({})
        msg = await h.node("o").next_input()
        assert msg["error"]["message"] == "inside"
        assert msg["error"]["source"]["id"] == "inst-f"


async def test_subflow_status_without_status_port_reaches_parent_status_node():
    def set_status(node, msg, send, done):
        node.status({"text": "inner"})
        done()

    definition = {"id": "sf", "type": "subflow", "name": "SF", "in": [{"wires": [{"id": "s"}]}], "out": []}
    flow = [
        definition,
        py("s", set_status, z="sf", fn="subflow-status"),
        {"id": "t", "type": "tab"},
        {"id": "inst", "type": "subflow:sf", "z": "t", "wires": []},
        {"id": "st", "type": "status", "z": "t", "scope": ["inst"], "wires": [["o"]]},
        helper("o", z="t"),
    ]
    BEHAVIOUR["subflow-status"] = set_status
    async with FlowTestHarness(flow) as h:
        h.node("inst").receive({})
        msg = await h.node("o").next_input()
        assert msg["status"]["text"] == "inner"
        assert msg["status"]["source"]["id"] == "inst-s"


async def test_catch_inside_subflow_handles_before_outside(marker):
    definition = {
        "id": "sf",
        "type": "subflow",
        "name": "SF",
        "in": [{"wires": [{"id": "f"}]}],
        "out": [{"wires": [{"id": "c", "port": 0}]}],
    }
    flow = [
        definition,
        py("f", fail("inner"), z="sf", fn="subflow-failure-2"),
        {"id": "c", "type": "catch", "z": "sf", "scope": ["f"], "wires": [[]]},
        {"id": "t", "type": "tab"},
        {"id": "inst", "type": "subflow:sf", "z": "t", "wires": [["o"]]},
        {"id": "outer", "type": "catch", "z": "t", "wires": [["o2"]]},
        helper("o", z="t"),
        helper("o2", z="t"),
        marker.node("outer", z="t"),
    ]
    BEHAVIOUR["subflow-failure-2"] = fail("inner")
    async with FlowTestHarness(flow) as h:
        h.node("inst").receive({"payload": 1})
        msg = await h.node("o").next_input()
        assert msg["error"]["message"] == "inner"
        assert await marker.received(h, "o2") == []
