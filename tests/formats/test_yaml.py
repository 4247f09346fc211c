"""The YAML authoring format (flowrt.formats.yamlformat): parsing, dumping, round trips, schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from flowrt.formats.document import FlowFileError, load_flow_file
from flowrt.formats.yamlformat import _Loader, dump_yaml, parse_yaml, parse_yaml_with_lines, yaml_schema_path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
REFERENCE_FLOWS = sorted((SHARED / "node-red-reference" / "flows").glob("*.json"))
SEED_TAB = REPO / "flows" / "mcp-server-tab.json"
REPO_FLOWS = sorted(
    p
    for p in (REPO / "flows").rglob("*")
    if p.suffix.lower() in (".json", ".yaml", ".yml")
    and p.is_file()
    and ".test." not in p.name  # not flow tests
)


def by_id(nodes: list[dict]) -> dict[str, dict]:
    assert len({n["id"] for n in nodes}) == len(nodes)
    return {n["id"]: n for n in nodes}


def round_trip(nodes: list[dict]) -> list[dict]:
    return parse_yaml(dump_yaml(nodes), "rt.yaml")


def yaml_loads(text: str):
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def problems_of(text: str) -> list:
    with pytest.raises(FlowFileError) as exc_info:
        parse_yaml(text, "f.yaml")
    return exc_info.value.problems


# -- a rich document exercising every section ----------------------------------

RICH = [
    {"id": "tab1", "type": "tab", "label": "Main", "disabled": False, "info": "line 1\nline 2\n", "env": []},
    {"id": "tab2", "type": "tab", "label": "Other", "disabled": True, "info": ""},
    {
        "id": "sf1",
        "type": "subflow",
        "name": "Doubler",
        "info": "",
        "category": "",
        "in": [{"x": 50, "y": 30, "wires": [{"id": "sf1-fn"}]}],
        "out": [{"x": 300, "y": 30, "wires": [{"id": "sf1-fn", "port": 0}]}],
        "env": [{"name": "FACTOR", "type": "num", "value": "2"}],
        "color": "#DDAA99",
    },
    {"id": "sf1-fn", "type": "function", "z": "sf1", "func": "return msg;", "outputs": 1, "wires": [[]]},
    {"id": "broker", "type": "mqtt-broker", "name": "local", "broker": "localhost", "port": "1883"},
    {
        "id": "grp",
        "type": "group",
        "z": "tab1",
        "name": "G",
        "style": {"label": True},
        "nodes": ["inj", "fn"],
        "x": 34,
        "y": 19,
        "w": 452,
        "h": 82,
    },
    {"id": "scoped-cfg", "type": "tls-config", "z": "tab1", "name": "tls", "verifyservercert": True},
    {
        "id": "inj",
        "type": "inject",
        "z": "tab1",
        "g": "grp",
        "name": "",
        "props": [{"p": "payload"}],
        "repeat": "",
        "crontab": "",
        "once": False,
        "onceDelay": 0.1,
        "topic": "",
        "payload": "123",
        "payloadType": "num",
        "x": 120,
        "y": 60,
        "wires": [["fn", "sub"]],
    },
    {
        "id": "fn",
        "type": "function",
        "z": "tab1",
        "g": "grp",
        "name": "two outs",
        "func": "if (msg.payload > 1) {\n    return [msg, null];\n}\n\treturn [null, msg];  \n",
        "outputs": 2,
        "noerr": 0,
        "x": 300,
        "y": 60,
        "wires": [["dbg"], []],
    },
    {"id": "sub", "type": "subflow:sf1", "z": "tab1", "x": 300, "y": 120, "wires": [["dbg"]]},
    {
        "id": "dbg",
        "type": "debug",
        "z": "tab1",
        "active": True,
        "complete": "true",
        "x": 500,
        "y": 60,
        "wires": [],
    },
    {"id": "j1", "type": "junction", "z": "tab2", "x": 10, "y": 10, "wires": [["c1", "c2"], ["c3"], []]},
    {"id": "c1", "type": "comment", "z": "tab2", "name": "yes", "info": "on", "wires": []},
    {
        "id": "c2",
        "type": "change",
        "z": "tab2",
        "rules": [
            {"t": "set", "p": "payload", "pt": "msg", "to": "0x1F", "tot": "str"},
            {"t": "set", "p": "n", "to": "1e3"},
        ],
        "wires": [[]],
    },
    {
        "id": "c3",
        "type": "x",
        "z": "tab2",
        "v": [
            "2024-01-01",
            "12:30",
            "~",
            "null",
            "",
            "007",
            "1_000",
            "0o17",
            ".inf",
            "<<",
            "true",
            "True",
            "No",
        ],
        "n": [0, -1, 1.5, 1e-07, 12345678901234567890, True, None],
        "nested": {"a": {"b": []}, "": "empty key", "1": "numeric key"},
        "wires": [[]],
    },
    {"id": "orphan", "type": "debug", "z": "nope", "wires": []},
    {"id": "no-z-node", "type": "inject", "wires": [["dbg"]]},
    {"id": "old-cfg", "type": "http proxy", "z": ""},
]


def test_rich_document_round_trips_exactly_in_order():
    back = round_trip(RICH)
    assert by_id(back) == by_id(RICH)
    # order is kept within each section
    assert [n["id"] for n in back if n.get("z") == "tab1"] == ["grp", "scoped-cfg", "inj", "fn", "sub", "dbg"]
    assert [n["id"] for n in back if n.get("z") == "tab2"] == ["j1", "c1", "c2", "c3"]
    assert [n["id"] for n in back if n.get("type") == "tab"] == ["tab1", "tab2"]


def test_rich_document_types_are_kept():
    back = by_id(round_trip(RICH))
    assert back["inj"]["payload"] == "123"
    assert back["inj"]["onceDelay"] == 0.1
    assert back["inj"]["x"] == 120 and isinstance(back["inj"]["x"], int)
    assert back["broker"]["port"] == "1883"
    assert back["c3"]["v"] == RICH[-4]["v"]
    assert back["c3"]["n"] == [0, -1, 1.5, 1e-07, 12345678901234567890, True, None]
    assert [type(v) for v in back["c3"]["n"]] == [int, int, float, float, int, bool, type(None)]


def test_rich_document_yaml_layout():
    text = dump_yaml(RICH)
    data = yaml_loads(text)
    assert list(data) == ["flows", "subflows", "config", "nodes"]
    tab1 = data["flows"][0]
    assert list(tab1)[:2] == ["id", "label"]
    assert "type" not in tab1
    assert [n["id"] for n in tab1["nodes"]] == ["inj", "fn", "sub", "dbg"]
    assert [g["id"] for g in tab1["groups"]] == ["grp"]
    assert "type" not in tab1["groups"][0]
    assert [c["id"] for c in tab1["config"]] == ["scoped-cfg"]
    assert all("z" not in n for n in tab1["nodes"] + tab1["groups"] + tab1["config"])
    # group members derivable from g: not written
    assert "nodes" not in tab1["groups"][0]
    nodes = {n["id"]: n for n in tab1["nodes"]}
    assert nodes["inj"]["wires"] == ["fn", "sub"]
    assert nodes["fn"]["wires"] == [["dbg"], []]
    assert "wires" not in nodes["dbg"]
    assert "wires: [fn, sub]" in text
    assert "wires: [[dbg], []]" in text
    # one unconnected output: an empty flat list
    tab2 = {n["id"]: n for n in data["flows"][1]["nodes"]}
    assert tab2["c2"]["wires"] == []
    assert tab2["j1"]["wires"] == [["c1", "c2"], ["c3"], []]
    # multi-line code as literal blocks
    assert "func: |\n" in text
    assert "    return [msg, null];\n" in text
    # subflow with its members
    sf = data["subflows"][0]
    assert sf["id"] == "sf1" and "type" not in sf
    assert [n["id"] for n in sf["nodes"]] == ["sf1-fn"]
    assert [c["id"] for c in data["config"]] == ["broker"]
    assert [n["id"] for n in data["nodes"]] == ["orphan", "no-z-node", "old-cfg"]
    assert data["nodes"][0]["z"] == "nope"


def test_dumped_yaml_matches_schema():
    schema = json.loads(Path(yaml_schema_path()).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml_loads(dump_yaml(RICH)))) == []
    bad = {"flows": [{"id": "t", "nodes": [{"id": "a", "type": "x", "wires": [["b"], "c"]}]}], "extra": 1}
    assert len(list(validator.iter_errors(bad))) >= 1


def test_schema_ships_in_package():
    path = Path(yaml_schema_path())
    assert path.parent.name == "schemas" and path.parent.parent.name == "formats"
    assert json.loads(path.read_text())["title"] == "flowrt YAML flow file"


def test_schema_hint_is_emitted_on_request():
    text = dump_yaml(RICH, schema="../flowrt/formats/schemas/flowrt-yaml.schema.json")
    assert (
        text.splitlines()[0]
        == "# yaml-language-server: $schema=../flowrt/formats/schemas/flowrt-yaml.schema.json"
    )
    assert by_id(parse_yaml(text)) == by_id(RICH)


@pytest.mark.parametrize(
    "value",
    [
        "trailing spaces   \nnext",
        "\tindented with a tab\n\ttoo",
        "  leading spaces\nline",
        "ends with blank lines\n\n\n",
        "blank-only line\n   \nafter",
        "no final newline\nx",
        "\nstarts with newline",
        "unicode line separator \u2028 and NEL \x85 here\nx",
        "carriage\r\nreturn",
        "ünïcödé\n😀",
        "# not a comment\n- not a list\nkey: not a map",
    ],
)
def test_awkward_strings_round_trip(value):
    nodes = [
        {"id": "t", "type": "tab"},
        {"id": "n", "type": "function", "z": "t", "func": value, "wires": []},
    ]
    assert by_id(round_trip(nodes)) == by_id(nodes)


def test_wire_forms_round_trip():
    for wires in ([], [[]], [["a"]], [["a", "b"]], [[], []], [["a"], [], ["b"]], [[], ["a"]]):
        nodes = [{"id": "t", "type": "tab"}, {"id": "n", "type": "x", "z": "t", "wires": wires}]
        assert by_id(round_trip(nodes)) == by_id(nodes), wires


def test_malformed_wires_are_kept_for_validation():
    for wires in ("abc", None, [["a"], "b"], {"a": 1}):
        nodes = [{"id": "t", "type": "tab"}, {"id": "n", "type": "x", "z": "t", "wires": wires}]
        assert by_id(round_trip(nodes)) == by_id(nodes), wires


def test_explicit_z_in_a_section_is_kept():
    nodes = parse_yaml("flows:\n  - id: t\n    nodes:\n      - {id: a, type: x, z: elsewhere}\n")
    assert nodes[1]["z"] == "elsewhere"


def test_reserved_keys_on_a_tab_fall_back_to_raw_nodes():
    nodes = [
        {"id": "t", "type": "tab", "config": {"odd": True}},
        {"id": "a", "type": "x", "z": "t", "wires": []},
    ]
    text = dump_yaml(nodes)
    assert by_id(parse_yaml(text)) == by_id(nodes)
    assert "flows:" not in text


def test_duplicate_ids_dump_losslessly():
    nodes = [
        {"id": "t", "type": "tab"},
        {"id": "t", "type": "tab"},
        {"id": "a", "type": "x", "z": "t", "wires": []},
    ]
    assert sorted(map(json.dumps, round_trip(nodes))) == sorted(map(json.dumps, nodes))


def test_empty_document():
    assert dump_yaml([]) == "{}\n"
    assert parse_yaml("{}\n") == []
    assert parse_yaml("") == []
    assert parse_yaml("# only a comment\n") == []


# -- hand-written YAML ---------------------------------------------------------

HAND = """\
# yaml-language-server: $schema=../../flowrt/formats/schemas/flowrt-yaml.schema.json
flows:
  - id: hello
    label: Hello
    nodes:
      - id: hello-in
        type: http in
        url: /hello
        method: get
        wires: [hello-set]
      - id: hello-set
        type: change
        g: box
        rules:
          - {t: set, p: payload, pt: msg, to: "Hello, world", tot: str}
        wires: [hello-out]
      - id: hello-out
        type: http response
        g: box
        statusCode: 200
        headers: {}
    groups:
      - id: box
        type: group
        name: reply
