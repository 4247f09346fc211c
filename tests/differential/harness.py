"""Run one flow on flowrt and on real Node-RED with the same inputs; compare what each debug node shows.

Used by tests/test_nodered_examples.py (flowrt alone, against outputs recorded from Node-RED) and by
tests/differential/ (flowrt against a live Node-RED 4.1.x and 5.0.x).

How a run goes, the same on both runtimes:
- `prepare()` copies the flow, adds the tab nodes its `z` names but the export lacks (Node-RED does the
  same when it loads it), turns off inject `repeat`/`crontab` (a run must end; `once` is kept) and
  points URLs at `localhost:1880` to the runtime's real port.
- The flow is started; inject nodes are triggered one by one, top to bottom as drawn (y, then x); after
  each, the run waits until the flow is quiet (or for its timers, see `settle_seconds`).
- Observed: every message each debug node publishes to the sidebar (Node-RED's /comms websocket topic
  `debug`; flowrt's `DebugNode.listeners`), and every warning/error a node logs (Node-RED shows those
  in the sidebar too). `normalise()` drops `_msgid`, `path`/`z` and timestamps so generated values
  compare equal.

flowrt runs in-process (`FlowTestHarness`); on a flow without I/O nodes it uses the virtual clock, so
timers run at once and the result does not depend on the machine's speed. Node-RED runs as a real
process (bench/nodered.py installs it), with the flow deployed through `POST /flows` and injects
triggered through `POST /inject/:id`, one process per version for all flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import nodered  # noqa: E402

from flowrt.engine.loader import load_builtin_nodes  # noqa: E402
from flowrt.engine.registry import registry  # noqa: E402
from flowrt.testing import FlowTestHarness, free_port  # noqa: E402

MAJORS = ("4", "5")
RECORDED = Path(__file__).resolve().parent / "recorded"

#: Node types Node-RED's examples use that flowrt does not have yet, with what they are.
MISSING_TYPES = {
    "mqtt in": "network: MQTT",
    "mqtt out": "network: MQTT",
    "mqtt-broker": "network: MQTT",
}
#: flowrt's own node types: a flow using them cannot run on Node-RED.
FLOWRT_ONLY_TYPES = {"sse-session", "sse-send", "python-function"}
#: Nodes whose work is I/O (sockets, processes, files): flowrt runs those flows on real time.
IO_TYPES = {"http in", "http request", "http response", "exec", "file", "file in", "watch", "sse-session"}
IO_TYPES |= {"tcp in", "tcp out", "tcp request", "udp in", "udp out"}
QUIET_SECONDS = 0.6  # a flow counts as done after this long without output ...
MAX_QUIET_SECONDS = 5.0  # ... or, behind a rate limit, 1.5 of its intervals, up to this
MAX_SETTLE_SECONDS = 15.0
MAX_RUN_SECONDS = 45.0
UNITS = {"milliseconds": 0.001, "ms": 0.001, "seconds": 1, "second": 1, "s": 1, "minutes": 60, "hours": 3600}


# ------------------------------------------------------------------ the example flows
@dataclass
class Example:
    major: str
    name: str  # path under examples/ without ".json", e.g. "common/debug/01 - Output payload value"
    path: Path
    nodes: list[dict]

    @property
    def key(self) -> str:
        return f"{self.major}/{self.name}"

    @property
    def types(self) -> set[str]:
        return {n.get("type") for n in self.nodes}

    def missing_reason(self) -> str | None:
        missing = sorted(t for t in self.types if t in MISSING_TYPES)
        if not missing:
            return None
        kinds = sorted({MISSING_TYPES[t] for t in missing})
        return f"flowrt has no {', '.join(missing)} node yet ({'; '.join(kinds)})"

    def node_red_reason(self) -> str | None:
        """Why Node-RED cannot run it, or None."""
        own = sorted(t for t in self.types if t in FLOWRT_ONLY_TYPES)
        return f"uses flowrt-only node types ({', '.join(own)})" if own else None


def examples(major: str) -> tuple[list[Example], str]:
    """Every example flow of the pinned @node-red/nodes MAJOR (fetched with npm when needed), and a line
    saying where they came from (or, with an empty list, why there are none)."""
    folder, line = nodered.ensure_examples(major, log=lambda text: None)
    if folder is None:
        return [], line
    found = []
    for path in sorted(folder.rglob("*.json")):
        name = path.relative_to(folder).with_suffix("").as_posix()
        found.append(Example(major, name, path, json.loads(path.read_text())))
    return found, line


# ------------------------------------------------------------------ preparing a flow for a run
def prepare(nodes: list[dict], port: int | None = None, tmp: str | None = None) -> list[dict]:
    """The flow as both runtimes run it (see the module docstring)."""
    flow = copy.deepcopy(nodes)
    text = json.dumps(flow)
    if port is not None:
        text = re.sub(r"(localhost|127\.0\.0\.1):1880\b", f"127.0.0.1:{port}", text)
    if tmp is not None:
        text = re.sub(r'"/tmp(?=["/])', '"' + tmp, text)
    flow = json.loads(text)
    defined = {n.get("id") for n in flow if n.get("type") in ("tab", "subflow")}
    tabs = []
    for node in flow:
        z = node.get("z")
        if z and z not in defined and not node.get("type", "").startswith("subflow:"):
            defined.add(z)
            tabs.append({"id": z, "type": "tab", "label": f"example {len(tabs) + 1}"})
        if node.get("type") == "inject":
            node["repeat"] = ""
            node["crontab"] = ""
    return tabs + flow


@contextlib.contextmanager
def run_directory(nodes: list[dict]):
    """A fresh directory standing in for /tmp during one run, so runs do not see each other's files;
    directories an example's notes say to create first ("Create /tmp/HG directory") exist in it."""
    path = tempfile.mkdtemp(prefix=TMP_PREFIX)
    try:
        for node in nodes:
            for text in (node.get("name"), node.get("info")):
                for wanted in re.findall(r"[Cc]reate (/tmp/[\w./-]+) directory", str(text or "")):
                    os.makedirs(path + wanted[len("/tmp") :], exist_ok=True)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def triggers(nodes: list[dict]) -> list[str]:
    """The inject nodes, top to bottom as drawn (then left to right), disabled ones left out."""
    injects = [n for n in nodes if n.get("type") == "inject" and not n.get("d")]
    return [n["id"] for n in sorted(injects, key=lambda n: (_num(n.get("y")), _num(n.get("x"))))]


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


