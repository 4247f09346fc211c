"""Differential tests: the same flow, the same inputs, on flowrt and on real Node-RED 4.1.x and 5.0.x.

Opt-in (FLOWRT_TEST_NODE_RED=1): they run another program, so CI never depends on them. Node-RED, the
Node.js it needs and the example flows are fetched into the cache by bench/nodered.py. Every example
flow of @node-red/nodes and every flow in flows/ runs on one Node-RED process per version (deployed
with POST /flows, injects triggered with POST /inject/:id) and on flowrt in-process; what each debug
node shows, debug node statuses and node warnings/errors must be equal (harness.py says how they are
normalised). Known differences are xfail(strict=True) (known.py).
"""

from __future__ import annotations

import os

import pytest
import pytest_asyncio

from differential import harness, known
from flowrt.formats.document import load_deployment

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(
        os.environ.get("FLOWRT_TEST_NODE_RED") != "1",
        reason="differential tests against Node-RED are opt-in: set FLOWRT_TEST_NODE_RED=1",
    ),
]

OWN_FLOWS = sorted(
    path
    for path in (harness.ROOT / "flows").rglob("*")
    if path.suffix in (".json", ".yaml", ".yml") and path.is_file() and ".test." not in path.name
)


def _cases() -> list:
    if os.environ.get("FLOWRT_TEST_NODE_RED") != "1":
        return [pytest.param(None, None, id="opt-in")]
    cases = []
    for major in harness.MAJORS:
        found, line = harness.examples(major)
        if not found:
            cases.append(
                pytest.param(major, None, id=f"{major}-examples", marks=pytest.mark.skip(reason=line))
            )
        cases += [pytest.param(major, example, id=example.key) for example in found]
        for path in OWN_FLOWS:
            nodes = load_deployment([path]).nodes
            name = "flows/" + path.relative_to(harness.ROOT / "flows").as_posix()
            cases.append(pytest.param(major, harness.Example(major, name, path, nodes), id=f"{major}/{name}"))
    return cases


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node_red_sessions():
    """One running Node-RED per version, started on first use."""
    sessions: dict[str, harness.NodeRedSession | str] = {}

    async def get(major: str) -> harness.NodeRedSession:
        if major not in sessions:
            red, line = harness.nodered.ensure_node_red(major, log=lambda text: None)
            if red is None:
                sessions[major] = line
            else:
                sessions[major] = await harness.NodeRedSession(red).start()
        session = sessions[major]
        if isinstance(session, str):
            pytest.skip(f"Node-RED {major} unavailable: {session}")
        return session

    yield get
    for session in sessions.values():
        if not isinstance(session, str):
            await session.stop()


@pytest.mark.parametrize(("major", "example"), _cases())
async def test_same_output_as_node_red(major, example, node_red_sessions, request):
    reason = example.missing_reason() or example.node_red_reason()
    if reason:
        pytest.skip(reason)
    if harness.recorded(major).get(example.name, {}).get("unstable"):
        pytest.skip("Node-RED's own output differs between two runs of this example (see recorded/)")
    known.mark(request, f"differential {example.key}")
    session = await node_red_sessions(major)
    theirs = (await session.run(example.nodes)).to_json()
    ours = (await harness.run_flowrt(example.nodes)).to_json()
    found = harness.differences(ours, theirs)
    assert not found, f"{example.key}: flowrt and Node-RED {session.red.version} differ:\n" + "\n".join(found)
