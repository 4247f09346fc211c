"""The runtime: builds a deployment's flows from node configs, starts, redeploys and stops them.

It owns what the flows share: the delivery queue (delivery.py; `Runtime.deliver` is the
queue's own method), the context stores, the env root, the requests waiting for an answer,
and services added by the composition root (`add_service`, `service`), such as the HTTP
server, which the runtime starts and stops but never builds. Subflow instances are
expanded by subflow.py.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flowrt.context import ContextManager
from flowrt.engine.clock import Clock, RealClock
from flowrt.engine.delivery import DeliveryQueue
from flowrt.engine.diff import ConfigDiff, diff_configs
from flowrt.engine.flow import Flow, GlobalFlow
from flowrt.engine.hooks import Hooks
from flowrt.engine.live import LiveResponse, answer_if_open, live_response
from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.node import Node, NodeConfigError, error_text, node_setting, receive_hooked
from flowrt.engine.ports import HttpServerPort
from flowrt.engine.registry import Registry
from flowrt.engine.registry import registry as default_registry
from flowrt.engine.subflow import (
    CONTAINER_TYPES,
    SubflowDefinitions,
    SubflowError,
    SubflowFlow,
    SubflowInstanceNode,
    SubflowStatusNode,
)
from flowrt.formats.document import add_missing_tabs, is_config_node
from flowrt.lang.env import substitute_env_properties
from flowrt.log import MAX_LENGTH, Logger
from flowrt.settings import Settings, close_timeout_s

STRUCTURAL_TYPES = frozenset({"tab", "subflow", "group"})
#: Deploy types that restart only what changed (Node-RED's Node-RED-Deployment-Type).
PARTIAL_DEPLOYS = ("nodes", "flows")
S = TypeVar("S")


class InertNode(Node):
    """Stands in for a node whose type is unknown (with --allow-unknown): drops what it gets."""

    def on_input(self, msg: dict, send: Callable) -> None:
        self.warn(f"unknown node type {self.config.get('type')!r}: dropped message {msg.get('_msgid')}")


class Runtime:
    """One deployment of flows in one process."""

    def __init__(
        self,
        settings: Settings | None = None,
        registry: Registry | None = None,
        logger: Logger | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or Settings()
        #: Where nodes read the time and schedule timers (a VirtualClock in tests).
        self.clock: Clock = clock or RealClock()
        #: Node-RED's RED.hooks for this runtime (flowrt.engine.hooks).
        self.hooks = Hooks()
        self._add_settings_hooks(self.settings.get("hooks"))
        self.hooks.listen(self._hooks_changed)
        #: Called with (node, err, msg) for every node.error call, caught or not.
        self.error_listeners: list[Callable[[Node, Any, dict | None], Any]] = []
        #: Called for an error no catch node handled: a node that holds a request the message
        #: carries (mcp-server's calls) fails it at once instead of letting it time out.
        self.uncaught_listeners: list[Callable[[Node, Any, dict | None], Any]] = []
        #: Input handlers (async on_input) started and not finished.
        self.handlers_running = 0
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
        self.subflows = SubflowDefinitions([])
        self.configs: list[dict] = []
        self._disabled: set[str] = set()
        self._services: dict[type, Any] = {}
        self.status_listeners: list[Callable[[Node, dict], Any]] = []
        self.started = False
        self.delivery = DeliveryQueue(self.log, self.hooks, receive_hooked)
        #: Queue `msg` for `node`'s input; delivered on a later loop turn, in order (the hot
        #: path: the queue's own bound method, so a send costs no extra call).
        self.deliver: Callable[[Any, Any], None] = self.delivery.deliver
        #: Deliver what is queued now (see DeliveryQueue.deliver_now).
        self.deliver_now: Callable[[], None] = self.delivery.deliver_now
        #: Run a callback once the messages now in flight have been delivered.
        self.after_deliveries: Callable[[Callable[[], None]], None] = self.delivery.after_deliveries
        self._warned_wires: set[str] = set()
        #: False when the caller already reported missing wire targets (flowrt run validates first).
        self.warn_missing_wires = True
        self._context_started = False
        #: Set once close() begins: `http in` answers new requests 503.
        self.stopping = False
        #: Responses of `http in` requests the flows have not answered yet.
        self.open_responses: set[LiveResponse] = set()
        self._responses_settled: asyncio.Event | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.delivery.loop

    # ----- services ------------------------------------------------------------------
    def add_service(self, service: Any, key: type | None = None) -> None:
        """Add a service the flows use (the composition root does: the HTTP server, ...),
        found by `service(key)`; key defaults to the service's class. The runtime calls its
        `start`, `stop_accepting` and `stop` methods, those it has (see ports.Service)."""
        self._services[key or type(service)] = service

    def service(self, key: type[S], create: Callable[[Runtime], S] | None = None) -> S | None:
        """The service registered under `key` (or an instance of it); None if there is none,
        unless `create` is given: then `create(runtime)` is added under `key` and returned."""
        found = self._services.get(key)
        if found is None:
            found = next((s for s in self._services.values() if isinstance(s, key)), None)
            if found is None and create is not None:
                found = create(self)
            if found is not None:
                self._services[key] = found
        return found

    @property
    def http(self) -> Any:
        """The HTTP server service, or None (`runtime.service(HttpServer)`, untyped)."""
        return self.service(HttpServerPort)

    def _services_with(self, method: str) -> list[Callable[[], Any]]:
        unique = list({id(s): s for s in self._services.values()}.values())
        return [getattr(s, method) for s in unique if callable(getattr(s, method, None))]

    # ----- hooks -------------------------------------------------------------------
    def _add_settings_hooks(self, hooks: Any) -> None:
        """The `hooks` setting (Python embedding): a mapping of hook ids to callables."""
        if not hooks:
            return
        if not isinstance(hooks, dict):
            raise ValueError("settings: hooks must map hook ids ('onSend.label') to Python callables")
        for hook_id, callback in hooks.items():
            if not callable(callback):
                raise ValueError(f"settings: hook {hook_id!r} must be a Python callable, not {callback!r}")
            self.hooks.add(hook_id, callback)

    def _hooks_changed(self) -> None:
        # Nodes choose their plain or hooked send when bound, flows whether done() matters.
        missing: dict[str, list[str]] = {}
        for node in list(self.nodes.values()):
            self._bind(node, missing)
        for flow in {node.flow for node in self.nodes.values()}:
            flow.refresh_completion()

    @property
    def queued(self) -> int:
        """How many deliveries are queued."""
        return self.delivery.pending

    @property
    def busy(self) -> bool:
        """Is a delivery queued or an input handler still running?"""
        return self.delivery.pending > 0 or self.handlers_running > 0

    # ----- errors and open requests ----------------------------------------------
    def uncaught_error(self, node: Node, err: Any, msg: dict | None) -> None:
        """An error no catch node handled: log it; a request it carries that nothing answers
        (once the messages in flight are delivered) gets a 500."""
        self.log.log("error", error_text(err), node)
        for listener in self.uncaught_listeners:
            listener(node, err, msg)
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
        self.delivery.loop = asyncio.get_running_loop()
        load_builtin_nodes()  # node directories are the composition root's (loader.py)
        if not self._context_started:
            await self.context.start()
            self._context_started = True
        for start in self._services_with("start"):
            await start()
        created = self._build(configs)
        await self._setup_nodes(created)
        self.started = True
        self.log.info(f"Started flows ({len(self.nodes)} nodes)")

    def _build(self, configs: list[dict]) -> list[Node]:
        """Create the node objects of `configs` that are not running (all of them after a full
        stop; in a partial deploy the running flows keep their running nodes), wire every node
        and return the new ones in creation order (setup runs in it)."""
        configs, _added = add_missing_tabs(configs)  # as Node-RED: a z naming no tab makes one
        self.configs = configs
        self.subflows = SubflowDefinitions(configs)
        tabs = [c for c in configs if c.get("type") == "tab"]
        containers = {c["id"] for c in tabs} | set(self.subflows.by_id)
        # Node-RED starts no node with editor coordinates outside a tab (parseConfig).
        global_nodes = [
            c
            for c in configs
            if c.get("type") not in STRUCTURAL_TYPES and not c.get("z") and not ("x" in c and "y" in c)
        ]
        if self.global_flow is None:
            global_env = next((c.get("env") for c in configs if c.get("type") == "global-config"), None)
            self.global_flow = GlobalFlow(self, global_nodes, global_env)
            created = self.global_flow.create_nodes()
        else:  # partial deploy: a changed global-config (its env) makes it a full one
            created = self.global_flow.update(self.global_flow.config, global_nodes)
        enabled = {tab["id"] for tab in tabs if not tab.get("disabled")}
        for flow_id in [f for f in self.flows if f not in enabled]:
            del self.flows[flow_id]
        by_tab: dict[Any, list[dict]] = {}  # one pass over the configs, not one per tab
        for c in configs:
            if c.get("type") not in CONTAINER_TYPES and isinstance(c.get("z"), Hashable):
                by_tab.setdefault(c.get("z"), []).append(c)
        for tab in tabs:
            if tab["id"] not in enabled:
                continue
            nodes = by_tab.get(tab["id"], [])
            flow = self.flows.get(tab["id"])
            if flow is None:
                flow = self.flows[tab["id"]] = Flow(self, tab, nodes, self.global_flow)
                created.extend(flow.create_nodes())
            else:
                created.extend(flow.update(tab, nodes))
        orphans = [c["id"] for c in configs if c.get("z") and c["z"] not in containers]
        for node_id in orphans:
            self.log.warn(
                f"node {node_id!r} is on flow {self._config_by_id(node_id).get('z')!r}, which does not exist"
            )
        disabled_tabs = {t["id"] for t in tabs if t.get("disabled")}
        self._disabled = {c["id"] for c in configs if c.get("d") is True or c.get("z") in disabled_tabs}
        missing: dict[str, list[str]] = {}
        for node in list(self.nodes.values()):  # kept nodes too: a restarted target is a new object
            self._bind(node, missing)
        if self.warn_missing_wires:
            self._warn_missing_targets(missing)
        return created

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
        node.bind_targets(targets)

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
        active |= {node.alias for node in self.nodes.values() if node.alias}
        self.context.clean(active)

    async def _setup_nodes(self, nodes: list[Node]) -> None:
        self._clean_context()
        for node in nodes:
            try:
                result = node.setup()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as err:
                text = str(err) if isinstance(err, NodeConfigError) else f"{type(err).__name__}: {err}"
                self.log.log("error", f"node not started: {text}", node)
                self._discard(node)

    def _discard(self, node: Node) -> None:
        node.closed = True
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

    def create_subflow_instance(self, instance: SubflowInstanceNode, parent: Flow) -> list[Node]:
        """Expand one subflow instance (see subflow.py); returns the nodes created for it."""
        try:
            created = self.subflows.instantiate(instance, parent)
        except SubflowError as err:
            self.log.log("error", str(err), instance)
            self._discard(instance)
            return []
        for node in created:  # the status node is made by the subflow, not by create_node
            if isinstance(node, SubflowStatusNode):
                self.nodes[node.id] = node
        return created

    async def stop(self, removed_ids: set[str] | None = None) -> None:
        """Close every node (close handlers run, bounded by nodeCloseTimeout)."""
        await self._close_nodes(list(self.nodes.values()), removed_ids or set())
        self.nodes.clear()
        self.flows.clear()
        self.global_flow = None
        self.delivery.clear()
        self.started = False

    async def _close_nodes(self, nodes: list[Node], removed_ids: set[str]) -> None:
        timeout = close_timeout_s(self.settings)
        for node in nodes:  # from now on, messages still queued for them are dropped
            node.closed = True

        async def close(node: Node) -> None:
            try:
                await asyncio.wait_for(node.close(node.id in removed_ids), timeout)
            except TimeoutError:
                node.error("Error stopping node: Close timed out")
            except Exception as err:
                node.error(f"Error stopping node: {err}")

        # Node-RED's Flow.stop: flow nodes first, then the config nodes they may still use.
        configs = [n for n in nodes if is_config_node(n.config)]
        flow_nodes = [n for n in nodes if not is_config_node(n.config)]
        await asyncio.gather(*(close(n) for n in flow_nodes))
        await asyncio.gather(*(close(n) for n in configs))

    async def redeploy(self, configs: list[dict], deploy_type: str = "full") -> ConfigDiff | None:
        """Deploy `configs` in place of the running ones. `full` stops every node (removed=True
        for those gone) and starts the new set; `nodes` and `flows` (Node-RED's partial deploys)
        stop and start only what the diff restarts (see diff.py) and leave the other nodes
        running, with their connections, timers and context: returns that diff."""
        if deploy_type in PARTIAL_DEPLOYS and self.started:
            configs, _added = add_missing_tabs(configs)
            diff = diff_configs(self.configs, configs)
            if not diff.global_config_changed:  # its env reaches every node: Node-RED restarts all
                await self._partial_redeploy(configs, diff, deploy_type)
                return diff
        new_ids = {c.get("id") for c in configs}
        removed = {node_id for node_id in self.nodes if node_id not in new_ids}
        await self.stop(removed)
        created = self._build(configs)
        await self._setup_nodes(created)
        self.started = True
        return None

    async def _partial_redeploy(self, configs: list[dict], diff: ConfigDiff, deploy_type: str) -> None:
        stopping = self._nodes_to_restart(diff, deploy_type)
        self.started = False  # as Node-RED between stop and start: no status reaches status nodes
        await self._close_nodes(stopping, self._removed_ids(stopping, diff))
        for node in stopping:
            self._forget(node)
        for flow_id in diff.restarted_flows:
            self.flows.pop(flow_id, None)
        if deploy_type == "nodes":
            self._rewire_in_place(configs, diff.rewired)
        created = self._build(configs)
        await self._setup_nodes(created)
        self.started = True
        self.log.info(
            f"Deployed modified {deploy_type}: {len(stopping)} node(s) stopped, {len(created)} started"
        )

    def _nodes_to_restart(self, diff: ConfigDiff, deploy_type: str) -> list[Node]:
        """The running nodes a partial deploy stops: those the diff restarts, every node of a
        flow that restarts whole, and the inside of each subflow instance that stops."""
        restart = diff.restarted(deploy_type)
        whole_flows = diff.restarted_flows
        # An instance's outside wires are copied into its inner nodes: it restarts when they change.
        restart |= {i for i in diff.rewired if isinstance(self.nodes.get(i), SubflowInstanceNode)}
        stopping = []
        for node in self.nodes.values():
            flow, inside_stopped = node.flow, False
            while isinstance(flow, SubflowFlow):
                inside_stopped = inside_stopped or flow.instance_node.id in restart
                flow = flow.parent
            if node.id in restart or inside_stopped or flow.id in whole_flows:
                stopping.append(node)
        return stopping

    @staticmethod
    def _removed_ids(stopping: list[Node], diff: ConfigDiff) -> set[str]:
        """Nodes closed with removed=True: those gone, and the inside of an instance that is gone."""
        removed = set(diff.removed)
        for node in stopping:
            flow = node.flow
            while isinstance(flow, SubflowFlow):
                if flow.instance_node.id in removed:
                    removed.add(node.id)
                    break
                flow = flow.parent
        return removed

    def _forget(self, node: Node) -> None:
        """A stopped node leaves the runtime, its flow (and an instance its parent's subflows)."""
        if self.nodes.get(node.id) is node:
            del self.nodes[node.id]
        if node.flow.nodes.get(node.id) is node:
            del node.flow.nodes[node.id]
        subflow = getattr(node, "subflow", None)
        if isinstance(node, SubflowInstanceNode) and subflow in node.flow.subflows:
            node.flow.subflows.remove(subflow)

    def _rewire_in_place(self, configs: list[dict], rewired: list[str]) -> None:
        """A `nodes` deploy keeps a node whose only change is its wiring: it gets the new wires
        (bound to their targets with every other node's in _build), as Node-RED's updateWires."""
        by_id = {c.get("id"): c for c in configs if c.get("id") in rewired}
        for node_id, config in by_id.items():
            node = self.nodes.get(node_id)
            if node is None or isinstance(node, SubflowInstanceNode):
                continue
            wires = config.get("wires") or []
            node.wires = wires
            node.config["wires"] = wires

    async def close(self) -> None:
        """Shut down in Node-RED's order: stop accepting requests, let the flows answer the
        ones in flight (up to nodeCloseTimeout; the rest get 503), stop the flows, close the
        HTTP server and its streams, flush context."""
        self.stopping = True
        stop_accepting = self._services_with("stop_accepting")
        for stop in stop_accepting:
            await stop()
        if stop_accepting:
            await self._settle_open_responses(close_timeout_s(self.settings))
        if self.started:
            await self.stop(None)
        for stop in reversed(self._services_with("stop")):
            await stop()
        self._services.clear()
        if self._context_started:
            await self.context.stop()
            self._context_started = False


def _describe_request(msg: dict) -> str:
    req = msg.get("req")
    method, path = getattr(req, "method", None), getattr(req, "path", None)
    return f"{method} {path}" if method and path else "HTTP request"
