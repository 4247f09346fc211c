"""The runtime: builds flows from node configs, starts and stops them, delivers messages.

Delivery is asynchronous and ordered: `deliver` appends to one FIFO queue that is
drained by a single event-loop callback (Node-RED uses a setImmediate per hop).
A send never runs the receiver inside the sender's call, so there is no recursion
and a 100,000-hop loop never grows the stack. No task is created per hop. One
drain serves up to DRAIN_BUDGET deliveries (including those queued meanwhile)
before yielding, so I/O and timers get a turn between batches.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from flowrt.context import ContextManager
from flowrt.engine.flow import Flow, GlobalFlow, SubflowFlow
from flowrt.engine.live import LiveResponse, answer_if_open, live_response
from flowrt.engine.node import Node, NodeConfigError, error_text, node_setting
from flowrt.engine.registry import Registry, load_builtin_nodes
from flowrt.engine.registry import registry as default_registry
from flowrt.formats.document import add_missing_tabs, is_config_node
from flowrt.lang.env import substitute_env_properties
from flowrt.log import MAX_LENGTH, Logger
from flowrt.settings import Settings, close_timeout_s

STRUCTURAL_TYPES = frozenset({"tab", "subflow", "group"})
CONTAINER_TYPES = ("tab", "subflow")  # never a member of another tab (Node-RED ignores their z)
#: Deliveries per event-loop turn before other callbacks (I/O, timers) get their turn.
DRAIN_BUDGET = 256
#: How often a check queued behind the messages in flight goes back to the end of the
#: queue while more messages keep coming, before it runs anyway.
SETTLE_ROUNDS = 64


class _AfterDeliveries:
    """A pseudo-node in the delivery queue: runs a callback once the messages queued before it,
    and those their deliveries queued in turn, are delivered (or after SETTLE_ROUNDS rounds)."""

    _closed = False
    path = "runtime"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.rounds = SETTLE_ROUNDS

    def _handle_input(self, callback: Callable[[], None]) -> None:
        if self.runtime._queue and self.rounds > 0:
            self.rounds -= 1
            self.runtime.deliver(self, callback)
        else:
            callback()


class InertNode(Node):
    """Stands in for a node whose type is unknown (with --allow-unknown): drops what it gets."""

    def on_input(self, msg: dict, send: Callable) -> None:
        self.warn(f"unknown node type {self.config.get('type')!r}: dropped message {msg.get('_msgid')}")


class SubflowInstanceNode(Node):
    """The node standing for a subflow instance in its parent flow: forwards input inside."""

    subflow: SubflowFlow | None = None

    def on_input(self, msg: dict, send: Callable) -> None:
        send(msg)


class SubflowStatusNode(Node):
    """Receives what reaches a subflow's status port and sets the instance's status."""

    instance: Node

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


class Runtime:
    """One deployment of flows in one process."""

    def __init__(
        self, settings: Settings | None = None, registry: Registry | None = None, logger: Logger | None = None
    ) -> None:
        self.settings = settings or Settings()
        self.registry = registry or default_registry
        self.log = logger or Logger(
            self.settings.get("logLevel", "info"),
            max_length=int(self.settings.get("logMaxLength", MAX_LENGTH)),
        )
        self.context = ContextManager(
            self.settings.get("contextStorage"),
            self.settings.get("userDir"),
            self.settings.get("functionGlobalContext"),
            log=self.log,
        )
        self.allow_unknown = bool(self.settings.get("allowUnknown", False))
        self.nodes: dict[str, Node] = {}
        self.flows: dict[str, Flow] = {}
        self.global_flow: GlobalFlow | None = None
        self.subflow_defs: dict[str, dict] = {}
        self.configs: list[dict] = []
        self.http = None
        self.status_listeners: list[Callable[[Node, dict], Any]] = []
        self.started = False
        self._queue: deque = deque()
        self._drain_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._warned_wires: set[str] = set()
        #: False when the caller already reported missing wire targets (flowrt run validates first).
        self.warn_missing_wires = True
        self._context_started = False
        #: Set once close() begins: `http in` answers new requests 503.
        self.stopping = False
        #: Responses of `http in` requests the flows have not answered yet.
        self.open_responses: set[LiveResponse] = set()
        self._responses_settled: asyncio.Event | None = None

    # ----- message delivery (hot path) -------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def deliver(self, node: Node, msg: dict) -> None:
        """Queue `msg` for `node`'s input; delivered on a later loop turn, in order."""
        self._queue.append((node, msg))
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self.loop.call_soon(self._drain)

    def deliver_now(self) -> None:
        """Deliver what is queued now rather than on the next loop turn (same order).

        For a caller that waits for the flow's answer, such as `http in`: a flow that
        answers at once has then answered before the caller looks, saving a loop turn."""
        if self._queue:
            self._drain()

    def _drain(self) -> None:
        # Deliver what is queued, then what those deliveries queued, up to a budget per
        # loop turn: still asynchronous and ordered, but one loop iteration serves many
        # hops so I/O callbacks wait at most one batch.
        queue = self._queue
        popleft = queue.popleft
        budget = DRAIN_BUDGET
        while queue and budget > 0:
            node, msg = popleft()
            budget -= 1
            try:
                node._handle_input(msg)
            except Exception as err:  # a bug in a node must not stop delivery
                self.log.log("error", f"Error delivering message to node {node.path}: {err!r}", node)
        if queue:
            self.loop.call_soon(self._drain)
        else:
            self._drain_scheduled = False

    def after_deliveries(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the messages now in flight have been delivered."""
        self.deliver(_AfterDeliveries(self), callback)

    # ----- errors and open requests ----------------------------------------------
    def uncaught_error(self, node: Node, err: Any, msg: dict | None) -> None:
        """An error no catch node handled: log it; a request it carries that nothing answers
        (once the messages in flight are delivered) gets a 500."""
        self.log.log("error", error_text(err), node)
        res = live_response(msg)
        if res is not None and not res.headersSent:
            self.after_deliveries(lambda: self._answer_failed(node, msg, res))

    def _answer_failed(self, node: Node, msg: dict, res: LiveResponse) -> None:
        text = "Internal Server Error: the flow failed before answering (the error is in the server log)"
        if answer_if_open(res, 500, text):
            self.log.log("warn", f"{_describe_request(msg)}: answered 500 after the uncaught error", node)

    def track_response(self, res: LiveResponse) -> None:
        """An `http in` request is waiting for the flow's answer."""
        self.open_responses.add(res)

    def untrack_response(self, res: LiveResponse) -> None:
        self.open_responses.discard(res)
        if not self.open_responses and self._responses_settled is not None:
            self._responses_settled.set()

    async def _settle_open_responses(self, timeout: float) -> None:
        """Let the flows answer the requests in flight, for up to `timeout` seconds; then answer
        what is still open with 503 (a stream already started is ended)."""
        if self.open_responses:
            self._responses_settled = asyncio.Event()
            try:
                await asyncio.wait_for(self._responses_settled.wait(), timeout)
            except TimeoutError:
                pass
        still_open = list(self.open_responses)
        for res in still_open:
            text = "Service Unavailable: the server is stopping"
            if not answer_if_open(res, 503, text) and not res.finished:
                res.end()
        if still_open:
            self.log.warn(f"Stopping: {len(still_open)} request(s) not answered in time: answered 503")
            await asyncio.sleep(0)  # the handlers write what was just queued

    def emit_status(self, node: Node, status: dict) -> None:
        for listener in self.status_listeners:
            listener(node, status)

    def get_node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def get_env(self, name: str) -> Any:
        env = self.settings.get("env") or {}
        if name in env:
            return env[name]
        return os.environ.get(name)

    # ----- lifecycle ---------------------------------------------------------------
    async def start(self, configs: list[dict]) -> None:
        """Create and start every flow of a deployment (a flat list of node dicts)."""
        self._loop = asyncio.get_running_loop()
        load_builtin_nodes()
        for directory in self.settings.get("nodesDir") or []:
            from flowrt.engine.registry import load_node_dir

            load_node_dir(directory)
        if not self._context_started:
            await self.context.start()
            self._context_started = True
        if self.http is None and self.settings.get("httpServer", True):
            from flowrt.http.server import HttpServer

            self.http = HttpServer(self)
            await self.http.start()
        self._build(configs)
        await self._setup_nodes()
        self.started = True
        self.log.info(f"Started flows ({len(self.nodes)} nodes)")

    def _build(self, configs: list[dict]) -> None:
        configs, _added = add_missing_tabs(configs)  # as Node-RED: a z naming no tab makes one
        self.configs = configs
        self.subflow_defs = {c["id"]: c for c in configs if c.get("type") == "subflow"}
        tabs = [c for c in configs if c.get("type") == "tab"]
        containers = {c["id"] for c in tabs} | set(self.subflow_defs)
        # Node-RED starts no node with editor coordinates outside a tab (parseConfig).
        global_nodes = [
            c
            for c in configs
            if c.get("type") not in STRUCTURAL_TYPES and not c.get("z") and not ("x" in c and "y" in c)
        ]
        global_env = next((c.get("env") for c in configs if c.get("type") == "global-config"), None)
        self.global_flow = GlobalFlow(self, global_nodes, global_env)
        self._order = self.global_flow.create_nodes()
        for tab in tabs:
            if tab.get("disabled"):
                continue
            nodes = [c for c in configs if c.get("z") == tab["id"] and c.get("type") not in CONTAINER_TYPES]
            flow = Flow(self, tab, nodes, self.global_flow)
            self.flows[tab["id"]] = flow
            self._order.extend(flow.create_nodes())
        orphans = [c["id"] for c in configs if c.get("z") and c["z"] not in containers]
        for node_id in orphans:
            self.log.warn(
                f"node {node_id!r} is on flow {self._config_by_id(node_id).get('z')!r}, which does not exist"
            )
        self._disabled = {c["id"] for c in configs if c.get("d") is True} | {
            c["id"] for c in configs if c.get("z") in {t["id"] for t in tabs if t.get("disabled")}
        }
        missing: dict[str, list[str]] = {}
        for node in self._order:
            self._bind(node, missing)
        if self.warn_missing_wires:
            self._warn_missing_targets(missing)

    def _config_by_id(self, node_id: str) -> dict:
        return next((c for c in self.configs if c.get("id") == node_id), {})

    def _bind(self, node: Node, missing: dict[str, list[str]]) -> None:
        targets = []
        for port_wires in node.wires:
            resolved = []
            for target_id in port_wires:
                target = self.nodes.get(target_id)
                if target is None and target_id not in self._disabled:
                    missing.setdefault(target_id, []).append(node.id)
                resolved.append(target)
            targets.append(resolved)
        node._bind_targets(targets)

    def _warn_missing_targets(self, missing: dict[str, list[str]]) -> None:
        """Node-RED drops messages to missing nodes silently; we say so, once per target."""
        for target_id, sources in missing.items():
            if target_id in self._warned_wires:
                continue
            self._warned_wires.add(target_id)
            names = ", ".join(repr(s) for s in dict.fromkeys(sources))
            self.log.warn(
                f"node(s) {names} wired to {target_id!r}, which does not exist: messages sent there are dropped"
            )

    def _clean_context(self) -> None:
        """Forget stored context of nodes and flows that are no longer deployed (as Node-RED)."""
        active = set(self.nodes) | set(self.flows)
        active |= {node._alias for node in self.nodes.values() if node._alias}
        self.context.clean(active)

    async def _setup_nodes(self) -> None:
        self._clean_context()
        for node in self._order:
            try:
                result = node.setup()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as err:
                text = str(err) if isinstance(err, NodeConfigError) else f"{type(err).__name__}: {err}"
                self.log.log("error", f"node not started: {text}", node)
                self._discard(node)

    def _discard(self, node: Node) -> None:
        node._closed = True
        self.nodes.pop(node.id, None)
        node.flow.nodes.pop(node.id, None)

    def create_node(self, config: dict, flow: Flow) -> Node | None:
        """Instantiate one node config in `flow` (env substitution, registry lookup)."""
        type_name = config.get("type", "")
        config = dict(config)
        if type_name.startswith("subflow:"):
            cls: type[Node] | None = SubflowInstanceNode
        else:
            cls = self.registry.get_type(type_name)
        if cls is None:
            if not self.allow_unknown:
                self.log.error(f"unknown node type {type_name!r} (node {config.get('id')!r}): not started")
                return None
            cls = InertNode
        # ${VAR} is resolved before the node exists, as Node-RED's createNode does.
        path = f"{flow.path}/{config.get('_alias') or config.get('id')}"
        substitute_env_properties(
            config,
            lambda name: node_setting(
                flow, name, config.get("id"), config.get("name"), path, config.get("g")
            ),
        )
        try:
            node = cls(config, flow)
            node.type = type_name
        except Exception as err:
            self.log.error(f"[{type_name}:{config.get('id')}] could not be created: {err}")
            return None
        self.nodes[node.id] = node
        return node

    def create_subflow_instance(self, instance: Node, parent: Flow) -> list[Node]:
        """Copy a subflow definition's nodes for one instance and wire its ports."""
        def_id = instance.type[len("subflow:") :]
        definition = self.subflow_defs.get(def_id)
        if definition is None:
            self.log.log("error", f"subflow {def_id!r} is not defined: instance not started", instance)
            self._discard(instance)
            return []
        if _inside_subflow(parent, def_id):
            self.log.log("error", f"subflow {def_id!r} contains itself: instance not started", instance)
            self._discard(instance)
            return []
        inner = [c for c in self.configs if c.get("z") == def_id and c.get("type") not in CONTAINER_TYPES]
        prefix = instance.id
        id_map = {c["id"]: f"{prefix}-{c['id']}" for c in inner}
        copies = {c["id"]: _remap_config(c, id_map, instance.id) for c in inner}

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

        flow = SubflowFlow(self, definition, instance, list(copies.values()), parent)
        parent.subflows.append(flow)
        instance.subflow = flow
        instance.wires = [instance_wires]
        created = flow.create_nodes()
        if definition.get("status"):
            status_node = SubflowStatusNode(
                {"id": f"{instance.id}:status", "type": "subflow-status", "z": instance.id}, flow
            )
            status_node.instance = instance
            self.nodes[status_node.id] = status_node
            created.append(status_node)
        return created

    async def stop(self, removed_ids: set[str] | None = None) -> None:
        """Close every node (close handlers run, bounded by nodeCloseTimeout)."""
        timeout = close_timeout_s(self.settings)
        nodes = list(self.nodes.values())
        for node in nodes:  # from now on, messages still queued for them are dropped
            node._closed = True

        async def close(node: Node) -> None:
            removed = removed_ids is not None and node.id in removed_ids
            try:
                await asyncio.wait_for(node._close(removed), timeout)
            except TimeoutError:
                node.error("Error stopping node: Close timed out")
            except Exception as err:
                node.error(f"Error stopping node: {err}")

        # Node-RED's Flow.stop: flow nodes first, then the config nodes they may still use.
        configs = [n for n in nodes if is_config_node(n.config)]
        flow_nodes = [n for n in nodes if not is_config_node(n.config)]
        await asyncio.gather(*(close(n) for n in flow_nodes))
        await asyncio.gather(*(close(n) for n in configs))
        self.nodes.clear()
        self.flows.clear()
        self._queue.clear()
        self.started = False

    async def redeploy(self, configs: list[dict]) -> None:
        """Full deploy: stop the running nodes (removed=True for those gone), start the new set."""
        new_ids = {c.get("id") for c in configs}
        removed = {node_id for node_id in self.nodes if node_id not in new_ids}
        await self.stop(removed)
        self._build(configs)
        await self._setup_nodes()
        self.started = True

    async def close(self) -> None:
        """Shut down in Node-RED's order: stop accepting requests, let the flows answer the
        ones in flight (up to nodeCloseTimeout; the rest get 503), stop the flows, close the
        HTTP server and its streams, flush context."""
        self.stopping = True
        if self.http is not None:
            await self.http.stop_accepting()
            await self._settle_open_responses(close_timeout_s(self.settings))
        if self.started:
            await self.stop(None)
        if self.http is not None:
            await self.http.stop()
            self.http = None
        if self._context_started:
            await self.context.stop()
            self._context_started = False


def _describe_request(msg: dict) -> str:
    req = msg.get("req")
    method, path = getattr(req, "method", None), getattr(req, "path", None)
    return f"{method} {path}" if method and path else "HTTP request"


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
