"""Loading, merging, dumping and converting flow documents (flowrt.formats.document)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowrt.formats.document import (
    Deployment,
    FlowFileError,
    Problem,
    convert_file,
    dump_flow_file,
    load_deployment,
    load_flow_file,
)

SEED_TAB = Path(__file__).resolve().parents[2] / "flows" / "mcp-server-tab.json"

FLAT = [
    {"id": "t1", "type": "tab", "label": "One", "disabled": False, "info": ""},
    {"id": "n1", "type": "inject", "z": "t1", "name": "", "x": 100, "y": 40, "wires": [["n2"]]},
    {"id": "n2", "type": "debug", "z": "t1", "name": "", "x": 300, "y": 40, "wires": []},
]


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def one_problem(exc_info) -> Problem:
    problems = exc_info.value.problems
    assert len(problems) == 1, problems
    return problems[0]


# -- shapes ------------------------------------------------------------------


def test_flat_array(tmp_path):
    assert load_flow_file(write(tmp_path, "f.json", FLAT)) == FLAT


def test_flows_and_rev_object(tmp_path):
    path = write(tmp_path, "f.json", {"flows": FLAT, "rev": "abc123"})
    assert load_flow_file(path) == FLAT


def test_empty_array(tmp_path):
    assert load_flow_file(write(tmp_path, "f.json", [])) == []


def test_single_flow_object_sets_z_and_drops_containers(tmp_path):
    doc = {
        "id": "t9",
        "type": "tab",
        "label": "Single",
        "info": "about",
        "nodes": [
            {"id": "a", "type": "inject", "wires": [["b"]]},
            {"id": "b", "type": "debug", "z": "t9", "wires": []},
        ],
        "configs": [{"id": "c", "type": "mqtt-broker", "broker": "localhost"}],
        "subflows": [
            {
                "id": "sf",
                "type": "subflow",
                "name": "S",
                "in": [{"x": 50, "y": 30, "wires": [{"id": "s1"}]}],
                "out": [],
                "nodes": [{"id": "s1", "type": "function", "func": "return msg;", "wires": []}],
            }
        ],
    }
    nodes = load_flow_file(write(tmp_path, "single.json", doc))
    by_id = {n["id"]: n for n in nodes}
    assert by_id["t9"] == {"id": "t9", "type": "tab", "label": "Single", "info": "about"}
    assert by_id["a"]["z"] == "t9"
    assert by_id["b"]["z"] == "t9"
    assert by_id["c"]["z"] == "t9"
    assert by_id["sf"] == {
        "id": "sf",
        "type": "subflow",
        "name": "S",
        "in": [{"x": 50, "y": 30, "wires": [{"id": "s1"}]}],
        "out": [],
    }
    assert by_id["s1"]["z"] == "sf"
    assert nodes[0]["id"] == "t9"


def test_single_flow_seed_tab():
    nodes = load_flow_file(SEED_TAB)
    assert nodes[0] == {"id": "3321740562069c7c", "type": "tab", "label": "MCP Server"}
    assert [n["type"] for n in nodes[1:]] == ["http in", "function"]
    assert all(n["z"] == "3321740562069c7c" for n in nodes[1:])


def test_global_flow_object(tmp_path):
    doc = {"id": "global", "configs": [{"id": "c1", "type": "mqtt-broker"}]}
    assert load_flow_file(write(tmp_path, "g.json", doc)) == [{"id": "c1", "type": "mqtt-broker"}]


@pytest.mark.parametrize(
    "content, needle",
    [
        ({"id": "x", "type": "inject"}, "unrecognised document"),
        ("42", "not a number"),
        ('"hello"', "not a string"),
        ({"flows": {"a": 1}}, "'flows' must be a list"),
    ],
)
def test_wrong_top_level_shape(tmp_path, content, needle):
    path = write(tmp_path, "bad.json", content)
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    problem = one_problem(exc_info)
    assert problem.file == str(path)
    assert needle in problem.message


def test_non_object_items_are_reported_with_index(tmp_path):
    path = write(tmp_path, "bad.json", [{"id": "a", "type": "tab"}, 3, "x"])
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    messages = [p.message for p in exc_info.value.problems]
    assert messages == [
        "document[1] must be a node object, not a number",
        "document[2] must be a node object, not a string",
    ]


def test_single_flow_may_not_contain_tabs(tmp_path):
    doc = {"id": "t", "type": "tab", "nodes": [{"id": "t2", "type": "tab"}]}
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(write(tmp_path, "s.json", doc))
    problem = one_problem(exc_info)
    assert problem.node_id == "t2"
    assert "cannot be inside 'nodes'" in problem.message


# -- syntax errors -----------------------------------------------------------


def test_malformed_json_reports_line_and_column(tmp_path):
    text = '[\n  {"id": "a", "type": "tab"},\n  {"id": "b" "type": "inject"}\n]\n'
    path = write(tmp_path, "broken.json", text)
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    problem = one_problem(exc_info)
    assert (problem.line, problem.column) == (3, 14)
    assert problem.message.startswith("invalid JSON")
    assert str(problem).startswith(f"{path}:3:14: invalid JSON")


def test_truncated_json(tmp_path):
    path = write(tmp_path, "t.json", '[{"id": "a",\n')
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    assert one_problem(exc_info).line == 2


def test_empty_json_file(tmp_path):
    path = write(tmp_path, "e.json", "")
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    assert (one_problem(exc_info).line, one_problem(exc_info).column) == (1, 1)


def test_nan_is_not_json(tmp_path):
    path = write(tmp_path, "n.json", '[{"id": "a", "type": "x", "v": NaN}]')
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    assert "NaN" in one_problem(exc_info).message


def test_bom_is_tolerated(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(FLAT).encode())
    assert load_flow_file(path) == FLAT


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'[\n{"id": "\xe9"}]')
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(path)
    problem = one_problem(exc_info)
    assert "UTF-8" in problem.message
    assert (problem.line, problem.column) == (2, 9)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(tmp_path / "nope.json")
    assert one_problem(exc_info).message == "file not found"
    with pytest.raises(FlowFileError) as exc_info:
        load_flow_file(tmp_path)
    assert "directory" in one_problem(exc_info).message


def test_yaml_file_is_loaded_by_extension(tmp_path):
    text = "flows:\n  - id: t\n    label: T\n    nodes:\n      - id: a\n        type: debug\n"
    for name in ("f.yaml", "f.yml", "F.YAML"):
        nodes = load_flow_file(write(tmp_path, name, text))
        assert nodes == [
            {"id": "t", "type": "tab", "label": "T"},
            {"id": "a", "type": "debug", "z": "t", "wires": []},
        ]


# -- deployments -------------------------------------------------------------


def test_merge_two_files_keeps_order_and_sources(tmp_path):
    a = write(tmp_path, "a.json", FLAT)
    b = write(
        tmp_path,
        "b.yaml",
        "flows:\n  - id: t2\n    label: Two\n    nodes:\n      - id: m1\n        type: debug\n",
    )
    dep = load_deployment([a, b])
    assert isinstance(dep, Deployment)
    assert [n["id"] for n in dep.nodes] == ["t1", "n1", "n2", "t2", "m1"]
    assert dep.sources == {"t1": str(a), "n1": str(a), "n2": str(a), "t2": str(b), "m1": str(b)}
    assert dep.node_files == [str(a)] * 3 + [str(b)] * 2
    assert dep.node_lines[:3] == [None, None, None]
    assert dep.node_lines[3:] == [2, 5]
    assert dep.origin(4) == (str(b), 5)


def test_duplicate_ids_are_kept_for_validation(tmp_path):
    a = write(tmp_path, "a.json", FLAT)
    b = write(tmp_path, "b.json", FLAT)
    dep = load_deployment([a, b])
    assert len(dep.nodes) == 6
    assert dep.sources["n1"] == str(a)
    assert dep.node_files[4] == str(b)


def test_load_deployment_reports_every_file(tmp_path):
    good = write(tmp_path, "good.json", FLAT)
    bad_json = write(tmp_path, "bad.json", "[\n  {,}\n]")
    bad_yaml = write(tmp_path, "bad.yaml", "flows:\n  - id: t\n   label: x\n")
    bad_shape = write(tmp_path, "shape.json", {"id": "x", "type": "inject"})
    with pytest.raises(FlowFileError) as exc_info:
        load_deployment([good, bad_json, bad_yaml, bad_shape, tmp_path / "missing.json"])
    problems = exc_info.value.problems
    assert [p.file for p in problems] == [
        str(bad_json),
        str(bad_yaml),
        str(bad_shape),
        str(tmp_path / "missing.json"),
    ]
    assert (problems[0].line, problems[0].column) == (2, 4)
    assert problems[1].line == 3
    text = str(exc_info.value)
    assert len(text.splitlines()) == 4
    assert f"{bad_json}:2:4: invalid JSON" in text


def test_problem_str_formats():
    assert str(Problem("f.json", "abc", "wires bad", node_type="function")) == (
        "f.json: node 'abc' (function): wires bad"
    )
    assert str(Problem("f.yaml", None, "oops", line=3, column=7)) == "f.yaml:3:7: oops"
    assert str(Problem(None, "n", "dangling", severity="warning")) == "node 'n': warning: dangling"
    assert str(Problem(None, None, "plain")) == "plain"


# -- dumping and converting --------------------------------------------------


def test_dump_json_is_node_red_flat_array(tmp_path):
    path = tmp_path / "out.json"
    dump_flow_file(FLAT, path)
    text = path.read_text()
    assert text.startswith('[\n    {\n        "id": "t1"')
    assert json.loads(text) == FLAT


def test_convert_json_to_yaml_and_back(tmp_path):
    src = write(tmp_path, "src.json", FLAT)
    mid = tmp_path / "mid.yaml"
    back = tmp_path / "back.json"
    convert_file(src, mid)
    assert "flows:" in mid.read_text()
    convert_file(mid, back)
    assert json.loads(back.read_text()) == FLAT


def test_convert_single_flow_seed_to_yaml(tmp_path):
    out = tmp_path / "seed.yaml"
    convert_file(SEED_TAB, out)
    text = out.read_text()
    assert "func: |" in text
    assert "wires: [2a76a8cf4603effc, 2f4cbc634ee2512c]" in text
    assert {n["id"]: n for n in load_flow_file(out)} == {n["id"]: n for n in load_flow_file(SEED_TAB)}


def test_convert_reports_bad_input(tmp_path):
    src = write(tmp_path, "bad.json", "[")
    with pytest.raises(FlowFileError):
        convert_file(src, tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()
