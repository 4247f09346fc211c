"""debug: ported from Node-RED's 21-debug_spec.js (sidebar messages via DebugNode.listeners)."""

from __future__ import annotations

import asyncio
import json

import pytest
from flowrt.nodes.common.debug import DebugNode, encode_value, inspect

from flowrt.testing import FlowTestHarness


@pytest.fixture
def sidebar():
    """The structured messages debug nodes publish (what Node-RED sends the sidebar)."""
    published: list[dict] = []

    def listener(node, data):
        published.append(data)

    DebugNode.listeners.append(listener)
    yield published
    DebugNode.listeners.remove(listener)


async def publish(flow, msg, sidebar, count=1):
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive(msg)
        await asyncio.sleep(0)
        return h, list(sidebar[:count])


async def test_loaded():
    async with FlowTestHarness([{"id": "n1", "type": "debug", "name": "Debug", "complete": "false"}]) as h:
        node = h.node("n1").node
        assert node.name == "Debug"
        assert node.complete == "payload"


async def test_publish_on_input(sidebar, capsys):
    await publish([{"id": "n1", "type": "debug", "name": "Debug"}], {"payload": "test"}, sidebar)
    assert sidebar == [
        {
            "id": "n1",
            "name": "Debug",
            "msg": "test",
            "path": "global",
            "format": "string[4]",
            "property": "payload",
        }
    ]
    assert "[debug:Debug] test\n" in capsys.readouterr().out


async def test_publish_to_console(sidebar):
    h, _ = await publish([{"id": "n1", "type": "debug", "console": "true"}], {"payload": "test"}, sidebar)
    assert sidebar == [
        {"id": "n1", "msg": "test", "property": "payload", "format": "string[4]", "path": "global"}
    ]
    infos = [r for r in h.logs if r.level == "info" and r.node_id == "n1"]
    assert [r.text for r in infos] == ["test"]
    assert infos[0].node_type == "debug"


async def test_publish_complete_message(sidebar):
    await publish([{"id": "n1", "type": "debug", "complete": "true"}], {"payload": "test"}, sidebar)
    assert len(sidebar) == 1
    data = sidebar[0]
    assert data["format"] == "Object" and "property" not in data
    assert json.loads(data["msg"])["payload"] == "test"


async def test_publish_complete_message_to_console(sidebar):
    h, _ = await publish(
        [{"id": "n1", "type": "debug", "complete": "true", "console": "true"}], {"payload": "test"}, sidebar
    )
    assert sidebar[0]["format"] == "Object"
    infos = [r.text for r in h.logs if r.level == "info" and r.node_id == "n1"]
    assert len(infos) == 1
    assert infos[0].startswith("\n{ payload: 'test', _msgid: '")


async def test_publish_other_property(sidebar):
    await publish(
        [{"id": "n1", "type": "debug", "complete": "foo"}], {"payload": "test", "foo": "bar"}, sidebar
    )
    assert sidebar == [{"id": "n1", "msg": "bar", "property": "foo", "format": "string[3]", "path": "global"}]


async def test_publish_multi_level_properties(sidebar):
    await publish(
        [{"id": "n1", "type": "debug", "complete": "foo.bar"}],
        {"payload": "test", "foo": {"bar": "bar"}},
        sidebar,
    )
    assert sidebar == [
        {"id": "n1", "msg": "bar", "property": "foo.bar", "format": "string[3]", "path": "global"}
    ]


