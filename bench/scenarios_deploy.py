"""Editor deploy scenarios (issue 16): `POST /flows` of a 1,000-node flow, flowrt vs Node-RED.

Both runtimes start on bench/flows/deploy_start.json (an `http in` GET /probe answering "start")
with their editor API on (flowrt `--editor`, Node-RED `disableEditor: false`). The measurement
then deploys, through the admin API as the editor does (v1: the body is the node list), a flow of
1,000 nodes generated here (`big_flow`): 99 chains of 10 nodes (inject, change, switch, function,
template, json, change, range, delay, debug) over 10 tabs, the probe (http in -> change ->
http response, whose change node answers a tag), and 7 nodes that hold HTTP requests in a delay
node until POST /release flushes it. flowrt's flow adds an `sse-session` on GET /sse.

- deploy-full: `Node-RED-Deployment-Type: full` of the whole flow, replacing the same flow with
  another probe tag: milliseconds from sending POST /flows until GET /probe answers the new tag
  (Node-RED answers the POST before its flows have started, flowrt after: both are timed to the
  probe). The median of the deploys after the first.
- deploy-nodes: the same flow deployed once, then HELD requests left waiting in the delay node
  (and, on flowrt, SSE streams open), then `nodes` deploys that change only the probe's change
  node: milliseconds until the probe answers the new tag; afterwards POST /release: `held_kept`
  is the fraction of held requests answered (1.0: no deploy disturbed them), `sse_kept` the
  fraction of SSE streams still open.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import TYPE_CHECKING

import aiohttp

# bench/scenarios.py imports this module half-way through its own import: only names defined
# above its scenario table are there yet.
from scenarios import OWN_FLOWS, Scenario

if TYPE_CHECKING:
    from scenarios import Settings

TABS, CHAINS = 10, 99
HELD = 20
SSE_STREAMS = 20
POLL_S = 0.002


# ----- the flow ---------------------------------------------------------------------------------


def _chain(tab: str, n: int) -> list[dict]:
    """Ten nodes wired in a row; nothing sends into them during the measurement."""
    ids = [f"c{n}_{i}" for i in range(10)]

    def node(i: int, type_: str, **props) -> dict:
        wires = [[ids[i + 1]]] if i < 9 else []
        return {
            "id": ids[i],
            "type": type_,
            "z": tab,
            "name": "",
            "x": 100 + 150 * i,
            "y": 40 + 40 * n,
            "wires": wires,
            **props,
        }

    set_rule = [{"t": "set", "p": "payload", "pt": "msg", "to": f"chain {n}", "tot": "str"}]
    return [
        node(
            0,
            "inject",
            props=[{"p": "payload"}],
            repeat="",
            crontab="",
            once=False,
            onceDelay=0.1,
            topic="",
            payload="",
            payloadType="date",
        ),
        node(1, "change", rules=set_rule),
        node(
            2,
            "switch",
            property="payload",
            propertyType="msg",
            checkall="true",
            repair=False,
            rules=[{"t": "nnull"}],
            outputs=1,
        ),
        node(
            3,
            "function",
            func="msg.n = (msg.n || 0) + 1;\nreturn msg;",
            outputs=1,
            timeout=0,
            noerr=0,
            initialize="",
            finalize="",
            libs=[],
        ),
        node(
            4,
            "template",
            field="payload",
            fieldType="msg",
            format="handlebars",
            syntax="mustache",
            template="{{payload}} #{{n}}",
            output="str",
        ),
        node(5, "json", property="payload", action="str", pretty=False),
        node(6, "change", rules=[{"t": "set", "p": "topic", "pt": "msg", "to": "t", "tot": "str"}]),
        node(
            7,
            "range",
            minin="0",
            maxin="10",
            minout="0",
            maxout="100",
            action="clamp",
            round=False,
            property="n",
        ),
        node(
            8,
            "delay",
            pauseType="delay",
            timeout="1",
            timeoutUnits="seconds",
            rate="1",
            nbRateUnits="1",
            rateUnits="second",
            randomFirst="1",
            randomLast="5",
            randomUnits="seconds",
            drop=False,
            allowrate=False,
            outputs=1,
        ),
        node(
            9,
            "debug",
            active=False,
            tosidebar=True,
            console=False,
            tostatus=False,
            complete="false",
            targetType="msg",
            statusVal="",
            statusType="auto",
        ),
    ]


def _http(tab: str, node_id: str, url: str, wires: list, method: str = "get") -> dict:
    return {
        "id": node_id,
        "type": "http in",
        "z": tab,
        "name": "",
        "url": url,
        "method": method,
        "upload": False,
        "swaggerDoc": "",
        "x": 100,
        "y": 40,
        "wires": wires,
    }


def _response(tab: str, node_id: str) -> dict:
    return {
        "id": node_id,
        "type": "http response",
        "z": tab,
        "name": "",
        "statusCode": "",
        "headers": {},
        "x": 500,
        "y": 40,
        "wires": [],
    }


def big_flow(tag: str, runtime: str) -> list[dict]:
    """The 1,000-node flow; the probe answers `tag`."""
    tabs = [f"dt{t}" for t in range(TABS)]
    flows: list[dict] = [{"id": t, "type": "tab", "label": f"bench deploy {t}"} for t in tabs]
    for n in range(CHAINS):
        flows.extend(_chain(tabs[n % TABS], n))
    main = tabs[0]
    flows += [
        _http(main, "dp_in", "/probe", [["dp_set"]]),
        {
            "id": "dp_set",
            "type": "change",
            "z": main,
            "name": "",
            "x": 300,
            "y": 40,
            "wires": [["dp_out"]],
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": tag, "tot": "str"}],
        },
        _response(main, "dp_out"),
        _http(main, "hold_in", "/hold", [["hold"]]),
        {
            "id": "hold",
            "type": "delay",
            "z": main,
            "name": "",
            "pauseType": "delay",
            "timeout": "1",
            "timeoutUnits": "hours",
            "rate": "1",
            "nbRateUnits": "1",
            "rateUnits": "second",
            "randomFirst": "1",
            "randomLast": "5",
            "randomUnits": "seconds",
            "drop": False,
            "allowrate": False,
            "outputs": 1,
            "x": 300,
            "y": 40,
            "wires": [["hold_out"]],
        },
        _response(main, "hold_out"),
        _http(main, "release_in", "/release", [["release_fn", "release_out"]], method="post"),
        {
            "id": "release_fn",
            "type": "function",
            "z": main,
            "name": "",
            "func": "return {flush: true};",
            "outputs": 1,
            "timeout": 0,
            "noerr": 0,
            "initialize": "",
            "finalize": "",
            "libs": [],
            "x": 300,
            "y": 40,
            "wires": [["hold"]],
        },
        _response(main, "release_out"),
    ]
    if runtime == "flowrt":
        flows += [
            _http(main, "sse_in", "/sse", [["sse"]]),
            {
                "id": "sse",
                "type": "sse-session",
                "z": main,
                "name": "",
                "keepalive": 0,
                "x": 300,
                "y": 40,
                "wires": [[], []],
            },
        ]
    return flows


def with_tag(flows: list[dict], tag: str) -> list[dict]:
    """The same flow with only the probe's change node changed."""
    out = json.loads(json.dumps(flows))
    next(n for n in out if n["id"] == "dp_set")["rules"][0]["to"] = tag
    return out


