"""The admin API the official editor uses, against a real `flowrt run --editor` process.

Endpoint shapes from Node-RED's @node-red/editor-api (see ../shared/node-red-reference/editor-protocol.md §3-5).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from flowrt.editor.credentials import CredentialStore
from flowrt.testing import FlowProcess

V2 = {"Node-RED-API-Version": "v2", "Accept": "application/json"}
FLOW = [
    {"id": "t1", "type": "tab", "label": "Main"},
    {"id": "in1", "type": "http in", "z": "t1", "url": "/hi", "method": "get", "wires": [["ch1"]]},
    {
        "id": "ch1",
        "type": "change",
        "z": "t1",
        "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "one", "tot": "str"}],
        "wires": [["out1"]],
    },
    {"id": "out1", "type": "http response", "z": "t1", "wires": []},
    {
        "id": "inj",
        "type": "inject",
        "z": "t1",
        "payload": "pressed",
        "payloadType": "str",
        "wires": [["dbg"]],
    },
    {
        "id": "dbg",
        "type": "debug",
        "z": "t1",
        "active": True,
        "tosidebar": True,
        "complete": "payload",
        "wires": [],
    },
]


@pytest.fixture
async def editor(tmp_path: Path, editor_files):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    proc = FlowProcess([flow_file], "--editor", "-u", str(tmp_path / "user"))
    await proc.start(timeout=60, wait_for="Editor at")
    proc.flow_file = flow_file
    async with aiohttp.ClientSession() as session:
        proc.session = session
        yield proc
    await proc.stop()


async def get_json(proc, path: str, headers=V2):
    async with proc.session.get(proc.url(path), headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def deploy(proc, flows, rev=None, headers=None, deployment_type="full"):
    body = {"flows": flows} if rev is None else {"flows": flows, "rev": rev}
    h = {
        **V2,
        "Content-Type": "application/json",
        "Node-RED-Deployment-Type": deployment_type,
        **(headers or {}),
    }
    async with proc.session.post(proc.url("/flows"), data=json.dumps(body), headers=h) as resp:
        return resp.status, await resp.json(content_type=None) if resp.status != 204 else None


async def test_load_sequence_answers_what_the_editor_needs(editor):
    async with editor.session.get(editor.url("/")) as resp:
        assert resp.status == 200 and "red/red.min.js" in await resp.text()
    status, settings = await get_json(editor, "/settings")
    assert status == 200 and settings["version"] == "4.1.15" and settings["telemetryEnabled"] is False
    assert "user" not in settings and settings["context"]["stores"]
    assert (await get_json(editor, "/settings/user"))[1] == {}
    assert (await get_json(editor, "/plugins"))[1] == []
    assert (await get_json(editor, "/plugins/messages?lng=en-US"))[1] == {}
    status, catalogue = await get_json(editor, "/locales/editor?lng=en-US")
    assert status == 200 and "common" in catalogue
    assert (await get_json(editor, "/locales/nonexistent?lng=xx"))[1] == {}
    status, sets = await get_json(editor, "/nodes")
    ids = {s["id"]: s for s in sets}
    assert ids["node-red/inject"]["types"] == ["inject"] and ids["node-red/inject"]["module"] == "node-red"
    assert "python-function" in ids["flowrt/python_function"]["types"]
    status, icons = await get_json(editor, "/icons")
    assert "inject.svg" in icons["node-red"]
    async with editor.session.get(editor.url("/nodes"), headers={"Accept": "text/html"}) as resp:
        html = await resp.text()
    for s in sets:  # the JSON list and the HTML agree: every set has its section
        assert f"[red-module:{s['id']}]" in html
    assert 'data-help-name="inject"' in html  # core help comes from the nodes package's locales
    async with editor.session.get(editor.url("/debug/view/debug-utils.js")) as resp:
        assert resp.status == 200  # referenced by the debug node's HTML: a 404 hangs the editor
    async with editor.session.get(editor.url("/red/red.min.js")) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith(
            ("application/javascript", "text/javascript")
        )
    async with editor.session.get(editor.url("/red/../../templates/index.mst")) as resp:
        assert resp.status == 404


async def test_get_flows_v1_v2_and_bad_version(editor):
    status, body = await get_json(editor, "/flows")
    assert status == 200 and set(body) == {"flows", "rev"} and len(body["rev"]) == 64
    assert [n["id"] for n in body["flows"]] == [n["id"] for n in FLOW]
    status, body = await get_json(editor, "/flows", {"Accept": "application/json"})
    assert isinstance(body, list)
    status, body = await get_json(editor, "/flows", {"Node-RED-API-Version": "v3"})
    assert status == 400 and body["code"] == "invalid_api_version"


async def test_deploy_restarts_flows_writes_file_and_checks_rev(editor):
    _, current = await get_json(editor, "/flows")
    changed = json.loads(json.dumps(current["flows"]))
    next(n for n in changed if n["id"] == "ch1")["rules"][0]["to"] = "two"
    status, body = await deploy(editor, changed, current["rev"])
    assert status == 200 and body["rev"] != current["rev"]
    async with editor.session.get(editor.url("/hi")) as resp:
        assert await resp.text() == "two"
    saved = json.loads(editor.flow_file.read_text())
    assert next(n for n in saved if n["id"] == "ch1")["rules"][0]["to"] == "two"
    assert (editor.flow_file.parent / ".flows.json.backup").exists()
    status, body = await deploy(editor, changed, current["rev"])  # the old rev is stale now
    assert status == 409 and body["code"] == "version_mismatch"
    status, _ = await deploy(editor, changed)  # "Overwrite": no rev
    assert status == 200


async def test_invalid_deploy_is_refused_and_running_flows_stay(editor):
    _, current = await get_json(editor, "/flows")
    broken = current["flows"] + [{"id": "x1", "type": "no such type", "z": "t1", "wires": []}]
    status, body = await deploy(editor, broken, current["rev"])
    assert status == 400 and body["code"] == "invalid_flows" and "x1" in body["message"]
    async with editor.session.get(editor.url("/hi")) as resp:
        assert await resp.text() == "one"
    assert (await get_json(editor, "/flows"))[1]["rev"] == current["rev"]
    h = {**V2, "Content-Type": "text/plain"}
    async with editor.session.post(editor.url("/flows"), data="[]", headers=h) as resp:
        assert resp.status == 415
    async with editor.session.post(
        editor.url("/flows"), data="{not json", headers={**V2, "Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400


async def test_credentials_are_kept_out_of_flows_and_merged(editor):
    _, current = await get_json(editor, "/flows")
    flows = current["flows"] + [
        {
            "id": "req1",
            "type": "http request",
            "z": "t1",
            "method": "GET",
            "url": "http://127.0.0.1:1/",
            "authType": "basic",
            "credentials": {"user": "ann", "password": "secret"},
            "wires": [[]],
        }
    ]
    status, body = await deploy(editor, flows, current["rev"])
    assert status == 200
    _, now = await get_json(editor, "/flows")
    assert all("credentials" not in n for n in now["flows"])
    assert "secret" not in editor.flow_file.read_text()
    cred_file = editor.flow_file.parent / "flows_cred.json"
    assert set(json.loads(cred_file.read_text())) == {"$"}  # encrypted with the generated secret
    store = CredentialStore(cred_file, {"userDir": str(editor.flow_file.parent / "user")})
    assert store.load()["req1"] == {"user": "ann", "password": "secret"}
    assert cred_file.stat().st_mode & 0o077 == 0
    status, creds = await get_json(editor, "/credentials/http-request/req1")
    assert creds.get("has_password") is True
    flows = [dict(n) for n in now["flows"]]
    next(n for n in flows if n["id"] == "req1")["credentials"] = {"password": "__PWRD__", "user": "bob"}
    status, _ = await deploy(editor, flows, now["rev"])
    assert store.load()["req1"] == {"user": "bob", "password": "secret"}


async def comms_frames(ws, wanted, timeout=20.0):
    """Read /comms frames until `wanted(message)` is true for one message; returns it."""

    async def read():
        while True:
            frame = await ws.receive()
            assert frame.type == aiohttp.WSMsgType.TEXT, frame
            data = json.loads(frame.data)
            assert isinstance(data, list)  # Node-RED's frames are always arrays
            for message in data:
                if wanted(message):
                    return message

    return await asyncio.wait_for(read(), timeout)


async def test_comms_replays_retained_and_pushes_debug_from_inject(editor):
    async with editor.session.ws_connect(editor.url("/comms")) as ws:
        await ws.send_str(json.dumps({"subscribe": "notification/#"}))
        state = await comms_frames(ws, lambda m: m["topic"] == "notification/runtime-state")
        assert state["data"]["state"] == "start"
        await ws.send_str(json.dumps({"subscribe": "debug"}))
        async with editor.session.post(editor.url("/inject/inj"), json={}) as resp:
            assert resp.status == 200
        message = await comms_frames(ws, lambda m: m["topic"] == "debug")
        assert message["data"]["id"] == "dbg" and message["data"]["msg"] == "pressed"
        async with editor.session.post(editor.url("/debug/dbg/disable")) as resp:
            assert resp.status == 201
        async with editor.session.post(editor.url("/inject/nope"), json={}) as resp:
            assert resp.status == 404
        _, current = await get_json(editor, "/flows")
        await deploy(editor, current["flows"], current["rev"])
        notice = await comms_frames(ws, lambda m: m["topic"] == "notification/runtime-deploy")
        assert notice["data"]["revision"] == (await get_json(editor, "/flows"))[1]["rev"]


async def test_admin_writes_from_another_origin_are_refused(editor):
    _, current = await get_json(editor, "/flows")
    status, body = await deploy(
        editor, current["flows"], current["rev"], headers={"Origin": "http://evil.example"}
    )
    assert status == 403
    async with editor.session.post(
        editor.url("/inject/inj"), json={}, headers={"Origin": "http://evil.example"}
    ) as resp:
        assert resp.status == 403


async def test_editor_routes_win_over_http_in(tmp_path, editor_files):
    flow_file = tmp_path / "f.json"
    flow_file.write_text(
        json.dumps(
            [
                {"id": "t", "type": "tab"},
                {
                    "id": "h",
                    "type": "http in",
                    "z": "t",
                    "url": "/settings",
                    "method": "get",
                    "wires": [["r"]],
                },
                {"id": "r", "type": "http response", "z": "t", "wires": []},
            ]
        )
    )
    async with FlowProcess([flow_file], "--editor") as proc:
        await proc.wait_for_line("Editor at", 60)
        async with aiohttp.ClientSession() as session:
            async with session.get(proc.url("/settings"), headers=V2) as resp:
                assert "version" in await resp.json()


YAML_FLOW = """\
# hand-written; the editor must keep this comment
flows:
  - id: t1
    label: Main
    nodes:
      - id: in1
        type: http in
        url: /hi            # answered by the change node
        method: get
        wires: [ch1]
      - id: ch1
        type: change
        rules:
          - {t: set, p: payload, pt: msg, to: one, tot: str}
        wires: [out1]
      - id: out1
        type: http response
"""


async def test_yaml_flow_file_keeps_its_comments_and_layout_after_a_deploy(tmp_path, editor_files):
    flow_file = tmp_path / "flows.yaml"
    flow_file.write_text(YAML_FLOW)
    async with FlowProcess([flow_file], "--editor") as proc:
        await proc.wait_for_line("Editor at", 60)
        async with aiohttp.ClientSession() as session:
            proc.session = session
            _, current = await get_json(proc, "/flows")
            assert all("x" in n for n in current["flows"] if n.get("z"))  # laid out for the editor
            flows = json.loads(json.dumps(current["flows"]))
            next(n for n in flows if n["id"] == "ch1")["rules"][0]["to"] = "two"
            status, _ = await deploy(proc, flows, current["rev"])
            assert status == 200
            async with session.get(proc.url("/hi")) as resp:
                assert await resp.text() == "two"
    assert flow_file.read_text() == YAML_FLOW.replace("to: one", "to: two")
