"""Ports of Node-RED's test/nodes/core/parsers/70-XML_spec.js, plus xml2js shape checks."""

import flowrt.nodes.parsers.xml  # noqa: F401
import pytest
from flowrt.nodes.parsers.xml import build_xml, parse_xml

from flowrt.testing import FlowTestHarness

EMPLOYEES = "  <employees><firstName>John</firstName><lastName>Smith</lastName></employees>\r\n  "
OBJ = {"employees": {"firstName": ["John"], "lastName": ["Smith"]}}


def flow(**config):
    return [{"id": "n1", "type": "xml", "wires": [["n2"]], **config}, {"id": "n2", "type": "helper"}]


async def test_loaded():
    async with FlowTestHarness([{"id": "x1", "type": "xml", "name": "xmlNode"}]) as h:
        assert h.node("x1").node.name == "xmlNode"


async def test_xml_string_to_object(run_flow):
    [msg] = await run_flow(flow(), {"payload": EMPLOYEES, "topic": "bar"})
    assert msg["topic"] == "bar"
    assert msg["payload"] == OBJ


async def test_xml_string_to_object_other_property(run_flow):
    [msg] = await run_flow(flow(property="foo"), {"foo": EMPLOYEES, "topic": "bar"})
    assert msg["foo"] == OBJ


async def test_xml_string_to_object_with_options(run_flow):
    [msg] = await run_flow(flow(), {"payload": EMPLOYEES, "topic": "bar", "options": {"trim": True}})
    assert msg["payload"] == OBJ


async def test_object_to_xml_string(run_flow):
    [msg] = await run_flow(flow(), {"payload": OBJ, "topic": "bar"})
    assert "<employees><firstName>John</firstName><lastName>Smith</lastName></employees>" in msg["payload"]
    assert msg["payload"].startswith("<?xml")


async def test_object_to_xml_string_with_options_other_property(run_flow):
    [msg] = await run_flow(flow(property="foo"), {"foo": OBJ, "topic": "bar", "options": {"headless": True}})
    assert (
        msg["foo"] == "<employees>\n  <firstName>John</firstName>\n  <lastName>Smith</lastName>\n</employees>"
    )


async def test_error_on_invalid_xml():
    async with FlowTestHarness(flow()) as h:
        h.node("n1").receive({"payload": "<not valid>", "topic": "bar"})
        err, msg = await h.node("n1").next_error()
        assert str(err).startswith("Error: ")
        assert msg["topic"] == "bar"
        assert h.node("n2").received == []


async def test_warn_on_non_xml_value():
    async with FlowTestHarness(flow()) as h:
        h.node("n1").receive({"payload": 1, "topic": "bar"})
        record = await h.node("n1").next_log("warn")
        assert "xml strings or js objects" in record.text


async def test_pass_through_without_payload(run_flow):
    [msg] = await run_flow(flow(), {"topic": "bar"})
    assert "payload" not in msg and msg["topic"] == "bar"


async def test_attr_and_chr_keys_from_config(run_flow):
    [msg] = await run_flow(flow(attr="AT", chr="CH"), {"payload": '<a><b x="1">t</b></a>'})
    assert msg["payload"] == {"a": {"b": [{"AT": {"x": "1"}, "CH": "t"}]}}


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ('<a x="1">hi<b/><b>t</b> tail</a>', None, {"a": {"$": {"x": "1"}, "b": ["", "t"], "_": "hi tail"}}),
        ("<a><b>1</b><b>2</b></a>", {"explicitArray": False}, {"a": {"b": ["1", "2"]}}),
        ("<a><b>1</b></a>", {"explicitArray": False, "explicitRoot": False}, {"b": "1"}),
        ('<a x="1"/>', {"ignoreAttrs": True}, {"a": ""}),
        ('<a x="1"/>', {"mergeAttrs": True, "explicitArray": False}, {"a": {"x": "1"}}),
        ("<a>t</a>", {"explicitCharkey": True}, {"a": {"_": "t"}}),
        ("<A><B>t</B></A>", {"normalizeTags": True}, {"a": {"b": ["t"]}}),
        ("<a>  x   y  </a>", {"normalize": True}, {"a": "x y"}),
        ('<ns:a xmlns:ns="u"><ns:b>1</ns:b></ns:a>', None, {"ns:a": {"$": {"xmlns:ns": "u"}, "ns:b": ["1"]}}),
        ("<a><![CDATA[<x>]]></a>", None, {"a": "<x>"}),
    ],
)
def test_xml2js_shapes(text, options, expected):
    assert parse_xml(text, options) == expected


def test_round_trip_with_attributes_and_text():
    obj = parse_xml('<a x="1&amp;2"><b>t&lt;</b><c y="2">v</c></a>')
    assert build_xml(obj, {"headless": True}) == '<a x="1&amp;2"><b>t&lt;</b><c y="2">v</c></a>'


def test_build_without_single_root_uses_root():
    assert build_xml({"a": 1, "b": 2}, {"headless": True}) == "<root><a>1</a><b>2</b></root>"


# 70-XML.js takes msg.options itself (no copy) and sets options.async (false to build, true to
# parse) and, when parsing, attrkey/charkey (the node's, else msg.options', else "$"/"_").


async def test_msg_options_gain_node_reds_parse_defaults(run_flow):
    [msg] = await run_flow(flow(), {"payload": "<a b='1'>t</a>", "options": {"trim": True}})
    assert msg["options"] == {"trim": True, "async": True, "attrkey": "$", "charkey": "_"}
    assert msg["payload"] == {"a": {"$": {"b": "1"}, "_": "t"}}


async def test_msg_options_keys_of_the_node_win(run_flow):
    [msg] = await run_flow(
        flow(attr="A", chr="C"), {"payload": "<a b='1'>t</a>", "options": {"attrkey": "@"}}
    )
    assert msg["options"] == {"attrkey": "A", "charkey": "C", "async": True}


async def test_msg_options_gain_async_false_when_building(run_flow):
    [msg] = await run_flow(flow(), {"payload": {"a": 1}, "options": {"headless": True}})
    assert msg["options"] == {"headless": True, "async": False}
    assert msg["payload"] == "<a>1</a>"


async def test_no_msg_options_none_added(run_flow):
    [msg] = await run_flow(flow(), {"payload": "<a>1</a>"})
    assert "options" not in msg


async def test_null_msg_options_is_node_reds_type_error():
    async with FlowTestHarness(flow()) as h:
        h.node("n1").receive({"payload": "<a>1</a>", "options": None})
        err, _ = await h.node("n1").next_error()
        assert str(err) == "TypeError: Cannot set properties of null (setting 'async')"
