"""Every shape Node-RED's editor exports loads, validates (exit 0) and runs as a real process.

The shapes: the full flat array (tab included), an export of selected nodes and a clipboard
copy (flat arrays whose nodes name a tab the file does not contain, with their config nodes,
groups and a subflow), ``{"flows": [...], "rev": ...}`` and the single-tab object of the
``/flow`` API. Node-RED's runtime creates a tab for nodes whose ``z`` names none
(``parseConfig``); flowrt does too, with a note.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from flowrt.formats.document import load_deployment
from flowrt.testing import FlowProcess

REPO = Path(__file__).resolve().parents[2]
TAB_ID = "f1a2b3c4d5e6f708"
SUBFLOW_ID = "5f1b0c0de5f1b0c0"


def flow_nodes(url: str, who: bool, via_subflow: bool = False) -> list[dict]:
    """What the editor writes for an http in -> change -> http response group.

    The change node reads GREETING from the group's env and, with `who`, WHO from the global
    config node's env."""
    rules = [{"t": "set", "p": "payload", "pt": "msg", "to": "${GREETING}", "tot": "str"}]
    if who:
        rules.append(
            {"t": "set", "p": "payload", "pt": "msg", "to": 'payload & " " & $env("WHO")', "tot": "jsonata"}
        )
    reply_to = "sfi1" if via_subflow else "out1"
    nodes = [
        {
            "id": "grp1",
            "type": "group",
            "z": TAB_ID,
            "name": "reply",
            "style": {"label": True},
            "nodes": ["in1", "set1", "out1"] + (["sfi1"] if via_subflow else []),
            "env": [{"name": "GREETING", "value": "hello", "type": "str"}],
            "x": 14,
            "y": 19,
            "w": 612,
            "h": 82,
        },
        {
            "id": "in1",
            "type": "http in",
            "z": TAB_ID,
            "g": "grp1",
            "name": "",
            "url": url,
            "method": "get",
            "upload": False,
            "swaggerDoc": "",
            "x": 110,
            "y": 60,
            "wires": [["set1"]],
        },
        {
            "id": "set1",
            "type": "change",
            "z": TAB_ID,
            "g": "grp1",
            "name": "",
            "rules": rules,
            "action": "",
            "property": "",
            "from": "",
            "to": "",
            "reg": False,
            "x": 290,
            "y": 60,
            "wires": [[reply_to]],
        },
        {
            "id": "out1",
            "type": "http response",
            "z": TAB_ID,
            "g": "grp1",
            "name": "",
            "statusCode": "",
            "headers": {},
            "x": 550,
            "y": 60,
            "wires": [],
        },
    ]
    if via_subflow:
        nodes += [
            {
                "id": "sfi1",
                "type": f"subflow:{SUBFLOW_ID}",
                "z": TAB_ID,
                "g": "grp1",
                "name": "",
                "x": 420,
                "y": 60,
                "wires": [["out1"]],
            },
            {
                "id": SUBFLOW_ID,
                "type": "subflow",
                "name": "shout",
                "info": "",
                "category": "",
                "in": [{"x": 40, "y": 40, "wires": [{"id": "bang"}]}],
                "out": [{"x": 300, "y": 40, "wires": [{"id": "bang", "port": 0}]}],
                "env": [],
                "meta": {},
                "color": "#DDAA99",
            },
            {
                "id": "bang",
                "type": "change",
                "z": SUBFLOW_ID,
                "name": "",
                "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": 'payload & "!"', "tot": "jsonata"}],
                "x": 170,
                "y": 40,
                "wires": [[]],
            },
        ]
    return nodes


TAB = {"id": TAB_ID, "type": "tab", "label": "Flow 1", "disabled": False, "info": "", "env": []}
GLOBAL_CONFIG = {
    "id": "9d3c0ffee0ddba11",
    "type": "global-config",
    "env": [{"name": "WHO", "value": "world", "type": "str"}],
    "modules": {},
}


def full_export(url: str) -> list:
    return [TAB, *flow_nodes(url, True), GLOBAL_CONFIG]


def selection_export(url: str) -> list:
    return [*flow_nodes(url, True), GLOBAL_CONFIG]


def clipboard_copy(url: str) -> list:
    return [*flow_nodes(url, True, via_subflow=True), GLOBAL_CONFIG]


def flows_and_rev(url: str) -> dict:
    return {"flows": full_export(url), "rev": "3b2c4f0a9e8d7c6b5a4f3e2d1c0b9a87"}


def single_tab(url: str) -> dict:
    nodes = flow_nodes(url, False)
    return {**TAB, "nodes": nodes, "configs": [], "subflows": []}


SHAPES = {
    "full": (full_export, "hello world", False),
    "selection": (selection_export, "hello world", True),
    "clipboard": (clipboard_copy, "hello world!", True),
    "flows-rev": (flows_and_rev, "hello world", False),
    "single-tab": (single_tab, "hello", False),
}


def write_shape(tmp_path: Path, shape: str) -> Path:
    build = SHAPES[shape][0]
    path = tmp_path / f"{shape}.json"
    path.write_text(json.dumps(build(f"/export-{shape}"), indent=4))
    return path


@pytest.mark.parametrize("shape", SHAPES)
def test_validate_exits_0(tmp_path, shape):
    path = write_shape(tmp_path, shape)
    result = subprocess.run(
        [sys.executable, "-m", "flowrt", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    tab_made = SHAPES[shape][2]
    assert (f"the flow has no tab {TAB_ID!r}" in result.stderr) is tab_made, result.stderr
    assert "error" not in result.stderr, result.stderr


@pytest.mark.parametrize("shape", SHAPES)
def test_the_loaded_deployment_has_the_tab(tmp_path, shape):
    deployment = load_deployment([write_shape(tmp_path, shape)])
    tabs = [n for n in deployment.nodes if n.get("type") == "tab"]
    assert [t["id"] for t in tabs] == [TAB_ID]
    assert len(deployment.node_files) == len(deployment.nodes)
    assert [p.severity for p in deployment.notes] == (["note"] if SHAPES[shape][2] else [])


@pytest.mark.parametrize("shape", SHAPES)
async def test_runs_as_a_process(tmp_path, shape):
    path = write_shape(tmp_path, shape)
    expected = SHAPES[shape][1]
    async with FlowProcess([path]) as proc, aiohttp.ClientSession() as session:
        async with session.get(proc.url(f"/export-{shape}")) as response:
            assert response.status == 200, proc.output
            assert await response.text() == expected
    assert "Traceback" not in proc.output


def test_convert_keeps_a_selection_tab_less(tmp_path):
    """`flowrt convert` writes what the file holds: no invented tab (Node-RED's export has none)."""
    source = write_shape(tmp_path, "selection")
    as_yaml, back = tmp_path / "sel.yaml", tmp_path / "back.json"
    for src, dst in ((source, as_yaml), (as_yaml, back)):
        result = subprocess.run(
            [sys.executable, "-m", "flowrt", "convert", str(src), str(dst)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    restored = {n["id"]: n for n in json.loads(back.read_text())}
    assert restored == {n["id"]: n for n in json.loads(source.read_text())}
    assert "type: tab" not in as_yaml.read_text()
