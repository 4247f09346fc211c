"""Side-by-side benchmarks: flowrt vs Node-RED 4.1.x or 5.0.x (and vs a bare aiohttp handler).

    .venv/bin/python bench/run.py                    # every scenario, 3 alternating runs each
    .venv/bin/python bench/run.py --node-red 5       # against Node-RED 5 (Node.js 22, fetched if needed)
    .venv/bin/python bench/run.py --only hello,chain --runs 5
    .venv/bin/python bench/run.py --quick            # seconds per scenario, flowrt only (smoke)
    .venv/bin/python bench/run.py --list

Each scenario runs the same flow file on both runtimes (see bench/scenarios.py), with the same load
generator, on this machine, alternating which runtime goes first; it prints both medians and the
ratio flowrt/baseline. Node-RED is installed on demand with npm outside the repository; without
node/npm, flowrt runs alone. Scenarios whose flow flowrt cannot run yet (missing node types, missing
flow file) are reported as skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402
import nodered  # noqa: E402
import scenarios  # noqa: E402
from scenarios import Scenario, Settings  # noqa: E402

LABELS = {
    "req_s": ("req/s", "{:,.0f}"),
    "p50_ms": ("p50", "{:.2f} ms"),
    "p99_ms": ("p99", "{:.2f} ms"),
    "deliveries_s": ("deliveries/s", "{:,.0f}"),
    "rss_per_session_kb": ("RSS/session", "{:.1f} kB"),
    "open_s": ("open all", "{:.2f} s"),
    "rss_kb": ("RSS", "{:,.0f} kB"),
    "startup_ms": ("start-up", "{:,.0f} ms"),
    "rt_s": ("round-trips/s", "{:,.0f}"),
    "msg_s": ("msg/s", "{:,.0f}"),
    "items_s": ("items/s", "{:,.0f}"),
}


def fmt(key: str, value) -> str:
    label, pattern = LABELS.get(key, (key, "{}"))
    if value is None:
        return f"{label} -"
    try:
        return f"{label} {pattern.format(value)}"
    except (TypeError, ValueError):
        return f"{label} {value}"


def value_text(key: str, value) -> str:
    return fmt(key, value).split(" ", 1)[1] if value is not None else "-"


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo") as info:
            kb = int(info.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.machine()}, {cpus} cores{mem}, Python {platform.python_version()}"


# ---------------------------------------------------------------- preflight

_validated: dict[Path, str | None] = {}


def flowrt_problem(flow: Path) -> str | None:
    """Why flowrt cannot run this flow (missing file, unknown node types...), or None."""
    if not flow.exists():
        return f"flow {flow} does not exist yet"
    if flow not in _validated:
        result = subprocess.run(
            [sys.executable, "-m", "flowrt", "validate", str(flow)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode == 0:
            _validated[flow] = None
        else:
            lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
            if any(line.startswith("Traceback") for line in lines):
                _validated[flow] = f"flowrt validate crashed: {lines[-1][:300]}"
            else:
                errors = [line for line in lines if line.startswith("error")] or lines
                _validated[flow] = "flowrt validate: " + "; ".join(errors[:3])[:300]
    return _validated[flow]


# ---------------------------------------------------------------- one side, one run


def make_server(runtime: str, scenario: Scenario, flow: Path | None, red: Path | None):
    extra = scenario.params.get("settings")  # e.g. a context store both runtimes need
    editor = bool(scenario.params.get("editor"))  # the deploy scenarios use the admin API
    if runtime == "flowrt":
        if editor and flow is not None:  # deploys are written back to the flow file: run a copy
            copy = Path(tempfile.mkdtemp(prefix="flowrt-bench-flow-")) / flow.name
            copy.write_bytes(flow.read_bytes())
            flow = copy
        return nodered.flowrt_server(flow, settings=extra, extra=("--editor",) if editor else ())
    if runtime == "node-red":
        return nodered.nodered_server(red, flow, settings=extra, editor=editor)
    if runtime in scenarios.EXTRA_SERVERS:  # e.g. the MCP SDK servers of bench/scenarios_mcp.py
        return scenarios.EXTRA_SERVERS[runtime](scenario)
    port = nodered.free_port()
    argv = [sys.executable, str(BENCH / "scenarios.py"), "aiohttp-hello", str(port)]
    return nodered.ServerProcess("aiohttp", argv, port, env={"PYTHONUNBUFFERED": "1"})


async def run_side(
    runtime: str, scenario: Scenario, flow: Path, settings: Settings, red: Path | None
) -> dict:
    server = make_server(runtime, scenario, flow, red)
    try:
        if scenario.kind == "idle":
            await server.start(wait_for=None)
        else:
            await server.start(timeout=60)
        metrics = await scenarios.measure(scenario, server, settings)
        if server.process.returncode is not None:
            raise RuntimeError(
                f"{runtime} exited ({server.process.returncode}) during the run:\n{server.tail()}"
            )
        return metrics
    except Exception as err:
        if (
            server.process is not None
            and server.process.returncode is not None
            and server.tail() not in str(err)
        ):
            raise RuntimeError(
                f"{err}\n{runtime} exited ({server.process.returncode}); its last lines:\n{server.tail()}"
            ) from err
        raise
    finally:
        await server.stop()


# ---------------------------------------------------------------- a scenario


async def run_scenario(
    scenario: Scenario, settings: Settings, runs: int, red: Path | None, tmp: Path, cache: dict, out=print
) -> dict:
    report: dict = {"name": scenario.name, "title": scenario.title, "metric": scenario.metric}
    report |= {"target": scenario.target, "baseline": scenario.baseline, "note": scenario.note}
    out(f"\n== {scenario.name}: {scenario.title}")
    problem = flowrt_problem(scenario.flowrt_flow)
    if problem:
        out(f"   skipped: {problem}")
        return report | {"status": "skipped", "reason": problem}

    sides: list[tuple[str, Path | None]] = [
        ("flowrt", scenarios.prepare_flow(scenario.flowrt_flow, settings, tmp))
    ]
    baseline = scenario.baseline
    if settings.quick:
        baseline = None
    elif baseline == "node-red" and red is None:
        out("   Node-RED unavailable: flowrt alone")
        baseline = None
    elif baseline == "node-red" and not (scenario.baseline_flow and scenario.baseline_flow.exists()):
        out(f"   Node-RED flow {scenario.baseline_flow} missing: flowrt alone")
        baseline = None
    if baseline:
        flow = (
            scenarios.prepare_flow(scenario.baseline_flow, settings, tmp) if scenario.baseline_flow else None
        )
        sides.append((baseline, flow))
    report["baseline"] = baseline

    results: dict[str, list[dict]] = {name: [] for name, _ in sides}
    errors: dict[str, list[str]] = {name: [] for name, _ in sides}
    reused: set[str] = set()
    for name, flow in sides:
        key = _cache_key(name, flow, scenario)
        if name != "flowrt" and key in cache and len(cache[key]) >= runs:
            results[name] = cache[key][:runs]
            reused.add(name)
            out(f"   {name}: reusing {runs} run(s) measured earlier with the same flow and load")

    for number in range(runs):
        order = sides if number % 2 == 0 else list(reversed(sides))
        for name, flow in order:
            if name in reused:
                continue
            try:
                metrics = await run_side(name, scenario, flow, settings, red)
            except Exception as err:  # one broken side must not stop the rest
                text = f"{type(err).__name__}: {err}".strip()
                errors[name].append(text)
                out(f"   run {number + 1}  {name:<9} failed: {text.splitlines()[0][:200]}")
                if len(text.splitlines()) > 1:
                    out("\n".join("      " + line for line in text.splitlines()[1:12]))
                continue
            results[name].append(metrics)
            shown = [scenario.metric, *scenario.show]
            if "rss_kb" in metrics and "rss_kb" not in shown:
                shown.append("rss_kb")
            extra = f"  errors {metrics['errors']}" if metrics.get("errors") else ""
            out(f"   run {number + 1}  {name:<9} " + "  ".join(fmt(k, metrics.get(k)) for k in shown) + extra)
    for name, flow in sides:
        if name != "flowrt" and name not in reused and results[name]:
            cache[_cache_key(name, flow, scenario)] = results[name]

    medians = {name: scenarios.median_metrics(runs_) for name, runs_ in results.items() if runs_}
    report["runs"] = results
    report["median"] = medians
    if errors and any(errors.values()):
        report["errors"] = {k: v for k, v in errors.items() if v}
    if "flowrt" not in medians:
        report["status"] = "failed"
        report["reason"] = (errors["flowrt"] or ["no result"])[0].splitlines()[0]
        out(f"   failed: {report['reason']}")
        return report

    ours = medians["flowrt"].get(scenario.metric)
    theirs = medians.get(baseline or "", {}).get(scenario.metric) if baseline else None
    ratio = round(ours / theirs, 3) if ours is not None and theirs else None
    met = scenario.target_met(ratio, medians["flowrt"])
    report |= {"status": "ok", "flowrt": ours, "baseline_value": theirs, "ratio": ratio, "target_met": met}
    summary = f"   median  flowrt {value_text(scenario.metric, ours)}"
    if baseline:
        summary += f" | {baseline} {value_text(scenario.metric, theirs)}"
        summary += f" | ratio flowrt/{baseline} {ratio if ratio is not None else '-'}"
    summary += f"  (target {scenario.target}: {_verdict(met)})"
    out(summary)
    return report


def _cache_key(name: str, flow: Path | None, scenario: Scenario) -> tuple:
    params = json.dumps({k: repr(v) for k, v in scenario.params.items()}, sort_keys=True)
    return (name, str(flow), scenario.kind, params)


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "n/a"}[met]


# ---------------------------------------------------------------- the table


def table(reports: list[dict]) -> str:
    rows = [
        "| scenario | metric | flowrt | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        if r.get("status") != "ok":
            label = LABELS.get(r["metric"], (r["metric"],))[0]
            reason = _short(r.get("reason", ""))
            rows.append(f"| {r['name']} | {label} | {r.get('status')}: {reason} | | | {r['target']} | |")
            continue
        metric = r["metric"]
        med = r["median"]
        ours = value_text(metric, r["flowrt"])
        extra = [fmt(k, med["flowrt"].get(k)) for k in _shown(r) if k != metric]
        if extra:
            ours += " (" + ", ".join(extra) + ")"
        base = "-"
        if r.get("baseline") and r["baseline"] in med:
            base = f"{r['baseline']}: {value_text(metric, r['baseline_value'])}"
            extra = [fmt(k, med[r["baseline"]].get(k)) for k in _shown(r) if k != metric]
            if extra:
                base += " (" + ", ".join(extra) + ")"
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        rows.append(
            f"| {r['name']} | {LABELS.get(metric, (metric,))[0]} | {ours} | {base} | {ratio} | {r['target']} | {_verdict(r.get('target_met'))} |"
        )
    return "\n".join(rows)


def _short(text: str, limit: int = 110) -> str:
    text = text.splitlines()[0] if text else ""
    text = text.replace("|", "/").replace(str(scenarios.ROOT) + "/", "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(report: dict) -> tuple[str, ...]:
    scenario = scenarios.BY_NAME.get(report["name"])
    return scenario.show if scenario else ()


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke mode: flowrt only, a few seconds per scenario"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="exact names, or prefixes such as chain; comma-separated",
    )
    parser.add_argument("--runs", type=int, help="runs per runtime and scenario (default 3; --quick: 1)")
    parser.add_argument(
        "--duration", type=float, help="seconds of load per HTTP run (default 10; --quick: 2)"
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "builtin"),
        default="auto",
        help="load generator (auto: wrk when installed)",
    )
    parser.add_argument("--no-node-red", action="store_true", help="do not install or run Node-RED")
    parser.add_argument(
        "--node-red",
        choices=sorted(nodered.NODE_RED),
        default="4",
        metavar="MAJOR",
        help="the Node-RED to compare with: 4 (4.1.x, default: the recorded figures) or 5 (5.0.x, "
        "what `npm install node-red` gives today; runs on Node.js 22, fetched with npm when needed)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> list[dict]:
    chosen = scenarios.select(args.only)
    engine, note = loadgen.choose_engine(args.loadgen)
    settings = Settings.make(args.quick, engine, args.duration)
    runs = args.runs or (1 if args.quick else 3)
    fds = nodered.raise_fd_limit()
    print(f"flowrt bench {time.strftime('%Y-%m-%d %H:%M')}, {machine()}, open files {fds}")
    print(f"load generator: {engine}" + (f" ({note})" if note else ""))
    red = None
    if args.quick:
        print("quick mode: flowrt only, short runs")
    elif args.no_node_red:
        print("Node-RED: not run (--no-node-red)")
    else:
        red, line = nodered.ensure_node_red(args.node_red)
        print(("Node-RED: " if red else "") + line)
    print(f"runs per runtime: {runs}; HTTP load {settings.duration:g} s after {settings.warmup:g} s warm-up")
    reports = []
    cache: dict = {}
    with tempfile.TemporaryDirectory(prefix="flowrt-bench-run-") as tmp:
        for scenario in chosen:
            reports.append(await run_scenario(scenario, settings, runs, red, Path(tmp), cache))
    print("\n" + table(reports))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "loadgen": engine,
        "node_red": red.version if red else None,
        "node": nodered.node_version(red.node) if red else None,
        "quick": args.quick,
        "runs": runs,
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "scenarios": reports}, indent=2, default=str))
        print(f"\nwrote {args.json}")
    return reports


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for s in scenarios.SCENARIOS:
            base = s.baseline or "flowrt only"
            print(f"{s.name:<18} {s.title}  [{s.metric}, vs {base}, target {s.target}]")
        return 0
    reports = asyncio.run(main_async(args))
    return 1 if any(r.get("status") == "failed" for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
