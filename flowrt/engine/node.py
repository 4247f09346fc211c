"""The node base class: what every node type (built-in or user's) builds on.

A node module reads like a Node-RED node file: a class with its properties read
in `setup`, an input handler `on_input(msg, send, done)` and a close handler
`on_close(removed)`. Either handler may be `async def`.

The engine drives a node through a few public methods that are not for node authors
to call or override: `bind_targets` (wiring), `handle_input` (a delivery), `input_done`
(a handler's `done`), `close` (stop), and the attributes `closed` and `alias`.

Completion follows Node-RED: a handler that declares the `done` parameter owns
completion and must call `done()` (or `done(err)`); a handler declaring only
`(msg, send)` never triggers `complete` nodes.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from flowrt.engine.hooks import CompleteEvent, Endpoint, ReceiveEvent, SendEvent
from flowrt.engine.message import EncodedMessage, as_message, clone_message, generate_id, message_copier
from flowrt.engine.ports import FlowPort, RuntimePort
from flowrt.lang.jsvalues import js_string, js_type_name
from flowrt.lang.typedinput import evaluate_node_property


class NodeError(Exception):
    """An error a node reports; `code` and `stack` reach catch nodes' msg.error."""

    def __init__(self, message: str, code: str | None = None, stack: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.stack = stack


class NodeConfigError(Exception):
    """Raised from `setup` when a node's configuration is unusable: the node does not start."""


def _noop_send(msg: Any) -> None:
    return None


def _count_positional(func: Callable) -> int:
    params = inspect.signature(func).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 99
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class Node:
    """Base class of all node types."""

    type: ClassVar[str] = ""
    #: JSON Schema of the node's properties, used by `flowrt validate`.
    schema: ClassVar[dict | None] = None
    #: Set per class on first use: does on_input take `done`?
    _input_arity: ClassVar[int | None] = None
    #: True for a node type whose handler calls `done()` only without an error, and only before
    #: it returns (it reports errors with `self.error(err, msg)`): while nothing listens for
    #: completion it gets one shared no-op `done` instead of one made per message (issue 19:
    #: `_done_for` was 7% of a change-chain loop; bench/bench_cpu.py, docs/benchmarks.md).
    done_never_fails: ClassVar[bool] = False

    def __init__(self, config: dict, flow: FlowPort) -> None:
        self.config = config
        self.id: str = config["id"]
        self.z: str | None = config.get("z")
        self.g: str | None = config.get("g")
        self.name: str = config.get("name") or ""
        #: The id in the subflow definition, for a node copied into a subflow instance.
        self.alias: str | None = config.get("_alias")
        self.flow = flow
        self.runtime: RuntimePort = flow.runtime
        self.wires: list[list[str]] = config.get("wires") or []
        self.path = f"{flow.path}/{self.alias or self.id}"
        self._targets: list[list[Node | None]] = []
        self._single_wire = False
        self._single_target: Node | None = None
        #: Set when the node starts closing: messages still queued for it are dropped.
        self.closed = False
        self._context = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task] = set()
        cls = type(self)
        if cls.__dict__.get("_input_arity") is None:
            cls._input_arity = _count_positional(self.on_input)
        self._takes_done = cls._input_arity >= 3
        self.send = _noop_send

    # ----- to override -------------------------------------------------------
    def setup(self) -> Any:
        """Read properties from self.config; may be async. Raise NodeConfigError to refuse to start."""

    def on_input(self, msg: dict, send: Callable, done: Callable) -> Any:
        """Handle one message. The default passes it on."""
        send(msg)
        done()

    def on_close(self, removed: bool) -> Any:
        """Release resources; may be async. `removed` is True when the node leaves the flow."""

    def route_targets(self, targets: list[list[Node | None]]) -> list[list[Node | None]]:
        """Where the outputs lead: given the nodes each output's wires reach (None for a missing
        one), return the nodes to send to (`link out` returns its `link in` nodes). Called before
        `setup`, and again when send hooks are added or removed."""
        return targets

    @property
    def wants_completion(self) -> bool:
        """Does `done()` without an error matter (a complete node or an onComplete hook listens)?
        A handler may skip calling it when it does not."""
        return self.flow.completion_wanted

    # ----- properties ---------------------------------------------------------
    @property
    def outputs(self) -> int:
        return len(self.wires)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.runtime.loop

    @property
    def settings(self):
        return self.runtime.settings

    # ----- the engine's interface to a node (not for node authors) ------------
    @property
    def _alias(self) -> str | None:  # the old private name, for code not yet updated
        return self.alias

    @property
    def _closed(self) -> bool:  # the old private name, for code not yet updated
        return self.closed

    # ----- wiring (called by the runtime) -------------------------------------
    def bind_targets(self, targets: list[list[Node | None]]) -> None:
        """Engine: the nodes each output port's wires lead to (None: a missing node), passed
        through `route_targets`; picks the plain or the hooked send."""
        targets = self.route_targets(targets)
        self._targets = targets
        count = sum(len(t) for t in targets)
        if count == 0:
            self.send = _noop_send
            return
        # The hooked path only while send hooks are registered: the plain one never looks.
        self.send = self._send_hooked if self.runtime.hooks.sending else self._send
        self._single_wire = len(targets) == 1 and len(targets[0]) == 1
        self._single_target = targets[0][0] if self._single_wire else None

    # ----- messaging ----------------------------------------------------------
    def _send(self, msg: Any) -> None:
        if msg is None:
            return
        if type(msg) is dict:
            if self._single_wire:
                if "_msgid" not in msg:
                    msg["_msgid"] = generate_id()
                target = self._single_target
                if target is not None:
                    self.runtime.deliver(target, msg)
                return
            msg = [msg]
        elif not isinstance(msg, (list, tuple)):
            if isinstance(msg, dict):
                msg = [msg]
            else:
                self.error(f"Node tried to send a message of type {js_type_name(msg)}")
                return
        self._send_many(msg)

    def _send_many(self, outputs: list | tuple) -> None:
        events = self._collect_sends(outputs)
        deliver = self.runtime.deliver
        copiers: dict[int, Callable[[], dict]] = {}  # a message's clones: a large one is read once
        for _port, _wire, target, m, needs_clone in events:
            if target is not None:
                if needs_clone:
                    copy = copiers.get(id(m)) or copiers.setdefault(id(m), message_copier(m))
                    m = copy()
                deliver(target, m)

    def _collect_sends(self, outputs: list | tuple) -> list[tuple[int, int, Node | None, dict, bool]]:
        """(port, wire index, target, message, needs a clone) per recipient, as Node-RED's
        Node.send builds its send events: all cloning decided before anything is delivered."""
        events: list[tuple[int, int, Node | None, dict, bool]] = []
        sent = False
        first_id = None
        missing_ids = False
        for port, wires in enumerate(self._targets):
            if port >= len(outputs):
                break
            out = outputs[port]
            if out is None:
                continue
            msgs = out if isinstance(out, (list, tuple)) else (out,)
            for index, target in enumerate(wires):
                for m in msgs:
                    if m is None:
                        continue
                    if not isinstance(m, dict):
                        self.error(f"Node tried to send a message of type {js_type_name(m)}")
                        continue
                    msgid = m.get("_msgid")
                    if not msgid:
                        missing_ids = True
                    elif first_id is None:
                        first_id = msgid
                    events.append((port, index, target, m, sent))
                    sent = True
        if missing_ids:
            first_id = first_id or generate_id()
            for event in events:
                if not event[3].get("_msgid"):
                    event[3]["_msgid"] = first_id
        return events

    def _send_hooked(self, msg: Any) -> None:
        """`send` while send hooks are registered: onSend, then per recipient preRoute,
        (clone,) preDeliver, deliver, postDeliver, as Node-RED's Flow.send."""
        if msg is None:
            return
        if isinstance(msg, dict):
            msg = [msg]
        elif not isinstance(msg, (list, tuple)):
            self.error(f"Node tried to send a message of type {js_type_name(msg)}")
            return
        events = []
        for port, index, target, m, needs_clone in self._collect_sends(msg):
            wires = self.wires[port] if port < len(self.wires) else []
            target_id = target.id if target is not None else wires[index] if index < len(wires) else None
            event = SendEvent(m, Endpoint(self.id, self, port), Endpoint(target_id), needs_clone)
            events.append((event, target))
        if events:
            route_send(self, events)

    def receive(self, msg: dict | None = None) -> None:
        """Deliver a message to this node's input now (Node-RED's node.receive)."""
        if msg is None:
            msg = {}
        if "_msgid" not in msg:
            msg["_msgid"] = generate_id()
        if self.runtime.hooks.receiving:
            receive_hooked(self, msg)
        else:
            self.handle_input(msg)

    def handle_input(self, msg: dict) -> None:
        """Engine: one delivery to this node's input (the delivery queue calls it)."""
        if self.closed:
            return
        try:
            if self._takes_done:
                if self.done_never_fails and not self.flow.completion_wanted:
                    result = self.on_input(msg, self.send, _nothing)
                else:
                    result = self.on_input(msg, self.send, self._done_for(msg))
            else:
                result = self.on_input(msg, self.send)
        except Exception as err:
            self.error(err, msg)
            return
        if result is not None and inspect.isawaitable(result):
            self._run_async_input(result, msg)

    def _run_async_input(self, awaitable: Any, msg: dict) -> None:
        runtime = self.runtime

        async def runner() -> None:
            try:
                await awaitable
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.error(err, msg)

        def finished(task: asyncio.Task) -> None:
            runtime.handlers_running -= 1

        runtime.handlers_running += 1  # counted until it ends, even if cancelled before it starts
        self.create_task(runner()).add_done_callback(finished)

    def _done_for(self, msg: dict) -> Callable[..., None]:
        flow = self.flow

        def done(err: Any = None) -> None:
            if err or flow.completion_wanted:  # most flows have no complete node: skip the rest
                self.input_done(msg, err)

        return done

    def input_done(self, msg: dict, err: Any = None) -> None:
        """Engine: a handler called `done(err)` for `msg`: the onComplete hooks, then report the
        error or tell complete nodes."""
        hooks = self.runtime.hooks
        if hooks.completing:
            msg = as_message(msg)
            event = CompleteEvent(msg, err or None, Endpoint(self.id, self))
            hooks.run("onComplete", event, _nothing, self.error)
        if err:
            self.error(err, msg)
        else:
            self.flow.handle_complete(self, msg)

    # ----- errors, logs, status ----------------------------------------------
    def error(self, err: Any, msg: dict | None = None) -> None:
        """Report an error; with a message it reaches catch nodes, else it is logged."""
        if err is None or err == "":
            err = ""
        if isinstance(msg, EncodedMessage):
            msg = msg.decoded()
        for listener in self.runtime.error_listeners:
            listener(self, err, msg)
        handled = False
        if msg is not None and isinstance(msg, dict):
            handled = self.flow.handle_error(self, err, msg)
        if not handled:
            self.runtime.uncaught_error(self, err, msg)

    def warn(self, text: Any) -> None:
        self.runtime.log.log("warn", str(text), self)

    def log(self, text: Any) -> None:
        self.runtime.log.log("info", str(text), self)

    def debug(self, text: Any) -> None:
        self.runtime.log.log("debug", str(text), self)

    def trace(self, text: Any) -> None:
        self.runtime.log.log("trace", str(text), self)

    def status(self, status: dict | str | int | float | bool | None) -> None:
        if status is None:
            status = {}
        elif not isinstance(status, dict):
            status = {"text": js_string(status)}
        self.runtime.emit_status(self, status)
        self.flow.handle_status(self, status)

    # ----- context, env, typed inputs ----------------------------------------
    def context(self):
        """The node's context; `.flow` and `.global_` reach the other scopes."""
        if self._context is None:
            flow_context = self.flow.context()  # first, so a subflow's flow context knows its parent
            self._context = self.runtime.context.node_context(self.alias or self.id, self.z)
            self._context.flow = flow_context
            self._context.global_ = self.runtime.context.global_context()
        return self._context

    def get_setting(self, name: str) -> Any:
        """An env value as Node-RED's env.get: NR_NODE_*, then group, flow, parents, process env."""
        return node_setting(self.flow, name, self.id, self.name, self.path, self.g)

    def evaluate(self, value: Any, type_: str, msg: dict | None = None) -> Any:
        """Evaluate a typed input (msg, flow, global, str, num, json, jsonata, env, ...)."""
        return evaluate_node_property(value, type_, self, msg)

    # ----- timers and tasks cleared on close ----------------------------------
    def call_later(self, delay: float, callback: Callable, *args: Any) -> asyncio.TimerHandle:
        """Schedule a callback that is cancelled when the node closes."""
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            try:
                callback(*args)
            except Exception as err:
                self.error(err)

        handle = self.runtime.clock.call_later(delay, fire)
        self._timers.add(handle)
        return handle

    @property
    def pending_timers(self) -> int:
        """Timers set with call_later that have neither fired nor been cancelled."""
        return sum(1 for handle in self._timers if not handle.cancelled())

    @property
    def pending_tasks(self) -> int:
        """Tasks of this node (create_task, async handlers) not finished yet."""
        return len(self._tasks)

    def cancel_timer(self, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            handle.cancel()
            self._timers.discard(handle)

    def create_task(self, coro: Any) -> asyncio.Task:
        """Run a coroutine owned by this node: cancelled when the node closes."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ----- lifecycle (called by the runtime) ----------------------------------
    async def close(self, removed: bool) -> None:
        """Engine: stop the node (its on_close, then its timers, tasks and context)."""
        self.closed = True
        try:
            arity = _count_positional(self.on_close)
            result = self.on_close(removed) if arity >= 1 else self.on_close()
            if inspect.isawaitable(result):
                await result
        finally:
            for handle in list(self._timers):
                handle.cancel()
            self._timers.clear()
            for task in list(self._tasks):
                task.cancel()
            if self._context is not None:
                self.runtime.context.delete_node_context(self.alias or self.id, self.z)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}:{self.id}>"


def _nothing(err: Any = None) -> None:
    return None


def route_send(source: Node, events: list[tuple[SendEvent, Node | None]]) -> None:
    """The hooked send: onSend for the whole send, then each recipient's own chain. A failing
    hook is the sender's error (without the message, as Node-RED's Flow.send reports it)."""
    hooks = source.runtime.hooks

    def route_each() -> None:
        for event, target in events:
            _pre_route(source, event, target)

    hooks.run("onSend", [event for event, _ in events], route_each, source.error)


def _pre_route(source: Node, event: SendEvent, target: Node | None) -> None:
    runtime = source.runtime
    wired_id = event.destination.id

    def routed() -> None:
        # A preRoute hook may send the message elsewhere by changing destination.id.
        node = target if event.destination.id == wired_id else runtime.get_node(event.destination.id)
        if node is None:
            return
        event.destination.node = node
        if event.clone_message:
            event.msg = clone_message(event.msg)
        runtime.hooks.run("preDeliver", event, lambda: _deliver(source, event), source.error)

    runtime.hooks.run("preRoute", event, routed, source.error)


def _deliver(source: Node, event: SendEvent) -> None:
    runtime = source.runtime
    runtime.deliver(event.destination.node, event.msg)
    runtime.hooks.run("postDeliver", event, _nothing, source.error)


def receive_hooked(node: Node, msg: Any) -> None:
    """A delivery while receive hooks are registered: onReceive, the handler, postReceive.
    The hooks (and the node) get the message as a dict, decoded if it came encoded."""
    if node.closed:
        return
    if isinstance(msg, EncodedMessage):
        msg = msg.decoded()
    hooks = node.runtime.hooks
    event = ReceiveEvent(msg, Endpoint(node.id, node))

    def handle() -> None:
        node.handle_input(event.msg)
        hooks.run("postReceive", event, _nothing, node.error)

    hooks.run("onReceive", event, handle, node.error)


def node_setting(
    flow: FlowPort, name: str, node_id: Any, node_name: Any, node_path: str, group_id: Any
) -> Any:
    """env.get for a node (or a node config not yet built): NR_NODE_*, then its group or flow."""
    if name == "NR_NODE_ID":
        return node_id
    if name == "NR_NODE_NAME":
        return node_name
    if name == "NR_NODE_PATH":
        return node_path
    group = flow.groups.get(group_id) if group_id else None
    if group is not None:
        return group.get_setting(name)
    return flow.get_setting(name)


def error_text(err: Any) -> str:
    """What Node-RED shows for an error: Error objects as their message, else toString()."""
    if isinstance(err, BaseException):
        text = str(err)
        return text if text else type(err).__name__
    return js_string(err)


def error_stack(err: Any) -> str | None:
    if isinstance(err, NodeError) and err.stack:
        return err.stack
    if isinstance(err, BaseException) and err.__traceback__ is not None:
        return "".join(traceback.format_exception(err)).rstrip()
    return None
