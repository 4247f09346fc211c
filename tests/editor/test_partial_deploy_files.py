"""Partial deploys write the whole configuration back to the flow files, as full ones do: a YAML
file keeps its comments and layout and changes only where the editor changed something."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from flowrt.testing import FlowProcess

V2 = {"Node-RED-API-Version": "v2", "Accept": "application/json"}

YAML_FLOW = """\
# hand-written; partial deploys must keep this comment
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


async def change_and_deploy(session, proc, deploy_type: str, node_id: str, edit) -> None:
    async with session.get(proc.url("/flows"), headers=V2) as resp:
        current = await resp.json()
    flows = json.loads(json.dumps(current["flows"]))
    edit(next(n for n in flows if n["id"] == node_id))
    headers = {**V2, "Content-Type": "application/json", "Node-RED-Deployment-Type": deploy_type}
    body = json.dumps({"flows": flows, "rev": current["rev"]})
    async with session.post(proc.url("/flows"), data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def test_yaml_file_after_nodes_and_flows_deploys(tmp_path: Path, editor_files):
    flow_file = tmp_path / "flows.yaml"
    flow_file.write_text(YAML_FLOW)
    async with FlowProcess([flow_file], "--editor") as proc:
        await proc.wait_for_line("Editor at", 60)
        async with aiohttp.ClientSession() as session:

            def set_two(node):
                node["rules"][0]["to"] = "two"

            await change_and_deploy(session, proc, "nodes", "ch1", set_two)
            assert flow_file.read_text() == YAML_FLOW.replace("to: one", "to: two")

            def set_three(node):
                node["rules"][0]["to"] = "three"

            await change_and_deploy(session, proc, "flows", "ch1", set_three)
            async with session.get(proc.url("/hi")) as resp:
                assert await resp.text() == "three"
    assert flow_file.read_text() == YAML_FLOW.replace("to: one", "to: three")


async def test_json_file_after_a_nodes_deploy(tmp_path: Path, editor_files):
    flow_file = tmp_path / "flows.json"
    flows = [
        {"id": "t1", "type": "tab", "label": "Main"},
        {"id": "in1", "type": "http in", "z": "t1", "url": "/hi", "method": "get", "wires": [["ch1"]]},
        {
            "id": "ch1",
            "type": "change",
            "z": "t1",
            "wires": [["out1"]],
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "one", "tot": "str"}],
        },
        {"id": "out1", "type": "http response", "z": "t1", "wires": []},
    ]
    flow_file.write_text(json.dumps(flows))
    async with FlowProcess([flow_file], "--editor") as proc:
        await proc.wait_for_line("Editor at", 60)
        async with aiohttp.ClientSession() as session:

            def set_two(node):
                node["rules"][0]["to"] = "two"

            await change_and_deploy(session, proc, "nodes", "ch1", set_two)
            async with session.get(proc.url("/hi")) as resp:
                assert await resp.text() == "two"
    saved = json.loads(flow_file.read_text())
    assert [n["id"] for n in saved] == ["t1", "in1", "ch1", "out1"]
    assert saved[2]["rules"][0]["to"] == "two"
    assert {k: v for k, v in saved[1].items() if k not in ("x", "y")} == flows[1]
    assert json.loads((tmp_path / ".flows.json.backup").read_text())[2]["rules"][0]["to"] == "one"


async def test_a_deploy_body_larger_than_one_read_is_read_whole(tmp_path: Path, editor_files):
    """A 1,000-node flow is a few hundred kB: the body arrives in several chunks (a single
    read() of the request stream returned the first of them: 400 "not JSON")."""
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps([{"id": "t1", "type": "tab", "label": "Main"}]))
    big = [{"id": "t1", "type": "tab", "label": "Main"}] + [
        {
            "id": f"c{i}",
            "type": "comment",
            "z": "t1",
            "name": "x" * 300,
            "info": "",
            "x": 10,
            "y": 10,
            "wires": [],
        }
        for i in range(1000)
    ]
    async with FlowProcess([flow_file], "--editor") as proc:
        await proc.wait_for_line("Editor at", 60)
        async with aiohttp.ClientSession() as session:
            headers = {**V2, "Content-Type": "application/json", "Node-RED-Deployment-Type": "full"}
            body = json.dumps({"flows": big})
            assert len(body) > 300_000
            async with session.post(proc.url("/flows"), data=body, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
    assert len(json.loads(flow_file.read_text())) == 1001
