"""Node-RED's hooks: test/unit/@node-red/util/lib/hooks_spec.js ported (the registry alone), and the
hook cases of runtime/lib/flows/Flow_spec.js (onSend, preRoute, preDeliver, postDeliver) and
runtime/lib/nodes/Node_spec.js (onReceive, postReceive, onComplete), observed on a running flow.

Each test names the `it("...")` it ports. Node-RED's registry is a module-wide singleton cleared
after each case; flowrt's belongs to a runtime, so each case makes its own `Hooks()`.
"""

from __future__ import annotations

import asyncio

import pytest

from flowrt import Node, register_type
from flowrt.engine.hooks import Hooks
from flowrt.testing import FlowTestHarness


def order_data() -> dict:
    return {"order": []}


def push(letter):
    return lambda payload: payload["order"].append(letter)


async def trigger_done(hooks: Hooks, hook_id: str, data) -> object:
    """hooks.trigger(id, data, done) as the spec calls it; the outcome passed to done."""
    future = asyncio.get_running_loop().create_future()
    hooks.trigger(hook_id, data, lambda err: future.done() or future.set_result(err))
    return await asyncio.wait_for(future, 5)


def later(seconds, callback, *args):
    asyncio.get_running_loop().call_later(seconds, callback, *args)


# ----- util/hooks ------------------------------------------------------------------------


async def test_allows_a_hook_to_be_registered():
    hooks = Hooks()
    called_with = []
    assert hooks.has("onSend") is False
    hooks.add("onSend", called_with.append)
    assert hooks.has("onSend") is True
    data = {"a": 1}
    assert await trigger_done(hooks, "onSend", data) is None
    assert called_with[0] is data


def test_rejects_invalid_hook_id():
    with pytest.raises(ValueError, match="Invalid hook 'foo'"):
        Hooks().add("foo", lambda payload: None)


async def test_calls_hooks_in_the_order_they_were_registered():
    hooks = Hooks()
    hooks.add("onSend", push("A"))
    hooks.add("onSend", push("B"))
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is None
    assert data["order"] == ["A", "B"]


def test_does_not_allow_multiple_hooks_with_same_id_label():
    hooks = Hooks()
    assert not hooks.has("onSend.one")
    assert not hooks.has("onSend")
    hooks.add("onSend.one", push("A"))
    assert hooks.has("onSend.one")
    assert hooks.has("onSend")
    with pytest.raises(ValueError, match="already registered"):
        hooks.add("onSend.one", push("B"))


async def test_removes_labelled_hook():
    hooks = Hooks()
    assert (hooks.has("onSend.A"), hooks.has("onSend.B"), hooks.has("onSend")) == (False, False, False)
    hooks.add("onSend.A", push("A"))
    assert (hooks.has("onSend.A"), hooks.has("onSend.B"), hooks.has("onSend")) == (True, False, True)
    hooks.add("onSend.B", push("B"))
    assert (hooks.has("onSend.A"), hooks.has("onSend.B"), hooks.has("onSend")) == (True, True, True)
    hooks.remove("onSend.A")
    assert (hooks.has("onSend.A"), hooks.has("onSend.B"), hooks.has("onSend")) == (False, True, True)
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is None
    assert data["order"] == ["B"]
    hooks.remove("onSend.B")
    assert (hooks.has("onSend.A"), hooks.has("onSend.B"), hooks.has("onSend")) == (False, False, False)


def test_cannot_remove_unlabelled_hook():
    hooks = Hooks()
    hooks.add("onSend", push("A"))
    with pytest.raises(ValueError, match="without label"):
        hooks.remove("onSend")


