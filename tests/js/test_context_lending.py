"""Context objects lent to JS function nodes (MemoryStore.lend / JSSandbox.give_back).

Node-RED's memory store hands out references: `flow.get('st').n++` changes the stored
object, and every reader sees it. A JS sandbox works on copies, so the store lends an
object to one sandbox at a time and takes it back before anyone else reads it.
"""

from __future__ import annotations

from flowrt.context import LENT_ALREADY, Borrower, ContextManager, MemoryStore
from flowrt.testing import FlowTestHarness


class FakeBorrower(Borrower):
    def __init__(self, value):
        self.value = value
        self.given_back = 0

    def give_back(self, token):
        self.given_back += 1
        return self.value


# ----------------------------------------------------------------- the store
def test_only_fresh_containers_are_lent():
    store = MemoryStore()
    b = FakeBorrower(None)
    store.set("f", "py", {"n": 1})  # the caller keeps a reference: never lent
    store.set("f", "js", {"n": 1}, fresh=True)
    store.set("f", "num", 5, fresh=True)
    assert store.lend("f", "py", b, "t") == (False, None)
    assert store.lend("f", "num", b, "t") == (False, None)
    assert store.lend("f", "missing", b, "t") == (False, None)
    assert store.lend("f", "js", b, "t") == (True, {"n": 1})
    assert store.lend("f", "js", b, "t") == (True, LENT_ALREADY)


def test_reading_takes_a_loan_back_and_get_shares_the_value():
    store = MemoryStore()
    store.set("f", "st", {"n": 1}, fresh=True)
    b = FakeBorrower({"n": 7})
    store.lend("f", "st", b, "t")
    assert store.peek("f", "st.n") == 7 and b.given_back == 1  # taken back before reading
    assert store.lend("f", "st", b, "t")[0]  # peek copied: still lendable
    b.value = {"n": 8}
    value = store.get("f", "st")  # a Python caller now holds a reference
    assert value == {"n": 8} and b.given_back == 2
    assert store.lend("f", "st", b, "t") == (False, None)
    store.set("f", "st", {"n": 9}, fresh=True)  # replaced by a copy: lendable again
    assert store.lend("f", "st", b, "t") == (True, {"n": 9})


def test_setting_a_whole_key_voids_the_loan_and_a_path_takes_it_back():
    store = MemoryStore()
    store.set("f", "st", {"n": 1}, fresh=True)
    b = FakeBorrower({"n": 2, "x": 1})
    store.lend("f", "st", b, "t")
    store.set("f", "st.n", 3)  # a path into the lent value: take it back, then set
    assert b.given_back == 1 and store.peek("f", "st") == {"n": 3, "x": 1}
    store.lend("f", "st", b, "t")
    store.set("f", "st", {"new": True})  # a whole new value: nothing to take back
    assert b.given_back == 1 and store.peek("f", "st") == {"new": True}


def test_a_second_borrower_gets_the_first_ones_changes():
    store = MemoryStore()
    store.set("f", "st", {"n": 1}, fresh=True)
    first, second = FakeBorrower({"n": 5}), FakeBorrower(None)
    store.lend("f", "st", first, "t")
    assert store.lend("f", "st", second, "t") == (True, {"n": 5})
    assert first.given_back == 1


def test_deleting_a_scope_forgets_its_loans():
    store = MemoryStore()
    store.set("n1:f", "st", {"n": 1}, fresh=True)
    b = FakeBorrower({"n": 2})
    store.lend("n1:f", "st", b, "t")
    store.clean({"other"})
    assert store.peek("n1:f", "st") is None and b.given_back == 0
    store.take_back_all(b)
    assert b.given_back == 0


def test_context_borrow_needs_a_plain_key_and_the_memory_store():
    manager = ContextManager(None, None)
    ctx = manager.flow_context("f")
    ctx.set_copy("st", {"n": 1})
    b = FakeBorrower({"n": 1})
    assert ctx.borrow("st.n", b, "t") == (False, 1)
    assert ctx.borrow("#:(memory)::st", b, "t") == (False, {"n": 1})
    assert ctx.borrow("st", b, "t") == (True, {"n": 1})
    ctx.take_back_all(b)
    assert b.given_back == 1