def settle_seconds(nodes: list[dict]) -> float:
    """How long the flow's own timers can take after an input: the longest delay, trigger duration,
    batch interval or join timeout (plus a margin), at most MAX_SETTLE_SECONDS."""
    longest = 0.0
    for node in nodes:
        kind = node.get("type")
        if kind == "delay":
            if node.get("pauseType") in ("rate", "queue", "timed"):
                longest = max(longest, _rate_interval(node))
            else:
                longest = max(longest, _num(node.get("timeout")) * UNITS.get(node.get("timeoutUnits"), 1))
                if node.get("pauseType") == "random":
                    longest = max(
                        longest, _num(node.get("randomLast")) * UNITS.get(node.get("randomUnits"), 1)
                    )
        elif kind == "trigger":
            longest = max(longest, _num(node.get("duration")) * UNITS.get(node.get("units", "ms"), 0.001))
        elif kind == "batch" and node.get("mode") == "interval":
            longest = max(longest, _num(node.get("interval")))
        elif kind == "join" and node.get("mode") in ("custom", "reduce"):
            longest = max(longest, _num(node.get("timeout")))
        elif kind == "inject" and node.get("once"):
            longest = max(longest, _num(node.get("onceDelay")))
    return min(MAX_SETTLE_SECONDS, longest + 0.5) if longest else 0.0


