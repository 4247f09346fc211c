"""`flowrt test`: YAML flow tests run from the command line (flowrt/testing/flowtests.py)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from flowrt.testing.flowtests import partial_mismatch, run_command

ROOT = Path(__file__).resolve().parents[2]

FLOW = [
    {"id": "t", "type": "tab"},
    {"id": "in", "type": "http in", "z": "t", "url": "/fetch", "method": "get", "wires": [["req"]]},
    {
        "id": "req",
        "type": "http request",
        "z": "t",
        "method": "GET",
        "url": "http://example.invalid/",
        "ret": "txt",
        "wires": [["count"]],
    },
    {
        "id": "count",
        "type": "function",
        "z": "t",
        "outputs": 2,
        "func": "const n = (flow.get('n') || 0) + 1; flow.set('n', n); node.status({text: 'seen ' + n});\n"
        "if (msg.payload === 'bad') { node.error('bad payload', msg); return null; }\n"
        "return msg.payload === 'big' ? [null, msg] : [msg, null];",
        "wires": [["out"], ["out"]],
    },
    {"id": "out", "type": "http response", "z": "t", "wires": []},
]


def write(tmp: Path, tests: str, flow=FLOW) -> Path:
    (tmp / "flow.json").write_text(json.dumps(flow))
    path = tmp / "flow.test.yaml"
    path.write_text("flow: flow.json\ntests:\n" + tests)
    return path


def run(*args, **kwargs) -> tuple[int, str]:
    out = io.StringIO()
    status = run_command([str(a) for a in args], out=out, **kwargs)
    return status, out.getvalue()


MOCKED = """\
  - name: a mocked http request answers without the network
    given:
      - context: {flow: {t: {n: 41}}}
      - http: {method: GET, path: /fetch}
    mocks:
      req: {reply: {payload: hello, statusCode: 201}}
    expect:
      - http: {status: 201, body: hello}
      - node: req
        count: 1
      - output: {node: count, port: 0, messages: [{payload: hello}]}
      - output: {node: count, port: 1, count: 0}
      - status: {node: count, text: seen 42}
      - context: {flow: {t: {n: 42}}}
"""


def test_a_passing_file_exits_0(tmp_path):
    status, text = run(write(tmp_path, MOCKED))
    assert status == 0, text
    assert "1 passed, 0 failed" in text


def test_a_failing_case_names_the_node_and_property(tmp_path):
    path = write(tmp_path, MOCKED.replace("messages: [{payload: hello}]", "messages: [{payload: goodbye}]"))
    status, text = run(path)
    assert status == 1
    assert f"FAILED {path}:3 a mocked http request" in text
    assert 'port 0 of count: message 1: payload: expected "goodbye", got "hello"' in text


def test_replies_errors_and_the_second_output(tmp_path):
    tests = """\
  - name: replies in turn
    given:
      - http: {path: /fetch}
      - http: {path: /fetch}
    mocks:
      req: {replies: [{payload: bad}, {payload: big}]}
    expect:
      - error: {node: count, message: bad payload}
      - http: {status: 500}
      - http: {status: 200, body: big}
      - output: {node: count, port: 1, count: 1, match: "payload = 'big'"}
"""
    status, text = run(write(tmp_path, tests))
    assert status == 0, text


def test_malformed_files_exit_2_with_file_and_line(tmp_path, capsys):
    path = write(tmp_path, "  - name: x\n    expect:\n      - nod: {node: a}\n")
    status, _ = run(path)
    assert status == 2
    assert f"{path}:5: tests/0/expect/0: unknown step 'nod'" in capsys.readouterr().err
    path.write_text("flow: missing.json\ntests:\n  - name: x\n")
    assert run(path)[0] == 2
    assert "missing.json does not exist" in capsys.readouterr().err
    path.write_text("flow: [unclosed\n")
    assert run(path)[0] == 2
    assert f"{path}:2: not YAML" in capsys.readouterr().err


def test_junit_keyword_and_jobs(tmp_path):
    path = write(tmp_path, MOCKED + MOCKED.replace("a mocked http request", "second case"))
    other = tmp_path / "sub"
    other.mkdir()
    write(other, MOCKED)
    junit = tmp_path / "results.xml"
    status, text = run(tmp_path, jobs=2, junit_xml=str(junit))
    assert status == 0 and "3 passed" in text
    assert junit.read_text().count("<testcase ") == 3
    status, text = run(path, keyword="second")
    assert "1 passed" in text


def test_coverage_names_what_no_case_reached(tmp_path):
    status, text = run(write(tmp_path, MOCKED), coverage=True)
    assert status == 0
    assert "count (function): output(s) 2 never sent" in text


def test_partial_match_rules():
    assert partial_mismatch({"a": 1}, {"a": 1, "b": 2}) is None
    assert (
        partial_mismatch({"a": {"b": [1, {"c": 2}]}}, {"a": {"b": [1, {"c": 3}]}})
        == "a.b[1].c: expected 2, got 3"
    )
    assert partial_mismatch({"a": 1}, {}) == "a: missing (expected 1)"
    assert partial_mismatch([1], [1, 2]) == "value: expected [1], got [1, 2]"
    assert partial_mismatch({"a": True}, {"a": 1}) == "a: expected true, got 1"


def test_the_shipped_flows_pass_from_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "flowrt", "test", "flows/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout


def test_update_records_what_arrived_keeping_comments(tmp_path):
    path = write(
        tmp_path,
        MOCKED.replace("messages: [{payload: hello}]}", "messages: [{payload: goodbye}]}  # snapshot"),
    )
    assert run(path)[0] == 1
    status, text = run(path, update=True)
    assert status == 0 and f"updated {path}" in text
    updated = path.read_text()
    assert "goodbye" not in updated and "payload: hello" in updated and "# snapshot" in updated
    assert run(path)[0] == 0


def test_a_case_may_name_its_own_flow_settings_and_env(tmp_path):
    (tmp_path / "other.json").write_text(
        json.dumps(
            [
                {"id": "t", "type": "tab", "env": []},
                {"id": "in", "type": "http in", "z": "t", "url": "/env", "method": "get", "wires": [["set"]]},
                {
                    "id": "set",
                    "type": "change",
                    "z": "t",
                    "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "WHO", "tot": "env"}],
                    "wires": [["out"]],
                },
                {"id": "out", "type": "http response", "z": "t", "wires": []},
            ]
        )
    )
    path = write(
        tmp_path,
        MOCKED
        + """\
  - name: another flow with its own env
    flow: other.json
    env: {WHO: Ann}
    given:
      - http: {path: /env}
    expect:
      - http: {status: 200, body: Ann}
""",
    )
    status, text = run(path)
    assert status == 0, text
