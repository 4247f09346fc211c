"""The `function` node: the user's JavaScript, run in an embedded QuickJS context.

Behaviour follows Node-RED's 10-function.js: the code is the body of a function
of `msg` (returning a message, null, or an array per output), `node.send`,
`node.done`, a returned Promise, On Start (`initialize`, messages wait until it
completes) and On Stop (`finalize`), `timeout`, and `libs` (npm modules, which
flowrt cannot load: such a node does not start). See docs/function-nodes.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, NodeError, register_type
from flowrt.js.sandbox import (
    ESC,
    HANDLE_MARK,
    ForeignHandle,
    JSMessage,
    JSSandbox,
    SandboxError,
    uses_await,
    uses_node_done,
)
from flowrt.lang.jsvalues import js_string, js_type_name

RESOLVING, READY, FAILED = 0, 1, 2
_INIT = object()


def _seconds(value: Any) -> float:
    try:
        return max(0.0, float(value or 0))
    except (TypeError, ValueError):
        return 0.0


def _code_text(cfg: dict, key: str) -> str:
    """On Start / On Stop code; a truthy non-string makes Node-RED's constructor throw (.trim)."""
    value = cfg.get(key)
    if not value:
        return ""
    if not isinstance(value, str):
        raise NodeConfigError(f"{key} must be JavaScript code text, not {js_type_name(value)}")
    return value.strip()


