"""The mcp-server node's `auth` property on the transports: every MCP request passes
flowrt.mcp.auth's check first, the token's claims reach the flow as msg.mcp.auth, and an OAuth
resource server's metadata document is served."""

from __future__ import annotations

import aiohttp
from rawclient import ACCEPT_BOTH, RawSession, initialize

from flowrt.testing import FlowTestHarness

TOKEN = "test-token-0123456789abcdef"


def flow(auth: dict) -> list[dict]:
    return [
        {"id": "t", "type": "tab"},
        {"id": "srv", "type": "mcp-server", "auth": auth},
        {
            "id": "who",
            "type": "mcp-tool",
            "z": "t",
            "name": "whoami",
            "description": "the caller",
            "wires": [["sub"]],
        },
        {
            "id": "sub",
            "type": "change",
            "z": "t",
            "wires": [["answer"]],
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "mcp.auth.sub", "tot": "jsonata"}],
        },
        {"id": "answer", "type": "mcp-response", "z": "t", "wires": []},
    ]


async def test_bearer_tokens_guard_both_transports_and_name_the_caller():
    settings = {"env": {"MCPCORE_TEST_TOKEN": TOKEN}}
    async with FlowTestHarness(flow({"type": "bearer", "tokenEnv": "MCPCORE_TEST_TOKEN"}), settings) as h:
        async with aiohttp.ClientSession() as http:
            async with http.post(h.url("/mcp"), json=initialize(), headers={"Accept": ACCEPT_BOTH}) as r:
                assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
            wrong = {"Accept": ACCEPT_BOTH, "Authorization": "Bearer not-the-token-at-all-0000"}
            async with http.post(h.url("/mcp"), json=initialize(), headers=wrong) as r:
                assert r.status == 401
            async with http.get(h.url("/sse")) as r:
                assert r.status == 401
            authorized = aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"})
        async with authorized:
            s = RawSession(authorized, h.url("/mcp"))
            await s.start()
            reply = await s.call("tools/call", {"name": "whoami", "arguments": {}})
            assert reply["result"]["content"][0]["text"] == "MCPCORE_TEST_TOKEN"


async def test_an_oauth_resource_server_serves_its_metadata_and_challenges():
    auth = {
        "type": "oauth",
        "resource": "http://127.0.0.1/mcp",
        "authorizationServers": ["https://as.example.com"],
        "jwksUrl": "https://as.example.com/jwks",
    }
    async with FlowTestHarness(flow(auth)) as h, aiohttp.ClientSession() as http:
        async with http.get(h.url("/.well-known/oauth-protected-resource/mcp")) as r:
            assert r.status == 200
            document = await r.json()
        assert document["resource"] == "http://127.0.0.1/mcp"
        assert document["authorization_servers"] == ["https://as.example.com"]
        async with http.post(h.url("/mcp"), json=initialize(), headers={"Accept": ACCEPT_BOTH}) as r:
            assert r.status == 401
            assert "resource_metadata=" in r.headers["WWW-Authenticate"]


async def test_a_server_without_auth_needs_no_token():
    async with FlowTestHarness(flow({})) as h, aiohttp.ClientSession() as http:
        async with http.post(h.url("/mcp"), json=initialize(), headers={"Accept": ACCEPT_BOTH}) as r:
            assert r.status == 200
