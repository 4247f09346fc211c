"""Scenarios of the flows users write (issue 19): JSONata, fan-out, sequences, csv, template,
switch, delay, context and a 5,000-node flow, flowrt vs Node-RED on the same flow file.

Every flow measures itself, as the chain flows do: a starter function sends K messages 1.5 s after
start, they go through the nodes under test, and a counter function loops them back; after 2 s of
warm-up the counter counts loops for 10 s and prints one line with `node.warn`:

    RESULT scenario=NAME loops=N secs=S loops_per_s=X items_per_s=Y

`items` is what one loop carries (10,000 for the split and csv scenarios, 10 for fan-out, the
hop count for chains), so `items_s` reads as parts/s, rows/s or node deliveries/s.

The flow files are bench/flows/f_*.json, written by `python bench/scenarios_flows.py gen-flows`
(this module is their source: edit it, not them); the large one (1.1 MB) is not committed but
written to bench/flows/generated/ on import. The large flow is 50 tabs of 100 nodes chained
by link nodes; `large-start` and `large-rss` time its start (spawn to "Started flows") and read
RSS 1 s later, before the starter sends anything.

Settings a scenario needs (the file context store) go to both runtimes: flowrt gets a settings
file (`-s`), Node-RED the same keys in its settings.js (bench/nodered.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# bench/scenarios.py imports this module half-way through its own import: only names defined
# above its scenario table are there yet.
from scenarios import OWN_FLOWS, Scenario

if TYPE_CHECKING:
    from scenarios import Settings

FILE_STORE = {
    "contextStorage": {
        "default": {"module": "memory"},
        "file": {"module": "localfilesystem", "config": {"flushInterval": 30}},
    }
}

# ---------------------------------------------------------------- the measuring nodes

COUNTER_JS = """\
const st = flow.get('st');
if (st.done) { return null; }
const now = Date.now();
if (st.t0 === 0) { st.t0 = now; }
st.n++;
if (st.tm === 0 && now - st.t0 >= st.warm_ms) { st.tm = now; st.nm = st.n; }
if (st.tm !== 0 && now - st.tm >= st.window_ms) {
    const loops = st.n - st.nm, dt = (now - st.tm) / 1000;
    st.done = true;
    node.warn(`RESULT scenario=${st.name} loops=${loops} secs=${dt} ` +
              `loops_per_s=${Math.round(loops / dt)} items_per_s=${Math.round(loops * st.items / dt)}`);
    return null;
}
return LOOP_BACK;"""


def _starter(tab: str, name: str, inflight: int, payload_js: str, items: int) -> dict:
    """The starter: the measuring state in flow context, then K messages 1.5 s after start."""
    init = (
        f"flow.set('st', {{name: '{name}', inflight: {inflight}, items: {items},\n"
        "                 warm_ms: 2000, window_ms: 10000, t0: 0, tm: 0, n: 0, nm: 0, done: false});\n"
        "setTimeout(function () {\n"
        f"    for (let i = 0; i < {inflight}; i++) {{\n"
        f"        node.send({{payload: {payload_js}, hops: 0, topic: ''}});\n"
        "    }\n"
        "}, 1500);"
    )
    return _function(f"{tab}_start", tab, "return msg;", name="starter", initialize=init)


def _counter(tab: str, first: str, loop_back: str = "msg") -> dict:
    func = COUNTER_JS.replace("LOOP_BACK", loop_back)
    return _function(f"{tab}_count", tab, func, name="counter", wires=[[first]])


def _function(node_id: str, tab: str, func: str, name: str = "", initialize: str = "", wires=None) -> dict:
    return {
        "id": node_id,
        "type": "function",
        "z": tab,
        "name": name,
        "func": func,
        "outputs": 1,
        "timeout": 0,
        "noerr": 0,
        "initialize": initialize,
        "finalize": "",
        "libs": [],
        "wires": wires if wires is not None else [[]],
    }


def _tab(tab: str, label: str) -> dict:
    return {"id": tab, "type": "tab", "label": label, "disabled": False, "info": ""}


def _change(node_id: str, tab: str, rules: list[dict], wires) -> dict:
    return {
        "id": node_id,
        "type": "change",
        "z": tab,
        "name": "",
        "rules": rules,
        "action": "",
        "property": "",
        "from": "",
        "to": "",
        "reg": False,
        "wires": wires,
    }


def _set(prop: str, to: str, tot: str) -> dict:
    return {"t": "set", "p": prop, "pt": "msg", "to": to, "tot": tot}


def _loop(tab: str, label: str, name: str, nodes: list[dict], inflight: int, payload_js: str, items: int):
    """starter -> nodes[0] -> ... -> nodes[-1] -> counter -> nodes[0]; each node's wires are set here."""
    first = nodes[0]["id"]
    starter = _starter(tab, name, inflight, payload_js, items)
    starter["wires"] = [[first]]
    counter = _counter(tab, first)
    for node, following in zip(nodes, [*nodes[1:], counter], strict=True):
        outputs = len(node["wires"]) or 1
        node["wires"] = [[] for _ in range(outputs)]
        node["wires"][node.pop("_out", 0)].append(following["id"])
    return [_tab(tab, label), starter, *nodes, counter]


