"""Runtime hooks: Node-RED's `RED.hooks`, one registry per Runtime (`runtime.hooks`).

Code outside the engine (users' modules, `flowrt.testing`, tools) watches or changes
the message path here instead of patching classes:

    def audit(event: SendEvent) -> None:
        print(event.source.id, "->", event.destination.id, event.msg["_msgid"])

    runtime.hooks.add("preDeliver.audit", audit)     # "<hook point>.<label>"
    runtime.hooks.remove("*.audit")                   # every hook labelled "audit"

Hook points on the message path, in the order a message meets them:

- `onSend`: a list of SendEvent, exactly what the node passed to `send` (before cloning);
- `preRoute`: each SendEvent; `destination.node` is not known yet;
- `preDeliver`: each SendEvent, cloned if needed, `destination.node` set;
- `postDeliver`: each SendEvent, once its delivery is queued (it cannot stop it);
- `onReceive`: a ReceiveEvent, before the node's `on_input`;
- `postReceive`: a ReceiveEvent, after `on_input` returned;
- `onComplete`: a CompleteEvent, when the node calls `done()` or `done(err)`.

A hook is called with the event. It may return False to stop the message (at `onSend`
the whole send), raise (the error is reported as the node's error and the message stops),
or be `async def` / return an awaitable (the rest of the path waits for it). A hook taking
two arguments gets a `done(result=None)` callback to call instead (Node-RED's callback
style). Hooks run in the order they were added; one added while its point is being
triggered runs in that same trigger if it comes after the running one.

When no hook is registered the message path does not look at this module at all: the
engine chooses its hooked or plain path when hooks change (see `listen`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

#: The hook points of the message path.
MESSAGE_HOOKS = (
    "onSend",
    "preRoute",
    "preDeliver",
    "postDeliver",
    "onReceive",
    "postReceive",
    "onComplete",
)
#: Node-RED's palette hooks: accepted (so a hook module written for Node-RED loads), never
#: triggered, as flowrt installs no modules.
INSTALL_HOOKS = ("preInstall", "postInstall", "preUninstall", "postUninstall")
VALID_HOOKS = MESSAGE_HOOKS + INSTALL_HOOKS
SEND_HOOKS = frozenset(MESSAGE_HOOKS[:4])
RECEIVE_HOOKS = frozenset(MESSAGE_HOOKS[4:])

#: What a hook chain ended with: None (every hook passed), False (stopped) or an error.
Outcome = Any
Done = Callable[[Outcome], None]


class HookError(Exception):
    """A hook failed with a value that is not an exception (Node-RED wraps it in an Error)."""


@dataclass(eq=False)
class Endpoint:
    """One end of a send: the node's id, the node (None until routed) and, for a source, its port."""

    id: str | None
    node: Any = None
    port: int = 0


@dataclass(eq=False)
class SendEvent:
    """Node-RED's SendEvent: `msg`, `source`, `destination`, `cloneMessage` (here `clone_message`)."""

    msg: Any
    source: Endpoint
    destination: Endpoint
    clone_message: bool = False


@dataclass(eq=False)
class ReceiveEvent:
    """Node-RED's ReceiveEvent: the message and the node about to receive it."""

    msg: Any
    destination: Endpoint


@dataclass(eq=False)
class CompleteEvent:
    """Node-RED's CompleteEvent: the message a node completed, the error it gave (or None)."""

    msg: Any
    error: Any
    node: Endpoint


@dataclass(eq=False)
class _Hook:
    """One registered hook, an item of its point's doubly linked list (as Node-RED keeps them,
    so that hooks removed or added while the list is being walked are handled)."""

    callback: Callable
    takes_done: bool
    previous: _Hook | None = None
    next: _Hook | None = None
    removed: bool = False
    label: str | None = field(default=None)


def _split(hook_id: str) -> tuple[str, str | None]:
    if not isinstance(hook_id, str):
        raise TypeError(f"a hook id is a string such as 'onSend.myLabel', not {hook_id!r}")
    parts = hook_id.split(".")
    return parts[0], (parts[1] or None) if len(parts) > 1 else None


def _takes_done(callback: Callable) -> bool:
    """Does the hook take (event, done)? A hook must take the event."""
    if not callable(callback):
        raise TypeError(f"a hook must be callable, not {callback!r}")
    try:
        params = list(inspect.signature(callback).parameters.values())
    except (TypeError, ValueError):
        return False  # a builtin without a signature: called with the event only
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if not positional:
        raise TypeError(f"a hook takes the event as its first argument: {callback!r} takes none")
    return len(required) >= 2