config:
  - id: store
    type: some-config
    enabled: on
    when: 2024-05-01
    at: 12:30
"""


def test_hand_written_yaml():
    nodes, lines = parse_yaml_with_lines(HAND, "hand.yaml")
    got = by_id(nodes)
    assert got["hello"] == {"id": "hello", "type": "tab", "label": "Hello"}
    assert got["hello-in"] == {
        "id": "hello-in",
        "type": "http in",
        "z": "hello",
        "url": "/hello",
        "method": "get",
        "wires": [["hello-set"]],
    }
    assert list(got["hello-in"]) == ["id", "type", "z", "url", "method", "wires"]
    assert got["hello-out"]["wires"] == []
    assert got["hello-out"]["statusCode"] == 200
    assert got["box"] == {
        "id": "box",
        "type": "group",
        "z": "hello",
        "name": "reply",
        "nodes": ["hello-set", "hello-out"],
    }
    # YAML 1.2 scalars: on / dates / times stay strings
    assert got["store"] == {
        "id": "store",
        "type": "some-config",
        "enabled": "on",
        "when": "2024-05-01",
        "at": "12:30",
    }
    assert "z" not in got["store"]
    line_of = {n["id"]: line for n, line in zip(nodes, lines, strict=True)}
    assert line_of["hello"] == 3
    assert line_of["hello-in"] == 6
    assert line_of["box"] == 23
    assert line_of["store"] == 27


def test_flat_list_yaml_is_node_red_verbatim():
    nodes = parse_yaml("- {id: t, type: tab}\n- {id: a, type: x, z: t, wires: [[b]]}\n")
    assert nodes == [{"id": "t", "type": "tab"}, {"id": "a", "type": "x", "z": "t", "wires": [["b"]]}]


def test_merge_keys_are_supported():
    text = """\
