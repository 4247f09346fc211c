"""The delivery queue (flowrt/engine/delivery.py): order, the drain budget, deliver_now."""

from __future__ import annotations

import asyncio

from flowrt.engine.delivery import DRAIN_BUDGET, DeliveryQueue
from flowrt.log import Logger


class Recorder:
    """A receiver that records what it gets and may run an action on each input."""

    type = "recorder"

    def __init__(self, name: str, log: list, action=None) -> None:
        self.id = self.path = name
        self.log = log
        self.action = action

    def handle_input(self, msg) -> None:
        self.log.append((self.path, "in", msg))
        if self.action is not None:
            self.action(msg)
        self.log.append((self.path, "out", msg))


def new_queue() -> DeliveryQueue:
    return DeliveryQueue(Logger("error"))


async def test_deliveries_arrive_in_order_on_a_later_turn():
    queue, log = new_queue(), []
    receiver = Recorder("r", log)
    for n in range(5):
        queue.deliver(receiver, n)
    assert log == []  # never inside the sender's call
    done = asyncio.Event()
    queue.after_deliveries(done.set)
    await done.wait()
    assert [m for _, what, m in log if what == "in"] == [0, 1, 2, 3, 4]


async def test_one_drain_serves_at_most_the_budget_then_yields():
    queue, log = new_queue(), []
    receiver = Recorder("r", log)
    for n in range(DRAIN_BUDGET + 10):
        queue.deliver(receiver, n)
    queue.deliver_now()
    assert len(log) == 2 * DRAIN_BUDGET
    assert queue.pending == 10
    done = asyncio.Event()
    queue.after_deliveries(done.set)
    await done.wait()
    assert queue.pending == 0


async def test_deliver_now_delivers_what_is_queued_at_once():
    queue, log = new_queue(), []
    queue.deliver(Recorder("r", log), "m")
    queue.deliver_now()
    assert log == [("r", "in", "m"), ("r", "out", "m")]


async def test_deliver_now_inside_a_delivery_does_not_run_the_receiver_in_the_senders_frame():
    queue, log = new_queue(), []
    second = Recorder("second", log)

    def send_then_deliver_now(msg) -> None:
        queue.deliver(second, msg)
        queue.deliver_now()  # re-entrant: must not deliver to `second` inside this call

    first = Recorder("first", log, send_then_deliver_now)
    queue.deliver(first, "m")
    queue.deliver_now()
    assert log == [("first", "in", "m"), ("first", "out", "m"), ("second", "in", "m"), ("second", "out", "m")]


async def test_a_failing_receiver_does_not_stop_delivery():
    records = []
    logger = Logger("error")
    logger.listeners.append(records.append)
    queue, log = DeliveryQueue(logger), []

    def fail(msg) -> None:
        raise ValueError("boom")

    queue.deliver(Recorder("bad", log, fail), 1)
    queue.deliver(Recorder("good", log), 2)
    queue.deliver_now()
    assert ("good", "in", 2) in log
    assert any("Error delivering message to node bad" in r.text for r in records)
    # the guard is released after a failure: a later deliver_now still delivers
    queue.deliver(Recorder("later", log), 3)
    queue.deliver_now()
    assert ("later", "in", 3) in log


async def test_a_failing_after_deliveries_callback_is_logged_and_delivery_goes_on():
    records = []
    logger = Logger("error")
    logger.listeners.append(records.append)
    queue, log = DeliveryQueue(logger), []

    def fail() -> None:
        raise RuntimeError("check failed")

    queue.after_deliveries(fail)
    queue.deliver(Recorder("next", log), 1)
    done = asyncio.Event()
    queue.after_deliveries(done.set)
    await done.wait()
    assert ("next", "in", 1) in log
    assert any("check failed" in r.text and r.node_id is None for r in records)
