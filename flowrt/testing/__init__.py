"""flowrt.testing: run a flow in-process and observe its nodes from pytest.

The Python counterpart of node-red-node-test-helper:

    from flowrt.testing import FlowTestHarness

    async def test_lower_case():
        flow = [
            {"id": "n1", "type": "lower-case", "wires": [["n2"]]},
            {"id": "n2", "type": "helper"},
        ]
        async with FlowTestHarness(flow) as h:
            h.node("n1").receive({"payload": "UpperCase"})
            msg = await h.node("n2").next_input()
            assert msg["payload"] == "uppercase"

Every message arriving at any node's input is recorded, so `next_input` never
misses one that came before it was called. `helper` is a node type that does
nothing but be observed. Status updates, errors (`node.error` calls, caught or
not) and log lines are recorded per node too. Nodes without `z` go on a tab
made for the test, as the Node-RED helper does.

With `FlowTestHarness(flow, clock="virtual")` the nodes' timers (`Node.call_later`)
and their time readings (`flowrt.engine.clock.monotonic`/`wall_time`) run on a
`flowrt.engine.clock.VirtualClock` that stands still until `await h.clock.advance(seconds)`,
which fires the due timers in order and lets the messages they send be delivered.

The harness observes through the runtime's public seams only: an `onReceive` hook
(`runtime.hooks`) records inputs, `runtime.error_listeners` errors, `runtime.status_listeners`
statuses, the logger's listeners log lines; the clock is the runtime's (`runtime.clock`).
Several harnesses (and other runtimes) can run in one process side by side.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowrt.engine.clock import VirtualClock, loop_is_settled
from flowrt.engine.hooks import ReceiveEvent
from flowrt.engine.node import Node
from flowrt.engine.registry import registry
from flowrt.engine.runtime import Runtime
from flowrt.http.server import HttpServer
from flowrt.http.sessions import wants_redis
from flowrt.log import Logger, LogRecord
from flowrt.settings import Settings

DEFAULT_TIMEOUT = 5.0
TEST_TAB = "flowrt-test-tab"
#: The label of the harness's own hooks (`runtime.hooks.remove("*.flowrt-testing")`).
HOOK_LABEL = "flowrt-testing"


class HelperNode(Node):
    """A sink for tests: receives messages so the harness can observe them."""

    schema = {"type": "object"}

    def on_input(self, msg: dict, send: Callable) -> None:
        return None


if registry.get_type("helper") is None:
    registry.register("helper", HelperNode, origin="flowrt.testing")


class _Recorder:
    """A list plus an asyncio.Queue-like cursor: `next()` returns items in order."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._cursor = 0
        self._event = asyncio.Event()

    def add(self, item: Any) -> None:
        self.items.append(item)
        self._event.set()

    async def next(self, timeout: float, what: str) -> Any:
        async def wait() -> Any:
            while self._cursor >= len(self.items):
                self._event.clear()
                await self._event.wait()
            item = self.items[self._cursor]
            self._cursor += 1
            return item

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s") from None

    async def wait_count(self, count: int, timeout: float, what: str) -> list[Any]:
        async def wait() -> None:
            while len(self.items) < count:
                self._event.clear()
                await self._event.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} {what}, got {len(self.items)} within {timeout}s"
            ) from None
        return self.items[:count]


