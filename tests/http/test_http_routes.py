"""`http in` URL patterns as Express 4 routes them (path-to-regexp 0.1.x, which Node-RED 4.1 and 5.0
both use through Express 4.x): one test per form, `req.params` as Express fills it."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from yarl import URL

from flowrt.http.server import RouteTable, compile_path
from flowrt.testing import FlowTestHarness


async def fetch(url: str, method: str = "GET") -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, URL(url, encoded=True)) as response:
            return response.status, await response.read()


def echo_flow(url: str, method: str = "get") -> list[dict]:
    """An endpoint answering with its req.params (JSON)."""
    return [
        {"id": "in", "type": "http in", "url": url, "method": method, "wires": [["params"]]},
        {
            "id": "params",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "req.params", "tot": "msg"}],
            "wires": [["out"]],
        },
        {"id": "out", "type": "http response", "wires": []},
    ]


# (route, request path, req.params or None for 404); the params are what Express 4 gives.
ROUTE_CASES = [
    ("/users/:id", "/users/42", {"id": "42"}),
    ("/users/:id", "/users/42/", {"id": "42"}),  # one trailing slash is optional
    ("/users/:id", "/USERS/42", {"id": "42"}),  # case-insensitive
    ("/users/:id", "/users", None),
    ("/users/:id", "/users/42/x", None),
    ("/users/:id", "/users/a%20b", {"id": "a b"}),  # params are decoded
    ("/opt/:id?", "/opt", {}),
    ("/opt/:id?", "/opt/7", {"id": "7"}),
    ("/files/(*)", "/files/a/b.txt", {"0": "a/b.txt"}),
    ("/files/*", "/files/a/b.txt", {"0": "a/b.txt"}),
    ("/files/*", "/files/", {"0": ""}),
    ("*", "/any/thing", {"0": "any/thing"}),  # http in makes the url "/*", as Node-RED does
    ("/n/:id(\\d+)", "/n/123", {"id": "123"}),
    ("/n/:id(\\d+)", "/n/abc", None),
    ("/f/:name.:ext", "/f/report.pdf", {"name": "report", "ext": "pdf"}),
    ("/range/:from-:to", "/range/3-9", {"from": "3", "to": "9"}),
    ("/p/:path*", "/p/a/b/c", {"path": "a", "0": "/b/c"}),
    ("/ab?cd", "/acd", {}),
    ("/ab?cd", "/abcd", {}),
    ("/hello", "/hello", {}),
    ("/hello", "/Hello/", {}),
    ("/hello", "/hello//", None),
    ("/hello/", "/hello", {}),
]


@pytest.mark.parametrize(("route", "path", "params"), ROUTE_CASES)
async def test_route_forms_match_as_express(route, path, params):
    async with FlowTestHarness(echo_flow(route)) as h:
        status, body = await fetch(h.url(path))
        if params is None:
            assert status == 404, body
        else:
            assert status == 200, body
            assert __import__("json").loads(body) == params


def test_compiled_patterns_are_those_of_path_to_regexp_0_1():
    # The regex sources path-to-regexp 0.1.12 produces (recorded with node), in Python syntax.
    assert compile_path("/user/:id?")[0].pattern == r"^/user(?:/([^/]+?))?/?\Z"
    assert compile_path("/files/(*)") == (compile_path("/files/(*)")[0], ["0"])
    assert compile_path("/a/:from-:to")[0].pattern == r"^/a(?:/([^/]+?))-(?:((?:(?!/|-).)+?))/?\Z"
    assert compile_path("/p/:path*")[1] == ["path", "0"]


def test_literal_paths_do_not_go_through_patterns():
    table = RouteTable()

    async def handler(request, params):
        return None

    table.add("GET", "/hello", handler, "literal")
    assert table.find("GET", "/HELLO/")[0].owner == "literal"
    assert not table._patterns  # the common case is one dict lookup


def test_first_registered_route_answers_across_literal_and_pattern_routes():
    table = RouteTable()

    async def handler(request, params):
        return None

    table.add("GET", "/items/:id", handler, "pattern first")
    table.add("GET", "/items/new", handler, "literal second")
    table.add("GET", "/other", handler, "literal")
    table.add("GET", "/*", handler, "catch-all last")
    assert table.find("GET", "/items/new")[0].owner == "pattern first"
    assert table.find("GET", "/other")[0].owner == "literal"
    assert table.find("HEAD", "/other")[0].owner == "literal"  # GET routes answer HEAD
    assert table.find("POST", "/other") is None


async def test_malformed_escape_in_a_param_is_400():
    async with FlowTestHarness(echo_flow("/users/:id")) as h:
        status, body = await fetch(h.url("/users/%zz"))
        assert status == 400
        assert b"Failed to decode param" in body


async def test_two_nodes_on_one_route_both_start_first_answers_second_warns():
    f = [
        {"id": "first", "type": "http in", "url": "/dup", "method": "get", "wires": [["a"]]},
        {
            "id": "second",
            "type": "http in",
            "name": "again",
            "url": "/DUP/",
            "method": "get",
            "wires": [["b"]],
        },
        {"id": "third", "type": "http in", "url": "/dup", "method": "post", "wires": [["b"]]},
        {
            "id": "a",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "to": "first", "tot": "str"}],
            "wires": [["out"]],
        },
        {
            "id": "b",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "to": "other", "tot": "str"}],
            "wires": [["out"]],
        },
        {"id": "out", "type": "http response", "wires": []},
    ]
    async with FlowTestHarness(f) as h:
        assert {"first", "second", "third"} <= set(h.runtime.nodes)
        warnings = [r for r in h.logs if r.level == "warn" and "also handled" in str(r.text)]
        assert len(warnings) == 1
        assert "'first'" in str(warnings[0].text)
        assert await fetch(h.url("/dup")) == (200, b"first")
        assert await fetch(h.url("/dup"), "POST") == (200, b"other")
        # Removing the first node lets the second answer (as Express's router after a redeploy).
        await h.redeploy([n for n in f if n["id"] != "first"])
        assert await fetch(h.url("/dup")) == (200, b"other")


async def test_an_invalid_pattern_is_a_node_error():
    f = [{"id": "bad", "type": "http in", "url": "/x/:id([)", "method": "get", "wires": [[]]}]
    async with FlowTestHarness(f) as h:
        errors = [r for r in h.logs if r.level == "error"]
        assert errors and "not a valid route pattern" in str(errors[0].text)
        await asyncio.sleep(0)


def test_validate_warns_about_a_second_node_on_one_route(tmp_path):
    import json
    import subprocess
    import sys

    flow = [
        {"id": "t", "type": "tab"},
        {"id": "first", "type": "http in", "z": "t", "url": "/dup", "method": "get", "wires": [[]]},
        {"id": "second", "type": "http in", "z": "t", "url": "dup/", "method": "get", "wires": [[]]},
        {"id": "other", "type": "http in", "z": "t", "url": "/dup", "method": "post", "wires": [[]]},
    ]
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow))
    done = subprocess.run(
        [sys.executable, "-m", "flowrt", "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "second" in output and "also handled by http in node 'first'" in output
    assert "'other'" not in output


def test_host_allow_list_defaults_and_forms():
    from flowrt.http.server import allowed_hosts_for, host_allowed

    loopback = allowed_hosts_for("127.0.0.1", None)
    for host in ("127.0.0.1:1880", "localhost:1", "LOCALHOST", "[::1]:1880", "localhost", None):
        assert host_allowed(host, loopback), host
    for host in ("evil.example:1880", "127.0.0.1.evil.example", "[::2]:1880", "localhost.evil:1880"):
        assert not host_allowed(host, loopback), host
    assert allowed_hosts_for("0.0.0.0", None) is None  # not a loopback bind: no check by default
    assert allowed_hosts_for("127.0.0.1", False) is None
    mine = allowed_hosts_for("127.0.0.1", ["flows.example", "other.example:8080"])
    assert host_allowed("flows.example:1880", mine) and host_allowed("other.example:8080", mine)
    assert not host_allowed("other.example:9", mine) and not host_allowed("localhost", mine)
    with pytest.raises(ValueError, match="httpAllowedHosts"):
        allowed_hosts_for("127.0.0.1", 5)


@pytest.mark.parametrize(
    ("define", "text"),
    [
        ("httpServerTimeouts=5", "httpServerTimeouts must be an object of milliseconds"),
        ('httpServerTimeouts={"idle": 5}', "unknown timeout 'idle'"),
        ("httpStreamMaxBuffer=lots", "httpStreamMaxBuffer: cannot read 'lots' as a size"),
        ("httpAllowedHosts=5", "httpAllowedHosts must be a list"),
    ],
)
def test_a_bad_http_setting_stops_run_with_one_clear_line(tmp_path, define, text):
    import json
    import subprocess
    import sys

    path = tmp_path / "flow.json"
    path.write_text(
        json.dumps([{"id": "in", "type": "http in", "url": "/x", "method": "get", "wires": [[]]}])
    )
    command = [sys.executable, "-m", "flowrt", "run", str(path), "-p", "0", "-u", str(tmp_path), "-D", define]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert text in done.stderr
    assert "Traceback" not in done.stderr