# ---------------------------------------------------------------- the flows

JSONATA_RULES = [
    ("total", "$sum(payload.values)"),
    ("doubled", "$map(payload.values, function($v) { $v * 2 })"),
    ("label", '$uppercase(payload.name) & " #" & $string($count(payload.values))'),
    (
        "summary",
        '{"name": payload.name, "total": total, "max": $max(payload.values), "tags": $join(payload.tags, ",")}',
    ),
    ("big", "payload.values[$ > 10]"),
    ("avg", "$round($average(payload.values), 2)"),
    ("words", '$split(payload.name, " ")'),
    ("slug", '$lowercase($replace(payload.name, " ", "-"))'),
    ("stats", '{"sum": $sum(doubled), "n": $count(big), "first": $substring(label, 0, 4)}'),
    ("hops", "hops + 1"),
]
JSONATA_PAYLOAD = "{values: Array.from({length: 20}, (_, j) => j + 1), name: 'Temperature Sensor ' + i, tags: ['a', 'b', 'c']}"


def flow_jsonata() -> list[dict]:
    tab = "f_jsonata"
    hops = [
        _change(f"{tab}_{n}", tab, [_set(prop, expr, "jsonata")], [[]])
        for n, (prop, expr) in enumerate(JSONATA_RULES, 1)
    ]
    return _loop(tab, "bench: 10 JSONata change nodes", "jsonata", hops, 100, JSONATA_PAYLOAD, 11)


def _records_js(count: int) -> str:
    return f"Array.from({{length: {count}}}, (_, j) => ({{id: j, name: 'item-' + j, value: j * 1.5, ok: j % 2 === 0}}))"


def flow_fanout(label: str, records: int) -> list[dict]:
    """A change node wired to 10 change nodes (Node-RED clones the message for all but the first).
    Branch 0 loops back to the source; branch 9 drops the payload and tells the counter, so the
    counter (a JS function) sees one small message per loop, not ten large ones."""
    tab = f"f_fanout_{label}"
    source = f"{tab}_src"
    counter = _counter(tab, source, loop_back="null")
    counter["wires"] = [[]]
    branches = []
    for n in range(10):
        rules = [_set("branch", str(n), "num")]
        wires: list = [[]]
        if n == 0:
            wires = [[source]]
        elif n == 9:
            rules.append({"t": "delete", "p": "payload", "pt": "msg"})
            wires = [[counter["id"]]]
        branches.append(_change(f"{tab}_b{n}", tab, rules, wires))
    starter = _starter(tab, f"fanout-{label}", 1, _records_js(records), 10)
    starter["wires"] = [[source]]
    src = _change(source, tab, [_set("topic", "fan", "str")], [[b["id"] for b in branches]])
    return [_tab(tab, f"bench: fan-out to 10, {label} payload"), starter, src, *branches, counter]


def flow_split_join() -> list[dict]:
    tab = "f_splitjoin"
    split = {
        "id": f"{tab}_split",
        "type": "split",
        "z": tab,
        "name": "",
        "splt": "\\n",
        "spltType": "str",
        "arraySplt": 1,
        "arraySpltType": "len",
        "stream": False,
        "addname": "",
        "property": "payload",
        "wires": [[]],
    }
    switch = _switch(f"{tab}_switch", tab, "payload", [_rule("lt", "5000", "num"), {"t": "else"}])
    join = {
        "id": f"{tab}_join",
        "type": "join",
        "z": tab,
        "name": "",
        "mode": "auto",
        "build": "object",
        "property": "payload",
        "propertyType": "msg",
        "key": "topic",
        "joiner": "\\n",
        "joinerType": "str",
        "useparts": False,
        "accumulate": False,
        "timeout": "",
        "count": "",
        "reduceRight": False,
        "wires": [[]],
    }
    nodes = _loop(
        tab,
        "bench: split 10,000 -> switch -> join",
        "split-join",
        [split, switch, join],
        1,
        "Array.from({length: 10000}, (_, j) => j)",
        10000,
    )
    switch_node = next(n for n in nodes if n["id"] == switch["id"])
    switch_node["wires"] = [[join["id"]], [join["id"]]]
    return nodes