flows:
  - id: t
    nodes:
      - &base {id: a, type: x, color: red, size: 1}
      - <<: *base
        id: b
        size: 2
"""
    got = by_id(parse_yaml(text))
    assert got["b"] == {"id": "b", "type": "x", "z": "t", "color": "red", "size": 2, "wires": []}


def test_shared_anchor_values_are_not_aliased():
    text = "flows:\n  - id: t\n    nodes:\n      - {id: a, type: x, o: &o {k: 1}}\n      - {id: b, type: x, o: *o}\n"
    got = by_id(parse_yaml(text))
    assert got["a"]["o"] == got["b"]["o"] == {"k": 1}
    got["a"]["o"]["k"] = 2
    assert got["b"]["o"] == {"k": 1}
    dumped = dump_yaml(list(got.values()))
    assert "&" not in dumped and "*" not in dumped


# -- errors with line and column -----------------------------------------------


def test_bad_yaml_syntax_line_and_column():
    problems = problems_of("flows:\n  - id: t\n    label: [unclosed\n    nodes: []\n")
    assert len(problems) == 1
    assert problems[0].file == "f.yaml"
    assert problems[0].line == 4
    assert problems[0].message.startswith("invalid YAML")


def test_bad_indentation():
    (problem,) = problems_of("flows:\n  - id: t\n     label: x\n")
    assert (problem.line, problem.column) == (3, 11)


def test_tab_character_indentation():
    (problem,) = problems_of("flows:\n\t- id: t\n")
    assert problem.line == 2


def test_duplicate_key_is_an_error():
    (problem,) = problems_of("flows:\n  - id: t\n    nodes:\n      - id: a\n        type: x\n        id: b\n")
    assert "duplicate key 'id'" in problem.message
    assert (problem.line, problem.column) == (6, 9)


def test_non_string_key_is_an_error():
    (problem,) = problems_of("config:\n  - id: c\n    type: x\n    1: one\n")
    assert "keys must be strings" in problem.message
    assert problem.line == 4


def test_unsupported_tags_are_errors():
    (problem,) = problems_of("config:\n  - id: c\n    type: x\n    when: !!timestamp 2024-01-01\n")
    assert problem.line == 4
    (problem,) = problems_of("config:\n  - id: c\n    type: !custom x\n")
    assert problem.line == 3


def test_control_characters_are_reported():
    (problem,) = problems_of("config:\n  - id: c\n    type: x\u0007\n")
    assert problem.line == 3


def test_structure_errors_all_reported_with_lines():
    text = """\
