"""The editor's login dialog in a real browser (Debian's chromium driven by Playwright) against
`flowrt run --editor` with adminAuth: the dialog appears, a wrong password is refused, the right one
opens the editor, which then deploys and gets its /comms messages with the token.

Skips with the reason when chromium or Playwright is missing. On failure a screenshot is saved in
$FLOWRT_TEST_ARTIFACTS (default: /tmp/flowrt-test-artifacts).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from flowrt.testing import FlowProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)
ARTIFACTS = Path(os.environ.get("FLOWRT_TEST_ARTIFACTS", "/tmp/flowrt-test-artifacts"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
FRED_HASH = "$2a$08$LpYMefvGZ3MjAfZGzcoyR.1BcfHh4wy4NpbN.cEny5aHnWOqjKOXK"  # "password"
FLOW = [
    {"id": "t1", "type": "tab", "label": "Start"},
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
        "payload": "after login",
        "payloadType": "str",
        "x": 120,
        "y": 80,
        "wires": [["dbg"]],
    },
    {
        "id": "dbg",
        "type": "debug",
        "z": "t1",
        "active": True,
        "tosidebar": True,
        "x": 320,
        "y": 80,
        "wires": [],
    },
]


async def test_login_dialog_then_the_editor_works(tmp_path, editor_files, request):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    settings = tmp_path / "settings.yaml"
    users = [{"username": "admin", "password": FRED_HASH, "permissions": "*"}]
    settings.write_text(yaml.safe_dump({"adminAuth": {"type": "credentials", "users": users}}))
    async with FlowProcess([flow_file], "--editor", "-s", str(settings), "-u", str(tmp_path / "u")) as proc:
        await proc.wait_for_line("Editor at", 60)
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            try:
                await page.goto(proc.url("/"))
                await page.wait_for_selector("#node-dialog-login-username", timeout=90_000)
                await page.fill("#node-dialog-login-username", "admin")
                await page.fill("#node-dialog-login-password", "wrong")
                await page.click("#node-dialog-login-submit")
                await page.wait_for_selector("#node-dialog-login-failed", state="visible", timeout=30_000)
                await page.fill("#node-dialog-login-password", "password")
                await page.click("#node-dialog-login-submit")
                await page.wait_for_selector(
                    '.red-ui-palette-node[data-palette-type="inject"]', timeout=90_000
                )
                await page.wait_for_selector("#red-ui-header-button-user", timeout=30_000)
                # the inject button works and its message reaches the debug sidebar over /comms
                await page.evaluate("RED.sidebar.show('debug')")
                await page.click("[id='inj'] .red-ui-flow-node-button-button")
                await page.wait_for_selector(".red-ui-debug-msg >> text=after login", timeout=30_000)
                # and Deploy (flows.write) with the token
                await page.evaluate("RED.nodes.dirty(true)")
                await page.click("#red-ui-header-button-deploy")
                await page.wait_for_selector(
                    ".red-ui-notification >> text=Successfully deployed", timeout=30_000
                )
            except Exception:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / f"{request.node.name}.png"
                await page.screenshot(path=str(shot))
                print(f"screenshot: {shot}\n{proc.output[-3000:]}")
                raise
            finally:
                await browser.close()
    assert errors == []
