"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and they can fail.

`make test` runs `lint-imports` too; running it here means a full pytest run (what every
delivery runs) also refuses a module that breaks a layer, a node module that imports an engine
module or another node module, and a new import cycle.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    assert LINT_IMPORTS.exists(), "lint-imports is missing: pip install -e '.[test]' installs import-linter"
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for name in ("flowrt", "nodes"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("nodes/common/comment.py", "from flowrt.engine.runtime import Runtime", "only the public API"),
        ("nodes/common/comment.py", "from flowrt.context import ContextManager", "only the public API"),
        ("nodes/common/comment.py", "from ..sequence.split import SplitNode", "do not import each other"),
        ("nodes/storage/watch.py", "from .file import FileNode", "do not import each other"),
        ("flowrt/lang/cron.py", "from flowrt.engine import node", "is layered"),
        ("flowrt/http/sessions.py", "from flowrt.engine import message", "is layered"),
        ("flowrt/engine/message.py", "from flowrt.engine import registry", "no import cycles"),
    ],
)
def test_a_broken_contract_fails(tree_copy: Path, module: str, line: str, broken: str):
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n{line}  # planted by the test\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0, result.stdout
    broken_lines = [text for text in result.stdout.splitlines() if " BROKEN" in text]
    assert any(broken in text for text in broken_lines), result.stdout


def test_node_modules_import_no_private_name():
    """No `from flowrt... import _name` in nodes/ (import-linter sees modules, not names)."""
    found = []
    for path in sorted((ROOT / "nodes").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flowrt"):
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert found == []
