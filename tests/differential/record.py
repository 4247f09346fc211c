"""Record what real Node-RED shows for every example flow, for tests/test_nodered_examples.py.

    .venv/bin/python tests/differential/record.py            # both versions
    .venv/bin/python tests/differential/record.py 5 --only common/debug

Writes tests/differential/recorded/node-red-MAJOR.json: per example, the normalised observation
(debug sidebar messages, debug node statuses, node warnings/errors; see harness.py). Each example
is run twice; an example whose two runs differ is recorded as unstable and not used as a reference.
Node-RED and the example flows are fetched into the cache by bench/nodered.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from differential import harness  # noqa: E402


async def record(major: str, only: str | None) -> int:
    found, line = harness.examples(major)
    print(line)
    red, red_line = harness.nodered.ensure_node_red(major)
    print(red_line)
    if red is None or not found:
        return 1
    path = harness.RECORDED / f"node-red-{major}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    results = dict(previous.get("examples", {})) if only else {}
    session = await harness.NodeRedSession(red).start()
    try:
        for example in found:
            if only and only not in example.name:
                continue
            if example.missing_reason():
                continue
            first = (await session.run(example.nodes)).to_json()
            second = (await session.run(example.nodes)).to_json()
            entry = {"observed": first}
            if first != second:
                entry["unstable"] = harness.differences(first, second)
            results[example.name] = entry
            print(f"{'unstable' if first != second else 'ok':<9} {example.name}", flush=True)
            write(path, red, results)  # after each example: an interrupted run keeps what it has
    finally:
        await session.stop()
    print(f"wrote {path} ({len(results)} examples)")
    return 0


def write(path: Path, red, results: dict) -> None:
    harness.RECORDED.mkdir(exist_ok=True)
    document = {"node_red": red.version, "node": harness.nodered.node_version(red.node), "examples": results}
    path.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("majors", nargs="*", default=list(harness.MAJORS), choices=harness.MAJORS)
    parser.add_argument("--only", help="record only examples whose name contains this")
    args = parser.parse_args()
    status = 0
    for major in args.majors:
        status |= asyncio.run(record(major, args.only))
    return status


if __name__ == "__main__":
    sys.exit(main())
