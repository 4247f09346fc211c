"""flowrt's YAML authoring format for flows.

The format is described in docs/yaml-format.md and by the JSON Schema
``flowrt/formats/schemas/flowrt-yaml.schema.json``.  In short::

    flows:                      # tabs, in order
      - id: hello
        label: Hello
        nodes:                  # flow nodes of the tab (``z`` is implied)
          - id: hello-in
            type: http in
            url: /hello
            method: get
            wires: [hello-set]  # one output: a flat list; several: [[a], [], [b]]
        groups: [...]           # group nodes of the tab
        config: [...]           # config nodes scoped to the tab
    subflows: [...]             # subflow definitions, each with nodes/groups/config
    config: [...]               # global config nodes
    nodes: [...]                # escape hatch: raw Node-RED node objects, nothing implied

Scalars are read with YAML 1.2 core-schema rules (``yes``/``no``/``on``/``off``
and dates stay strings) so that hand-written values mean what they look like.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from flowrt.formats.problems import FlowFileError, Problem, short_repr, value_kind

__all__ = ["dump_yaml", "parse_yaml", "parse_yaml_with_lines", "yaml_schema_path"]

SCHEMA_FILE = "flowrt-yaml.schema.json"

# Keys of a tab or subflow entry that hold its members rather than its own properties.
SECTION_KEYS = ("nodes", "groups", "config")
TOP_LEVEL_KEYS = ("flows", "subflows", "config", "nodes")


def yaml_schema_path() -> str:
    """Filesystem path of the JSON Schema of this format shipped inside the package."""
    from pathlib import Path

    return str(Path(__file__).resolve().parent / "schemas" / SCHEMA_FILE)


# ---------------------------------------------------------------------------
# scalar resolution (YAML 1.2 core schema, plus ``<<`` merge keys)

_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_MERGE_RE = re.compile(r"^(?:<<)$")

_RESOLVERS = [
    ("tag:yaml.org,2002:null", _NULL_RE, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT_RE, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT_RE, list("-+.0123456789")),
    ("tag:yaml.org,2002:merge", _MERGE_RE, ["<"]),
]

# Tags whose values could not be represented in JSON: refused when written explicitly.
_REFUSED_TAGS = (
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:pairs",
)


class _Rules:
    """flowrt's construction rules, shared by the C (libyaml) and the pure-Python loader."""

    yaml_implicit_resolvers: dict = {}
    yaml_constructors = {k: v for k, v in SafeConstructor.yaml_constructors.items() if k not in _REFUSED_TAGS}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # id(constructed dict or list) -> its start mark; (id, key or index) -> mark of that part
        self.flowrt_marks: dict[Any, Any] = {}

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = self.construct_scalar(node)
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        value = self.construct_scalar(node)
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(value)

    def construct_yaml_map(self, node: MappingNode) -> Iterator[dict]:
        data: dict = {}
        self.flowrt_marks[id(data)] = node.start_mark
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                self.flowrt_marks[(id(data), "key", key_node.value)] = key_node.start_mark
                self.flowrt_marks[(id(data), "value", key_node.value)] = value_node.start_mark
        yield data
        data.update(self.construct_mapping(node))

    def construct_yaml_seq(self, node: Any) -> Iterator[list]:
        data: list = []
        self.flowrt_marks[id(data)] = node.start_mark
        for index, item in enumerate(node.value):
            self.flowrt_marks[(id(data), "item", index)] = item.start_mark
        yield data
        data.extend(self.construct_sequence(node))

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        seen: set[str] = set()
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"keys must be strings, found {short_repr(key)} (quote it)",
                    key_node.start_mark,
                )
            if key in seen:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {short_repr(key)}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Loader(_Rules, yaml.SafeLoader):
    """Pure-Python reader, parser and composer."""


_LOADERS: list[type] = [_Loader]
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(_Rules, yaml.CSafeLoader):
        """libyaml's reader, parser and composer (much faster on big files); same rules and marks."""

    _LOADERS.insert(0, _CLoader)