# ----------------------------------------------------------------- function nodes
def fn(node_id: str, func: str, wires: list, **extra) -> dict:
    return {"id": node_id, "type": "function", "func": func, "wires": wires, **extra}


SINK = {"id": "out", "type": "helper"}


async def test_a_lent_object_is_the_same_object_on_every_read():
    code = (
        "const st = flow.get('st'); st.n++;"
        "msg.same = st === flow.get('st') && (globalThis.prev === undefined || globalThis.prev === st);"
        "globalThis.prev = st; return msg;"
    )
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        for _ in range(3):
            h.node("a").receive({})
        got = await h.node("out").inputs(3)
        assert [m["same"] for m in got] == [True, True, True]
        assert h.node("a").node.context().flow.get("st") == {"n": 3}


async def test_two_function_nodes_share_one_object():
    inc = "const st = flow.get('st'); st.n++; st.by.push(node.name); return msg;"
    flow = [
        fn("a", inc, [["b"]], name="a", initialize="flow.set('st', {n: 0, by: []});"),
        fn("b", inc, [["out"]], name="b"),
        SINK,
    ]
    async with FlowTestHarness(flow) as h:
        for _ in range(3):
            h.node("a").receive({})
        await h.node("out").inputs(3)
        st = h.node("a").node.context().flow.get("st")
        assert st["n"] == 6 and sorted(st["by"]) == ["a"] * 3 + ["b"] * 3


async def test_python_readers_see_changes_and_their_changes_reach_js():
    flow = [
        fn(
            "a",
            "const st = flow.get('st'); st.n++; msg.payload = st.n; return msg;",
            [["out"]],
            initialize="flow.set('st', {n: 0});",
        ),
        SINK,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        await h.node("out").next_input()
        st = h.node("a").node.context().flow.get("st")
        assert st == {"n": 1}
        st["n"] = 10  # through the reference a Python reader holds, as in Node-RED
        h.node("a").receive({})
        assert (await h.node("out").next_input())["payload"] == 11
        assert st == {"n": 11}


async def test_a_path_read_in_the_same_run_keeps_later_changes():
    # flow.get('st.n') takes the lent object back mid-run; changes made after it still count.
    code = "const st = flow.get('st'); st.a = 1; const n = flow.get('st.n'); st.n = n + 1; return msg;"
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        for _ in range(2):
            h.node("a").receive({})
        await h.node("out").inputs(2)
        assert h.node("a").node.context().flow.get("st") == {"n": 2, "a": 1}


async def test_changes_made_in_a_timer_count():
    code = "const st = flow.get('st'); setTimeout(() => { st.late = true; node.send(msg); }, 1);"
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        await h.node("out").next_input()
        assert h.node("a").node.context().flow.get("st") == {"n": 0, "late": True}


async def test_a_closed_node_hands_its_objects_back():
    first = fn("a", "flow.get('st').n++; return msg;", [["out"]], initialize="flow.set('st', {n: 0});")
    async with FlowTestHarness([first, SINK]) as h:
        h.node("a").receive({})
        await h.node("out").next_input()
        scope = h.node("a").node.context().flow.scope
        data = h.runtime.context.store().data[scope]
        assert data["st"] == {"n": 0}  # while lent, the JS copy is the value
        second = {**first, "func": "msg.payload = flow.get('st').n; return msg;", "initialize": ""}
        await h.redeploy([second, SINK])
        assert data["st"] == {"n": 1}
        h.node("a").receive({})
        assert (await h.node("out").next_input())["payload"] == 1


async def test_a_value_that_cannot_be_handed_back_keeps_the_stored_one():
    code = "const st = flow.get('st'); st.self = st; return msg;"
    flow = [fn("a", code, [["out"]], initialize="flow.set('st', {n: 0});"), SINK]
    async with FlowTestHarness(flow) as h:
        h.node("a").receive({})
        await h.node("out").next_input()
        assert h.node("a").node.context().flow.get("st") == {"n": 0}
        warnings = [r.text for r in h.node("a").logs if r.level == "warn"]
        assert any("could not hand back flow context value 'st'" in w for w in warnings), warnings
