"""Port of the main cases of Node-RED's test/nodes/core/function/89-delay_spec.js
(small delays; order and content asserted, never elapsed time)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from flowrt.testing import FlowTestHarness


def flow_of(**config):
    return [
        {"id": "d1", "type": "delay", "name": "delayNode", "wires": [["h1"], ["h2"]], **config},
        {"id": "h1", "type": "helper"},
        {"id": "h2", "type": "helper"},
    ]


async def test_loaded():
    async with FlowTestHarness(
        flow_of(
            pauseType="delay",
            timeout="5",
            timeoutUnits="seconds",
            rate="1",
            rateUnits="day",
            randomFirst="1",
            randomLast="5",
            randomUnits="seconds",
        )
    ) as h:
        node = h.node("d1").node
        assert node.name == "delayNode" and node.timeout == 5000 and node.rate == 86_400_000


@pytest.mark.parametrize("units,rate", [("hour", 3_600_000), ("minute", 60_000)])
async def test_rate_units(units, rate):
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits=units, nbRateUnits="1")) as h:
        assert h.node("d1").node.rate == rate


async def receive_at(h, schedule, node="d1"):
    """Deliver each (seconds after now, msg) at that virtual time; returns the start time."""
    t0 = h.clock.time()
    for at, msg in sorted(schedule, key=lambda item: item[0]):
        await h.clock.advance_to(t0 + at)
        h.node(node).receive(msg)
    return t0


def timeline(h, t0, node="h1"):
    """(seconds after t0 rounded to ms, payload) of every message at `node`."""
    return [
        (round(at - t0, 3), m.get("payload"))
        for at, m in zip(h.node(node).received_at, h.node(node).received, strict=True)
    ]


def topic_timeline(h, t0, node="h1"):
    """(seconds after t0, topic, payload) of every message at `node`."""
    return [
        (at, m.get("topic"), p)
        for (at, p), m in zip(timeline(h, t0, node), h.node(node).received, strict=True)
    ]


@pytest.mark.parametrize(
    "timeout,units",
    [
        ("0.5", "seconds"),
        ("500", "milliseconds"),
        ("0.00833", "minutes"),
        ("0.0001388", "hours"),
        ("0.000005787", "days"),
    ],
)
async def test_delay_fixed(timeout, units):
    """'delays the message in seconds/milliseconds/minutes/hours/days'."""
    factor = {"seconds": 1, "milliseconds": 0.001, "minutes": 60, "hours": 3600, "days": 86400}[units]
    expected = float(timeout) * factor
    async with FlowTestHarness(
        flow_of(pauseType="delay", timeout=timeout, timeoutUnits=units), clock="virtual"
    ) as h:
        t0 = h.clock.time()
        h.node("d1").receive({"payload": "delayme"})
        await h.clock.advance(expected * 0.99)
        assert h.node("h1").received == []
        await h.clock.advance(expected * 0.02)
        assert [m["payload"] for m in h.node("h1").received] == ["delayme"]
        assert h.node("h1").received_at[0] - t0 == pytest.approx(expected)


@pytest.mark.parametrize("delay,expected", [(250, 0.25), (None, 0.5), (0, 0.0), (-5, 0.0)])
async def test_variable_delay(delay, expected):
    """'variable delay set by msg.delay / is the default / is zero if zero / is zero if negative'."""
    async with FlowTestHarness(
        flow_of(pauseType="delayv", timeout="0.5", timeoutUnits="seconds"), clock="virtual"
    ) as h:
        t0 = h.clock.time()
        msg = {"payload": "delayme"}
        if delay is not None:
            msg["delay"] = delay
        h.node("d1").receive(msg)
        await h.clock.advance(0.6)
        assert timeline(h, t0) == [(expected, "delayme")]


@pytest.mark.parametrize(
    "first,last,units,low,high",
    [
        ("0.4", "0.8", "seconds", 0.4, 0.8),
        ("400", "800", "milliseconds", 0.4, 0.8),
        ("0.0066", "0.0133", "minutes", 0.396, 0.798),
        ("0.000111111", "0.000222222", "hours", 0.4, 0.8),
        ("0.0000046296", "0.0000092593", "days", 0.4, 0.8),
    ],
)
async def test_random_delay(first, last, units, low, high):
    """'randomly delays the message in seconds/milliseconds/minutes', 'delays the message in hours/days'."""
    async with FlowTestHarness(
        flow_of(pauseType="random", randomFirst=first, randomLast=last, randomUnits=units), clock="virtual"
    ) as h:
        t0 = h.clock.time()
        h.node("d1").receive({"payload": "delayme"})
        await h.clock.advance(low * 0.999)
        assert h.node("h1").received == []
        await h.clock.advance(high - low + 0.01)
        ((at, payload),) = timeline(h, t0)
        assert payload == "delayme" and low - 0.001 <= at <= high + 0.001


@pytest.mark.parametrize(
    "limit,nb,runtime,expected",
    [
        # 'limits the message rate to 1 per second': one at once, then one each second
        (1, 1, 1.5, [(0, 0), (1, 1)]),
        # '1 per 2 seconds'
        (1, 2, 3.0, [(0, 0), (2, 1)]),
        # '2 per seconds, 2 seconds'
        (2, 1, 2.1, [(0, 0), (0.5, 1), (1, 2), (1.5, 3), (2, 4)]),
    ],
)
async def test_rate_limit_timeline(limit, nb, runtime, expected):
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate=limit, nbRateUnits=nb, rateUnits="second", drop=False), clock="virtual"
    ) as h:
        t0 = h.clock.time()
        possible = -(-int(limit * runtime * 1000 + limit * 1000) // 1000)  # ceil(limit*runtime + limit)
        for i in range(possible + 1):
            h.node("d1").receive({"payload": i, "rate": None})
        await h.clock.advance(runtime)
        assert timeline(h, t0) == expected


async def test_rate_limit_using_msg_rate_with_buffer_limit():
    """'limits the message rate using msg.rate' (nodeMessageBufferMaxLength 3)."""
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate=1, nbRateUnits=1, rateUnits="second", drop=False, allowrate=True),
        settings={"nodeMessageBufferMaxLength": 3},
        clock="virtual",
    ) as h:
        t0 = h.clock.time()
        for i in range(4):
            h.node("d1").receive({"payload": i, "rate": 2000})
        await h.clock.advance(4.5)
        assert timeline(h, t0) == [(0, 0), (2, 1), (4, 2)]
        assert h.node("d1").errors == []


@pytest.mark.parametrize(
    "limit,nb,runtime,outputs,rate_value",
    [
        (1, 1, 4.0, 1, None),  # '1 per second, 4 seconds, with drop'
        (1, 2, 4.5, 1, None),  # '1 per 2 seconds, 4 seconds, with drop'
        (2, 1, 5.0, 1, None),  # '2 per second, 5 seconds, with drop'
        (2, 1, 5.0, 2, None),  # '... with drop, 2nd output'
        (2, 1, 5.0, 1, 1000),  # 'with drop using msg.rate' (allowrate not set: msg.rate ignored)
    ],
)
async def test_rate_limit_drop(limit, nb, runtime, outputs, rate_value):
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate=limit, nbRateUnits=nb, rateUnits="second", drop=True, outputs=outputs),
        settings={"nodeMessageBufferMaxLength": 3},
        clock="virtual",
    ) as h:
        rate = 1 / limit + 0.01
        possible = int(limit * runtime + limit + 0.999)
        schedule = [(0, {"payload": 0, "rate": rate_value})]
        schedule += [(2 * rate * i / possible, {"payload": i}) for i in range(1, possible + 1)]
        schedule.append((runtime - 0.3, {"payload": possible + 1}))
        t0 = await receive_at(h, schedule)
        await h.clock.advance_to(t0 + runtime)
        passed = timeline(h, t0)
        payloads = [p for _, p in passed]
        assert 2 < len(passed) < possible + 1
        assert payloads[0] == 0 and payloads[-1] == possible + 1
        assert any(b - a > 1 for a, b in pairwise(payloads))
        # every message that passed came more than one period after the previous one
        period = nb / limit
        assert all(b[0] - a[0] > period for a, b in pairwise(passed))
        dropped = [m["payload"] for m in h.node("h2").received]
        if outputs == 2:
            assert sorted(dropped + payloads) == list(range(possible + 2))
        else:
            assert dropped == []


async def test_rate_limit_queues_in_order():
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate="50", rateUnits="second", nbRateUnits="1", drop=False)
    ) as h:
        for i in range(5):
            h.node("d1").receive({"payload": i})
        got = await h.node("h1").inputs(5)
        assert [m["payload"] for m in got] == [0, 1, 2, 3, 4]


async def test_rate_limit_drop_to_second_output():
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate="1", rateUnits="second", nbRateUnits="1", drop=True, outputs=2)
    ) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        assert (await h.node("h1").next_input())["payload"] == 0
        dropped = await h.node("h2").inputs(3)
        assert [m["payload"] for m in dropped] == [1, 2, 3]


async def test_rate_with_msg_rate():
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate="1", rateUnits="second", nbRateUnits="1", allowrate=True)
    ) as h:
        h.node("d1").receive({"payload": 0, "rate": 10})
        for i in range(1, 3):
            h.node("d1").receive({"payload": i, "rate": 10})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 2]


async def test_handles_delay_queue():
    """'handles delay queue': one per tick, the latest message of each topic."""
    async with FlowTestHarness(
        flow_of(pauseType="queue", rate=4, nbRateUnits="1", rateUnits="second"), clock="virtual"
    ) as h:
        t0 = h.clock.time()
        await h.clock.advance(0.275)  # one empty tick first
        for msg in (
            {"payload": 1},
            {"payload": 1, "topic": "A"},
            {"payload": 1, "topic": "B"},
            {"payload": 2, "topic": "A"},
            {"payload": 3, "topic": "A"},
            {"payload": 2},
            {"payload": 4, "topic": "A"},
        ):
            h.node("d1").receive(msg)
        await h.clock.advance(1.5)
        got = topic_timeline(h, t0)
        assert got == [(0.5, "_none_", 2), (0.75, "A", 4), (1.0, "B", 1)]


async def test_handles_timed_queue():
    """'handles timed queue': everything held goes on the next tick, latest per topic."""
    async with FlowTestHarness(flow_of(pauseType="timed", rate=2, rateUnits="second"), clock="virtual") as h:
        t0 = h.clock.time()
        for msg in (
            {"payload": 1},
            {"payload": 1, "topic": "A"},
            {"payload": 1, "topic": "B"},
            {"payload": 2, "topic": "A"},
            {"payload": 3, "topic": "A"},
            {"payload": 2},
            {"payload": 4, "topic": "A"},
        ):
            h.node("d1").receive(msg)
        await h.clock.advance(1.5)
        got = topic_timeline(h, t0)
        assert got == [(0.5, "_none_", 2), (0.5, "A", 4), (0.5, "B", 1)]


async def test_flush_delay_queue():
    async with FlowTestHarness(flow_of(pauseType="delay", timeout="10", timeoutUnits="seconds")) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"flush": True})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 2]


async def test_part_flush_delay_queue():
    async with FlowTestHarness(flow_of(pauseType="delay", timeout="10", timeoutUnits="seconds")) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"flush": 2})
        h.node("d1").receive({"flush": 1})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 2]
        assert len(h.node("d1").node.held) == 1


async def test_reset_delay_queue():
    async with FlowTestHarness(flow_of(pauseType="delay", timeout="10", timeoutUnits="seconds")) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"reset": True})
        assert h.node("d1").node.held == []
        assert {"fill": "blue", "shape": "ring", "text": 0} in h.node("d1").statuses


async def test_flush_rate_queue():
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits="minute", nbRateUnits="1")) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"flush": True})
        got = await h.node("h1").inputs(4)
        assert [m["payload"] for m in got] == [0, 1, 2, 3]


async def test_part_flush_rate_queue_and_front():
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits="minute", nbRateUnits="1")) as h:
        for i in range(4):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"payload": 9, "toFront": True})
        h.node("d1").receive({"flush": 2})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 9, 1]


async def test_reset_rate_queue():
    async with FlowTestHarness(flow_of(pauseType="rate", rate="1", rateUnits="minute", nbRateUnits="1")) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"reset": True})
        h.node("d1").receive({"payload": "after"})
        got = await h.node("h1").inputs(2)
        assert [m["payload"] for m in got] == [0, "after"]


async def test_burst_and_reset():
    async with FlowTestHarness(
        flow_of(pauseType="burst", rate="2", rateUnits="minute", nbRateUnits="1", outputs=2)
    ) as h:
        for i in range(3):
            h.node("d1").receive({"payload": i})
        h.node("d1").receive({"reset": True})
        h.node("d1").receive({"payload": 3})
        got = await h.node("h1").inputs(3)
        assert [m["payload"] for m in got] == [0, 1, 3]
        assert (await h.node("h2").next_input())["payload"] == 2


RATE_1S = {
    "pauseType": "rate",
    "rate": 1,
    "rateUnits": "second",
    "drop": False,
    "allowrate": False,
    "outputs": 1,
}


async def test_part_flush_and_reset_rate_queue():
    """'can part flush and reset rate limit queue'."""
    async with FlowTestHarness(flow_of(**RATE_1S), clock="virtual") as h:
        t0 = await receive_at(
            h,
            [
                (0, {"payload": 1, "topic": "foo"}),
                (0.01, {"payload": 2, "topic": "far"}),
                (0.02, {"payload": 3, "topic": "boo"}),
                (0.03, {"payload": 4, "topic": "bar"}),
                (0.2, {"flush": 2, "reset": True}),
                (0.3, {"payload": 5, "topic": "fob"}),
                (0.4, {"flush": 1, "reset": True}),
            ],
        )
        await h.clock.advance(2)
        got = topic_timeline(h, t0)
        assert got == [(0, "foo", 1), (0.2, "far", 2), (0.2, "boo", 3), (0.4, "fob", 5)]


async def test_full_flush_and_reset_rate_queue():
    """'can full flush and reset rate limit queue'."""
    async with FlowTestHarness(flow_of(**RATE_1S), clock="virtual") as h:
        t0 = await receive_at(
            h,
            [
                (0, {"payload": 1, "topic": "foo"}),
                (0.01, {"payload": 2, "topic": "far"}),
                (0.02, {"payload": 3, "topic": "boo"}),
                (0.03, {"payload": 4, "topic": "bar"}),
                (0.2, {"payload": 5, "topic": "last", "flush": True, "reset": True}),
                (0.3, {"payload": 6, "topic": "fob"}),
                (0.4, {"flush": 1, "reset": True}),
            ],
        )
        await h.clock.advance(2)
        got = topic_timeline(h, t0)
        assert got == [
            (0, "foo", 1),
            (0.2, "far", 2),
            (0.2, "boo", 3),
            (0.2, "bar", 4),
            (0.2, "last", 5),
            (0.4, "fob", 6),
        ]


async def test_reset_to_empty_rate_queue_sends_nothing():
    """'sending a msg with reset to empty queue doesnt send anything'."""
    async with FlowTestHarness(
        flow_of(pauseType="rate", rate=2, rateUnits="second", drop=False), clock="virtual"
    ) as h:
        h.node("d1").receive({"payload": 1, "topic": "foo", "reset": True})
        await h.clock.advance(5)
        assert h.node("h1").received == []
        assert h.clock.pending == 0


def done_flow(pause_type, drop=False):
    return [
        {
            "id": "d1",
            "type": "delay",
            "pauseType": pause_type,
            "timeout": "1",
            "timeoutUnits": "seconds",
            "rate": "1",
            "nbRateUnits": "1",
            "rateUnits": "second",
            "randomFirst": "950",
            "randomLast": "1050",
            "randomUnits": "milliseconds",
            "drop": drop,
            "wires": [[]],
        },
        {"id": "c1", "type": "complete", "scope": ["d1"], "uncaught": False, "wires": [["h3"]]},
        {"id": "h3", "type": "helper"},
    ]


@pytest.mark.parametrize(
    "pause_type,drop,msgs,expected",
    [
        # 'calls done when queued message is emitted (type: delay / delayv / random)'
        ("delay", False, [{"payload": 1}], [(1.0, 1)]),
        ("delayv", False, [{"payload": 1, "delay": 1000}], [(1.0, 1)]),
        ("random", False, [{"payload": 1}], [(0.95, 1.05, 1)]),
        # 'calls done when queued message is cleared (type: delay / delayv / random)'
        ("delay", False, [{"payload": 1}, {"payload": 2, "reset": True}], [(0, 1), (0, 2)]),
        ("delayv", False, [{"payload": 1, "delay": 1000}, {"payload": 2, "reset": True}], [(0, 1), (0, 2)]),
        ("random", False, [{"payload": 1}, {"payload": 2, "reset": True}], [(0, 1), (0, 2)]),
        # 'calls done when queued message is flushed (type: delay / delayv / random)'
        ("delay", False, [{"payload": 1}, {"payload": 2, "flush": True}], [(0, 1), (0, 2), (0, 2)]),
        (
            "delayv",
            False,
            [{"payload": 1, "delay": 1000}, {"payload": 2, "flush": True}],
            [(0, 1), (0, 2), (0, 2)],
        ),
        ("random", False, [{"payload": 1}, {"payload": 2, "flush": True}], [(0, 1), (0, 2), (0, 2)]),
        # 'calls done when rated message is emitted (drop: false / drop: true)'
        ("rate", False, [{"payload": 1}, {"payload": 2}], [(0, 1), (1.0, 2)]),
        ("rate", True, [{"payload": 1}, {"payload": 2}], [(0, 1), (0, 2)]),
        # 'calls done when rated message is flushed'
        (
            "rate",
            False,
            [{"payload": 1}, {"payload": 2}, {"payload": 3, "flush": True}],
            [(0, 1), (0, 2), (0, 3), (0, 3)],
        ),
        # 'calls done when queued messages are sent (queue / timed)'
        ("queue", False, [{"payload": 1, "topic": "A"}, {"payload": 2, "topic": "B"}], [(1.0, 1), (2.0, 2)]),
        ("timed", False, [{"payload": 1, "topic": "a"}, {"payload": 2, "topic": "b"}], [(1.0, 1), (1.0, 2)]),
        # 'calls done when queue is reset / flushed (queue/timed)'
        (
            "timed",
            False,
            [{"payload": 1, "topic": "a"}, {"payload": 2, "reset": True}],
            [(0, 1), (0, 2), (0, 2)],
        ),
        (
            "timed",
            False,
            [{"payload": 1, "topic": "a"}, {"payload": 2, "flush": True}],
            [(0, 1), (0, 2), (0, 2)],
        ),
    ],
)
async def test_calls_done(pause_type, drop, msgs, expected):
    # A message that flushes (or resets a queue) and is itself queued is completed
    # twice, as in Node-RED: once as a queued message, once as the flush/reset one.
    async with FlowTestHarness(done_flow(pause_type, drop), clock="virtual") as h:
        t0 = h.clock.time()
        for msg in msgs:
            h.node("d1").receive(msg)
        await h.clock.advance(3)
        got = timeline(h, t0, "h3")
        assert [p for _, p in got] == [e[-1] for e in expected]
        for (at, _), exp in zip(got, expected, strict=True):
            if len(exp) == 3:
                assert exp[0] <= at <= exp[1]
            else:
                assert at == exp[0]