class NodeHandle:
    """What a test sees of one node."""

    def __init__(self, harness: FlowTestHarness, node_id: str) -> None:
        self.harness = harness
        self.id = node_id
        self._inputs = _Recorder()
        self._input_times: list[float] = []
        self._statuses = _Recorder()
        self._errors = _Recorder()
        self._logs = _Recorder()

    @property
    def node(self) -> Node:
        """The live node object (for assertions on its state)."""
        node = self.harness.runtime.get_node(self.id)
        if node is None:
            raise KeyError(f"node {self.id!r} is not running")
        return node

    def receive(self, msg: dict | None = None) -> None:
        """Deliver a message to the node's input (as Node-RED's node.receive)."""
        self.node.receive({} if msg is None else msg)

    async def next_input(self, timeout: float = DEFAULT_TIMEOUT) -> dict:
        return await self._inputs.next(timeout, f"message at the input of node {self.id!r}")

    async def inputs(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        """Wait until `count` messages in all have arrived; returns the first `count`."""
        return await self._inputs.wait_count(count, timeout, f"messages at node {self.id!r}")

    @property
    def received(self) -> list[dict]:
        return list(self._inputs.items)

    @property
    def received_at(self) -> list[float]:
        """When each input arrived: `h.clock.time()` on a virtual clock, else the loop's time."""
        return list(self._input_times)

    async def next_status(self, timeout: float = DEFAULT_TIMEOUT) -> dict:
        return await self._statuses.next(timeout, f"status from node {self.id!r}")

    @property
    def statuses(self) -> list[dict]:
        return list(self._statuses.items)

    async def next_error(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[Any, dict | None]:
        """The next `node.error(err, msg)` call of this node, caught or not: (err, msg)."""
        return await self._errors.next(timeout, f"error from node {self.id!r}")

    @property
    def errors(self) -> list[tuple[Any, dict | None]]:
        return list(self._errors.items)

    async def next_log(self, level: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> LogRecord:
        while True:
            record = await self._logs.next(timeout, f"{level or 'any'} log line from node {self.id!r}")
            if level is None or record.level == level:
                return record

    @property
    def logs(self) -> list[LogRecord]:
        return list(self._logs.items)


class FlowTestHarness:
    """Loads a flow into an in-process runtime; use as `async with FlowTestHarness(flow) as h`."""

    def __init__(
        self,
        flow: list[dict] | str | Path,
        settings: dict | None = None,
        http: bool = True,
        clock: str | VirtualClock | None = None,
    ) -> None:
        """`clock`: None (real time), "virtual" or a `VirtualClock` (see `h.clock`)."""
        if clock == "virtual":
            clock = VirtualClock()
        elif clock is not None and not isinstance(clock, VirtualClock):
            raise ValueError(f'clock must be None, "virtual" or a VirtualClock, not {clock!r}')
        #: The virtual clock the nodes' timers run on, or None on real time.
        self.clock: VirtualClock | None = clock
        self._flow = flow
        self._settings = dict(settings or {})
        self._http = http
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._handles: dict[str, NodeHandle] = {}
        self.logs: list[LogRecord] = []
        self.runtime: Runtime | None = None

    def _load(self) -> list[dict]:
        if isinstance(self._flow, (str, Path)):
            from flowrt.formats.document import load_deployment

            return load_deployment([self._flow]).nodes
        nodes = [dict(n) for n in self._flow]
        if any(
            not n.get("z") and n.get("type") not in ("tab", "subflow", "group") and "wires" in n
            for n in nodes
        ):
            if not any(n.get("id") == TEST_TAB for n in nodes):
                nodes.insert(0, {"id": TEST_TAB, "type": "tab", "label": "test"})
            for n in nodes:
                if not n.get("z") and n.get("type") not in ("tab", "subflow") and "wires" in n:
                    n["z"] = TEST_TAB
        return nodes

    async def start(self) -> FlowTestHarness:
        settings = {"uiPort": 0, "uiHost": "127.0.0.1", "logLevel": "warn", "httpServer": self._http}
        if "userDir" not in self._settings:
            self._tmp = tempfile.TemporaryDirectory(prefix="flowrt-test-")
            settings["userDir"] = self._tmp.name
        settings.update(self._settings)
        logger = Logger(settings.get("logLevel", "warn"))
        logger.listeners.append(self._on_log)
        self.runtime = Runtime(Settings(settings), logger=logger, clock=self.clock)
        if settings.get("httpServer"):
            self.runtime.add_service(HttpServer(self.runtime.settings, logger))
        if wants_redis(self.runtime.settings.get("sseSessionRegistry")):
            from flowrt.http.redis_sessions import install  # needs redis-py

            install(self.runtime)
        self.runtime.status_listeners.append(self._on_status)
        self.runtime.error_listeners.append(self._on_error)
        self.runtime.hooks.add(f"onReceive.{HOOK_LABEL}", self._on_receive)
        await self.runtime.start(self._load())
        return self

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def redeploy(self, flow: list[dict], deploy_type: str = "full") -> None:
        """Deploy `flow` in place of the running one: `full`, or Node-RED's partial `nodes` / `flows`."""
        self._flow = flow
        await self.runtime.redeploy(self._load(), deploy_type)

    async def __aenter__(self) -> FlowTestHarness:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def node(self, node_id: str) -> NodeHandle:
        handle = self._handles.get(node_id)
        if handle is None:
            handle = self._handles[node_id] = NodeHandle(self, node_id)
        return handle

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port> of the runtime's HTTP server."""
        if self.runtime is None or self.runtime.http is None:
            raise RuntimeError("the harness was started without an HTTP server")
        return self.runtime.http.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def now(self) -> float:
        """The time the nodes see: the virtual clock's, else the event loop's (monotonic seconds)."""
        if self.clock is not None:
            return self.clock.time()
        return asyncio.get_running_loop().time()

    # ----- observation hooks ---------------------------------------------------
    def _on_log(self, record: LogRecord) -> None:
        self.logs.append(record)
        if record.node_id:
            self.node(record.node_id)._logs.add(record)

    def _on_status(self, node: Node, status: dict) -> None:
        self.node(node.id)._statuses.add(status)

    def _on_receive(self, event: ReceiveEvent) -> None:
        handle = self.node(event.destination.id)
        handle._input_times.append(self.now())
        handle._inputs.add(event.msg)

    def _on_error(self, node: Node, err: Any, msg: dict | None) -> None:
        self.node(node.id)._errors.add((err, msg))

    async def idle(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the runtime has no delivery queued, no input handler running and the event
        loop nothing ready to run: what the flow does at once in response has been done.

        For negative checks ("nothing arrived at n2"), instead of sleeping. Timers are not
        waited for (advance a virtual clock for those), nor I/O a node waits on outside a handler."""
        runtime = self.runtime

        async def wait() -> None:
            while True:
                await asyncio.sleep(0)
                if not runtime.busy and loop_is_settled():
                    await asyncio.sleep(0)  # a task woken by the last callbacks may still run
                    if not runtime.busy and loop_is_settled():
                        return
                elif runtime.handlers_running and loop_is_settled():
                    await asyncio.sleep(0.001)  # a handler waits on I/O or a real timer

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"the runtime was still busy after {timeout}s ({runtime.queued} queued,"
                f" {runtime.handlers_running} handler(s) running)"
            ) from None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FlowProcess:
    """`flowrt run` as a real child process on a free port, for end-to-end tests.

        async with FlowProcess(["flows/x.yaml"]) as proc:
            async with aiohttp.ClientSession() as s:
                await s.get(proc.url("/hello"))

    It waits for the "Started flows" line; `stop()` sends SIGTERM and returns the exit status.
    Output lines are kept in `proc.lines` (stdout and stderr merged).
    """

    def __init__(
        self,
        flows: list[str | Path],
        *args: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.flows = [str(f) for f in flows]
        self.args = list(args)
        self.port = port if port is not None else free_port()
        self.env = env
        self.cwd = cwd
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._line_event = asyncio.Event()
        self._tmp: tempfile.TemporaryDirectory | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def start(self, timeout: float = 30.0, wait_for: str = "Started flows") -> FlowProcess:
        import os
        import sys

        args = list(self.args)
        if "-u" not in args and "--userDir" not in args:
            self._tmp = tempfile.TemporaryDirectory(prefix="flowrt-proc-")
            args += ["-u", self._tmp.name]
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env or {})
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "flowrt",
            "run",
            *self.flows,
            "-p",
            str(self.port),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=self.cwd,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        if wait_for:
            await self.wait_for_line(wait_for, timeout)
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._line_event.set()

    async def wait_for_line(self, text: str, timeout: float = 10.0) -> str:
        """Wait until an output line contains `text`; returns that line."""

        async def wait() -> str:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if text in line:
                        return line
                seen = len(self.lines)
                if self.process is not None and self.process.returncode is not None and self._reader.done():
                    raise AssertionError(
                        f"flowrt exited ({self.process.returncode}) before {text!r}:\n{self.output}"
                    )
                self._line_event.clear()
                try:
                    await asyncio.wait_for(self._line_event.wait(), 0.5)
                except TimeoutError:
                    pass

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"no output line with {text!r} within {timeout}s:\n{self.output}") from None

    async def stop(self, sig: int | None = None, timeout: float = 20.0) -> int:
        import signal

        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(sig or signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return self.process.returncode

    async def __aenter__(self) -> FlowProcess:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
