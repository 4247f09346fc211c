"""Benchmark: the 10-node function chain of Node-RED's reference flows, in-process.

Runs /work/shared/node-red-reference/flows/c_chain_function_k1.json and _k100.json
on flowrt (JS `function` nodes on QuickJS), then the same chains with every
node converted to a `python-function` node. The flows' counter node reports a
RESULT line with `node.warn(...)` after a 2 s warm-up and a 10 s window; it is
captured from the log. Node-RED 4.1.15 measured 78k-93k node deliveries/s on
this machine class (see /work/shared/node-red-reference/README.md).

    .venv/bin/python bench/bench_function_chain.py [--window-ms 10000] [--only js|py]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path

from flowrt.engine.runtime import Runtime
from flowrt.log import Logger
from flowrt.settings import Settings

FLOWS = Path(__file__).resolve().parents[1].parent / "shared" / "node-red-reference" / "flows"
NODE_RED = "78k-93k"

# The same chain in Python, line for line.
PY_STARTER_INIT = """\
flow.set('st', {'chain': 'python-function', 'inflight': INFLIGHT, 'warm_ms': WARM, 'window_ms': WINDOW,
                't0': 0, 'tm': 0, 'n': 0, 'nm': 0, 'done': False})
def go():
    for i in range(INFLIGHT):
        node.send({'payload': i, 'hops': 0, 'topic': ''})
node.call_later(1.5, go)
"""
PY_HOP = "msg['hops'] = msg['hops'] + 1\nreturn msg"
PY_COUNTER = """\
import time
st = flow.get('st')
if st['done']:
    return None
now = time.time() * 1000
if st['t0'] == 0:
    st['t0'] = now
st['n'] += 1
if st['tm'] == 0 and now - st['t0'] >= st['warm_ms']:
    st['tm'] = now
    st['nm'] = st['n']
if st['tm'] != 0 and now - st['tm'] >= st['window_ms']:
    loops = st['n'] - st['nm']
    dt = (now - st['tm']) / 1000
    st['done'] = True
    node.warn(f"RESULT chain={st['chain']} inflight={st['inflight']} loops={loops} secs={dt} "
              f"loops_per_s={round(loops / dt)} node_deliveries_per_s={round(loops * 11 / dt)} "
              f"hops_seen={msg['hops']}")
    return None
return msg
"""


def load_flow(name: str, window_ms: int | None) -> list[dict]:
    nodes = json.loads((FLOWS / name).read_text())
    if window_ms:
        for n in nodes:
            if n.get("initialize"):
                n["initialize"] = n["initialize"].replace("window_ms: 10000", f"window_ms: {window_ms}")
    return nodes


def to_python(nodes: list[dict]) -> list[dict]:
    out = []
    for n in nodes:
        n = dict(n)
        if n.get("type") == "function":
            n["type"] = "python-function"
            if n.get("initialize"):
                inflight = re.search(r"inflight: (\d+)", n["initialize"]).group(1)
                window = re.search(r"window_ms: (\d+)", n["initialize"]).group(1)
                warm = re.search(r"warm_ms: (\d+)", n["initialize"]).group(1)
                n["initialize"] = (
                    PY_STARTER_INIT.replace("INFLIGHT", inflight)
                    .replace("WINDOW", window)
                    .replace("WARM", warm)
                )
                n["func"] = "return msg"
            elif "RESULT" in n.get("func", ""):
                n["func"] = PY_COUNTER
                n["initialize"] = ""
            else:
                n["func"] = PY_HOP
        out.append(n)
    return out


async def run(nodes: list[dict], timeout: float = 120.0) -> str:
    found: asyncio.Future = asyncio.get_running_loop().create_future()
    logger = Logger("warn")

    def on_log(record) -> None:
        if "RESULT" in record.text and not found.done():
            found.set_result(record.text)
        elif record.level == "error":
            print("  error:", record.text, file=sys.stderr)

    logger.listeners.append(on_log)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime(Settings({"httpServer": False, "userDir": tmp, "logLevel": "warn"}), logger=logger)
        await runtime.start(nodes)
        try:
            return await asyncio.wait_for(found, timeout)
        finally:
            await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--window-ms", type=int, default=None, help="measurement window (default: the flow's 10000)"
    )
    parser.add_argument("--only", choices=["js", "py"], default=None)
    args = parser.parse_args()
    print(f"Node-RED 4.1.15 reference: {NODE_RED} node deliveries/s (10 JS function nodes in a loop)")
    for k in ("k1", "k100"):
        nodes = load_flow(f"c_chain_function_{k}.json", args.window_ms)
        variants = [("function (QuickJS)", nodes), ("python-function", to_python(nodes))]
        for label, flow in variants:
            if args.only == "js" and label.startswith("python"):
                continue
            if args.only == "py" and not label.startswith("python"):
                continue
            result = asyncio.run(run(flow))
            rate = re.search(r"node_deliveries_per_s=(\d+)", result)
            print(f"{k:5} {label:20} {int(rate.group(1)):>9,} deliveries/s   [{result}]", flush=True)


if __name__ == "__main__":
    main()
