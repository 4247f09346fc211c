"""The quick schema check (flowrt.formats.schemacheck) answers as jsonschema does.

Validation asks jsonschema only for nodes the quick check does not pass, so the problems must be
the same as when every node goes through jsonschema: for every built-in node type, nodes with
each property given values of the wrong type, unknown enum values, missing required
properties and unknown properties are validated both ways and the problem lists compared
(file, node id, line, message, severity, type). The predicate itself is compared with
`is_valid` on the same values, and on random values.
"""

from __future__ import annotations

import copy
import decimal
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowrt.engine.loader import import_all_builtin_nodes, load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.formats import validate
from flowrt.formats.document import Deployment
from flowrt.formats.schemacheck import Unsure, compile_check
from flowrt.formats.validate import flow_schema, validate_deployment

load_builtin_nodes()
import_all_builtin_nodes()
SCHEMAS = {
    name: cls.schema
    for name in sorted(registry.types())
    if isinstance(cls := registry.get_type(name), type) and isinstance(cls.schema, dict)
}
CORE = ("common", "tab", "subflow", "group", "subflowInstance", "node")

#: Values of every JSON kind, each tried for every property.
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2.0,
    2.5,
    "",
    "x",
    "true",
    "msg",
    [],
    ["x"],
    [1],
    [[]],
    {},
    {"t": "set"},
    {"name": 1},
]


