"""`DELETE /context/...` (the context sidebar's delete), as Node-RED's runtime/lib/api/context.js,
against `flowrt run --editor`."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from flowrt.testing import FlowProcess

V2 = {"Node-RED-API-Version": "v2", "Accept": "application/json"}
FLOW = [
    {"id": "t1", "type": "tab", "label": "Main"},
    {"id": "inj", "type": "inject", "z": "t1", "payload": "x", "payloadType": "str", "wires": [["ch"]]},
    {
        "id": "ch",
        "type": "change",
        "z": "t1",
        "rules": [
            {"t": "set", "p": "kept", "pt": "flow", "to": "1", "tot": "num"},
            {"t": "set", "p": "gone", "pt": "flow", "to": "2", "tot": "num"},
            {"t": "set", "p": "seed", "pt": "global", "to": '{"a": 1, "b": 2}', "tot": "json"},
            {"t": "set", "p": "other", "pt": "global", "to": "3", "tot": "num"},
        ],
        "wires": [[]],
    },
]


@pytest.fixture
async def editor(tmp_path, editor_files):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    proc = FlowProcess([flow_file], "--editor", "-u", str(tmp_path / "user"))
    await proc.start(timeout=60, wait_for="Editor at")
    async with aiohttp.ClientSession() as session:
        proc.session = session
        async with session.post(proc.url("/inject/inj"), json={}) as resp:  # the change node fills them
            assert resp.status == 200
        for _ in range(200):
            if await context_keys(proc, "/context/flow/t1") == ["gone", "kept"]:
                break
            await asyncio.sleep(0.05)
        yield proc
    await proc.stop()


async def context_keys(proc, path: str) -> list[str]:
    async with proc.session.get(proc.url(path), headers=V2) as resp:
        body = await resp.json()
    return sorted(body.get("memory", {}))


async def delete(proc, path: str, headers=None) -> int:
    async with proc.session.delete(proc.url(path), headers=headers) as resp:
        return resp.status


async def test_deletes_a_global_key_and_a_property_of_one(editor):
    assert await context_keys(editor, "/context/global") == ["other", "seed"]
    assert await delete(editor, "/context/global/seed.a") == 204
    async with editor.session.get(editor.url("/context/global"), headers=V2) as resp:
        assert json.loads((await resp.json())["memory"]["seed"]["msg"]) == {"b": 2}
    assert await delete(editor, "/context/global/other?store=memory") == 204
    assert await context_keys(editor, "/context/global") == ["seed"]


async def test_deletes_a_flow_key(editor):
    assert await context_keys(editor, "/context/flow/t1") == ["gone", "kept"]
    assert await delete(editor, "/context/flow/t1/gone") == 204
    assert await context_keys(editor, "/context/flow/t1") == ["kept"]


async def test_unknown_store_node_or_missing_key_is_404(editor):
    assert await delete(editor, "/context/global/seed?store=nowhere") == 404
    assert await delete(editor, "/context/node/no-such-node/k") == 404
    assert await delete(editor, "/context/flow/t1") == 404
    assert await delete(editor, "/context/elsewhere/x/y") == 404
    assert await context_keys(editor, "/context/global") == ["other", "seed"]


async def test_a_delete_from_another_origin_is_refused(editor):
    assert await delete(editor, "/context/global/seed", {"Origin": "http://evil.example"}) == 403
    assert await context_keys(editor, "/context/global") == ["other", "seed"]
