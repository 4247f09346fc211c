"""Flow documents: loading, merging, dumping and converting flow files.

A flow file is either a Node-RED JSON export or a YAML file in flowrt's own
authoring format (see ``flowrt.formats.yamlformat`` and docs/yaml-format.md).  Every
accepted shape is normalised to Node-RED's flat node list: a list of dicts,
one per tab, subflow, group, config node and flow node.

Malformed input never produces a traceback: problems are collected as
:class:`Problem` objects (file, node id, line and column when known) and
raised together in a :class:`FlowFileError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrt.formats.problems import FlowFileError, Problem, short_repr, value_kind
from flowrt.formats.yamlformat import dump_yaml, parse_yaml_with_lines

__all__ = [
    "Deployment",
    "FlowFileError",
    "Problem",
    "YAML_SUFFIXES",
    "add_missing_tabs",
    "convert_file",
    "dump_flow_file",
    "load_deployment",
    "load_flow_file",
    "short_repr",
]

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Deployment:
    """Nodes of one or more flow files merged into a single flat Node-RED configuration."""

    nodes: list[dict]
    sources: dict[str, str]  # node id -> file it came from (first file when an id is duplicated)
    # Per-node origin, aligned with ``nodes`` (may be left empty by callers that build a
    # Deployment by hand): the file each node came from and, for YAML files, its line.
    node_files: list[str | None] = field(default_factory=list)
    node_lines: list[int | None] = field(default_factory=list)
    #: One-line notes about what loading added (a tab made for nodes whose tab is not in the files).
    notes: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Node-RED's runtime creates the tab a node's z names when the flow file lacks it
        # (selection exports, clipboard copies, example flows); so do we, here, so that
        # validation, `flowrt run` and the runtime all see the same configuration.
        nodes, added = add_missing_tabs(self.nodes)
        if not added:
            return
        aligned = len(self.node_files) == len(self.nodes)
        lined = len(self.node_lines) == len(self.nodes)
        new_tabs = {index: (tab_id, users) for index, tab_id, users in added}
        files: list[str | None] = []
        lines: list[int | None] = []
        old_index = 0
        for new_index in range(len(nodes)):
            file, line = self.origin(old_index)  # a new tab's origin: its first node's
            if new_index in new_tabs:
                tab_id, users = new_tabs[new_index]
                files.append(file)
                lines.append(None)
                if file:
                    self.sources.setdefault(tab_id, file)
                self.notes.append(_missing_tab_note(file, line, tab_id, users))
            else:
                files.append(file)
                lines.append(line)
                old_index += 1
        self.nodes = nodes
        if aligned:
            self.node_files = files
        if lined:
            self.node_lines = lines

    def origin(self, index: int) -> tuple[str | None, int | None]:
        """(file, line) of ``nodes[index]``, as well as is known."""
        file = None
        line = None
        if len(self.node_files) == len(self.nodes):
            file = self.node_files[index]
        else:
            node = self.nodes[index]
            node_id = node.get("id") if isinstance(node, dict) else None
            if isinstance(node_id, str):
                file = self.sources.get(node_id)
        if len(self.node_lines) == len(self.nodes):
            line = self.node_lines[index]
        return file, line


def is_config_node(cfg: dict) -> bool:
    """A config node as Flow.start tells them apart: no editor coordinates. Hand-written flows
    have none either, so a node with wires counts as the flow node it is."""
    return "wires" not in cfg and not ("x" in cfg and "y" in cfg) and cfg.get("type") != "group"


def add_missing_tabs(nodes: list) -> tuple[list, list[tuple[int, str, list[str]]]]:
    """Node-RED's rule for a ``z`` that names no node: the runtime creates a tab of that id.

    Returns the node list with a ``{"id", "type": "tab"}`` inserted before the first node on
    each such tab (the same list object when nothing is missing), and for each added tab its
    index, its id and the ids of the nodes on it. Tabs and subflows are never members (their
    ``z`` is ignored, as Node-RED does); a ``z`` naming a node that is not a tab or subflow is
    left for validation to report.
    """
    known: set[str] = set()
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            known.add(node["id"])
    first_user: dict[str, int] = {}
    users: dict[str, list[str]] = {}
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or node.get("type") in ("tab", "subflow"):
            continue
        z = node.get("z")
        if isinstance(z, str) and z and z not in known:
            first_user.setdefault(z, index)
            users.setdefault(z, []).append(str(node.get("id")))
    if not first_user:
        return nodes, []
    result = list(nodes)
    added = []
    for offset, (tab_id, index) in enumerate(sorted(first_user.items(), key=lambda item: item[1])):
        result.insert(index + offset, {"id": tab_id, "type": "tab"})
        added.append((index + offset, tab_id, users[tab_id]))
    return result, added


def _missing_tab_note(file: str | None, line: int | None, tab_id: str, users: list[str]) -> Problem:
    shown = ", ".join(repr(u) for u in users[:3]) + (", ..." if len(users) > 3 else "")
    return Problem(
        file,
        tab_id,
        f"the flow has no tab {tab_id!r}: created it for the {len(users)} node(s) on it ({shown}), "
        "as Node-RED does for an export of selected nodes or a copied flow",
        line=line,
        severity="note",
        node_type="tab",
    )


# ---------------------------------------------------------------------------
# loading


def _is_yaml(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(YAML_SUFFIXES)


def _read_text(path: str | os.PathLike) -> str:
    """Read a file as UTF-8 (a BOM is tolerated); raise FlowFileError on failure."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FlowFileError([Problem(name, None, "file not found")]) from None
    except IsADirectoryError:
        raise FlowFileError([Problem(name, None, "is a directory, not a flow file")]) from None
    except OSError as exc:
        raise FlowFileError([Problem(name, None, f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FlowFileError(
            [Problem(name, None, "file is not valid UTF-8 text", line=line, column=col)]
        ) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, filename: str | None = None) -> list[dict]:
    """Parse a Node-RED JSON document (any accepted top-level shape) into a flat node list."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FlowFileError(
            [Problem(filename, None, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno)]
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise FlowFileError([Problem(filename, None, f"invalid JSON: {exc}")]) from None
    except RecursionError:
        raise FlowFileError([Problem(filename, None, "invalid JSON: nested too deeply")]) from None
    return normalise_document(data, filename)


def _check_node_list(items: Any, filename: str | None, where: str) -> tuple[list[dict], list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(items, list):
        return [], [
            Problem(filename, None, f"{where} must be a list of node objects, not {value_kind(items)}")
        ]
    nodes: list[dict] = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            nodes.append(item)
        else:
            problems.append(
                Problem(filename, None, f"{where}[{index}] must be a node object, not {value_kind(item)}")
            )
    return nodes, problems


def normalise_document(data: Any, filename: str | None = None) -> list[dict]:
    """Turn any accepted Node-RED top-level JSON shape into a flat node list.

    Accepted: the flat array export; ``{"flows": [...], "rev": ...}``; the
    single-flow object ``{"id", "type": "tab", "label", "nodes", "configs",
    "subflows"}`` (as used by Node-RED's ``/flow`` API); and the global-flow
    object ``{"id": "global", "configs", "subflows"}``.
    """
    if isinstance(data, list):
        nodes, problems = _check_node_list(data, filename, "document")
    elif isinstance(data, dict) and "flows" in data and "type" not in data:
        nodes, problems = _check_node_list(data["flows"], filename, "'flows'")
    elif isinstance(data, dict) and (
        data.get("type") == "tab" or (data.get("id") == "global" and "type" not in data)
    ):
        nodes, problems = _flatten_single_flow(data, filename)
    elif isinstance(data, dict):
        node_id = data.get("id") if isinstance(data.get("id"), str) else None
        problems = [
            Problem(
                filename,
                node_id,
                "unrecognised document: expected a list of nodes, an object with a 'flows' list, "
                "or a single flow object with type 'tab'",
            )
        ]
        nodes = []
    else:
        problems = [
            Problem(
                filename, None, f"unrecognised document: expected a list of nodes, not {value_kind(data)}"
            )
        ]
        nodes = []
    if problems:
        raise FlowFileError(problems)
    return nodes


_SINGLE_FLOW_CONTAINERS = ("nodes", "configs", "subflows")


def _flatten_single_flow(flow: dict, filename: str | None) -> tuple[list[dict], list[Problem]]:
    problems: list[Problem] = []
    is_global = flow.get("type") != "tab"
    tab_id = flow.get("id")
    if not is_global and not isinstance(tab_id, str):
        problems.append(Problem(filename, None, "single flow object has no string 'id'"))
        tab_id = None
    result: list[dict] = []
    if not is_global:
        result.append({k: v for k, v in flow.items() if k not in _SINGLE_FLOW_CONTAINERS})

    def scoped(key: str, owner: str | None) -> list[dict]:
        items = flow.get(key, [])
        nodes, found = _check_node_list(items, filename, f"'{key}'")
        problems.extend(found)
        for node in nodes:
            if node.get("type") in ("tab", "subflow") and key != "subflows":
                problems.append(
                    Problem(
                        filename, _str_or_none(node.get("id")), f"a {node['type']} cannot be inside '{key}'"
                    )
                )
        out = []
        for node in nodes:
            if owner is not None and "z" not in node:
                node = {**node, "z": owner}
            out.append(node)
        return out

    if not is_global:
        result.extend(scoped("nodes", tab_id))
        result.extend(scoped("configs", tab_id))
    else:
        if "nodes" in flow:
            problems.append(Problem(filename, None, "the global flow object cannot have 'nodes'"))
        result.extend(scoped("configs", None))

    subflows, found = _check_node_list(flow.get("subflows", []), filename, "'subflows'")
    problems.extend(found)
    for sf in subflows:
        sf_id = sf.get("id")
        definition = {k: v for k, v in sf.items() if k not in ("nodes", "configs")}
        result.append(definition)
        owner = sf_id if isinstance(sf_id, str) else None
        for key in ("nodes", "configs"):
            members, found = _check_node_list(sf.get(key, []), filename, f"subflow {sf_id!r} '{key}'")
            problems.extend(found)
            for node in members:
                result.append({**node, "z": owner} if owner is not None and "z" not in node else node)
    return result, problems


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _load_with_lines(path: str | os.PathLike) -> tuple[list[dict], list[int | None]]:
    text = _read_text(path)
    name = str(path)
    if _is_yaml(path):
        return parse_yaml_with_lines(text, name)
    nodes = parse_json(text, name)
    return nodes, [None] * len(nodes)


def load_flow_file(path: str | os.PathLike) -> list[dict]:
    """Load one flow file (Node-RED JSON in any export shape, or flowrt YAML).

    Returns the flat list of Node-RED node dicts.  Raises :class:`FlowFileError`
    for unreadable files, JSON/YAML syntax errors (with line and column) and
    wrong document shapes.
    """
    nodes, _lines = _load_with_lines(path)
    return nodes


def load_deployment(paths: Sequence[str | os.PathLike]) -> Deployment:
    """Load several flow files and merge them, in order, into one :class:`Deployment`.

    Every file is attempted; if any fail, a single :class:`FlowFileError`
    listing the problems of all files is raised.  Duplicate ids are not an
    error here: :func:`flowrt.formats.validate.validate_deployment` reports them.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    nodes: list[dict] = []
    files: list[str | None] = []
    lines: list[int | None] = []
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded, loaded_lines = _load_with_lines(path)
        except FlowFileError as exc:
            problems.extend(exc.problems)
            continue
        name = str(path)
        for node, line in zip(loaded, loaded_lines, strict=True):
            nodes.append(node)
            files.append(name)
            lines.append(line)
            node_id = node.get("id")
            if isinstance(node_id, str) and node_id not in sources:
                sources[node_id] = name
    if problems:
        raise FlowFileError(problems)
    return Deployment(nodes=nodes, sources=sources, node_files=files, node_lines=lines)


# ---------------------------------------------------------------------------
# dumping and converting


def dumps_json(nodes: list[dict]) -> str:
    """Node-RED's flat array form, indented by 4 like its flow files."""
    return json.dumps(nodes, indent=4, ensure_ascii=False) + "\n"


def dump_flow_file(nodes: list[dict], path: str | os.PathLike) -> None:
    """Write nodes to ``path``: ``.yaml``/``.yml`` in flowrt YAML, anything else as a Node-RED flat array."""
    if _is_yaml(path):
        text = dump_yaml(nodes)
    else:
        text = dumps_json(nodes)
    Path(path).write_text(text, encoding="utf-8")


def convert_file(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Convert a flow file between the JSON and YAML forms (either direction, chosen by extension)."""
    dump_flow_file(load_flow_file(src), dst)
