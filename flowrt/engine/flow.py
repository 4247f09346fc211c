"""Flows: a tab, a subflow instance, or the global flow of config nodes.

A Flow owns its nodes, groups and env, and routes errors to catch nodes, status
to status nodes and completion to complete nodes, following Node-RED's Flow.js
rules (scopes, groups, uncaught-only, distance ordering, the error-loop guard).
Unhandled errors and status in a subflow go on to the flow holding the instance
(SubflowFlow, in subflow.py).
"""

from __future__ import annotations

from typing import Any

from flowrt.engine.message import as_message, clone_message, clone_value
from flowrt.engine.node import Node, error_stack, error_text
from flowrt.engine.ports import RuntimePort
from flowrt.formats.document import is_config_node
from flowrt.lang.envlist import evaluate_env_list
from flowrt.lang.jsvalues import js_string

ERROR_LOOP_LIMIT = 10


class Group:
    """A group: env values and NR_GROUP_* settings for the nodes inside it."""

    def __init__(self, config: dict, flow: Flow) -> None:
        self.id: str = config["id"]
        self.name: str = config.get("name") or ""
        self.g: str | None = config.get("g")
        self.flow = flow
        self.env_config: list = config.get("env") or []
        self.env: dict[str, Any] = {}

    def _parent_setting(self, name: str) -> Any:
        parent = self.flow.groups.get(self.g) if self.g else None
        return parent.get_setting(name) if parent is not None else self.flow.get_setting(name)

    def start(self) -> None:
        if self.env_config:
            self.env = evaluate_env_list(self.env_config, self._parent_setting, self)

    def get_setting(self, name: str) -> Any:
        if name == "NR_GROUP_NAME":
            return self.name
        if name == "NR_GROUP_ID":
            return self.id
        if name.startswith("$parent."):
            name = name[8:]
        elif name in self.env:
            return clone_value(self.env[name])
        return self._parent_setting(name)

    # evaluate_env_list may evaluate jsonata against this object as a "node"
    def context(self):
        return self.flow.node_like_context()


