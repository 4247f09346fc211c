"""What the editor deploys: `GET/POST /flows`, the revision, credentials and writing flows back to files.

- The revision is Node-RED's: sha256 of the flows' JSON text, opaque to the client. A deploy that
  carries a stale `rev` gets 409 `version_mismatch` (the editor then shows its conflict dialog).
- A deploy is validated like `flowrt validate`; one with errors answers 400 with the problems and the
  running flows stay as they were.
- Credentials never leave the server in `GET /flows`. A deploy's `credentials` are merged as
  Node-RED's credentials.extract does (`"__PWRD__"`: keep the stored password, `""`: delete) and
  kept in `<flow file stem>_cred.json` beside the flow file, encrypted as Node-RED does
  (credentials.CredentialStore), not in the flow file.
- Each node is written back to the file it was loaded from (its tab's file for a new node; the
  first file for a new tab); the previous content is kept as `.<name>.backup`, as Node-RED does.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from flowrt.editor.credentials import (  # noqa: F401 (re-exported: the deploy path uses them from here)
    PASSWORD_UNCHANGED,
    CredentialStore,
    apply_credentials,
    credentials_file,
    merge_credentials,
    node_credentials,
)
from flowrt.formats.document import YAML_SUFFIXES, Deployment, dump_flow_file, dumps_json, is_config_node
from flowrt.formats.validate import validate_deployment
from flowrt.formats.yamlroundtrip import update_yaml


def revision(flows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(flows, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def without_credentials(flows: list[dict]) -> list[dict]:
    return [
        {k: v for k, v in node.items() if k != "credentials"} if "credentials" in node else node
        for node in flows
    ]


def without_generated_positions(flows: list[dict], generated: dict[str, tuple[int, int]]) -> list[dict]:
    """A deploy's nodes without the positions `laid_out` made up, where the user did not move them,
    so that writing back a hand-written file does not add x/y to every node."""
    out = []
    for node in flows:
        spot = generated.get(node.get("id"))
        if spot is not None and (node.get("x"), node.get("y")) == spot:
            node = {k: v for k, v in node.items() if k not in ("x", "y")}
        out.append(node)
    return out


def laid_out(flows: list[dict]) -> list[dict]:
    """Flows with a position for every flow node that has none (hand-written YAML): one column per
    wire depth from the tab's first nodes, one row per node in file order. Placed nodes stay put."""
    missing = [n for n in flows if "z" in n and not is_config_node(n) and ("x" not in n or "y" not in n)]
    if not missing:
        return flows
    depth: dict[str, int] = {}
    targets = {n.get("id"): [t for port in n.get("wires") or [] for t in port or []] for n in flows}
    wired_to = {t for ts in targets.values() for t in ts}
    for node in flows:
        if node.get("id") not in wired_to:
            _assign_depth(node.get("id"), 0, targets, depth)
    rows: dict[tuple[str, int], int] = {}
    placed = []
    for node in flows:
        if node in missing:
            column = depth.get(node.get("id"), 0)
            row = rows.get((node.get("z"), column), 0)
            rows[(node.get("z"), column)] = row + 1
            node = {**node, "x": 140 + 200 * column, "y": 80 + 60 * row}
        placed.append(node)
    return placed


def _assign_depth(node_id: Any, level: int, targets: dict, depth: dict) -> None:
    stack = [(node_id, level)]
    while stack:
        current, level = stack.pop()
        if current in depth and depth[current] >= level or level > 1000:
            continue
        depth[current] = level
        stack.extend((t, level + 1) for t in targets.get(current, ()))


def validation_problems(flows: list[dict], registry: Any, allow_unknown: bool) -> list[str]:
    deployment = Deployment(nodes=[dict(n) for n in flows], sources={})
    problems = validate_deployment(deployment, registry, allow_unknown=allow_unknown)
    return [str(p) for p in problems if p.severity == "error"]


class FlowFiles:
    """Where deployed flows are written: the loaded files, each node back to its own file."""

    def __init__(self, paths: list[str], sources: dict[str, str]) -> None:
        self.paths = [str(p) for p in paths]
        self.sources = dict(sources)
        self.credential_store: CredentialStore | None = None  # set by start_editor (credentialSecret)

    def file_for(self, node: dict) -> str:
        first = self.paths[0]
        node_id = node.get("id")
        if node_id in self.sources:
            return self.sources[node_id]
        tab = node.get("z")
        if isinstance(tab, str) and tab in self.sources:
            return self.sources[tab]
        return first

    def write(self, flows: list[dict], credentials: dict[str, dict]) -> list[str]:
        """Write `flows` (credentials removed) back; returns the files written."""
        if not self.paths:
            return []
        by_file: dict[str, list[dict]] = {p: [] for p in self.paths}
        for node in without_credentials(flows):
            path = (
                self.file_for(node)
                if not is_config_node(node) or node.get("id") in self.sources
                else self.paths[0]
            )
            by_file.setdefault(path, []).append(node)
            if isinstance(node.get("id"), str):
                self.sources[node["id"]] = path
        for path, nodes in by_file.items():
            _write_with_backup(Path(path), nodes)
        store = self.credential_store or CredentialStore(
            credentials_file(self.paths[0]), {"credentialSecret": False}
        )
        store.save(credentials)
        return list(by_file)


def _write_with_backup(path: Path, nodes: list[dict]) -> None:
    if path.exists():
        backup = path.with_name(f".{path.name}.backup")
        backup.write_bytes(path.read_bytes())
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")  # same suffix: same format
    if path.suffix in YAML_SUFFIXES and path.exists():
        # YAML stays YAML as the user wrote it: comments, order and styles of untouched nodes kept
        tmp.write_text(update_yaml(path.read_text(encoding="utf-8"), nodes), encoding="utf-8")
    elif path.suffix in YAML_SUFFIXES:
        dump_flow_file(nodes, tmp)
    else:
        tmp.write_text(pretty_json(nodes), encoding="utf-8")
    os.replace(tmp, path)


#: a node as compact JSON -> its lines in the pretty flow file (the unchanged nodes of a deploy)
_PRETTY: dict[str, str] = {}


def pretty_json(nodes: list[dict]) -> str:
    """The same text as `dumps_json(nodes)` (indent 4, as Node-RED writes flow files), made from
    each node's text, kept for the next deploy: json's indenting encoder is pure Python, about
    100 ms for 1,000 nodes, where the compact one used as the key is C."""
    if not nodes:
        return dumps_json(nodes)
    if len(_PRETTY) > 50_000:
        _PRETTY.clear()
    parts = []
    for node in nodes:
        key = json.dumps(node, ensure_ascii=False)
        text = _PRETTY.get(key)
        if text is None:
            lines = json.dumps(node, indent=4, ensure_ascii=False).split("\n")
            text = _PRETTY[key] = "\n".join("    " + line for line in lines)
        parts.append(text)
    return "[\n" + ",\n".join(parts) + "\n]\n"