for _cls in _LOADERS:
    _cls.yaml_implicit_resolvers = {}
    _cls.yaml_constructors = dict(_Rules.yaml_constructors)
    for _tag, _regexp, _first in _RESOLVERS:
        _cls.add_implicit_resolver(_tag, _regexp, _first)
    _cls.add_constructor("tag:yaml.org,2002:int", _Rules.construct_yaml_int)
    _cls.add_constructor("tag:yaml.org,2002:float", _Rules.construct_yaml_float)
    _cls.add_constructor("tag:yaml.org,2002:map", _Rules.construct_yaml_map)
    _cls.add_constructor("tag:yaml.org,2002:seq", _Rules.construct_yaml_seq)

#: Values aliases may add by expansion (each alias copies its anchor's value): beyond this a
#: document is refused, so a small file cannot expand exponentially ("billion laughs").
MAX_ALIAS_EXPANSION = 100_000


def _problem_from_yaml_error(exc: yaml.YAMLError, text: str, filename: str | None) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError):
        detail = exc.problem or exc.context or "syntax error"
        if exc.context and exc.problem:
            detail = f"{exc.problem} ({exc.context})"
    else:
        detail = str(exc)
    if mark is not None:
        return Problem(filename, None, f"invalid YAML: {detail}", line=mark.line + 1, column=mark.column + 1)
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return Problem(filename, None, f"invalid YAML: {detail}", line=line, column=column)
    return Problem(filename, None, f"invalid YAML: {detail}")


def _load(text: str, filename: str | None) -> tuple[Any, dict[int, Any]]:
    """Parse with libyaml when available; the pure-Python loader reports syntax errors (and reads
    what libyaml wrongly refuses, such as a tab after the indentation of a block scalar)."""
    for number, loader_class in enumerate(_LOADERS):
        loader = None
        try:
            loader = loader_class(text)
            root = loader.get_single_node()
            problem = _check_aliases(root, filename)
            if problem is not None:
                raise FlowFileError([problem])
            data = loader.construct_document(root) if root is not None else None
            return data, loader.flowrt_marks
        except yaml.YAMLError as exc:
            if number + 1 < len(_LOADERS):
                continue
            raise FlowFileError([_problem_from_yaml_error(exc, text, filename)]) from None
        except RecursionError:
            raise FlowFileError([Problem(filename, None, "invalid YAML: nested too deeply")]) from None
        finally:
            if loader is not None:
                loader.dispose()
    raise AssertionError("unreachable")


def _check_aliases(root: Any, filename: str | None) -> Problem | None:
    """Refuse an alias inside its own anchor, and aliases that expand beyond MAX_ALIAS_EXPANSION.

    Walks the composed node graph (where an alias is the anchored node itself, shared) once,
    without recursion: a node met again while still open is a recursive alias; the tree size
    with aliases expanded is counted per node, so a shared node is measured once."""
    if root is None:
        return None
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    distinct = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            open_nodes.discard(id(node))
            size[id(node)] = 1 + sum(size[id(child)] for child in _children(node))
            continue
        if id(node) in size:
            continue
        open_nodes.add(id(node))
        distinct += 1
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                mark = child.start_mark
                return Problem(
                    filename,
                    None,
                    f"invalid YAML: recursive alias (the value anchored at line {mark.line + 1} "
                    "contains an alias to itself)",
                    line=mark.line + 1,
                    column=mark.column + 1,
                )
            if id(child) not in size:
                stack.append((child, False))
    copies = size[id(root)] - distinct
    if copies > MAX_ALIAS_EXPANSION:
        return Problem(
            filename,
            None,
            f"invalid YAML: aliases expand this document by {copies:,} copied values (more than "
            f"{MAX_ALIAS_EXPANSION:,}): refused, as an alias bomb would be",
        )
    return None


def _children(node: Any) -> list:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


# ---------------------------------------------------------------------------
# parsing


def parse_yaml(text: str, filename: str | None = None) -> list[dict]:
    """Parse a flowrt YAML document into a flat list of Node-RED node dicts."""
    nodes, _lines = parse_yaml_with_lines(text, filename)
    return nodes


def parse_yaml_with_lines(text: str, filename: str | None = None) -> tuple[list[dict], list[int | None]]:
    """Like :func:`parse_yaml`, also returning the line each node starts on."""
    data, marks = _load(text, filename)
    return _Builder(filename, marks).build(data)


