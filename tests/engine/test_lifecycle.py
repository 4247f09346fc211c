"""Node lifecycle in the runtime: close time limit, in-flight messages, async handlers."""

from __future__ import annotations

import asyncio

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness

CLOSED: list[tuple[str, bool]] = []


@register_type("test-stuck-close")
class StuckClose(Node):
    async def on_close(self, removed):
        await asyncio.Event().wait()  # never returns


@register_type("test-record-close")
class RecordClose(Node):
    def on_close(self, removed):
        CLOSED.append((self.id, removed))


@register_type("test-async-echo")
class AsyncEcho(Node):
    async def setup(self):
        await asyncio.sleep(0)
        self.ready = True

    async def on_input(self, msg, send, done):
        await asyncio.sleep(0)
        msg["ready"] = self.ready
        send(msg)
        done()


@register_type("test-slow-input")
class SlowInput(Node):
    started = 0
    cancelled = 0

    async def on_input(self, msg, send):
        SlowInput.started += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            SlowInput.cancelled += 1
            raise


async def test_a_close_handler_that_never_finishes_is_cut_off_by_node_close_timeout():
    flow = [{"id": "stuck", "type": "test-stuck-close"}, {"id": "ok", "type": "test-record-close"}]
    CLOSED.clear()
    h = FlowTestHarness(flow, settings={"nodeCloseTimeout": 200}, http=False)
    await h.start()
    await h.stop()
    assert ("ok", False) in CLOSED
    assert any("Close timed out" in r.text for r in h.logs if r.node_id == "stuck")


async def test_async_setup_and_input_handlers_complete():
    flow = [
        {"id": "a", "type": "test-async-echo", "wires": [["h"]]},
        {"id": "h", "type": "helper"},
        {"id": "c", "type": "complete", "scope": ["a"], "wires": [["done"]]},
        {"id": "done", "type": "helper"},
    ]
    async with FlowTestHarness(flow, http=False) as h:
        h.node("a").receive({"payload": 1})
        assert (await h.node("h").next_input())["ready"] is True
        assert (await h.node("done").next_input())["complete"]["source"]["id"] == "a"


async def test_stop_cancels_running_async_handlers_and_drops_queued_messages():
    flow = [{"id": "s", "type": "test-slow-input"}]
    SlowInput.started = SlowInput.cancelled = 0
    h = FlowTestHarness(flow, http=False)
    await h.start()
    node = h.node("s").node
    h.node("s").receive({})
    await asyncio.sleep(0)
    h.runtime.deliver(node, {"queued": True})  # still queued when the node closes
    await h.stop()
    assert SlowInput.started == 1
    assert SlowInput.cancelled == 1
    await asyncio.sleep(0)
    assert SlowInput.started == 1  # the queued message was dropped, not delivered


async def test_redeploy_closes_removed_nodes_with_removed_flag_and_keeps_others_running():
    CLOSED.clear()
    first = [{"id": "keep", "type": "test-record-close"}, {"id": "gone", "type": "test-record-close"}]
    async with FlowTestHarness(first, http=False) as h:
        await h.redeploy([{"id": "keep", "type": "test-record-close"}])
        assert sorted(CLOSED) == [("gone", True), ("keep", False)]
        assert h.runtime.get_node("keep") is not None
        assert h.runtime.get_node("gone") is None
