"""Node-RED's runtime spec test/unit/@node-red/runtime/lib/nodes/Node_spec.js, ported as behaviour.

Each test names the `it("...")` it ports. Node-RED's spec drives a bare `Node` with a stubbed flow;
here the same behaviour is observed through a running flow (catch, status, complete and helper
nodes). Cases that only exist because of Node-RED's internals (EventEmitter handler lists, metrics,
sinon stubs of `flow.send`) are counted as skipped in docs/conformance-runtime.md.
"""

from __future__ import annotations

import asyncio

import pytest

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness

BEHAVIOUR: dict = {}
CLOSE_LOG: list = []


@register_type("nr-spec-node")
class SpecNode(Node):
    """Runs BEHAVIOUR[id](node, msg, send, done) for each input."""

    def on_input(self, msg, send, done):
        BEHAVIOUR[self.id](self, msg, send, done)


@register_type("nr-spec-slow-close")
class SlowCloseNode(Node):
    """An asynchronous close handler: the runtime must wait for it."""

    async def on_close(self, removed):
        CLOSE_LOG.append(("start", self.id, removed))
        await asyncio.sleep(0.05)
        CLOSE_LOG.append(("end", self.id, removed))


def spec_node(node_id, behaviour, wires=None, **extra):
    BEHAVIOUR[node_id] = behaviour
    return {"id": node_id, "type": "nr-spec-node", "wires": wires if wires is not None else [], **extra}


def helper(node_id):
    return {"id": node_id, "type": "helper"}


def catch_all(node_id="catch", wires=(("caught",),)):
    return {"id": node_id, "type": "catch", "scope": None, "wires": [list(w) for w in wires]}


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


# ----- #constructor ---------------------------------------------------------------------


async def test_constructor_is_called_with_an_id_and_a_type():
    """it('is called with an id and a type')"""
    async with FlowTestHarness([{"id": "123", "type": "nr-spec-node", "wires": []}]) as h:
        node = h.node("123").node
        assert node.id == "123" and node.type == "nr-spec-node"
        assert node.name == ""  # Node-RED: no name property; flowrt: empty name
        assert node.wires == []


async def test_constructor_is_called_with_an_id_a_type_and_a_name():
    """it('is called with an id, a type and a name')"""
    async with FlowTestHarness([{"id": "123", "type": "nr-spec-node", "name": "barney", "wires": []}]) as h:
        node = h.node("123").node
        assert (node.id, node.type, node.name) == ("123", "nr-spec-node", "barney")
        assert node.wires == []


async def test_constructor_is_called_with_an_id_a_type_and_some_wires():
    """it('is called with an id, a type and some wires')"""
    flow = [{"id": "123", "type": "nr-spec-node", "wires": [["h1"], ["h2"]]}, helper("h1"), helper("h2")]
    async with FlowTestHarness(flow) as h:
        assert len(h.node("123").node.wires) == 2


# ----- #close ---------------------------------------------------------------------------


async def test_close_emits_close_event_when_closed():
    """it('emits close event when closed')"""
    CLOSE_LOG.clear()
    async with FlowTestHarness([{"id": "c1", "type": "nr-spec-slow-close", "wires": []}]):
        assert CLOSE_LOG == []
    assert ("start", "c1", True) in CLOSE_LOG or ("start", "c1", False) in CLOSE_LOG


async def test_close_returns_a_promise_when_provided_a_callback_with_a_done_parameter():
    """it('returns a promise when provided a callback with a done parameter'): an async close
    handler is awaited before stopping completes."""
    CLOSE_LOG.clear()
    h = FlowTestHarness([{"id": "c1", "type": "nr-spec-slow-close", "wires": []}])
    await h.start()
    await h.stop()
    assert [entry[0] for entry in CLOSE_LOG] == ["start", "end"]


async def test_close_accepts_a_callback_with_removed_and_done_parameters():
    """it('accepts a callback with "removed" and "done" parameters'): removing the node on a
    redeploy closes it with removed=true and waits for its close handler."""
    CLOSE_LOG.clear()
    async with FlowTestHarness([{"id": "c1", "type": "nr-spec-slow-close", "wires": []}]) as h:
        await h.redeploy([helper("other")])
        assert CLOSE_LOG == [("start", "c1", True), ("end", "c1", True)]


# ----- #receive -------------------------------------------------------------------------


async def test_receive_emits_input_event_when_called():
    """it('emits input event when called')"""
    seen = []
    flow = [spec_node("123", lambda n, m, s, d: seen.append(m))]
    async with FlowTestHarness(flow) as h:
        message = {"payload": "hello world"}
        h.node("123").node.receive(message)
        assert seen == [message] and seen[0]["payload"] == "hello world"


