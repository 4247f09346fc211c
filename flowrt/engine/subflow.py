"""Subflows: the running copy of a subflow definition for each instance node.

An instance node (type `subflow:<id>`) stands in its parent flow; `SubflowDefinitions`
copies the definition's nodes for it (ids made unique to the instance), wires the
definition's input, output and status ports through, and returns the nodes to start.
As Node-RED's Subflow.js, env and errors/status not handled inside go on to the flow
holding the instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowrt.engine.flow import Flow
from flowrt.engine.node import Node
from flowrt.engine.ports import RuntimePort

#: Container types: never a member of another tab (Node-RED ignores their z).
CONTAINER_TYPES = ("tab", "subflow")


class SubflowError(Exception):
    """An instance that cannot be started (its definition is missing or contains itself)."""


class SubflowFlow(Flow):
    """The running copy of a subflow definition for one instance node."""

    kind = "subflow"

    def __init__(
        self,
        runtime: RuntimePort,
        definition: dict,
        instance_node: Node,
        node_configs: list[dict],
        parent: Flow,
    ) -> None:
        super().__init__(
            runtime, {"id": instance_node.id, "label": definition.get("name")}, node_configs, parent
        )
        self.definition = definition
        self.instance_node = instance_node
        self.path = instance_node.path

    def env_config(self) -> list:
        merged: dict[str, dict] = {}
        for env in (self.definition.get("env"), self.instance_node.config.get("env")):
            for entry in env if isinstance(env, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    merged[entry["name"]] = entry
        return list(merged.values())

    def _parent_setting(self, name: str) -> Any:
        instance = self.instance_node
        if instance.g and instance.g in self.parent.groups:
            return self.parent.groups[instance.g].get_setting(name)
        return self.parent.get_setting(name)

    def get_setting(self, name: str) -> Any:
        instance = self.instance_node
        if name in ("NR_NODE_NAME", "NR_SUBFLOW_NAME"):
            return instance.name
        if name in ("NR_NODE_ID", "NR_SUBFLOW_ID"):
            return instance.id
        if name in ("NR_NODE_PATH", "NR_SUBFLOW_PATH"):
            return instance.path
        if name in ("NR_FLOW_NAME", "NR_FLOW_ID"):
            # As Node-RED's Subflow.getSetting: the flow holding the instance answers.
            return self._parent_setting(name)
        return super().get_setting(name)

    def handle_status(self, node: Any, status: dict, reporting: Any = None) -> bool:
        handled = super().handle_status(node, status, reporting)
        if not handled and not self.definition.get("status"):
            # No status output: status goes on to the flow holding the instance.
            handled = self.parent.handle_status(node, status, self.instance_node)
        return handled


class SubflowInstanceNode(Node):
    """The node standing for a subflow instance in its parent flow: forwards input inside."""

    subflow: SubflowFlow | None = None

    def on_input(self, msg: dict, send: Callable) -> None:
        send(msg)


class SubflowStatusNode(Node):
    """Receives what reaches a subflow's status port and sets the instance's status."""

    def __init__(self, config: dict, flow: Flow, instance: Node) -> None:
        super().__init__(config, flow)
        self.instance = instance

    def on_input(self, msg: dict, send: Callable) -> None:
        payload = msg.get("payload")
        if isinstance(payload, str):
            self.instance.status({"text": payload})
        elif isinstance(payload, dict) and any(k in payload for k in ("text", "fill", "shape")):
            self.instance.status(payload)
        elif payload is not None:
            self.instance.status({"text": str(payload)})
        elif isinstance(msg.get("status"), dict):
            self.instance.status(msg["status"])


class SubflowDefinitions:
    """The subflow definitions of one deployment, copied for each instance."""

    def __init__(self, configs: list[dict]) -> None:
        self.configs = configs
        self.by_id: dict[str, dict] = {c["id"]: c for c in configs if c.get("type") == "subflow"}

    def instantiate(self, instance: SubflowInstanceNode, parent: Flow) -> list[Node]:
        """Copy the instance's definition into a SubflowFlow, wire its ports and create its
        nodes (not set up yet); returns them. Raises SubflowError when it cannot."""
        def_id = instance.type[len("subflow:") :]
        definition = self.by_id.get(def_id)
        if definition is None:
            raise SubflowError(f"subflow {def_id!r} is not defined: instance not started")
        if _inside_subflow(parent, def_id):
            raise SubflowError(f"subflow {def_id!r} contains itself: instance not started")
        inner = [c for c in self.configs if c.get("z") == def_id and c.get("type") not in CONTAINER_TYPES]
        id_map = {c["id"]: f"{instance.id}-{c['id']}" for c in inner}
        copies = {c["id"]: _remap_config(c, id_map, instance.id) for c in inner}
        instance_wires = self._wire_ports(definition, instance, id_map, copies)

        flow = SubflowFlow(parent.runtime, definition, instance, list(copies.values()), parent)
        parent.subflows.append(flow)
        instance.subflow = flow
        instance.wires = [instance_wires]
        created = flow.create_nodes()
        if definition.get("status"):
            config = {"id": f"{instance.id}:status", "type": "subflow-status", "z": instance.id}
            created.append(SubflowStatusNode(config, flow, instance))
        return created

    @staticmethod
    def _wire_ports(
        definition: dict, instance: Node, id_map: dict[str, str], copies: dict[str, dict]
    ) -> list:
        """Wire the copies to the instance's outside wires; returns the instance node's own
        wires (into the subflow's input, and straight through when input meets output)."""
        def_id = definition["id"]
        in_ports = definition.get("in") or []
        instance_wires = [
            id_map[w["id"]] for w in (in_ports[0].get("wires") if in_ports else []) if w.get("id") in id_map
        ]
        outer_wires = instance.config.get("wires") or []
        for port_index, port in enumerate(definition.get("out") or []):
            destinations = outer_wires[port_index] if port_index < len(outer_wires) else []
            for source in port.get("wires") or []:
                if source.get("id") == def_id:
                    instance_wires.extend(destinations)
                elif source.get("id") in copies:
                    _extend_port(copies[source["id"]], source.get("port", 0), destinations)
        if definition.get("status"):
            status_id = f"{instance.id}:status"
            for source in definition["status"].get("wires") or []:
                if source.get("id") == def_id:
                    instance_wires.append(status_id)
                elif source.get("id") in copies:
                    _extend_port(copies[source["id"]], source.get("port", 0), [status_id])
        return instance_wires


def _inside_subflow(flow: Flow | None, def_id: str) -> bool:
    """Is `flow` (or a flow holding it) a copy of subflow `def_id`? (A subflow inside itself.)"""
    while flow is not None:
        if isinstance(flow, SubflowFlow) and flow.definition.get("id") == def_id:
            return True
        flow = flow.parent
    return False


def _extend_port(config: dict, port: int, destinations: list[str]) -> None:
    wires = config.setdefault("wires", [])
    while len(wires) <= port:
        wires.append([])
    wires[port] = list(wires[port]) + list(destinations)


def _remap_config(config: dict, id_map: dict[str, str], instance_id: str) -> dict:
    """A copy of a subflow-internal node config with ids made unique to the instance."""
    copy = dict(config)
    copy["id"] = id_map[config["id"]]
    copy["_alias"] = config["id"]
    copy["z"] = instance_id
    if config.get("g") in id_map:
        copy["g"] = id_map[config["g"]]
    if "wires" in config:
        copy["wires"] = [[id_map.get(t, t) for t in port] for port in config.get("wires") or []]
    for key in ("scope", "links"):
        if isinstance(config.get(key), list):
            copy[key] = [id_map.get(t, t) for t in config[key]]
    for key, value in config.items():
        if key not in ("id", "z", "g", "wires") and isinstance(value, str) and value in id_map:
            copy[key] = id_map[value]  # a reference to a config node inside the subflow
    return copy
