"""The engine's public seams: hooks wired into the message path, the runtime's clock, the harness's
`idle()`, completion and routing overrides, encoded messages. None of these tests touches a private
engine name."""

from __future__ import annotations

import asyncio

import pytest

from flowrt import Node, register_type
from flowrt.engine.clock import RealClock, VirtualClock, monotonic, wall_time
from flowrt.engine.hooks import CompleteEvent
from flowrt.engine.runtime import Runtime
from flowrt.settings import Settings
from flowrt.testing import FlowTestHarness

SINK: dict[str, list] = {}


@register_type("seams-sink")
class SinkNode(Node):
    """Records what reaches it, in a module table (for runtimes run without the harness)."""

    def on_input(self, msg, send):
        SINK.setdefault(self.id, []).append(msg)


@register_type("seams-slow")
class SlowNode(Node):
    """An async handler that waits before it sends."""

    async def on_input(self, msg, send, done):
        await asyncio.sleep(0.02)
        send(msg)
        done()


def chain(*types, sink="helper"):
    nodes = []
    for index, node_type in enumerate(types):
        node = {"id": f"n{index + 1}", "type": node_type, "wires": [[f"n{index + 2}"]]}
        if node_type == "function":
            node["func"] = "msg.payload += 1; return msg;"
        nodes.append(node)
    nodes.append({"id": f"n{len(types) + 1}", "type": sink})
    return nodes


# ----- hooks on a running flow ------------------------------------------------------------------


async def test_a_send_hook_added_and_removed_while_running():
    seen = []
    async with FlowTestHarness(chain("change", "change")) as h:
        hooks = h.runtime.hooks
        h.node("n1").receive({"payload": 0})
        await h.node("n3").next_input()
        hooks.add("preDeliver.t", lambda event: seen.append(event.destination.id))
        h.node("n1").receive({"payload": 1})
        await h.node("n3").next_input()
        hooks.remove("*.t")
        h.node("n1").receive({"payload": 2})
        await h.node("n3").next_input()
    assert seen == ["n2", "n3"]


async def test_hooks_may_change_the_message_and_the_route():
    def reroute(event):
        event.msg["seen"] = True
        if event.destination.id == "n2":
            event.destination.id = "other"

    flow = [*chain("change"), {"id": "other", "type": "helper"}]
    async with FlowTestHarness(flow) as h:
        h.runtime.hooks.add("preRoute", reroute)
        h.node("n1").receive({"payload": 1})
        msg = await h.node("other").next_input()
        await h.idle()
        assert h.node("n2").received == []
    assert msg["seen"] is True


async def test_an_async_hook_delays_the_message_but_keeps_it():
    order = []

    async def slow(events):
        await asyncio.sleep(0.01)
        order.append(events[0].msg["payload"])

    async with FlowTestHarness(chain("change")) as h:
        h.runtime.hooks.add("onSend", slow)
        h.node("n1").receive({"payload": "a"})
        msg = await h.node("n2").next_input()
    assert msg["payload"] == "a" and order == ["a"]


async def test_an_async_receive_hook_may_stop_the_message():
    async def refuse(event):
        await asyncio.sleep(0)
        return False if event.msg["payload"] == "no" else None

    async with FlowTestHarness(chain("change")) as h:
        h.runtime.hooks.add("onReceive", refuse)
        h.node("n1").receive({"payload": "no"})
        h.node("n1").receive({"payload": "yes"})
        msg = await h.node("n2").next_input()
        await h.idle()
    assert msg["payload"] == "yes" and len(h.node("n2").received) == 1


async def test_oncomplete_fires_for_function_nodes_without_complete_nodes():
    """A function node skips done() when nothing listens: an onComplete hook listens."""
    events: list[CompleteEvent] = []
    async with FlowTestHarness(chain("function")) as h:
        h.node("n1").receive({"payload": 1})
        await h.node("n2").next_input()
        assert h.node("n1").node.wants_completion is False
        h.runtime.hooks.add("onComplete", events.append)
        assert h.node("n1").node.wants_completion is True
        h.node("n1").receive({"payload": 5})
        await h.node("n2").next_input()
        await h.idle()
    # the message the node completed is its input (the code's result is another message)
    assert [(e.node.id, e.msg["payload"], e.error) for e in events] == [("n1", 5, None)]


