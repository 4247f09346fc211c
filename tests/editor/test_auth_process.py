"""adminAuth end to end: `flowrt run --editor` with users, tokens and a default user, driven with
aiohttp the way the editor (and node-red-admin) does: login, bearer tokens, permissions, /comms."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import yaml

from flowrt.testing import FlowProcess

FRED_HASH = "$2a$08$LpYMefvGZ3MjAfZGzcoyR.1BcfHh4wy4NpbN.cEny5aHnWOqjKOXK"  # "password"
V2 = {"Node-RED-API-Version": "v2", "Accept": "application/json"}
FLOW = [
    {"id": "t1", "type": "tab", "label": "Main"},
    {"id": "inj", "type": "inject", "z": "t1", "payload": "x", "payloadType": "str", "wires": [[]]},
]
USERS = [
    {"username": "admin", "password": FRED_HASH, "permissions": "*"},
    {"username": "viewer", "password": FRED_HASH, "permissions": "read"},
]


async def start(tmp_path: Path, admin_auth: dict, sessions: dict | None = None, **more) -> FlowProcess:
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    user_dir = tmp_path / "user"
    user_dir.mkdir(exist_ok=True)
    if sessions is not None:
        (user_dir / ".sessions.json").write_text(json.dumps(sessions))
    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"adminAuth": admin_auth, **more}))
    proc = FlowProcess([flow_file], "--editor", "-s", str(settings), "-u", str(user_dir))
    await proc.start(timeout=60, wait_for="Editor at")
    proc.user_dir = user_dir
    return proc


@pytest.fixture
async def editor(tmp_path, editor_files):
    proc = await start(tmp_path, {"type": "credentials", "users": USERS})
    async with aiohttp.ClientSession() as session:
        proc.session = session
        yield proc
    await proc.stop()


async def token_for(proc, username: str, password: str = "password") -> str:
    form = {
        "client_id": "node-red-editor",
        "grant_type": "password",
        "scope": "",
        "username": username,
        "password": password,
    }
    async with proc.session.post(proc.url("/auth/token"), data=form) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["access_token"]


def bearer(token: str) -> dict:
    return {**V2, "Authorization": f"Bearer {token}"}


async def status_of(proc, method: str, path: str, headers=None, **kwargs) -> int:
    async with proc.session.request(method, proc.url(path), headers=headers or V2, **kwargs) as resp:
        return resp.status


async def test_the_editor_page_is_public_and_the_api_needs_a_login(editor):
    assert await status_of(editor, "GET", "/") == 200
    assert await status_of(editor, "GET", "/red/red.min.js") == 200
    async with editor.session.get(editor.url("/auth/login")) as resp:
        assert (await resp.json())["type"] == "credentials"
    for path in ("/settings", "/flows", "/nodes", "/icons", "/context/global", "/library/local/flows/"):
        assert await status_of(editor, "GET", path) == 401, path


async def test_a_login_gives_a_token_and_settings_name_the_user(editor):
    token = await token_for(editor, "admin")
    async with editor.session.get(editor.url("/settings"), headers=bearer(token)) as resp:
        assert resp.status == 200
        assert (await resp.json())["user"] == {"username": "admin", "permissions": "*"}
    async with editor.session.get(editor.url("/flows"), headers=bearer(token)) as resp:
        body = await resp.json()
    deploy = {**bearer(token), "Content-Type": "application/json"}
    async with editor.session.post(editor.url("/flows"), data=json.dumps(body), headers=deploy) as resp:
        assert resp.status == 200
    sessions = json.loads((editor.user_dir / ".sessions.json").read_text())
    assert sessions[token]["user"] == "admin" and sessions[token]["client"] == "node-red-editor"


async def test_a_wrong_password_is_refused(editor):
    form = {"client_id": "node-red-editor", "grant_type": "password", "scope": "", "username": "admin"}
    async with editor.session.post(editor.url("/auth/token"), data={**form, "password": "nope"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"] == "invalid_grant"


async def test_a_read_user_reads_but_cannot_change_anything(editor):
    token = await token_for(editor, "viewer")
    assert await status_of(editor, "GET", "/flows", bearer(token)) == 200
    assert await status_of(editor, "GET", "/settings", bearer(token)) == 200
    write = {**bearer(token), "Content-Type": "application/json"}
    assert await status_of(editor, "POST", "/flows", write, data=json.dumps({"flows": FLOW})) == 401
    assert await status_of(editor, "POST", "/inject/inj", write, data="{}") == 401
    assert await status_of(editor, "POST", "/library/local/flows/x", write, data="[]") == 401
    assert await status_of(editor, "DELETE", "/context/global/k", write) == 401


async def test_revoke_ends_the_session(editor):
    token = await token_for(editor, "admin")
    async with editor.session.post(
        editor.url("/auth/revoke"), data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200
    assert await status_of(editor, "GET", "/flows", bearer(token)) == 401


async def comms_first(ws) -> object:
    frame = await asyncio.wait_for(ws.receive(), 20)
    return json.loads(frame.data) if frame.type == aiohttp.WSMsgType.TEXT else frame.type


async def test_comms_authenticates_with_the_token(editor):
    token = await token_for(editor, "viewer")  # read includes status.read
    async with editor.session.ws_connect(editor.url("/comms")) as ws:
        await ws.send_str(json.dumps({"auth": token}))
        assert await comms_first(ws) == {"auth": "ok"}
        await ws.send_str(json.dumps({"subscribe": "notification/#"}))
        frame = await comms_first(ws)
        assert any(m["topic"] == "notification/runtime-state" for m in frame)


@pytest.mark.parametrize("first", [{"auth": "not-a-token"}, {"subscribe": "notification/#"}])
async def test_comms_without_a_valid_token_fails_and_closes(editor, first):
    async with editor.session.ws_connect(editor.url("/comms")) as ws:
        await ws.send_str(json.dumps(first))
        assert await comms_first(ws) == {"auth": "fail"}
        assert await comms_first(ws) in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_comms_of_an_ended_login_gets_auth_fail_and_is_closed(tmp_path, editor_files):
    proc = await start(tmp_path, {"type": "credentials", "users": USERS}, webSocketKeepAliveTime=100)
    try:
        async with aiohttp.ClientSession() as session:
            proc.session = session
            token = await token_for(proc, "admin")
            async with session.ws_connect(proc.url("/comms")) as ws:
                await ws.send_str(json.dumps({"auth": token}))
                assert await comms_first(ws) == {"auth": "ok"}
                async with session.post(
                    proc.url("/auth/revoke"),
                    data={"token": token},
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    assert resp.status == 200
                frame = await comms_first(ws)
                while isinstance(frame, list):  # heartbeats sent before the revoke was seen
                    frame = await comms_first(ws)
                assert frame == {"auth": "fail"}
                assert await comms_first(ws) in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    finally:
        await proc.stop()


async def test_sessions_outlive_a_restart_and_expired_ones_do_not(tmp_path, editor_files):
    sessions = {
        "still-good": {"user": "admin", "client": "node-red-editor", "scope": "*", "expires": 4102444800000},
        "expired": {"user": "admin", "client": "node-red-editor", "scope": "*", "expires": 1000},
    }
    proc = await start(tmp_path, {"type": "credentials", "users": USERS}, sessions)
    try:
        async with aiohttp.ClientSession() as session:
            proc.session = session
            assert await status_of(proc, "GET", "/flows", bearer("still-good")) == 200
            assert await status_of(proc, "GET", "/flows", bearer("expired")) == 401
    finally:
        await proc.stop()
    assert "expired" not in json.loads((proc.user_dir / ".sessions.json").read_text())


async def test_default_user_and_api_tokens(tmp_path, editor_files):
    admin_auth = {
        "type": "credentials",
        "users": USERS,
        "default": {"permissions": "read"},
        "tokens": [{"token": "api-token-1", "user": "admin", "scope": "*"}],
    }
    proc = await start(tmp_path, admin_auth)
    try:
        async with aiohttp.ClientSession() as session:
            proc.session = session
            async with session.get(proc.url("/settings"), headers=V2) as resp:
                assert (await resp.json())["user"] == {"anonymous": True, "permissions": "read"}
            assert await status_of(proc, "GET", "/flows") == 200
            write = {**V2, "Content-Type": "application/json"}
            assert await status_of(proc, "POST", "/flows", write, data=json.dumps({"flows": FLOW})) == 401
            api = {**bearer("api-token-1"), "Content-Type": "application/json"}
            assert await status_of(proc, "POST", "/flows", api, data=json.dumps({"flows": FLOW})) == 200
            async with session.ws_connect(proc.url("/comms")) as ws:  # anonymous comms: no ack
                await ws.send_str(json.dumps({"subscribe": "notification/#"}))
                frame = await comms_first(ws)
                assert isinstance(frame, list)
    finally:
        await proc.stop()


async def test_bad_admin_auth_settings_stop_the_start_naming_the_user(tmp_path, editor_files):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    settings = tmp_path / "settings.yaml"
    bad = {"type": "credentials", "users": [{"username": "ann", "password": "secret", "permissions": "*"}]}
    settings.write_text(yaml.safe_dump({"adminAuth": bad}))
    proc = FlowProcess([flow_file], "--editor", "-s", str(settings), "-u", str(tmp_path / "u"))
    with pytest.raises(AssertionError, match="exited"):
        await proc.start(timeout=60, wait_for="Editor at")
    await proc.stop()
    assert "adminAuth.users[0] (ann): password must be a bcrypt hash" in proc.output
