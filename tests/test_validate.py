"""Deployment validation (flowrt.validate) and the flat document schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowrt.document import Deployment, load_deployment
from flowrt.validate import flow_schema, validate_deployment, validate_nodes_against_schema

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED_TAB = SHARED / "seeds" / "mcp-server-tab.json"
REFERENCE_FLOWS = sorted((SHARED / "node-red-reference" / "flows").glob("*.json"))


class FakeNode:
    schema = None


class Function(FakeNode):
    schema = {
        "type": "object",
        "required": ["func"],
        "properties": {
            "func": {"type": "string"},
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
    if not SEED_TAB.exists():
        pytest.skip(f"shared seed tab not found at {SEED_TAB}")
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


def test_z_must_name_a_tab_or_subflow():
    nodes = [
        TAB,
        {"id": "grp", "type": "group", "z": "t", "nodes": []},
        {"id": "a", "type": "debug", "z": "missing", "wires": []},
        {"id": "b", "type": "debug", "z": "grp", "wires": []},
        {"id": "c", "type": "debug", "z": 3, "wires": []},
        {"id": "d", "type": "mqtt-broker", "z": ""},
    ]
    messages = {p.node_id: p.message for p in check(nodes)}
    assert messages == {
        "a": "z names 'missing', but there is no tab or subflow with that id",
        "b": "z names 'grp', which is a 'group', not a tab or subflow",
        "c": "z must be a string (the id of a tab or subflow), not 3",
    }


def test_g_must_name_a_group():
    nodes = [
        TAB,
        {"id": "t2", "type": "tab"},
        {"id": "grp", "type": "group", "z": "t", "nodes": ["ok"]},
        {"id": "ok", "type": "debug", "z": "t", "g": "grp", "wires": []},
        {"id": "a", "type": "debug", "z": "t", "g": "nope", "wires": []},
        {"id": "b", "type": "debug", "z": "t", "g": "ok", "wires": []},
        {"id": "c", "type": "debug", "z": "t2", "g": "grp", "wires": []},
    ]
    problems = {p.node_id: (p.severity, p.message) for p in check(nodes)}
    assert problems == {
        "a": ("error", "g names 'nope', but there is no group with that id"),
        "b": ("error", "g names 'ok', which is a 'debug', not a group"),
        "c": ("warning", "is in group 'grp', which belongs to another tab or subflow"),
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
        ("error", "unknown node type 'mystery', used by 2 nodes: a, b"),
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
    got = [(p.node_id, p.node_type, p.message) for p in problems]
    assert got == [
        ("f1", "function", "property 'func': 42 is not of type 'string'"),
        ("f1", "function", "property 'libs[0]': 'module' is a required property"),
        ("f1", "function", "property 'outputs': -1 is less than the minimum of 0"),
        ("f2", "function", "properties: 'func' is a required property"),
        (
            "h",
            "http in",
            "property 'method': 'fetch' is not one of ['get', 'post', 'put', 'delete', 'patch']",
        ),
    ]
    assert str(problems[0]) == "f.json: node 'f1' (function): property 'func': 42 is not of type 'string'"


def test_invalid_node_schema_is_reported_once():
    nodes = [TAB, {"id": "a", "type": "broken", "z": "t"}, {"id": "b", "type": "broken", "z": "t"}]
    (problem,) = check(nodes)
    assert problem.message.startswith("the property schema of node type 'broken' is invalid")


def test_core_type_properties_checked_against_flow_schema():
    nodes = [
        {"id": "t", "type": "tab", "label": 5, "disabled": "no"},
        {"id": "g", "type": "group", "z": "t", "nodes": "a"},
        {"id": "sf", "type": "subflow", "in": [{}, {}], "env": [{"value": 1}]},
    ]
    got = sorted((p.node_id, p.message) for p in check(nodes))
    assert got == [
        ("g", "property 'nodes': 'a' is not of type 'array'"),
        ("sf", "property 'env[0]': 'name' is a required property"),
        ("sf", "property 'in': [{}, {}] is too long"),
        ("t", "property 'disabled': 'no' is not of type 'boolean'"),
        ("t", "property 'label': 5 is not of type 'string'"),
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
        ("error", 11, "a", f"duplicate id 'a': defined twice in {path}"),
        ("error", 4, "a", "property 'func': 1 is not of type 'string'"),
        ("error", 8, "b", "z names 'nowhere', but there is no tab or subflow with that id"),
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
