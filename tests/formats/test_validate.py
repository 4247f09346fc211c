"""Deployment validation (flowrt.formats.validate) and the flat document schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowrt.formats.document import Deployment, load_deployment
from flowrt.formats.validate import flow_schema, validate_deployment, validate_nodes_against_schema

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEED_TAB = Path(__file__).resolve().parents[2] / "flows" / "mcp-server-tab.json"
REFERENCE_FLOWS = sorted((SHARED / "node-red-reference" / "flows").glob("*.json"))


class FakeNode:
    schema = None


class Function(FakeNode):
    schema = {
        "type": "object",
        "required": ["func"],
        "properties": {
            "func": {"type": "string", "x-fatal": True},
            "outputs": {"type": "integer", "minimum": 0},
            "libs": {"type": "array", "items": {"type": "object", "required": ["var", "module"]}},
        },
    }


class HttpIn(FakeNode):
    schema = {
        "type": "object",
        "properties": {
            "method": {"enum": ["get", "post", "put", "delete", "patch"]},
            "url": {"type": "string"},
        },
    }


class BrokenSchema(FakeNode):
    schema = {"type": "no-such-type"}


class FakeRegistry:
    def __init__(self, types: dict[str, type]):
        self.types = types
        self.asked: list[str] = []

    def get_type(self, type_name: str):
        self.asked.append(type_name)
        return self.types.get(type_name)


REGISTRY = FakeRegistry(
    {
        "function": Function,
        "http in": HttpIn,
        "http response": FakeNode,
        "change": FakeNode,
        "catch": FakeNode,
        "debug": FakeNode,
        "inject": FakeNode,
        "junction": FakeNode,
        "mqtt-broker": FakeNode,
        "broken": BrokenSchema,
    }
)


def dep(nodes: list[dict], file: str = "f.json") -> Deployment:
    return Deployment(
        nodes=nodes,
        sources={n["id"]: file for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)},
    )


def check(nodes, **kwargs):
    return validate_deployment(dep(nodes), REGISTRY, **kwargs)


def errors(problems):
    return [p for p in problems if p.severity == "error"]


def warnings(problems):
    return [p for p in problems if p.severity == "warning"]


TAB = {"id": "t", "type": "tab", "label": "T"}


def test_clean_flow_has_no_problems():
    nodes = [
        TAB,
        {"id": "a", "type": "inject", "z": "t", "wires": [["b"]]},
        {"id": "b", "type": "function", "z": "t", "func": "return msg;", "outputs": 1, "wires": [["c"]]},
        {"id": "c", "type": "debug", "z": "t", "wires": []},
        {"id": "cfg", "type": "mqtt-broker"},
    ]
    assert check(nodes) == []


def test_seed_tab_dangling_wire_is_a_warning():
    problems = validate_deployment(load_deployment([SEED_TAB]), REGISTRY)
    assert errors(problems) == []
    dangling = warnings(problems)
    assert len(dangling) == 1  # one warning per missing target, naming every source
    assert dangling[0].file == str(SEED_TAB)
    assert str(dangling[0]) == (
        f"{SEED_TAB}: node 'c882531a6a2da6a2' (http in): warning: "
        "wired to '2a76a8cf4603effc', which does not exist "
        "(from 'c882531a6a2da6a2' output 1, '2f4cbc634ee2512c' output 1): messages sent there are dropped"
    )


@pytest.mark.parametrize("path", REFERENCE_FLOWS or [None], ids=lambda p: p.name if p else "none")
def test_reference_flows_are_valid(path):
    if path is None:
        pytest.skip(f"node-red-reference flows not found under {SHARED}")
    deployment = load_deployment([path])
    assert errors(validate_deployment(deployment, REGISTRY)) == []
    assert validate_nodes_against_schema(deployment.nodes) == []


def test_duplicate_ids_across_files_name_both(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.yaml"
    a.write_text(json.dumps([TAB, {"id": "x", "type": "debug", "z": "t", "wires": []}]))
    b.write_text("flows:\n  - id: t2\n    nodes:\n      - id: x\n        type: debug\n")
    problems = validate_deployment(load_deployment([a, b]), REGISTRY)
    (dup,) = errors(problems)
    assert dup.node_id == "x"
    assert dup.message == f"duplicate id 'x': defined in both {a} and {b}"
    assert dup.file == str(b) and dup.line == 4


def test_duplicate_ids_in_one_file():
    problems = check([TAB, {"id": "t", "type": "tab"}])
    (dup,) = problems
    assert dup.message == "duplicate id 't': defined twice in f.json"


def test_missing_id_and_type():
    problems = check([TAB, {"type": "debug", "z": "t"}, {"id": "n", "z": "t"}, {"id": 5, "type": 7}, "junk"])
    messages = [p.message for p in problems]
    assert messages == [
        "node 2 (type 'debug') has no id",
        "node has no type",
        "node 4 has a non-string id 5",
        "node has a non-string type 7",
        "item 5 is not a node object",
    ]
    assert problems[1].node_id == "n"


@pytest.mark.parametrize(
    "wires, message",
    [
        ("b", "wires must be a list of lists of node ids (one list per output)"),
        (["b"], "wires must be a list of lists of node ids (one list per output)"),
        ([["b"], "c"], "wires must be a list of lists of node ids (one list per output)"),
        ([["b", 3]], "wires[0] contains 3, which is not a node id string"),
        (None, "wires must be a list of lists of node ids (one list per output)"),
    ],
)
def test_wrong_wire_shapes(wires, message):
    nodes = [
        TAB,
        {"id": "a", "type": "debug", "z": "t", "wires": wires},
        {"id": "b", "type": "debug", "z": "t"},
    ]
    (problem,) = check(nodes)
    assert (problem.node_id, problem.node_type, problem.message) == ("a", "debug", message)
    assert str(problem) == f"f.json: node 'a' (debug): {message}"


def test_dangling_wires_name_source_output_and_target():
    nodes = [
        TAB,
        {"id": "a", "type": "junction", "z": "t", "wires": [["ghost"], [], ["b", "ghost2"]]},
        {"id": "b", "type": "debug", "z": "t", "wires": []},
    ]
    problems = check(nodes)
    assert [(p.severity, p.node_id, p.message) for p in problems] == [
        (
            "warning",
            "a",
            "wired to 'ghost', which does not exist (from 'a' output 1): messages sent there are dropped",
        ),
        (
            "warning",
            "a",
            "wired to 'ghost2', which does not exist (from 'a' output 3): messages sent there are dropped",
        ),
    ]


def test_wire_to_a_node_defined_later_is_fine():
    nodes = [
        TAB,
        {"id": "a", "type": "debug", "z": "t", "wires": [["b"]]},
        {"id": "b", "type": "debug", "z": "t"},
    ]
    assert check(nodes) == []


def test_z_naming_no_node_makes_a_tab_as_node_red_does():
    nodes = [
        TAB,
        {"id": "grp", "type": "group", "z": "t", "nodes": []},
        {"id": "a", "type": "debug", "z": "missing", "wires": []},
        {"id": "a2", "type": "debug", "z": "missing", "wires": []},
        {"id": "b", "type": "debug", "z": "grp", "wires": []},
        {"id": "c", "type": "debug", "z": 3, "wires": []},
        {"id": "d", "type": "mqtt-broker", "z": ""},
        {"id": "e", "type": "mqtt-broker", "z": 0},
    ]
    deployment = dep(nodes)
    assert [n["id"] for n in deployment.nodes][:4] == ["t", "grp", "missing", "a"]
    assert deployment.nodes[2] == {"id": "missing", "type": "tab"}
    problems = {p.node_id: (p.severity, p.message) for p in validate_deployment(deployment, REGISTRY)}
    assert problems == {
        "missing": (
            "note",
            "the flow has no tab 'missing': created it for the 2 node(s) on it ('a', 'a2'), "
            "as Node-RED does for an export of selected nodes or a copied flow",
        ),
        "b": ("error", "z names 'grp', which is a 'group', not a tab or subflow"),
        "c": ("error", "z must be a string (the id of a tab or subflow), not 3"),
        "e": ("warning", "z is 0, which Node-RED reads as no z"),
    }


def test_flow_node_without_z_is_not_started_as_in_node_red():
    nodes = [{"id": "a", "type": "debug", "x": 10, "y": 20, "wires": []}, {"id": "b", "type": "mqtt-broker"}]
    (problem,) = check(nodes)
    assert (problem.severity, problem.node_id) == ("warning", "a")
    assert "no z" in problem.message and "Node-RED does not start it" in problem.message


def test_tab_or_subflow_with_z_is_a_warning_not_an_unknown_type():
    nodes = [TAB, {"id": "t2", "type": "tab", "z": "t"}, {"id": "s", "type": "subflow", "z": "t"}]
    problems = [(p.severity, p.node_id, p.message) for p in check(nodes)]
    assert problems == [
        (
            "warning",
            "t2",
            "a tab has z 't': tabs and subflows are always top-level, Node-RED ignores their z "
            "and so does flowrt (remove it)",
        ),
        (
            "warning",
            "s",
            "a subflow has z 't': tabs and subflows are always top-level, Node-RED ignores their z "
            "and so does flowrt (remove it)",
        ),
    ]


def test_g_naming_no_group_is_ignored_with_a_warning():
    nodes = [
        TAB,
        {"id": "t2", "type": "tab"},
        {"id": "grp", "type": "group", "z": "t", "nodes": ["ok"]},
        {"id": "ok", "type": "debug", "z": "t", "g": "grp", "wires": []},
        {"id": "a", "type": "debug", "z": "t", "g": "nope", "wires": []},
        {"id": "b", "type": "debug", "z": "t", "g": "ok", "wires": []},
        {"id": "c", "type": "debug", "z": "t2", "g": "grp", "wires": []},
        {"id": "d", "type": "debug", "z": "t", "g": ["grp"], "wires": []},
    ]
    problems = {p.node_id: (p.severity, p.message) for p in check(nodes)}
    ignored = "ignored, group env and group-scoped catch and status nodes do not apply to it"
    assert problems == {
        "a": ("warning", f"g names 'nope', but there is no group with that id: {ignored}"),
        "b": ("warning", f"g names 'ok', which is a 'debug', not a group: {ignored}"),
        "c": ("warning", "is in group 'grp', which belongs to another tab or subflow"),
        "d": ("error", "g must be a string (the id of a group), not ['grp']"),
    }


def test_subflow_instances():
    nodes = [
        TAB,
        {
            "id": "sf",
            "type": "subflow",
            "name": "S",
            "in": [{"wires": [{"id": "inner"}]}],
            "out": [{"wires": [{"id": "gone", "port": 0}]}],
        },
        {"id": "inner", "type": "debug", "z": "sf", "wires": []},
        {"id": "ok", "type": "subflow:sf", "z": "t", "wires": [[]]},
        {"id": "bad", "type": "subflow:nope", "z": "t", "wires": [[]]},
        {"id": "worse", "type": "subflow:t", "z": "t", "wires": [[]]},
    ]
    problems = check(nodes)
    assert [(p.severity, p.node_id, p.message) for p in problems] == [
        ("warning", "sf", "subflow out port 1 is wired to 'gone', which does not exist"),
        ("error", "bad", "is an instance of subflow 'nope', which is not defined"),
        ("error", "worse", "is an instance of subflow 't', but that id is a 'tab'"),
    ]
    assert "subflow:sf" not in REGISTRY.asked


def test_unknown_types_one_problem_per_type():
    nodes = [
        TAB,
        {"id": "a", "type": "mystery", "z": "t", "wires": []},
        {"id": "b", "type": "mystery", "z": "t", "wires": []},
        {"id": "c", "type": "enigma", "z": "t", "wires": []},
    ]
    problems = check(nodes)
    assert [(p.severity, p.message) for p in problems] == [
        ("error", "unknown node type 'mystery', used by 2 nodes: 'a', 'b'"),
        ("error", "unknown node type 'enigma'"),
    ]
    assert problems[0].file == "f.json"
    assert problems[0].node_id is None
    assert problems[1].node_id == "c"
    assert str(problems[1]) == "f.json: node 'c': unknown node type 'enigma'"
    relaxed = check(nodes, allow_unknown=True)
    assert [p.severity for p in relaxed] == ["warning", "warning"]


def test_core_types_are_always_known():
    REGISTRY.asked.clear()
    nodes = [
        TAB,
        {"id": "sf", "type": "subflow", "name": "s", "in": [], "out": []},
        {"id": "g", "type": "group", "z": "t", "nodes": []},
    ]
    assert check(nodes) == []
    assert REGISTRY.asked == []


def test_registry_none_skips_type_checks():
    nodes = [TAB, {"id": "a", "type": "mystery", "z": "t", "wires": [["zz"]]}]
    problems = validate_deployment(dep(nodes), None)
    assert [p.message for p in problems] == [
        "wired to 'zz', which does not exist (from 'a' output 1): messages sent there are dropped"
    ]


def test_property_schema_errors_name_file_node_type_and_path():
    nodes = [
        TAB,
        {
            "id": "f1",
            "type": "function",
            "z": "t",
            "func": 42,
            "outputs": -1,
            "libs": [{"var": "x"}],
            "wires": [],
        },
        {"id": "f2", "type": "function", "z": "t", "wires": []},
        {"id": "h", "type": "http in", "z": "t", "method": "fetch", "url": "/x", "wires": []},
    ]
    problems = check(nodes)
    got = [(p.severity, p.node_id, p.node_type, p.message) for p in problems]
    refused = "(Node-RED does not start the node)"
    assert got == [
        ("error", "f1", "function", f"property 'func': 42 is not of type 'string' {refused}"),
        ("warning", "f1", "function", "property 'libs[0]': 'module' is a required property"),
        ("warning", "f1", "function", "property 'outputs': -1 is less than the minimum of 0"),
        ("error", "f2", "function", f"properties: 'func' is a required property {refused}"),
        (
            "warning",
            "h",
            "http in",
            "property 'method': 'fetch' is not one of ['get', 'post', 'put', 'delete', 'patch']",
        ),
    ]
    assert str(problems[0]) == (
        f"f.json: node 'f1' (function): property 'func': 42 is not of type 'string' {refused}"
    )
    assert str(problems[1]) == (
        "f.json: node 'f1' (function): warning: property 'libs[0]': 'module' is a required property"
    )


def test_common_node_properties_are_checked_as_warnings():
    nodes = [TAB, {"id": "a", "type": "debug", "z": "t", "x": "10", "y": None, "name": 5, "wires": []}]
    got = [(p.severity, p.message) for p in check(nodes)]
    assert got == [
        ("warning", "property 'name': 5 is not of type 'string'"),
        ("warning", "property 'x': '10' is not of type 'number'"),
        ("warning", "property 'y': None is not of type 'number'"),
    ]


def test_invalid_node_schema_is_reported_once():
    nodes = [TAB, {"id": "a", "type": "broken", "z": "t"}, {"id": "b", "type": "broken", "z": "t"}]
    (problem,) = check(nodes)
    assert problem.message.startswith("the property schema of node type 'broken' is invalid")


def test_core_type_properties_checked_against_flow_schema():
    nodes = [
        {"id": "t", "type": "tab", "label": 5, "disabled": "no"},
        {"id": "g", "type": "group", "z": "t", "nodes": "a"},
        {"id": "sf", "type": "subflow", "in": ["x"], "env": [{"value": 1}]},
    ]
    got = sorted((p.node_id, p.severity, p.message) for p in check(nodes))
    assert got == [
        ("g", "warning", "property 'nodes': 'a' is not of type 'array'"),
        ("sf", "error", "property 'in[0]': 'x' is not of type 'object' (Node-RED does not start the node)"),
        ("sf", "warning", "property 'env[0]': 'name' is a required property"),
        ("t", "warning", "property 'disabled': 'no' is not of type 'boolean'"),
        ("t", "warning", "property 'label': 5 is not of type 'string'"),
    ]


def test_all_problems_in_one_run(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(
        """\
