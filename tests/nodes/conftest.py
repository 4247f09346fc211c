"""Fixtures for node tests."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness


@pytest.fixture
def run_flow():
    """`await run_flow(flow, msgs, count=1, settings=None)`: start `flow`, give `msgs` (one message
    or a list) in order to its first node, and return the first `count` messages that reached its
    helper node (the flow's first node of type `helper`)."""

    async def run(flow: list[dict], msgs: dict | list[dict], count: int = 1, settings: dict | None = None):
        into = flow[0]["id"]
        out = next(node["id"] for node in flow if node.get("type") == "helper")
        async with FlowTestHarness(flow, settings=settings) as h:
            for msg in [msgs] if isinstance(msgs, dict) else msgs:
                h.node(into).receive(msg)
            return await h.node(out).inputs(count)

    return run
