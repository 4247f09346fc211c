"""`flowrt test`: unit tests for flows, written beside them in YAML (`x.test.yaml` next to `x.yaml`).

A test file names the flow file(s) it tests and holds cases; each case gives inputs, replaces nodes by
mocks, and states what must come out (docs/testing.md has the tutorial, the schema is
`flowrt/formats/schemas/flowrt-test.schema.json`):

    flow: hello.yaml
    tests:
      - name: answers GET /hello
        given:
          - http: {method: GET, path: /hello}
        expect:
          - http: {status: 200, body: "Hello, world"}
          - node: hello-out                 # messages that reached this node's input
            messages: [{payload: "Hello, world"}]

Every case runs in its own in-process runtime on a virtual clock (`advance: 5` moves it 5 s), so a
case never waits for real time. A mocked node keeps its id and wires; it records what it gets and
sends, per input, the input message updated with its `reply` (or the next of its `replies`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import yaml

from flowrt import Node, register_type
from flowrt.formats.document import load_deployment
from flowrt.testing import FlowTestHarness
from flowrt.util import evaluate_jsonata, prepare_jsonata

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "formats" / "schemas" / "flowrt-test.schema.json"
MOCK_TYPE = "flowrt-test-mock"
OBSERVER_TYPE = "flowrt-test-observer"
WAIT = 2.0  # seconds of real time a case waits for a message that the flow sends without timers


class TestFileError(Exception):
    """A malformed test file; the text names the file and line."""


@dataclass
class Case:
    name: str
    file: Path
    line: int
    spec: dict
    flows: list[Path]
    settings: dict
    env: dict


@dataclass
class Outcome:
    case: Case
    passed: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    covered: dict[str, set[int]] = field(default_factory=dict)  # node id -> output ports that sent
    #: expect index -> the messages that arrived, for --update (node and output items with messages)
    observed: dict[int, list] = field(default_factory=dict)


# ------------------------------------------------------------------ stub node types


@register_type(MOCK_TYPE)
class MockNode(Node):
    """A node replaced by a test: sends the input updated with the next reply (kept per node)."""

    schema = {"type": "object"}

    def setup(self) -> None:
        spec = self.config.get("_mock") or {}
        self.replies = spec.get("replies") or ([spec["reply"]] if "reply" in spec else [])
        self.count = 0

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        if self.replies:
            reply = self.replies[min(self.count, len(self.replies) - 1)]
            self.count += 1
            ports = reply if isinstance(reply, list) else [reply]
            outputs = [None if r is None else {**msg, **r} for r in ports]
            send(outputs if len(outputs) > 1 else outputs[0])
        done()


@register_type(OBSERVER_TYPE)
class ObserverNode(Node):
    """Wired to one output port of a node under test: what arrives here left that port."""

    schema = {"type": "object"}

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        done()


def observer_id(node_id: str, port: int) -> str:
    return f"{OBSERVER_TYPE}:{node_id}:{port}"


# ------------------------------------------------------------------ loading test files


def discover(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for text in paths or ["flows"]:
        path = Path(text)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.test.yaml")) + sorted(path.rglob("*.test.yml")))
        elif path.exists():
            found.append(path)
        else:
            raise TestFileError(f"{path}: no such file or directory")
    return list(dict.fromkeys(found))


def load_test_file(path: Path) -> list[Case]:
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except (OSError, UnicodeDecodeError) as err:
        raise TestFileError(f"{path}: cannot read: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise TestFileError(f"{where}: not YAML: {getattr(err, 'problem', err)}") from None
    _check_step_kinds(path, data, tree)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path)
    )
    if errors:
        err = errors[0]
        where = _line_of(tree, list(err.absolute_path))
        at = "/".join(str(p) for p in err.absolute_path) or "(top)"
        raise TestFileError(f"{path}:{where}: {at}: {err.message}")
    cases = []
    for index, spec in enumerate(data["tests"]):
        line = _line_of(tree, ["tests", index])
        where = ["tests", index, "flow"] if "flow" in spec else ["flow"]
        flow_paths = _flow_paths(path, spec.get("flow", data.get("flow")), _line_of(tree, where))
        settings = {**(data.get("settings") or {}), **(spec.get("settings") or {})}
        env = {**(data.get("env") or {}), **(spec.get("env") or {})}
        cases.append(Case(spec["name"], path, line, spec, flow_paths, settings, env))
    return cases


def _flow_paths(path: Path, flows: Any, line: int) -> list[Path]:
    if flows is None:
        raise TestFileError(f"{path}:{line}: no flow file: give `flow` at the top or in the case")
    paths = [(path.parent / f).resolve() for f in (flows if isinstance(flows, list) else [flows])]
    for flow in paths:
        if not flow.exists():
            raise TestFileError(f"{path}:{line}: flow file {flow} does not exist")
    return paths


GIVEN_KINDS = ("send", "inject", "http", "advance", "context")
EXPECT_KINDS = ("node", "output", "none", "http", "status", "error", "context")


def _check_step_kinds(path: Path, data: Any, tree: Any) -> None:
    """A clearer error than the schema's for the commonest slip: an unknown step name."""
    tests = data.get("tests") if isinstance(data, dict) else None
    for index, case in enumerate(tests if isinstance(tests, list) else []):
        if not isinstance(case, dict):
            continue
        for section, kinds in (("given", GIVEN_KINDS), ("expect", EXPECT_KINDS)):
            steps = case.get(section)
            for position, step in enumerate(steps if isinstance(steps, list) else []):
                key = next(iter(step), None) if isinstance(step, dict) and step else None
                if key not in kinds:
                    line = _line_of(tree, ["tests", index, section, position])
                    raise TestFileError(
                        f"{path}:{line}: tests/{index}/{section}/{position}: unknown step {key!r} (one of {', '.join(kinds)})"
                    )