def _csv_node(node_id: str, tab: str, **options) -> dict:
    node = {
        "id": node_id,
        "type": "csv",
        "z": tab,
        "name": "",
        "spec": "rfc",
        "sep": ",",
        "hdrin": True,
        "hdrout": "all",
        "multi": "mult",
        "ret": "\\n",
        "temp": "",
        "skip": "0",
        "strings": True,
        "include_empty_strings": "",
        "include_null_values": "",
        "wires": [[]],
    }
    return node | options


def flow_csv() -> list[dict]:
    tab = "f_csv"
    rows = "'id,name,value,ok\\n' + Array.from({length: 10000}, (_, j) => j + ',item-' + j + ',' + (j * 1.5) + ',' + (j % 2 === 0)).join('\\n') + '\\n'"
    nodes = [_csv_node(f"{tab}_parse", tab), _csv_node(f"{tab}_stringify", tab)]
    return _loop(tab, "bench: csv parse and stringify, 10,000 rows", "csv", nodes, 1, rows, 10000)


TEMPLATE = (
    "Hello {{payload.name}}! You have {{payload.count}} new messages:"
    "{{#payload.items}} {{title}} ({{size}} kB);{{/payload.items}} {{^payload.empty}}none{{/payload.empty}}"
)
TEMPLATE_PAYLOAD = "{name: 'user' + i, count: 5, items: Array.from({length: 5}, (_, j) => ({title: 'mail ' + j, size: j * 3})), empty: []}"


def flow_template() -> list[dict]:
    tab = "f_template"
    hops = [
        {
            "id": f"{tab}_{n}",
            "type": "template",
            "z": tab,
            "name": "",
            "field": "rendered",
            "fieldType": "msg",
            "format": "handlebars",
            "syntax": "mustache",
            "template": TEMPLATE,
            "output": "str",
            "wires": [[]],
        }
        for n in range(1, 11)
    ]
    return _loop(tab, "bench: 10 mustache templates", "template", hops, 100, TEMPLATE_PAYLOAD, 11)


def _rule(t: str, v: str = "", vt: str = "num", **more) -> dict:
    return {"t": t, "v": v, "vt": vt, **more}


def _switch(node_id: str, tab: str, prop: str, rules: list[dict], checkall: str = "true") -> dict:
    return {
        "id": node_id,
        "type": "switch",
        "z": tab,
        "name": "",
        "property": prop,
        "propertyType": "msg",
        "rules": rules,
        "checkall": checkall,
        "repair": False,
        "outputs": len(rules),
        "wires": [[] for _ in rules],
    }


SWITCH_RULES = [
    _rule("eq", "1"),
    _rule("eq", "abc", "str"),
    _rule("lt", "10"),
    _rule("gt", "100"),
    _rule("btwn", "50", v2="60", v2t="num"),
    _rule("neq", "42"),
    _rule("lte", "20"),
    _rule("regex", "^x", "str", case=False),
    _rule("istype", "string", "string"),
    _rule("eq", "42"),  # the one that matches: every message passes all ten rules
]


def flow_switch() -> list[dict]:
    tab = "f_switch"
    hops = []
    for n in range(1, 11):
        node = _switch(f"{tab}_{n}", tab, "payload.value", SWITCH_RULES)
        node["_out"] = 9
        hops.append(node)
    return _loop(tab, "bench: 10 switch nodes of 10 rules", "switch", hops, 100, "{value: 42, n: i}", 11)


def flow_delay() -> list[dict]:
    tab = "f_delay"
    delay = {
        "id": f"{tab}_delay",
        "type": "delay",
        "z": tab,
        "name": "",
        "pauseType": "rate",
        "timeout": "5",
        "timeoutUnits": "seconds",
        "rate": "10000",
        "nbRateUnits": "1",
        "rateUnits": "second",
        "randomFirst": "1",
        "randomLast": "5",
        "randomUnits": "seconds",
        "drop": False,
        "allowrate": False,
        "outputs": 1,
        "wires": [[]],
    }
    return _loop(tab, "bench: delay, rate limit 10,000 msg/s", "delay", [delay], 100, "i", 1)


