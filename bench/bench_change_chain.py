"""Benchmark: the 10-node change chain of Node-RED's reference flows, in-process.

Runs /work/shared/node-red-reference/flows/c_chain_change_k1.json and _k100.json
on flowrt. The 10 change nodes are used exactly as in the files; the two JS
`function` nodes (starter and counter/looper) are replaced by small Python
nodes doing the same: the starter sends K messages 1.5 s after start, the
counter loops each message back into the chain and counts loops. Deliveries/s
= loops/s x 11, counted over a 10 s window after a 2 s warm-up, as Node-RED's
reference measurement (233k-302k node deliveries/s, Node-RED 4.1.15).

    .venv/bin/python bench/bench_change_chain.py [--window 10] [--warm 2] [--only k1|k100] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import re
import time
from pathlib import Path

from flowrt import Node
from flowrt.engine.registry import registry
from flowrt.engine.runtime import Runtime
from flowrt.log import Logger
from flowrt.settings import Settings

FLOWS = Path(__file__).resolve().parents[1].parent / "shared" / "node-red-reference" / "flows"
NODE_RED = "233k-302k"


class BenchStarter(Node):
    """Stands in for the starter function: sends `inflight` messages after a delay."""

    def setup(self) -> None:
        self.call_later(self.config["_start_after"], self._go)

    def _go(self) -> None:
        for i in range(self.config["_inflight"]):
            self.send({"payload": i, "hops": 0, "topic": ""})

    def on_input(self, msg, send):
        send(msg)


class BenchCounter(Node):
    """Stands in for the counter/looper function: counts loops, sends the message round again."""

    def setup(self) -> None:
        self.n = 0
        self.t0 = 0.0
        self.tm = 0.0
        self.nm = 0
        self.done_event = asyncio.Event()
        self.result = None
        self.warm = self.config["_warm"]
        self.window = self.config["_window"]

    def on_input(self, msg, send):
        if self.result is not None:
            return
        now = time.perf_counter()
        if self.t0 == 0:
            self.t0 = now
        self.n += 1
        if self.tm == 0 and now - self.t0 >= self.warm:
            self.tm = now
            self.nm = self.n
        if self.tm != 0 and now - self.tm >= self.window:
            loops = self.n - self.nm
            self.result = (loops, now - self.tm, msg.get("hops"), msg.get("topic"))
            self.done_event.set()
            return
        send(msg)


for name, cls in (("bench-starter", BenchStarter), ("bench-counter", BenchCounter)):
    if registry.get_type(name) is None:
        registry.register(name, cls, origin="bench")


def build(name: str, warm: float, window: float) -> tuple[list[dict], str]:
    nodes = json.loads((FLOWS / name).read_text())
    counter_id = ""
    for n in nodes:
        if n.get("type") != "function":
            continue
        if n.get("initialize"):
            n["type"] = "bench-starter"
            n["_inflight"] = int(re.search(r"inflight: (\d+)", n["initialize"]).group(1))
            n["_start_after"] = 1.5
        else:
            n["type"] = "bench-counter"
            n["_warm"] = warm
            n["_window"] = window
            counter_id = n["id"]
    changes = [n for n in nodes if n.get("type") == "change"]
    assert len(changes) == 10, "expected the 10 change nodes of the reference flow"
    return nodes, counter_id


async def run(name: str, warm: float, window: float) -> dict:
    nodes, counter_id = build(name, warm, window)
    runtime = Runtime(Settings({"httpServer": False, "logLevel": "warn"}), logger=Logger("warn"))
    await runtime.start(nodes)
    try:
        counter = runtime.get_node(counter_id)
        await asyncio.wait_for(counter.done_event.wait(), warm + window + 30)
        loops, secs, hops, topic = counter.result
    finally:
        await runtime.close()
    return {
        "flow": name,
        "loops": loops,
        "secs": round(secs, 3),
        "loops_per_s": round(loops / secs),
        "node_deliveries_per_s": round(loops * 11 / secs),
        "last_topic": topic,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--warm", type=float, default=2.0)
    parser.add_argument("--only", choices=["k1", "k100"])
    parser.add_argument("--profile", action="store_true", help="cProfile the run, print the top functions")
    args = parser.parse_args()
    flows = ["c_chain_change_k1.json", "c_chain_change_k100.json"]
    if args.only:
        flows = [f"c_chain_change_{args.only}.json"]
    for name in flows:
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        result = asyncio.run(run(name, args.warm, args.window))
        if profiler:
            profiler.disable()
        print(
            f"{result['flow']}: {result['node_deliveries_per_s']:,} node deliveries/s "
            f"({result['loops_per_s']:,} loops/s over {result['secs']} s, last topic {result['last_topic']!r}) "
            f"- Node-RED 4.1.15: {NODE_RED}",
            flush=True,
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
