"""GET /hello req/s against `flowrt run` (http in -> change -> http response), aiohttp load generator.

.venv/bin/python bench/bench_http.py [--seconds 10] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import aiohttp

from flowrt.testing import FlowProcess

HELLO = (
    Path(__file__).resolve().parents[1].parent / "shared" / "node-red-reference" / "flows" / "a_hello.json"
)


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=50)
    a = p.parse_args()
    async with FlowProcess([HELLO]) as proc:
        url = proc.url("/hello")
        latencies: list[float] = []
        errors = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
            for _ in range(200):  # warm-up
                async with s.get(url) as r:
                    await r.read()
            end = time.perf_counter() + a.seconds

            async def worker() -> None:
                nonlocal errors
                while time.perf_counter() < end:
                    t0 = time.perf_counter()
                    async with s.get(url) as r:
                        await r.read()
                        if r.status != 200:
                            errors += 1
                    latencies.append(time.perf_counter() - t0)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(a.concurrency)))
            elapsed = time.perf_counter() - start
        latencies.sort()
        print(
            json.dumps(
                {
                    "requests": len(latencies),
                    "req_per_s": round(len(latencies) / elapsed),
                    "p50_ms": round(statistics.median(latencies) * 1000, 2),
                    "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
                    "errors": errors,
                    "concurrency": a.concurrency,
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