async def test_removes_all_hooks_with_same_label():
    hooks = Hooks()
    hooks.add("onSend.A", push("A"))
    hooks.add("onSend.B", push("B"))
    hooks.add("preRoute.A", push("C"))
    hooks.add("preRoute.B", push("D"))
    data = order_data()
    await trigger_done(hooks, "onSend", data)
    assert data["order"] == ["A", "B"]
    await trigger_done(hooks, "preRoute", data)
    assert data["order"] == ["A", "B", "C", "D"]
    data["order"] = []
    hooks.remove("*.A")
    await trigger_done(hooks, "onSend", data)
    assert data["order"] == ["B"]
    await trigger_done(hooks, "preRoute", data)
    assert data["order"] == ["B", "D"]


async def test_allows_a_hook_to_remove_itself_whilst_being_called():
    hooks = Hooks()
    data = order_data()
    hooks.add("onSend.A", push("A"))
    hooks.add("onSend.B", lambda payload: hooks.remove("*.B"))
    hooks.add("onSend.C", push("C"))
    hooks.add("onSend.D", push("D"))
    assert await trigger_done(hooks, "onSend", data) is None
    assert data["order"] == ["A", "C", "D"]


async def test_allows_a_hook_to_remove_itself_and_others_whilst_being_called():
    hooks = Hooks()
    data = order_data()

    def remove_b_and_c(payload):
        hooks.remove("*.B")
        hooks.remove("*.C")

    hooks.add("onSend.A", push("A"))
    hooks.add("onSend.B", remove_b_and_c)
    hooks.add("onSend.C", push("C"))
    hooks.add("onSend.D", push("D"))
    assert await trigger_done(hooks, "onSend", data) is None
    assert data["order"] == ["A", "D"]


async def test_halts_execution_on_return_false():
    hooks = Hooks()
    hooks.add("onSend.A", lambda payload: payload["order"].append("A") or False)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is False
    assert data["order"] == ["A"]


async def test_halts_execution_on_thrown_error():
    hooks = Hooks()

    def fail(payload):
        payload["order"].append("A")
        raise RuntimeError("error")

    hooks.add("onSend.A", fail)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    err = await trigger_done(hooks, "onSend", data)
    assert data["order"] == ["A"]
    assert isinstance(err, RuntimeError)


async def test_handler_can_use_callback_function():
    hooks = Hooks()

    def a(payload, done):
        later(0.03, lambda: (payload["order"].append("A"), done()))

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is None
    assert data["order"] == ["A", "B"]


async def test_handler_can_use_callback_function_halt_execution():
    hooks = Hooks()

    def a(payload, done):
        later(0.03, lambda: (payload["order"].append("A"), done(False)))

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is False
    assert data["order"] == ["A"]


async def test_handler_can_use_callback_function_halt_on_error():
    hooks = Hooks()
    hooks.add("onSend.A", lambda payload, done: later(0.03, done, RuntimeError("test error")))
    hooks.add("onSend.B", push("B"))
    data = order_data()
    err = await trigger_done(hooks, "onSend", data)
    assert data["order"] == []
    assert isinstance(err, RuntimeError)


async def test_handler_be_an_async_function():
    hooks = Hooks()

    async def a(payload):
        await asyncio.sleep(0.03)
        payload["order"].append("A")

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is None
    assert data["order"] == ["A", "B"]


async def test_handler_be_an_async_function_halt_execution():
    hooks = Hooks()

    async def a(payload):
        await asyncio.sleep(0.03)
        payload["order"].append("A")
        return False

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await trigger_done(hooks, "onSend", data) is False
    assert data["order"] == ["A"]


async def test_handler_be_an_async_function_halt_on_error():
    hooks = Hooks()

    async def a(payload):
        await asyncio.sleep(0.03)
        raise RuntimeError("test error")

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    err = await trigger_done(hooks, "onSend", data)
    assert data["order"] == []
    assert isinstance(err, RuntimeError)


async def test_handler_can_use_callback_function_promise_api():
    hooks = Hooks()

    def a(payload, done):
        later(0.03, lambda: (payload["order"].append("A"), done()))

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await hooks.trigger("onSend", data) is None
    assert data["order"] == ["A", "B"]


async def test_handler_can_halt_execution_promise_api():
    hooks = Hooks()

    def a(payload, done):
        later(0.03, lambda: (payload["order"].append("A"), done(False)))

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    data = order_data()
    assert await hooks.trigger("onSend", data) is False  # resolves, does not reject
    assert data["order"] == ["A"]


async def test_handler_can_halt_execution_on_error_promise_api():
    hooks = Hooks()

    def a(payload, done):
        raise RuntimeError("error")

    hooks.add("onSend.A", a)
    hooks.add("onSend.B", push("B"))
    with pytest.raises(RuntimeError, match="error") as caught:
        await hooks.trigger("onSend", order_data())
    assert caught.value.hook == "onSend"  # as Node-RED's err.hook


# ----- flowrt's additions to the registry ---------------------------------------------------


async def test_a_hook_added_while_its_point_is_triggered_runs_in_that_trigger():
    hooks = Hooks()
    data = order_data()

    def add_c(payload):
        payload["order"].append("A")
        if not hooks.has("onSend.C"):
            hooks.add("onSend.C", push("C"))

    hooks.add("onSend.A", add_c)
    hooks.add("onSend.B", push("B"))
    await trigger_done(hooks, "onSend", data)
    assert data["order"] == ["A", "B", "C"]
    await trigger_done(hooks, "onSend", data)
    assert data["order"] == ["A", "B", "C", "A", "B", "C"]
    assert hooks.has("onSend.C")


async def test_a_non_exception_failure_is_wrapped_naming_the_hook():
    hooks = Hooks()

    async def refuse(payload):
        return "not allowed"  # a value other than None/False ends the chain as an error

    hooks.add("preRoute.x", refuse)
    with pytest.raises(Exception, match="not allowed") as caught:
        await hooks.trigger("preRoute", {})
    assert caught.value.hook == "preRoute"


async def test_without_hooks_trigger_passes_at_once():
    hooks = Hooks()
    outcomes = []
    hooks.trigger("onSend", [], outcomes.append)
    assert outcomes == [None]  # synchronously
    assert await hooks.trigger("onReceive", {}) is None


def test_synchronous_hooks_run_synchronously():
    hooks = Hooks()
    seen = []
    hooks.add("onReceive", push("A"))
    hooks.run("onReceive", {"order": seen}, lambda: seen.append("proceed"), seen.append)
    assert seen == ["A", "proceed"]


def test_run_reports_errors_and_is_silent_on_false():
    hooks = Hooks()
    reported, proceeded = [], []
    hooks.add("onSend.stop", lambda payload: False if payload == "stop" else None)

    def fail(payload):
        if payload == "fail":
            raise ValueError("boom")

    hooks.add("onSend.fail", fail)
    for payload in ("stop", "fail", "go"):
        hooks.run("onSend", payload, lambda p=payload: proceeded.append(p), reported.append)
    assert proceeded == ["go"]
    assert [str(e) for e in reported] == ["boom"]


def test_flags_follow_the_registered_points():
    hooks = Hooks()
    changes = []
    hooks.listen(lambda: changes.append((hooks.sending, hooks.receiving)))
    assert (hooks.sending, hooks.receiving) == (False, False)
    hooks.add("preDeliver.t", push("A"))
    hooks.add("onComplete.t", push("B"))
    hooks.remove("preDeliver.t")
    hooks.remove("*.t")
    hooks.add("postReceive", push("C"))
    hooks.clear()
    assert changes == [
        (True, False),
        (True, True),
        (False, True),
        (False, False),
        (False, True),
        (False, False),
    ]


def test_remove_of_an_unknown_label_is_quiet():
    hooks = Hooks()
    hooks.remove("onSend.nobody")
    hooks.remove("*.nobody")
    assert not hooks.has("onSend")


def test_a_hook_must_take_the_event():
    with pytest.raises(TypeError, match="takes none"):
        Hooks().add("onSend", lambda: None)
    with pytest.raises(TypeError, match="callable"):
        Hooks().add("onSend", "not a function")


