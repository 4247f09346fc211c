"""Node-RED's own example flows (the `examples/` of @node-red/nodes 4.1.x and 5.0.x) run on flowrt.

The package is fetched with `npm pack` into the cache (bench/nodered.py: pinned version, sha512
checked, never in the repository); without npm these tests skip, saying so. For every example:
- validate: `flowrt validate` finds no error in the file as shipped (no tab node, as every example);
- start: flowrt loads and starts the file as shipped;
- output: its inject nodes are triggered top to bottom and what each debug node shows (sidebar
  messages, status) and what nodes log as warnings/errors equals what real Node-RED showed for the
  same run, recorded in tests/differential/recorded/ by tests/differential/record.py.
Examples that use node types flowrt does not have yet skip with the types named. Known differences
are xfail(strict=True), pointing at the finding (tests/differential/known.py).
"""

from __future__ import annotations

import pytest

from differential import harness, known
from flowrt.engine.loader import load_builtin_nodes
from flowrt.engine.registry import registry
from flowrt.formats.document import FlowFileError, load_deployment
from flowrt.formats.validate import validate_deployment
from flowrt.testing import FlowTestHarness

load_builtin_nodes()
NOT_RUNNING_NODES = {"tab", "group", "subflow"}


def _all_examples() -> list:
    params = []
    for major in harness.MAJORS:
        found, line = harness.examples(major)
        if not found:
            params.append(pytest.param(None, id=f"{major}-unavailable", marks=pytest.mark.skip(reason=line)))
        params += [pytest.param(example, id=example.key) for example in found]
    return params


EXAMPLES = _all_examples()


def _runnable(example, request, check: str) -> None:
    reason = example.missing_reason()
    if reason:
        pytest.skip(reason)
    known.mark(request, f"{check} {example.key}")


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates(example, request):
    _runnable(example, request, "validate")
    try:
        deployment = load_deployment([example.path])
    except FlowFileError as err:
        pytest.fail("\n".join(str(p) for p in err.problems))
    errors = [p for p in validate_deployment(deployment, registry) if p.severity == "error"]
    assert not errors, "\n".join(str(p) for p in errors)


@pytest.mark.parametrize("example", EXAMPLES)
async def test_example_starts(example, request):
    _runnable(example, request, "start")
    async with FlowTestHarness(example.path, settings={"debugToStdout": False}) as h:
        wanted = {n["id"] for n in example.nodes if n.get("type") not in NOT_RUNNING_NODES and not n.get("d")}
        assert not [node_id for node_id in wanted if h.runtime.get_node(node_id) is None]


@pytest.mark.parametrize("example", EXAMPLES)
async def test_example_output_is_node_reds(example, request):
    _runnable(example, request, "output")
    reference = harness.recorded(example.major).get(example.name)
    if reference is None:
        pytest.skip(f"no Node-RED output recorded for {example.key} (tests/differential/record.py)")
    if reference.get("unstable"):
        pytest.skip("Node-RED's output differs between two runs of this example: not a reference")
    expected = reference["observed"]
    if not expected:
        pytest.skip("the example shows nothing on Node-RED when its inject nodes are triggered")
    observed = (await harness.run_flowrt(example.nodes)).to_json()
    assert not harness.differences(observed, expected), "\n".join(harness.differences(observed, expected))
