"""The engine's structure: no import cycle among flowrt modules (counting imports inside
functions and under TYPE_CHECKING), and nothing outside flowrt/engine uses the engine's
old private names for driving a node."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "nodes":
        parts = ["flowrt", *parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    files = [*ROOT.glob("flowrt/**/*.py"), *ROOT.glob("nodes/**/*.py")]
    return {module_name(p): p for p in files}


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every flowrt module `name` imports, wherever the import statement is."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_among_flowrt_modules():
    known = modules()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


ENGINE_PRIVATE = re.compile(r"\.(_handle_input|_bind_targets|_alias|_closed|_close|_complete)\b")


def test_no_module_outside_the_engine_uses_its_old_private_node_names():
    offenders = []
    for path in [*ROOT.glob("flowrt/**/*.py"), *ROOT.glob("nodes/**/*.py"), *ROOT.glob("tests/**/*.py")]:
        if path.parent.name == "engine" and path.parent.parent.name == "flowrt":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ENGINE_PRIVATE.search(line) and "self._closed(" not in line:  # SseSession's own method
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
