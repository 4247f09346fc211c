"""Ports of Node-RED's test/nodes/core/parsers/70-HTML_spec.js.

The spec's fixture file is not in the extracted sources; PAGE below is a page with the
elements its assertions name (h1, p, an ordered list, two unordered lists, an unclosed img).
"""

import flowrt.nodes.parsers.html  # noqa: F401

from flowrt.testing import FlowTestHarness

PAGE = """<html>
<head><title>Test</title></head>
<body>
<h1>This is a test page for node 70-HTML</h1>
<p>There's nothing to read here.</p>
<ol><li>Blue</li><li>Red</li></ol>
<ul><li>Apple</li><li>Pear</li></ul>
<ul><li>Potato</li><li>Parsnip</li></ul>
<span><img src="foo.png"></span>
</body>
</html>
"""


def flow(**config):
    return [{"id": "n1", "type": "html", "wires": [["n2"]], **config}, {"id": "n2", "type": "helper"}]


async def test_loaded():
    async with FlowTestHarness([{"id": "h1", "type": "html", "name": "htmlNode"}]) as h:
        assert h.node("h1").node.name == "htmlNode"


async def test_select_from_msg(run_flow):
    [msg] = await run_flow(flow(), {"payload": PAGE, "topic": "bar", "select": "body h1"})
    assert msg["topic"] == "bar"
    assert msg["payload"] == ["This is a test page for node 70-HTML"]


async def test_select_from_msg_other_property(run_flow):
    [msg] = await run_flow(flow(property="foo"), {"foo": PAGE, "topic": "bar", "select": "h1"})
    assert msg["foo"][0] == "This is a test page for node 70-HTML"


async def test_in_and_out_properties(run_flow):
    [msg] = await run_flow(flow(property="foo", outproperty="bar", tag="h1"), {"foo": PAGE, "topic": "bar"})
    assert msg["bar"][0] == "This is a test page for node 70-HTML"
    assert msg["foo"] == PAGE


async def test_empty_array_when_nothing_matches(run_flow):
    [msg] = await run_flow(flow(), {"payload": PAGE, "topic": "bar", "select": "h4"})
    assert msg["payload"] == []


async def test_paragraph_text(run_flow):
    [msg] = await run_flow(flow(ret="text", tag="p"), {"payload": PAGE, "topic": "bar"})
    assert msg["payload"] == ["There's nothing to read here."]


async def test_list_as_html(run_flow):
    [msg] = await run_flow(flow(tag="ol"), {"payload": PAGE, "topic": "bar"})
    assert "<li>Blue</li>" in msg["payload"][0] and "<li>Red</li>" in msg["payload"][0]


async def test_list_as_text(run_flow):
    [msg] = await run_flow(flow(tag="ol", ret="text"), {"payload": PAGE, "topic": "bar"})
    assert msg["payload"] == ["BlueRed"]


async def test_unclosed_tag_fixed_up(run_flow):
    [msg] = await run_flow(flow(tag="span"), {"payload": PAGE, "topic": "bar"})
    assert msg["payload"] == ['<img src="foo.png"/>']


async def test_attribute(run_flow):
    [msg] = await run_flow(flow(ret="attr", tag="span img"), {"payload": PAGE, "topic": "bar"})
    assert msg["payload"] == [{"src": "foo.png"}]


async def test_complete_element(run_flow):
    [msg] = await run_flow(
        flow(ret="compl", tag="a", chr="content"), {"payload": '<a href="x" class="c d">link</a>'}
    )
    assert msg["payload"] == [{"content": "link", "href": "x", "class": "c d"}]


async def test_error_on_null_payload():
    async with FlowTestHarness(flow(tag="p")) as h:
        h.node("n1").receive({"payload": None, "topic": "bar"})
        err, msg = await h.node("n1").next_error()
        assert msg["topic"] == "bar"
        assert h.node("n2").received == []


async def test_error_on_bad_selector():
    async with FlowTestHarness(flow(tag="p[")) as h:
        h.node("n1").receive({"payload": PAGE})
        await h.node("n1").next_error()


async def test_pass_through_without_payload(run_flow):
    [msg] = await run_flow(flow(), {"topic": "bar"})
    assert "payload" not in msg


def check_parts(msgs, count):
    gid = msgs[0]["parts"]["id"]
    for i, m in enumerate(msgs):
        assert m["parts"] == {"id": gid, "index": i, "count": count, "type": "string", "ch": ""}


async def test_multi_html(run_flow):
    msgs = await run_flow(
        flow(tag="ul", **{"as": "multi"}), {"payload": PAGE, "topic": "bar", "_msgid": "m1"}, 2
    )
    check_parts(msgs, 2)
    assert msgs[0]["parts"]["id"] == "m1"
    assert "<li>Apple</li>" in msgs[0]["payload"] and "<li>Pear</li>" in msgs[0]["payload"]
    assert "<li>Potato</li>" in msgs[1]["payload"] and "<li>Parsnip</li>" in msgs[1]["payload"]
    assert all(m["topic"] == "bar" for m in msgs)


async def test_multi_html_other_property(run_flow):
    msgs = await run_flow(flow(property="foo", tag="ul", **{"as": "multi"}), {"foo": PAGE, "topic": "bar"}, 2)
    check_parts(msgs, 2)
    assert "<li>Apple</li>" in msgs[0]["foo"] and "<li>Parsnip</li>" in msgs[1]["foo"]


async def test_multi_text(run_flow):
    msgs = await run_flow(flow(tag="ul", ret="text", **{"as": "multi"}), {"payload": PAGE, "topic": "bar"}, 2)
    check_parts(msgs, 2)
    assert [m["payload"] for m in msgs] == ["ApplePear", "PotatoParsnip"]


async def test_multi_attribute(run_flow):
    msgs = await run_flow(
        flow(ret="attr", tag="span img", **{"as": "multi"}), {"payload": PAGE, "topic": "bar"}, 1
    )
    check_parts(msgs, 1)
    assert msgs[0]["payload"] == {"src": "foo.png"}


async def test_multi_does_not_reuse_message(run_flow):
    msgs = await run_flow(flow(tag="ul", ret="text", **{"as": "multi"}), {"payload": PAGE, "topic": "bar"}, 2)
    assert msgs[0] is not msgs[1]
