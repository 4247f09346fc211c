"""The official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios) against
`flowrt run flows/mcp-everything.yaml`: every check passes. Needs npm (the runner installs the
pinned suite and Node 22 into ~/.cache/flowrt-mcp-conformance once); skipped without it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from flowrt.testing import FlowProcess

FLOW = Path(__file__).resolve().parents[2] / "flows" / "mcp-everything.yaml"
RUNNER = Path(os.environ.get("FLOWRT_MCP_CONFORMANCE_RUN", "/work/shared/mcp-conformance/run"))
CACHE = Path(
    os.environ.get("FLOWRT_MCP_CONFORMANCE_CACHE", Path.home() / ".cache" / "flowrt-mcp-conformance")
)
INSTALLED = (CACHE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js").is_file()
#: Checks of the suite's "all" server scenarios (0.1.16: 32 scenarios) that pass today.
EXPECTED_PASSED = 46

pytestmark = [
    pytest.mark.skipif(
        not RUNNER.is_file(), reason=f"the conformance runner {RUNNER} is not on this machine"
    ),
    pytest.mark.skipif(
        not INSTALLED and shutil.which("npm") is None,
        reason="npm is needed to install the MCP conformance suite (and it is not installed yet)",
    ),
]


async def run_suite(url: str, *options: str) -> tuple[int, int, str]:
    proc = await asyncio.create_subprocess_exec(
        "bash", str(RUNNER), url, *options, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 900)
    text = out.decode(errors="replace")
    found = re.search(r"Total: (\d+) passed, (\d+) failed", text)
    assert found, text[-3000:]
    return int(found.group(1)), int(found.group(2)), text


async def test_every_server_scenario_of_the_conformance_suite_passes():
    async with FlowProcess([FLOW]) as proc:
        passed, failed, text = await run_suite(proc.url("/mcp"), "--suite", "all")
    summary = text[text.find("=== SUMMARY ===") :]
    assert failed == 0, summary
    assert passed >= EXPECTED_PASSED, summary
