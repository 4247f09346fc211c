"""msg.req in a function node: its fields are read from the request when the code first uses them
(issue 19), and read as they were when sent whole."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from flowrt.http.objects import AioRequest, AioResponse
from flowrt.testing import FlowTestHarness


def http_message(headers: dict[str, str] | None = None, path: str = "/echo?q=1&q=2") -> dict:
    request = make_mocked_request("POST", path, headers=headers or {})
    req = AioRequest(request, {"id": "7"})
    req.body = {"n": 1}
    return {"req": req, "res": {"_res": AioResponse(request)}, "payload": {"n": 1}}


async def run(func: str, msg: dict) -> dict:
    flow = [
        {"id": "f1", "type": "function", "func": func, "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("f1").receive(msg)
        return await h.node("out").next_input()


async def test_passing_msg_req_on_reads_none_of_its_fields():
    msg = http_message({"Cookie": "a=b", "Host": "example.org:1880"})
    req = msg["req"]
    out = await run("msg.payload = {n: msg.payload.n + 1}; return msg;", msg)
    assert out["req"] is req and out["payload"] == {"n": 2}
    # the lazily computed fields were never asked for
    for name in ("headers", "cookies", "query", "hostname", "url", "path"):
        assert name not in vars(req), name


async def test_fields_are_read_on_first_use():
    msg = http_message({"X-A": "1", "Cookie": "c=v", "Host": "example.org:1880"})
    out = await run(
        "const r = msg.req;"
        "msg.payload = [r.method, r.url, r.path, r.headers['x-a'], r.get('X-A'), r.query.q, r.params.id,"
        " r.body.n, r.cookies.c, r.hostname, 'headers' in r, typeof r.files, r.headers === r.headers];"
        "return msg;",
        msg,
    )
    assert out["payload"] == [
        "POST", "/echo?q=1&q=2", "/echo", "1", "1", ["1", "2"], "7", 1, "v", "example.org", True,
        "undefined", True,
    ]  # fmt: skip


async def test_a_field_written_in_js_keeps_the_written_value():
    msg = http_message({"X-A": "1"})
    out = await run(
        "msg.req.headers['x-b'] = '2'; const before = msg.req.headers['x-b'];"
        "msg.req.body = 'replaced'; msg.payload = [before, msg.req.body, msg.req.headers['x-a']]; return msg;",
        msg,
    )
    assert out["payload"] == ["2", "replaced", "1"]
    assert "x-b" not in msg["req"].headers  # the JS copy of a field, as before: Python's stays


async def test_handles_js_dropped_are_released_while_the_node_runs():
    # The JS side reports dropped handles in one host call per run's jobs (issue 19): they must
    # still leave the node's table as messages go by, not only when the node closes.
    flow = [
        {"id": "f1", "type": "function", "func": "return msg;", "wires": [["out"]]},
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        for _ in range(20):
            h.node("f1").receive(http_message())
        await h.node("out").inputs(20)
        await h.idle()
        table = h.node("f1").node._sb._live
        assert len(table) <= 2, len(table)  # at most the last message's req and res
