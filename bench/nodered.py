"""Node-RED 4.x for the side-by-side benchmarks, and the server processes of both runtimes.

Node-RED is installed on demand with npm into a cache folder outside the repository
(`~/.cache/flowrt-bench/node-red-4`, or $FLOWRT_BENCH_CACHE/node-red-4) and started headless: a
generated settings file, userDir in a temporary directory, the editor disabled, logging to stdout,
the scenario flow copied into the userDir as its flowFile. The `node` process is spawned directly
(not through npx or a shell), so its pid is the one whose VmRSS is measured.

`flowrt` is started the same way as a real process: `python -m flowrt run FLOW -p PORT -u TMPDIR`.
Both print a line containing "Started flows" when they are ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NODE_RED_SPEC = "node-red@4"
READY_LINE = "Started flows"


def cache_dir() -> Path:
    base = os.environ.get("FLOWRT_BENCH_CACHE") or os.path.join(Path.home(), ".cache", "flowrt-bench")
    return Path(base) / "node-red-4"


def red_js(prefix: Path | None = None) -> Path:
    return (prefix or cache_dir()) / "node_modules" / "node-red" / "red.js"


def installed_version(prefix: Path | None = None) -> str | None:
    package = (prefix or cache_dir()) / "node_modules" / "node-red" / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def node_version() -> str | None:
    node = shutil.which("node")
    if not node:
        return None
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def ensure_node_red(log=print) -> tuple[Path | None, str]:
    """Installs Node-RED 4.x when needed. Returns (red.js path or None, a line saying what happened)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return None, f"{missing} not found: Node-RED cannot run, flowrt runs alone (install Node.js 20+)"
    prefix = cache_dir()
    version = installed_version(prefix)
    if version and version.startswith("4.") and red_js(prefix).exists():
        return red_js(prefix), f"Node-RED {version} (cached in {prefix}), node {node_version()}"
    prefix.mkdir(parents=True, exist_ok=True)
    log(f"installing {NODE_RED_SPEC} into {prefix} (npm; a minute or two) ...")
    result = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--omit=dev", NODE_RED_SPEC],
        capture_output=True,
        text=True,
        timeout=900,
    )
    version = installed_version(prefix)
    if result.returncode != 0 or not version:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        return None, "npm install node-red@4 failed, flowrt runs alone:\n  " + "\n  ".join(tail)
    return red_js(prefix), f"Node-RED {version} (installed into {prefix}), node {node_version()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kb(pid: int) -> int | None:
    """VmRSS of a process in kB, from /proc/<pid>/status."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def raise_fd_limit() -> int:
    """Lifts the soft open-files limit to the hard one (SSE scenarios hold 1,000+ sockets)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return -1


class ServerProcess:
    """A server child process: output lines kept, ready when a line contains "Started flows"."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict | None = None, cleanup=None) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.env = env
        self.cleanup = cleanup
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self.spawned_at = 0.0
        self.ready_at = 0.0
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_kb(self) -> int | None:
        return rss_kb(self.pid)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def start(self, timeout: float = 60.0, wait_for: str | None = READY_LINE) -> ServerProcess:
        env = dict(os.environ)
        env.update(self.env or {})
        self.spawned_at = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        if wait_for:
            await self.wait_for_line(wait_for, timeout)
            self.ready_at = time.perf_counter()
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    async def wait_for_line(self, text: str, timeout: float, fail_on: str | None = None) -> str:
        """The first output line containing `text`; a line containing `fail_on` first is an error."""
        deadline = time.perf_counter() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if text in line:
                    return line
                if fail_on and fail_on in line:
                    raise RuntimeError(f"{self.name} logged an error before {text!r}: {line.strip()}")
            seen = len(self.lines)
            if self._reader is not None and self._reader.done():
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode if self.process else '?'}) "
                    f"before printing {text!r}:\n{self.tail()}"
                )
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(
                    f"{self.name}: no line with {text!r} within {timeout:.0f}s:\n{self.tail()}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    def tail(self, count: int = 15) -> str:
        return "\n".join("    " + line for line in self.lines[-count:])

    async def stop(self, timeout: float = 10.0) -> int | None:
        if self.process is not None and self.process.returncode is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
            except ProcessLookupError:
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._reader.cancel()
        if self.cleanup:
            self.cleanup()
            self.cleanup = None
        return self.process.returncode if self.process else None

    async def __aenter__(self) -> ServerProcess:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


def flowrt_server(flow: Path, port: int | None = None, python: str | None = None) -> ServerProcess:
    """`python -m flowrt run FLOW -p PORT -u TMPDIR`."""
    port = port or free_port()
    tmp = tempfile.TemporaryDirectory(prefix="flowrt-bench-")
    argv = [python or sys.executable, "-m", "flowrt", "run", str(flow), "-p", str(port), "-u", tmp.name]
    return ServerProcess("flowrt", argv, port, env={"PYTHONUNBUFFERED": "1"}, cleanup=tmp.cleanup)


SETTINGS_JS = """\
// Generated by flowrt bench/nodered.py: headless Node-RED for benchmarks.
module.exports = {{
    uiPort: {port},
    uiHost: "127.0.0.1",
    userDir: {user_dir},
    flowFile: "flows.json",
    flowFilePretty: false,
    credentialSecret: false,
    disableEditor: true,
    diagnostics: {{ enabled: false, ui: false }},
    runtimeState: {{ enabled: false, ui: false }},
    telemetry: {{ enabled: false, updateNotification: false }},
    externalModules: {{ autoInstall: false, palette: {{ allowInstall: false }}, modules: {{ allowInstall: false }} }},
    functionExternalModules: false,
    logging: {{ console: {{ level: "info", metrics: false, audit: false }} }},
    exportGlobalContextKeys: false,
}};
"""


def flat_flow(document) -> list:
    """Node-RED's flow file wants the flat array; a single-tab export `{..., "nodes": [...]}` is
    flattened into the tab object followed by its nodes."""
    if isinstance(document, dict) and isinstance(document.get("nodes"), list):
        tab = {k: v for k, v in document.items() if k != "nodes"}
        return [tab, *document["nodes"]]
    if isinstance(document, dict) and isinstance(document.get("flows"), list):
        return document["flows"]
    return document


def nodered_server(red: Path, flow: Path, port: int | None = None) -> ServerProcess:
    port = port or free_port()
    tmp = tempfile.TemporaryDirectory(prefix="nodered-bench-")
    user_dir = Path(tmp.name)
    flows = flat_flow(json.loads(Path(flow).read_text()))
    (user_dir / "flows.json").write_text(json.dumps(flows))
    settings = user_dir / "settings.js"
    settings.write_text(SETTINGS_JS.format(port=port, user_dir=json.dumps(str(user_dir))))
    node = shutil.which("node") or "node"
    argv = [node, str(red), "--settings", str(settings), "--userDir", str(user_dir), "--no-telemetry"]
    return ServerProcess("node-red", argv, port, cleanup=tmp.cleanup)
