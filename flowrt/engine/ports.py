"""What the engine's parts need of each other, as Protocols.

`node.py` types its flow and runtime against `FlowPort` and `RuntimePort`, `flow.py` its
runtime against `RuntimePort`, and the delivery queue its receivers against `Receiver`, so
none of them imports another for types: there is no import cycle node <-> flow <-> runtime,
not even a type-only one. `Runtime` (runtime.py) and `Flow` (flow.py) satisfy these
Protocols; nothing here is checked at run time except `HttpServerPort` (see `Runtime.http`).

Node authors use `Node`'s documented methods and `self.runtime`'s documented members
(docs/node-api.md); these Protocols describe the engine's own wiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:  # leaves (they import no engine module): no cycle
    from flowrt.context import Context, ContextManager
    from flowrt.engine.clock import Clock
    from flowrt.engine.hooks import Hooks
    from flowrt.engine.live import LiveResponse
    from flowrt.log import Logger
    from flowrt.settings import Settings

S = TypeVar("S")


class Receiver(Protocol):
    """What the delivery queue delivers to: a node's input (or the queue's own marker)."""

    id: str | None
    type: str
    path: str

    def handle_input(self, msg: Any) -> None: ...


class NodePort(Receiver, Protocol):
    """A node as flows and the runtime see it (the `Node` class satisfies this)."""

    id: str
    name: str
    g: str | None
    z: str | None
    config: dict
    wires: list[list[str]]
    closed: bool


class GroupPort(Protocol):
    def get_setting(self, name: str) -> Any: ...


class FlowPort(Protocol):
    """What a node needs of the flow it is on (a tab, a subflow instance, the global flow)."""

    id: str
    kind: str
    path: str
    runtime: RuntimePort
    groups: Mapping[str, GroupPort]
    #: source node id -> the complete nodes listening to it (empty on most flows)
    complete_map: Mapping[str, list[Any]]

    def get_setting(self, name: str) -> Any: ...

    def context(self) -> Context: ...

    def handle_error(self, node: Any, err: Any, msg: dict | None, reporting: Any = None) -> bool: ...

    def handle_status(self, node: Any, status: dict, reporting: Any = None) -> bool: ...

    def handle_complete(self, node: Any, msg: dict) -> None: ...

    def complete_targets(self, node: Any) -> list[Any]: ...


class RuntimePort(Protocol):
    """What nodes and flows need of the runtime running them."""

    settings: Settings
    log: Logger
    context: ContextManager
    nodes: Mapping[str, Any]
    started: bool
    stopping: bool
    #: Queue a message for a node's input (the delivery queue's `deliver`).
    deliver: Callable[[Any, Any], None]
    #: The runtime's hooks (Node-RED's RED.hooks), its clock, its error listeners.
    hooks: Hooks
    clock: Clock
    error_listeners: list[Callable[[Any, Any, Any], Any]]
    uncaught_listeners: list[Callable[[Any, Any, Any], Any]]
    #: Async input handlers started and not finished.
    handlers_running: int

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def deliver_now(self) -> None: ...

    def after_deliveries(self, callback: Callable[[], None]) -> None: ...

    def get_node(self, node_id: str) -> Any: ...

    def get_env(self, name: str) -> Any: ...

    def emit_status(self, node: Any, status: dict) -> None: ...

    def uncaught_error(self, node: Any, err: Any, msg: dict | None) -> None: ...

    def track_response(self, res: LiveResponse) -> None: ...

    def untrack_response(self, res: LiveResponse) -> None: ...

    def service(self, key: type[S], create: Callable[[Any], S] | None = None) -> S | None: ...

    # used by flows while they build
    def create_node(self, config: dict, flow: Any) -> Any: ...

    def create_subflow_instance(self, instance: Any, parent: Any) -> list[Any]: ...


class Service(Protocol):
    """A runtime service (`Runtime.add_service`): each of these methods is optional and
    called when present: `start` when the runtime starts, `stop_accepting` when it begins
    to close (before the flows answer what is in flight), `stop` after the flows stopped."""

    async def start(self) -> None: ...

    async def stop_accepting(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class HttpServerPort(Protocol):
    """The HTTP server service as the runtime and nodes use it (flowrt.http.server.HttpServer)."""

    @property
    def base_url(self) -> str: ...

    def add_route(self, method: str, path: str, handler: Any, owner: Any = None) -> Any: ...

    def remove_routes(self, owner: Any) -> None: ...

    async def stop_accepting(self) -> None: ...