async def test_hooks_see_dicts_between_function_nodes():
    """While send hooks watch, a function node's message to another goes through send as a dict."""
    kinds = []
    async with FlowTestHarness(chain("function", "function")) as h:
        h.runtime.hooks.add("preDeliver", lambda event: kinds.append(type(event.msg).__name__))
        h.node("n1").receive({"payload": 1})
        msg = await h.node("n3").next_input()
    assert msg["payload"] == 3 and kinds == ["dict", "dict"]


async def test_hooks_of_two_harnesses_are_separate():
    async with FlowTestHarness(chain("change")) as a, FlowTestHarness(chain("change")) as b:
        a.node("n1").receive({"payload": "a"})
        b.node("n1").receive({"payload": "b"})
        assert (await a.node("n2").next_input())["payload"] == "a"
        assert (await b.node("n2").next_input())["payload"] == "b"
        await a.idle()
        await b.idle()
        assert len(a.node("n2").received) == len(b.node("n2").received) == 1
        assert a.runtime.hooks is not b.runtime.hooks


@register_type("seams-audit")
class AuditNode(Node):
    """A config node that adds hooks while it runs, as a user's node module can."""

    def setup(self):
        self.runtime.hooks.add(f"preDeliver.{self.id}", self.audit)

    def audit(self, event):
        event.msg.setdefault("audit", []).append(event.destination.id)

    def on_close(self, removed):
        self.runtime.hooks.remove(f"*.{self.id}")


async def test_a_node_module_adds_hooks_for_as_long_as_its_node_runs():
    flow = [*chain("change"), {"id": "audit1", "type": "seams-audit"}]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.hooks.has("preDeliver.audit1")
        h.node("n1").receive({"payload": 1})
        assert (await h.node("n2").next_input())["audit"] == ["n2"]
        await h.redeploy(chain("change"))
        assert not h.runtime.hooks.has("preDeliver")
        h.node("n1").receive({"payload": 2})
        assert "audit" not in await h.node("n2").next_input()


async def test_settings_add_hooks():
    seen = []
    settings = {"hooks": {"onReceive.mine": lambda event: seen.append(event.destination.id)}}
    async with FlowTestHarness(chain("change"), settings=settings) as h:
        assert h.runtime.hooks.has("onReceive.mine")
        h.node("n1").receive({"payload": 1})
        await h.node("n2").next_input()
    assert seen == ["n1", "n2"]


def test_settings_hooks_must_be_callables():
    with pytest.raises(ValueError, match="onSend.x"):
        Runtime(Settings({"hooks": {"onSend.x": "print"}}))
    with pytest.raises(ValueError, match="Invalid hook 'nope'"):
        Runtime(Settings({"hooks": {"nope": print}}))


# ----- without the harness: the plain path ---------------------------------------------------------


async def run_plain(flow, inject):
    SINK.clear()
    runtime = Runtime(Settings({"httpServer": False, "logLevel": "error"}))
    await runtime.start([{"id": "tab", "type": "tab"}, *[dict(n, z="tab") for n in flow]])
    try:
        assert runtime.hooks.sending is False and runtime.hooks.receiving is False
        inject(runtime)
        for _ in range(50):
            if SINK:
                break
            await asyncio.sleep(0.01)
    finally:
        await runtime.close()
    return SINK


async def test_function_to_function_messages_travel_encoded_without_hooks():
    kinds = []

    def inject(runtime):
        deliver = runtime.deliver

        def spy(node, msg):
            kinds.append((node.id, type(msg).__name__))
            deliver(node, msg)

        runtime.deliver = spy  # function nodes call runtime.deliver for the encoded hop
        runtime.get_node("n1").receive({"payload": 1})

    sink = await run_plain(chain("function", "function", sink="seams-sink"), inject)
    assert sink["n3"][0]["payload"] == 3
    assert ("n2", "JSMessage") in kinds


# ----- the runtime's clock ---------------------------------------------------------------------------


