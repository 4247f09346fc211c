"""Fuzzing validation: mutated flows never give a traceback or a hang, only problems.

Every case starts from a real flow (flows/, Node-RED reference flows beside the repo, the export
shapes of test_exports.py) and mutates types, ids, wires, z, g, property values and nesting, or
builds reference cycles. Each is fed to `validate_deployment` directly and through the CLI path
(`load_deployment` of a JSON or YAML file, then `validate_deployment`): the only exception
allowed is FlowFileError. Each case runs under a watchdog (SIGALRM): a case still running after
CASE_LIMIT seconds fails as a hang. A few seconds in `make test`; more with
FLOWRT_FUZZ_EXAMPLES=N.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.formats.document import Deployment, FlowFileError, Problem, load_deployment, normalise_document
from flowrt.formats.validate import validate_deployment

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
EXAMPLES = int(os.environ.get("FLOWRT_FUZZ_EXAMPLES", "60"))
CASE_LIMIT = 20  # seconds: a watchdog for hangs, not a speed requirement

load_builtin_nodes()
TYPES = sorted(registry.types())


def _seed_flows() -> list[list]:
    from flowrt.formats.document import load_flow_file

    paths = sorted(REPO.glob("flows/**/*.json")) + sorted(REPO.glob("flows/**/*.yaml"))
    paths = [p for p in paths if ".test." not in p.name]  # flow test files are not flows
    paths += sorted((SHARED / "node-red-reference" / "flows").glob("*.json"))
    seeds = []
    for path in paths:
        try:
            seeds.append(load_flow_file(path))
        except FlowFileError:
            continue
    sys.path.insert(0, str(REPO / "tests" / "e2e"))  # beside it, whether or not e2e was collected
    from test_exports import SHAPES  # the editor's export shapes

    for build, _expected, _tab_made in SHAPES.values():
        document = build("/fuzz")
        seeds.append(normalise_document(document))
    return seeds


SEEDS = _seed_flows()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = ["id", "type", "z", "g", "d", "x", "y", "name", "wires", "env", "links", "scope", "rules"]
KEYS += ["func", "libs", "outputs", "initialize", "in", "out", "status", "nodes", "disabled", "url"]


def _ids(nodes: list) -> list:
    return [n.get("id") for n in nodes if isinstance(n, dict)] or ["none"]


@st.composite
def mutated_flows(draw) -> list:
    nodes = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        ids = _ids(nodes)
        some_id = st.sampled_from(ids)
        reference = some_id | json_values
        index = draw(st.integers(min_value=0, max_value=max(len(nodes) - 1, 0)))
        node = nodes[index] if nodes and isinstance(nodes[index], dict) else None
        op = draw(
            st.sampled_from(
                ["type", "id", "wires", "z", "g", "value", "add", "drop", "nest", "junk", "cycle"]
            )
        )
        if op == "add" or node is None:
            nodes.append({"id": draw(some_id | st.text(max_size=6)), "type": draw(st.sampled_from(TYPES))})
        elif op == "type":
            node["type"] = draw(
                st.sampled_from(TYPES + ["tab", "subflow", "group", "nope", ""])
                | some_id.map(lambda i: f"subflow:{i}")
                | json_values
            )
        elif op == "id":
            node["id"] = draw(reference)
        elif op == "wires":
            node["wires"] = draw(st.lists(st.lists(reference, max_size=3), max_size=3) | json_values)
        elif op in ("z", "g"):
            node[op] = draw(reference)
        elif op == "value":
            node[draw(st.sampled_from(KEYS + list(node)))] = draw(reference)
        elif op == "drop":
            del nodes[index]
        elif op == "nest":
            node[draw(st.sampled_from(["nodes", "configs", "flows", "env", "rules"]))] = copy.deepcopy(nodes)[
                :3
            ]
        elif op == "junk":
            nodes[index] = draw(json_values)
        elif op == "cycle":
            a, b = draw(some_id), draw(some_id)
            kind = draw(st.sampled_from(["group", "subflow", "config"]))
            if kind == "group":
                nodes += [
                    {"id": a, "type": "group", "g": b, "z": node.get("z")},
                    {"id": b, "type": "group", "g": a},
                ]
            elif kind == "subflow":
                nodes += [{"id": a, "type": "subflow"}, {"id": f"{a}-i", "type": f"subflow:{a}", "z": a}]
            else:
                nodes += [
                    {"id": a, "type": "global-config", "name": b},
                    {"id": b, "type": "global-config", "name": a},
                ]
    return nodes


@st.composite
def documents(draw):
    """A mutated flow in one of the export shapes (flat, {flows, rev}, single tab, nested)."""
    nodes = draw(mutated_flows())
    shape = draw(st.sampled_from(["flat", "flows", "tab", "global", "junk"]))
    if shape == "flows":
        return {"flows": nodes, "rev": draw(json_values)}
    if shape == "tab":
        return {"id": draw(json_values | st.just("t")), "type": "tab", "nodes": nodes, "subflows": nodes[:2]}
    if shape == "global":
        return {"id": "global", "configs": nodes}
    if shape == "junk":
        return draw(json_values)
    return nodes


class Hang(Exception):
    pass


@contextmanager
def watchdog(case: object, limit: int = CASE_LIMIT):
    def expired(_signum, _frame):
        raise Hang(f"still running after {limit}s: {str(case)[:2000]}")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check(problems: list) -> None:
    assert all(isinstance(p, Problem) for p in problems)
    for problem in problems:
        assert len(str(problem)) < 2000, str(problem)[:300]


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@FUZZ
@given(mutated_flows())
def test_validate_deployment_never_raises(nodes):
    with watchdog(nodes):
        try:
            deployment = Deployment(nodes=nodes, sources={})
        except FlowFileError:
            return
        _check(validate_deployment(deployment, registry))
        _check(validate_deployment(deployment, registry, allow_unknown=True))


@FUZZ
@given(documents(), st.sampled_from(["json", "yaml"]))
def test_load_and_validate_files_never_raise(document, form):
    with tempfile.TemporaryDirectory(prefix="flowrt-fuzz-") as tmp:
        path = Path(tmp) / f"flow.{form}"
        if form == "json":
            path.write_text(json.dumps(document))
        else:
            path.write_text(yaml.safe_dump(document, allow_unicode=True))
        with watchdog(document):
            try:
                deployment = load_deployment([path])
            except FlowFileError as err:
                _check(err.problems)
                return
            _check(validate_deployment(deployment, registry))
            _convert_round_trip(deployment.nodes)


def _convert_round_trip(nodes: list) -> None:
    """What `flowrt convert` does with the loaded nodes: YAML out and back, no traceback."""
    from flowrt.formats.yamlformat import dump_yaml, parse_yaml

    try:
        parse_yaml(dump_yaml(nodes), "converted.yaml")
    except FlowFileError as err:
        _check(err.problems)


def test_seeds_were_found():
    if len(SEEDS) < 5:
        pytest.skip("too few seed flows")
    assert any(n.get("type") == "tab" for seed in SEEDS for n in seed if isinstance(n, dict))


def test_the_watchdog_stops_a_hanging_case():
    with pytest.raises(Hang), watchdog("spin", limit=1):
        while True:
            pass