class Flow:
    """A running tab (or, in subclasses, a subflow instance / the global flow)."""

    kind = "tab"

    def __init__(
        self,
        runtime: RuntimePort,
        config: dict,
        node_configs: list[dict],
        parent: Flow | None,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.id: str = config["id"]
        self.label: str = config.get("label") or config.get("name") or ""
        self.parent = parent
        self.path = f"{parent.path}/{self.id}" if parent is not None and parent.kind != "global" else self.id
        self.node_configs = node_configs
        self.nodes: dict[str, Node] = {}
        self.groups: dict[str, Group] = {}
        self.catch_nodes: list[Node] = []
        self.status_nodes: list[Node] = []
        self.complete_map: dict[str, list[Node]] = {}
        #: Does a node's done() matter here: a complete node, or an onComplete hook? (Kept
        #: up to date by the runtime, so a done() costs one attribute check when it does not.)
        self.completion_wanted = runtime.hooks.completing
        self.subflows: list[Flow] = []
        self.env: dict[str, Any] = {}
        self._context = None

    # ----- env ---------------------------------------------------------------
    def env_config(self) -> list:
        return self.config.get("env") or []

    def evaluate_env(self) -> None:
        env_list = self.env_config()
        if env_list:
            self.env = evaluate_env_list(env_list, self._parent_setting, self)

    def _parent_setting(self, name: str) -> Any:
        if self.parent is None:
            return self.runtime.get_env(name)
        return self.parent.get_setting(name)

    def get_setting(self, name: str) -> Any:
        if name == "NR_FLOW_NAME":
            return self.label
        if name == "NR_FLOW_ID":
            return self.id
        if name.startswith("$parent."):
            name = name[8:]
        elif name in self.env:
            return clone_value(self.env[name])
        return self._parent_setting(name)

    # ----- context -------------------------------------------------------------
    def context(self):
        if self._context is None:
            parent_id = self.parent.id if self.parent is not None and self.parent.kind != "global" else None
            self._context = self.runtime.context.flow_context(self.id, parent_id)
        return self._context

    def node_like_context(self):
        """A context with .flow/.global_ for evaluating env jsonata at flow level."""
        ctx = self.context()
        ctx.flow = ctx
        ctx.global_ = self.runtime.context.global_context()
        return ctx

    # ----- building --------------------------------------------------------------
    def create_nodes(self) -> list[Node]:
        """Create groups and node objects (no setup yet); returns the nodes created."""
        self.evaluate_env()
        return self._create_missing_nodes()

    def update(self, config: dict, node_configs: list[dict]) -> list[Node]:
        """A partial deploy's new configuration for this running flow (its env is unchanged, else
        the flow restarts whole): the engine has stopped the nodes that restart; the others keep
        running. Creates the nodes not running (no setup yet) and returns them."""
        self.config = config
        self.label = config.get("label") or config.get("name") or ""
        self.node_configs = node_configs
        return self._create_missing_nodes()

    def _create_missing_nodes(self) -> list[Node]:
        self.groups = {}
        for cfg in self.node_configs:
            if cfg.get("type") == "group":
                self.groups[cfg["id"]] = Group(cfg, self)
        self._break_group_cycles()
        for group in self._groups_outermost_first():
            group.start()
        created = []
        for cfg in configs_first(self.node_configs):
            if cfg.get("type") == "group" or cfg.get("d") is True:  # Node-RED: d !== true runs
                continue
            if cfg.get("id") in self.nodes:  # kept running by a partial deploy
                continue
            node = self.runtime.create_node(cfg, self)
            if node is None:
                continue
            self.nodes[node.id] = node
            created.append(node)
            if node.type.startswith("subflow:"):
                created.extend(self.runtime.create_subflow_instance(node, self))
        self._index_event_nodes()
        return created

    def _break_group_cycles(self) -> None:
        """A group inside itself (directly or through others) is made top-level, with an error:
        every walk up the group chain must end (validation refuses such flows)."""
        for group in self.groups.values():
            seen = {group.id}
            parent = self.groups.get(group.g) if group.g else None
            while parent is not None:
                if parent.id in seen:
                    self.runtime.log.error(f"group {parent.id!r} is inside itself (g): made top-level")
                    parent.g = None
                    break
                seen.add(parent.id)
                parent = self.groups.get(parent.g) if parent.g else None

    def _groups_outermost_first(self) -> list[Group]:
        def depth(group: Group) -> int:
            d, g = 0, group
            while g.g and g.g in self.groups:
                d, g = d + 1, self.groups[g.g]
            return d

        return sorted(self.groups.values(), key=depth)

    def _index_event_nodes(self) -> None:
        self.catch_nodes, self.status_nodes, self.complete_map = [], [], {}
        for node in self.nodes.values():
            if node.type == "catch":
                self.catch_nodes.append(node)
            elif node.type == "status":
                self.status_nodes.append(node)
            elif node.type == "complete":
                scope = node.config.get("scope")
                for source_id in scope if isinstance(scope, list) else []:
                    self.complete_map.setdefault(source_id, []).append(node)
        self.refresh_completion()

    def refresh_completion(self) -> None:
        self.completion_wanted = bool(self.complete_map) or self.runtime.hooks.completing

    # ----- routing of errors, status, completion ---------------------------------
    def _candidates(self, targets: list[Node], reporting: Node) -> list[Node]:
        """Catch/status nodes that apply to the reporting node, nearest group first."""
        candidates = []
        for target in targets:
            scope = target.config.get("scope")
            if target.g and scope == "group" and not reporting.g:
                continue
            if isinstance(scope, list) and reporting.id not in scope:
                continue
            distance = 0
            if reporting.g:
                group = self.groups.get(reporting.g)
                while group is not None and group.id != target.g:
                    distance += 1
                    group = self.groups.get(group.g) if group.g else None
                if group is None and target.g and scope == "group":
                    continue
            candidates.append((distance, target))
        candidates.sort(key=lambda pair: pair[0])
        return [target for _, target in candidates]

    def handle_error(self, node: Node, err: Any, msg: dict | None, reporting: Node | None = None) -> bool:
        reporting = reporting or node
        count = 1
        previous = msg.get("error") if msg else None
        if isinstance(previous, dict):
            source = previous.get("source")
            if isinstance(source, dict) and source.get("id") == node.id:
                count = (source.get("count") or 0) + 1
                if count >= ERROR_LOOP_LIMIT:
                    node.warn("Message exceeded maximum number of catches")
                    return False
        handled = False
        handled_by_uncaught = False
        for catch in self._candidates(self.catch_nodes, reporting):
            if catch.config.get("uncaught") and not handled_by_uncaught:
                if handled:
                    continue
                handled_by_uncaught = True
            error_msg = clone_message(msg) if msg is not None else {}
            if "error" in error_msg:
                error_msg["_error"] = error_msg["error"]
            error_msg["error"] = build_error_object(node, err, count)
            self.runtime.deliver(catch, error_msg)
            handled = True
        if not handled and self.parent is not None and self.kind == "subflow":
            handled = self.parent.handle_error(node, err, msg, self.instance_node)
        return handled

    def handle_status(self, node: Node, status: dict, reporting: Node | None = None) -> bool:
        if not self.runtime.started:
            # Node-RED builds a flow's status-node list after constructing all its nodes: statuses set
            # while nodes start (setup) reach the editor, never status nodes
            return False
        reporting = reporting or node
        handled = False
        for target in self._candidates(self.status_nodes, reporting):
            status_copy = clone_value(status)
            if "text" in status:
                status_copy["text"] = js_string(status["text"])
            status_copy["source"] = {"id": node.id, "type": node.type, "name": node.name}
            self.runtime.deliver(target, {"status": status_copy})
            handled = True
        return handled

    def complete_targets(self, node: Node) -> list[Node]:
        """Complete nodes whose scope names `node` (subflow copies' scopes are already remapped)."""
        return self.complete_map.get(node.id) or []

    def handle_complete(self, node: Node, msg: dict) -> None:
        targets = self.complete_targets(node)
        if not targets:
            return
        msg = as_message(msg)  # a message that came encoded is decoded once, for its listeners
        for target in targets:
            done_msg = clone_message(msg)
            done_msg["complete"] = {"source": {"id": node.id, "type": node.type, "name": node.name}}
            self.runtime.deliver(target, done_msg)


def configs_first(configs: list[dict]) -> list[dict]:
    """Node-RED's creation order: config nodes first, each after the config nodes it names
    (a property whose value is such a node's id), then the flow nodes in file order."""
    config_by_id = {c["id"]: c for c in configs if is_config_node(c) and isinstance(c.get("id"), str)}
    ordered: list[dict] = []
    placed: set[str] = set()

    def place(cfg: dict, visiting: set[str]) -> None:
        node_id = cfg["id"]
        if node_id in placed or node_id in visiting:  # a circle: validation reports it
            return
        visiting.add(node_id)
        for key, value in cfg.items():
            if key not in ("id", "wires", "_users") and isinstance(value, str) and value in config_by_id:
                place(config_by_id[value], visiting)
        placed.add(node_id)
        ordered.append(cfg)

    for cfg in config_by_id.values():
        place(cfg, set())
    first = {id(c) for c in ordered}
    return ordered + [c for c in configs if id(c) not in first]


def build_error_object(node: Node, err: Any, count: int) -> dict:
    """msg.error as catch nodes receive it."""
    error = {
        "message": error_text(err),
        "source": {"id": node.id, "type": node.type, "name": node.name, "count": count},
    }
    code = getattr(err, "code", None)
    if code is not None:
        error["code"] = code
    stack = error_stack(err)
    if stack:
        error["stack"] = stack
    return error


class GlobalFlow(Flow):
    """Config nodes (nodes with no `z`) live here; its settings come from process env."""

    kind = "global"

    def __init__(self, runtime: RuntimePort, node_configs: list[dict], env: list | None = None) -> None:
        super().__init__(runtime, {"id": "global", "env": env or []}, node_configs, None)
        self.path = "global"

    def get_setting(self, name: str) -> Any:
        if name in self.env:
            return clone_value(self.env[name])
        return self.runtime.get_env(name)

    def _parent_setting(self, name: str) -> Any:
        return self.runtime.get_env(name)

    def context(self):
        return self.runtime.context.global_context()
