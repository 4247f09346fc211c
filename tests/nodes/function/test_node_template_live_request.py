"""template and switch read fields of the live request (msg.req): Node-RED's own HTTP examples
(@node-red/nodes examples/network/http 02-04) render "Hello Nick!" from req.query / req.params /
req.headers. Run end to end: `flowrt run` as a real process, an aiohttp client."""

from __future__ import annotations

import json

import aiohttp
import pytest

from flowrt.lang.mustache import render
from flowrt.testing import FlowProcess, FlowTestHarness


class LiveRequest:
    """An object with fields (not a dict), as the http in node's msg.req is."""

    def __init__(self) -> None:
        self.method = "GET"
        self.params = {"name": "Nick"}
        self._secret = "hidden"

    @property
    def headers(self) -> dict:
        return {"host": "example.org", "user-agent": "pytest"}

    def get(self, name: str) -> str:
        return "never rendered"


def test_mustache_reads_fields_of_objects():
    msg = {"req": LiveRequest()}
    assert render("Hello {{req.params.name}}! {{req.headers.host}} {{req.method}}", msg) == (
        "Hello Nick! example.org GET"
    )
    assert render("[{{req._secret}}][{{req.get}}][{{req.nothing}}]", msg) == "[][][]"
    assert render("{{#req}}{{method}} {{params.name}}{{/req}}", msg) == "GET Nick"
    assert render("{{#req.headers}}{{host}}{{/req.headers}}", msg) == "example.org"


async def test_switch_reads_a_field_of_a_live_request():
    flow = [
        {
            "id": "s1",
            "type": "switch",
            "property": "req.method",
            "rules": [{"t": "eq", "v": "GET", "vt": "str"}, {"t": "else"}],
            "checkall": "true",
            "outputs": 2,
            "wires": [["get"], ["other"]],
        },
        {"id": "get", "type": "helper"},
        {"id": "other", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("s1").receive({"req": LiveRequest(), "payload": 1})
        msg = await h.node("get").next_input()
        assert msg["payload"] == 1


def _endpoint(n: str, url: str, template: str) -> list[dict]:
    return [
        {"id": f"in{n}", "type": "http in", "z": "tab", "url": url, "method": "get", "wires": [[f"tpl{n}"]]},
        {
            "id": f"tpl{n}",
            "type": "template",
            "z": "tab",
            "field": "payload",
            "fieldType": "msg",
            "format": "html",
            "syntax": "mustache",
            "template": template,
            "output": "str",
            "wires": [[f"out{n}"]],
        },
        {"id": f"out{n}", "type": "http response", "z": "tab", "statusCode": "", "headers": {}, "wires": []},
    ]


@pytest.fixture
async def http_examples(tmp_path):
    nodes = [{"id": "tab", "type": "tab", "label": "HTTP examples"}]
    nodes += _endpoint("1", "/hello-query", "<h1>Hello {{req.query.name}}!</h1>")
    nodes += _endpoint("2", "/hello-param/:name", "<h1>Hello {{req.params.name}}!</h1>")
    nodes += _endpoint("3", "/hello-headers", "<h1>User agent: {{req.headers.user-agent}}</h1>")
    nodes += _endpoint("4", "/host", "{{req.headers.host}}|{{req.hostname}}|{{req.method}}")
    path = tmp_path / "flows.json"
    path.write_text(json.dumps(nodes))
    async with FlowProcess([path]) as proc:
        yield proc


@pytest.mark.parametrize(
    "path,headers,expected",
    [
        ("/hello-query?name=Nick", {}, "<h1>Hello Nick!</h1>"),
        ("/hello-param/Nick", {}, "<h1>Hello Nick!</h1>"),
        # mustache.js escapes "/" as &#x2F; in {{...}}
        ("/hello-headers", {"User-Agent": "curl/8.5"}, "<h1>User agent: curl&#x2F;8.5</h1>"),
        ("/host", {"Host": "example.org:8080"}, "example.org:8080|example.org|GET"),
        ("/host", {"Host": "[::1]:1880", "X-Forwarded-Host": "proxy.example"}, "[::1]:1880|[::1]|GET"),
    ],
)
async def test_node_red_http_examples_render_request_fields(http_examples, path, headers, expected):
    async with aiohttp.ClientSession() as session:
        async with session.get(http_examples.url(path), headers=headers) as response:
            assert response.status == 200
            assert await response.text() == expected
