"""Regenerate suite.json from a clone of jsonata-js/jsonata (the official JSONata test suite).

    python tests/lang/data/jsonata/make_suite.py /path/to/jsonata.git [COMMIT]

Reads test/test-suite/{datasets,groups} at COMMIT (default HEAD) with ``git show`` and writes one
JSON file: the datasets, then every case (one file may hold a list of cases) with its group, file
and index. The cases are the JSONata authors' (MIT licence, see LICENSE-jsonata-js next to this
file); only their layout is changed (an ``expr-file`` is inlined as ``expr``).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys


def _git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def main(repo: str, commit: str = "HEAD") -> None:
    sha = _git(repo, "rev-parse", commit).strip()
    names = _git(repo, "ls-tree", "-r", "--name-only", sha, "test/test-suite").split()
    datasets = {}
    cases = []
    for name in sorted(names):
        if not name.endswith(".json"):
            continue
        parts = name.split("/")
        content = json.loads(_git(repo, "show", f"{sha}:{name}"))
        if parts[2] == "datasets":
            datasets[parts[3][: -len(".json")]] = content
        elif parts[2] == "groups":
            for index, case in enumerate(content if isinstance(content, list) else [content]):
                if "expr-file" in case:  # the expression is in a file next to the case
                    folder = name.rsplit("/", 1)[0]
                    case["expr"] = _git(repo, "show", f"{sha}:{folder}/{case['expr-file']}")
                cases.append({"group": parts[3], "file": parts[4], "index": index, **case})
    out = {
        "source": "https://github.com/jsonata-js/jsonata test/test-suite",
        "commit": sha,
        "licence": "MIT, Copyright IBM Corp. 2016, 2018 (LICENSE-jsonata-js)",
        "datasets": datasets,
        "cases": cases,
    }
    target = pathlib.Path(__file__).with_name("suite.json")
    target.write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=True) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases, {len(datasets)} datasets -> {target}")


if __name__ == "__main__":
    main(*sys.argv[1:])
