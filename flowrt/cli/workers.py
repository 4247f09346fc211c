"""`flowrt run --workers N`: one supervisor process and N worker processes on one port.

The supervisor validates the flows once, then starts N copies of the same `flowrt run`
command with `FLOWRT_WORKER=<index>` in their environment; each worker binds the port with
SO_REUSEPORT, so the kernel spreads connections over them. Their output comes through the
supervisor, each line prefixed `[worker <i>]`. A worker that exits (crash, kill) is started
again after 0.5 s, a delay that doubles (up to 10 s) while it keeps dying within 10 s of
its start. SIGTERM, SIGINT or SIGHUP: every worker gets SIGTERM and stops gracefully (as one
`flowrt run` does); those still running after `nodeCloseTimeout` + 10 s are killed. A
second signal kills them at once.

What is per worker: memory context, the flows' timers and anything in memory. Shared
through Redis (docs/scaling.md): the `redis` context store, SSE sessions
(`sseSessionRegistry: redis`), and the leader lease that lets inject timers fire in one
worker only (flowrt.engine.leader); without Redis (no setting `redis`, no $REDIS_URL) the
supervisor warns that they fire in every worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Any

from flowrt.engine.leader import EveryWorker, Leadership, RedisLease

WORKER_ENV = "FLOWRT_WORKER"
WORKERS_ENV = "FLOWRT_WORKERS"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_QUICK_DEATH_S = 10.0
_MAX_RESTART_DELAY_S = 10.0


def worker_index() -> int | None:
    """This process's worker index, or None when it is not a worker."""
    value = os.environ.get(WORKER_ENV)
    return int(value) if value and value.isdigit() else None


def redis_configured(settings: Any) -> bool:
    return bool(settings.get("redis") or os.environ.get("REDIS_URL"))


def leadership_for_worker(settings: Any, log: Any) -> Leadership:
    """The service a worker's inject timers ask (see flowrt.engine.leader)."""
    if not redis_configured(settings):
        return EveryWorker()
    return RedisLease(dict(settings.get("redis") or {}), log=log)


def _die_with_parent() -> None:
    """A worker ends when the supervisor does, even if it was killed (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Supervisor:
    def __init__(self, argv: list[str], count: int, close_timeout_s: float) -> None:
        self.argv = argv
        self.count = count
        self.stop_timeout = close_timeout_s + 10.0
        self.workers: dict[int, asyncio.subprocess.Process] = {}
        self.started_at: dict[int, float] = {}
        self.delays: dict[int, float] = {}
        self.ready: set[int] = set()
        self.stopping = asyncio.Event()
        self.signals = 0

    def say(self, text: str) -> None:
        print(f"flowrt: supervisor: {text}", flush=True)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self._on_signal)
        self.say(f"starting {self.count} workers (pid {os.getpid()})")
        for index in range(self.count):
            await self._spawn(index)
        exits = {asyncio.ensure_future(p.wait()): i for i, p in self.workers.items()}
        stop = asyncio.ensure_future(self.stopping.wait())
        while not self.stopping.is_set():
            done, _ = await asyncio.wait([*exits, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is stop:
                    continue
                index = exits.pop(task)
                if not self.stopping.is_set():
                    exits[asyncio.ensure_future(self._restart(index))] = index
        for task in exits:
            task.cancel()
        return await self._stop_all()

    def _on_signal(self) -> None:
        self.signals += 1
        if self.signals == 1:
            self.say("stopping the workers")
            self.stopping.set()
        else:
            self.say("second signal: killing the workers")
            for process in self.workers.values():
                if process.returncode is None:
                    process.kill()

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        env = dict(os.environ, **{WORKER_ENV: str(index), WORKERS_ENV: str(self.count)})
        env["PYTHONUNBUFFERED"] = "1"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "flowrt",
            *self.argv,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor only, which forwards it
        )
        self.workers[index] = process
        self.started_at[index] = time.monotonic()
        asyncio.ensure_future(self._relay(index, process))
        self.say(f"worker {index} started (pid {process.pid})")
        return process

    async def _relay(self, index: int, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        prefix = f"[worker {index}] ".encode()
        async for line in process.stdout:
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()
            if index not in self.ready and b"Started flows" in line:
                self.ready.add(index)
                if len(self.ready) == self.count:
                    self.say(f"all {self.count} workers started")

    async def _restart(self, index: int) -> None:
        """Wait for worker `index` to exit, then start it again (unless stopping)."""
        process = self.workers[index]
        code = await process.wait()
        if self.stopping.is_set():
            return
        lived = time.monotonic() - self.started_at[index]
        delay = self.delays.get(index, 0.25)
        delay = min(delay * 2, _MAX_RESTART_DELAY_S) if lived < _QUICK_DEATH_S else 0.5
        self.delays[index] = delay
        self.say(f"worker {index} (pid {process.pid}) exited with status {code}; restarting in {delay:g} s")
        try:
            await asyncio.wait_for(self.stopping.wait(), delay)
            return
        except TimeoutError:
            pass
        self.ready.discard(index)
        new = await self._spawn(index)
        await new.wait()

    async def _stop_all(self) -> int:
        alive = [p for p in self.workers.values() if p.returncode is None]
        for process in alive:
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in alive)), self.stop_timeout)
        except TimeoutError:
            for process in alive:
                if process.returncode is None:
                    self.say(f"worker pid {process.pid} did not stop in {self.stop_timeout:g} s: killed")
                    process.kill()
            await asyncio.gather(*(p.wait() for p in alive))
        self.say("stopped")
        return 0


def supervise(argv: list[str], count: int, close_timeout_s: float) -> int:
    """Run the supervisor until a stop signal; its exit status."""
    return asyncio.run(Supervisor(argv, count, close_timeout_s).run())