class Hooks:
    """The hooks of one runtime."""

    def __init__(self) -> None:
        self._heads: dict[str, _Hook] = {}
        self._labelled: dict[str, dict[str, _Hook]] = {}
        self._listeners: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Future] = set()
        #: Is any of onSend, preRoute, preDeliver, postDeliver registered?
        self.sending = False
        #: Is any of onReceive, postReceive, onComplete registered?
        self.receiving = False
        #: Is an onComplete hook registered?
        self.completing = False

    # ----- registering -----------------------------------------------------------
    def add(self, hook_id: str, callback: Callable) -> None:
        """Register `callback` at a hook point: "onSend" or, to remove it later, "onSend.label"."""
        point, label = _split(hook_id)
        if point not in VALID_HOOKS:
            raise ValueError(f"Invalid hook '{point}' (valid: {', '.join(VALID_HOOKS)})")
        if label and point in self._labelled.get(label, {}):
            raise ValueError(f"Hook {hook_id} already registered")
        item = _Hook(callback, _takes_done(callback), label=label)
        tail = self._heads.get(point)
        if tail is None:
            self._heads[point] = item
        else:
            while tail.next is not None:
                tail = tail.next
            tail.next = item
            item.previous = tail
        if label:
            self._labelled.setdefault(label, {})[point] = item
        self._changed()

    def remove(self, hook_id: str) -> None:
        """Remove "point.label", or every hook with that label with "*.label"."""
        point, label = _split(hook_id)
        if not label:
            raise ValueError(f"Cannot remove hook without label: {hook_id}")
        items = self._labelled.get(label)
        if not items:
            return
        points = list(items) if point == "*" else [point] if point in items else []
        for name in points:
            self._unlink(name, items.pop(name))
        if not items:
            del self._labelled[label]
        if points:
            self._changed()

    def _unlink(self, point: str, item: _Hook) -> None:
        # The item keeps its own `next`, so a walk standing on it goes on to the rest.
        if item.previous is not None:
            item.previous.next = item.next
        elif item.next is not None:
            self._heads[point] = item.next
        else:
            del self._heads[point]
        if item.next is not None:
            item.next.previous = item.previous
        item.removed = True

    def has(self, hook_id: str) -> bool:
        """Is a hook registered at "point" (any), or at "point.label"?"""
        point, label = _split(hook_id)
        if label:
            return point in self._labelled.get(label, {})
        return point in self._heads

    def clear(self) -> None:
        """Remove every hook."""
        self._heads.clear()
        self._labelled.clear()
        self._changed()

    def listen(self, listener: Callable[[], None]) -> None:
        """Call `listener()` whenever hooks are added or removed (the engine rebinds its paths)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.sending = any(point in self._heads for point in SEND_HOOKS)
        self.receiving = any(point in self._heads for point in RECEIVE_HOOKS)
        self.completing = "onComplete" in self._heads
        for listener in list(self._listeners):
            listener()

    # ----- triggering ------------------------------------------------------------
    def trigger(self, hook_id: str, payload: Any, done: Done | None = None) -> Awaitable[Any] | None:
        """Run the hooks of a point with `payload`.

        With `done`, call `done(outcome)` when the chain ends: None when every hook passed,
        False when one stopped it, else the error; synchronously when every hook is. Without
        `done`, return an awaitable giving None or False, or raising the error (with `.hook`)."""
        if done is None:
            return self._trigger_awaitable(hook_id, payload)
        item = self._heads.get(hook_id)
        if item is None:
            done(None)
        else:
            self._invoke(item, payload, done)
        return None

    def run(
        self, hook_id: str, payload: Any, proceed: Callable[[], None], report: Callable[[Any], None]
    ) -> None:
        """The engine's form of `trigger`: `proceed()` if every hook passed, `report(err)` if one
        failed, nothing if one stopped the message."""

        def done(outcome: Outcome) -> None:
            if outcome is None:
                proceed()
            elif outcome is not False:
                report(outcome)

        self.trigger(hook_id, payload, done)

    async def _trigger_awaitable(self, hook_id: str, payload: Any) -> Any:
        future = asyncio.get_running_loop().create_future()

        def done(outcome: Outcome) -> None:
            if future.done():
                return
            if outcome is None or outcome is False:
                future.set_result(outcome)
            else:
                future.set_exception(as_hook_error(hook_id, outcome))

        self.trigger(hook_id, payload, done)
        return await future

    def _invoke(self, item: _Hook | None, payload: Any, done: Done) -> None:
        while item is not None:
            if item.removed:
                item = item.next
                continue
            if item.takes_done:
                self._invoke_with_callback(item, payload, done)
                return
            try:
                result = item.callback(payload)
            except Exception as err:
                done(err)
                return
            if result is False:
                done(False)
                return
            if inspect.isawaitable(result):
                self._await(result, item, payload, done)
                return
            item = item.next
        done(None)

    def _invoke_with_callback(self, item: _Hook, payload: Any, done: Done) -> None:
        called = False

        def resolve(result: Any = None) -> None:
            nonlocal called
            if called:
                return
            called = True
            if result is None:
                self._invoke(item.next, payload, done)
            else:
                done(result)

        try:
            item.callback(payload, resolve)
        except Exception as err:
            if not called:
                called = True
                done(err)

    def _await(self, awaitable: Awaitable, item: _Hook, payload: Any, done: Done) -> None:
        async def wait() -> None:
            try:
                result = await awaitable
            except asyncio.CancelledError:
                raise
            except Exception as err:
                done(err)
                return
            if result is None:
                self._invoke(item.next, payload, done)
            else:
                done(result)

        task = asyncio.ensure_future(wait())
        self._tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._tasks.discard)


def as_hook_error(hook_id: str, outcome: Any) -> BaseException:
    """The error a failed hook chain gives, naming the hook point (Node-RED's err.hook)."""
    err = outcome if isinstance(outcome, BaseException) else HookError(str(outcome))
    try:
        err.hook = hook_id  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return err


__all__ = [
    "MESSAGE_HOOKS",
    "VALID_HOOKS",
    "CompleteEvent",
    "Endpoint",
    "HookError",
    "Hooks",
    "ReceiveEvent",
    "SendEvent",
]
