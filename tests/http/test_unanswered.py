"""Every `http in` request gets an answer: 500 after an uncaught error, 504 when the flow never answers."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.testing import FlowTestHarness

load_builtin_nodes()
needs_function = pytest.mark.skipif(
    registry.get_type("function") is None, reason="needs the JS function node"
)

#: Only a guard against a hang: the answers below come on events, far sooner.
WATCHDOG = 30


def _route(node_type: str, func: str, *, method: str = "post", catch: bool = False) -> list[dict]:
    """POST /r -> `node_type` running `func` -> http response (and optionally a catch -> 418)."""
    nodes = [
        {"id": "in", "type": "http in", "url": "/r", "method": method, "wires": [["fn"]]},
        {"id": "fn", "type": node_type, "func": func, "wires": [["out"]]},
        {"id": "out", "type": "http response", "wires": []},
    ]
    if catch:
        nodes += [
            {"id": "c", "type": "catch", "scope": ["fn"], "wires": [["teapot"]]},
            {
                "id": "teapot",
                "type": "change",
                "rules": [
                    {"t": "set", "p": "statusCode", "pt": "msg", "to": "418", "tot": "num"},
                    {"t": "set", "p": "payload", "pt": "msg", "to": "caught", "tot": "str"},
                ],
                "wires": [["out"]],
            },
        ]
    return nodes


async def _post(h: FlowTestHarness, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, asyncio.timeout(WATCHDOG):
        async with session.post(h.url("/r"), data=body, headers={"Content-Type": content_type}) as resp:
            return resp.status, await resp.text()


def _error_logged_before_the_500(h: FlowTestHarness, nodes: tuple[str, ...] = ("fn",)) -> None:
    texts = [(r.level, r.node_id, r.text) for r in h.logs]
    errors = [i for i, (level, node, _) in enumerate(texts) if level == "error" and node in nodes]
    answered = [i for i, (_, _, text) in enumerate(texts) if "answered 500" in text]
    assert errors and answered and errors[0] < answered[0], texts


@needs_function
async def test_a_js_function_that_throws_without_a_catch_node_answers_500_after_logging():
    async with FlowTestHarness(_route("function", 'throw new Error("boom");')) as h:
        status, body = await _post(h, b"{}")
        assert status == 500
        assert "boom" not in body  # the error's text stays in the log
        _error_logged_before_the_500(h)
        assert any("boom" in r.text for r in h.logs if r.level == "error")


async def test_a_python_function_that_raises_without_a_catch_node_answers_500():
    async with FlowTestHarness(_route("python-function", 'raise ValueError("boom")')) as h:
        status, body = await _post(h, b"{}")
        assert status == 500
        assert "Internal Server Error" in body
        _error_logged_before_the_500(h)


@needs_function
async def test_an_error_a_catch_node_handles_is_answered_by_the_catch_flow():
    async with FlowTestHarness(_route("function", 'throw new Error("boom");', catch=True)) as h:
        assert await _post(h, b"{}") == (418, "caught")
        assert not any("answered 500" in r.text for r in h.logs)


@needs_function
async def test_node_error_with_msg_then_an_answer_keeps_the_flows_answer():
    func = 'node.error("logged only", msg);\nmsg.payload = "fine";\nreturn msg;'
    async with FlowTestHarness(_route("function", func)) as h:
        assert await _post(h, b"{}") == (200, "fine")
        assert any("logged only" in r.text for r in h.logs if r.level == "error")


@needs_function
@pytest.mark.parametrize(
    "body",
    [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}', b'{"x": 1e999999}', b'{"x": "\\ud800"}'],
    ids=["NaN", "Infinity", "-Infinity", "1e999999", "lone-surrogate"],
)
async def test_json_bodies_javascript_cannot_take_are_answered(body):
    async with FlowTestHarness(_route("function", "msg.payload = typeof msg.payload.x; return msg;")) as h:
        status, text = await _post(h, body)
        # either the value entered JavaScript (as Node's JSON.parse never would, a number or a
        # string) or the node reported why it could not, and the client got a 500
        assert status in (200, 400, 500), text
        if status == 500:
            _error_logged_before_the_500(h)


@needs_function
@pytest.mark.parametrize(
    "body, status, text",
    [
        (b'{"x": NaN}', 400, "NaN is not JSON"),
        (b'{"x": -Infinity}', 400, "-Infinity is not JSON"),
        (b'{"x": 1e999999}', 200, "number Infinity Infinity"),
        (b'{"x": -1e400}', 200, "number -Infinity -Infinity"),
    ],
    ids=["NaN", "-Infinity", "1e999999", "-1e400"],
)
async def test_json_bodies_as_body_parser_reads_them(body, status, text):
    # JSON.parse refuses NaN/Infinity (400); a number too large for a double is Infinity in
    # msg.payload and in msg.req.body alike.
    code = "msg.payload = [typeof msg.payload.x, String(msg.payload.x), String(msg.req.body.x)].join(' '); return msg;"
    async with FlowTestHarness(_route("function", code)) as h:
        got_status, got_text = await _post(h, body)
    assert got_status == status
    assert text in got_text


@needs_function
async def test_a_header_byte_0xff_is_answered():
    async with FlowTestHarness(
        _route("function", "msg.payload = msg.req.headers['x-odd']; return msg;", method="get")
    ) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", h.runtime.http.port)
        writer.write(b"GET /r HTTP/1.1\r\nHost: x\r\nX-Odd: a\xffb\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(WATCHDOG):
            answer = await reader.read()
        writer.close()
        status = int(answer.split(b" ", 2)[1])
        assert status in (200, 400, 500), answer
        if status == 500:
            # the JS node takes the header's text (aiohttp's '\udcff' for the byte); the node that
            # cannot use it (today the http response, encoding it) logs the error
            _error_logged_before_the_500(h, ("fn", "out"))


async def test_header_bytes_are_read_as_latin1_as_node_does():
    nodes = [
        {"id": "in", "type": "http in", "url": "/h", "method": "get", "wires": [["ch"]]},
        {
            "id": "ch",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "req.headers.x-odd", "tot": "msg"}],
            "wires": [["out"]],
        },
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(nodes) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", h.runtime.http.port)
        writer.write(b"GET /h HTTP/1.1\r\nHost: x\r\nX-Odd: a\xffb\xc3\xa9\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(WATCHDOG):
            answer = await reader.read()
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer
    assert body.decode("utf-8") == "a\u00ffb\u00c3\u00a9"  # Node: one character per byte


async def test_a_request_the_flow_never_answers_gets_504_after_http_node_response_timeout():
    nodes = [{"id": "in", "type": "http in", "url": "/r", "method": "post", "wires": [[]]}]
    async with FlowTestHarness(nodes, settings={"httpNodeResponseTimeout": 200}) as h:
        status, body = await _post(h, b"{}")
        assert status == 504
        assert "did not answer" in body
        assert any("answered 504" in r.text for r in h.logs if r.node_id == "in")


async def test_a_started_stream_is_not_cut_off_by_the_response_timeout():
    func = """
msg.res._res.writeHead(200, {"Content-Type": "text/plain"});
msg.res._res.write("first;");
node.call_later(0.4, lambda: msg["res"]["_res"].end("last"))
"""
    nodes = [
        {"id": "in", "type": "http in", "url": "/r", "method": "post", "wires": [["fn"]]},
        {"id": "fn", "type": "python-function", "func": func.replace("msg.res._res", 'msg["res"]["_res"]')},
    ]
    async with FlowTestHarness(nodes, settings={"httpNodeResponseTimeout": 100}) as h:
        assert await _post(h, b"{}") == (200, "first;last")