def status_nodes(nodes: list[dict]) -> set[str]:
    """The debug nodes that show their output as node status: those statuses are compared too."""
    return {n["id"] for n in nodes if n.get("type") == "debug" and n.get("tostatus") in (True, "true")}


def normalise_status(status: dict) -> dict:
    return {k: normalise_value(status[k]) for k in ("fill", "shape", "text") if k in status}


def _rate_interval(node: dict) -> float:
    """Seconds between two messages a rate-limiting delay node lets through."""
    rate = _num(node.get("rate")) or 1
    per = _num(node.get("nbRateUnits")) or 1
    return per * UNITS.get(node.get("rateUnits", "second"), 1) / rate


def quiet_seconds(nodes: list[dict]) -> float:
    """How long without output means done: QUIET_SECONDS, longer behind a rate-limiting delay."""
    quiet = QUIET_SECONDS
    for node in nodes:
        if node.get("type") == "delay" and node.get("pauseType") in ("rate", "queue", "timed"):
            quiet = max(quiet, min(MAX_QUIET_SECONDS, 1.5 * _rate_interval(node)))
    return quiet


def uses_io(nodes: list[dict]) -> bool:
    return any(n.get("type") in IO_TYPES for n in nodes)


# ------------------------------------------------------------------ what a run observed
@dataclass
class Observation:
    """Per channel ("debug <id>" or "log <id>"), the normalised entries in arrival order."""

    channels: dict[str, list] = field(default_factory=dict)

    def add(self, channel: str, entry: Any) -> None:
        self.channels.setdefault(channel, []).append(entry)

    def to_json(self) -> dict:
        return {key: self.channels[key] for key in sorted(self.channels)}

    def debug_only(self) -> dict:
        return {k: v for k, v in self.to_json().items() if k.startswith("debug ")}


_TIME_STRING = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"
    r"|(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d \d{4} "
    r"\d\d:\d\d:\d\d GMT[+-]\d{4}( \([^)]*\))?"
)
_EPOCH_MS = (1.5e12, 2.5e12)  # 2017 .. 2049 in milliseconds: a timestamp, not data
TMP_PREFIX = "flowrt-differential-"
_TMP_DIR = re.compile(r"/[^\s'\"]*/" + TMP_PREFIX + r"[^/\s'\"]*")


