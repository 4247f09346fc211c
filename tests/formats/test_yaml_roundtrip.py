"""Writing flows back into a YAML file keeps what the user wrote: comments, order, styles."""

from __future__ import annotations

import copy
import difflib

from flowrt.formats.yamlformat import parse_yaml
from flowrt.formats.yamlroundtrip import update_yaml

TEXT = """\
# My flows: a comment the editor must not eat
flows:
  - id: main
    label: Main            # the tab
    nodes:
      - id: in
        type: http in
        url: /a            # the path
        method: get
        wires: [fn]
      - id: fn
        type: function
        func: |
          // keep me
          return msg;
        wires: [out]
      - id: out
        type: http response
      - id: note
        type: comment
        name: 'single quoted'
"""


def changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_unchanged_flows_give_the_same_text():
    assert update_yaml(TEXT, parse_yaml(TEXT)) == TEXT


def test_one_changed_property_changes_one_line():
    nodes = parse_yaml(TEXT)
    next(n for n in nodes if n["id"] == "in")["url"] = "/b"
    out = update_yaml(TEXT, nodes)
    assert changed_lines(TEXT, out) == [
        "-        url: /a            # the path",
        "+        url: /b            # the path",
    ]
    assert parse_yaml(out) == nodes


def test_added_removed_and_moved_nodes():
    nodes = parse_yaml(TEXT)
    nodes = [n for n in nodes if n["id"] != "note"]
    nodes.insert(1, {"id": "dbg", "type": "debug", "z": "main", "active": True, "wires": []})
    fn = next(n for n in nodes if n["id"] == "fn")
    fn["func"] = "// keep me\nmsg.payload = 1;\nreturn msg;\n"
    out = update_yaml(TEXT, copy.deepcopy(nodes))
    assert parse_yaml(out) == nodes
    assert "# My flows: a comment the editor must not eat" in out and "# the tab" in out
    assert "single quoted" not in out
    assert "      - id: dbg\n" in out and "        func: |\n" in out


def test_a_file_with_unindented_lists_keeps_its_style():
    text = "flows:\n- id: t\n  nodes:\n  - id: a\n    type: comment\n    name: x\n"
    nodes = parse_yaml(text)
    nodes[1]["name"] = "y"
    out = update_yaml(text, nodes)
    assert out == text.replace("name: x", "name: y")
