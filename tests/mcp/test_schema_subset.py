"""A tool schema is checked without jsonschema when it is plainly valid (issue 19: an idle MCP
server does not import jsonschema); the shortcut must never accept what check_schema refuses."""

from __future__ import annotations

import random
import subprocess
import sys

import jsonschema
import pytest

from flowrt.mcp import features
from flowrt.mcp.features import FeatureError, Tool, _plainly_valid


def random_value(rng: random.Random, depth: int) -> object:
    choices = [
        lambda: rng.choice(["object", "string", "integer", "number", "array", "boolean", "null", "objekt"]),
        lambda: rng.choice([0, 1, -1, 2.5, 0.0, True, False, None, 10**6]),
        lambda: rng.choice(["", "a", "^[a-z]+$", "[unclosed", "(?P<x>a)", "\\d{2,}"]),
        lambda: [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))],
        lambda: ["a", "a"],
        lambda: ["string", "null"],
        lambda: random_schema(rng, depth + 1),
        lambda: {"p": random_schema(rng, depth + 1), "q": random_value(rng, depth + 1)},
    ]
    if depth > 3:
        choices = choices[:3]
    return rng.choice(choices)()


KEYWORDS = [*features._KEYWORD_CHECKS, "$ref", "anyOf", "prefixItems", "unknownKeyword"]


def random_schema(rng: random.Random, depth: int = 0) -> object:
    if rng.random() < 0.1:
        return rng.choice([True, False])
    return {rng.choice(KEYWORDS): random_value(rng, depth) for _ in range(rng.randint(0, 4))}


def test_the_shortcut_accepts_only_schemas_check_schema_accepts():
    rng = random.Random(19)
    accepted = 0
    for _ in range(20_000):
        schema = random_schema(rng)
        if _plainly_valid(schema):
            accepted += 1
            jsonschema.Draft202012Validator.check_schema(schema)  # raises if the shortcut was wrong
    assert accepted > 1_000  # the generator does reach the shortcut's side


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": 5}}},
        {"type": "object", "properties": {"a": {"type": "string", "pattern": "[unclosed"}}},
        {"type": "object", "required": ["a", "a"]},
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": "0"}}},
    ],
)
def test_invalid_schemas_are_still_refused_when_the_tool_is_made(schema):
    with pytest.raises(FeatureError, match="not a valid JSON Schema"):
        Tool(name="t", start=lambda call: None, input_schema=schema)


def test_the_flagship_flow_serves_without_importing_jsonschema():
    code = (
        "import sys\n"
        "from flowrt.mcp.features import Tool\n"
        "t = Tool(name='t', start=lambda c: None, input_schema={'type': 'object', 'properties':"
        " {'name': {'type': 'string', 'pattern': '^[a-z0-9-]{1,64}$'}, 'n': {'type': 'number'}},"
        " 'required': ['name']})\n"
        "assert 'jsonschema' not in sys.modules, 'imported at once'\n"
        "from flowrt.mcp.features import schema_problems\n"
        "assert schema_problems(t.input_validator, {'name': 'Bad Name'}) == "
        "[\"name: 'Bad Name' does not match '^[a-z0-9-]{1,64}$'\"]\n"
        "assert 'jsonschema' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
