"""flowrt.engine.clock.VirtualClock and the harness's virtual-clock mode."""

from __future__ import annotations

import time

import pytest

from flowrt.engine.clock import RealClock, VirtualClock, monotonic, wall_time
from flowrt.testing import FlowTestHarness


async def test_timers_fire_in_time_order_only_when_advanced():
    clock = VirtualClock(start=0.0)
    fired = []
    clock.call_later(2.0, fired.append, "b")
    clock.call_later(1.0, fired.append, "a")
    cancelled = clock.call_later(1.5, fired.append, "x")
    cancelled.cancel()
    assert clock.pending == 2 and clock.next_due() == 1.0
    await clock.advance(0.999)
    assert fired == []
    await clock.advance(0.001)
    assert fired == ["a"] and clock.time() == 1.0
    await clock.advance(5)
    assert fired == ["a", "b"] and clock.time() == 6.0 and clock.pending == 0
    with pytest.raises(ValueError):
        await clock.advance(-1)


async def test_timer_sees_its_own_due_time_and_can_reschedule_within_the_step():
    clock = VirtualClock(start=0.0)
    seen = []

    def tick() -> None:
        seen.append(clock.time())
        if len(seen) < 5:
            clock.call_later(0.3, tick)

    clock.call_later(0.3, tick)
    await clock.advance(1.0)
    assert seen == pytest.approx([0.3, 0.6, 0.9])
    await clock.run_all()
    assert seen == pytest.approx([0.3, 0.6, 0.9, 1.2, 1.5])


async def test_wall_time_follows_the_virtual_time():
    clock = VirtualClock(start=5.0, wall_start=1_000_000.0)
    await clock.advance(2.5)
    assert clock.wall_time() == 1_000_002.5


async def test_harness_runs_node_timers_on_the_virtual_clock():
    flow = [
        {"id": "t1", "type": "trigger", "duration": "250", "wires": [["h1"]]},
        {"id": "h1", "type": "helper"},
    ]
    async with FlowTestHarness(flow, clock="virtual") as h:
        node = h.node("t1").node
        assert node.runtime.clock is h.clock
        assert monotonic(node) == h.clock.time() and wall_time(node) == h.clock.wall_time()
        h.node("t1").receive({"payload": "x"})
        await h.clock.advance(0.249)
        assert [m["payload"] for m in h.node("h1").received] == ["1"]
        assert h.clock.pending == 1
        await h.clock.advance(0.001)
        assert [m["payload"] for m in h.node("h1").received] == ["1", "0"]
        assert h.clock.pending == 0
        # the next trigger's timer is cancelled with the node on close
        h.node("t1").receive({"payload": "y"})
        assert h.clock.pending == 1
    assert h.clock.pending == 0


async def test_real_clock_by_default():
    flow = [{"id": "h1", "type": "helper"}]
    async with FlowTestHarness(flow) as h:
        node = h.node("h1").node
        assert h.clock is None and isinstance(node.runtime.clock, RealClock)
        assert abs(wall_time(node) - time.time()) < 60
    with pytest.raises(ValueError):
        FlowTestHarness(flow, clock="fast")