def _line_of(node: Any, path: list) -> int:
    """The 1-based line of the YAML node at `path` (as close as it goes)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


# ------------------------------------------------------------------ running one case


def prepare_nodes(case: Case, coverage: bool) -> list[dict]:
    nodes = [dict(n) for n in load_deployment(case.flows).nodes]
    by_id = {n.get("id"): n for n in nodes}
    for node_id, mock in (case.spec.get("mocks") or {}).items():
        node = by_id.get(node_id)
        if node is None:
            raise TestFileError(f"{case.file}:{case.line}: mock {node_id!r}: no such node in the flow")
        node.update(type=MOCK_TYPE, _mock=mock)
    watched = {
        (e["output"]["node"], int(e["output"].get("port", 0)))
        for e in case.spec.get("expect") or []
        if "output" in e
    }
    if coverage:
        watched |= {
            (n["id"], port)
            for n in nodes
            if n.get("z") and isinstance(n.get("wires"), list)
            for port in range(len(n["wires"]))
        }
    for node_id, port in sorted(watched):
        node = by_id.get(node_id)
        if node is None:
            raise TestFileError(f"{case.file}:{case.line}: output of {node_id!r}: no such node in the flow")
        wires = [list(w) for w in node.get("wires") or []]
        while len(wires) <= port:
            wires.append([])
        wires[port].append(observer_id(node_id, port))
        node["wires"] = wires
        nodes.append(
            {"id": observer_id(node_id, port), "type": OBSERVER_TYPE, "z": node.get("z"), "wires": []}
        )
    return nodes


async def run_case(case: Case, coverage: bool = False) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(case, False)
    settings = {
        "debugToStdout": False,
        **case.settings,
        "env": {**(case.settings.get("env") or {}), **case.env},
    }
    try:
        nodes = prepare_nodes(case, coverage)
        async with FlowTestHarness(nodes, settings=settings, clock="virtual") as h:
            runner = _CaseRun(h, case)
            await runner.given()
            outcome.problems = await runner.expect()
            outcome.observed = runner.observed
            if coverage:
                outcome.covered = _covered(h, nodes)
            await runner.close()
    except TestFileError:
        raise
    except Exception as err:  # the flow itself failed to start or a step broke
        outcome.problems.append(f"could not run: {type(err).__name__}: {err}")
    outcome.passed = not outcome.problems
    outcome.seconds = time.monotonic() - started
    return outcome


def _covered(h: FlowTestHarness, nodes: list[dict]) -> dict[str, set[int]]:
    covered: dict[str, set[int]] = {}
    for node in nodes:
        if node.get("type") == OBSERVER_TYPE:
            _, node_id, port = node["id"].rsplit(":", 2)
            if h.node(node["id"]).received:
                covered.setdefault(node_id, set()).add(int(port))
    for node in nodes:
        if node.get("z") and node.get("type") not in (OBSERVER_TYPE,) and h.node(node["id"]).received:
            covered.setdefault(node["id"], set())
    return covered


class _CaseRun:
    def __init__(self, h: FlowTestHarness, case: Case) -> None:
        self.h = h
        self.case = case
        self.session = aiohttp.ClientSession()
        self.http: list[asyncio.Task] = []
        self.observed: dict[int, list] = {}

    async def close(self) -> None:
        for task in self.http:
            task.cancel()
        await asyncio.gather(*self.http, return_exceptions=True)
        await self.session.close()

    async def settle(self) -> None:
        for _ in range(20):  # let deliveries and their follow-ups run
            await asyncio.sleep(0)

    async def given(self) -> None:
        for step in self.case.spec.get("given") or []:
            kind, value = next(iter(step.items()))
            await getattr(self, f"_given_{kind}")(value)
            await self.settle()

    async def _given_send(self, value: dict) -> None:
        self.h.node(value["node"]).receive(dict(value.get("msg") or {}))

    async def _given_inject(self, value: Any) -> None:
        node_id = value if isinstance(value, str) else value["node"]
        self.h.node(node_id).receive({})

    async def _given_advance(self, value: Any) -> None:
        await self.h.clock.advance(float(value))

    async def _given_context(self, value: dict) -> None:
        manager = self.h.runtime.context
        for key, item in (value.get("global") or {}).items():
            manager.global_context().set(key, item)
        for flow_id, values in (value.get("flow") or {}).items():
            for key, item in values.items():
                manager.flow_context(flow_id).set(key, item)
        for node_id, values in (value.get("node") or {}).items():
            node = self.h.runtime.get_node(node_id)
            for key, item in values.items():
                node.context().set(key, item)

    async def _given_http(self, value: dict) -> None:
        method = value.get("method", "GET").upper()
        kwargs: dict[str, Any] = {"headers": value.get("headers") or {}}
        if "json" in value:
            kwargs["json"] = value["json"]
        elif "body" in value:
            kwargs["data"] = value["body"] if isinstance(value["body"], str) else json.dumps(value["body"])

        async def request() -> dict:
            async with self.session.request(method, self.h.url(value["path"]), **kwargs) as resp:
                text = await resp.text()
                return {"status": resp.status, "headers": dict(resp.headers), "body": text}

        self.http.append(asyncio.get_running_loop().create_task(request()))

    # -------------------------------------------------------------- expectations

    async def expect(self) -> list[str]:
        problems: list[str] = []
        http_index = 0
        for index, item in enumerate(self.case.spec.get("expect") or []):
            kind, value = next(iter(item.items()), (None, None))
            if kind == "node" or "messages" in item or "count" in item:
                problems += await self._expect_messages(item["node"], item, f"node {item['node']}")
                self.observed[index] = snapshot(self.h.node(item["node"]).received)
            elif kind == "output":
                node_id, port = value["node"], int(value.get("port", 0))
                observer = observer_id(node_id, port)
                problems += await self._expect_messages(observer, value, f"port {port} of {node_id}")
                self.observed[index] = snapshot(self.h.node(observer).received)
            elif kind == "none":
                problems += await self._expect_none(value)
            elif kind == "http":
                problems += await self._expect_http(http_index, value)
                http_index += 1
            elif kind == "status":
                problems += self._expect_status(value)
            elif kind == "error":
                problems += self._expect_error(value)
            elif kind == "context":
                problems += self._expect_context(value)
        return problems

    async def _expect_messages(self, node_id: str, spec: dict, what: str) -> list[str]:
        if self.h.runtime.get_node(node_id) is None:
            return [f"{what}: no such node in the flow"]
        wanted = spec.get("messages")
        count = spec.get("count", len(wanted) if wanted is not None else None)
        handle = self.h.node(node_id)
        if count:
            try:
                await handle.inputs(count, timeout=WAIT)
            except (AssertionError, TimeoutError):
                pass
        got = handle.received
        problems = []
        if count is not None and len(got) != count:
            problems.append(f"{what}: expected {count} message(s), got {len(got)}{_shown(got)}")
        for index, (expected, actual) in enumerate(zip(wanted or [], got, strict=False)):
            mismatch = partial_mismatch(expected, actual)
            if mismatch:
                problems.append(f"{what}: message {index + 1}: {mismatch}")
        if "match" in spec:
            expression = prepare_jsonata(spec["match"])
            for index, actual in enumerate(got):
                if not evaluate_jsonata(expression, actual, self.h.runtime.get_node(node_id)):
                    problems.append(
                        f"{what}: message {index + 1} does not match {spec['match']!r}: {_text(actual)}"
                    )
        if "schema" in spec:
            validator = jsonschema.Draft202012Validator(spec["schema"])
            for index, actual in enumerate(got):
                error = next(iter(validator.iter_errors(_jsonable(actual))), None)
                if error is not None:
                    at = "/".join(str(p) for p in error.absolute_path) or "(message)"
                    problems.append(f"{what}: message {index + 1}: {at}: {error.message}")
        return problems

    async def _expect_none(self, value: dict) -> list[str]:
        handle = self.h.node(value["node"])
        before = len(handle.received)
        await self.h.clock.advance(float(value.get("within", 0)))
        await self.settle()
        extra = handle.received[before:]
        return (
            [
                f"node {value['node']}: expected no message within {value.get('within', 0)} s, got {len(extra)}{_shown(extra)}"
            ]
            if extra
            else []
        )

    async def _expect_http(self, index: int, value: dict) -> list[str]:
        if index >= len(self.http):
            return [
                f"http: expected a response to request {index + 1}, but only {len(self.http)} request(s) were given"
            ]
        try:
            response = await asyncio.wait_for(asyncio.shield(self.http[index]), WAIT * 5)
        except TimeoutError:
            return [f"http: request {index + 1} got no response"]
        problems = []
        if "status" in value and response["status"] != value["status"]:
            problems.append(
                f"http: status: expected {value['status']}, got {response['status']} (body {response['body'][:200]!r})"
            )
        headers = {k.lower(): v for k, v in response["headers"].items()}
        for name, wanted in (value.get("headers") or {}).items():
            if headers.get(name.lower()) != str(wanted):
                problems.append(
                    f"http: header {name}: expected {wanted!r}, got {headers.get(name.lower())!r}"
                )
        if "body" in value:
            body = value["body"]
            if isinstance(body, (dict, list)):
                try:
                    mismatch = partial_mismatch(body, json.loads(response["body"]))
                except ValueError:
                    mismatch = f"expected JSON, got {response['body'][:200]!r}"
                if mismatch:
                    problems.append(f"http: body: {mismatch}")
            elif response["body"] != str(body):
                problems.append(f"http: body: expected {str(body)!r}, got {response['body']!r}")
        return problems

    def _expect_status(self, value: dict) -> list[str]:
        statuses = self.h.node(value["node"]).statuses
        last = statuses[-1] if statuses else {}
        wanted = {k: v for k, v in value.items() if k != "node"}
        mismatch = partial_mismatch(wanted, last)
        return [f"status of {value['node']}: {mismatch}"] if mismatch else []

    def _expect_error(self, value: dict) -> list[str]:
        errors = self.h.node(value["node"]).errors
        texts = [str(getattr(err, "message", err)) for err, _msg in errors]
        wanted = value.get("message")
        if not texts:
            return [f"node {value['node']}: expected an error, got none"]
        if wanted is not None and not any(str(wanted) in t for t in texts):
            return [f"node {value['node']}: expected an error containing {wanted!r}, got {texts}"]
        return []

    def _expect_context(self, value: dict) -> list[str]:
        manager = self.h.runtime.context
        problems = []
        checks: list[tuple[str, Any, dict]] = [
            ("global", manager.global_context(), value.get("global") or {})
        ]
        checks += [
            (f"flow {fid}", manager.flow_context(fid), vals)
            for fid, vals in (value.get("flow") or {}).items()
        ]
        for node_id, vals in (value.get("node") or {}).items():
            node = self.h.runtime.get_node(node_id)
            if node is None:
                problems.append(f"context of node {node_id}: no such node")
                continue
            checks.append((f"node {node_id}", node.context(), vals))
        for where, ctx, wanted in checks:
            for key, expected in wanted.items():
                mismatch = partial_mismatch(expected, ctx.get(key))
                if mismatch:
                    problems.append(f"{where} context {key}: {mismatch}")
        return problems


# ------------------------------------------------------------------ matching and showing


def partial_mismatch(expected: Any, actual: Any, path: str = "") -> str | None:
    """None when `actual` has everything `expected` says (dicts: the keys given; lists: the same
    length, item by item); else where and how they differ, e.g. `payload.a: expected 1, got 2`."""
    where = path or "value"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {_text(actual)}"
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                return f"{sub}: missing (expected {_text(value)})"
            mismatch = partial_mismatch(value, actual[key], sub)
            if mismatch:
                return mismatch
        return None
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return f"{where}: expected {_text(expected)}, got {_text(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            mismatch = partial_mismatch(e, a, f"{path}[{index}]")
            if mismatch:
                return mismatch
        return None
    if expected == actual and isinstance(expected, bool) == isinstance(actual, bool):
        return None
    return f"{where}: expected {_text(expected)}, got {_text(actual)}"


def _without_ids(msg: dict) -> dict:
    """A message without its id and the live HTTP objects, as tests compare and show it."""
    return {k: v for k, v in msg.items() if k not in ("_msgid", "req", "res")}


def snapshot(messages: list) -> list:
    """Messages as an expectation records them: JSON values, without ids and live HTTP objects."""
    return [_jsonable(_without_ids(m)) for m in messages if isinstance(m, dict)]


def update_expectations(path: Path, outcomes: list[Outcome]) -> bool:
    """--update: write the messages that arrived as the `messages` of each node/output expectation
    that has them (comments and layout kept); True if the file changed."""
    from flowrt.formats.yamlroundtrip import fresh_value, round_trip_yaml

    text = path.read_text(encoding="utf-8")
    rt = round_trip_yaml(text)
    doc = rt.load(text)
    changed = False
    by_name = {o.case.name: o for o in outcomes if o.case.file == path}
    for case in doc["tests"]:
        outcome = by_name.get(case["name"])
        if outcome is None:
            continue
        for index, actual in outcome.observed.items():
            item = case["expect"][index]
            target = item["output"] if "output" in item else item
            if "messages" in target and snapshot_differs(target["messages"], actual):
                target["messages"] = fresh_value(actual)
                if "count" in target:
                    target["count"] = len(actual)
                changed = True
    if changed:
        import io

        out = io.StringIO()
        rt.dump(doc, out)
        path.write_text(out.getvalue(), encoding="utf-8")
    return changed


def snapshot_differs(expected: Any, actual: list) -> bool:
    return len(expected) != len(actual) or any(
        partial_mismatch(e, a) for e, a in zip(expected, actual, strict=True)
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: f"<{type(v).__name__}>"))


def _text(value: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(_jsonable(value), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(messages: list) -> str:
    if not messages:
        return ""
    shown = [_without_ids(m) if isinstance(m, dict) else m for m in messages[:3]]
    return ": " + "; ".join(_text(m) for m in shown) + (" ..." if len(messages) > 3 else "")


def run_file(path: str, keyword: str | None, coverage: bool) -> list[Outcome]:
    """All cases of one file (in a worker process for -j): a fresh event loop per case."""
    outcomes = []
    for case in load_test_file(Path(path)):
        if keyword and keyword.lower() not in f"{case.file.name}::{case.name}".lower():
            continue
        outcomes.append(asyncio.run(run_case(case, coverage)))
    return outcomes


# ------------------------------------------------------------------ the command


def run_command(
    paths: list[str],
    jobs: int = 1,
    keyword: str | None = None,
    junit_xml: str | None = None,
    coverage: bool = False,
    out: Any = None,
    update: bool = False,
) -> int:
    """`flowrt test`: 0 all passed (or --update wrote the expectations), 1 a case failed, 2 a malformed
    test file."""
    import sys
    from concurrent.futures import ProcessPoolExecutor

    out = out or sys.stdout
    try:
        files = discover(paths)
        for path in files:
            load_test_file(path)  # every file checked before anything runs: exit 2 names file:line
    except TestFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not files:
        print("no test files (*.test.yaml) found", file=out)
        return 0
    started = time.monotonic()
    outcomes: list[Outcome] = []
    try:
        if jobs > 1 and len(files) > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for result in pool.map(
                    run_file, [str(f) for f in files], [keyword] * len(files), [coverage] * len(files)
                ):
                    _progress(result, out)
                    outcomes += result
        else:
            for path in files:
                result = run_file(str(path), keyword, coverage)
                _progress(result, out)
                outcomes += result
    except TestFileError as err:
        print(f"\nerror: {err}", file=sys.stderr)
        return 2
    print(file=out)
    if update:
        for path in files:
            if update_expectations(path, outcomes):
                print(f"updated {path}: the messages that arrived are its expectations now", file=out)
        return 0
    failed = [o for o in outcomes if not o.passed]
    for outcome in failed:
        case = outcome.case
        print(f"FAILED {case.file}:{case.line} {case.name}", file=out)
        for problem in outcome.problems:
            print(f"    {problem}", file=out)
    if coverage:
        print(coverage_report(files, outcomes), file=out)
    elapsed = time.monotonic() - started
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed in {elapsed:.1f} s", file=out)
    if junit_xml:
        write_junit(junit_xml, outcomes, elapsed)
    return 1 if failed else 0


def _progress(outcomes: list[Outcome], out: Any) -> None:
    if outcomes:
        name = outcomes[0].case.file
        print(f"{name} " + "".join("." if o.passed else "F" for o in outcomes), file=out, flush=True)


def coverage_report(files: list[Path], outcomes: list[Outcome]) -> str:
    """Which flow nodes and output ports the cases exercised, per flow file."""
    covered: dict[str, set[int]] = {}
    for outcome in outcomes:
        for node_id, ports in outcome.covered.items():
            covered.setdefault(node_id, set()).update(ports)
    lines = ["coverage (nodes that got a message; output ports that sent one):"]
    flows = sorted({f for o in outcomes for f in o.case.flows})
    for flow in flows:
        nodes = [n for n in load_deployment([flow]).nodes if n.get("z") and "wires" in n]
        hit = [n for n in nodes if n["id"] in covered]
        lines.append(f"  {flow.name}: {len(hit)}/{len(nodes)} nodes")
        for node in nodes:
            ports = len(node.get("wires") or [])
            missing = [p for p in range(ports) if p not in covered.get(node["id"], set())]
            if node["id"] not in covered:
                lines.append(f"    not reached: {node['id']} ({node.get('type')})")
            elif missing and ports > 1:
                lines.append(
                    f"    {node['id']} ({node.get('type')}): output(s) {', '.join(str(p + 1) for p in missing)} never sent"
                )
    return "\n".join(lines)


def write_junit(path: str, outcomes: list[Outcome], elapsed: float) -> None:
    from xml.sax.saxutils import escape, quoteattr

    failures = sum(not o.passed for o in outcomes)
    rows = [
        f'<testsuite name="flowrt test" tests="{len(outcomes)}" failures="{failures}" time="{elapsed:.3f}">'
    ]
    for o in outcomes:
        attrs = (
            f'classname={quoteattr(str(o.case.file))} name={quoteattr(o.case.name)} time="{o.seconds:.3f}"'
        )
        if o.passed:
            rows.append(f"  <testcase {attrs}/>")
        else:
            text = escape("\n".join(o.problems))
            rows.append(
                f"  <testcase {attrs}><failure message={quoteattr(o.problems[0])}>{text}</failure></testcase>"
            )
    rows.append("</testsuite>")
    Path(path).write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n' + "\n".join(rows) + "\n", encoding="utf-8"
    )