def test_install_hooks_are_accepted():
    hooks = Hooks()
    hooks.add("preInstall.x", lambda event: None)
    assert hooks.has("preInstall.x")
    assert not hooks.sending and not hooks.receiving


# ----- runtime/lib/flows/Flow_spec.js: the send path ------------------------------------------
# Node-RED's cases call flow.send(sendEvents) with a stubbed receiver; here node n1's own `send`
# sends and the receivers are helper or recording nodes of a running flow.

HANDLED: list = []


@register_type("hooks-spec-recorder")
class RecorderNode(Node):
    """Records each message its handler gets, then completes it (or fails, with payload 'fail')."""

    def on_input(self, msg, send, done):
        HANDLED.append((self.id, msg))
        if msg.get("payload") == "fail":
            done(RuntimeError("test error"))
        else:
            done()


def two_node_flow(wires=("n2",)):
    return [
        {"id": "n1", "type": "helper", "wires": [list(wires)]},
        {"id": "n2", "type": "helper"},
        {"id": "n3", "type": "helper"},
    ]


async def test_sends_a_message_triggers_hooks():
    message = {"payload": "hello"}
    called, errors = [], []

    def check(condition, what):
        if not condition:
            errors.append(what)

    async with FlowTestHarness(two_node_flow(("n2", "n3"))) as h:
        received = h.node("n3").received

        def on_send(events):
            called.append("onSend")
            check(not received, "onSend after delivery")
            check(len(events) == 2 and events[0].msg is message and events[1].msg is message, "events")

        def pre_route(event):
            called.append("preRoute")
            check(not received, "preRoute after delivery")
            check(event.msg is message and event.destination.node is None, "preRoute event")

        def pre_deliver(event):
            called.append("preDeliver")
            check(not received, "preDeliver after delivery")
            if event.destination.id == "n3":  # the second recipient gets a clone
                check(event.msg is not message and event.msg == message, "clone")
            check(event.destination.node is h.runtime.get_node(event.destination.id), "destination node")

        def post_deliver(event):
            called.append("postDeliver")
            check(not received, "postDeliver after delivery")

        for point, hook in [
            ("onSend", on_send),
            ("preRoute", pre_route),
            ("preDeliver", pre_deliver),
            ("postDeliver", post_deliver),
        ]:
            h.runtime.hooks.add(point, hook)
        h.node("n1").node.send(message)
        got = await h.node("n3").next_input()
        assert got == message and got is not message
        assert await h.node("n2").next_input() is message
    assert called == ["onSend"] + ["preRoute", "preDeliver", "postDeliver"] * 2
    assert errors == []


def raise_on(point):
    def hook(event):
        first = event[0] if isinstance(event, list) else event
        if first.msg.get("payload") == f"trigger-{point}":
            raise RuntimeError(f"{point} Error")

    return hook


@pytest.mark.parametrize(
    "point, delivered", [("onSend", False), ("preRoute", False), ("preDeliver", False), ("postDeliver", True)]
)
async def test_errors_thrown_by_hooks_are_reported_to_the_sending_node(point, delivered):
    async with FlowTestHarness(two_node_flow()) as h:
        for name in ("onSend", "preRoute", "preDeliver", "postDeliver"):
            h.runtime.hooks.add(name, raise_on(name))
        h.node("n1").node.send({"payload": f"trigger-{point}"})
        err, _msg = await h.node("n1").next_error()
        await h.idle()
        assert point in str(err)
        assert bool(h.node("n2").received) is delivered


def stop_on(point):
    def hook(event):
        first = event[0] if isinstance(event, list) else event
        if first.msg.get("payload") == f"trigger-{point}":
            return False
        return None

    return hook


