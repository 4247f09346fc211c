"""What a deploy changes: the difference between the running configuration and a new one.

Node-RED's `diffConfigs` (@node-red/runtime/lib/flows/util.js) is the specification; this is
our own code for the same rules. Both configurations are flat lists of node configs.

- **added**: nodes (and tabs) that are new, and every node of a tab that was disabled and is
  enabled now.
- **removed**: nodes that are gone, nodes whose tab is gone or disabled now, nodes disabled now
  (`d: true`), and such tabs.
- **changed**: nodes whose properties differ (positions and wires do not count; for a group
  neither do its members, style or size), whose credentials differ, or that name a changed or
  removed node in a property (a config node's users, and their users in turn); the members of a
  changed group; every instance of a subflow whose definition or inner nodes changed (an inner
  node never appears itself: its subflow does). A tab or subflow holding an added, changed,
  removed or rewired node is listed as changed too.
- **rewired**: nodes whose wires changed (only their wires).
- **linked**: nodes wired, directly or through others, to any of the above (old or new wires).
- **flow_changed**: tabs whose `env` changed: they restart as a whole.
- **global_config_changed**: the `global-config` node changed: every deploy type restarts all.

`restarted(deploy_type)` is what a deploy type stops and starts again (Node-RED's stop list):
`nodes` stops the changed and removed nodes (rewired ones get their new wires in place); `flows`
also stops the linked and rewired ones, so whole wired-together groups of nodes restart.

Two places where JavaScript's rules decide and this module follows them: a property value is
compared with node ids as JavaScript turns it into an object key (a list of one id names that
id, a number names the id spelled with its digits), and values compare strictly (`true` is not
`1`, `false` is not `0`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

DEPLOY_TYPES = ("full", "nodes", "flows")
#: Properties of a node that never make it "changed" (positions, and wires: those are "rewired").
_IGNORED = frozenset({"x", "y", "wires"})
#: A group's properties that do not count either: its members and how it is drawn.
_GROUP_IGNORED = _IGNORED | {"nodes", "style", "w", "h"}
#: Properties not read as references to other nodes when propagating changes.
_NOT_REFERENCES = frozenset({"z", "id", "wires"})


@dataclass(frozen=True)
class ConfigDiff:
    """The ids each kind of change applies to, in the order the configurations list them."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    rewired: list[str]
    linked: list[str]
    flow_changed: list[str]
    global_config_changed: bool = False

    def restarted(self, deploy_type: str) -> set[str]:
        """The ids a `nodes` or `flows` deploy stops (those still deployed start again)."""
        if deploy_type == "nodes":
            return {*self.changed, *self.removed}
        if deploy_type == "flows":
            return {*self.changed, *self.removed, *self.linked, *self.rewired}
        raise ValueError(f"a partial deploy is 'nodes' or 'flows', not {deploy_type!r}")

    @property
    def restarted_flows(self) -> set[str]:
        """Tabs that stop and start as a whole: added, removed (or disabled / enabled), env changed."""
        return {*self.flow_changed, *self.added, *self.removed}

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.rewired or self.flow_changed)


# ----- comparing values as JavaScript does ----------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """Deep equality with JavaScript's strictness (Node-RED's compareObjects): `True` is not `1`."""
    kind = type(a)
    if kind is str or kind is bool or type(b) is bool:
        return kind is type(b) and a == b
    if kind is dict or kind is list:
        if type(b) is not kind or a != b:  # Python's == is looser than JavaScript's, never stricter
            return False
        try:  # equal as JSON text: the same types too (true is not 1)
            return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or _same_deep(a, b)
        except (TypeError, ValueError):
            return _same_deep(a, b)
    return _same_deep(a, b)