async def test_publish_an_error(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": ValueError("oops")}, sidebar)
    data = sidebar[0]
    assert (data["id"], data["property"], data["format"], data["path"]) == (
        "n1",
        "payload",
        "error",
        "global",
    )
    encoded = json.loads(data["msg"])
    assert encoded["__enc__"] is True and encoded["type"] == "error"
    assert encoded["data"]["name"] == "ValueError"
    assert encoded["data"]["message"] == "oops"


@pytest.mark.parametrize(
    "payload,text,fmt",
    [
        (True, "true", "boolean"),
        (7, "7", "number"),
        (7.0, "7", "number"),
        (float("nan"), "NaN", "number"),
        (None, "(undefined)", "null"),
        ({"type": "foo"}, '{"type":"foo"}', "Object"),
        ({"type": "foo", "hasOwnProperty": None}, '{"type":"foo","hasOwnProperty":null}', "Object"),
        ([0, 1, 2, 3], "[0,1,2,3]", "array[4]"),
        (b"HELLO", "48454c4c4f", "buffer[5]"),
    ],
    ids=[
        "boolean",
        "number",
        "float-integer",
        "NaN",
        "null",
        "object",
        "object-hasOwnProperty",
        "array",
        "buffer-hex",
    ],
)
async def test_publish_value(sidebar, payload, text, fmt):
    await publish([{"id": "n1", "type": "debug"}], {"payload": payload}, sidebar)
    assert sidebar == [{"id": "n1", "msg": text, "property": "payload", "format": fmt, "path": "global"}]


async def test_publish_with_no_payload(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {}, sidebar)
    assert sidebar == [
        {"id": "n1", "msg": "(undefined)", "property": "payload", "format": "undefined", "path": "global"}
    ]


async def test_publish_object_with_circular_references(sidebar):
    o = {"name": "bar"}
    o["o"] = o
    await publish([{"id": "n1", "type": "debug"}], {"payload": o}, sidebar)
    assert sidebar[0]["msg"] == '{"name":"bar","o":"[Circular ~]"}'
    assert sidebar[0]["format"] == "Object"


async def test_publish_object_to_console(sidebar):
    h, _ = await publish(
        [{"id": "n1", "type": "debug", "console": "true"}], {"payload": {"type": "foo"}}, sidebar
    )
    assert sidebar[0]["msg"] == '{"type":"foo"}'
    assert [r.text for r in h.logs if r.level == "info" and r.node_id == "n1"] == ["\n{ type: 'foo' }"]


async def test_publish_string_with_newline_to_console(sidebar):
    h, _ = await publish(
        [{"id": "n1", "type": "debug", "console": "true"}], {"payload": "test\ntest"}, sidebar
    )
    assert sidebar[0]["format"] == "string[9]"
    assert [r.text for r in h.logs if r.level == "info" and r.node_id == "n1"] == ["\ntest\ntest"]


async def test_publish_complete_message_with_edit(sidebar):
    flow = [
        {
            "id": "n1",
            "type": "debug",
            "name": "Debug",
            "targetType": "jsonata",
            "complete": '"<" & payload & ">"',
        }
    ]
    await publish(flow, {"payload": "test"}, sidebar)
    assert sidebar == [
        {"id": "n1", "name": "Debug", "msg": "<test>", "format": "string[6]", "path": "global"}
    ]


async def test_truncate_long_message(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": "X" * 1001}, sidebar)
    assert sidebar[0]["msg"] == "X" * 1000 + "..."
    assert sidebar[0]["format"] == "string[1001]"


async def test_string_length_counts_utf16_units(sidebar):
    # JavaScript's .length: an emoji outside the BMP is two code units (Node-RED: "string[2]").
    await publish([{"id": "n1", "type": "debug"}], {"payload": "\U0001f600"}, sidebar)
    assert sidebar[0]["format"] == "string[2]"
    assert sidebar[0]["msg"] == "\U0001f600"


async def test_truncate_counts_utf16_units(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": "\U0001f600" * 600}, sidebar)
    assert sidebar[0]["format"] == "string[1200]"
    assert sidebar[0]["msg"] == "\U0001f600" * 500 + "..."


async def test_truncate_long_string_in_object(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": {"foo": "X" * 1001}}, sidebar)
    assert sidebar[0]["msg"] == '{"foo":"' + "X" * 1000 + '..."}'


async def test_truncate_large_array(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": ["X"] * 1001}, sidebar)
    assert json.loads(sidebar[0]["msg"]) == {
        "__enc__": True,
        "type": "array",
        "data": ["X"] * 1000,
        "length": 1001,
    }
    assert sidebar[0]["format"] == "array[1001]"


async def test_truncate_large_array_in_object(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": {"foo": ["X"] * 1001}}, sidebar)
    assert sidebar[0]["msg"] == json.dumps(
        {"foo": {"__enc__": True, "type": "array", "data": ["X"] * 1000, "length": 1001}},
        separators=(",", ":"),
    )


async def test_truncate_large_buffer(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": b'"' * 501}, sidebar)
    assert sidebar[0]["msg"] == "2" * 1000
    assert sidebar[0]["format"] == "buffer[501]"


async def test_truncate_large_buffer_in_object(sidebar):
    await publish([{"id": "n1", "type": "debug"}], {"payload": {"foo": b"X" * 1001}}, sidebar)
    assert sidebar[0]["msg"] == json.dumps(
        {"foo": {"type": "Buffer", "data": [88] * 1000, "__enc__": True, "length": 1001}},
        separators=(",", ":"),
    )
    assert sidebar[0]["format"] == "Object"


async def test_publish_when_active(sidebar):
    async with FlowTestHarness([{"id": "n1", "type": "debug", "active": False}]) as h:
        h.node("n1").receive({"payload": "message 1"})
        assert sidebar == []
        h.node("n1").node.active = True  # what the editor's POST /debug/n1/enable does
        h.node("n1").receive({"payload": "message 2"})
        assert [d["msg"] for d in sidebar] == ["message 2"]


async def test_not_publish_when_inactive(sidebar, capsys):
    async with FlowTestHarness([{"id": "n1", "type": "debug", "active": True}]) as h:
        h.node("n1").node.active = False
        h.node("n1").receive({"payload": "message"})
        assert sidebar == []
    assert "[debug:" not in capsys.readouterr().out


async def test_tosidebar_false_prints_nothing(sidebar, capsys):
    async with FlowTestHarness([{"id": "n1", "type": "debug", "tosidebar": False}]) as h:
        h.node("n1").receive({"payload": "x"})
    assert sidebar == []
    assert capsys.readouterr().out == ""


# ----- flowrt extras: stdout line, status, odd values ------------------------------------


async def test_stdout_line_for_objects_buffers_and_live_objects(capsys):
    class LiveResponse:
        def __str__(self):
            raise RuntimeError("not printable")

    flow = [{"id": "n1", "type": "debug", "name": "dbg", "complete": "true"}, {"id": "n2", "type": "debug"}]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": b"\x01\x02", "res": {"_res": LiveResponse()}, "_msgid": "m1"})
        h.node("n2").receive({"payload": b"AB"})
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == '[debug:dbg] {"payload":{"type":"Buffer","data":[1,2],"__enc__":true,"length":2},"res":{"_res":{"__enc__":true,"type":"internal"}},"_msgid":"m1"}'
    )
    assert out[1] == "[debug:n2] buffer[2] 4142"


async def test_tostatus_shows_value():
    flow = [{"id": "n1", "type": "debug", "tostatus": True, "statusType": "auto"}]
    async with FlowTestHarness(flow) as h:
        assert await h.node("n1").next_status() == {"fill": "grey", "shape": "ring"}
        assert await h.node("n1").next_status() == {"fill": "", "shape": "", "text": ""}
        h.node("n1").receive({"payload": "a" * 40})
        assert await h.node("n1").next_status() == {"fill": "grey", "shape": "dot", "text": "a" * 32 + "..."}
        h.node("n1").receive({"payload": {"x": 1}})
        assert (await h.node("n1").next_status())["text"] == "{ x: 1 }"
        h.node("n1").receive({"payload": {"x": 1}})  # same status: not sent again
        h.node("n1").receive({"payload": 1, "error": {"message": "bad"}})
        assert await h.node("n1").next_status() == {"fill": "red", "shape": "dot", "text": "bad"}


async def test_tostatus_status_val_and_jsonata():
    flow = [
        {"id": "n1", "type": "debug", "tostatus": True, "statusType": "msg", "statusVal": "topic"},
        {"id": "n2", "type": "debug", "tostatus": True, "statusType": "jsonata", "statusVal": "payload * 2"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": 1, "topic": "tp"})
        h.node("n2").receive({"payload": 21})
        await asyncio.sleep(0)
        assert h.node("n1").statuses[-1]["text"] == "tp"
        assert h.node("n2").statuses[-1]["text"] == "42"


async def test_tostatus_counter():
    flow = [{"id": "n1", "type": "debug", "tostatus": True, "statusType": "counter"}]
    async with FlowTestHarness(flow, clock="virtual") as h:

        def shown():
            return [s["text"] for s in h.node("n1").statuses if s.get("fill") == "blue"]

        assert shown() == [0]
        for _ in range(3):
            h.node("n1").receive({"payload": 1})
        # the first count shows at once; the updates that follow it within 100 ms are coalesced
        # into one, 200 ms after the last
        assert shown() == [0, 1]
        await h.clock.advance(0.19)
        assert shown() == [0, 1]
        await h.clock.advance(0.02)
        assert shown() == [0, 1, 3]
        assert h.node("n1").statuses[-1] == {"fill": "blue", "shape": "ring", "text": 3}


async def test_ignores_its_own_status():
    flow = [{"id": "n1", "type": "debug", "tostatus": True}]
    async with FlowTestHarness(flow, clock="virtual") as h:
        before = h.node("n1").statuses
        h.node("n1").receive({"status": {"text": "x", "source": {"id": "n1"}}})
        await h.clock.run_all()  # nor later, from a timer
        # a message behind it sets the status: the first status since the one of its own
        h.node("n1").receive({"payload": "next"})
        assert h.node("n1").statuses == [*before, {"fill": "grey", "shape": "dot", "text": "next"}]


def test_encode_value_odd_objects():
    class Thing:
        def __str__(self):
            return "a thing"

    assert encode_value(Thing()) == ("Thing", "a thing")
    assert encode_value({1, 2})[0] == "set[2]"
    assert encode_value(print) == ("function", "[function]")
    assert inspect([1, "a", None, b"\x00"]) == "[ 1, 'a', null, <Buffer 00> ]"
