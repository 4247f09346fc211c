"""The `python-function` node: the function node's conventions in trusted Python."""

from __future__ import annotations

from flowrt.testing import FlowTestHarness


def pf(func: str, wires=None, **extra) -> dict:
    node = {
        "id": "n1",
        "type": "python-function",
        "func": func,
        "wires": wires if wires is not None else [["n2"]],
    }
    node.update(extra)
    return node


SINK = {"id": "n2", "type": "helper"}


async def test_return_msg_is_the_very_object():
    async with FlowTestHarness([pf("msg['payload'] += 1\nreturn msg"), SINK]) as h:
        msg = {"payload": 1}
        h.node("n1").receive(msg)
        out = await h.node("n2").next_input()
        assert out is msg and out["payload"] == 2


async def test_multiple_outputs_send_clone_and_msgid():
    code = "node.send(msg)\nmsg['payload'] = 'changed'\nreturn [None, [{'payload': 'a'}, {'payload': 'b'}]]"
    flow = [pf(code, wires=[["n2"], ["n3"]], outputs=2), SINK, {"id": "n3", "type": "helper"}]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "orig", "_msgid": "m1"})
        assert (await h.node("n2").next_input())["payload"] == "orig"  # send() cloned it
        got = await h.node("n3").inputs(2)
        assert [m["payload"] for m in got] == ["a", "b"] and {m["_msgid"] for m in got} == {"m1"}


async def test_await_context_env_and_status(monkeypatch):
    monkeypatch.setenv("FLOWRT_PY_ENV", "v")
    code = (
        "import asyncio\nawait asyncio.sleep(0)\ncontext.set('a', 1)\nflow.set('b', 2)\nglobal_.set('c', 3)\n"
        "msg['vals'] = [context.get('a'), flow.get('b'), global_.get('c'), env.get('FLOWRT_PY_ENV')]\n"
        "node.status({'text': 'ok'})\nreturn msg"
    )
    async with FlowTestHarness([pf(code), SINK]) as h:
        h.node("n1").receive({})
        assert (await h.node("n2").next_input())["vals"] == [1, 2, 3, "v"]
        assert (await h.node("n1").next_status()) == {"text": "ok"}


async def test_errors_carry_the_user_line_and_reach_error_handling():
    async with FlowTestHarness([pf("x = 1\n\nreturn undefined_name"), SINK]) as h:
        h.node("n1").receive({"payload": 1})
        err, msg = await h.node("n1").next_error()
        assert str(err) == "NameError: name 'undefined_name' is not defined (line 3)"
        assert msg["payload"] == 1


async def test_node_done_and_non_message_results():
    async with FlowTestHarness([pf("node.done('failed')"), SINK]) as h:
        h.node("n1").receive({})
        err, _ = await h.node("n1").next_error()
        assert err == "failed"
    async with FlowTestHarness([pf("return 'text'"), SINK]) as h:
        h.node("n1").receive({})
        assert (
            await h.node("n1").next_log("error")
        ).text == "Function tried to send a message of type string"


async def test_initialize_finalize_and_timers():
    flow = [
        pf(
            "msg['ready'] = context.get('ready')\nreturn msg",
            initialize="import asyncio\nawait asyncio.sleep(0.01)\ncontext.set('ready', True)\n"
            "node.call_later(0.001, lambda: node.send({'payload': 'start'}))",
            finalize="node.warn('bye')",
        ),
        SINK,
    ]
    h = FlowTestHarness(flow)
    await h.start()
    h.node("n1").receive({"payload": "early"})
    got = await h.node("n2").inputs(2)
    assert got[0]["ready"] is True and got[1]["payload"] == "start"
    await h.stop()
    assert any(r.text == "bye" for r in h.logs)


async def test_syntax_error_is_reported():
    async with FlowTestHarness([pf("return msg +"), SINK]) as h:
        err, _ = await h.node("n1").next_error()
        assert "SyntaxError" in str(err) and "line 1" in str(err)