def flow_context(store: str) -> list[dict]:
    tab = f"f_context_{store}"
    arg = ", 'file'" if store == "file" else ""
    func = (
        f"const seen = flow.get('seen'{arg}) || 0;\n"
        f"flow.set('seen', seen + 1{arg});\n"
        f"const last = flow.get('last_' + node.name{arg});\n"
        f"flow.set('last_' + node.name, {{n: seen, topic: msg.topic}}{arg});\n"
        "msg.hops = msg.hops + 1;\n"
        "msg.seen = seen;\n"
        "return msg;"
    )
    hops = [_function(f"{tab}_{n}", tab, func, name=f"hop{n}") for n in range(1, 11)]
    return _loop(
        tab, f"bench: 10 functions on flow context ({store})", f"context-{store}", hops, 100, "i", 11
    )


LARGE_TABS, LARGE_PER_TAB = 50, 100


def _large_hop(node_id: str, tab: str, n: int) -> dict:
    kind = n % 3
    if kind == 0:
        return _change(node_id, tab, [_set("topic", f"t{n}", "str")], [[]])
    if kind == 1:
        return _switch(node_id, tab, "payload", [_rule("istype", "number", "number")])
    return {
        "id": node_id,
        "type": "template",
        "z": tab,
        "name": "",
        "field": "note",
        "fieldType": "msg",
        "format": "handlebars",
        "syntax": "mustache",
        "template": "{{topic}}:{{payload}}",
        "output": "str",
        "wires": [[]],
    }


def flow_large() -> list[dict]:
    """50 tabs of 100 nodes: change / switch / template hops, tab to tab through link nodes; tab 0
    holds the starter and the counter, fed back from the last tab's link out."""
    nodes: list[dict] = []
    back = "fl00_back"
    for t in range(LARGE_TABS):
        tab = f"fl{t:02d}"
        nodes.append(_tab(tab, f"bench: large flow, tab {t}"))
        own: list[dict] = []
        if t == 0:
            own.append(_starter(tab, "large", 100, "i", LARGE_TABS * LARGE_PER_TAB - 1))
            own.append({"id": back, "type": "link in", "z": tab, "name": "back", "links": [], "wires": [[]]})
            own.append(_counter(tab, ""))
        else:
            own.append(
                {"id": f"{tab}_in", "type": "link in", "z": tab, "name": "", "links": [], "wires": [[]]}
            )
        hops = LARGE_PER_TAB - len(own) - 1
        chain = [_large_hop(f"{tab}_h{n:02d}", tab, n) for n in range(hops)]
        out = {
            "id": f"{tab}_out",
            "type": "link out",
            "z": tab,
            "name": "",
            "mode": "link",
            "links": [],
            "wires": [],
        }
        feeders = own if t else [own[0], own[2]]  # tab 0: starter and counter feed the chain
        for feeder in feeders:
            feeder["wires"] = [[chain[0]["id"]]]
        if t == 0:
            own[1]["wires"] = [[own[2]["id"]]]  # back -> counter
        for node, following in zip(chain, [*chain[1:], out], strict=True):
            node["wires"] = [[] for _ in node["wires"]] or [[]]
            node["wires"][0].append(following["id"])
        nodes.extend([*own, *chain, out])
    ins = {n["id"]: n for n in nodes if n["type"] == "link in"}
    for t in range(LARGE_TABS):
        target = f"fl{t + 1:02d}_in" if t + 1 < LARGE_TABS else back
        out = next(n for n in nodes if n["id"] == f"fl{t:02d}_out")
        out["links"] = [target]
        ins[target]["links"].append(out["id"])
    return nodes


def all_flows() -> dict[str, list[dict]]:
    return {
        "f_jsonata.json": flow_jsonata(),
        "f_fanout_10k.json": flow_fanout("10k", 200),
        "f_fanout_1m.json": flow_fanout("1m", 20000),
        "f_split_join.json": flow_split_join(),
        "f_csv.json": flow_csv(),
        "f_template.json": flow_template(),
        "f_switch.json": flow_switch(),
        "f_delay.json": flow_delay(),
        "f_context_memory.json": flow_context("memory"),
        "f_context_file.json": flow_context("file"),
    }


def _flow_text(nodes: list[dict]) -> str:
    return "[\n" + ",\n".join(json.dumps(n) for n in nodes) + "\n]\n"


