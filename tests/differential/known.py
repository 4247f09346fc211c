"""Known, reported differences: the tests they make fail are xfail(strict=True), so a fix flips them.

Each entry: a test key pattern (fnmatch) -> the finding in /work/notes/findings-examples.md (and
docs/conformance.md) that explains it. Test keys are "CHECK MAJOR/EXAMPLE", CHECK one of
`validate`, `start`, `output` (flowrt against the recorded Node-RED output) and `differential`
(flowrt against a live Node-RED). When a fix lands, its tests XPASS and fail: delete the entry.
F1 (tab-less exports refused) was fixed on main by the loader helper: every example validates and
starts.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

#: Output differences: example (MAJOR/NAME pattern) -> finding. Both the `output` and the
#: `differential` check of the example are marked.
OUTPUT: dict[str, str] = {}

KNOWN: dict[str, str] = {
    **{
        f"{check} {example}": finding
        for example, finding in OUTPUT.items()
        for check in ("output", "differential")
    },
}


def known_reason(key: str) -> str | None:
    for pattern, finding in KNOWN.items():
        if fnmatchcase(key, pattern):
            return finding
    return None


def mark(request, key: str) -> None:
    """Marks the running test xfail(strict) when `key` is a known difference."""
    import pytest

    reason = known_reason(key)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"known difference: {reason}"))
