"""Node-RED's hooks: test/unit/@node-red/util/lib/hooks_spec.js ported (the registry alone), and the
hook cases of runtime/lib/flows/Flow_spec.js (onSend, preRoute, preDeliver, postDeliver) and
runtime/lib/nodes/Node_spec.js (onReceive, postReceive, onComplete), observed on a running flow.

Each test names the `it("...")` it ports. Node-RED's registry is a module-wide singleton cleared
after each case; flowrt's belongs to a runtime, so each case makes its own `Hooks()`.
"""

from __future__ import annotations

import asyncio

import pytest

from flowrt.engine.hooks import Hooks


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
