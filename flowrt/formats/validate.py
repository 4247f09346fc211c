"""Validation of a loaded deployment.

:func:`validate_deployment` checks a merged :class:`~flowrt.formats.document.Deployment`
and returns every problem found in one pass (errors and warnings): document
structure (ids, types, wires, ``z``, ``g``), references between nodes,
subflow instances, unknown node types, and each node's properties against the
JSON Schema its node class declares (``schema`` class attribute).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flowrt.formats.document import Deployment, Problem, is_config_node, short_repr
from flowrt.formats.schemacheck import Check, Unsure, compile_check

__all__ = ["CORE_TYPES", "flow_schema", "validate_deployment", "validate_nodes_against_schema"]

# Document types that are not node classes: always known.
CORE_TYPES = frozenset({"tab", "subflow", "group"})
SUBFLOW_PREFIX = "subflow:"
CONTAINER_TYPES = ("tab", "subflow")

_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_MAX_MESSAGE = 240
_MAX_QUOTE = 60


@cache
def flow_schema() -> dict:
    """The JSON Schema of the flat Node-RED document (``flowrt/formats/schemas/flow.schema.json``)."""
    return json.loads((_SCHEMA_DIR / "flow.schema.json").read_text(encoding="utf-8"))


class PropertySchema:
    """The schema a node's properties are checked against: its quick check (schemacheck.py)
    and, made when a node does not pass that (or there is none), jsonschema's validator, which
    alone words the problems. jsonschema is imported only then: a flow whose nodes all pass
    never imports it (~0.1 s of CPU), nor checks the schema against its metaschema (a schema
    schemacheck compiles is one the metaschema accepts)."""

    def __init__(self, schema: dict, known_valid: bool = False) -> None:
        self.schema = schema
        self.quick: Check | None = compile_check(schema)
        self._known_valid = known_valid  # no check against the metaschema (the core schemas)
        self._validator: Any = None
        self.invalid = ""  # why the schema is invalid (then there is no validator)

    def passes(self, node: dict) -> bool:
        """True when `node` passes the quick check: jsonschema would report nothing."""
        if self.quick is None:
            return False
        try:
            return self.quick(node)
        except Unsure:
            return False

    def validator(self) -> Any:
        """jsonschema's validator for the schema, or None when the schema is invalid."""
        if self._validator is None and not self.invalid:
            self._validator, self.invalid = _schema_validator(self.schema, self._known_valid)
        return self._validator