def normalise_value(value: Any, key: str | None = None) -> Any:
    """Generated values replaced by placeholders: `_msgid` dropped; the id of a message sequence
    (`parts.id`), error stacks (they name each runtime's own source lines), timestamps and dates
    marked; a run's temporary directory named /tmp."""
    if isinstance(value, dict):
        result = {}
        for k, v in value.items():
            if k == "_msgid":
                continue
            if k == "stack" and isinstance(v, str):
                result[k] = "<stack>"
            elif key == "parts" and k == "id" and isinstance(v, str):
                result[k] = "<generated id>"
            else:
                result[k] = normalise_value(v, k)
        return result
    if isinstance(value, list):
        return [normalise_value(v, key) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and _EPOCH_MS[0] <= value <= _EPOCH_MS[1]:
        return "<timestamp>"
    if isinstance(value, str):
        return _TIME_STRING.sub("<date>", _TMP_DIR.sub("/tmp", value))
    return value


def normalise_debug(data: dict) -> dict:
    """A sidebar message: what the user sees (name, topic, property, format, the value)."""
    text = data.get("msg")
    fmt = data.get("format", "")
    value: Any = text
    if isinstance(text, str) and (fmt == "Object" or fmt.startswith("array") or fmt == "Error"):
        try:
            value = json.loads(text)
        except ValueError:
            pass
    generated = isinstance(value, str) and bool(_TIME_STRING.search(value) or _TMP_DIR.search(value))
    entry = {"format": re.sub(r"^string\[\d+\]$", "string", fmt) if generated else fmt}
    if fmt == "number" and isinstance(value, str):
        try:
            if _EPOCH_MS[0] <= float(value) <= _EPOCH_MS[1]:
                value = "<timestamp>"
        except ValueError:
            pass
    entry["value"] = normalise_value(value)
    for key in ("name", "topic", "property"):
        if data.get(key) not in (None, ""):
            entry[key] = normalise_value(data[key])
    return entry


def normalise_log(level: str, text: Any) -> str:
    if isinstance(text, str) and text.startswith('{"__enc__"'):
        try:
            text = json.loads(text)
        except ValueError:
            pass
    if isinstance(text, dict) and text.get("__enc__") and text.get("type") == "error":
        error = text.get("data") or {}
        text = f"{error.get('name', 'Error')}: {error.get('message', '')}"
    elif not isinstance(text, str):
        text = json.dumps(text, sort_keys=True)
    return f"{level}: {normalise_value(text)}"


# ------------------------------------------------------------------ flowrt
async def run_flowrt(nodes: list[dict]) -> Observation:
    """Runs a flow (as exported: `prepare` is applied here) on flowrt in-process; what it observed."""
    load_builtin_nodes()
    port = free_port()
    with run_directory(nodes) as tmp:
        return await _run_flowrt(prepare(nodes, port, tmp), port)


async def _run_flowrt(flow: list[dict], port: int) -> Observation:
    debug_class = registry.get_type("debug")
    virtual = not uses_io(flow)
    observation = Observation()
    events: list[float] = []
    settings = {"uiPort": port, "debugToStdout": False, "logLevel": "warn"}
    async with FlowTestHarness(flow, settings=settings, clock="virtual" if virtual else None) as h:
        now = h.clock.time if virtual else time.monotonic
        wait_until = h.clock.advance_to if virtual else _sleep_until
        seen_logs = 0

        def on_debug(node, data: dict) -> None:
            if node.id in h.runtime.nodes:
                observation.add(f"debug {node.id}", normalise_debug(data))
                events.append(now())

        def last_event() -> float | None:
            nonlocal seen_logs
            for record in h.logs[seen_logs:]:
                if record.node_id and record.level in ("warn", "error"):
                    observation.add(f"log {record.node_id}", normalise_log(record.level, record.text))
                    events.append(now())
            seen_logs = len(h.logs)
            return events[-1] if events else None

        def on_status(node, status: dict) -> None:
            events.append(now())  # a status change means the flow is still busy

        debug_class.listeners.append(on_debug)
        h.runtime.status_listeners.append(on_status)
        try:
            timing = settle_seconds(flow), quiet_seconds(flow)
            await until_quiet(now, wait_until, last_event, *timing)
            for inject_id in triggers(flow):
                h.node(inject_id).receive({})
                await until_quiet(now, wait_until, last_event, *timing)
        finally:
            debug_class.listeners.remove(on_debug)
        for node_id in sorted(status_nodes(flow)):
            for status in h.node(node_id).statuses:
                if status.get("text") not in (None, ""):
                    observation.add(f"status {node_id}", normalise_status(status))
    return observation


async def _sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))


async def until_quiet(now, wait_until, last_event, settle: float, quiet: float) -> None:
    """Returns once `settle` seconds have passed and then nothing new was observed for `quiet`
    seconds (at most MAX_RUN_SECONDS). The same rule on real time (Node-RED, flowrt with I/O) and on
    flowrt's virtual clock, where waiting is `advance_to` and event times are virtual."""
    start = now()
    limit = start + MAX_RUN_SECONDS
    while True:
        last = last_event()
        target = max(start + settle, (last if last is not None and last > start else start) + quiet)
        current = now()
        if current >= target or current >= limit:
            return
        await wait_until(min(target, limit, current + quiet))


