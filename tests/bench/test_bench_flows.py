"""bench/scenarios_flows.py (issue 19's scenarios): its flows are current and valid, the settings
a scenario needs reach both runtimes, and one scenario measures something in quick mode.

No timing assertions: only that numbers were produced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import nodered  # noqa: E402
import scenarios  # noqa: E402
import scenarios_flows  # noqa: E402


def test_flow_files_are_current(tmp_path, monkeypatch):
    committed = {p.name: p.read_text() for p in scenarios.OWN_FLOWS.glob("f_*.json")}
    monkeypatch.setattr(scenarios_flows, "OWN_FLOWS", tmp_path)
    written = scenarios_flows.generate_flows()
    assert {p.name for p in written} == set(committed)
    for path in written:
        assert committed[path.name] == path.read_text(), (
            f"run: python bench/scenarios_flows.py gen-flows ({path.name})"
        )


def test_every_flow_is_valid_for_flowrt():
    flows = sorted({str(s.flowrt_flow) for s in scenarios_flows.SCENARIOS})
    result = subprocess.run(
        [sys.executable, "-m", "flowrt", "validate", *flows], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "0 warning(s)" in result.stdout


def test_the_large_flow_has_5000_nodes_in_one_loop():
    nodes = [n for n in scenarios_flows.flow_large() if n["type"] != "tab"]
    assert len(nodes) == 5000
    by_id = {n["id"]: n for n in nodes}
    seen, node = set(), by_id["fl00_count"]
    while node["id"] not in seen:  # follow first wires and links until the loop closes
        seen.add(node["id"])
        following = node.get("links") if node["type"] == "link out" else node["wires"][0]
        node = by_id[following[0]]
    assert node["id"] == "fl00_count" and len(seen) == 4999  # every node but the starter


def test_settings_reach_both_runtimes(tmp_path):
    store = scenarios_flows.FILE_STORE
    ours = nodered.flowrt_server(tmp_path / "flow.json", port=1234, settings=store)
    theirs = nodered.nodered_server(tmp_path / "red.js", [], port=1235, settings=store)
    try:
        path = Path(ours.argv[ours.argv.index("-s") + 1])
        assert json.loads(path.read_text()) == store
        settings_js = Path(theirs.argv[theirs.argv.index("--settings") + 1]).read_text()
        assert f"contextStorage: {json.dumps(store['contextStorage'])}," in settings_js
    finally:
        ours.cleanup()
        theirs.cleanup()


def test_quick_mode_measures_the_file_context_scenario(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, str(BENCH / "run.py"), "--quick", "--only", "context-file", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    report = {s["name"]: s for s in json.loads(out.read_text())["scenarios"]}["context-file"]
    assert report["status"] == "ok", report
    assert report["flowrt"] > 0 and report["median"]["flowrt"]["items_s"] > 0
