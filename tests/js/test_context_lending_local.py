"""A JS function node reads a context object lent to it without asking the host (issue 19), and
forgets its copy the moment the store voids the loan (the key replaced as a whole, its scope gone)."""

from __future__ import annotations

from flowrt.context import Borrower, MemoryStore
from flowrt.js.sandbox import JSSandbox
from flowrt.testing import FlowTestHarness


class RecordingBorrower(Borrower):
    def __init__(self) -> None:
        self.ended: list = []

    def give_back(self, token):
        return {"given": "back"}

    def loan_ended(self, token) -> None:
        self.ended.append(token)


def test_replacing_a_lent_key_or_dropping_its_scope_ends_the_loan():
    store = MemoryStore()
    b = RecordingBorrower()
    store.set("f", "st", {"n": 1}, fresh=True)
    store.lend("f", "st", b, "flow\nst")
    store.set("f", "st", {"n": 2}, fresh=True)
    assert b.ended == ["flow\nst"]
    store.lend("f", "st", b, "flow\nst")
    store.clean({"other"})
    assert b.ended == ["flow\nst", "flow\nst"]


def fn(node_id: str, func: str, wires: list, **extra) -> dict:
    return {"id": node_id, "type": "function", "func": func, "wires": wires, **extra}


SINK = {"id": "out", "type": "helper"}


async def test_a_lent_object_is_read_without_a_host_call(monkeypatch):
    calls = []
    original = JSSandbox._HOST_OPS["cget"]

    def counting(self, payload):
        calls.append(payload)
        return original(self, payload)

    monkeypatch.setitem(JSSandbox._HOST_OPS, "cget", counting)
    code = "const st = flow.get('st'); st.n++; msg.payload = st.n; return msg;"
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        for _ in range(3):
            h.node("a").receive({})
        got = await h.node("out").inputs(3)
    assert [m["payload"] for m in got] == [1, 2, 3]
    assert calls == ["flow\nst"]  # lent on the first read; the later reads are local


async def test_a_key_replaced_from_python_is_read_anew():
    code = "const st = flow.get('st'); st.n++; msg.payload = st.n; return msg;"
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        assert (await h.node("out").next_input())["payload"] == 1
        h.node("a").node.context().flow.set("st", {"n": 100})  # the whole key: the loan is void
        h.node("a").receive({})
        assert (await h.node("out").next_input())["payload"] == 101


async def test_a_key_replaced_by_another_function_node_is_read_anew():
    reader = "const st = flow.get('st'); st.n++; msg.payload = st.n; return msg;"
    writer = "flow.set('st', {n: msg.to}); return null;"
    flow = [
        fn("a", reader, [["out"]], initialize="flow.set('st', {n: 0});"),
        fn("w", writer, []),
        SINK,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        assert (await h.node("out").next_input())["payload"] == 1
        h.node("w").receive({"to": 50})
        await h.idle()
        h.node("a").receive({})
        assert (await h.node("out").next_input())["payload"] == 51


async def test_a_node_replacing_the_key_it_holds_reads_the_new_value():
    code = (
        "const before = flow.get('st'); flow.set('st', {n: before.n + 10});"
        "msg.payload = [before.n, flow.get('st').n]; return msg;"
    )
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        h.node("a").receive({})
        got = await h.node("out").inputs(2)
    assert [m["payload"] for m in got] == [[0, 10], [10, 20]]
