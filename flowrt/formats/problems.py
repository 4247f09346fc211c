"""What is wrong with a flow document: `Problem` (file, node id, line, column) and `FlowFileError`.

The leaf of flowrt.formats: the JSON and YAML readers and the validator all report through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FlowFileError", "Problem", "short_repr", "value_kind"]


@dataclass
class Problem:
    """One thing wrong (or suspicious) with a flow document."""

    file: str | None
    node_id: str | None
    message: str
    line: int | None = None
    column: int | None = None
    severity: str = "error"  # or "warning", or "note" (what loading did, as Node-RED does)
    node_type: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        elif self.line is not None:
            where = f"line {self.line}"
            if self.column is not None:
                where += f", column {self.column}"
        parts = []
        if where:
            parts.append(where)
        if self.node_id is not None:
            label = f"node {short_repr(self.node_id)}"
            if self.node_type:
                label += f" ({self.node_type})"
            parts.append(label)
        prefix = ": ".join(parts)
        text = self.message if self.severity == "error" else f"{self.severity}: {self.message}"
        return f"{prefix}: {text}" if prefix else text


class FlowFileError(Exception):
    """Raised when one or more flow files cannot be loaded; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def short_repr(value: Any, limit: int = 60) -> str:
    """repr() of a document value, cut to `limit` characters: problem messages stay one short line."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # never repr a huge string just to cut it
        return repr(value)[: limit - 3] + "..."
    text = repr(value) if not isinstance(value, (dict, list)) or len(value) < 50 else f"<{value_kind(value)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def value_kind(value: Any, mapping: str = "an object") -> str:
    """What a problem message calls a parsed document value: "null", "a boolean", "a number",
    "a string", "a list", `mapping` for a dict ("an object" in JSON's words, "a mapping" in
    YAML's), else the Python type name (for data not read from a file)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return mapping
    return type(value).__name__