@pytest.mark.parametrize("point", ["onSend", "preRoute", "preDeliver"])
async def test_hooks_can_stop_the_sending_of_messages(point):
    async with FlowTestHarness(two_node_flow()) as h:
        for name in ("onSend", "preRoute", "preDeliver", "postDeliver"):
            h.runtime.hooks.add(name, stop_on(name))
        h.node("n1").node.send({"payload": "pass"})
        assert (await h.node("n2").next_input())["payload"] == "pass"
        h.node("n1").node.send({"payload": f"trigger-{point}"})
        await h.idle()
        assert [m["payload"] for m in h.node("n2").received] == ["pass"]
        assert h.node("n1").errors == []


# ----- runtime/lib/nodes/Node_spec.js: the receive path and completion ------------------------


def recorder_flow():
    return [
        {"id": "123", "type": "hooks-spec-recorder", "wires": []},
        {"id": "done", "type": "complete", "scope": ["123"], "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]


async def test_triggers_oncomplete_hook_when_done_callback_provided():
    HANDLED.clear()
    events, completes_seen = [], []
    message = {"payload": "hello world"}
    async with FlowTestHarness(recorder_flow()) as h:
        node = h.node("123").node

        def on_complete(event):
            if event.node.id == "123":  # (the complete node completes its message too)
                completes_seen.append(len(h.node("out").received))  # handleComplete not run yet
                events.append(event)

        h.runtime.hooks.add("onComplete", on_complete)
        h.node("123").receive(message)
        await h.node("out").next_input()
    assert completes_seen == [0]
    (event,) = events
    assert event.error is None
    assert event.msg == message
    assert event.node.id == "123" and event.node.node is node


async def test_triggers_oncomplete_hook_when_done_callback_provided_with_error():
    HANDLED.clear()
    events = []
    message = {"payload": "fail"}
    async with FlowTestHarness(recorder_flow()) as h:
        node = h.node("123").node
        h.runtime.hooks.add("onComplete", lambda event: event.node.id == "123" and events.append(event))
        h.node("123").receive(message)
        err, msg = await h.node("123").next_error()
        await h.idle()
        assert h.node("out").received == []  # no handleComplete after an error
    (event,) = events
    assert str(event.error) == "test error" and str(err) == "test error"
    assert event.msg == message and msg is message
    assert event.node.id == "123" and event.node.node is node


async def test_triggers_hooks_when_receiving_a_message():
    HANDLED.clear()
    called, errors = [], []
    message = {"payload": "hello world"}
    async with FlowTestHarness(recorder_flow()) as h:
        node = h.node("123").node

        def on_receive(event):
            if event.destination.id != "123":
                return
            called.append("onReceive")
            if HANDLED or event.msg is not message or event.destination.id != "123":
                errors.append("onReceive")
            if event.destination.node is not node:
                errors.append("onReceive node")

        def post_receive(event):
            if event.destination.id != "123":
                return
            called.append("postReceive")
            if not HANDLED or event.msg is not message or event.destination.node is not node:
                errors.append("postReceive")

        h.runtime.hooks.add("onReceive", on_receive)
        h.runtime.hooks.add("postReceive", post_receive)
        h.node("123").receive(message)
        await h.idle()
    assert called == ["onReceive", "postReceive"]
    assert HANDLED == [("123", message)]
    assert errors == []


@pytest.mark.parametrize("point, handled", [("onReceive", False), ("postReceive", True)])
async def test_errors_thrown_by_receive_hooks_are_reported(point, handled):
    HANDLED.clear()
    async with FlowTestHarness(recorder_flow()) as h:
        h.runtime.hooks.add("onReceive", raise_on("onReceive"))
        h.runtime.hooks.add("postReceive", raise_on("postReceive"))
        h.node("123").receive({"payload": f"trigger-{point}"})
        err, _msg = await h.node("123").next_error()
        await h.idle()
    assert point in str(err)
    assert bool(HANDLED) is handled


async def test_hooks_can_halt_receive():
    HANDLED.clear()
    async with FlowTestHarness(recorder_flow()) as h:
        h.runtime.hooks.add("onReceive", stop_on("onReceive"))
        h.node("123").receive({"payload": "trigger-onReceive"})
        await h.idle()
        assert h.node("123").errors == []
    assert HANDLED == []