def _core_schema(kind: str) -> dict:
    schema = flow_schema()
    return {"$schema": schema["$schema"], "$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}


def _resolve(schema: Any, root: dict) -> Any:
    while isinstance(schema, dict) and "$ref" in schema and not set(schema) - {"$ref", "$schema", "$defs"}:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    return schema


def sample(schema: Any, root: dict, depth: int = 0) -> Any:
    """A plausible (usually valid) value for `schema`."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return "x"
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return sample(schema["anyOf"][0], root, depth)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties") or {}
        if depth > 3:
            return {}
        return {
            name: sample(sub, root, depth + 1)
            for name, sub in props.items()
            if name in (schema.get("required") or []) or depth == 0
        }
    if kind == "array":
        return [sample(schema["items"], root, depth + 1)] if "items" in schema and depth < 4 else []
    return {"string": "a", "integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, "a")


def mutants(schema: Any, value: Any, root: dict, depth: int = 0) -> list[Any]:
    """`value` with one thing changed at a time: each property given each odd value, a bad enum
    value, a required property removed, an unknown property added; the same inside lists."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > 3:
        return []
    out: list[Any] = []
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            sub = _resolve(sub, root)
            tried = list(ODD_VALUES)
            if isinstance(sub, dict):
                tried += [*sub.get("enum", []), f"{(sub.get('enum') or ['e'])[0]}?", sample(sub, root)]
            for odd in tried:
                out.append({**value, name: odd})
            if name in value:
                out += [{**value, name: inner} for inner in mutants(sub, value[name], root, depth + 1)]
        for name in schema.get("required") or []:
            out.append({k: v for k, v in value.items() if k != name})
        out.append({**value, "zzUnknownProperty": 1})
    elif isinstance(value, list) and value and "items" in schema:
        out += [[inner] for inner in mutants(schema["items"], value[0], root, depth + 1)]
    for sub in schema.get("anyOf") or []:
        out += mutants(sub, sample(sub, root), root, depth + 1)
    return out


def node_cases(type_name: str, schema: dict) -> list[dict]:
    base = {**sample(schema, schema), "id": "base", "type": type_name, "z": "tab1", "wires": [[]]}
    cases = [base, *mutants(schema, base, schema)]
    cases += [
        {**case, "id": "base", "type": type_name, "z": "tab1"}
        for case in mutants(_core_schema("common"), base, flow_schema())
    ]
    nodes = []
    for n, case in enumerate(cases):
        node = {**case, "id": f"n{n}", "type": type_name, "z": "tab1"}
        nodes.append(node)
    return nodes


def problems_both_ways(nodes: list[dict]) -> tuple[list, list]:
    deployment = Deployment(
        nodes=[{"id": "tab1", "type": "tab", "label": "t"}, *copy.deepcopy(nodes)],
        sources={},
        node_files=["flows.json"] * (len(nodes) + 1),
        node_lines=list(range(1, len(nodes) + 2)),
    )

    def run(quick: bool) -> list:
        validate._FINDINGS.clear()  # each way finds its messages itself
        problems = validate_deployment(copy.deepcopy(deployment), registry, quick_checks=quick)
        return [(p.file, p.node_id, p.line, p.message, p.severity, p.node_type) for p in problems]

    return run(True), run(False)


def test_every_builtin_schema_compiles() -> None:
    """Otherwise that type's nodes all go through jsonschema (slow, still correct)."""
    assert len(SCHEMAS) > 40
    not_compiled = [name for name, schema in SCHEMAS.items() if compile_check(schema) is None]
    assert not_compiled == []
    assert all(compile_check(_core_schema(kind)) is not None for kind in CORE)


@pytest.mark.parametrize("type_name", sorted(SCHEMAS))
def test_problems_are_the_same_with_and_without_quick_checks(type_name: str) -> None:
    nodes = node_cases(type_name, SCHEMAS[type_name])
    quick, full = problems_both_ways(nodes)
    assert quick == full
    # the cases do break the schema: the comparison is not between two empty lists
    assert any("property" in message for _f, _id, _l, message, _s, _t in full)


@pytest.mark.parametrize("type_name", sorted(SCHEMAS))
def test_quick_check_answers_as_is_valid(type_name: str) -> None:
    schema = SCHEMAS[type_name]
    check = compile_check(schema)
    validator = jsonschema.Draft202012Validator(schema)
    common = compile_check(_core_schema("common"))
    common_validator = jsonschema.Draft202012Validator(_core_schema("common"))
    answered = invalid = 0
    for node in node_cases(type_name, schema):
        for one, reference in ((check, validator), (common, common_validator)):
            try:
                answer = one(node)
            except Unsure:
                continue
            answered += 1
            invalid += not answer
            assert answer == reference.is_valid(node), json.dumps(node)
    assert answered and invalid


def test_core_schemas_answer_as_is_valid() -> None:
    for kind in CORE:
        schema = _core_schema(kind)
        check = compile_check(schema)
        validator = jsonschema.Draft202012Validator(schema)
        base = {"id": "a", "type": kind if kind in ("tab", "subflow", "group") else "x", "z": "t"}
        for value in [base, *mutants(schema, base, schema), *ODD_VALUES]:
            try:
                answer = check(value)
            except Unsure:
                continue
            assert answer == validator.is_valid(value), (kind, value)


# ----- the rules jsonschema follows, one by one ---------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"enum": [1, "a"]}, True, False),  # True is not 1
        ({"enum": [0]}, False, False),
        ({"enum": [True]}, 1, False),
        ({"enum": [1]}, 1.0, True),
        ({"enum": [None]}, None, True),
        ({"enum": ["a"]}, None, False),
        ({"const": "a"}, "a", True),
        ({"type": "integer"}, 2.0, True),
        ({"type": "integer"}, 2.5, False),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, True, False),
        ({"type": ["string", "boolean"]}, False, True),
        ({"type": ["integer", "string"]}, [], False),
        ({"minimum": 0}, "not a number", True),
        ({"minimum": 0}, True, True),
        ({"minimum": 0}, -1, False),
        ({"minLength": 1}, "", False),
        ({"minLength": 1}, 5, True),
        ({"required": ["a"]}, "not an object", True),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"b": 1}, False),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x"}, True),
        ({"additionalProperties": {"type": "string"}}, {"a": 1}, False),
        ({"items": {"type": "string"}}, ["a", 1], False),
        ({"items": False}, [], True),
        ({"items": False}, [1], False),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 1, True),
        ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1, False),
        ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1.5, True),
        ({"not": {"type": "string"}}, 1, True),
        ({"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}}, "a", False),
        ({"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}}, 1, True),
        ({"$defs": {"s": {"type": "string"}}, "items": {"$ref": "#/$defs/s"}}, ["a", 2], False),
        ({"x-fatal": True, "description": "d", "format": "email"}, "not an email", True),
    ],
)
def test_keyword_rules(schema: dict, value: Any, valid: bool) -> None:
    assert jsonschema.Draft202012Validator(schema).is_valid(value) is valid
    assert compile_check(schema)(value) is valid


def test_a_recursive_schema() -> None:
    schema = {"$defs": {"tree": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}, "$ref": "#/$defs/tree"}
    check = compile_check(schema)
    assert check([[], [[]]]) is True
    assert check([[], [1]]) is False


@pytest.mark.parametrize(
    "schema",
    [
        {"pattern": "^a"},
        {"patternProperties": {"^a": {}}},
        {"uniqueItems": True},
        {"prefixItems": [{}], "items": {}},
        {"$ref": "https://example.com/other.json"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"},
        {"properties": {"a": {"dependentRequired": {"a": ["b"]}}}},
        {"type": "date"},
    ],
)
def test_what_is_not_compiled(schema: dict) -> None:
    assert compile_check(schema) is None


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"enum": [[1]]}, [1]),
        ({"enum": [1]}, decimal.Decimal(1)),
        ({"minimum": 0}, decimal.Decimal(-1)),
        ({"enum": [1.0]}, float("nan")),
    ],
)
def test_values_it_leaves_to_jsonschema(schema: dict, value: Any) -> None:
    with pytest.raises(Unsure):
        compile_check(schema)(value)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, width=16)
    | st.sampled_from(["", "a", "msg", "str", "true", "set"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["t", "p", "name", "v", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    type_name=st.sampled_from(sorted(SCHEMAS)),
    values=st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=4),
    which=st.integers(0, 30),
)
def test_random_values_answer_as_is_valid(type_name: str, values: dict, which: int) -> None:
    schema = SCHEMAS[type_name]
    node = {"id": "n", "type": type_name, "z": "t"}
    names = list(schema.get("properties") or {})
    if names:  # random values for real property names, and for random names
        for n, value in enumerate(values.values()):
            node[names[(which + n) % len(names)]] = value
    node.update(values)
    try:
        answer = compile_check(schema)(node)
    except Unsure:
        return
    assert answer == jsonschema.Draft202012Validator(schema).is_valid(node)


# ----- a schema that compiles is one jsonschema's check_schema accepts -------------------------

BAD_KEYWORD_VALUES: list[Any] = [
    None,
    -1,
    1.5,
    "x",
    "nope",
    [],
    [1, 1],
    ["a", "a"],
    {},
    {"type": "nope"},
    True,
]


def _sites(schema: Any, path: tuple = ()) -> list[tuple]:
    """(path to a dict, keyword) for every keyword of every subschema."""
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.append((path, key))
            if isinstance(value, (dict, list)):
                found += _sites(value, (*path, key))
    elif isinstance(schema, list):
        for n, value in enumerate(schema):
            found += _sites(value, (*path, n))
    return found


def _replaced(schema: dict, path: tuple, key: Any, value: Any) -> dict:
    out = copy.deepcopy(schema)
    here = out
    for part in path:
        here = here[part]
    here[key] = value
    return out


@pytest.mark.parametrize("type_name", sorted(SCHEMAS))
def test_a_schema_that_compiles_is_valid(type_name: str) -> None:
    import random

    schema = SCHEMAS[type_name]
    meta = jsonschema.Draft202012Validator
    meta.check_schema(schema)
    sites = [site for site in _sites(schema) if isinstance(_get(schema, site[0]), dict)]
    chosen = random.Random(type_name).sample(sites, min(12, len(sites)))
    compiled = refused = 0
    for path, key in chosen:
        for value in BAD_KEYWORD_VALUES:
            mutated = _replaced(schema, path, key, value)
            if compile_check(mutated) is None:
                refused += 1
                continue
            compiled += 1
            meta.check_schema(mutated)  # raises SchemaError if the compiled schema is not valid
    assert refused and (compiled or len(sites) == 1)


def _get(schema: Any, path: tuple) -> Any:
    for part in path:
        schema = schema[part]
    return schema


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "required": ["a", "a"]},
        {"type": ["string", "string"]},
        {"type": []},
        {"description": 1},
        {"title": None},
        {"deprecated": "yes"},
        {"examples": "x"},
        {"minLength": -1},
        {"minLength": 1.5},
        {"minimum": "0"},
        {"anyOf": []},
        {"properties": {"a": 1}},
        {"then": 1},
        {"$defs": {"unused": 1}},
        {"$defs": []},
    ],
)
def test_invalid_schemas_are_not_compiled(schema: dict) -> None:
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft202012Validator.check_schema(schema)
    assert compile_check(schema) is None


def test_a_node_type_with_an_invalid_schema_is_reported_once() -> None:
    from flowrt.engine.node import Node
    from flowrt.engine.registry import Registry

    class Broken(Node):
        schema = {"type": "object", "properties": {"a": {"type": "nope"}}}

    types = Registry()
    types.register("broken", Broken)
    nodes = [{"id": "tab1", "type": "tab"}] + [
        {"id": f"b{n}", "type": "broken", "z": "tab1"} for n in range(3)
    ]
    for quick in (True, False):
        problems = validate_deployment(
            Deployment(nodes=copy.deepcopy(nodes), sources={}), types, quick_checks=quick
        )
        invalid = [p for p in problems if "property schema" in p.message]
        assert [(p.node_id, p.severity) for p in invalid] == [("b0", "error")]
        assert "'nope' is not valid under any of the given schemas" in invalid[0].message
