"""The `flowrt` command, run as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flowrt.testing import FlowProcess

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
TAB = REPO / "flows" / "mcp-server-tab.json"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowrt", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "validate", "convert", "nodes"):
        assert command in result.stdout


def test_validate_supplied_tab_reports_the_dangling_wire():
    result = run_cli("validate", str(TAB))
    assert "2a76a8cf4603effc" in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    if registry.get_type("function") and registry.get_type("http in"):
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2


def test_validate_malformed_json_names_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[\n  {"id": "a", "type": "tab"},\n  {"id": "b" "type": "inject"}\n]\n')
    result = run_cli("validate", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3:" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_bad_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("flows:\n  - id: t\n    nodes: [\n      - id: x\n")
    result = run_cli("validate", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr


def _unknown_type_flow(tmp_path: Path) -> Path:
    flow = tmp_path / "unknown.json"
    flow.write_text(
        json.dumps(
            [
                {"id": "t1", "type": "tab", "label": "t"},
                {"id": "n1", "type": "no-such-node", "z": "t1", "wires": []},
                {"id": "n2", "type": "no-such-node", "z": "t1", "wires": []},
            ]
        )
    )
    return flow


def test_unknown_types_are_an_error_listing_type_and_node_ids(tmp_path):
    flow = _unknown_type_flow(tmp_path)
    result = run_cli("validate", str(flow))
    assert result.returncode == 2
    assert "no-such-node" in result.stderr
    assert "n1" in result.stderr and "n2" in result.stderr
    assert run_cli("validate", "--allow-unknown", str(flow)).returncode == 0


def test_run_refuses_to_start_with_unknown_types(tmp_path):
    result = run_cli("run", str(_unknown_type_flow(tmp_path)), "-p", "0", "-u", str(tmp_path))
    assert result.returncode == 2
    assert "no-such-node" in result.stderr


def test_duplicate_ids_across_files_are_reported(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps([{"id": "t1", "type": "tab"}, {"id": "x", "type": "comment", "z": "t1"}]))
    b.write_text(json.dumps([{"id": "t2", "type": "tab"}, {"id": "x", "type": "comment", "z": "t2"}]))
    result = run_cli("validate", str(a), str(b))
    assert result.returncode == 2
    assert "'x'" in result.stderr


def test_convert_json_to_yaml_and_back_keeps_nodes(tmp_path):
    source = SHARED / "node-red-reference" / "flows" / "e_semantics.json"
    if not source.exists():
        pytest.skip("../shared/node-red-reference is not beside the repo")
    as_yaml, back = tmp_path / "f.yaml", tmp_path / "f.json"
    assert run_cli("convert", str(source), str(as_yaml)).returncode == 0
    assert run_cli("convert", str(as_yaml), str(back)).returncode == 0
    original = {n["id"]: n for n in json.loads(source.read_text())}
    restored = {n["id"]: n for n in json.loads(back.read_text())}
    assert restored == original


def test_nodes_lists_registered_types():
    result = run_cli("nodes")
    assert result.returncode == 0
    assert "inject" in result.stdout and "debug" in result.stdout


async def test_run_yaml_inject_to_debug_prints_the_message(tmp_path):
    flow = tmp_path / "hello.yaml"
    flow.write_text(
        "flows:\n"
        "  - id: tab1\n"
        "    label: hello\n"
        "    nodes:\n"
        "      - id: go\n"
        "        type: inject\n"
        "        props: [{p: payload, v: hello from yaml, vt: str}]\n"
        "        once: true\n"
        "        onceDelay: 0\n"
        "        wires: [out]\n"
        "      - id: out\n"
        "        type: debug\n"
        "        active: true\n"
        "        tosidebar: true\n"
        "        complete: payload\n"
    )
    proc = FlowProcess([flow])
    await proc.start()
    try:
        await proc.wait_for_line("hello from yaml")
    finally:
        status = await proc.stop(signal.SIGINT)
    assert status == 0, proc.output


COUNTER_NODE = """
from flowrt import Node, register_type


@register_type("persist-counter")
class PersistCounter(Node):
    def setup(self):
        store = self.context().global_
        count = (store.get("count", "file") or 0) + 1
        store.set("count", count, "file")
        self.log(f"count={count}")
"""


async def test_user_node_dir_settings_file_and_file_context_survive_restart(tmp_path):
    node_dir = tmp_path / "my_nodes"
    node_dir.mkdir()
    (node_dir / "counter.py").write_text(COUNTER_NODE)
    settings = tmp_path / "settings.yaml"
    settings.write_text("contextStorage:\n  default: {module: memory}\n  file: {module: localfilesystem}\n")
    flow = tmp_path / "flow.json"
    flow.write_text(
        json.dumps([{"id": "t", "type": "tab"}, {"id": "c", "type": "persist-counter", "z": "t"}])
    )
    user_dir = tmp_path / "user"
    for expected in (1, 2):
        proc = FlowProcess([flow], "--nodes", str(node_dir), "-s", str(settings), "-u", str(user_dir))
        await proc.start()
        try:
            await proc.wait_for_line(f"count={expected}")
        finally:
            status = await proc.stop(signal.SIGTERM)
        assert status == 0, proc.output


async def test_run_with_a_corrupt_context_file_names_it_and_exits_2_without_traceback(tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text("contextStorage:\n  default: {module: localfilesystem}\n")
    user_dir = tmp_path / "user"
    bad = user_dir / "context" / "global" / "global.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"count": 1,')
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps([{"id": "t", "type": "tab"}]))
    result = run_cli("run", str(flow), "-p", "0", "-s", str(settings), "-u", str(user_dir))
    assert result.returncode == 2, result.stderr
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr
