"""An error no catch node handles, in the flow of an MCP call, answers the call at once (a tool
error; a JSON-RPC error for a resource read) instead of leaving it to the call timeout."""

from __future__ import annotations

import aiohttp
from rawclient import RawSession

from flowrt.testing import FlowTestHarness


def failing_flow(call_timeout: float) -> list[dict]:
    throw = {"type": "function", "z": "t", "func": "throw new Error('no such city');", "wires": [["reply"]]}
    return [
        {"id": "t", "type": "tab"},
        {"id": "srv", "type": "mcp-server", "callTimeout": call_timeout},
        {
            "id": "weather",
            "type": "mcp-tool",
            "z": "t",
            "name": "weather",
            "description": "d",
            "wires": [["f1"]],
        },
        {"id": "f1", "name": "look up", **throw},
        {
            "id": "page",
            "type": "mcp-resource",
            "z": "t",
            "uri": "test://page",
            "name": "page",
            "wires": [["f2"]],
        },
        {"id": "f2", **throw},
        {"id": "reply", "type": "mcp-response", "z": "t", "wires": []},
    ]


async def test_an_uncaught_error_answers_the_tool_call_with_a_tool_error():
    # callTimeout one hour: only the uncaught-error path can answer within the test's wait
    async with FlowTestHarness(failing_flow(3600)) as h, aiohttp.ClientSession() as http:
        s = RawSession(http, h.url("/mcp"))
        await s.start()
        reply = await s.call("tools/call", {"name": "weather", "arguments": {}})
        assert reply["result"]["isError"] is True
        assert reply["result"]["content"][0]["text"] == "function look up failed: Error: no such city"
        read = await s.call("resources/read", {"uri": "test://page"})
        assert read["error"]["code"] == -32603 and "no such city" in read["error"]["message"]
        assert h.runtime.get_node("srv").server.calls == {}


async def test_a_caught_error_is_still_the_catch_flows_to_answer():
    flow = failing_flow(3600)
    flow += [
        {"id": "c", "type": "catch", "z": "t", "scope": ["f1"], "wires": [["note"]]},
        {
            "id": "note",
            "type": "change",
            "z": "t",
            "rules": [{"t": "set", "p": "handled", "pt": "msg", "to": "yes", "tot": "str"}],
            "wires": [["reply"]],
        },
    ]
    async with FlowTestHarness(flow) as h, aiohttp.ClientSession() as http:
        s = RawSession(http, h.url("/mcp"))
        await s.start()
        reply = await s.call("tools/call", {"name": "weather", "arguments": {}})
        # mcp-response answered the caught error (its own text, not the uncaught-error one)
        assert reply["result"]["isError"] is True
        assert reply["result"]["content"][0]["text"] == "Error: no such city"
        assert h.node("reply").received[0]["handled"] == "yes"
