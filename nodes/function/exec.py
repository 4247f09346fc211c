"""The exec node: run a command (through the shell, or spawned with streamed
output), appending msg.payload and extra arguments. Outputs: stdout, stderr,
return code. A timeout or msg.kill stops the process. Uses asyncio
subprocesses: the event loop never blocks."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Callable
from typing import Any

from flowrt import Node, register_type
from flowrt.lang.jsvalues import is_nan, js_number
from flowrt.lang.jsvalues import js_string as js_str
from flowrt.lang.propertypath import get_message_property
from flowrt.util import clone_message

_ARG_RE = re.compile(r'(?:[^\s"]+|"[^"]*")+')


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _signal_name(returncode: int | None) -> str | None:
    if returncode is not None and returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return None
    return None


@register_type("exec")
class ExecNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "command": {
                "anyOf": [{"type": "string"}, {"enum": [None, False, 0]}],
                "x-fatal": True,
            },  # .trim() in the constructor
            "addpay": {"type": ["string", "boolean"]},
            "append": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "useSpawn": {"type": ["string", "boolean"]},
            "timer": {"type": ["string", "number"]},
            "oldrc": {"type": ["boolean", "string"]},
            "winHide": {"type": "boolean"},
        },
    }

    def setup(self) -> None:
        n = self.config
        self.cmd = js_str(n.get("command") or "").strip()
        addpay = n.get("addpay", True)
        if addpay is True:
            addpay = "payload"
        self.addpay = addpay
        self.append = js_str(n.get("append") or "").strip()
        self.use_spawn = js_str(n.get("useSpawn")) == "true"
        timer = js_number(n.get("timer") or 0)  # Number(n.timer || 0), seconds
        if is_nan(timer):
            # Node-RED's setTimeout(cleanup, NaN) fires at once: every command is killed straight away
            self.warn(
                f"timeout {n.get('timer')!r} is not a number: commands are killed at once, as in Node-RED"
            )
            timer = 0.001
        self.timer = float(timer)
        self.oldrc = js_str(n.get("oldrc") or False) != "false"
        self.max_buffer = self.settings.get("execMaxBufferSize") or 10_000_000
        self.active: dict[int, asyncio.subprocess.Process] = {}
        self.shell = "/bin/bash" if sys.platform.startswith("linux") and os.path.exists("/bin/bash") else None

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        if "kill" in msg:
            sig = msg["kill"]
            if not isinstance(sig, str) or not sig or not sig.upper().startswith("SIG"):
                sig = "SIGTERM"
            signum = getattr(signal, sig.upper(), signal.SIGTERM)
            if "pid" in msg:
                proc = self.active.get(_as_pid(msg["pid"]))
                if proc is not None:
                    _kill(proc, signum)
                    self.status({"fill": "red", "shape": "dot", "text": "killed"})
            elif len(self.active) == 1:
                _kill(next(iter(self.active.values())), signum)
                self.status({"fill": "red", "shape": "dot", "text": "killed"})
            done()
            return
        arg = self.cmd
        if self.addpay:
            value = get_message_property(msg, self.addpay)
            if value is not None:
                arg += " " + js_str(value)
        if self.append:
            arg += " " + self.append
        if self.use_spawn:
            if not _ARG_RE.search(arg):
                # Node-RED: arg.match(...) is null for a blank line and .map throws; the message stops
                self.error("TypeError: Cannot read properties of null (reading 'map')", msg)
                return
            self.create_task(self._spawn(arg, msg, send, done))
        else:
            self.create_task(self._exec(arg, msg, send, done))

    def _watch(self, proc: asyncio.subprocess.Process) -> Any:
        if self.timer:
            return self.call_later(self.timer, lambda: _kill(proc, signal.SIGTERM))
        return None

    async def _spawn(self, line: str, msg: dict, send: Callable, done: Callable) -> None:
        args = [
            a[1:-1] if len(a) > 1 and a.startswith('"') and a.endswith('"') else a
            for a in _ARG_RE.findall(line)
        ]
        self.debug(f"{args[0]} [{','.join(args[1:])}]")
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
            )
        except OSError as err:
            # as node's spawn: an error event, then close with a negative errno code
            self.status({"fill": "blue", "shape": "dot", "text": "pid:undefined"})
            code = -(err.errno or 2)
            msg["payload"] = code if self.oldrc else {"code": code}
            self.status({"fill": "red", "shape": "dot", "text": f"rc:{code}"})
            send([None, None, clone_message(msg)])
            done()
            return
        pid = proc.pid
        self.status({"fill": "blue", "shape": "dot", "text": f"pid:{pid}"})
        self.active[pid] = proc
        timer = self._watch(proc)

        async def pump(stream: asyncio.StreamReader, port: int) -> None:
            while True:
                data = await stream.read(65536)
                if not data:
                    return
                if self.active.get(pid) is proc:
                    msg["payload"] = _text_or_bytes(data)
                    out: list = [None, None, None]
                    out[port] = clone_message(msg)
                    send(out)

        await asyncio.gather(pump(proc.stdout, 0), pump(proc.stderr, 1))
        rc = await proc.wait()
        self.cancel_timer(timer)
        if self.active.get(pid) is proc:
            del self.active[pid]
            sig = _signal_name(rc)
            code = None if sig else rc
            if self.oldrc:
                msg["payload"] = code
            else:
                msg["payload"] = {"code": code}
                if sig:
                    msg["payload"]["signal"] = sig
            if code == 0:
                self.status({})
            if code is None:
                self.status({"fill": "red", "shape": "dot", "text": "killed"})
            elif code < 0:
                self.status({"fill": "red", "shape": "dot", "text": f"rc:{code}"})
            else:
                self.status({"fill": "yellow", "shape": "dot", "text": f"rc:{code}"})
            send([None, None, clone_message(msg)])
        done()

    async def _exec(self, line: str, msg: dict, send: Callable, done: Callable) -> None:
        self.debug(line)
        output = _BoundedOutput(self.max_buffer)
        try:
            proc = await asyncio.create_subprocess_shell(
                line,
                stdout=output.stdout_fd,
                stderr=output.stderr_fd,
                stdin=asyncio.subprocess.DEVNULL,
                executable=self.shell,
            )
        except BaseException:
            output.close()
            raise
        finally:
            output.close_child_ends()
        pid = proc.pid
        self.status({"fill": "blue", "shape": "dot", "text": f"pid:{pid}"})
        self.active[pid] = proc
        timer = self._watch(proc)
        stdout, stderr = await output.read(proc)
        rc = await proc.wait()
        self.cancel_timer(timer)
        msg.pop("payload", None)
        msg2 = msg3 = None
        if stderr:
            msg2 = clone_message(msg)
            msg2["payload"] = _text_or_bytes(stderr)
        msg["payload"] = _text_or_bytes(stdout)
        self.status({})
        sig = _signal_name(rc)
        if rc != 0 or output.exceeded:
            if output.exceeded:
                # Node's exec: a RangeError, the child killed; the error has no signal
                code: Any = "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"
                error = {"code": code, "message": f"{output.exceeded} maxBuffer length exceeded"}
            else:
                code = None if sig else rc
                error = {"code": code, "message": f"Command failed: {line}\n{stderr.decode('latin-1')}"}
                if sig:
                    error["signal"] = sig
            msg3 = clone_message(msg)
            msg3["payload"] = error
            if code is None:
                self.status({"fill": "red", "shape": "dot", "text": "killed"})
            else:
                self.status({"fill": "red", "shape": "dot", "text": f"error:{code}"})
        elif not self.oldrc:
            msg3 = clone_message(msg)
            msg3["payload"] = {"code": 0}
        if msg3 is None:
            self.status({})
        else:
            msg["rc"] = msg3["payload"]
            if msg2 is not None:
                msg2["rc"] = msg3["payload"]
        send([msg, msg2, msg3])
        self.active.pop(pid, None)
        done()

    async def on_close(self, removed: bool) -> None:
        active, self.active = self.active, {}
        for proc in active.values():
            _kill(proc, signal.SIGTERM)
        self.status({})
        # Reap them, so no process or pipe transport outlives the node (bounded by nodeCloseTimeout).
        for proc in active.values():
            if proc.returncode is None:
                await proc.wait()


class _BoundedOutput:
    """stdout and stderr of a child, as Node's child_process.exec collects them: at most
    `limit` bytes each. Past that the output is cut at `limit`, our ends of both pipes are closed
    (a grandchild still writing gets EPIPE, as when Node destroys the streams), the child gets
    SIGTERM and `exceeded` names the stream ("stdout"/"stderr").

    The pipes are our own (not asyncio's subprocess pipes) so that closing them is ours to do and
    the child's exit status does not wait for them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.exceeded: str | None = None
        self._ends: list[int] = []  # the child's write ends, until it has them
        self._readers: list[tuple[asyncio.StreamReader, asyncio.ReadTransport]] = []
        self._pipes = [os.pipe(), os.pipe()]

    @property
    def stdout_fd(self) -> int:
        return self._pipes[0][1]

    @property
    def stderr_fd(self) -> int:
        return self._pipes[1][1]

    def close_child_ends(self) -> None:
        for _, write_end in self._pipes:
            os.close(write_end)

    def close(self) -> None:
        for transport in (t for _, t in self._readers):
            transport.close()
        if not self._readers:  # never connected: our read ends are still plain fds
            for read_end, _ in self._pipes:
                os.close(read_end)

    async def read(self, proc: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        for read_end, _ in self._pipes:
            reader = asyncio.StreamReader(limit=65536)
            pipe = os.fdopen(read_end, "rb", buffering=0)
            transport, _ = await loop.connect_read_pipe(
                lambda r=reader: asyncio.StreamReaderProtocol(r), pipe
            )
            self._readers.append((reader, transport))
        try:
            stdout, stderr = await asyncio.gather(
                self._collect(self._readers[0][0], "stdout", proc),
                self._collect(self._readers[1][0], "stderr", proc),
            )
        finally:
            self.close()
        return stdout, stderr

    async def _collect(
        self, stream: asyncio.StreamReader, name: str, proc: asyncio.subprocess.Process
    ) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            data = await stream.read(65536)
            if not data or self.exceeded:
                break
            if size + len(data) > self.limit:
                chunks.append(data[: self.limit - size])
                self.exceeded = name
                self.close()
                _kill(proc, signal.SIGTERM)
                break
            chunks.append(data)
            size += len(data)
        return b"".join(chunks)


def _as_pid(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _kill(proc: asyncio.subprocess.Process, signum: int) -> None:
    try:
        proc.send_signal(signum)
    except ProcessLookupError:
        pass