@cache
def _core_schema(kind: str) -> PropertySchema:
    schema = flow_schema()
    sub = {"$schema": schema["$schema"], "$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}
    return PropertySchema(sub, known_valid=True)


def is_fatal(error: Any, schema: dict) -> bool:
    """Does a schema violation lie inside a subschema marked ``"x-fatal": true``?

    Such a mark says Node-RED refuses to start the node with that value (its constructor
    throws, or the flow does not start): validation reports an error. Every other violation
    is a warning. A missing required property is fatal when its own subschema is marked."""
    here: Any = schema
    path = list(error.absolute_schema_path)
    for key in path[:-1]:
        if isinstance(here, dict) and here.get("x-fatal") is True:
            return True
        if isinstance(here, dict) and key not in here and "$ref" in here:
            here = _resolve_ref(schema, here["$ref"])  # the error's path skips "$ref" hops
        if key == "$ref":
            continue
        try:
            here = here[key]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(here, dict):
        return False
    if here.get("x-fatal") is True:
        return True
    if error.validator == "required" and isinstance(error.instance, dict):
        properties = here.get("properties") or {}
        missing = [name for name in error.validator_value if name not in error.instance]
        return any(
            isinstance(properties.get(n), dict) and properties[n].get("x-fatal") is True for n in missing
        )
    return False


def _resolve_ref(schema: dict, ref: Any) -> Any:
    """A local "#/$defs/name" reference of `schema`, else an empty schema."""
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return (schema.get("$defs") or {}).get(ref[len("#/$defs/") :], {})
    return {}


def validate_nodes_against_schema(nodes: Any) -> list[str]:
    """Check a flat node list against flow.schema.json; returns readable error strings."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(flow_schema())
    return [
        f"{_json_path(e.absolute_path) or '(document)'}: {e.message}"
        for e in sorted(validator.iter_errors(nodes), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _json_path(path: Any) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _quote(value: Any) -> str:
    """A document value as a problem message shows it: repr, shortened."""
    return short_repr(value, _MAX_QUOTE)


def _id_list(ids: list[str], quoted: bool = False, most: int = 10) -> str:
    """'a', 'b', ... and N more: a list of ids short enough for one problem line."""
    shown = [item if quoted else _quote(item) for item in ids[:most]]
    more = f" and {len(ids) - most} more" if len(ids) > most else ""
    return ", ".join(shown) + more


def _js_falsy(value: Any) -> bool:
    """JavaScript's falsiness for a JSON value (an empty list or object is truthy there)."""
    return value is None or value is False or value == "" or (type(value) in (int, float) and not value)


def _cycles(edges: dict[str, list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """One cycle per strongly connected set of `edges` (node -> [(next node, label)]).

    Each cycle is [(node, label of its edge to the next)], starting at the smallest node in
    insertion order. Iterative (Tarjan), so a long chain cannot exhaust the stack."""
    order = {node: n for n, node in enumerate(edges)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[tuple[str, str]]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            successors = edges.get(node, [])
            if child < len(successors):
                work.append((node, child + 1))
                nxt = successors[child][0]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1 or any(to == node for to, _ in edges.get(node, [])):
                    found.append(_walk_cycle(edges, members, min(members, key=order.get)))
    found.sort(key=lambda cycle: order[cycle[0][0]])
    return found


def _walk_cycle(
    edges: dict[str, list[tuple[str, str]]], members: set[str], start: str
) -> list[tuple[str, str]]:
    """A path from `start` back to it inside one strongly connected set (breadth-first, shortest)."""
    previous: dict[str, tuple[str, str]] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for to, label in edges.get(node, []):
                if to not in members or to in previous:
                    continue
                previous[to] = (node, label)
                following.append(to)
        if start in previous:
            break
        frontier = following
    path: list[tuple[str, str]] = []
    node = start
    while True:
        before, label = previous[node]
        path.append((before, label))
        node = before
        if node == start:
            break
    path.reverse()
    return path


def _pairs(cycle: list[tuple[str, str]]) -> list[tuple[tuple[str, str], str]]:
    """((node, label), the node it points to) along a cycle."""
    return [(step, cycle[(n + 1) % len(cycle)][0]) for n, step in enumerate(cycle)]


class _Checker:
    def __init__(
        self, deployment: Deployment, registry: Any, allow_unknown: bool, quick_checks: bool = True
    ) -> None:
        self.deployment = deployment
        self.registry = registry
        self.allow_unknown = allow_unknown
        self.quick_checks = quick_checks
        self.problems: list[Problem] = []
        self.by_id: dict[str, dict] = {}
        self.first_index: dict[str, int] = {}
        self.schemas: dict[str, PropertySchema | None] = {}
        # missing wire target id -> [(index of source node, output number)]
        self.missing_targets: dict[str, list[tuple[int, int]]] = {}
        self._json_of: tuple[int, str | None] = (-1, None)  # the last node's JSON (its schema checks)

    def add(self, index: int | None, message: str, severity: str = "error", node: Any = None) -> None:
        file = line = None
        node_id = node_type = None
        if index is not None:
            file, line = self.deployment.origin(index)
            node = self.deployment.nodes[index]
        if isinstance(node, dict):
            node_id = node.get("id") if isinstance(node.get("id"), str) else None
            node_type = node.get("type") if isinstance(node.get("type"), str) else None
        self.problems.append(
            Problem(file, node_id, message, line=line, severity=severity, node_type=node_type)
        )

    def run(self) -> list[Problem]:
        nodes = self.deployment.nodes
        # First pass: ids (so that every later check sees the whole id set).
        usable: list[int] = []
        for index, node in enumerate(nodes):
            if self.check_identity(index, node):
                usable.append(index)
        unknown: dict[str, list[int]] = {}
        for index in usable:
            node = nodes[index]
            self.check_wires(index, node)
            self.check_scope(index, node)
            self.check_type(index, node, unknown)
        self.report_unknown(unknown)
        self.report_missing_targets()
        self.check_cycles()
        self.check_across_nodes(usable)
        return self.problems

    def check_across_nodes(self, usable: list[int]) -> None:
        """Warnings a node type finds over all its nodes: `cls.check_nodes(nodes)` returns
        (position in `nodes`, message) pairs (e.g. two `http in` nodes on one route)."""
        by_type: dict[str, list[int]] = {}
        for index in usable:
            node_type = self.deployment.nodes[index]["type"]
            if node_type not in CORE_TYPES and not node_type.startswith(SUBFLOW_PREFIX):
                by_type.setdefault(node_type, []).append(index)
        for node_type, indexes in by_type.items():
            cls = self.registry.get_type(node_type) if self.registry is not None else None
            check = getattr(cls, "check_nodes", None)
            if callable(check):
                for position, message in check([self.deployment.nodes[i] for i in indexes]):
                    self.add(indexes[position], message, severity="warning")

    def report_missing_targets(self) -> None:
        """One warning per missing wire target, naming every node wired to it."""
        for target, sources in self.missing_targets.items():
            nodes = self.deployment.nodes
            named = _id_list(
                [f"{_quote(nodes[i].get('id'))} output {port}" for i, port in sources], quoted=True
            )
            self.add(
                sources[0][0],
                f"wired to {_quote(target)}, which does not exist (from {named}): messages sent there are dropped",
                severity="warning",
            )

    # -- ids and types --------------------------------------------------

    def check_identity(self, index: int, node: Any) -> bool:
        if not isinstance(node, dict):
            self.add(index, f"item {index + 1} is not a node object")
            return False
        node_id = node.get("id")
        node_type = node.get("type")
        ok = True
        if not isinstance(node_id, str) or node_id == "":
            what = f" (type {_quote(node_type)})" if isinstance(node_type, str) else ""
            reason = "has no id" if node_id in (None, "") else f"has a non-string id {_quote(node_id)}"
            self.add(index, f"node {index + 1}{what} {reason}")
            ok = False
        if not isinstance(node_type, str) or node_type == "":
            reason = (
                "has no type" if node_type in (None, "") else f"has a non-string type {_quote(node_type)}"
            )
            self.add(index, f"node {reason}")
            ok = False
        if isinstance(node_id, str) and node_id:
            if node_id in self.first_index:
                first = self.first_index[node_id]
                first_file, _ = self.deployment.origin(first)
                this_file, _ = self.deployment.origin(index)
                if first_file and this_file and first_file != this_file:
                    where = f"in both {first_file} and {this_file}"
                elif first_file or this_file:
                    where = f"twice in {first_file or this_file}"
                else:
                    where = "twice"
                self.add(index, f"duplicate id {_quote(node_id)}: defined {where}")
                ok = False
            else:
                self.first_index[node_id] = index
                self.by_id[node_id] = node
        return ok

    # -- wires ---------------------------------------------------------

    def check_wires(self, index: int, node: dict) -> None:
        if node.get("type") == "subflow":
            self.check_subflow_ports(index, node)
        if "wires" not in node:
            return
        wires = node["wires"]
        if not isinstance(wires, list) or not all(isinstance(port, list) for port in wires):
            self.add(index, "wires must be a list of lists of node ids (one list per output)")
            return
        for port_no, port in enumerate(wires):
            for target in port:
                if not isinstance(target, str):
                    self.add(
                        index, f"wires[{port_no}] contains {_quote(target)}, which is not a node id string"
                    )
                elif target not in self.by_id:
                    self.missing_targets.setdefault(target, []).append((index, port_no + 1))

    def check_subflow_ports(self, index: int, node: dict) -> None:
        for key in ("in", "out"):
            ports = node.get(key)
            if not isinstance(ports, list):
                continue  # shape errors come from the subflow schema
            for port_no, port in enumerate(ports):
                wires = port.get("wires") if isinstance(port, dict) else None
                if not isinstance(wires, list):
                    continue
                for wire in wires:
                    target = wire.get("id") if isinstance(wire, dict) else None
                    if isinstance(target, str) and target not in self.by_id:
                        self.add(
                            index,
                            f"subflow {key} port {port_no + 1} is wired to {_quote(target)}, which does not exist",
                            severity="warning",
                        )

    # -- z and g -------------------------------------------------------

    def check_scope(self, index: int, node: dict) -> None:
        node_type = node["type"]
        z = node.get("z")
        if node_type in CONTAINER_TYPES:
            if z not in (None, ""):
                self.add(
                    index,
                    f"a {node_type} has z {_quote(z)}: tabs and subflows are always top-level, "
                    "Node-RED ignores their z and so does flowrt (remove it)",
                    "warning",
                )
        elif isinstance(z, str) and z:
            target = self._find(z)
            if target is None:
                self.add(index, f"z names {_quote(z)}, but there is no tab or subflow with that id")
            elif target.get("type") not in CONTAINER_TYPES:
                self.add(
                    index,
                    f"z names {_quote(z)}, which is a {_quote(target.get('type'))}, not a tab or subflow",
                )
        elif z not in (None, "") and not _js_falsy(z):
            self.add(index, f"z must be a string (the id of a tab or subflow), not {_quote(z)}")
        else:
            self.check_no_scope(index, node, z)
        if node_type not in CONTAINER_TYPES:
            self.check_group_ref(index, node)
        if "d" in node and not isinstance(node["d"], bool):
            self.add(
                index,
                f"d is {_quote(node['d'])}, not a boolean: Node-RED disables a node only when d is true, "
                "so this node runs",
                "warning",
            )

    def check_no_scope(self, index: int, node: dict, z: Any) -> None:
        """A node on no tab: a global config node, unless it has editor coordinates."""
        if z not in (None, ""):
            self.add(index, f"z is {_quote(z)}, which Node-RED reads as no z", "warning")
        if node["type"] == "group":
            self.add(
                index, "a group with no z belongs to no tab: Node-RED ignores it, so does flowrt", "warning"
            )
        elif "x" in node and "y" in node:
            self.add(
                index,
                "has editor coordinates (x, y) but no z, so it is neither on a tab nor a config node: "
                "Node-RED does not start it, nor does flowrt (give it the z of its tab)",
                "warning",
            )

    def check_group_ref(self, index: int, node: dict) -> None:
        g = node.get("g")
        if g in (None, ""):
            return
        if not isinstance(g, str):
            self.add(index, f"g must be a string (the id of a group), not {_quote(g)}")
            return
        group = self._find(g)
        ignored = "group env and group-scoped catch and status nodes do not apply to it"
        if node["type"] == "group":
            ignored = "it is a top-level group (Node-RED's runtime would never finish starting this flow)"
        if group is None:
            self.add(
                index,
                f"g names {_quote(g)}, but there is no group with that id: ignored, {ignored}",
                "warning",
            )
        elif group.get("type") != "group":
            self.add(
                index,
                f"g names {_quote(g)}, which is a {_quote(group.get('type'))}, not a group: ignored, {ignored}",
                "warning",
            )
        elif group.get("z") != node.get("z"):
            self.add(index, f"is in group {_quote(g)}, which belongs to another tab or subflow", "warning")

    def _find(self, node_id: str) -> dict | None:
        return self.by_id.get(node_id)

    # -- reference cycles (Node-RED hangs, recurses or refuses on each) ---

    def check_cycles(self) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        subflows: dict[str, list[tuple[str, str]]] = {}
        for node_id, node in self.by_id.items():
            node_type = node.get("type")
            if not isinstance(node_type, str):
                continue
            if node_type == "group":
                parent = self._find_typed(node.get("g"), "group")
                groups[node_id] = [(parent, "g")] if parent else []
            elif node_type.startswith(SUBFLOW_PREFIX) and self._find_typed(node.get("z"), "subflow"):
                inner = self._find_typed(node_type[len(SUBFLOW_PREFIX) :], "subflow")
                if inner:
                    subflows.setdefault(node["z"], []).append((inner, f"instance {_quote(node_id)}"))
        for cycle in _cycles(groups):
            chain = " -> ".join(_quote(node_id) for node_id, _ in cycle) + f" -> {_quote(cycle[0][0])}"
            where = "is inside itself" if len(cycle) == 1 else f"is in a circle of groups (by g): {chain}"
            self.add(
                self.first_index[cycle[0][0]], f"group {where}; Node-RED never finishes starting such a flow"
            )
        for cycle in _cycles(subflows):
            chain = (
                " -> ".join(f"{_quote(sf)} (by {how})" for sf, how in cycle) + f" -> {_quote(cycle[0][0])}"
            )
            self.add(
                self.first_index[cycle[0][0]],
                f"subflow contains an instance of itself: {chain}; it would be copied into itself forever",
            )
        for cycle in _cycles(self.config_references()):
            if len(cycle) == 1:
                what = f"config node names itself (property {_quote(cycle[0][1])} is its own id)"
            else:
                chain = ", ".join(
                    f"{_quote(node_id)}.{prop} names {_quote(to)}" for (node_id, prop), to in _pairs(cycle)
                )
                what = f"config nodes name each other in a circle ({chain})"
            self.add(
                self.first_index[cycle[0][0]],
                f"{what}: Node-RED refuses to start the flow (Circular config node dependency)",
            )

    def config_references(self) -> dict[str, list[tuple[str, str]]]:
        """Config node -> [(config node of the same tab it names, property)], as Flow.start orders them."""
        by_container: dict[str | None, dict[str, None]] = {}  # ordered sets
        for node_id, node in self.by_id.items():
            if isinstance(node.get("type"), str) and self._is_config(node):
                by_container.setdefault(self._container(node), {})[node_id] = None
        edges: dict[str, list[tuple[str, str]]] = {}
        for configs in by_container.values():
            for node_id in configs:
                node = self.by_id[node_id]
                edges[node_id] = [
                    (value, key)
                    for key, value in node.items()
                    if key not in ("id", "wires", "_users") and isinstance(value, str) and value in configs
                ]
        return {node_id: edges[node_id] for node_id in self.by_id if node_id in edges}  # document order

    def _is_config(self, node: dict) -> bool:
        return node["type"] not in CORE_TYPES and is_config_node(node) and node.get("d") is not True

    def _container(self, node: dict) -> str | None:
        z = node.get("z")
        return z if isinstance(z, str) and self._find_typed(z, *CONTAINER_TYPES) else None

    def _find_typed(self, node_id: Any, *types: str) -> str | None:
        """node_id when it names a node of one of `types`, else None."""
        if not isinstance(node_id, str):
            return None
        node = self.by_id.get(node_id)
        return node_id if node is not None and node.get("type") in types else None

    # -- types and property schemas --------------------------------------

    def check_type(self, index: int, node: dict, unknown: dict[str, list[int]]) -> None:
        node_type = node["type"]
        if node_type in CORE_TYPES:
            self.check_properties(index, node, _core_schema(node_type))
            return
        self.check_properties(index, node, _core_schema("common"))
        if node_type.startswith(SUBFLOW_PREFIX):
            self.check_properties(index, node, _core_schema("subflowInstance"))
            sf_id = node_type[len(SUBFLOW_PREFIX) :]
            definition = self._find(sf_id)
            if definition is None:
                self.add(index, f"is an instance of subflow {_quote(sf_id)}, which is not defined")
            elif definition.get("type") != "subflow":
                self.add(
                    index,
                    f"is an instance of subflow {_quote(sf_id)}, but that id is a {_quote(definition.get('type'))}",
                )
            return
        if self.registry is None:
            return
        cls = self.registry.get_type(node_type)
        if cls is None:
            unknown.setdefault(node_type, []).append(index)
            return
        schema = self.schema_for(node_type, cls, index)
        if schema is not None:
            self.check_properties(index, node, schema)

    def schema_for(self, node_type: str, cls: Any, index: int) -> PropertySchema | None:
        if node_type in self.schemas:
            return self.schemas[node_type]
        schema = getattr(cls, "schema", None)
        found = None
        if isinstance(schema, dict):
            # compiling a schema (and checking one against its metaschema) is slow: once per schema
            found = _TYPE_SCHEMAS.get(id(schema))
            if found is None or found.schema is not schema:
                found = _TYPE_SCHEMAS[id(schema)] = PropertySchema(schema)
            if (found.quick is None or not self.quick_checks) and found.validator() is None:
                self.add(
                    index, f"the property schema of node type {_quote(node_type)} is invalid: {found.invalid}"
                )
                found = None
        self.schemas[node_type] = found
        return found

    def check_properties(self, index: int, node: dict, schema: PropertySchema) -> None:
        if self.quick_checks and schema.passes(node):
            return  # valid: jsonschema would find nothing
        validator = schema.validator()
        if validator is None:  # a schema that compiles is valid (test_schemacheck.py): not met
            node_type = node["type"]
            if self.schemas.get(node_type) is not None:
                self.schemas[node_type] = None  # reported once, its nodes not checked further
                self.add(
                    index,
                    f"the property schema of node type {_quote(node_type)} is invalid: {schema.invalid}",
                )
            return
        # a node checked before against the same schema (a redeploy) is not checked again
        text = self._as_json(index, node)
        key = (id(schema.schema), text) if text is not None else None
        known = _FINDINGS.get(key) if key is not None else None
        findings = known[1] if known is not None else _schema_findings(node, validator)
        if key is not None and known is None:
            if len(_FINDINGS) >= _FINDINGS_MAX:
                _FINDINGS.clear()
            _FINDINGS[key] = (schema.schema, findings)  # the schema kept alive: its id stays its own
        for message, severity in findings:
            self.add(index, message, severity)

    def _as_json(self, index: int, node: dict) -> str | None:
        if self._json_of[0] != index:
            try:
                self._json_of = (index, json.dumps(node, sort_keys=True))
            except (TypeError, ValueError):
                self._json_of = (index, None)
        return self._json_of[1]

    def report_unknown(self, unknown: dict[str, list[int]]) -> None:
        for node_type, indexes in unknown.items():
            ids = [self.deployment.nodes[i]["id"] for i in indexes]
            files = {self.deployment.origin(i)[0] for i in indexes}
            file = files.pop() if len(files) == 1 else None
            first_file, first_line = self.deployment.origin(indexes[0])
            severity = "warning" if self.allow_unknown else "error"
            message = f"unknown node type {_quote(node_type)}"
            if len(ids) > 1:
                message += f", used by {len(ids)} nodes: {_id_list(ids)}"
            self.problems.append(
                Problem(
                    file,
                    ids[0] if len(ids) == 1 else None,
                    message,
                    line=first_line if len(ids) == 1 and file == first_file else None,
                    severity=severity,
                    node_type=None,
                )
            )


#: id of a node type's schema -> its PropertySchema (compiled once per process, not per deploy)
_TYPE_SCHEMAS: dict[int, PropertySchema] = {}


def _schema_validator(schema: dict, known_valid: bool) -> tuple[Any, str]:
    """(jsonschema's validator, "") for `schema`, or (None, why it is invalid)."""
    import jsonschema
    from jsonschema.exceptions import SchemaError

    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    if not known_valid:
        try:
            validator_cls.check_schema(schema)
        except SchemaError as exc:
            return None, _shorten(exc.message)
    return validator_cls(schema), ""


#: (id of a schema, a node as JSON) -> (the schema, what checking the node against it found)
_FINDINGS: dict[tuple[int, str], tuple[dict, list[tuple[str, str]]]] = {}
_FINDINGS_MAX = 50_000


def _schema_findings(node: dict, validator: Any) -> list[tuple[str, str]]:
    """(message, severity) for each way `node` breaks the validator's schema."""
    findings = []
    errors = sorted(validator.iter_errors(node), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        path = _json_path(error.absolute_path)
        where = f"property {_quote(path)}" if path else "properties"
        if is_fatal(error, validator.schema):
            findings.append(
                (f"{where}: {_shorten(error.message)} (Node-RED does not start the node)", "error")
            )
        else:
            findings.append((f"{where}: {_shorten(error.message)}", "warning"))
    return findings


def validate_deployment(
    deployment: Deployment, registry: Any, allow_unknown: bool = False, *, quick_checks: bool = True
) -> list[Problem]:
    """Return every problem (errors and warnings) of a deployment, in one pass.

    ``registry`` needs a ``get_type(type_name)`` method returning a node class
    or None; a class may carry a ``schema`` attribute (a JSON Schema dict for
    its configuration properties).  With ``registry=None`` node types are not
    checked.  Unknown types are errors unless ``allow_unknown`` (then warnings).
    ``quick_checks=False`` sends every node through jsonschema (the tests compare both ways:
    the problems are the same).
    """
    return list(deployment.notes) + _Checker(deployment, registry, allow_unknown, quick_checks).run()