flows:
  - id: t
    type: subflow
    nodes: {a: 1}
  - just a string
  - label: no id
    nodes:
      - 42
subflows: 7
extra: 1
"""
    problems = problems_of(text)
    got = {(p.line, p.column, p.node_id, p.message) for p in problems}
    assert got == {
        (10, 1, None, "unknown top-level key 'extra' (expected one of: flows, subflows, config, nodes)"),
        (5, 5, None, "'flows' item 2 must be a mapping, not a string"),
        (9, 11, None, "'subflows' must be a list, not a number"),
        (3, 11, "t", "'type' must be 'tab' here, not 'subflow'"),
        (4, 12, None, "tab 't': 'nodes' must be a list, not a mapping"),
        (6, 5, None, "tab entry needs a string 'id'"),
        (8, 9, None, "tab: 'nodes' item 1 must be a mapping, not a number"),
    }
    assert len(problems) == 7


def test_scalar_document_is_rejected():
    (problem,) = problems_of("just text\n")
    assert "expected a mapping" in problem.message


# -- round trips of every known flow file --------------------------------------


def _require(paths, what):
    if not paths:
        pytest.skip(f"{what} not found (expected under {SHARED})")


@pytest.mark.parametrize("path", REFERENCE_FLOWS or [None], ids=lambda p: p.name if p else "none")
def test_reference_flows_round_trip(path):
    _require([path] if path else [], "node-red-reference flows")
    nodes = load_flow_file(path)
    assert by_id(round_trip(nodes)) == by_id(nodes)


def test_seed_tab_round_trips():
    nodes = load_flow_file(SEED_TAB)
    assert by_id(round_trip(nodes)) == by_id(nodes)


@pytest.mark.parametrize(
    "path", REPO_FLOWS or [None], ids=lambda p: str(p.relative_to(REPO)) if p else "none"
)
def test_repo_flows_round_trip(path, tmp_path):
    if path is None:
        pytest.skip("no flow files under flows/ yet")
    nodes = load_flow_file(path)
    assert by_id(round_trip(nodes)) == by_id(nodes)
    # and through JSON on disk, both directions
    from flowrt.formats.document import convert_file

    as_json = tmp_path / "x.json"
    as_yaml = tmp_path / "x.yaml"
    convert_file(path, as_json)
    convert_file(as_json, as_yaml)
    assert by_id(load_flow_file(as_yaml)) == by_id(nodes)


def test_docs_example_parses_and_matches_schema():
    doc = REPO / "docs" / "yaml-format.md"
    if not doc.exists():
        pytest.skip("docs/yaml-format.md not found")
    text = doc.read_text()
    start = text.index("## A complete example")
    block = text[
        text.index("```yaml\n", start) + len("```yaml\n") : text.index(
            "```", text.index("```yaml\n", start) + 7
        )
    ]
    got = by_id(parse_yaml(block, "doc"))
    assert got["hello-in"]["z"] == "hello" and got["hello-in"]["wires"] == [["hello-set"]]
    assert got["reply"]["nodes"] == ["hello-set", "hello-out"]
    assert got["hello-out"]["wires"] == [] and got["hello-out"]["statusCode"] == "200"
    assert got["double"]["z"] == "doubler" and got["double"]["wires"] == [[]]
    assert "z" not in got["broker"] and got["tab-store"]["z"] == "hello"
    validator = jsonschema.Draft202012Validator(json.loads(Path(yaml_schema_path()).read_text()))
    assert list(validator.iter_errors(yaml_loads(block))) == []


@pytest.mark.parametrize(
    "path",
    [p for p in REPO_FLOWS if p.suffix.lower() in (".yaml", ".yml")] or [None],
    ids=lambda p: str(p.relative_to(REPO)) if p else "none",
)
def test_repo_yaml_flows_match_schema(path):
    if path is None:
        pytest.skip("no YAML flow files under flows/ yet")
    validator = jsonschema.Draft202012Validator(json.loads(Path(yaml_schema_path()).read_text()))
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(yaml_loads(path.read_text()))
    ]
    assert errors == []


def test_group_type_is_implied_and_checked():
    got = by_id(parse_yaml("flows:\n  - id: t\n    groups:\n      - id: g\n        name: G\n"))
    assert got["g"] == {"id": "g", "type": "group", "z": "t", "name": "G", "nodes": []}
    (problem,) = problems_of("flows:\n  - id: t\n    groups:\n      - id: g\n        type: debug\n")
    assert (problem.line, problem.node_id) == (5, "g")
    assert problem.message == "'type' must be 'group' in 'groups', not 'debug'"


def test_core_types_misplaced_in_a_section():
    text = "flows:\n  - id: t\n    nodes:\n      - {id: g, type: group}\n      - {id: t2, type: tab}\n"
    problems = problems_of(text)
    assert [(p.line, p.node_id, p.message) for p in problems] == [
        (4, "g", "a group cannot be a member of tab 't'; it belongs in 'groups'"),
        (5, "t2", "a tab cannot be a member of tab 't'; it belongs in 'flows' or 'subflows'"),
    ]


# -- hostile documents (issue 12, item 10) ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "nodes: &a [*a]\n",
        "config:\n  - &n {id: c, type: x, self: *n}\n",
        "nodes:\n  - &outer {id: a, type: x, inner: [1, {deeper: *outer}]}\n",
    ],
)
def test_recursive_aliases_are_refused(text):
    (problem,) = problems_of(text)
    assert "recursive alias" in problem.message
    assert problem.line is not None


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        refs = ",".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_expansion_is_bounded():
    text = billion_laughs()
    assert len(text) < 1000
    (problem,) = problems_of(text)
    assert "aliases expand this document" in problem.message
    assert len(str(problem)) < 200


def test_aliases_within_the_bound_are_still_copied():
    nodes = parse_yaml(
        "config:\n  - &base {id: a, type: x, opts: {k: 1}}\n  - {<<: *base, id: b}\n", "f.yaml"
    )
    assert [n["id"] for n in nodes] == ["a", "b"]
    assert nodes[0]["opts"] == nodes[1]["opts"] and nodes[0]["opts"] is not nodes[1]["opts"]


def test_a_huge_value_in_a_problem_is_shortened():
    big = ", ".join(f"item{n}" for n in range(20000))
    for text in (f"config:\n  - ? [{big}]\n    : 1\n", f"config:\n  - {{id: c, type: x, type: [{big}]}}\n"):
        (problem,) = problems_of(text)
        assert len(str(problem)) < 300, str(problem)[:400]


def test_libyaml_is_used_when_available_and_lines_are_kept():
    import yaml

    from flowrt.formats.yamlformat import _LOADERS

    if yaml.__with_libyaml__:
        assert _LOADERS[0].__name__ == "_CLoader"
    big = "x" * 2_000_000
    nodes, lines = parse_yaml_with_lines(
        f"flows:\n  - id: t\n    nodes:\n      - id: a\n        type: x\n        v: {big}\n", "f.yaml"
    )
    assert nodes[1]["v"] == big and lines == [2, 4]
