"""CPU time of the `jsonata` scenario's ten expressions, evaluated in-process (issue 19).

Each loop evaluates the ten expressions of bench/flows/f_jsonata.json in order on one message, as
the chain's change nodes do (each result is stored on the message for the next expression), with
flowrt.lang.typedinput.evaluate_jsonata. Prints CPU microseconds per evaluation, per expression
(timer calls included) and for all ten (min and median of --rounds rounds).

    .venv/bin/python bench/bench_jsonata.py --loops 2000 [--rounds 5] [--interpreted] [--profile FILE]

`--interpreted` evaluates with jsonata-python's own interpreter (the compiled closures unused),
for comparison; `--profile FILE` runs cProfile over the loops and prints the top frames.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from flowrt.lang.typedinput import evaluate_jsonata, prepare_jsonata

RULES = [  # bench/scenarios_flows.py JSONATA_RULES
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


def message(i: int) -> dict:
    return {
        "payload": {"values": list(range(1, 21)), "name": f"Temperature Sensor {i}", "tags": ["a", "b", "c"]},
        "hops": 0,
        "_msgid": f"m{i}",
    }


def prepared_rules(interpreted: bool) -> list:
    prepared = [(prop, prepare_jsonata(expr)) for prop, expr in RULES]
    if interpreted:
        for _, p in prepared:
            if hasattr(p.jsonata, "compiled_root"):
                p.jsonata.compiled_root = None  # CompiledJsonata.evaluate then runs the interpreter
    return prepared


def run(loops: int, interpreted: bool) -> None:
    prepared = prepared_rules(interpreted)
    for i in range(loops):
        msg = message(i)
        for prop, p in prepared:
            msg[prop] = evaluate_jsonata(p, msg, None)


def run_per_rule(loops: int, interpreted: bool) -> list[float]:
    prepared = prepared_rules(interpreted)
    per_rule = [0.0] * len(prepared)
    for i in range(loops):
        msg = message(i)
        for n, (prop, p) in enumerate(prepared):
            t0 = time.process_time()
            msg[prop] = evaluate_jsonata(p, msg, None)
            per_rule[n] += time.process_time() - t0
    return per_rule


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loops", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--interpreted", action="store_true")
    ap.add_argument("--profile")
    args = ap.parse_args()
    run(50, args.interpreted)  # warm up
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(args.loops, args.interpreted)
        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
        return
    per_rule = run_per_rule(args.loops, args.interpreted)  # timer calls included
    for (prop, expr), spent in zip(RULES, per_rule, strict=True):
        print(f"{spent / args.loops * 1e6:8.1f} us  {prop:8} {expr}")
    totals = []
    for _ in range(args.rounds):
        t0 = time.process_time()
        run(args.loops, args.interpreted)
        totals.append((time.process_time() - t0) / args.loops / len(RULES) * 1e6)
    totals.sort()
    print(
        f"per evaluation (all ten, {args.rounds} rounds): min {totals[0]:.1f} us, median {totals[len(totals) // 2]:.1f} us"
    )


if __name__ == "__main__":
    main()
