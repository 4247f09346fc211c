"""The `python-function` node: the function node's conventions, in trusted Python.

`func` is the body of a function of `msg` (a dict) with `node`, `context`,
`flow`, `global_` and `env` in scope. It returns a message, None, or a list per
output (each entry a message, None, or a list of messages), may call
`node.send(msgs, clone=True)`, `node.done(err=None)`, `node.error(err, msg)`,
`node.warn/log/debug/trace`, `node.status(...)`, and may `await` (the body is
then compiled as `async def`). `initialize` (On Start) and `finalize` (On Stop)
are bodies with the same names in scope except `msg`.

It runs in the runtime's own process and event loop with full Python power and
no sandbox or time limit: only deploy code you trust (docs/function-nodes.md).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import traceback
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeError, register_type
from flowrt.lang.jsvalues import js_type_name
from flowrt.lang.propertypath import get_message_property, set_message_property
from flowrt.util import clone_message, generate_id

_PARAMS = ("msg", "node", "context", "flow", "global_", "env", "RED")


def _type_name(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "Buffer"
    if isinstance(value, (list, tuple)):
        return "Array"
    return js_type_name(value)


class _Env:
    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        self._node = node

    def get(self, name: str) -> Any:
        return self._node.get_setting(name)


class _RED:
    """What of RED.util makes sense in Python."""

    class util:
        cloneMessage = staticmethod(clone_message)
        generateId = staticmethod(generate_id)

        @staticmethod
        def getMessageProperty(msg: dict, expr: str) -> Any:
            return get_message_property(msg, expr)

        @staticmethod
        def setMessageProperty(msg: dict, expr: str, value: Any, create_missing: bool = True) -> Any:
            return set_message_property(msg, expr, value, create_missing)


class NodeAPI:
    """The `node` object the code sees (one per message: send and done are bound to it)."""

    __slots__ = ("_n", "_msgid", "_done", "_mode")

    def __init__(
        self, owner: PythonFunctionNode, msgid: str | None, done: Callable | None, mode: int = 0
    ) -> None:
        self._n = owner
        self._msgid = msgid
        self._done = done
        self._mode = mode  # 0 message, 1 On Start, 2 On Stop

    id = property(lambda self: self._n.id)
    name = property(lambda self: self._n.name)
    path = property(lambda self: self._n.path)
    outputCount = property(lambda self: self._n.output_count)
    output_count = outputCount

    def send(self, msgs: Any, clone: bool = True) -> None:
        if self._mode == 2:
            self._n.error("Cannot send from close function")
            return
        msgid = generate_id() if self._mode == 1 else self._msgid
        self._n.send_results(msgs, msgid, clone)

    def done(self, err: Any = None) -> None:
        if self._done is not None:
            done, self._done = self._done, None
            done(err) if err else done()

    def error(self, err: Any, msg: dict | None = None) -> None:
        self._n.error(err, msg)

    def warn(self, text: Any) -> None:
        self._n.warn(text)

    def log(self, text: Any) -> None:
        self._n.log(text)

    def debug(self, text: Any) -> None:
        self._n.debug(text)

    def trace(self, text: Any) -> None:
        self._n.trace(text)

    def status(self, status: Any) -> None:
        self._n._status_used = True
        self._n.status(status)

    def call_later(self, delay: float, callback: Callable, *args: Any) -> Any:
        """Run a callback after `delay` seconds; cancelled when the node closes."""
        return self._n.call_later(delay, self._n._guard(callback), *args)

    def cancel_timer(self, handle: Any) -> None:
        self._n.cancel_timer(handle)

    def create_task(self, coro: Any) -> Any:
        return self._n.create_task(coro)


def _compile(code: str, name: str, params: tuple[str, ...], filename: str) -> tuple[Callable, bool]:
    """Compile `code` as the body of a function; async when it awaits."""
    body = code if code.strip() else "pass"
    for is_async in (False, True):
        source = f"{'async ' if is_async else ''}def {name}({', '.join(params)}):\n" + textwrap.indent(
            body, "    ", lambda line: True
        )
        try:
            tree = ast.parse(source, filename, "exec")
            ast.increment_lineno(tree, -1)  # user line 1 is line 1 in tracebacks
            compiled = compile(tree, filename, "exec")
        except SyntaxError as err:
            if not is_async and "outside async function" in str(err):
                continue
            line = (err.lineno or 1) - 1
            raise NodeError(f"SyntaxError: {err.msg} (line {line}, col {err.offset or 0})") from None
        namespace: dict[str, Any] = {"__name__": f"flowrt.python_function.{name}"}
        exec(compiled, namespace)
        return namespace[name], is_async
    raise AssertionError("unreachable")


@register_type("python-function")
class PythonFunctionNode(Node):
    """Python function node: trusted code, in-process."""

    # flowrt's own type: its code must be text (there is no JavaScript-style String() of it).
    schema = {
        "type": "object",
        "properties": {
            "func": {"type": "string", "x-fatal": True},
            "initialize": {"type": "string", "x-fatal": True},
            "finalize": {"type": "string", "x-fatal": True},
            "outputs": {"type": "integer", "minimum": 0},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        try:
            self.output_count = int(cfg.get("outputs", 1))
        except (TypeError, ValueError):
            self.output_count = 1
        label = f"Python function node:{self.id}" + (f" [{self.name}]" if self.name else "")
        self._label = label
        self._status_used = False
        self._ready = False
        func = cfg.get("func") or ""
        self._auto_done = re.search(r"\bnode\s*\.\s*done\s*\(", re.sub(r"#[^\n]*", "", func)) is None
        ctx = self.context()
        self._scope = (ctx, ctx.flow, ctx.global_, _Env(self), _RED)
        try:
            self._func, self._async = _compile(func, "__flowrt_func", _PARAMS, label)
            ini = (cfg.get("initialize") or "").strip()
            fin = (cfg.get("finalize") or "").strip()
            self._ini = _compile(ini, "__flowrt_init", _PARAMS[1:], label + " setup")[0] if ini else None
            self._fin = _compile(fin, "__flowrt_final", _PARAMS[1:], label + " cleanup")[0] if fin else None
        except NodeError as err:
            self.error(err)
            return
        self._ready = True
        self._queue: list | None = None
        if self._ini is not None:
            try:
                result = self._ini(NodeAPI(self, None, None, 1), *self._scope)
            except Exception as err:
                self._ready = False
                self.error(self._error(err))
                return
            if inspect.isawaitable(result):
                self._queue = []
                self.create_task(self._finish_init(result))

    async def _finish_init(self, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception as err:
            self._ready = False
            self._queue = None
            self.error(self._error(err))
            return
        queued, self._queue = self._queue or [], None
        for msg, send, done in queued:
            self.on_input(msg, send, done)

    # ------------------------------------------------------------ messages
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        if not self._ready:
            return
        if self._queue is not None:
            self._queue.append((msg, send, done))
            return
        api = NodeAPI(self, msg.get("_msgid"), done)
        try:
            result = self._func(msg, api, *self._scope)
        except Exception as err:
            api._done = None
            done(self._error(err))
            return
        if self._async:
            self.create_task(self._finish(result, msg, api, done))
            return
        if result is msg:
            self.send(msg)
        elif result is not None:
            self.send_results(result, msg.get("_msgid"), False)
        if self._auto_done:
            api.done()

    async def _finish(self, coro: Any, msg: dict, api: NodeAPI, done: Callable) -> None:
        try:
            result = await coro
        except Exception as err:
            api._done = None
            done(self._error(err))
            return
        if result is not None:
            self.send_results(result, msg.get("_msgid"), False)
        if self._auto_done:
            api.done()

    def send_results(self, msgs: Any, msgid: str | None, clone_first: bool) -> None:
        """Node-RED's sendResults: stamp _msgid, clone the first message unless told not to."""
        if msgs is None:
            return
        if type(msgs) is dict:
            if clone_first:
                msgs = clone_message(msgs)
            if msgid is not None:
                msgs["_msgid"] = msgid
            self.send(msgs)
            return
        if not isinstance(msgs, (list, tuple)):
            self.error(f"Function tried to send a message of type {_type_name(msgs)}")
            return
        out: list = []
        count = 0
        for port in msgs:
            if port is None:
                out.append(None)
                continue
            items = list(port) if isinstance(port, (list, tuple)) else [port]
            for i, m in enumerate(items):
                if m is None:
                    continue
                if isinstance(m, dict):
                    if count == 0 and clone_first:
                        m = items[i] = clone_message(m)
                    if msgid is not None:
                        m["_msgid"] = msgid
                    count += 1
                else:
                    self.error(f"Function tried to send a message of type {_type_name(m)}")
                    items[i] = None
            out.append(items)
        if count:
            self.send(out)

    # ------------------------------------------------------------ errors
    def _error(self, err: BaseException) -> NodeError:
        tb = traceback.extract_tb(err.__traceback__)
        frames = [f for f in tb if f.filename.startswith(self._label)]
        where = f" (line {frames[-1].lineno})" if frames else ""
        stack = "".join(traceback.format_exception(err)).rstrip()
        if isinstance(err, NameError):
            return NodeError(f"NameError: {err}{where}", stack=stack)
        return NodeError(str(err) or type(err).__name__, stack=stack)

    def _guard(self, callback: Callable) -> Callable:
        def run(*args: Any) -> None:
            try:
                result = callback(*args)
                if inspect.isawaitable(result):
                    self.create_task(self._await_guarded(result))
            except Exception as err:
                self.error(self._error(err), {})

        return run

    async def _await_guarded(self, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception as err:
            self.error(self._error(err), {})

    # ------------------------------------------------------------ close
    async def on_close(self, removed: bool) -> None:
        if getattr(self, "_fin", None) is not None:
            try:
                result = self._fin(NodeAPI(self, None, None, 2), *self._scope)
                if inspect.isawaitable(result):
                    await result
            except Exception as err:
                self.error(self._error(err))
        if self._status_used:
            self.status({})
