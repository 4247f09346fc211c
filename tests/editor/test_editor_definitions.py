"""flowrt's own node types ship editor definitions whose `defaults` hold every schema property:
the editor exports only `defaults`, so a property missing there is lost by a round trip."""

from __future__ import annotations

import re

import pytest

from flowrt.editor.nodesets import build_node_sets, generated_definition
from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry


def defaults_of(html: str, type_name: str) -> set[str]:
    start = (
        html.index(f'registerType("{type_name}"')
        if f'registerType("{type_name}"' in html
        else html.index(f"registerType('{type_name}'")
    )
    block = html[start:]
    body = block[block.index("defaults") :]
    depth, end = 0, 0
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                end = i
                break
    return set(re.findall(r"^\s*([A-Za-z_$][\w$]*)\s*:", body[: end + 1], re.M)) - {
        "defaults",
        "value",
        "required",
        "validate",
        "type",
    }


@pytest.fixture(scope="module")
def own_sets(editor_files):
    load_builtin_nodes()
    return [s for s in build_node_sets(editor_files, registry, "test") if s.module == "flowrt"]


def test_own_html_defaults_cover_every_schema_property(own_sets):
    shipped = [s for s in own_sets if s.html_path is not None]
    assert {"python-function", "sse-session", "sse-send"} <= {t for s in shipped for t in s.types}
    for node_set in shipped:
        html = node_set.html("en-US")
        for type_name in node_set.types:
            props = set((registry.get_type(type_name).schema or {}).get("properties") or {})
            missing = props - defaults_of(html, type_name)
            assert not missing, f"{node_set.html_path}: {type_name} defaults lack {sorted(missing)}"
            assert f'data-help-name="{type_name}"' in html


def test_generated_definition_holds_every_schema_property():
    class Example:
        """Example node for the generated form."""

        schema = {
            "properties": {
                "text": {"type": "string"},
                "flag": {"type": "boolean"},
                "table": {"type": "object"},
            }
        }

    html = generated_definition("example-type", Example)
    for prop in ("text", "flag", "table"):
        assert f'"{prop}": {{"value"' in html
    assert 'data-template-name="example-type"' in html and 'registerType("example-type"' in html