def _same_deep(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_deep(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_same_deep(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def js_key(value: Any) -> str:
    """`value` turned into a property key as JavaScript does (`String(value)`)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if item is None else js_key(item) for item in value)
    return "[object Object]"


def _truthy(value: Any) -> bool:
    """JavaScript truthiness: an empty object or list is true."""
    if isinstance(value, (dict, list)):
        return True
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def node_changed(old: dict | None, new: dict) -> bool:
    """Does `new` differ materially from `old` (Node-RED's diffNodes)? Positions and wires do not
    count, nor a group's members, style and size."""
    if old is None:
        return True
    old_keys = [k for k in old if k not in (_GROUP_IGNORED if old.get("type") == "group" else _IGNORED)]
    new_keys = [k for k in new if k not in (_GROUP_IGNORED if new.get("type") == "group" else _IGNORED)]
    if len(old_keys) != len(new_keys):
        return True
    return any(key not in old or not same_value(old[key], new[key]) for key in new_keys)


# ----- the diff -------------------------------------------------------------------------------


def _by_id(configs: list[dict] | None) -> dict[str, dict]:
    return {c["id"]: c for c in configs or [] if isinstance(c, dict) and isinstance(c.get("id"), str)}


def _wire_targets(config: dict) -> list[str] | None:
    """The ids a node's wires name (as object keys), or None when it has no wires list."""
    wires = config.get("wires")
    if not isinstance(wires, list):
        return None
    targets = []
    for port in wires:
        # a port is a list of ids; Node-RED's own tests also write it as a bare id string
        if isinstance(port, (list, str)):
            targets.extend(js_key(t) for t in port)
    return targets


class _Differ:
    """One diff's working state (Node-RED's local maps, one attribute each)."""

    def __init__(self, old: dict[str, dict], new: dict[str, dict]) -> None:
        self.old, self.new = old, new
        self.added: dict[str, dict] = {}
        self.removed: dict[str, dict] = {}
        self.changed: dict[str, dict | bool] = {}  # True: marked as a member of a changed group
        self.rewired: dict[str, dict] = {}
        self.flow_changed: dict[str, dict] = {}
        self.changed_subflows: dict[str, dict] = {}
        self.global_config_changed = False
        self.links: dict[str, list[str]] = {}  # every node wired to each node, old or new wires

    def _container(self, config: dict) -> dict | None:
        z = config.get("z")
        return self.new.get(z) if isinstance(z, str) else None

    def mark_container_changed(self, config: dict) -> bool:
        """Mark the tab or subflow holding `config` as changed; True if it is a subflow."""
        container = self._container(config)
        if container is None:
            return False
        self.changed[container["id"]] = container
        if container.get("type") == "subflow":
            self.changed_subflows[container["id"]] = container
            return True
        return False

    def link(self, node_id: str, targets: list[str], known: dict[str, dict]) -> None:
        mine = self.links.setdefault(node_id, [])
        for target in targets:
            if target not in mine:
                mine.append(target)
            if target in known:
                theirs = self.links.setdefault(target, [])
                if node_id not in theirs:
                    theirs.append(node_id)

    # -- steps, in Node-RED's order ------------------------------------------------------------

    def tabs_removed_or_toggled(self) -> None:
        old_tabs = [n for n in self.old.values() if n.get("type") == "tab"]
        new_tabs = {n["id"] for n in self.new.values() if n.get("type") == "tab"}
        for tab in old_tabs:
            if tab["id"] not in new_tabs:
                self.removed[tab["id"]] = tab
        for tab in old_tabs:
            if tab["id"] in new_tabs:
                was = bool(tab.get("disabled"))
                now = bool(self.new[tab["id"]].get("disabled"))
                if was and not now:
                    self.added[tab["id"]] = tab
                elif now and not was:
                    self.removed[tab["id"]] = tab

    def old_nodes(self) -> None:
        for node_id, node in self.old.items():
            if node.get("type") == "tab":
                if node_id not in self.removed and node_id in self.new:
                    env_before = json.dumps(node.get("env"), sort_keys=False)
                    if env_before != json.dumps(self.new[node_id].get("env"), sort_keys=False):
                        self.flow_changed[node_id] = self.new[node_id]
                continue
            targets = _wire_targets(node)
            if targets is not None:
                self.link(node_id, targets, self.old)
            z = node.get("z")
            if (isinstance(z, str) and z in self.removed) or node_id not in self.new:
                self.removed[node_id] = node
                if not (isinstance(z, str) and z in self.removed):
                    self.mark_container_changed(node)
            elif isinstance(z, str) and z in self.added:
                self.added[node_id] = node  # its tab was enabled
            else:
                self._compare(node_id, node, self.new[node_id])

    def _compare(self, node_id: str, old: dict, new: dict) -> None:
        if old == new and all(type(v) is type(new[k]) for k, v in old.items()):
            return  # most nodes of a deploy: nothing changed (nested true vs 1 is not looked for)
        if not _truthy(old.get("d")) and _truthy(new.get("d")):
            self.removed[node_id] = old
        # credentials: Node-RED forgets them after each deploy, so any it is sent mark the node
        # changed; the runtime keeps them, and a node whose credentials differ is changed here
        if node_changed(old, new):
            self.changed[node_id] = new
            if new.get("type") == "subflow":
                self.changed_subflows[node_id] = new
            if self.mark_container_changed(new):
                self.changed.pop(node_id, None)
            if new.get("type") == "global-config":
                self.global_config_changed = True
        if not same_value(old.get("wires"), new.get("wires")):
            self.rewired[node_id] = new
            if self.mark_container_changed(new):
                self.rewired.pop(node_id, None)

    def new_nodes(self) -> list[dict]:
        """Added nodes, the new wiring, members of changed groups; returns the nested groups."""
        nested_groups = []
        for node_id, node in self.new.items():
            if node.get("type") == "group":
                if node.get("g"):
                    nested_groups.append(node)
                if self.changed.get(node_id):
                    self._mark_members(node)
            targets = _wire_targets(node)
            if targets is not None:
                self.link(node_id, targets, self.new)
            if node_id not in self.old:
                self.added[node_id] = node
                if self.mark_container_changed(node):
                    self.added.pop(node_id, None)
        return nested_groups

    def _mark_members(self, group: dict) -> bool:
        marked = False
        members = group.get("nodes")
        for member in members if isinstance(members, list) else []:
            key = js_key(member)
            if not self.changed.get(key):
                self.changed[key] = True
                marked = True
        return marked

    def references(self) -> None:
        """Nodes naming a changed or removed node in a property change too, until nothing new."""
        # what can be changed or removed: node ids, and the ids groups list as members
        known = self.new.keys() | self.old.keys()
        for node in self.new.values():
            if node.get("type") == "group" and isinstance(node.get("nodes"), list):
                known |= {js_key(member) for member in node["nodes"]}
        refs: dict[str, list[tuple[str, str]]] = {}
        for node_id, node in self.new.items():
            for prop, value in node.items():
                if prop not in _NOT_REFERENCES:
                    kind = type(value)
                    if kind is dict or (kind is list and value and type(value[0]) is dict):
                        continue  # "[object Object]...": never a node id
                    key = value if kind is str else js_key(value)
                    if key in known:
                        refs.setdefault(node_id, []).append((prop, key))
        spread = True
        while spread:
            spread = False
            for node_id, node_refs in refs.items():
                node = self.new[node_id]
                for prop, key in node_refs:
                    origin = self.changed.get(key)
                    if not (origin or key in self.removed) or self.changed.get(node_id):
                        continue
                    if prop == "g" and isinstance(origin, dict) and origin.get("type") == "group":
                        before = self.old.get(node_id)
                        if before is not None and node.get("g") == before.get("g"):
                            continue  # its group changed, not which group it is in
                    spread = True
                    self.changed[node_id] = node
                    self.mark_container_changed(node)

    def drop_subflow_members(self) -> None:
        for node_id, node in self.new.items():
            container = self._container(node)
            if container is not None and container.get("type") == "subflow":
                self.changed.pop(node_id, None)

    def nested_group_members(self, nested_groups: list[dict]) -> None:
        spread = True
        while spread:
            spread = False
            for group in nested_groups:
                group_id = group["id"]
                parent = group.get("g")
                if not self.changed.get(group_id) and parent and self.changed.get(js_key(parent)):
                    self.changed[group_id] = True
                    spread = True
                if self.changed.get(group_id) and self._mark_members(group):
                    spread = True

    def subflow_instances(self) -> None:
        """Every instance of a changed subflow changes (and a subflow holding one, in turn)."""
        stack = list(self.changed_subflows)
        while stack:
            subflow_id = stack.pop()
            instance_type = f"subflow:{subflow_id}"
            for node_id, node in self.new.items():
                if node.get("type") != instance_type or self.changed.get(node_id):
                    continue
                self.changed[node_id] = node
                container = self._container(node)
                if container is not None and not self.changed.get(container["id"]):
                    self.changed[container["id"]] = container
                    if container.get("type") == "subflow":
                        stack.append(container["id"])
                        self.changed.pop(node_id, None)

    def linked(self) -> list[str]:
        """Nodes wired (transitively, by old or new wires) to an added/changed/removed/rewired one."""
        pending = [*self.added, *self.changed, *self.removed, *self.rewired]
        visited: set[str] = set()
        linked = []
        while pending:
            node_id = pending.pop()
            if node_id in visited:
                continue
            visited.add(node_id)
            neighbours = self.links.get(node_id)
            if neighbours is None:
                continue
            modified = (
                node_id in self.changed
                or node_id in self.added
                or node_id in self.removed
                or node_id in self.rewired
            )
            if not modified:
                linked.append(node_id)
            pending.extend(neighbours)
        return linked


def diff_configs(old: list[dict] | None, new: list[dict]) -> ConfigDiff:
    """What changes from the running configuration `old` (None: nothing runs) to `new`."""
    differ = _Differ(_by_id(old), _by_id(new))
    differ.tabs_removed_or_toggled()
    differ.old_nodes()
    nested_groups = differ.new_nodes()
    differ.references()
    differ.drop_subflow_members()
    differ.nested_group_members(nested_groups)
    differ.subflow_instances()
    return ConfigDiff(
        added=list(differ.added),
        changed=list(differ.changed),
        removed=list(differ.removed),
        rewired=list(differ.rewired),
        linked=differ.linked(),
        flow_changed=list(differ.flow_changed),
        global_config_changed=differ.global_config_changed,
    )
