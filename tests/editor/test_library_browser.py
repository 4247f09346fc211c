"""The editor's own library dialogs in a real browser (Debian's chromium driven by Playwright) against
`flowrt run --editor`: Export > Library writes <userDir>/lib/flows/, Import > Local lists and imports
a flow from there.

Skips with the reason when chromium or Playwright is missing. On failure a screenshot is saved in
$FLOWRT_TEST_ARTIFACTS (default: /tmp/flowrt-test-artifacts).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from flowrt.testing import FlowProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)
ARTIFACTS = Path(os.environ.get("FLOWRT_TEST_ARTIFACTS", "/tmp/flowrt-test-artifacts"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
FLOW = [
    {"id": "t1", "type": "tab", "label": "Start"},
    {"id": "c1", "type": "comment", "z": "t1", "name": "exported", "x": 120, "y": 80, "wires": []},
]
SEEDED = [{"id": "lib-c", "type": "comment", "name": "from the library", "x": 100, "y": 200, "wires": []}]


async def test_export_to_and_import_from_the_local_library(tmp_path, editor_files, request):
    flow_file = tmp_path / "flows.json"
    flow_file.write_text(json.dumps(FLOW))
    user_dir = tmp_path / "u"
    (user_dir / "lib" / "flows" / "shared").mkdir(parents=True)
    (user_dir / "lib" / "flows" / "shared" / "seeded.json").write_text(json.dumps(SEEDED))
    async with FlowProcess([flow_file], "--editor", "-u", str(user_dir)) as proc:
        await proc.wait_for_line("Editor at", 60)
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            try:
                await page.goto(proc.url("/"))
                await page.wait_for_selector(
                    '.red-ui-palette-node[data-palette-type="comment"]', timeout=90_000
                )
                await page.wait_for_selector("#red-ui-loading-progress", state="hidden", timeout=90_000)
                # Export > Library: the current flow as exported.json at the library's top
                await page.evaluate("RED.actions.invoke('core:show-library-export-dialog')")
                await page.click("#red-ui-clipboard-dialog-export-rng-flow")
                await page.click("#red-ui-clipboard-dialog-export-tabs >> text=Local")
                await page.fill("#red-ui-clipboard-dialog-tab-library-name", "exported.json")
                await page.click("#red-ui-clipboard-dialog-export")
                await page.wait_for_selector(
                    ".red-ui-notification >> text=Nodes exported to library", timeout=30_000
                )
                saved = json.loads((user_dir / "lib" / "flows" / "exported.json").read_text())
                assert [n["name"] for n in saved if n.get("type") == "comment"] == ["exported"]
                # Import > Local: the folder's listing, then the entry
                await page.evaluate("RED.actions.invoke('core:show-library-import-dialog')")
                await page.click("#red-ui-clipboard-dialog-import-tabs >> text=Local")
                await page.click(".red-ui-treeList-label >> text=shared")
                await page.click(".red-ui-treeList-label >> text=seeded.json")
                await page.click("#red-ui-clipboard-dialog-ok")
                await page.mouse.click(600, 450)  # an import follows the mouse until a click drops it
                await page.wait_for_function("RED.nodes.node('lib-c') !== null", timeout=30_000)
            except Exception:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / f"{request.node.name}.png"
                await page.screenshot(path=str(shot))
                print(f"screenshot: {shot}\n{proc.output[-3000:]}")
                raise
            finally:
                await browser.close()
    assert errors == []
