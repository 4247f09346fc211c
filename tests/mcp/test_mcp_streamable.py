"""The MCP protocol core (flowrt.mcp) over Streamable HTTP, with the fixture flow in-process and a
raw HTTP client: sessions, revisions, batches, streams and resumption, origins, errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from rawclient import ACCEPT_BOTH, RawSession, initialize, messages_of, read_events, rpc

from flowrt.testing import FlowTestHarness

EVERYTHING = Path(__file__).resolve().parents[2] / "flows" / "mcp-everything.yaml"


@pytest.fixture
async def server():
    async with FlowTestHarness(EVERYTHING) as h:
        async with aiohttp.ClientSession() as http:
            yield h, http


async def test_initialize_negotiates_the_revision_and_opens_a_session(server):
    h, http = server
    for asked, answered in [
        ("2025-06-18", "2025-06-18"),
        ("2024-11-05", "2024-11-05"),
        ("1999-01-01", "2025-11-25"),
    ]:
        async with http.post(h.url("/mcp"), json=initialize(asked), headers={"Accept": ACCEPT_BOTH}) as r:
            assert r.status == 200
            body = await r.json()
            assert len(r.headers["Mcp-Session-Id"]) == 32
        assert body["result"]["protocolVersion"] == answered
        assert body["result"]["serverInfo"]["name"] == "mcp-conformance-test-server"
        assert {"tools", "resources", "prompts", "logging", "completions"} <= set(
            body["result"]["capabilities"]
        )


async def test_session_rules(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"), "2025-06-18")
    await s.start()
    assert await s.call("ping") == {"jsonrpc": "2.0", "id": 101, "result": {}}
    url = h.url("/mcp")
    no_session = {"Accept": ACCEPT_BOTH}
    async with http.post(url, json=rpc(1, "ping"), headers=no_session) as r:
        assert r.status == 400
    async with http.post(url, json=rpc(1, "ping"), headers=s.headers(**{"Mcp-Session-Id": "nope"})) as r:
        assert r.status == 404
    async with http.post(
        url, json=rpc(1, "ping"), headers=s.headers(**{"MCP-Protocol-Version": "1999-01-01"})
    ) as r:
        assert r.status == 400
    async with http.post(
        url, data=b"{nope", headers={**s.headers(), "Content-Type": "application/json"}
    ) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == -32700
    async with http.post(url, data=b"{}", headers={**s.headers(), "Content-Type": "text/plain"}) as r:
        assert r.status == 415
    async with http.post(url, json=rpc(2, "no/such"), headers=s.headers()) as r:
        assert (await r.json())["error"]["code"] == -32601
    async with http.delete(url, headers=s.headers()) as r:
        assert r.status == 200
    async with http.post(url, json=rpc(3, "ping"), headers=s.headers()) as r:
        assert r.status == 404


async def test_a_foreign_origin_is_refused_on_every_method(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    evil = {"Origin": "http://evil.example.com"}
    async with http.post(h.url("/mcp"), json=initialize(), headers={"Accept": ACCEPT_BOTH, **evil}) as r:
        assert r.status == 403
    async with http.get(h.url("/mcp"), headers=s.headers(Accept="text/event-stream", **evil)) as r:
        assert r.status == 403
    async with http.delete(h.url("/mcp"), headers=s.headers(**evil)) as r:
        assert r.status == 403
    assert await s.call("ping")  # the session is still there
    local = {"Origin": f"http://127.0.0.1:{h.runtime.http.port}"}
    async with http.post(h.url("/mcp"), json=initialize(), headers={"Accept": ACCEPT_BOTH, **local}) as r:
        assert r.status == 200


async def test_batches_only_where_the_revision_has_them(server):
    h, http = server
    old = RawSession(http, h.url("/mcp"), "2025-03-26")
    await old.start()
    batch = [rpc(1, "ping"), rpc(2, "tools/list"), {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    async with http.post(h.url("/mcp"), json=batch, headers=old.headers()) as r:
        assert r.status == 200
        answers = await r.json()
    assert [a["id"] for a in answers] == [1, 2] and "tools" in answers[1]["result"]
    new = RawSession(http, h.url("/mcp"), "2025-06-18")
    await new.start()
    async with http.post(h.url("/mcp"), json=batch, headers=new.headers()) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == -32600


async def test_tool_calls_validate_arguments_per_revision(server):
    h, http = server
    new = RawSession(http, h.url("/mcp"), "2025-11-25")
    await new.start()
    reply = await new.call("tools/call", {"name": "test_sampling", "arguments": {"prompt": 5}})
    assert reply["result"]["isError"] is True and "prompt" in reply["result"]["content"][0]["text"]
    reply = await new.call("tools/call", {"name": "json_schema_2020_12_tool", "arguments": {"extra": 1}})
    assert reply["result"]["isError"] is True  # additionalProperties: false
    reply = await new.call("tools/call", {"name": "no_such_tool", "arguments": {}})
    assert reply["error"]["code"] == -32602
    old = RawSession(http, h.url("/mcp"), "2025-06-18")
    await old.start()
    reply = await old.call("tools/call", {"name": "test_sampling", "arguments": {}})
    assert reply["error"]["code"] == -32602


async def test_tools_list_keeps_the_schema_as_written(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    tools = {t["name"]: t for t in (await s.call("tools/list"))["result"]["tools"]}
    schema = tools["json_schema_2020_12_tool"]["inputSchema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False and "address" in schema["$defs"]


async def test_a_slow_call_streams_its_notifications_then_the_answer(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    call = rpc(
        7,
        "tools/call",
        {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "p1"}},
    )
    async with http.post(h.url("/mcp"), json=call, headers=s.headers()) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = await read_events(r)
    assert events[0]["data"] == "" and events[0]["id"] and events[0]["retry"]  # the priming event
    messages = messages_of(events)
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    assert [p["progress"] for p in progress] == [0, 50, 100] and progress[0]["progressToken"] == "p1"
    assert messages[-1]["id"] == 7 and messages[-1]["result"]["content"][0]["text"] == "p1"
    assert len({e["id"] for e in events}) == len(events)


async def test_a_closed_stream_resumes_with_last_event_id(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    call = rpc(9, "tools/call", {"name": "test_reconnection", "arguments": {}})
    async with http.post(h.url("/mcp"), json=call, headers=s.headers()) as r:
        events = await read_events(r)  # the server ends it before the answer
    assert len(events) == 1 and events[0]["data"] == ""
    headers = s.headers(Accept="text/event-stream", **{"Last-Event-ID": events[0]["id"]})
    async with http.get(h.url("/mcp"), headers=headers) as r:
        assert r.status == 200
        resumed = messages_of(await read_events(r))
    assert resumed[-1]["id"] == 9 and "reconnected" in resumed[-1]["result"]["content"][0]["text"]


async def test_the_get_stream_carries_what_relates_to_no_request(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    assert (await s.call("resources/subscribe", {"uri": "test://watched-resource"}))["result"] == {}
    async with http.get(h.url("/mcp"), headers=s.headers(Accept="text/event-stream")) as r:
        assert r.status == 200
        async with http.get(h.url("/mcp"), headers=s.headers(Accept="text/event-stream")) as second:
            assert second.status == 409  # one GET stream per session
        server_node = h.runtime.get_node("everything").server
        server_node.resource_updated("test://watched-resource")
        server_node.resource_updated("test://not-subscribed")
        server_node.list_changed("tools")
        events = await read_events(r, until=lambda e: "list_changed" in e.get("data", ""))
    methods = [m["method"] for m in messages_of(events)]
    assert methods == ["notifications/resources/updated", "notifications/tools/list_changed"]


async def test_logging_honours_set_level(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    assert (await s.call("logging/setLevel", {"level": "error"}))["result"] == {}
    reply = await s.call("tools/call", {"name": "test_tool_with_logging", "arguments": {}})
    assert reply["result"]["content"][0]["text"] == "Tool with logging executed successfully"
    assert (await s.call("logging/setLevel", {"level": "loud"}))["error"]["code"] == -32602
    async with http.post(
        h.url("/mcp"), json=rpc(3, "tools/call", {"name": "test_tool_with_logging"}), headers=s.headers()
    ) as r:
        body = await r.read()
    assert b"notifications/message" not in body  # info is below error
    await s.call("logging/setLevel", {"level": "debug"})
    async with http.post(
        h.url("/mcp"), json=rpc(4, "tools/call", {"name": "test_tool_with_logging"}), headers=s.headers()
    ) as r:
        logs = [m for m in messages_of(await read_events(r)) if m.get("method") == "notifications/message"]
    assert [m["params"]["data"] for m in logs] == [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]


async def test_resources_prompts_and_completion(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    listed = (await s.call("resources/list"))["result"]["resources"]
    assert {r["uri"] for r in listed} == {
        "test://static-text",
        "test://static-binary",
        "test://watched-resource",
    }
    templates = (await s.call("resources/templates/list"))["result"]["resourceTemplates"]
    assert templates[0]["uriTemplate"] == "test://template/{id}/data"
    read = (await s.call("resources/read", {"uri": "test://template/42/data"}))["result"]["contents"][0]
    assert read["mimeType"] == "application/json" and json.loads(read["text"])["id"] == "42"
    assert (await s.call("resources/read", {"uri": "test://none"}))["error"]["code"] == -32002
    prompt = await s.call(
        "prompts/get", {"name": "test_prompt_with_arguments", "arguments": {"arg1": "x", "arg2": "y"}}
    )
    assert prompt["result"]["messages"][0]["content"]["text"] == "Prompt with arguments: arg1='x', arg2='y'"
    missing = await s.call("prompts/get", {"name": "test_prompt_with_arguments", "arguments": {"arg1": "x"}})
    assert missing["error"]["code"] == -32602 and "arg2" in missing["error"]["message"]
    done = await s.call(
        "completion/complete",
        {
            "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
            "argument": {"name": "arg1", "value": "par"},
        },
    )
    assert done["result"]["completion"]["values"] == ["paris", "park", "party"]
    done = await s.call(
        "completion/complete",
        {
            "ref": {"type": "ref/resource", "uri": "test://template/{id}/data"},
            "argument": {"name": "id", "value": "4"},
        },
    )
    assert done["result"]["completion"]["values"] == ["456"]


async def test_an_error_caught_by_a_catch_node_is_a_tool_error(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    reply = await s.call("tools/call", {"name": "test_error_handling", "arguments": {}})
    assert reply["result"]["isError"] is True
    assert "intentionally returns an error" in reply["result"]["content"][0]["text"]


async def test_sampling_goes_to_the_client_and_its_answer_back_into_the_flow(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start(capabilities={"sampling": {}})
    call = rpc(5, "tools/call", {"name": "test_sampling", "arguments": {"prompt": "hi"}})
    async with http.post(h.url("/mcp"), json=call, headers=s.headers()) as r:
        events = []
        reader = read_events(r, until=lambda e: "sampling/createMessage" in e.get("data", ""))
        events = await reader
        ask = messages_of(events)[-1]
        assert ask["params"]["messages"][0]["content"]["text"] == "hi" and ask["params"]["maxTokens"] == 100
        answer = {
            "jsonrpc": "2.0",
            "id": ask["id"],
            "result": {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"},
        }
        async with http.post(h.url("/mcp"), json=answer, headers=s.headers()) as posted:
            assert posted.status == 202
        rest = messages_of(await read_events(r))
    assert rest[-1]["result"]["content"][0]["text"] == "LLM response: hello"


async def test_sampling_without_the_client_capability_is_a_tool_error(server):
    h, http = server
    s = RawSession(http, h.url("/mcp"))
    await s.start()
    reply = await s.call("tools/call", {"name": "test_sampling", "arguments": {"prompt": "hi"}})
    assert (
        reply["result"]["isError"] is True
        and "does not offer sampling" in reply["result"]["content"][0]["text"]
    )


SLOW_FLOW = [
    {"id": "srv", "type": "mcp-server", "callTimeout": 0.3, "pageSize": 1},
    {"id": "slow", "type": "mcp-tool", "z": "t", "name": "slow", "description": "waits", "wires": [["wait"]]},
    {
        "id": "fast",
        "type": "mcp-tool",
        "z": "t",
        "name": "fast",
        "description": "answers",
        "wires": [["reply"]],
    },
    {
        "id": "wait",
        "type": "delay",
        "z": "t",
        "pauseType": "delay",
        "timeout": "0.2",
        "timeoutUnits": "seconds",
        "wires": [["reply"]],
    },
    {"id": "reply", "type": "mcp-response", "z": "t", "wires": []},
    {"id": "never", "type": "mcp-tool", "z": "t", "name": "never", "description": "no answer", "wires": [[]]},
    {"id": "t", "type": "tab"},
]


async def test_cancelled_calls_drop_their_answer_and_unanswered_calls_time_out():
    async with FlowTestHarness(SLOW_FLOW) as h, aiohttp.ClientSession() as http:
        s = RawSession(http, h.url("/mcp"))
        await s.start()
        pending = asyncio.ensure_future(s.call("tools/call", {"name": "slow", "arguments": {}}))
        await asyncio.sleep(0.05)
        cancel = {"requestId": 101, "reason": "the user changed their mind"}
        assert await s.notify("notifications/cancelled", cancel) == 202
        with pytest.raises(AssertionError):  # the stream ends without an answer
            await pending
        await h.node("reply").next_input()  # the flow went on; its answer was dropped
        timed_out = await s.call("tools/call", {"name": "never", "arguments": {}})
        assert timed_out["result"]["isError"] is True and "0.3 s" in timed_out["result"]["content"][0]["text"]


async def test_lists_come_in_pages():
    async with FlowTestHarness(SLOW_FLOW) as h, aiohttp.ClientSession() as http:
        s = RawSession(http, h.url("/mcp"))
        await s.start()
        names, cursor = [], None
        while True:
            page = (await s.call("tools/list", {"cursor": cursor} if cursor else {}))["result"]
            names += [t["name"] for t in page["tools"]]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        assert names == ["slow", "fast", "never"]
        assert (await s.call("tools/list", {"cursor": "bogus"}))["error"]["code"] == -32602


def one_tool(**server: object) -> list[dict]:
    return [
        {"id": "t", "type": "tab"},
        {"id": "srv", "type": "mcp-server", **server},
        {
            "id": "echo",
            "type": "mcp-tool",
            "z": "t",
            "name": "echo",
            "description": "echoes",
            "wires": [["reply"]],
        },
        {"id": "reply", "type": "mcp-response", "z": "t", "wires": []},
    ]


async def test_a_stateless_server_answers_each_post_on_its_own():
    async with FlowTestHarness(one_tool(stateless=True)) as h, aiohttp.ClientSession() as http:
        url = h.url("/mcp")
        async with http.post(url, json=initialize(), headers={"Accept": ACCEPT_BOTH}) as r:
            assert r.status == 200 and "Mcp-Session-Id" not in r.headers
        call = rpc(2, "tools/call", {"name": "echo", "arguments": {"x": 1}})
        async with http.post(
            url, json=call, headers={"Accept": ACCEPT_BOTH, "MCP-Protocol-Version": "2025-06-18"}
        ) as r:
            assert r.status == 200
            assert (await r.json())["result"]["content"][0]["text"] == '{"x":1}'
        async with http.get(url, headers={"Accept": "text/event-stream"}) as r:
            assert r.status == 405
        assert h.runtime.get_node("srv").server.sessions == {}


async def test_an_idle_session_expires():
    async with FlowTestHarness(one_tool(sessionTimeout=60)) as h, aiohttp.ClientSession() as http:
        s = RawSession(http, h.url("/mcp"))
        await s.start()
        server = h.runtime.get_node("srv").server
        assert server.expire_idle() == 0
        server.sessions[s.session_id].last_active -= 61
        assert server.expire_idle() == 1
        async with http.post(h.url("/mcp"), json=rpc(3, "ping"), headers=s.headers()) as r:
            assert r.status == 404


async def test_list_changed_and_roots_from_mcp_notify():
    flow = [
        {"id": "t", "type": "tab"},
        {"id": "srv", "type": "mcp-server"},
        {
            "id": "roots",
            "type": "mcp-tool",
            "z": "t",
            "name": "roots",
            "description": "asks",
            "wires": [["ask"]],
        },
        {"id": "ask", "type": "mcp-notify", "z": "t", "kind": "roots", "wires": [["changed"]]},
        {
            "id": "changed",
            "type": "mcp-notify",
            "z": "t",
            "kind": "list-changed",
            "listType": "prompts",
            "wires": [["reply"]],
        },
        {"id": "reply", "type": "mcp-response", "z": "t", "wires": []},
    ]
    async with FlowTestHarness(flow) as h, aiohttp.ClientSession() as http:
        s = RawSession(http, h.url("/mcp"))
        await s.start(capabilities={"roots": {"listChanged": True}})
        stream = await http.get(h.url("/mcp"), headers=s.headers(Accept="text/event-stream"))
        call = rpc(8, "tools/call", {"name": "roots", "arguments": {}})
        async with http.post(h.url("/mcp"), json=call, headers=s.headers()) as r:
            ask = messages_of(await read_events(r, until=lambda e: "roots/list" in e.get("data", "")))[-1]
            roots = {"roots": [{"uri": "file:///work", "name": "work"}]}
            answer = {"jsonrpc": "2.0", "id": ask["id"], "result": roots}
            async with http.post(h.url("/mcp"), json=answer, headers=s.headers()) as posted:
                assert posted.status == 202
            final = messages_of(await read_events(r))[-1]
        assert final["id"] == 8 and '"file:///work"' in final["result"]["content"][0]["text"]
        changed = messages_of(await read_events(stream, until=lambda e: "list_changed" in e.get("data", "")))
        assert changed[-1]["method"] == "notifications/prompts/list_changed"
        stream.close()
