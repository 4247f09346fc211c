"""Node modules are loaded by the composition root, once: `flowrt run` executes a user's
node module one time (the runtime loads no node directory itself)."""

from __future__ import annotations

import json

from flowrt.engine.runtime import Runtime
from flowrt.settings import Settings
from flowrt.testing import FlowProcess

MARKER_MODULE = """
from pathlib import Path

from flowrt import Node, register_type

with open({marker!r}, "a") as marker:
    marker.write("imported\\n")


@register_type("marker-node")
class MarkerNode(Node):
    def on_input(self, msg, send):
        send(msg)
"""


def write_node_dir(tmp_path):
    node_dir = tmp_path / "nodes"
    node_dir.mkdir()
    marker = tmp_path / "imports.txt"
    (node_dir / "marker.py").write_text(MARKER_MODULE.format(marker=str(marker)))
    return node_dir, marker


async def test_flowrt_run_imports_a_user_node_module_once(tmp_path):
    node_dir, marker = write_node_dir(tmp_path)
    flow = tmp_path / "flow.json"
    flow.write_text(
        json.dumps([{"id": "t", "type": "tab"}, {"id": "m", "type": "marker-node", "z": "t", "wires": []}])
    )
    async with FlowProcess([flow], "--nodes", str(node_dir)) as proc:
        assert "marker-node" not in proc.output  # no unknown-type complaint: the type loaded
    assert marker.read_text().splitlines() == ["imported"]


async def test_the_runtime_does_not_load_node_directories(tmp_path):
    node_dir, marker = write_node_dir(tmp_path)
    rt = Runtime(Settings({"userDir": str(tmp_path), "nodesDir": [str(node_dir)], "logLevel": "error"}))
    await rt.start([])
    await rt.close()
    assert not marker.exists()