def expand_wires(value: Any) -> Any:
    """YAML wires -> Node-RED wires: a flat list of ids is one output; lists of lists are kept."""
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return [list(value)]
        if all(isinstance(item, list) for item in value):
            return [list(item) for item in value]
    return value


OMIT = object()  # compact_wires(): write no wires key at all


def compact_wires(value: Any) -> Any:
    """Node-RED wires -> YAML wires (the inverse of :func:`expand_wires`); OMIT for no outputs."""
    if isinstance(value, list) and all(
        isinstance(port, list) and all(isinstance(t, str) for t in port) for port in value
    ):
        if not value:
            return OMIT
        if len(value) == 1:
            return _FlowList(value[0])
        return _FlowList([list(port) for port in value])
    return value


def _derived_group_members(group_id: Any, members: list[dict]) -> list[str]:
    return [m["id"] for m in members if m.get("g") == group_id and isinstance(m.get("id"), str)]


class _Builder:
    def __init__(self, filename: str | None, marks: dict[Any, Any]) -> None:
        self.filename = filename
        self.marks = marks
        self.problems: list[Problem] = []
        self.lines: dict[int, int | None] = {}  # id(output node) -> line

    def line_of(self, obj: Any) -> int | None:
        mark = self.marks.get(id(obj))
        return mark.line + 1 if mark is not None else None

    def problem(self, obj: Any, message: str, node_id: str | None = None, part: tuple = ()) -> None:
        """Report a problem at ``obj`` or, when given, at ``part`` of it: ("key"|"value", k) or ("item", i)."""
        mark = self.marks.get((id(obj), *part)) if part else None
        if mark is None:
            mark = self.marks.get(id(obj))
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        self.problems.append(Problem(self.filename, node_id, message, line=line, column=column))

    def entries(self, owner: dict, key: str, where: str | None = None) -> list[dict]:
        where = f"{where}: " if where else ""
        value = owner.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(
                owner,
                f"{where}'{key}' must be a list, not {value_kind(value, 'a mapping')}",
                part=("value", key),
            )
            return []
        out = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                out.append(item)
            else:
                self.problem(
                    value,
                    f"{where}'{key}' item {index + 1} must be a mapping, not {value_kind(item, 'a mapping')}",
                    part=("item", index),
                )
        return out

    def build(self, data: Any) -> tuple[list[dict], list[int | None]]:
        if data is None:
            return [], []
        if isinstance(data, list):
            # A plain list: Node-RED's flat array written in YAML, nothing implied.
            result = []
            for index, item in enumerate(data):
                if isinstance(item, dict):
                    result.append(item)
                else:
                    self.problem(
                        data,
                        f"document item {index + 1} must be a mapping, not {value_kind(item, 'a mapping')}",
                        part=("item", index),
                    )
            self.finish()
            return [_plain(n) for n in result], [self.line_of(n) for n in result]
        if not isinstance(data, dict):
            message = (
                "expected a mapping with 'flows', 'subflows', 'config' or 'nodes' "
                f"(or a list of nodes), not {value_kind(data, 'a mapping')}"
            )
            raise FlowFileError([Problem(self.filename, None, message)])
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.problem(
                    data,
                    f"unknown top-level key {key!r} (expected one of: {', '.join(TOP_LEVEL_KEYS)})",
                    part=("key", key),
                )

        heads: list[dict] = []  # tab and subflow definitions
        bodies: list[dict] = []  # their members
        tabs = self.entries(data, "flows")
        subflows = self.entries(data, "subflows")
        tab_parts = [self.container(t, "tab") for t in tabs]
        sf_parts = [self.container(s, "subflow") for s in subflows]
        for head, _members in tab_parts:
            heads.append(head)
        for head, members in sf_parts:
            heads.append(head)
            heads.extend(members)
        for node in self.entries(data, "config"):
            bodies.append(self.copy(node))
        for _head, members in tab_parts:
            bodies.extend(members)
        for node in self.entries(data, "nodes"):
            bodies.append(self.copy(node))
        self.finish()
        result = heads + bodies
        lines = [self.lines.get(id(n)) for n in result]
        return [_plain(n) for n in result], lines

    def finish(self) -> None:
        if self.problems:
            raise FlowFileError(self.problems)

    def copy(self, source: dict) -> dict:
        node = dict(source)
        self.lines[id(node)] = self.line_of(source)
        return node

    def container(self, entry: dict, kind: str) -> tuple[dict, list[dict]]:
        """A tab or subflow entry -> (definition node, member nodes)."""
        cid = entry.get("id")
        label = f"{kind} {cid!r}" if isinstance(cid, str) else kind
        if not isinstance(cid, str) or not cid:
            self.problem(entry, f"{kind} entry needs a string 'id'")
        declared = entry.get("type", kind)
        if declared != kind:
            self.problem(
                entry, f"'type' must be {kind!r} here, not {declared!r}", _as_id(cid), ("value", "type")
            )
        head = {"id": cid, "type": kind}
        for key, value in entry.items():
            if key not in SECTION_KEYS and key not in ("id", "type"):
                head[key] = value
        if "id" not in entry:
            head.pop("id")
        self.lines[id(head)] = self.line_of(entry)

        groups = self.entries(entry, "groups", label)
        config = self.entries(entry, "config", label)
        nodes = self.entries(entry, "nodes", label)
        scope = {"z": cid} if isinstance(cid, str) else {}
        out_groups = []
        for g in groups:
            if g.get("type", "group") != "group":
                self.problem(
                    g,
                    f"'type' must be 'group' in 'groups', not {g['type']!r}",
                    _as_id(g.get("id")),
                    ("value", "type"),
                )
            out_groups.append(self.member(g, {"type": "group", **scope}))
        for entry in config + nodes:
            if entry.get("type") in ("tab", "subflow", "group"):
                where = "'groups'" if entry["type"] == "group" else "'flows' or 'subflows'"
                self.problem(
                    entry,
                    f"a {entry['type']} cannot be a member of {label}; it belongs in {where}",
                    _as_id(entry.get("id")),
                    ("value", "type"),
                )
        out_config = [self.member(c, scope) for c in config]
        out_nodes = []
        for n in nodes:
            node = self.member(n, scope)
            node["wires"] = expand_wires(node["wires"]) if "wires" in node else []
            out_nodes.append(node)
        everything = out_groups + out_nodes + out_config
        for group in out_groups:
            if "nodes" not in group:
                group["nodes"] = _derived_group_members(group.get("id"), everything)
        return head, out_groups + out_config + out_nodes

    def member(self, entry: dict, implied: dict) -> dict:
        """A section member with its implied properties (z, a group's type) filled in when absent."""
        implied = {k: v for k, v in implied.items() if k not in entry}
        # Node-RED's key order: id, type, z, then the rest.
        node: dict = {}
        if "id" in entry:
            node["id"] = entry["id"]
        node["type"] = entry["type"] if "type" in entry else implied.pop("type", None)
        if node["type"] is None:
            del node["type"]
        node.update(implied)
        for key, value in entry.items():
            if key not in node:
                node[key] = value
        self.lines[id(node)] = self.line_of(entry)
        return node