flows:
  - id: t
    nodes:
      - id: a
        type: function
        func: 1
        wires: [ghost]
      - id: b
        type: mystery
        z: nowhere
      - id: a
        type: debug
"""
    )
    problems = validate_deployment(load_deployment([path]), REGISTRY)
    summary = [(p.severity, p.line, p.node_id, p.message) for p in problems]
    assert summary == [
        (
            "note",
            8,
            "nowhere",
            "the flow has no tab 'nowhere': created it for the 1 node(s) on it ('b'), "
            "as Node-RED does for an export of selected nodes or a copied flow",
        ),
        ("error", 11, "a", f"duplicate id 'a': defined twice in {path}"),
        ("error", 4, "a", "property 'func': 1 is not of type 'string' (Node-RED does not start the node)"),
        ("error", 8, "b", "unknown node type 'mystery'"),
        (
            "warning",
            4,
            "a",
            "wired to 'ghost', which does not exist (from 'a' output 1): messages sent there are dropped",
        ),
    ]
    assert all(p.file == str(path) for p in problems)


def test_flow_schema_document_shape():
    schema = flow_schema()
    assert schema["type"] == "array"
    assert (
        validate_nodes_against_schema([TAB, {"id": "a", "type": "x", "z": "t", "wires": [["b"], []]}]) == []
    )
    bad = validate_nodes_against_schema(
        [{"type": "x"}, {"id": "a", "type": "x", "wires": ["b"]}, {"id": "t", "type": "tab", "label": 1}, 5]
    )
    assert bad == [
        "[0]: 'id' is a required property",
        "[1].wires[0]: 'b' is not of type 'array'",
        "[2].label: 1 is not of type 'string'",
        "[3]: 5 is not of type 'object'",
    ]
    assert validate_nodes_against_schema({"flows": []}) == [
        "(document): {'flows': []} is not of type 'array'"
    ]


CYCLES = [
    {"id": "t", "type": "tab"},
    {"id": "g1", "type": "group", "z": "t", "g": "g2"},
    {"id": "g2", "type": "group", "z": "t", "g": "g1"},
    {"id": "g3", "type": "group", "z": "t", "g": "g3"},
    {"id": "n", "type": "debug", "z": "t", "g": "g1", "wires": []},
    {"id": "s1", "type": "subflow", "in": [], "out": []},
    {"id": "s2", "type": "subflow", "in": [], "out": []},
    {"id": "i1", "type": "subflow:s2", "z": "s1", "wires": []},
    {"id": "i2", "type": "subflow:s1", "z": "s2", "wires": []},
    {"id": "s3", "type": "subflow", "in": [], "out": []},
    {"id": "i3", "type": "subflow:s3", "z": "s3", "wires": []},
    {"id": "top", "type": "subflow:s1", "z": "t", "wires": []},
    {"id": "top3", "type": "subflow:s3", "z": "t", "wires": []},
    {"id": "c1", "type": "mqtt-broker", "name": "c2"},
    {"id": "c2", "type": "mqtt-broker", "name": "c1"},
    {"id": "c3", "type": "mqtt-broker", "z": "t", "broker": "c3"},
    {"id": "c4", "type": "mqtt-broker", "z": "t", "other": "c1"},  # c1 is global: not in c4's flow
]


def test_every_reference_cycle_is_an_error_naming_the_ids():
    problems = [(p.severity, p.node_id, p.message) for p in check(CYCLES)]
    assert problems == [
        (
            "error",
            "g1",
            "group is in a circle of groups (by g): 'g1' -> 'g2' -> 'g1'; "
            "Node-RED never finishes starting such a flow",
        ),
        ("error", "g3", "group is inside itself; Node-RED never finishes starting such a flow"),
        (
            "error",
            "s1",
            "subflow contains an instance of itself: 's1' (by instance 'i1') -> "
            "'s2' (by instance 'i2') -> 's1'; it would be copied into itself forever",
        ),
        (
            "error",
            "s3",
            "subflow contains an instance of itself: 's3' (by instance 'i3') -> 's3'; "
            "it would be copied into itself forever",
        ),
        (
            "error",
            "c1",
            "config nodes name each other in a circle ('c1'.name names 'c2', "
            "'c2'.name names 'c1'): Node-RED refuses to start the flow (Circular config node dependency)",
        ),
        (
            "error",
            "c3",
            "config node names itself (property 'broker' is its own id): "
            "Node-RED refuses to start the flow (Circular config node dependency)",
        ),
    ]


def test_a_long_group_chain_is_no_cycle_and_does_not_recurse():
    chain = [TAB] + [
        {"id": f"g{n}", "type": "group", "z": "t", **({"g": f"g{n + 1}"} if n < 5000 else {})}
        for n in range(5001)
    ]
    assert check(chain) == []


def test_disabled_config_nodes_are_outside_the_cycle_rule():
    nodes = [{"id": "c1", "type": "mqtt-broker", "name": "c1", "d": True}]
    assert check(nodes) == []


RUN_CYCLES = """
import asyncio, json, sys
from flowrt.engine.runtime import Runtime
from flowrt.settings import Settings

