"""SSE push latency: POST /push -> sse-send -> event on an open stream, measured at the client.

.venv/bin/python bench/bench_sse.py [--pushes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time

import aiohttp

from flowrt.testing import FlowProcess

FLOW = [
    {"id": "t", "type": "tab", "label": "bench sse"},
    {"id": "get", "type": "http in", "z": "t", "url": "/sse", "method": "get", "wires": [["sess"]]},
    {"id": "sess", "type": "sse-session", "z": "t", "keepalive": 15, "wires": [[], []]},
    {"id": "push", "type": "http in", "z": "t", "url": "/push", "method": "post", "wires": [["send"]]},
    {"id": "send", "type": "sse-send", "z": "t", "session": "req.query.sid", "wires": [["ok"]]},
    {"id": "ok", "type": "http response", "z": "t", "statusCode": "202", "wires": []},
]


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pushes", type=int, default=2000)
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(FLOW, f)
    async with FlowProcess([f.name]) as proc:
        async with aiohttp.ClientSession() as s:
            stream = await s.get(proc.url("/sse"))
            await stream.content.readline()
            sid = (await stream.content.readline()).decode().strip().split("sessionId=")[1]
            await stream.content.readline()
            latencies = []
            for i in range(a.pushes):
                t0 = time.perf_counter()
                async with s.post(
                    proc.url(f"/push?sid={sid}"), data=str(i), headers={"Content-Type": "text/plain"}
                ) as r:
                    assert r.status == 202, r.status
                while True:
                    line = await stream.content.readline()
                    if line.startswith(b"data: "):
                        assert line.strip() == f"data: {i}".encode()
                        break
                latencies.append(time.perf_counter() - t0)
            stream.close()
        latencies.sort()
        print(
            json.dumps(
                {
                    "pushes": len(latencies),
                    "p50_ms": round(statistics.median(latencies) * 1000, 3),
                    "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
                    "note": "round trip: POST /push until its event is read on the stream",
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