def _plain(value: Any) -> Any:
    """A fresh copy of nested dicts/lists, so values repeated through YAML aliases are not shared."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _as_id(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------
# dumping


class _FlowList(list):
    """A list written in YAML flow style: ``[a, b]``."""


def _literal_safe(text: str) -> bool:
    """Can ``text`` be written as a literal block (``|``) and read back identically?"""
    for ch in text:
        if ch in "\n\t":
            continue
        code = ord(ch)
        if code < 0x20 or 0x7F <= code <= 0x9F or ch in "\u2028\u2029\ufeff" or 0xD800 <= code <= 0xDFFF:
            return False
    # Lines made only of blanks would lose their blanks (they read back as empty lines).
    return all(line == "" or line.strip(" \t") != "" for line in text.split("\n"))


# Characters YAML readers treat as line breaks; PyYAML writes them raw and reads them back changed.
_UNICODE_BREAKS = "\x85\u2028\u2029"


class _Dumper(yaml.SafeDumper):
    def process_scalar(self) -> None:
        value = getattr(self.event, "value", "")
        if self.style == '"' and any(ch in _UNICODE_BREAKS for ch in value):
            # Escape everything outside ASCII in this scalar so the breaks are written as \N, \L, \P.
            saved = self.allow_unicode
            self.allow_unicode = False
            try:
                super().process_scalar()
            finally:
                self.allow_unicode = saved
        else:
            super().process_scalar()

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent block sequences under their key ("nodes:\n  - id: ...") for readability.
        super().increase_indent(flow, False)

    def analyze_scalar(self, scalar: str) -> Any:
        analysis = super().analyze_scalar(scalar)
        if not analysis.allow_block and "\n" in scalar and _literal_safe(scalar):
            # PyYAML refuses block style for trailing blanks and tabs; both survive a literal block.
            analysis.allow_block = True
        return analysis


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    if any(ch in _UNICODE_BREAKS for ch in data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _represent_flow_list(dumper: _Dumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_FlowList, _represent_flow_list)
# Quote any string that a YAML 1.1 *or* 1.2 reader would take for something else.
for _tag, _regexp, _first in _RESOLVERS:
    _Dumper.add_implicit_resolver(_tag, _regexp, _first)


def _is_container(node: Any, kind: str, id_counts: dict[str, int]) -> bool:
    return (
        isinstance(node, dict)
        and node.get("type") == kind
        and isinstance(node.get("id"), str)
        and node["id"] != ""
        and id_counts.get(node["id"]) == 1
        and "z" not in node
        and not any(key in node for key in SECTION_KEYS)
    )


def to_document(nodes: list[dict]) -> dict:
    """Arrange a flat Node-RED node list into the sections of the YAML format."""
    id_counts: dict[str, int] = {}
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            id_counts[node["id"]] = id_counts.get(node["id"], 0) + 1

    sections: dict[str, dict] = {}
    containers: set[int] = set()
    tabs: list[dict] = []
    subflows: list[dict] = []
    for node in nodes:
        for kind, bucket in (("tab", tabs), ("subflow", subflows)):
            if _is_container(node, kind, id_counts):
                entry: dict = {"id": node["id"]}
                entry.update({k: v for k, v in node.items() if k not in ("id", "type")})
                parts = {"entry": entry, "groups": [], "config": [], "nodes": []}
                sections[node["id"]] = parts
                containers.add(id(node))
                bucket.append(parts)

    top_config: list[dict] = []
    top_nodes: list[dict] = []
    for node in nodes:
        if not isinstance(node, dict):
            top_nodes.append(node)
            continue
        if id(node) in containers:
            continue
        z = node.get("z")
        ntype = node.get("type")
        if isinstance(z, str) and z in sections and ntype not in ("tab", "subflow"):
            parts = sections[z]
            member = {k: v for k, v in node.items() if k != "z"}
            if ntype == "group":
                del member["type"]
                parts["groups"].append(member)
            elif "wires" not in node:
                parts["config"].append(member)
            else:
                wires = compact_wires(node["wires"])
                if wires is OMIT:
                    del member["wires"]
                else:
                    member["wires"] = wires
                parts["nodes"].append(member)
        elif "z" not in node and "wires" not in node and ntype not in ("tab", "subflow", "group"):
            top_config.append(dict(node))
        else:
            top_nodes.append(dict(node))

    def section_entry(parts: dict) -> dict:
        entry = parts["entry"]
        everything = parts["groups"] + parts["nodes"] + parts["config"]
        for group in parts["groups"]:
            if "nodes" in group and group["nodes"] == _derived_group_members(group.get("id"), everything):
                del group["nodes"]
        for key in SECTION_KEYS:
            if parts[key]:
                entry[key] = parts[key]
        return entry

    doc: dict = {}
    if tabs:
        doc["flows"] = [section_entry(p) for p in tabs]
    if subflows:
        doc["subflows"] = [section_entry(p) for p in subflows]
    if top_config:
        doc["config"] = top_config
    if top_nodes:
        doc["nodes"] = top_nodes
    return doc


def dump_yaml(nodes: list[dict], schema: str | None = None) -> str:
    """Write a flat Node-RED node list as a flowrt YAML document.

    ``schema``, when given, is written as a ``yaml-language-server`` modeline so
    editors can validate and complete the file.
    """
    doc = to_document(nodes)
    header = ""
    if schema:
        header = f"# yaml-language-server: $schema={schema}\n"
    if not doc:
        return header + "{}\n"
    body = yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
        indent=2,
    )
    return header + body