@pytest.mark.parametrize("arg", ["undefined", "null"])
async def test_receive_writes_metric_info_with_undefined_or_null_msg(arg):
    """it('writes metric info with undefined msg') / it('writes metric info with null msg'):
    receive() without a message delivers an empty message with a _msgid."""
    seen = []
    flow = [spec_node("123", lambda n, m, s, d: seen.append(m))]
    async with FlowTestHarness(flow) as h:
        node = h.node("123").node
        node.receive() if arg == "undefined" else node.receive(None)
        assert len(seen) == 1 and isinstance(seen[0], dict) and seen[0].get("_msgid")


async def test_receive_handles_thrown_errors():
    """it('handles thrown errors'): node.error is called with the error and the original msg."""

    def throw(node, msg, send, done):
        raise RuntimeError("test error")

    flow = [spec_node("123", throw), catch_all(), helper("caught")]
    async with FlowTestHarness(flow) as h:
        message = {"payload": "hello world"}
        h.node("123").receive(message)
        err, msg = await h.node("123").next_error()
        assert msg is message
        caught = await h.node("caught").next_input()
        assert "test error" in caught["error"]["message"]
        assert caught["error"]["source"]["id"] == "123"


async def test_receive_calls_parent_flow_handlecomplete_when_callback_provided():
    """it('calls parent flow handleComplete when callback provided'): done() reaches the complete
    node watching the node, with the message."""
    flow = [
        spec_node("123", lambda n, m, s, d: d()),
        {"id": "comp", "type": "complete", "scope": ["123"], "wires": [["out"]]},
        helper("out"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("123").receive({"payload": "hello world"})
        got = await h.node("out").next_input()
        assert got["payload"] == "hello world"


async def test_receive_logs_error_if_callback_provides_error():
    """it('logs error if callback provides error'): done(err) calls node.error(err, msg)."""
    flow = [spec_node("123", lambda n, m, s, d: d(RuntimeError("test error"))), catch_all(), helper("caught")]
    async with FlowTestHarness(flow) as h:
        message = {"payload": "hello world"}
        h.node("123").receive(message)
        err, msg = await h.node("123").next_error()
        assert str(err) == "test error" and msg is message
        caught = await h.node("caught").next_input()
        # Node-RED's text is "Error: test error" (a JS Error's toString); a Python exception has no
        # JS class name, so only the message is compared
        assert caught["error"]["message"].endswith("test error")


async def test_receive_done_with_error_does_not_trigger_complete():
    """it('triggers onComplete hook when done callback provided - with error'), the part that is
    not about hooks: done(err) does not call handleComplete."""
    flow = [
        spec_node("123", lambda n, m, s, d: d(RuntimeError("test error"))),
        {"id": "comp", "type": "complete", "scope": ["123"], "wires": [["out"]]},
        helper("out"),
        catch_all(),
        helper("caught"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("123").receive({"payload": "x"})
        await h.node("caught").next_input()
        await settle()
        assert h.node("out").received == []


# ----- #send ----------------------------------------------------------------------------


async def test_send_emits_a_single_message():
    """it('emits a single message'): the message object itself reaches the one wire."""
    flow = [spec_node("n1", lambda n, m, s, d: None, [["n2"]]), helper("n2")]
    async with FlowTestHarness(flow) as h:
        message = {"payload": "hello world"}
        h.node("n1").node.send(message)
        got = await h.node("n2").next_input()
        assert got is message


async def test_send_emits_a_message_with_callback_provided_send():
    """it('emits a message with callback provided send'): the send given to the input handler
    delivers the same object, not cloned."""

    def fn(node, msg, send, done):
        send(msg)
        done()

    flow = [spec_node("n1", fn, [["n2"]]), helper("n2")]
    async with FlowTestHarness(flow) as h:
        message = {"payload": "hello world"}
        h.node("n1").receive(message)
        assert (await h.node("n2").next_input()) is message


async def test_send_emits_multiple_messages_on_a_single_output():
    """it('emits multiple messages on a single output'): the first is sent as is, the second
    cloned."""
    flow = [spec_node("n1", lambda n, m, s, d: None, [["n2"]]), helper("n2")]
    async with FlowTestHarness(flow) as h:
        messages = [{"payload": "hello world"}, {"payload": "hello world again"}]
        h.node("n1").node.send([messages])
        first, second = await h.node("n2").inputs(2)
        assert first is messages[0]
        assert second is not messages[1] and second["payload"] == "hello world again"


async def test_send_emits_messages_to_multiple_outputs():
    """it('emits messages to multiple outputs'): null output skipped, the later wires get clones,
    all share the first message's new _msgid."""
    flow = [
        spec_node("n1", lambda n, m, s, d: None, [["n2"], ["n3"], ["n4", "n5"]]),
        helper("n2"),
        helper("n3"),
        helper("n4"),
        helper("n5"),
    ]
    async with FlowTestHarness(flow) as h:
        messages = [{"payload": "hello world"}, None, {"payload": "hello world again"}]
        h.node("n1").node.send(messages)
        m2 = await h.node("n2").next_input()
        m4 = await h.node("n4").next_input()
        m5 = await h.node("n5").next_input()
        assert m2 is messages[0]
        assert m4 is not messages[2] and m5 is not messages[2] and m4 is not m5
        assert m4["payload"] == m5["payload"] == "hello world again"
        assert m2["_msgid"] and m2["_msgid"] == m4["_msgid"] == m5["_msgid"]
        await settle()
        assert h.node("n3").received == []


async def test_send_emits_no_messages():
    """it('emits no messages'): send() with nothing sends nothing."""
    flow = [spec_node("n1", lambda n, m, s, d: None, [["n2"]]), helper("n2")]
    async with FlowTestHarness(flow) as h:
        h.node("n1").node.send(None)
        await settle()
        assert h.node("n2").received == []


# ----- #log, #warn ------------------------------------------------------------------------


async def test_log_produces_a_log_message():
    """it('produces a log message'): level info, the node's id and type."""
    flow = [spec_node("123", lambda n, m, s, d: None)]
    async with FlowTestHarness(flow, settings={"logLevel": "info"}) as h:
        h.node("123").node.log("a log message")
        record = await h.node("123").next_log("info")
        assert (record.text, record.node_id, record.node_type) == ("a log message", "123", "nr-spec-node")


async def test_log_produces_a_log_message_with_a_name():
    """it('produces a log message with a name')"""
    flow = [spec_node("123", lambda n, m, s, d: None, name="barney")]
    async with FlowTestHarness(flow, settings={"logLevel": "info"}) as h:
        h.node("123").node.log("a log message")
        record = await h.node("123").next_log("info")
        assert (record.text, record.node_id, record.node_name) == ("a log message", "123", "barney")


async def test_warn_produces_a_warning_message():
    """it('produces a warning message')"""
    flow = [spec_node("123", lambda n, m, s, d: None)]
    async with FlowTestHarness(flow) as h:
        h.node("123").node.warn("a warning")
        record = await h.node("123").next_log("warn")
        assert (record.text, record.node_id, record.node_type) == ("a warning", "123", "nr-spec-node")


# ----- #error -----------------------------------------------------------------------------


async def test_error_handles_a_null_error_message():
    """it('handles a null error message'): handleError gets "" and the message."""
    flow = [spec_node("123", lambda n, m, s, d: None), catch_all(), helper("caught")]
    async with FlowTestHarness(flow) as h:
        h.node("123").node.error(None, {"a": 1})
        caught = await h.node("caught").next_input()
        assert caught["a"] == 1
        assert caught["error"]["message"] == ""
        assert caught["error"]["source"]["id"] == "123"


async def test_error_produces_an_error_message():
    """it('produces an error message')"""
    flow = [spec_node("123", lambda n, m, s, d: None), catch_all(), helper("caught")]
    async with FlowTestHarness(flow) as h:
        h.node("123").node.error("This is an error", {"a": 2})
        caught = await h.node("caught").next_input()
        assert caught["a"] == 2
        assert caught["error"]["message"] == "This is an error"


# ----- #status ----------------------------------------------------------------------------


def status_flow():
    return [
        spec_node("123", lambda n, m, s, d: None),
        {"id": "st", "type": "status", "scope": None, "wires": [["out"]]},
        helper("out"),
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(
            {"fill": "green", "shape": "dot", "text": "connected"},
            {"fill": "green", "shape": "dot", "text": "connected"},
            id="publishes status",
        ),
        pytest.param("text status", {"text": "text status"}, id="publishes status for plain string"),
        pytest.param(False, {"text": "false"}, id="publishes status for plain boolean"),
        pytest.param(123, {"text": "123"}, id="publishes status for plain number"),
    ],
)
async def test_status_publishes_status(status, expected):
    """it('publishes status'), it('publishes status for plain string'),
    it('publishes status for plain boolean'), it('publishes status for plain number')"""
    async with FlowTestHarness(status_flow()) as h:
        h.node("123").node.status(status)
        got = (await h.node("out").next_input())["status"]
        source = got.pop("source")
        assert got == expected
        assert source["id"] == "123"