async def test_the_runtime_owns_its_clock():
    assert isinstance(Runtime(Settings({})).clock, RealClock)
    clock = VirtualClock(start=50.0, wall_start=1_700_000_000.0)
    async with FlowTestHarness([{"id": "h1", "type": "helper"}], clock=clock) as h:
        node = h.node("h1").node
        assert h.runtime.clock is clock
        assert monotonic(node) == 50.0 and wall_time(node) == 1_700_000_000.0
    async with FlowTestHarness([{"id": "h1", "type": "helper"}]) as h:
        assert isinstance(h.runtime.clock, RealClock)


async def test_date_typed_input_reads_the_virtual_clock():
    flow = [
        {"id": "i1", "type": "inject", "payloadType": "date", "payload": "", "wires": [["h1"]]},
        {"id": "i2", "type": "inject", "payloadType": "date", "payload": "iso", "wires": [["h1"]]},
        {"id": "h1", "type": "helper"},
    ]
    clock = VirtualClock(start=0.0, wall_start=1_000_000_000.0)
    async with FlowTestHarness(flow, clock=clock) as h:
        await h.clock.advance(2.5)
        h.node("i1").receive({})
        h.node("i2").receive({})
        first, second = await h.node("h1").inputs(2)
    assert first["payload"] == 1_000_000_002_500  # epoch ms
    assert second["payload"] == "2001-09-09T01:46:42.500Z"


async def test_debug_counter_status_is_coalesced_on_the_virtual_clock():
    flow = [
        {
            "id": "d1",
            "type": "debug",
            "active": True,
            "tosidebar": False,
            "tostatus": True,
            "statusType": "counter",
            "wires": [],
        }
    ]
    async with FlowTestHarness(flow, clock="virtual") as h:
        before = len(h.node("d1").statuses)  # what the node showed when it started

        def counts():
            return [s.get("text") for s in h.node("d1").statuses[before:]]

        for n in range(3):
            h.node("d1").receive({"payload": n})
        await h.idle()
        assert counts() == [1]  # the first at once, the next two within 0.1 s: held back
        await h.clock.advance(0.19)
        assert counts() == [1]
        await h.clock.advance(0.02)
        assert counts() == [1, 3]  # coalesced into one update, 0.2 s later


# ----- the harness's idle() ------------------------------------------------------------------------


async def test_idle_waits_for_async_handlers_and_queued_deliveries():
    async with FlowTestHarness(chain("seams-slow", "change")) as h:
        h.node("n1").receive({"payload": 1})
        await h.idle()
        assert [m["payload"] for m in h.node("n3").received] == [1]
        assert h.runtime.busy is False


async def test_idle_returns_at_once_when_nothing_happens():
    async with FlowTestHarness(chain("change")) as h:
        await h.idle(timeout=1)
        assert h.node("n2").received == []


async def test_idle_says_what_keeps_the_runtime_busy():
    flow = [{"id": "n1", "type": "seams-forever", "wires": []}]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({})
        with pytest.raises(AssertionError, match="1 handler"):
            await h.idle(timeout=0.2)


@register_type("seams-forever")
class ForeverNode(Node):
    async def on_input(self, msg, send):
        await asyncio.sleep(3600)


# ----- routing and completion seams ------------------------------------------------------------------


@register_type("seams-router")
class RouterNode(Node):
    """Sends everything to node 'elsewhere' whatever its wires say (as link out does)."""

    def route_targets(self, targets):
        return [[self.runtime.get_node("elsewhere")]]


async def test_route_targets_decides_where_a_node_sends():
    flow = [
        {"id": "r1", "type": "seams-router", "wires": [["wired"]]},
        {"id": "wired", "type": "helper"},
        {"id": "elsewhere", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("r1").receive({"payload": 1})
        await h.node("elsewhere").next_input()
        await h.idle()
        assert h.node("wired").received == []


async def test_wants_completion_follows_complete_nodes():
    flow = [
        {"id": "a", "type": "change", "wires": []},
        {"id": "c1", "type": "complete", "scope": ["a"], "wires": []},
    ]
    async with FlowTestHarness(flow) as h:
        assert h.node("a").node.wants_completion is True
    async with FlowTestHarness([{"id": "a", "type": "change", "wires": []}]) as h:
        assert h.node("a").node.wants_completion is False
