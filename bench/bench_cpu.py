"""CPU time per unit of work, for A/B comparisons on a busy machine (issue 19).

Wall-clock rates move by 2x on this shared VM; the CPU time the server spends on a fixed amount
of work moves far less. Two measurements:

- `chain NAME`: a Node-RED reference chain flow (`c_chain_change_k100.json`, ...) runs in this
  process, unchanged except that its JS counter also reports the loop count MARK and END (via
  `node.warn`); the process's CPU time between the two, divided by the deliveries (loops x 11),
  is the figure. `--profile FILE` runs cProfile over the same window and prints the top frames.
- `http hello|echo|aiohttp`: `flowrt run` (or the bare aiohttp handler) as a real process, wrk
  with 50 connections; the server's utime+stime (/proc/PID/stat) over the measured seconds,
  divided by the requests answered.

Run it with the interpreter of the tree to measure (its venv imports that tree's flowrt):

    /work/wt/X/.venv/bin/python bench/bench_cpu.py chain c_chain_change_k100.json --loops 60000
    /work/wt/X/.venv/bin/python bench/bench_cpu.py http echo --seconds 5

`ab A_PYTHON B_PYTHON -- ARGS...` runs the same measurement with two interpreters (two trees),
alternating which goes first, `--rounds` times, and prints the minimum and median of each: the
minimum is the least disturbed run, the figure to compare on a shared machine.

    .venv/bin/python bench/bench_cpu.py ab /work/wt/base/.venv/bin/python .venv/bin/python \\
        --rounds 5 -- chain c_chain_change_k100.json --loops 30000
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[1].parent / "shared" / "node-red-reference" / "flows"
BENCH = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- chains, in-process
def counted_flow(name: str, mark: int, end: int) -> list[dict]:
    """The reference flow with a counter that says MARK at loop `mark` and END at loop `end`."""
    nodes = json.loads((FLOWS / name).read_text())
    for n in nodes:
        # the flow's own measuring window must not end the run before END (a slow loop such as
        # f_csv's would stop counting after its 10 s window and never reach END)
        if n.get("type") == "function" and "window_ms" in (n.get("initialize") or ""):
            n["initialize"] = re.sub(r"window_ms:\s*\d+", "window_ms: 1e12", n["initialize"])
        func = n.get("func") or ""
        if n.get("type") == "function" and "RESULT" in func:
            hook = (
                f"st.n++;\nif (st.n === {mark}) node.warn('MARK');\n"
                f"if (st.n === {end}) {{ st.done = true; node.warn('END'); return null; }}\n"
            )
            assert "st.n++;" in func, "the counter's code changed"
            n["func"] = func.replace("st.n++;", hook, 1)
    return nodes


async def run_chain(name: str, loops: int, profile: str | None) -> dict:
    from flowrt.engine.runtime import Runtime
    from flowrt.log import Logger
    from flowrt.settings import Settings

    mark = max(loops // 10, 100)
    nodes = counted_flow(name, mark, mark + loops)
    done = asyncio.get_running_loop().create_future()
    marks: dict[str, tuple[float, float]] = {}
    profiler = cProfile.Profile() if profile else None

    def on_log(record) -> None:
        if record.text in ("MARK", "END"):
            if record.text == "END" and profiler:
                profiler.disable()
            marks[record.text] = (time.process_time(), time.perf_counter())
            if record.text == "MARK" and profiler:
                profiler.enable()
            if record.text == "END" and not done.done():
                done.set_result(None)
        elif record.level == "error":
            print("  error:", record.text, file=sys.stderr)

    logger = Logger("error")
    logger.listeners.append(on_log)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings({"httpServer": False, "userDir": tmp, "logLevel": "error"})
        runtime = Runtime(settings, logger=logger)
        await runtime.start(nodes)
        try:
            await asyncio.wait_for(done, 600)
        finally:
            await runtime.close()
    cpu = marks["END"][0] - marks["MARK"][0]
    wall = marks["END"][1] - marks["MARK"][1]
    deliveries = loops * 11
    if profiler:
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
    return {
        "flow": name,
        "loops": loops,
        "cpu_s": round(cpu, 3),
        "cpu_us_per_delivery": round(cpu / deliveries * 1e6, 3),
        "wall_deliveries_per_s": round(deliveries / wall),
    }


# ---------------------------------------------------------------- HTTP, a real server process
HTTP = {
    "hello": ("a_hello.json", "GET", "/hello", b""),
    "echo": ("b_echo.json", "POST", "/echo", b'{"n":1}'),
    "aiohttp": (None, "GET", "/hello", b""),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _wrk(port: int, method: str, path: str, body: bytes, seconds: int, tmp: str) -> int:
    args = ["wrk", "-t1", "-c50", f"-d{seconds}s"]
    if method != "GET":
        script = Path(tmp) / "req.lua"
        script.write_text(
            f"wrk.method = \"{method}\"\nwrk.body = '{body.decode()}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        args += ["-s", str(script)]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    found = re.search(r"(\d+) requests in", out)
    if not found or "Non-2xx" in out:
        raise RuntimeError(f"wrk: {out}")
    return int(found.group(1))


def run_http(name: str, seconds: int, env_extra: dict[str, str]) -> dict:
    flow, method, path, body = HTTP[name]
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if flow is None:
            cmd = [sys.executable, __file__, "serve-aiohttp", str(port)]
        else:
            cmd = [sys.executable, "-m", "flowrt", "run", str(FLOWS / flow), "-p", str(port), "-u", tmp]
        env = {**os.environ, **env_extra}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            for line in proc.stdout:
                if "Started flows" in line:
                    break
            _wrk(port, method, path, body, 1, tmp)  # warm-up
            before = _cpu_ticks(proc.pid)
            requests = _wrk(port, method, path, body, seconds, tmp)
            cpu = (_cpu_ticks(proc.pid) - before) / TICKS
        finally:
            proc.terminate()
            proc.wait(10)
    return {
        "scenario": name,
        "requests": requests,
        "req_s": round(requests / seconds),
        "server_cpu_s": round(cpu, 2),
        "cpu_us_per_request": round(cpu / requests * 1e6, 1),
    }


def run_ab(pythons: list[str], rounds: int, args: list[str]) -> None:
    """Alternating runs of the same measurement under each interpreter; min and median of each."""
    import statistics

    figures: dict[str, list[float]] = {p: [] for p in pythons}
    metric = "cpu_us_per_delivery" if args[0] == "chain" else "cpu_us_per_request"
    for round_ in range(rounds):
        order = pythons if round_ % 2 == 0 else pythons[::-1]
        for python in order:
            out = subprocess.run([python, __file__, *args], capture_output=True, text=True, check=True)
            figures[python].append(json.loads(out.stdout.strip().splitlines()[-1])[metric])
    base = min(figures[pythons[0]])
    for python, values in figures.items():
        best = min(values)
        print(
            f"{python}: {metric} min {best:.3f} median {statistics.median(values):.3f} "
            f"(runs: {', '.join(f'{v:.3f}' for v in values)}) min vs first: {best / base:.3f}"
        )


def serve_aiohttp(port: int) -> None:
    """The bare aiohttp handler of bench/scenarios.py's hello-vs-aiohttp baseline (the same code,
    here so that this script does not import the scenario registry)."""
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="Hello, World!", content_type="text/html")

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/hello", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("Started flows (bare aiohttp)", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


def main() -> None:
    if sys.argv[1:2] == ["serve-aiohttp"]:
        serve_aiohttp(int(sys.argv[2]))
        return
    if sys.argv[1:2] == ["ab"]:
        rest = sys.argv[2:]
        split = rest.index("--")
        head, tail = rest[:split], rest[split + 1 :]
        rounds = 5
        if "--rounds" in head:
            at = head.index("--rounds")
            rounds = int(head[at + 1])
            del head[at : at + 2]
        run_ab(head, rounds, tail)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    chain = sub.add_parser("chain")
    chain.add_argument("flow", help="a reference flow file name, e.g. c_chain_change_k100.json")
    chain.add_argument("--loops", type=int, default=50_000)
    chain.add_argument("--profile", metavar="FILE", help="cProfile the measured window into FILE")
    http = sub.add_parser("http")
    http.add_argument("scenario", choices=sorted(HTTP))
    http.add_argument("--seconds", type=int, default=5)
    http.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    if args.kind == "chain":
        result = asyncio.run(run_chain(args.flow, args.loops, args.profile))
    else:
        result = run_http(args.scenario, args.seconds, dict(e.split("=", 1) for e in args.env))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
