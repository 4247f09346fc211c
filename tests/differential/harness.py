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
import copy
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import nodered  # noqa: E402

MAJORS = ("4", "5")
RECORDED = Path(__file__).resolve().parent / "recorded"

#: Node types Node-RED's examples use that flowrt does not have yet, with what they are.
MISSING_TYPES = {
    "tcp in": "network: TCP",
    "tcp out": "network: TCP",
    "tcp request": "network: TCP",
    "udp in": "network: UDP",
    "udp out": "network: UDP",
    "websocket in": "network: websocket",
    "websocket out": "network: websocket",
    "websocket-listener": "network: websocket",
    "websocket-client": "network: websocket",
    "mqtt in": "network: MQTT",
    "mqtt out": "network: MQTT",
    "mqtt-broker": "network: MQTT",
}
#: Nodes whose work is I/O (sockets, processes, files): flowrt runs those flows on real time.
IO_TYPES = {"http in", "http request", "http response", "exec", "file", "file in", "watch", "sse-session"}
QUIET_SECONDS = 0.6  # real-time runs: the flow counts as done after this long without output
MAX_SETTLE_SECONDS = 15.0
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
def prepare(nodes: list[dict], port: int | None = None) -> list[dict]:
    """The flow as both runtimes run it (see the module docstring)."""
    flow = copy.deepcopy(nodes)
    if port is not None:
        flow = json.loads(re.sub(r"(localhost|127\.0\.0\.1):1880\b", f"127.0.0.1:{port}", json.dumps(flow)))
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
                rate = _num(node.get("rate")) or 1
                per = _num(node.get("nbRateUnits")) or 1
                unit = UNITS.get(node.get("rateUnits", "second"), 1)
                longest = max(longest, per * unit / rate * 3)
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


def normalise_value(value: Any) -> Any:
    """Generated values replaced by placeholders: `_msgid` dropped, timestamps and dates marked."""
    if isinstance(value, dict):
        return {k: normalise_value(v) for k, v in value.items() if k not in ("_msgid",)}
    if isinstance(value, list):
        return [normalise_value(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and _EPOCH_MS[0] <= value <= _EPOCH_MS[1]:
        return "<timestamp>"
    if isinstance(value, str):
        return _TIME_STRING.sub("<date>", value)
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
    entry = {"format": re.sub(r"^string\[\d+\]$", "string", fmt) if _has_date(value) else fmt}
    entry["value"] = normalise_value(value)
    for key in ("name", "topic", "property"):
        if data.get(key) not in (None, ""):
            entry[key] = normalise_value(data[key])
    return entry


def _has_date(value: Any) -> bool:
    return isinstance(value, str) and bool(_TIME_STRING.search(value))


def normalise_log(level: str, text: Any) -> str:
    if isinstance(text, dict) and text.get("__enc__") and text.get("type") == "error":
        error = text.get("data") or {}
        text = f"{error.get('name', 'Error')}: {error.get('message', '')}"
    elif not isinstance(text, str):
        text = json.dumps(text, sort_keys=True)
    return f"{level}: {normalise_value(text)}"


# ------------------------------------------------------------------ flowrt
async def run_flowrt(nodes: list[dict]) -> Observation:
    """Runs a prepared-from-raw flow on flowrt in-process and returns what it observed."""
    from flowrt.registry import load_builtin_nodes, registry
    from flowrt.testing import FlowTestHarness, free_port

    load_builtin_nodes()
    debug_class = registry.get_type("debug")
    port = free_port()
    flow = prepare(nodes, port)
    virtual = not uses_io(flow)
    observation = Observation()
    events: list[float] = []

    def on_debug(node, data: dict) -> None:
        observation.add(f"debug {node.id}", normalise_debug(data))
        events.append(time.monotonic())

    settings = {"uiPort": port, "debugToStdout": False, "logLevel": "warn"}
    debug_class.listeners.append(on_debug)
    try:
        async with FlowTestHarness(flow, settings=settings, clock="virtual" if virtual else None) as h:
            seen_logs = 0

            def collect_logs() -> None:
                nonlocal seen_logs
                for record in h.logs[seen_logs:]:
                    if record.node_id and record.level in ("warn", "error"):
                        observation.add(f"log {record.node_id}", normalise_log(record.level, record.text))
                        events.append(time.monotonic())
                seen_logs = len(h.logs)

            settle = settle_seconds(flow)
            if virtual:
                await h.clock.advance(settle or 0.2)
            else:
                await _quiet(events, collect_logs, settle)
            collect_logs()
            for inject_id in triggers(flow):
                h.node(inject_id).receive({})
                if virtual:
                    await h.clock.advance(settle + 0.001)
                else:
                    await _quiet(events, collect_logs, settle)
                collect_logs()
            for node_id in sorted(status_nodes(flow)):
                for status in h.node(node_id).statuses:
                    if status.get("text") not in (None, ""):
                        observation.add(f"status {node_id}", normalise_status(status))
    finally:
        debug_class.listeners.remove(on_debug)
    return observation


async def _quiet(events: list[float], poll, settle: float) -> None:
    """Waits at least `settle` seconds, then until nothing new was observed for QUIET_SECONDS."""
    start = time.monotonic()
    deadline = start + MAX_SETTLE_SECONDS + 5
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        poll()
        now = time.monotonic()
        last = max(events[-1] if events else start, start + settle)
        if now - last >= QUIET_SECONDS:
            return


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
        flow = prepare(nodes, self.port)
        settle = settle_seconds(flow)
        first = len(self.events)
        await self.deploy(flow)
        await self._quiet(first, settle)
        for inject_id in triggers(flow):
            await self.inject(inject_id)
            await self._quiet(first, settle)
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

    async def _quiet(self, first: int, settle: float) -> None:
        start = time.monotonic()
        deadline = start + MAX_SETTLE_SECONDS + 5
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            ours = self.events[first:]
            last = max(ours[-1][0] if ours else start, start + settle)
            if time.monotonic() - last >= QUIET_SECONDS:
                return

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
