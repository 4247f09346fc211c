"""Warnings for flow endpoints the editor's admin routes shadow (an `http in` on an admin path,
a `websocket-listener` on /comms), at start-up and at deploy."""

from __future__ import annotations

import json

import aiohttp

from flowrt.testing import FlowProcess

V2 = {"Node-RED-API-Version": "v2", "Accept": "application/json"}
FLOW = [
    {"id": "t1", "type": "tab", "label": "Main"},
    {"id": "in1", "type": "http in", "z": "t1", "url": "/flows", "method": "get", "wires": [["out1"]]},
    {"id": "in2", "type": "http in", "z": "t1", "url": "/mine", "method": "get", "wires": [["out1"]]},
    {"id": "out1", "type": "http response", "z": "t1", "wires": []},
    {"id": "wsl", "type": "websocket-listener", "path": "/comms", "wholemsg": "false"},
]


async def test_shadowed_endpoints_are_named_at_start_and_at_deploy(tmp_path, editor_files):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    async with FlowProcess([flow_file], "--editor", "-u", str(tmp_path / "user")) as proc:
        line = await proc.wait_for_line("is answered by the editor's admin API", 60)
        assert "GET /flows" in line and "in1" in line
        line = await proc.wait_for_line("takes the editor's /comms", 10)
        assert "wsl" in line
        assert "/mine" not in proc.output
        flows = [n for n in FLOW if n["id"] != "wsl"] + [
            {
                "id": "in3",
                "type": "http in",
                "z": "t1",
                "url": "/settings",
                "method": "get",
                "wires": [["out1"]],
            }
        ]
        async with aiohttp.ClientSession() as session:
            headers = {**V2, "Content-Type": "application/json"}
            async with session.post(
                proc.url("/flows"), data=json.dumps({"flows": flows}), headers=headers
            ) as resp:
                assert resp.status == 200
        line = await proc.wait_for_line("GET /settings is answered", 20)
        assert "in3" in line
