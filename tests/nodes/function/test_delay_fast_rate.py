"""A rate limit above 1,000 msg/s: timers fire at best about once a millisecond, so each late
tick releases one message per period gone by (issue 19). Modelled with a virtual clock whose
timers, as the event loop's, never fire sooner than a millisecond after they are set."""

from __future__ import annotations

from flowrt.engine.clock import VirtualClock
from flowrt.testing import FlowTestHarness


class MillisecondTimers(VirtualClock):
    def call_later(self, delay, callback, *args):
        return super().call_later(max(delay, 0.001), callback, *args)


def flow(rate: int, **extra) -> list[dict]:
    config = {"pauseType": "rate", "rate": rate, "nbRateUnits": 1, "rateUnits": "second", "drop": False}
    return [
        {"id": "d1", "type": "delay", "wires": [["h1"], []], **config, **extra},
        {"id": "h1", "type": "helper"},
    ]


async def released_after(rate: int, seconds: float, queued: int) -> list:
    async with FlowTestHarness(flow(rate), clock=MillisecondTimers()) as h:
        for i in range(queued):
            h.node("d1").receive({"payload": i})
        await h.clock.advance(seconds)
        return [m["payload"] for m in h.node("h1").received]


async def test_ten_thousand_a_second_is_ten_thousand_a_second():
    out = await released_after(10_000, 0.1, 5_000)
    # the first at once, then one per 0.1 ms: about 1,000 in 0.1 s (not the ~100 one per tick gave)
    assert 990 <= len(out) <= 1_001
    assert out == list(range(len(out)))  # in order, none twice


async def test_a_rate_under_a_thousand_still_releases_one_per_tick():
    out = await released_after(500, 0.1, 200)
    assert len(out) == 51  # the first at once, then one every 2 ms


async def test_the_queue_running_dry_stops_the_catch_up():
    out = await released_after(10_000, 0.1, 30)
    assert out == list(range(30))
