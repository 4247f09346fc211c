"""The unmodified Node-RED editor in a real browser (Debian's chromium driven by Playwright) against
`flowrt run --editor`: load, import and deploy, status, inject -> debug sidebar, the conflict dialog.

Skips with the reason when chromium or Playwright is missing. On failure a screenshot is saved in
$FLOWRT_TEST_ARTIFACTS (default: /tmp/flowrt-test-artifacts).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import aiohttp
import pytest

from flowrt.testing import FlowProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)
ARTIFACTS = Path(os.environ.get("FLOWRT_TEST_ARTIFACTS", "/tmp/flowrt-test-artifacts"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

START = [{"id": "t1", "type": "tab", "label": "Start"}]
IMPORTED = [
    {
        "id": "web",
        "type": "http in",
        "z": "t1",
        "url": "/from-editor",
        "method": "get",
        "x": 120,
        "y": 80,
        "wires": [["fn"]],
    },
    {
        "id": "fn",
        "type": "python-function",
        "z": "t1",
        "func": "msg['payload'] = 'made in the editor'\nnode.status({'text': 'answered'})\nreturn msg",
        "outputs": 1,
        "x": 320,
        "y": 80,
        "wires": [["resp"]],
    },
    {"id": "resp", "type": "http response", "z": "t1", "x": 520, "y": 80, "wires": []},
    {
        "id": "inj",
        "type": "inject",
        "z": "t1",
        "props": [{"p": "payload"}],
        "repeat": "",
        "crontab": "",
        "once": False,
        "onceDelay": 0.1,
        "topic": "",
        "payload": "hello sidebar",
        "payloadType": "str",
        "x": 120,
        "y": 160,
        "wires": [["dbg"]],
    },
    {
        "id": "dbg",
        "type": "debug",
        "z": "t1",
        "active": True,
        "tosidebar": True,
        "complete": "payload",
        "x": 320,
        "y": 160,
        "wires": [],
    },
]


async def test_editor_in_a_browser(tmp_path, editor_files, request):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(START))
    problems: list[str] = []
    async with FlowProcess([flow_file], "--editor") as proc:
        await proc.wait_for_line("Editor at", 60)
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            page = await browser.new_page()
            page.on("pageerror", lambda err: problems.append(f"pageerror: {err}"))
            page.on(
                "response",
                lambda r: (
                    problems.append(f"{r.status} {r.url}") if r.status >= 400 and r.status != 409 else None
                ),
            )
            try:
                await run_steps(page, proc, flow_file)
            except Exception:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / f"{request.node.name}.png"
                await page.screenshot(path=str(shot))
                print(f"screenshot: {shot}\n{proc.output[-3000:]}")
                raise
            finally:
                await browser.close()
    assert problems == []


async def run_steps(page, proc, flow_file: Path) -> None:
    await page.goto(proc.url("/"))
    await page.wait_for_selector('.red-ui-palette-node[data-palette-type="python-function"]', timeout=90_000)
    await page.wait_for_selector("#red-ui-loading-progress", state="hidden", timeout=90_000)
    # import a flow and Deploy: its http in answers, the flow file has it
    await page.evaluate("f => RED.view.importNodes(f, {generateIds: false})", IMPORTED)
    await page.mouse.click(600, 450)  # an import follows the mouse until a click drops it
    await page.click("#red-ui-header-button-deploy")
    await page.wait_for_selector(".red-ui-notification >> text=Successfully deployed", timeout=30_000)
    async with aiohttp.ClientSession() as session:
        async with session.get(proc.url("/from-editor")) as resp:
            assert await resp.text() == "made in the editor"
    saved = {n["id"]: n for n in json.loads(flow_file.read_text())}
    assert saved["fn"]["type"] == "python-function" and "made in the editor" in saved["fn"]["func"]
    # the status the function set shows under its node
    label = await page.wait_for_selector("[id='fn'] .red-ui-flow-node-status-label", timeout=30_000)
    await page.wait_for_function("el => el.textContent === 'answered'", arg=label, timeout=30_000)
    # the inject button puts a message in the debug sidebar
    await page.evaluate("RED.sidebar.show('debug')")
    await page.click("[id='inj'] .red-ui-flow-node-button-button")
    await page.wait_for_selector(".red-ui-debug-msg >> text=hello sidebar", timeout=30_000)
    # someone else deploys; the editor's next deploy carries a stale rev and gets the conflict dialog
    async with aiohttp.ClientSession() as session:
        headers = {"Node-RED-API-Version": "v2", "Accept": "application/json"}
        async with session.get(proc.url("/flows"), headers=headers) as resp:
            current = await resp.json()
        flows = current["flows"] + [
            {
                "id": "note",
                "type": "comment",
                "z": "t1",
                "name": "from outside",
                "x": 120,
                "y": 240,
                "wires": [],
            }
        ]
        async with session.post(
            proc.url("/flows"), json={"flows": flows, "rev": current["rev"]}, headers=headers
        ) as resp:
            assert resp.status == 200
    await page.evaluate("RED.nodes.dirty(true)")
    await page.click("#red-ui-header-button-deploy")
    await page.wait_for_selector("#red-ui-deploy-dialog-confirm-deploy-overwrite", timeout=30_000)