async def main():
    runtime = Runtime(Settings({"httpServer": False, "userDir": sys.argv[2]}))
    await runtime.start(json.loads(sys.argv[1]))
    print("started", sorted(runtime.nodes))
    await runtime.close()

asyncio.run(main())
"""


def test_the_runtime_never_loops_on_cycles(tmp_path):
    """Started without validation (as by the API), a cycle is broken with an error, not spun on."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", RUN_CYCLES, json.dumps(CYCLES), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "group 'g1' is inside itself (g): made top-level" in result.stderr
    assert "subflow 's1' contains itself: instance not started" in result.stderr
    # c1..c4 are mqtt-broker config nodes without users: they start idle (no connection)
    assert "started ['c1', 'c2', 'c3', 'c4', 'n', 'top', 'top-i1', 'top3']" in result.stdout


def test_d_other_than_true_is_a_warning_and_the_node_runs():
    nodes = [TAB, {"id": "a", "type": "debug", "z": "t", "d": "false", "wires": []}]
    (problem,) = check(nodes)
    assert (problem.severity, problem.node_id) == ("warning", "a")
    assert problem.message == (
        "d is 'false', not a boolean: Node-RED disables a node only when d is true, so this node runs"
    )


async def test_only_d_true_disables_a_node():
    from flowrt.testing import FlowTestHarness

    flow = [
        {"id": "on", "type": "junction", "d": "false", "wires": [["out"]]},
        {"id": "also-on", "type": "junction", "d": 1, "wires": [["out"]]},
        {"id": "off", "type": "junction", "d": True, "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.get_node("off") is None
        h.node("on").receive({"payload": 1})
        h.node("also-on").receive({"payload": 2})
        assert [m["payload"] for m in await h.node("out").inputs(2)] == [1, 2]


async def test_a_tab_or_subflow_with_z_is_not_started_as_a_node():
    from flowrt.testing import FlowTestHarness

    flow = [
        {"id": "t1", "type": "tab"},
        {"id": "t2", "type": "tab", "z": "t1"},
        {"id": "sf", "type": "subflow", "z": "t1", "in": [{"wires": [{"id": "inner"}]}], "out": []},
        {"id": "inner", "type": "helper", "z": "sf"},
        {"id": "inst", "type": "subflow:sf", "z": "t2", "wires": []},
        {"id": "a", "type": "junction", "z": "t2", "wires": [["inst"]]},
    ]
    async with FlowTestHarness(flow) as h:
        assert [r.text for r in h.logs if r.level == "error"] == []
        assert "t2" in h.runtime.flows
        h.node("a").receive({"payload": "in"})
        assert (await h.node("inst-inner").next_input())["payload"] == "in"


def test_every_registered_node_type_declares_a_valid_schema():
    import jsonschema

    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    # built-in types (other tests register their own node classes in the same registry)
    types = {
        name: cls
        for name, cls in registry.types().items()
        if registry.origin(name).startswith(("flowrt.nodes.", "flowrt.testing"))
    }
    assert len(types) > 30
    for name, cls in types.items():
        schema = cls.schema
        assert isinstance(schema, dict), f"node type {name!r} declares no schema"
        assert schema.get("type") == "object", name
        jsonschema.Draft202012Validator.check_schema(schema)


def test_function_node_schema_as_node_red():
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    base = {"id": "f", "type": "function", "z": "t", "wires": [[]]}
    cases = {
        "func": (123, "warning"),  # Node-RED pastes String(func) into the code
        "outputs": ({}, "warning"),
        "libs": ("fs", "error"),  # "fs".forEach throws in the constructor
        "initialize": (5, "error"),  # (5).trim throws
    }
    for key, (value, severity) in cases.items():
        problems = validate_deployment(dep([TAB, {**base, key: value}]), registry)
        assert [p.severity for p in problems] == [severity], (key, problems)
        assert f"property {key!r}" in problems[0].message


@pytest.mark.parametrize(
    "node, severity",
    [
        ({"type": "link out", "links": 123}, "error"),  # parseConfig: links.forEach
        ({"type": "link in", "links": "abc"}, "error"),
        ({"type": "link out", "links": ""}, None),
        ({"type": "complete", "scope": True}, "error"),  # Flow.start: scope.forEach
        ({"type": "complete", "scope": None}, None),
        ({"type": "catch", "scope": 5}, "warning"),  # only fails when an error is routed
    ],
)
def test_values_node_red_refuses_at_start_are_errors(node, severity):
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    problems = validate_deployment(dep([TAB, {"id": "n", "z": "t", "wires": [], **node}]), registry)
    assert [p.severity for p in problems] == ([severity] if severity else []), problems


async def test_the_runtime_starts_with_non_list_links_and_scopes():
    from flowrt.testing import FlowTestHarness

    flow = [
        {"id": "lo", "type": "link out", "links": 123, "wires": []},
        {"id": "li", "type": "link in", "links": True, "wires": [["out"]]},
        {"id": "c", "type": "complete", "scope": 7, "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("li").receive({"payload": 1})
        assert (await h.node("out").next_input())["payload"] == 1


def test_a_flow_node_named_after_its_own_id_is_no_config_cycle():
    # Hand-written flows have no x/y; a node with wires is a flow node, whatever its name.
    nodes = [
        TAB,
        {"id": "closed", "type": "debug", "z": "t", "name": "closed", "wires": []},
        {"id": "i1", "type": "inject", "z": "t", "name": "i1", "wires": [["closed"]]},
    ]
    assert check(nodes) == []
