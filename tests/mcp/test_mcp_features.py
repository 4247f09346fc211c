"""flowrt.mcp's pure parts: JSON-RPC shapes, cursors, URI templates, schemas, result shaping."""

from __future__ import annotations

import pytest

from flowrt.mcp import features, protocol
from flowrt.mcp.features import FeatureError, Prompt, Resource, Tool
from flowrt.mcp.session import Session


def nothing(_call) -> None:
    pass


def test_message_kinds():
    assert protocol.kind({"jsonrpc": "2.0", "id": 1, "method": "ping"}) == "request"
    assert protocol.kind({"jsonrpc": "2.0", "method": "notifications/initialized"}) == "notification"
    assert protocol.kind({"jsonrpc": "2.0", "id": 1, "result": {}}) == "response"
    for bad in [
        {"id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        {"jsonrpc": "2.0", "id": True, "method": "x"},
        {"jsonrpc": "2.0", "method": 5},
        [],
        "x",
    ]:
        assert protocol.kind(bad) == "invalid", bad


def test_version_negotiation_and_cursors():
    assert protocol.negotiate("2025-03-26") == "2025-03-26"
    assert protocol.negotiate("2030-01-01") == protocol.LATEST_VERSION
    assert protocol.decode_cursor(protocol.encode_cursor(40)) == 40
    with pytest.raises(protocol.McpError) as info:
        protocol.decode_cursor("not-ours")
    assert info.value.code == protocol.INVALID_PARAMS


def test_uri_templates():
    resource = Resource(start=nothing, name="t", uri_template="test://template/{id}/data")
    assert resource.match("test://template/12%2F3/data") == {"id": "12/3"}
    assert resource.match("test://template/1/2/data") is None
    wide = Resource(start=nothing, name="f", uri_template="file:///{+path}")
    assert wide.match("file:///a/b.txt") == {"path": "a/b.txt"}
    with pytest.raises(FeatureError):
        Resource(start=nothing, name="x", uri_template="no-variables")
    with pytest.raises(FeatureError):
        Resource(start=nothing, name="x")


def test_tool_schemas_are_checked_when_the_tool_is_made():
    with pytest.raises(FeatureError, match="type 'object'"):
        Tool(name="t", start=nothing, input_schema={"type": "string"})
    with pytest.raises(FeatureError, match="not a valid JSON Schema"):
        Tool(name="t", start=nothing, input_schema={"type": "object", "properties": {"a": {"type": 5}}})
    tool = Tool(
        name="t",
        start=nothing,
        input_schema={"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
    )
    assert features.schema_problems(tool.input_validator, {"a": 1}) == []
    assert features.schema_problems(tool.input_validator, {"a": "x"}) == ["a: 'x' is not of type 'integer'"]


def test_tool_results_from_flow_values():
    assert features.tool_result(None, "hi") == {"content": [{"type": "text", "text": "hi"}]}
    assert features.tool_result(None, {"a": 1})["content"][0]["text"] == '{"a":1}'
    image = features.tool_result(None, b"\x89PNG", "image", "image/png")["content"][0]
    assert image == {"type": "image", "data": "iVBORw==", "mimeType": "image/png"}
    link = features.tool_result(None, {"uri": "file:///x"}, "resource_link")["content"][0]
    assert link == {"type": "resource_link", "name": "file:///x", "uri": "file:///x"}
    assert features.tool_result(None, "bad", is_error=True)["isError"] is True
    whole = {"content": [{"type": "text", "text": "x"}], "isError": False}
    assert features.tool_result(None, whole) == whole
    with pytest.raises(ValueError, match="MIME type"):
        features.tool_result(None, b"x", "audio")


def test_structured_content_must_fit_the_output_schema():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    tool = Tool(name="count", start=nothing, output_schema=schema)
    good = features.tool_result(tool, {"n": 3})
    assert good["structuredContent"] == {"n": 3} and good["content"][0]["text"] == '{"n":3}'
    bad = features.tool_result(tool, {"n": "three"})
    assert bad["isError"] is True and "outputSchema" in bad["content"][0]["text"]
    assert features.tool_result(tool, "text only")["isError"] is True


def test_resource_and_prompt_results():
    assert features.resource_result("u", "text", "text/plain") == {
        "contents": [{"uri": "u", "mimeType": "text/plain", "text": "text"}]
    }
    assert features.resource_result("u", b"\x00\x01")["contents"][0]["blob"] == "AAE="
    prompt = Prompt(name="p", start=nothing, description="d", arguments=[{"name": "a", "required": True}])
    result = features.prompt_result(prompt, "Say hi")
    assert result == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Say hi"}}],
        "description": "d",
    }
    assert prompt.missing({}) == ["a"]
    assert features.complete(["paris", "park", "rome"], "PA")["completion"] == {
        "values": ["paris", "park"],
        "total": 2,
        "hasMore": False,
    }


def test_a_stream_numbers_its_events_and_replays_after_a_given_one():
    session = Session("s1", "streamable")
    stream = session.new_stream()
    stream.expect(1)
    stream.send(protocol.notification("notifications/message", {"level": "info", "data": "held"}))
    assert stream.pending_frames() == []  # held until the transport picks SSE
    stream.as_sse()
    assert len(stream.pending_frames()) == 1
    stream.send(protocol.notification("notifications/progress", {"progress": 1}))
    stream.send(protocol.result(1, {}))
    frames = stream.pending_frames()
    assert [f.split("\n")[0] for f in frames] == [f"id: {stream.id}_2", f"id: {stream.id}_3"]
    assert stream.finished and stream.pending_frames() == []
    stream.rewind(2)
    assert stream.pending_frames() == frames[1:]
    stream.send(protocol.result(1, {}))  # answered already: dropped
    assert stream.pending_frames() == []