# ------------------------------------------------------------------ Node-RED
class NodeRedSession:
    """One headless Node-RED process (editor on, for /comms) that runs flow after flow."""

    def __init__(self, red: nodered.NodeRed) -> None:
        self.red = red
        self.server = nodered.nodered_server(red, None, editor=True)
        self.port = self.server.port
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = None
        self.ws = None
        self._reader: asyncio.Task | None = None
        self.events: list[tuple[float, str, dict]] = []

    async def start(self) -> NodeRedSession:
        import aiohttp

        await self.server.start(timeout=90)
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(f"ws://127.0.0.1:{self.port}/comms")
        await self.ws.send_str(json.dumps({"subscribe": "debug"}))
        await self.ws.send_str(json.dumps({"subscribe": "status/#"}))
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != 1:  # aiohttp.WSMsgType.TEXT
                continue
            batch = json.loads(message.data)
            for item in batch if isinstance(batch, list) else [batch]:
                if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
                    continue
                topic = item.get("topic", "")
                if topic == "debug":
                    self.events.append((time.monotonic(), "debug", item["data"]))
                elif topic.startswith("status/"):
                    data = {"id": topic[len("status/") :], "status": item["data"]}
                    self.events.append((time.monotonic(), "status", data))

    async def deploy(self, flow: list[dict]) -> None:
        headers = {"Node-RED-Deployment-Type": "full", "Content-Type": "application/json"}
        async with self.session.post(f"{self.base}/flows", data=json.dumps(flow), headers=headers) as resp:
            if resp.status not in (200, 204):
                raise RuntimeError(f"Node-RED refused the flow: {resp.status} {await resp.text()}")

    async def inject(self, node_id: str) -> None:
        async with self.session.post(f"{self.base}/inject/{node_id}") as resp:
            if resp.status != 200:
                raise RuntimeError(f"POST /inject/{node_id}: {resp.status} {await resp.text()}")

    async def run(self, nodes: list[dict]) -> Observation:
        with run_directory(nodes) as tmp:
            return await self._run(prepare(nodes, self.port, tmp))

    async def _run(self, flow: list[dict]) -> Observation:
        timing = settle_seconds(flow), quiet_seconds(flow)
        first = len(self.events)
        node_ids = {n.get("id") for n in flow}

        def last_event() -> float | None:
            ours = [at for at, _, data in self.events[first:] if data.get("id") in node_ids]
            return ours[-1] if ours else None

        await self.deploy(flow)
        await until_quiet(time.monotonic, _sleep_until, last_event, *timing)
        for inject_id in triggers(flow):
            await self.inject(inject_id)
            await until_quiet(time.monotonic, _sleep_until, last_event, *timing)
        await self.deploy([])  # stop it before the next flow: nothing of it may leak into the next run
        observation = Observation()
        node_ids = {n.get("id") for n in flow}
        shown = status_nodes(flow)
        for _, kind, data in self.events[first:]:
            if data.get("id") not in node_ids:
                continue
            if kind == "status":
                if data["id"] in shown and data["status"].get("text") not in (None, ""):
                    observation.add(f"status {data['id']}", normalise_status(data["status"]))
            elif "level" in data:
                level = {20: "error", 30: "warn"}.get(data["level"], str(data["level"]))
                observation.add(f"log {data['id']}", normalise_log(level, data.get("msg")))
            else:
                observation.add(f"debug {data['id']}", normalise_debug(data))
        return observation

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self._reader is not None:
            self._reader.cancel()
        await self.server.stop()


# ------------------------------------------------------------------ comparing
def differences(flowrt: dict, node_red: dict) -> list[str]:
    """Readable lines, one per channel whose entries differ (empty when equal)."""
    lines = []
    for channel in sorted(set(flowrt) | set(node_red)):
        ours, theirs = flowrt.get(channel, []), node_red.get(channel, [])
        if ours != theirs:
            lines.append(f"{channel}:\n    flowrt:   {_short(ours)}\n    Node-RED: {_short(theirs)}")
    return lines


def _short(value: Any, limit: int = 600) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + " ..."


def recorded(major: str) -> dict:
    """What Node-RED MAJOR showed for each example (recorded by tests/differential with --record)."""
    path = RECORDED / f"node-red-{major}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("examples", {})
