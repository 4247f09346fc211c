"""`http in` / `http response` and the shared HTTP server (behaviour of Node-RED's 21-httpin.js)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from flowrt import Node, register_type
from flowrt.engine.registry import registry
from flowrt.testing import FlowTestHarness

if registry.get_type("test-set") is None:

    @register_type("test-set")
    class _TestSet(Node):
        """Merges config['set'] into the message (a stand-in for `change` in these tests)."""

        def on_input(self, msg, send, done):
            for key, value in (self.config.get("set") or {}).items():
                msg[key] = value
            send(msg)
            done()

    @register_type("test-live")
    class _TestLive(Node):
        """Drives msg.res._res directly, as a JS function node would."""

        def on_input(self, msg, send, done):
            res = msg["res"]["_res"]
            res.setHeader("Content-Type", "text/plain")
            res.write("one,")
            res.write(b"two,")
            self.call_later(0.01, lambda: res.end("three"))
            done()


def flow(*nodes):
    return list(nodes)


async def fetch(method, url, **kw):
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, **kw) as r:
            return r.status, r.headers, await r.read()


async def test_get_query_to_payload_and_json_response():
    f = [
        {"id": "in", "type": "http in", "url": "/q", "method": "get", "wires": [["out", "probe"]]},
        {"id": "out", "type": "http response", "wires": []},
        {"id": "probe", "type": "helper"},
    ]
    async with FlowTestHarness(f) as h:
        status, headers, body = await fetch("GET", h.url("/q?a=1&b=x&b=y"))
        assert status == 200
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(body) == {"a": "1", "b": ["x", "y"]}
        msg = await h.node("probe").next_input()
        assert msg["req"].method == "GET"
        assert msg["req"].query == {"a": "1", "b": ["x", "y"]}
        assert set(msg["res"]) == {"_res"}


async def test_params_and_http_node_root():
    f = [
        {"id": "in", "type": "http in", "url": "/users/:id/items/:item", "method": "get", "wires": [["p"]]},
        {"id": "p", "type": "helper"},
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f, settings={"httpNodeRoot": "/api"}) as h:
        task = asyncio.create_task(fetch("GET", h.url("/api/users/7/items/x")))
        msg = await h.node("p").next_input()
        assert msg["req"].params == {"id": "7", "item": "x"}
        h.node("out").receive({"payload": "ok", "res": msg["res"]})
        status, headers, body = await task
        assert (status, body) == (200, b"ok")
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        status, _, body = await fetch("GET", h.url("/users/7/items/x"))
        assert status == 404
        assert b"<pre>Cannot GET /users/7/items/x</pre>" in body


@pytest.mark.parametrize(
    "ctype, data, expected",
    [
        ("application/json", b'{"n": 1}', {"n": 1}),
        ("application/json", b"[1,2]", [1, 2]),
        ("application/x-www-form-urlencoded", b"n=1&m=a+b", {"n": "1", "m": "a b"}),
        ("text/plain", b"hello", "hello"),
        ("application/xml", b"<a/>", "<a/>"),
        ("application/octet-stream", b"\x00\x01", b"\x00\x01"),
        ("image/png", b"\x89PNG", b"\x89PNG"),
        ("application/x-custom", b"plain text", "plain text"),
    ],
)
async def test_post_bodies_parsed_by_content_type(ctype, data, expected):
    f = [
        {"id": "in", "type": "http in", "url": "/b", "method": "post", "wires": [["p", "out"]]},
        {"id": "p", "type": "helper"},
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        status, _, _ = await fetch("POST", h.url("/b"), data=data, headers={"Content-Type": ctype})
        assert status == 200
        msg = await h.node("p").next_input()
        assert msg["payload"] == expected
        assert msg["req"].body == expected


async def test_post_without_body_gives_empty_object_and_bytes_echo():
    f = [
        {"id": "in", "type": "http in", "url": "/b", "method": "put", "wires": [["p"]]},
        {"id": "p", "type": "helper"},
    ]
    async with FlowTestHarness(f) as h:
        task = asyncio.create_task(fetch("PUT", h.url("/b")))
        msg = await h.node("p").next_input()
        assert msg["payload"] == {}
        res = msg["res"]["_res"]
        res.end()
        status, _, body = await task
        assert (status, body) == (200, b"")


async def test_bad_json_is_a_clear_400_and_flow_not_started():
    f = [
        {"id": "in", "type": "http in", "url": "/j", "method": "post", "wires": [["p"]]},
        {"id": "p", "type": "helper"},
    ]
    async with FlowTestHarness(f) as h:
        status, _, body = await fetch(
            "POST", h.url("/j"), data=b'{"a": 1', headers={"Content-Type": "application/json"}
        )
        assert status == 400
        assert b"invalid JSON" in body
        status, _, body = await fetch(
            "POST", h.url("/j"), data=b"42", headers={"Content-Type": "application/json"}
        )
        assert status == 400
        assert b"object or an array" in body
        assert h.node("p").received == []


async def test_body_over_limit_is_413():
    f = [
        {"id": "in", "type": "http in", "url": "/big", "method": "post", "wires": [["p"]]},
        {"id": "p", "type": "helper"},
    ]
    async with FlowTestHarness(f, settings={"httpMaxBodySize": "1kb"}) as h:
        status, _, body = await fetch(
            "POST", h.url("/big"), data=b"x" * 2048, headers={"Content-Type": "text/plain"}
        )
        assert status == 413
        assert b"1024" in body

        async def gen():
            for _ in range(4):
                yield b"y" * 400

        status, _, _ = await fetch("POST", h.url("/big"), data=gen(), headers={"Content-Type": "text/plain"})
        assert status == 413
        assert h.node("p").received == []


async def test_multipart_upload_gives_files():
    f = [
        {
            "id": "in",
            "type": "http in",
            "url": "/up",
            "method": "post",
            "upload": True,
            "wires": [["p", "out"]],
        },
        {"id": "p", "type": "helper"},
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        form = aiohttp.FormData()
        form.add_field("title", "hello")
        form.add_field("file", b"abc\x00", filename="a.bin", content_type="application/octet-stream")
        status, _, _ = await fetch("POST", h.url("/up"), data=form)
        assert status == 200
        msg = await h.node("p").next_input()
        assert msg["payload"] == {"title": "hello"}
        (upload,) = msg["req"].files
        assert upload["fieldname"] == "file"
        assert upload["originalname"] == "a.bin"
        assert upload["buffer"] == b"abc\x00"
        assert upload["size"] == 4


async def test_redeploy_frees_the_route():
    f = [
        {"id": "a", "type": "http in", "url": "/r", "method": "get", "wires": [["o"]]},
        {"id": "o", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        assert (await fetch("GET", h.url("/r")))[0] == 200
        await h.redeploy([{"id": "o2", "type": "http response", "wires": []}])
        assert (await fetch("GET", h.url("/r")))[0] == 404
        await h.redeploy(f)
        assert (await fetch("GET", h.url("/r")))[0] == 200


async def test_response_status_headers_cookies_from_node_and_msg():
    f = [
        {"id": "in", "type": "http in", "url": "/s", "method": "get", "wires": [["set"]]},
        {
            "id": "set",
            "type": "test-set",
            "set": {
                "payload": "created",
                "statusCode": 201,
                "headers": {"X-From-Msg": "m", "X-Both": "msg"},
                "cookies": {
                    "plain": "v1",
                    "rich": {"value": "v2", "httpOnly": True, "maxAge": 60000},
                    "gone": None,
                },
            },
            "wires": [["out"]],
        },
        {"id": "out", "type": "http response", "headers": {"X-Both": "node"}, "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        async with aiohttp.ClientSession() as s:
            async with s.get(h.url("/s")) as r:
                assert r.status == 201
                assert r.headers["X-From-Msg"] == "m"
                assert r.headers["X-Both"] == "node"
                cookies = r.headers.getall("Set-Cookie")
                assert any(c.startswith("plain=v1") for c in cookies)
                rich = next(c for c in cookies if c.startswith("rich="))
                assert "HttpOnly" in rich and "Max-Age=60" in rich
                assert any(c.startswith("gone=") and "1970" in c for c in cookies)
                assert await r.text() == "created"


async def test_node_status_code_wins_and_bytes_payload():
    f = [
        {"id": "in", "type": "http in", "url": "/bytes", "method": "get", "wires": [["set"]]},
        {
            "id": "set",
            "type": "test-set",
            "set": {"payload": b"\x01\x02", "statusCode": 500},
            "wires": [["out"]],
        },
        {"id": "out", "type": "http response", "statusCode": "202", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        status, headers, body = await fetch("GET", h.url("/bytes"))
        assert status == 202
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Length"] == "2"
        assert body == b"\x01\x02"


async def test_live_response_streaming_writes():
    f = [
        {"id": "in", "type": "http in", "url": "/live", "method": "get", "wires": [["live"]]},
        {"id": "live", "type": "test-live", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        status, headers, body = await fetch("GET", h.url("/live"))
        assert status == 200
        assert headers["Content-Type"] == "text/plain"
        assert headers["Transfer-Encoding"] == "chunked"
        assert "Server" not in headers
        assert body == b"one,two,three"


async def test_responding_twice_is_a_node_error_and_gone_client_a_warning():
    f = [
        {"id": "in", "type": "http in", "url": "/twice", "method": "get", "wires": [["p"]]},
        {"id": "p", "type": "helper"},
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        task = asyncio.create_task(fetch("GET", h.url("/twice")))
        msg = await h.node("p").next_input()
        h.node("out").receive({"payload": "a", "res": msg["res"]})
        assert (await task)[2] == b"a"
        h.node("out").receive({"payload": "b", "res": msg["res"]})
        err, _ = await h.node("out").next_error()
        assert "already sent" in str(err)

        # a client that goes away before the answer
        async with aiohttp.ClientSession() as s:
            req = asyncio.create_task(s.get(h.url("/twice")))
            msg = await h.node("p").next_input()
            req.cancel()
        res = msg["res"]["_res"]
        closed = asyncio.Event()
        res.on("close", closed.set)
        await asyncio.wait_for(closed.wait(), 5)
        h.node("out").receive({"payload": "late", "res": msg["res"]})
        record = await h.node("out").next_log("warn")
        assert "closed the connection" in str(record.text)


async def test_cors_setting_and_preflight():
    f = [
        {"id": "in", "type": "http in", "url": "/c", "method": "post", "wires": [["out"]]},
        {"id": "out", "type": "http response", "wires": []},
    ]
    cors = {"origin": "*", "methods": "GET,PUT,POST,DELETE"}
    async with FlowTestHarness(f, settings={"httpNodeCors": cors}) as h:
        status, headers, _ = await fetch(
            "OPTIONS",
            h.url("/c"),
            headers={
                "Origin": "http://x.test",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert status == 204
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert headers["Access-Control-Allow-Methods"] == "GET,PUT,POST,DELETE"
        assert headers["Access-Control-Allow-Headers"] == "content-type"
        status, headers, _ = await fetch(
            "POST", h.url("/c"), json={"a": 1}, headers={"Origin": "http://x.test"}
        )
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == "*"
    async with FlowTestHarness(f) as h:
        status, headers, _ = await fetch("OPTIONS", h.url("/c"))
        assert status == 404
        assert "Access-Control-Allow-Origin" not in headers


async def test_head_on_get_route_has_no_body():
    f = [
        {"id": "in", "type": "http in", "url": "/h", "method": "get", "wires": [["set"]]},
        {"id": "set", "type": "test-set", "set": {"payload": "hello"}, "wires": [["out"]]},
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        status, headers, body = await fetch("HEAD", h.url("/h"))
        assert status == 200
        assert body == b""
        assert headers["Content-Length"] == "5"


# ----- http request (cases after Node-RED's 21-httprequest_spec.js) ----------------------------


def _server_nodes():
    """http in endpoints on the harness server for the http request node to call."""
    return [
        {"id": "s-text", "type": "http in", "url": "/text", "method": "get", "wires": [["s-text-set"]]},
        {"id": "s-text-set", "type": "test-set", "set": {"payload": "hello"}, "wires": [["s-out"]]},
        {"id": "s-json", "type": "http in", "url": "/json", "method": "get", "wires": [["s-json-set"]]},
        {"id": "s-json-set", "type": "test-set", "set": {"payload": {"a": 1}}, "wires": [["s-out"]]},
        {"id": "s-echo", "type": "http in", "url": "/echo", "method": "post", "wires": [["s-echo-fn"]]},
        {"id": "s-echo-q", "type": "http in", "url": "/echoq", "method": "get", "wires": [["s-echo-fn"]]},
        {"id": "s-echo-fn", "type": "test-echo", "wires": [["s-out"]]},
        {"id": "s-redir", "type": "http in", "url": "/redirect", "method": "get", "wires": [["s-redir-set"]]},
        {
            "id": "s-redir-set",
            "type": "test-set",
            "set": {"statusCode": 302, "headers": {"Location": "/text"}, "payload": ""},
            "wires": [["s-out"]],
        },
        {"id": "s-slow", "type": "http in", "url": "/slow", "method": "get", "wires": [[]]},
        {"id": "s-out", "type": "http response", "wires": []},
        {"id": "req", "type": "http request", "method": "GET", "ret": "txt", "url": "", "wires": [["res"]]},
        {"id": "res", "type": "helper"},
        {"id": "catch", "type": "catch", "scope": ["req"], "wires": [["caught"]]},
        {"id": "caught", "type": "helper"},
    ]


if registry.get_type("test-echo") is None:

    @register_type("test-echo")
    class _TestEcho(Node):
        """Answers with what the request carried: method, query, body, some headers."""

        def on_input(self, msg, send, done):
            req = msg["req"]
            body = req.body if not isinstance(req.body, bytes) else req.body.decode()
            msg["payload"] = {
                "method": req.method,
                "query": req.query,
                "body": body,
                "ctype": req.headers.get("content-type"),
                "auth": req.headers.get("authorization"),
                "x": req.headers.get("x-test"),
            }
            send(msg)
            done()


def _with(nodes, node_id, **changes):
    out = []
    for n in nodes:
        n = dict(n)
        if n["id"] == node_id:
            n.update(changes)
        out.append(n)
    return out


async def test_request_text_json_and_binary_returns():
    async with FlowTestHarness(_server_nodes()) as h:
        h.node("req").receive({"url": h.url("/text")})
        msg = await h.node("res").next_input()
        assert msg["payload"] == "hello" and msg["statusCode"] == 200
        assert msg["headers"]["content-type"] == "text/html; charset=utf-8"
        assert msg["responseUrl"] == h.url("/text")
    async with FlowTestHarness(_with(_server_nodes(), "req", ret="obj")) as h:
        h.node("req").receive({"url": h.url("/json")})
        assert (await h.node("res").next_input())["payload"] == {"a": 1}
    async with FlowTestHarness(_with(_server_nodes(), "req", ret="bin")) as h:
        h.node("req").receive({"url": h.url("/text")})
        assert (await h.node("res").next_input())["payload"] == b"hello"


async def test_request_mustache_url_method_from_msg_and_json_body():
    async with FlowTestHarness(_server_nodes()) as h:
        port = h.runtime.http.port
        nodes = _with(
            _server_nodes(), "req", url="127.0.0.1:" + str(port) + "/{{{path}}}", method="use", ret="obj"
        )
        await h.redeploy(nodes)
        h.node("req").receive(
            {"path": "echo", "method": "post", "payload": {"n": 1}, "headers": {"X-Test": "yes"}}
        )
        msg = await h.node("res").next_input()
        assert msg["payload"]["method"] == "POST"
        assert msg["payload"]["body"] == {"n": 1}
        assert msg["payload"]["ctype"] == "application/json"
        assert msg["payload"]["x"] == "yes"


async def test_request_payload_to_query_string_and_urlencoded_body():
    async with FlowTestHarness(_with(_server_nodes(), "req", paytoqs="query", ret="obj")) as h:
        h.node("req").receive({"url": h.url("/echoq?x=0"), "payload": {"a": 1, "b": ["c", "d"]}})
        msg = await h.node("res").next_input()
        assert msg["payload"]["query"] == {"x": "0", "a": "1", "b": ["c", "d"]}
    async with FlowTestHarness(_with(_server_nodes(), "req", method="POST", ret="obj")) as h:
        h.node("req").receive(
            {
                "url": h.url("/echo"),
                "payload": {"a": "1 2"},
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            }
        )
        msg = await h.node("res").next_input()
        assert msg["payload"]["body"] == {"a": "1 2"}


async def test_request_basic_and_bearer_auth():
    nodes = _with(
        _server_nodes(),
        "req",
        method="POST",
        ret="obj",
        authType="basic",
        credentials={"user": "u", "password": "p"},
    )
    async with FlowTestHarness(nodes) as h:
        h.node("req").receive({"url": h.url("/echo"), "payload": "x"})
        assert (await h.node("res").next_input())["payload"]["auth"] == "Basic dTpw"
    nodes = _with(
        _server_nodes(), "req", method="POST", ret="obj", authType="bearer", credentials={"password": "tok"}
    )
    async with FlowTestHarness(nodes) as h:
        h.node("req").receive({"url": h.url("/echo"), "payload": "x"})
        assert (await h.node("res").next_input())["payload"]["auth"] == "Bearer tok"


async def test_request_follows_redirects_unless_told_not_to():
    async with FlowTestHarness(_server_nodes()) as h:
        h.node("req").receive({"url": h.url("/redirect")})
        msg = await h.node("res").next_input()
        assert msg["payload"] == "hello"
        assert msg["responseUrl"] == h.url("/text")
        assert msg["redirectList"][0]["location"] == "/text"
        h.node("req").receive({"url": h.url("/redirect"), "followRedirects": False})
        msg = await h.node("res").next_input()
        assert msg["statusCode"] == 302


async def test_request_errors_reach_catch_nodes():
    # As Node-RED: the catch node gets the message as it was when the error was reported; without
    # senderr the node also sends it on with statusCode = the error code.
    async with FlowTestHarness(_server_nodes()) as h:
        h.node("req").receive({"url": h.url("/slow"), "requestTimeout": 200})
        caught = await h.node("caught").next_input()
        assert caught["error"]["message"] == "no response from server"
        assert (await h.node("res").next_input())["statusCode"] == "ETIMEDOUT"
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        h.node("req").receive({"url": f"http://127.0.0.1:{port}/"})
        caught = await h.node("caught").next_input()
        assert caught["error"]["message"] == f"connect ECONNREFUSED 127.0.0.1:{port}"
        assert (await h.node("res").next_input())["statusCode"] == "ECONNREFUSED"
        h.node("req").receive({})
        errors = [str((await h.node("req").next_error())[0]) for _ in range(3)]
        assert "No url specified" in errors[2]
        assert len(h.node("res").received) == 2