# ----- talking to the runtime ------------------------------------------------------------------


async def _probe(session: aiohttp.ClientSession, url: str) -> str | None:
    try:
        async with session.get(url) as resp:
            return await resp.text() if resp.status == 200 else None
    except (TimeoutError, aiohttp.ClientError):
        return None


async def _wait_probe(session: aiohttp.ClientSession, base: str, tag: str, timeout: float = 120.0) -> None:
    """Until GET /probe answers `tag`. A probe is sent every POLL_S without waiting for the ones
    before: Node-RED answers POST /flows before it starts the new nodes, and a request that
    arrives in between is never answered (it reaches a stopped node), so one probe at a time
    would measure that request's timeout instead of the deploy."""
    deadline = time.monotonic() + timeout
    pending: set[asyncio.Task] = set()
    try:
        while time.monotonic() < deadline:
            pending.add(asyncio.ensure_future(_probe(session, base + "/probe")))
            done, pending = await asyncio.wait(pending, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
            if any(task.result() == tag for task in done):
                return
        raise RuntimeError(f"GET /probe did not answer {tag!r} within {timeout}s")
    finally:
        for task in pending:
            task.cancel()


async def _deploy(session: aiohttp.ClientSession, base: str, flows: list[dict], deploy_type: str) -> None:
    headers = {"Content-Type": "application/json", "Node-RED-Deployment-Type": deploy_type}
    async with session.post(base + "/flows", data=json.dumps(flows), headers=headers) as resp:
        if resp.status not in (200, 204):
            raise RuntimeError(
                f"POST /flows ({deploy_type}) answered {resp.status}: {(await resp.text())[:300]}"
            )


async def _timed_deploy(session, base: str, flows: list[dict], deploy_type: str, tag: str) -> float:
    start = time.perf_counter()
    await _deploy(session, base, flows, deploy_type)
    await _wait_probe(session, base, tag)
    return (time.perf_counter() - start) * 1000


async def _admin_ready(session: aiohttp.ClientSession, base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with session.get(base + "/flows") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the admin API (GET /flows) did not answer: is the editor on?")
        await asyncio.sleep(0.05)


async def _open_sse(session: aiohttp.ClientSession, url: str) -> tuple[aiohttp.ClientResponse, asyncio.Task]:
    resp = await session.get(url, timeout=aiohttp.ClientTimeout(total=None))
    first = asyncio.Event()

    async def read() -> None:
        async for _line in resp.content:
            first.set()

    reader = asyncio.get_running_loop().create_task(read())
    await asyncio.wait_for(first.wait(), 10)
    return resp, reader


# ----- the measurement ------------------------------------------------------------------------


async def measure_deploy(scenario: Scenario, server, settings: Settings) -> dict:
    runtime = "flowrt" if server.name == "flowrt" else "node-red"
    base = f"http://127.0.0.1:{server.port}"
    count = 3 if settings.quick else 10
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await _admin_ready(session, base)
        await _wait_probe(session, base, "start")
        flows = big_flow("v0", runtime)
        first_ms = await _timed_deploy(session, base, flows, "full", "v0")
        if scenario.params["deploy"] == "full":
            samples = []
            for i in range(1, count + 1):
                tag = f"v{i}"
                samples.append(await _timed_deploy(session, base, with_tag(flows, tag), "full", tag))
            return {"deploy_ms": statistics.median(samples), "first_ms": first_ms, "rss_kb": server.rss_kb()}
        return await _measure_nodes_deploys(session, base, flows, runtime, count, settings) | {
            "rss_kb": server.rss_kb()
        }


async def _measure_nodes_deploys(
    session, base: str, flows: list[dict], runtime: str, count: int, settings
) -> dict:
    held = [asyncio.ensure_future(session.get(base + "/hold")) for _ in range(HELD)]
    streams = [
        await _open_sse(session, base + "/sse") for _ in range(SSE_STREAMS if runtime == "flowrt" else 0)
    ]
    await asyncio.sleep(settings.settle)  # let the held requests reach the delay node
    if any(task.done() for task in held):
        raise RuntimeError("a held request was answered before the release")
    samples = []
    for i in range(1, count + 1):
        tag = f"n{i}"
        samples.append(await _timed_deploy(session, base, with_tag(flows, tag), "nodes", tag))
    sse_open = sum(1 for _resp, reader in streams if not reader.done())
    async with session.post(base + "/release") as resp:
        await resp.read()
    done, _pending = await asyncio.wait(held, timeout=20)
    answered = 0
    for task in done:
        if task.exception() is None:
            resp = task.result()
            answered += resp.status == 200
            resp.release()
    for task in held:
        task.cancel()
    for resp, reader in streams:
        reader.cancel()
        resp.close()
    metrics = {"deploy_ms": statistics.median(samples), "max_ms": max(samples), "held_kept": answered / HELD}
    if runtime == "flowrt":
        metrics["sse_kept"] = sse_open / SSE_STREAMS
    return metrics


START = OWN_FLOWS / "deploy_start.json"


def _scenario(name: str, title: str, target: str, deploy: str, show: tuple[str, ...]) -> Scenario:
    params = {"deploy": deploy, "editor": True}
    return Scenario(
        name, title, "deploy", START, "node-red", START, "deploy_ms", "lower", target, show, params
    )


SCENARIOS = [
    _scenario(
        "deploy-full",
        "full deploy of a 1,000-node flow (POST /flows) until its http in answers",
        "<= 0.5",
        "full",
        ("first_ms",),
    ),
    _scenario(
        "deploy-nodes",
        "nodes deploy changing one node of the 1,000-node flow, held requests and SSE streams open",
        "deploy_ms < 50",
        "nodes",
        ("max_ms", "held_kept", "sse_kept"),
    ),
]

MEASURES = {"deploy": measure_deploy}
