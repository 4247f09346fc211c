"""CPU time to load, validate and start a large flow, and to deploy one (issue 19), in-process.

`flow`: bench/flows/generated/f_large.json (50 tabs of 100 nodes, bench/scenarios_flows.py) is
loaded (`load_deployment`), validated (`validate_deployment`, as `flowrt run` does) and started
(`Runtime.start`, no HTTP server), then stopped; the process's CPU time of each step is printed:

    RESULT load_ms=.. validate_ms=.. start_ms=.. total_ms=..

`run`: `flowrt run` of that flow as a process, until "Started flows": its CPU time (with the
forked validation child's) and wall time:

    RESULT run_cpu_ms=.. run_wall_ms=..

`deploy-http`: the same deploys through POST /flows of `flowrt run --editor` (a process): the
server's CPU time and the wall time of each POST, medians:

    RESULT full_cpu_ms=.. full_wall_ms=.. nodes_cpu_ms=.. nodes_wall_ms=..

`deploy`: the deploy scenario's 1,011-node flow (bench/scenarios_deploy.py) through the editor's
deploy steps without HTTP (validation of the body, write-back to a flow file, `Runtime.redeploy`):
one full deploy, then `--deploys` `nodes` deploys each changing one change node:

    RESULT full_ms=.. nodes_ms=.. (median) nodes_validate_ms=.. nodes_write_ms=.. nodes_redeploy_ms=..

Each figure is one process's own CPU time (time.process_time), which load on a shared machine
moves less than wall time. `--profile FILE` writes cProfile stats of the measured steps and
prints the top frames. `ab PYTHON... --rounds N -- flow|deploy` runs the measurement under each
interpreter (each tree's venv imports its own flowrt), alternating, and prints min and median:

    .venv/bin/python bench/bench_start.py ab /work/wt/base/.venv/bin/python .venv/bin/python \\
        --rounds 5 -- flow
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


class _Steps:
    """CPU milliseconds per named step, optionally under one profiler."""

    def __init__(self, profile: str | None) -> None:
        self.profiler = cProfile.Profile() if profile else None
        self.ms: dict[str, list[float]] = {}

    def run(self, name: str, func, *args):
        if self.profiler:
            self.profiler.enable()
        start = time.process_time()
        try:
            return func(*args)
        finally:
            self.ms.setdefault(name, []).append((time.process_time() - start) * 1000)
            if self.profiler:
                self.profiler.disable()

    async def run_async(self, name: str, coro):
        if self.profiler:
            self.profiler.enable()
        start = time.process_time()
        try:
            return await coro
        finally:
            self.ms.setdefault(name, []).append((time.process_time() - start) * 1000)
            if self.profiler:
                self.profiler.disable()

    def report(self, profile: str | None) -> None:
        if self.profiler and profile:
            self.profiler.dump_stats(profile)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def _runtime(http: bool = False):
    from flowrt.engine.runtime import Runtime
    from flowrt.settings import Settings

    values = {"logLevel": "warn", "userDir": tempfile.mkdtemp(), "uiPort": 0, "uiHost": "127.0.0.1"}
    settings = Settings({**values, "httpServer": http})
    runtime = Runtime(settings)
    runtime.warn_missing_wires = False
    return runtime


async def measure_flow(profile: str | None) -> None:
    import scenarios  # noqa: F401 (imports scenarios_flows itself: importing it first is circular)
    from scenarios_flows import large_flow_file

    path = large_flow_file()
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry
    from flowrt.formats.document import load_deployment

    def validate(deployment):
        from flowrt.formats.validate import validate_deployment  # its imports count (jsonschema)

        return validate_deployment(deployment, registry)

    load_builtin_nodes()
    steps = _Steps(profile)
    deployment = steps.run("load", load_deployment, [str(path)])
    for node in deployment.nodes:  # the node modules are imported before, as `flowrt run` does
        registry.get_type(str(node.get("type", "")))
    problems = steps.run("validate", validate, deployment)
    errors = [p for p in problems if p.severity == "error"]
    assert not errors, errors[:3]
    runtime = _runtime()
    await steps.run_async("start", runtime.start(deployment.nodes))
    await runtime.close()
    steps.report(profile)
    ms = {name: values[0] for name, values in steps.ms.items()}
    print(f"jsonschema imported: {'jsonschema' in sys.modules}")
    print(
        f"RESULT load_ms={ms['load']:.1f} validate_ms={ms['validate']:.1f} start_ms={ms['start']:.1f} "
        f"total_ms={sum(ms.values()):.1f}"
    )


async def measure_deploy(profile: str | None, deploys: int) -> None:
    import scenarios  # noqa: F401 (as above)
    from scenarios_deploy import big_flow, with_tag

    from flowrt.editor import flows_api
    from flowrt.editor.shadowing import warn_shadowed
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry
    from flowrt.http.server import HttpServer

    load_builtin_nodes()
    flows = big_flow("t0", "flowrt")
    folder = Path(tempfile.mkdtemp())
    target = folder / "flows.json"
    target.write_text(json.dumps(flows))
    files = flows_api.FlowFiles([str(target)], {})
    runtime = _runtime(http=True)
    runtime.add_service(HttpServer(runtime.settings, runtime.log))
    await runtime.start([])
    steps = _Steps(None)  # the first (full) deploy is not profiled
    state = {"flows": [], "credentials": {}}

    async def deploy(nodes: list[dict], kind: str, steps: _Steps) -> None:
        """The steps of EditorApi._deploy (flowrt/editor/api.py), without HTTP."""
        raw = json.dumps(nodes).encode()
        body = steps.run(f"{kind}_parse", json.loads, raw)

        def prepare():
            credentials = flows_api.merge_credentials(body, state["credentials"])
            plain = flows_api.without_generated_positions(flows_api.without_credentials(body), {})
            return credentials, plain

        credentials, plain = steps.run(f"{kind}_prepare", prepare)
        problems = steps.run(f"{kind}_validate", flows_api.validation_problems, plain, registry, False)
        assert not problems, problems[:3]
        steps.run(f"{kind}_write", files.write, plain, credentials)

        def running():
            out = [dict(n) for n in plain]
            flows_api.apply_credentials(out, credentials)
            return out

        await steps.run_async(
            f"{kind}_redeploy", runtime.redeploy(steps.run(f"{kind}_prepare", running), kind)
        )

        def after():
            warn_shadowed(plain, runtime)
            state["flows"], state["credentials"] = plain, credentials
            return flows_api.revision(plain)

        steps.run(f"{kind}_after", after)

    await deploy(flows, "full", steps)
    measured = _Steps(profile)
    for n in range(deploys):
        await deploy(with_tag(flows, f"n{n}"), "nodes", measured)
    await runtime.close()
    measured.report(profile)
    full = sum(sum(v) for v in steps.ms.values())
    per_deploy = {
        k: [sum(v[2 * i : 2 * i + 2]) for i in range(deploys)] if k.endswith("_prepare") else v
        for k, v in measured.ms.items()
    }
    parts = {k: statistics.median(v) for k, v in per_deploy.items()}
    totals = [sum(per_deploy[k][i] for k in per_deploy) for i in range(deploys)]
    print(
        f"RESULT full_ms={full:.1f} nodes_ms={statistics.median(totals):.1f} "
        + " ".join(f"{k}_ms={v:.1f}" for k, v in parts.items())
    )


def measure_run() -> None:
    """`flowrt run` of the large flow as a real process (this interpreter's flowrt), until it
    logs "Started flows": its CPU time, with the forked validation child's (/proc stat fields
    utime+stime+cutime+cstime), and the wall time."""
    import os
    import signal

    import scenarios  # noqa: F401 (as above)
    from scenarios_flows import large_flow_file

    path = large_flow_file()
    ticks = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as user_dir:
        start = time.monotonic()
        cmd = [sys.executable, "-m", "flowrt", "run", str(path), "-p", "0", "-u", user_dir]
        proc = subprocess.Popen(  # cwd: not a tree, whose flowrt `-m` would import
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=user_dir
        )
        try:
            for line in proc.stdout:
                if "Started flows" in line:
                    break
            wall = time.monotonic() - start
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    print(f"RESULT run_cpu_ms={cpu * 1000:.0f} run_wall_ms={wall * 1000:.0f}")


def measure_deploy_http(deploys: int, profile: str | None) -> None:
    """`flowrt run --editor` as a process: one full POST /flows of the deploy scenario's flow,
    then `deploys` `nodes` deploys of one changed node, then as many that change nothing; the
    server's CPU time (utime+stime) and the wall time of each POST (it answers once the new nodes
    run), medians."""
    import http.client
    import os
    import signal
    import socket

    import scenarios  # noqa: F401 (as above)
    from scenarios_deploy import big_flow, with_tag

    ticks = os.sysconf("SC_CLK_TCK")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as user_dir:
        flow = Path(user_dir) / "flows.json"
        flow.write_text((BENCH / "flows" / "deploy_start.json").read_text())
        cmd = [sys.executable, "-m", "flowrt", "run", str(flow), "--editor", "-p", str(port), "-u", user_dir]
        if profile:  # the whole server process (start-up too), written when it stops
            cmd[1:1] = ["-m", "cProfile", "-o", str(Path(profile).resolve())]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=user_dir
        )

        def cpu() -> float:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        def post(nodes: list[dict], kind: str) -> tuple[float, float]:
            body = json.dumps(nodes)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            before, start = cpu(), time.perf_counter()
            headers = {"Content-Type": "application/json", "Node-RED-Deployment-Type": kind}
            conn.request("POST", "/flows", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            wall, used = time.perf_counter() - start, cpu() - before
            conn.close()
            assert resp.status in (200, 204), resp.status
            return used * 1000, wall * 1000

        try:
            for line in proc.stdout:
                if "Editor at" in line:
                    break
            flows = big_flow("t0", "flowrt")
            full = [post(with_tag(flows, f"f{n}"), "full") for n in range(3)]
            nodes = [post(with_tag(flows, f"n{n}"), "nodes") for n in range(deploys)]
            same = [post(with_tag(flows, f"n{deploys - 1}"), "nodes") for n in range(deploys)]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    med = statistics.median
    print(
        f"RESULT full_cpu_ms={med(c for c, _ in full[1:]):.0f} full_wall_ms={med(w for _, w in full[1:]):.0f} "
        f"nodes_cpu_ms={med(c for c, _ in nodes):.0f} nodes_wall_ms={med(w for _, w in nodes):.0f} "
        f"unchanged_cpu_ms={med(c for c, _ in same):.0f} unchanged_wall_ms={med(w for _, w in same):.0f}"
    )


def run_ab(pythons: list[str], rounds: int, args: list[str]) -> None:
    """Alternating runs under each interpreter; min and median of every RESULT figure."""
    figures: dict[str, dict[str, list[float]]] = {p: {} for p in pythons}
    for round_ in range(rounds):
        for python in pythons if round_ % 2 == 0 else pythons[::-1]:
            out = subprocess.run([python, __file__, *args], capture_output=True, text=True, check=True)
            line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
            for pair in line.split()[1:]:
                name, value = pair.split("=")
                figures[python].setdefault(name, []).append(float(value))
    for python, values in figures.items():
        print(python)
        for name, runs in values.items():
            shown = ", ".join(f"{v:.0f}" for v in runs)
            print(f"  {name}: min {min(runs):.1f} median {statistics.median(runs):.1f} ({shown})")


def main() -> None:
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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("flow", "deploy", "run", "deploy-http"))
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--deploys", type=int, default=10)
    args = parser.parse_args()
    if args.what == "run":
        measure_run()
    elif args.what == "deploy-http":
        measure_deploy_http(args.deploys, args.profile)
    elif args.what == "flow":
        asyncio.run(measure_flow(args.profile))
    else:
        asyncio.run(measure_deploy(args.profile, args.deploys))


if __name__ == "__main__":
    main()
