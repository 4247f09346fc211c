"""Node.done_never_fails (issue 19): a change node gets no `done` made per message while nothing
listens for completion, and complete nodes still hear it when one does."""

from __future__ import annotations

from flowrt.engine.node import Node
from flowrt.testing import FlowTestHarness

CHANGE = {
    "id": "c1",
    "type": "change",
    "rules": [{"t": "set", "p": "topic", "pt": "msg", "to": "x", "tot": "str"}],
    "wires": [["out"]],
}
OUT = {"id": "out", "type": "helper"}


async def test_no_done_is_made_per_message_without_a_complete_node(monkeypatch):
    made = []
    original = Node._done_for

    def counting(self, msg):
        made.append(self.id)
        return original(self, msg)

    monkeypatch.setattr(Node, "_done_for", counting)
    async with FlowTestHarness([CHANGE, OUT]) as h:
        for _ in range(3):
            h.node("c1").receive({"payload": 1})
        got = await h.node("out").inputs(3)
    assert [m["topic"] for m in got] == ["x", "x", "x"]
    assert "c1" not in made


async def test_a_complete_node_still_hears_the_change_node():
    flow = [
        CHANGE,
        OUT,
        {"id": "done", "type": "complete", "scope": ["c1"], "wires": [["heard"]]},
        {"id": "heard", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("c1").receive({"payload": 1})
        heard = await h.node("heard").next_input()
    assert heard["payload"] == 1 and heard["topic"] == "x"