def generate_flows() -> list[Path]:
    """bench/flows/f_*.json, one node per line (diffs stay readable)."""
    written = []
    for name, nodes in all_flows().items():
        path = OWN_FLOWS / name
        path.write_text(_flow_text(nodes))
        written.append(path)
    return written


def large_flow_file() -> Path:
    """The 5,000-node flow (1.1 MB, not committed): written to bench/flows/generated/ when missing
    or not what flow_large() gives."""
    path = OWN_FLOWS / "generated" / "f_large.json"
    text = _flow_text(flow_large())
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    return path


# ---------------------------------------------------------------- measuring

RESULT_RE = re.compile(
    r"RESULT scenario=(\S+) loops=([\d.]+) secs=([\d.]+) loops_per_s=(\d+) items_per_s=(\d+)"
)


async def measure_loop(scenario: Scenario, server, settings: Settings) -> dict:
    # these flows log nothing at error level when they work: the first error fails the run
    line = await server.wait_for_line(
        "RESULT scenario=", 40.0 if settings.quick else 120.0, fail_on="[error]"
    )
    match = RESULT_RE.search(line)
    if not match:
        raise RuntimeError(f"cannot read the RESULT line: {line}")
    return {"msg_s": float(match.group(4)), "items_s": float(match.group(5)), "rss_kb": server.rss_kb()}


async def measure_start(scenario: Scenario, server, settings: Settings) -> dict:
    """Spawn to "Started flows" (the harness waited for it), RSS 1 s later (before the starter sends)."""
    await asyncio.sleep(1.0)
    return {"startup_ms": round((server.ready_at - server.spawned_at) * 1000, 1), "rss_kb": server.rss_kb()}


def _scenario(
    name: str, title: str, flow: str, metric: str = "items_s", kind: str = "loop", **params
) -> Scenario:
    path = large_flow_file() if flow == "f_large.json" else OWN_FLOWS / flow
    better = "lower" if metric in ("startup_ms", "rss_kb") else "higher"
    target = "<= 0.67" if better == "lower" else ">= 1.5"
    show = {"items_s": ("msg_s",), "startup_ms": ("rss_kb",), "rss_kb": ("startup_ms",)}[metric]
    return Scenario(name, title, kind, path, "node-red", path, metric, better, target, show, params)


SCENARIOS = [
    _scenario(
        "jsonata",
        "10 change nodes with JSONata ($sum, $map, strings, objects), 100 in flight",
        "f_jsonata.json",
    ),
    _scenario(
        "fanout-10k",
        "change wired to 10 change nodes, 10 kB object payload, 1 in flight",
        "f_fanout_10k.json",
    ),
    _scenario(
        "fanout-1m", "change wired to 10 change nodes, 1 MB object payload, 1 in flight", "f_fanout_1m.json"
    ),
    _scenario(
        "split-join",
        "split a 10,000-element array -> switch -> join (auto), 1 in flight",
        "f_split_join.json",
    ),
    _scenario("csv", "csv parse (10,000 rows, RFC 4180) -> csv stringify, 1 in flight", "f_csv.json"),
    _scenario("template", "10 mustache template nodes, 100 in flight", "f_template.json"),
    _scenario("switch10", "10 switch nodes of 10 rules (the last matches), 100 in flight", "f_switch.json"),
    _scenario("delay-rate", "delay, rate limit 10,000 msg/s (queue), 100 in flight", "f_delay.json"),
    _scenario(
        "context-memory",
        "10 JS functions get/set flow context (memory), 100 in flight",
        "f_context_memory.json",
    ),
    _scenario(
        "context-file",
        "10 JS functions get/set flow context (localfilesystem), 100 in flight",
        "f_context_file.json",
        settings=FILE_STORE,
    ),
    _scenario(
        "large-start",
        "5,000-node flow (50 tabs): spawn to Started flows",
        "f_large.json",
        "startup_ms",
        "start",
    ),
    _scenario(
        "large-rss", "5,000-node flow (50 tabs): RSS 1 s after start", "f_large.json", "rss_kb", "start"
    ),
    _scenario(
        "large-msgs", "5,000-node flow: 100 messages in flight, each loop through 4,999 nodes", "f_large.json"
    ),
]

MEASURES = {"loop": measure_loop, "start": measure_start}


if __name__ == "__main__":
    if sys.argv[1:2] == ["gen-flows"]:
        for written in generate_flows():
            print(f"wrote {written.relative_to(OWN_FLOWS.parent.parent)}")
    else:
        print(__doc__)
        sys.exit(2)
