"""Writing changed flows back into an existing YAML flow file, keeping what the user wrote.

A deploy from the editor changes a few nodes; rewriting the file with `dump_yaml` would lose its
comments, key order and quoting, so `git diff` would show everything. Instead the file is loaded with
ruamel.yaml's round-trip loader (it keeps comments, order, flow/block style and scalar styles), the
new content (`to_document(nodes)`, the same arrangement `dump_yaml` writes) is merged into that tree
(nodes matched by `id`, unchanged values left as they were), and the tree is dumped again with the
file's own indentation.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from flowrt.formats.yamlformat import to_document

_DASH_AFTER_KEY = re.compile(r"^( *)[^\s#-][^\n]*:[ \t]*\n( *)- ", re.M)


def update_yaml(old_text: str, nodes: list[dict]) -> str:
    """`old_text` (a flowrt YAML flow file) changed to hold `nodes`, touching only what differs."""
    yaml = round_trip_yaml(old_text)
    old = yaml.load(old_text)
    new = to_document(nodes)
    merged = _merge(old, new) if isinstance(old, CommentedMap) else new
    out = io.StringIO()
    yaml.dump(merged, out)
    return out.getvalue()


def round_trip_yaml(text: str) -> YAML:
    """A ruamel.yaml round-trip loader/dumper set to `text`'s own indentation."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1_000_000
    mapping, sequence, offset = _indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _indentation(text: str) -> tuple[int, int, int]:
    """The file's own indentation: (mapping, sequence, dash offset), from its first nested list."""
    match = _DASH_AFTER_KEY.search(text)
    if not match:
        return 2, 2, 0
    offset = max(0, len(match.group(2)) - len(match.group(1)))
    return 2, offset + 2, offset


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        return _merge_map(old, new)
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        return _merge_seq(old, new)
    if not isinstance(old, (dict, list)) and _same_scalar(old, new):
        return old  # same value: keep its quoting and block style
    if isinstance(old, LiteralScalarString) and isinstance(new, str) and "\n" in new:
        return LiteralScalarString(new)
    return fresh_value(new)


def _same_scalar(old: Any, new: Any) -> bool:
    if isinstance(new, (dict, list)) or isinstance(old, bool) != isinstance(new, bool):
        return False
    return isinstance(old, str) == isinstance(new, str) and old == new


def _merge_map(old: CommentedMap, new: dict) -> CommentedMap:
    for key in [k for k in old if k not in new]:
        del old[key]
    for key, value in new.items():
        old[key] = _merge(old[key], value) if key in old else fresh_value(value)
    return old


def _merge_seq(old: CommentedSeq, new: list) -> CommentedSeq:
    old_ids = [_id(item) for item in old]
    new_ids = [_id(item) for item in new]
    if None in old_ids or None in new_ids or len(set(new_ids)) != len(new_ids):
        if len(old) == len(new):
            for i, value in enumerate(new):
                old[i] = _merge(old[i], value)
            return old
        return _styled_like(old, new)
    wanted = set(new_ids)
    for i in range(len(old) - 1, -1, -1):  # del shifts the comments of later items with them
        if _id(old[i]) not in wanted:
            del old[i]
    for i, item in enumerate(new):
        node_id = _id(item)
        found = next((j for j in range(i, len(old)) if _id(old[j]) == node_id), None)
        if found is None:
            old.insert(i, fresh_value(item))
            continue
        if found != i:
            old.insert(i, old.pop(found))
        old[i] = _merge(old[i], item)
    return old


def _id(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None


def _styled_like(old: CommentedSeq, new: list) -> CommentedSeq:
    seq = CommentedSeq(fresh_value(v) for v in new)
    if old.fa.flow_style():
        seq.fa.set_flow_style()
    return seq


def fresh_value(value: Any) -> Any:
    """A plain value as ruamel will write it: multi-line strings as literal blocks, short lists
    of scalars (wires) in flow style, as dump_yaml writes them."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = fresh_value(item)
        return out
    if isinstance(value, list):
        seq = CommentedSeq(fresh_value(v) for v in value)
        if all(not isinstance(v, (dict, list)) for v in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and "\n" in value and "\t" not in value and not value.endswith((" ", "\n\n")):
        return LiteralScalarString(value)
    return value
