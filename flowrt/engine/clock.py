"""flowrt.engine.clock: where nodes read the time, so tests can drive it.

Each runtime owns a clock, `runtime.clock`: a `RealClock` in a normal run, or a
`VirtualClock` a test gives it (`Runtime(clock=...)`, `FlowTestHarness(flow, clock="virtual")`).
Nodes schedule timers with `Node.call_later` (which uses the runtime's clock) and read
the time with the two helpers here instead of `time.monotonic()`, `loop.time()` or
`datetime.now()`:

    from flowrt.engine.clock import monotonic, wall_time
    elapsed = monotonic(self) - self.last_sent      # seconds, for rate limiting
    now = wall_time(self)                            # epoch seconds, for calendars

Both read `node.runtime.clock` (the real clocks for anything without one). Under a
virtual clock, timers fire only when the test advances it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol

#: Upper bound on loop turns spent letting deliveries drain after one timer.
MAX_SETTLE_TURNS = 1000


class Clock(Protocol):
    """What a runtime's clock offers: two readings and timers."""

    #: True for a clock that stands still until a test advances it.
    virtual: bool

    def time(self) -> float:
        """Monotonic seconds."""
        ...

    def wall_time(self) -> float:
        """Seconds since the epoch."""
        ...

    def call_later(self, delay: float, callback: Callable, *args: Any) -> asyncio.TimerHandle: ...


class RealClock:
    """The process's clocks and the event loop's timers."""

    virtual = False

    def time(self) -> float:
        return time.monotonic()  # the clock asyncio's default loop.time() reads

    def wall_time(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable, *args: Any) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback, *args)


REAL_CLOCK = RealClock()


def clock_of(node: Any) -> Clock:
    """The clock of the runtime `node` belongs to (the real one when it has none)."""
    return getattr(getattr(node, "runtime", None), "clock", None) or REAL_CLOCK


def monotonic(node: Any) -> float:
    """Seconds on a clock that never goes back: the node's runtime's clock."""
    return clock_of(node).time()


def wall_time(node: Any) -> float:
    """Seconds since the epoch on the node's runtime's clock."""
    return clock_of(node).wall_time()


def loop_is_settled() -> bool:
    """Has the running event loop no callback ready to run? (True on a loop that does not say.)"""
    ready = getattr(asyncio.get_running_loop(), "_ready", None)  # asyncio's run queue
    return ready is None or not ready


class _VirtualTimer(asyncio.TimerHandle):
    """A TimerHandle the event loop never sees: cancelling it concerns the clock only."""

    __slots__ = ()

    def cancel(self) -> None:
        asyncio.Handle.cancel(self)


class VirtualClock:
    """A clock that stands still until `await advance(seconds)`.

    Timers are real `asyncio.TimerHandle`s (so `cancel()`, `cancelled()` and
    `when()` work) kept in a heap of their own, not on the event loop. `advance`
    runs the due ones in time order, and after each lets the event loop run until
    nothing is ready any more, so the messages a timer sent have been delivered
    (and anything they scheduled for a time within the step fires in turn).
    Waiting for I/O is not part of settling.
    """

    virtual = True

    def __init__(self, start: float = 1000.0, wall_start: float | None = None) -> None:
        self._now = float(start)
        self._wall_offset = (time.time() if wall_start is None else float(wall_start)) - self._now
        self._heap: list[tuple[float, int, asyncio.TimerHandle]] = []
        self._seq = itertools.count()

    # ----- reading -------------------------------------------------------------
    def time(self) -> float:
        """Monotonic seconds."""
        return self._now

    def wall_time(self) -> float:
        """Epoch seconds: the wall time at the start plus the virtual time advanced since."""
        return self._now + self._wall_offset

    @property
    def pending(self) -> int:
        """How many timers are scheduled and not cancelled."""
        return sum(1 for _, _, h in self._heap if not h.cancelled())

    def next_due(self) -> float | None:
        """Seconds until the next live timer, or None when there is none."""
        self._drop_cancelled()
        return self._heap[0][0] - self._now if self._heap else None

    # ----- scheduling ----------------------------------------------------------
    def call_later(self, delay: float, callback: Callable, *args: Any) -> asyncio.TimerHandle:
        return self.call_at(self._now + max(0.0, delay), callback, *args)

    def call_at(self, when: float, callback: Callable, *args: Any) -> asyncio.TimerHandle:
        handle = _VirtualTimer(when, callback, args, asyncio.get_running_loop())
        heapq.heappush(self._heap, (when, next(self._seq), handle))
        return handle

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled():
            heapq.heappop(self._heap)

    # ----- driving -------------------------------------------------------------
    async def settle(self) -> None:
        """Let the event loop run until no callback is ready (deliveries drained)."""
        for _ in range(MAX_SETTLE_TURNS):
            await asyncio.sleep(0)
            if loop_is_settled():
                # One more turn: a task woken by the last callbacks may still have to run.
                await asyncio.sleep(0)
                if loop_is_settled():
                    return
        raise RuntimeError(f"the event loop did not settle within {MAX_SETTLE_TURNS} turns")

    async def advance(self, seconds: float) -> None:
        """Move the time forward by `seconds`, firing due timers in order."""
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        await self.advance_to(self._now + seconds)

    async def advance_to(self, when: float) -> None:
        await self.settle()
        while True:
            self._drop_cancelled()
            if not self._heap or self._heap[0][0] > when:
                break
            due, _, handle = heapq.heappop(self._heap)
            self._now = max(self._now, due)
            handle._run()
            await self.settle()
        self._now = max(self._now, when)
        await self.settle()

    async def run_all(self, limit: int = 10_000) -> None:
        """Fire every timer, jumping from one to the next (not for repeating timers)."""
        for _ in range(limit):
            self._drop_cancelled()
            if not self._heap:
                return
            await self.advance_to(self._heap[0][0])
        raise RuntimeError(f"timers still pending after {limit} steps (a repeating timer?)")
