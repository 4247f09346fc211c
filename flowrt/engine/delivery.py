"""Message delivery: one ordered FIFO queue per runtime, drained on the event loop.

`deliver` appends to the queue, drained by a single event-loop callback (Node-RED uses a
setImmediate per hop). A send never runs the receiver inside the sender's call, so there is
no recursion and a 100,000-hop loop never grows the stack. No task is created per hop. One
drain serves up to DRAIN_BUDGET deliveries (including those queued meanwhile) before
yielding, so I/O and timers get a turn between batches.

A receiver is anything with `handle_input(msg)`, an `id`, `type` and `path` (a Node, or the
queue's own AfterDeliveries marker): see `flowrt.engine.ports.Receiver`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from flowrt.engine.hooks import Hooks
from flowrt.engine.ports import Receiver
from flowrt.log import Logger

#: Deliveries per event-loop turn before other callbacks (I/O, timers) get their turn.
DRAIN_BUDGET = 256
#: How often a check queued behind the messages in flight goes back to the end of the
#: queue while more messages keep coming, before it runs anyway.
SETTLE_ROUNDS = 64


class AfterDeliveries:
    """A pseudo-receiver in the queue: runs a callback once the messages queued before it,
    and those their deliveries queued in turn, are delivered (or after SETTLE_ROUNDS rounds)."""

    closed = False
    id = None  # in a log record: not a node
    type = "after-deliveries"
    path = "runtime"

    def __init__(self, queue: DeliveryQueue) -> None:
        self.queue = queue
        self.rounds = SETTLE_ROUNDS

    def handle_input(self, callback: Callable[[], None]) -> None:
        if self.queue.pending and self.rounds > 0:
            self.rounds -= 1
            self.queue.deliver(self, callback)
        else:
            callback()


class DeliveryQueue:
    """The runtime's message queue. `Runtime.deliver` is this queue's `deliver` (bound once,
    so a send costs no extra lookup)."""

    def __init__(
        self,
        log: Logger,
        hooks: Hooks | None = None,
        receive_hooked: Callable[[Any, Any], None] | None = None,
    ) -> None:
        self.log = log
        #: While receive hooks are registered, deliveries go through `receive_hooked(node, msg)`.
        self.hooks = hooks or Hooks()
        self.receive_hooked = receive_hooked
        self._queue: deque[tuple[Receiver, Any]] = deque()
        self._scheduled = False
        self._draining = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    @loop.setter
    def loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def pending(self) -> int:
        """How many deliveries are queued."""
        return len(self._queue)

    def deliver(self, node: Receiver, msg: Any) -> None:
        """Queue `msg` for `node`'s input; delivered on a later loop turn, in order."""
        self._queue.append((node, msg))
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._drain)

    def deliver_now(self) -> None:
        """Deliver what is queued now rather than on the next loop turn (same order).

        For a caller that waits for the flow's answer, such as `http in`: a flow that
        answers at once has then answered before the caller looks, saving a loop turn.
        Called from inside a delivery (a node's handler) it does nothing: the drain already
        running delivers the queue, and a receiver never runs inside its sender's frame."""
        if self._queue and not self._draining:
            self._drain()

    def after_deliveries(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the messages now in flight have been delivered."""
        self.deliver(AfterDeliveries(self), callback)

    def clear(self) -> None:
        """Drop what is queued (the runtime is stopping its nodes)."""
        self._queue.clear()

    def _drain(self) -> None:
        # Deliver what is queued, then what those deliveries queued, up to a budget per
        # loop turn: still asynchronous and ordered, but one loop iteration serves many
        # hops so I/O callbacks wait at most one batch.
        if self.hooks.receiving:  # (one check per drain: none per delivery)
            self._drain_hooked()
            return
        queue = self._queue
        popleft = queue.popleft
        budget = DRAIN_BUDGET
        self._draining = True
        try:
            while queue and budget > 0:
                node, msg = popleft()
                budget -= 1
                try:
                    node.handle_input(msg)
                except Exception as err:  # a bug in a node must not stop delivery
                    self.log.log("error", f"Error delivering message to node {node.path}: {err!r}", node)
        finally:
            self._draining = False
        if queue:
            self.loop.call_soon(self._drain)
        else:
            self._scheduled = False

    def _drain_hooked(self) -> None:
        # _drain while receive hooks are registered: each delivery to a node goes through them
        # (the queue's own markers do not).
        queue = self._queue
        receive = self.receive_hooked
        budget = DRAIN_BUDGET
        self._draining = True
        try:
            while queue and budget > 0:
                node, msg = queue.popleft()
                budget -= 1
                try:
                    if type(node) is AfterDeliveries:
                        node.handle_input(msg)
                    else:
                        receive(node, msg)
                except Exception as err:  # a bug in a node must not stop delivery
                    self.log.log("error", f"Error delivering message to node {node.path}: {err!r}", node)
        finally:
            self._draining = False
        if queue:
            self.loop.call_soon(self._drain)
        else:
            self._scheduled = False