@register_type("function")
class FunctionNode(Node):
    """JavaScript function node on QuickJS."""

    # As 10-function.js's constructor: a non-string `func` is pasted into the code as its text
    # (123 runs, {} is a syntax error the node reports); a truthy non-string On Start/On Stop
    # (.trim()) and `libs` that is not a list (.forEach) make it throw: the node does not start.
    schema = {
        "type": "object",
        "properties": {
            "func": {"type": "string"},
            "outputs": {"type": "integer", "minimum": 0},
            "timeout": {"type": ["number", "string"]},
            "noerr": {"type": "integer"},
            "initialize": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "finalize": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "libs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"var": {"type": "string"}, "module": {"type": "string"}},
                },
                "x-fatal": True,
            },
        },
    }

    #: The function node this one's single wire leads to (messages go there still encoded).
    _js_target: FunctionNode | None = None

    def route_targets(self, targets: list) -> list:
        # Note a single wire to another function node; not while send hooks watch the sends
        # (they see every message, as a dict, through send).
        target = targets[0][0] if len(targets) == 1 and len(targets[0]) == 1 else None
        direct = isinstance(target, FunctionNode) and not self.runtime.hooks.sending
        self._js_target = target if direct else None
        return targets

    def setup(self) -> None:
        cfg = self.config
        libs = [
            lib
            for lib in (cfg.get("libs") or [])
            if isinstance(lib, dict) and (lib.get("module") or lib.get("var"))
        ]
        if libs:
            names = ", ".join(repr(lib.get("module") or lib.get("var")) for lib in libs)
            raise NodeConfigError(
                f"function node {self.id}{' (' + self.name + ')' if self.name else ''} uses npm module(s) {names}: "
                "external modules cannot be loaded in flowrt's JavaScript sandbox; the node is not started"
            )
        settings = self.settings
        func = cfg.get("func")
        self.func = "" if func is None else js_string(func)  # as Node-RED pastes it into the code
        self.ini = _code_text(cfg, "initialize")
        self.fin = _code_text(cfg, "finalize")
        try:
            self.output_count = int(cfg.get("outputs", 1))
        except (TypeError, ValueError):
            self.output_count = 1
        timeout = _seconds(cfg.get("timeout"))
        if timeout <= 0:
            timeout = _seconds(settings.get("functionTimeout")) or _seconds(
                settings.get("globalFunctionTimeout")
            )
        if timeout <= 0:
            # No timeout configured: still stop runaway code so the process keeps serving.
            hard = settings.get("functionHardTimeout", 30)
            timeout = _seconds(hard)
        label = f"Function node:{self.id}" + (f" [{self.name}]" if self.name else "")
        memory = int(settings.get("functionMemoryLimit", 64 * 1024 * 1024))
        stack = int(settings.get("functionStackSize", 1024 * 1024))
        try:
            self._sb = sb = JSSandbox(self, label=label, memory_limit=memory, stack_size=stack)
        except SandboxError as err:
            raise NodeConfigError(str(err)) from None
        sb.limit = timeout
        sb.set_meta({"id": self.id, "name": self.name, "path": self.path, "outputCount": self.output_count})
        self._auto_done = not uses_node_done(self.func)
        self._pending: dict[int, Any] = {}
        self._token = 0
        self._queue: list[tuple[dict, Callable, Callable]] = []
        self._linkcalls: dict[str, tuple[int, Any]] = {}  # event id -> (JS callback id, timer)
        self._state = READY
        self._run = sb.js_run
        self._has_fin = False
        try:
            sb.define("body", self.func, is_async=uses_await(self.func))
            if self.fin:
                sb.define("cleanup", self.fin, is_async=False)
                self._has_fin = True
            if self.ini:
                sb.define("setup", self.ini, is_async=True)
        except NodeError as err:
            # As Node-RED: the node exists but reports the error and handles nothing.
            self._state = FAILED
            self.error(err)
            return
        if self.ini:
            self._state = RESOLVING
            self._token += 1
            token = self._token
            self._pending[token] = _INIT
            try:
                r = sb.call(sb.js_setup, token)
            except Exception as err:
                self._init_failed(token, sb.engine_error(err))
                return
            if r == 2:
                self._init_failed(token, sb.last_error())

    # ------------------------------------------------------------ messages
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        state = self._state
        if state != READY:
            if state == RESOLVING:
                self._queue.append((msg, send, done))
            return
        sb = self._sb
        live = None
        if type(msg) is JSMessage:
            s = msg.text  # from a function node's single wire: already encoded, has a _msgid
            has_id = True
        else:
            try:
                s, live = sb.encode_message(msg)
            except Exception as err:
                done(NodeError(f"cannot pass the message to JavaScript: {err}"))
                return
            has_id = "_msgid" in msg
        self._token = token = self._token + 1
        auto = self._auto_done
        if not auto:
            self._pending[token] = done  # the code may call node.done() while it runs
        if sb.limit > 0:
            sb.arm()
        try:
            r = self._run(s, token, ESC in s) if live is None else self._run(s, token, ESC in s, *live[:4])
        except Exception as err:
            sb.deadline = None
            self._pending.pop(token, None)
            done(sb.engine_error(err))
            sb.drain()
            return
        sb.deadline = None
        if type(r) is str:
            target = self._js_target
            if target is not None and live is None and has_id and r[0] == "{" and HANDLE_MARK not in r:
                # One message over the single wire to another function node: it takes the text.
                self.runtime.deliver(target, JSMessage(r))
            else:
                try:
                    msgs = sb.decode_result(r, live)
                except ForeignHandle as err:
                    done(NodeError(str(err)))
                    sb.drain()
                    return
                self.send(msgs)
            if auto and self.wants_completion:  # skip done() when nothing listens for it
                done()
        elif r == 1:  # a Promise: settled by js_result / js_fail
            if auto:
                self._pending[token] = done
        elif r == 0:
            if auto and self.wants_completion:
                done()
        elif r == 2:
            self._pending.pop(token, None)
            done(sb.last_error())
        sb.drain()

    # ------------------------------------------------------------ errors
    def error(self, err: Any, msg: Any = None) -> None:
        if type(msg) is JSMessage:
            msg = msg.decoded()  # (the engine decodes it too; the thrown value needs the dict)
        thrown = getattr(err, "thrown", None)
        if thrown is not None and type(msg) is dict:
            msg["error"] = thrown  # as 10-function.js; the catch node's copy has it as msg._error
        super().error(err, msg)

    # ------------------------------------------------------------ hooks called by the sandbox
    def js_result(self, token: int, msgs: Any) -> None:
        entry = self._pending.get(token)
        if entry is None:
            return
        if entry is _INIT:
            del self._pending[token]
            self._init_done()
            return
        if msgs is not None:
            self.send(msgs)
        if self._auto_done:
            del self._pending[token]
            entry()

    def js_fail(self, token: int, err: Any) -> None:
        entry = self._pending.pop(token, None)
        if entry is None:
            return
        if entry is _INIT:
            self._init_failed(token, err)
            return
        entry(err)

    def js_done(self, token: int, err: Any) -> None:
        entry = self._pending.pop(token, None)
        if entry is None or entry is _INIT:
            return
        entry(err) if err is not None else entry()

    # ------------------------------------------------------------ node.linkcall (Node-RED 5)
    def js_linkcall(self, target: str, msg: dict, timeout_ms: float, cbid: int) -> None:
        """Send msg to a link in; its return (through a link out in return mode,
        `return_link_message`) or the timeout settles the JS promise `cbid`."""
        link_in = self._link_in(target)
        stack = msg.get("_linkSource")
        if not isinstance(stack, list):
            stack = msg["_linkSource"] = []
        event_id = secrets.token_hex(14)
        timer = self.call_later(max(0.0, timeout_ms) / 1000.0, self._linkcall_timeout, event_id)
        self._linkcalls[event_id] = (cbid, timer)
        stack.append({"id": event_id, "node": self.id})
        self.runtime.deliver(link_in, msg)

    def _link_in(self, target: str) -> Node:
        """Node-RED 5's lookup: a node id (which must be a link in), else a link in's
        name: the one on this tab, else the only one outside subflows."""
        runtime = self.runtime
        node = runtime.get_node(target)
        if node is None:
            named = [n for n in runtime.nodes.values() if n.type == "link in" and (n.name or n.id) == target]
            here = [n for n in named if n.flow is self.flow]
            outside = [n for n in named if n.flow.kind != "subflow"]
            if len(here) == 1:
                node = here[0]
            elif len(outside) == 1:
                node = outside[0]
            elif len(outside) > 1:
                raise LookupError(f"Multiple link-in nodes named '{target}' found")
        if node is None or node.type != "link in":
            raise LookupError(f"target link-in node '{target}' not found")
        return node

    def return_link_message(self, event_id: Any, msg: dict) -> None:
        """Called by a `link out` in return mode with the message coming back."""
        if isinstance(msg.get("_linkSource"), list) and not msg["_linkSource"]:
            del msg["_linkSource"]
        entry = self._linkcalls.pop(event_id, None) if isinstance(event_id, str) else None
        if entry is not None:
            self.cancel_timer(entry[1])
            self._sb.run_callback(entry[0], [None, msg])

    def _linkcall_timeout(self, event_id: str) -> None:
        entry = self._linkcalls.pop(event_id, None)
        if entry is not None:
            self._sb.run_callback(entry[0], ["timeout"])

    def js_log(self, level: str, text: str) -> None:
        if level == "error":
            self.error(text)
        elif level == "warn":
            self.warn(text)
        elif level == "debug":
            self.debug(text)
        elif level == "trace":
            self.trace(text)
        else:
            self.log(text)

    def _init_done(self) -> None:
        self._state = READY
        while self._queue:
            queued, self._queue = self._queue, []
            for msg, send, done in queued:
                self.on_input(msg, send, done)

    def _init_failed(self, token: int, err: Any) -> None:
        self._pending.pop(token, None)
        self._state = FAILED
        self._queue = []
        self.error(err)

    # ------------------------------------------------------------ close
    def on_close(self, removed: bool) -> None:
        sb = getattr(self, "_sb", None)
        if sb is None:
            return
        try:
            r = sb.call(sb.js_cleanup)
            if r == 2:
                self.error(sb.last_error())
        except Exception as err:
            self.error(sb.engine_error(err))
        sb.close()
        if sb.status_used:
            self.status({})
        self._pending.clear()
        self._queue = []
        for _cbid, timer in self._linkcalls.values():
            self.cancel_timer(timer)
        self._linkcalls.clear()

    def __repr__(self) -> str:
        return f"<FunctionNode {self.id}>"


__all__ = ["FunctionNode"]
