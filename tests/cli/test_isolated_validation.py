"""`flowrt run` validates its flows in a forked child (flowrt.cli._validate_in_child), so the
server never imports jsonschema: the problems found are the same as in-process validation's."""

from __future__ import annotations

import json
import subprocess
import sys

FLOW = [
    {"id": "t", "type": "tab", "label": "x"},
    {"id": "a", "type": "change", "z": "t", "rules": "not a list", "wires": [["missing"]]},
    {"id": "b", "type": "no-such-type", "z": "t", "wires": []},
    {"id": "c", "type": "inject", "z": "t", "repeat": "1", "wires": [["a"]]},
]

PROBE = """
import json, sys, threading
from flowrt.cli import _load_and_check
from flowrt.engine.loader import load_builtin_nodes
load_builtin_nodes()
if sys.argv[2] == "thread":
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
_, errors, warnings = _load_and_check([sys.argv[1]], False, isolated=sys.argv[2] != "in-process")
print(json.dumps({"problems": [str(p) for p in errors + warnings], "jsonschema": "jsonschema" in sys.modules}))
"""


def _check(tmp_path, mode: str) -> dict:
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps(FLOW))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(flow), mode], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_child_finds_the_same_problems_and_the_server_never_imports_jsonschema(tmp_path):
    here = _check(tmp_path, "in-process")
    isolated = _check(tmp_path, "isolated")
    assert len(here["problems"]) >= 3  # rules, the unknown type, the missing wire target
    assert isolated["problems"] == here["problems"]
    assert here["jsonschema"] is True and isolated["jsonschema"] is False


def test_with_threads_running_it_validates_in_process(tmp_path):
    threaded = _check(tmp_path, "thread")
    assert threaded["problems"] == _check(tmp_path, "in-process")["problems"]
    assert threaded["jsonschema"] is True
