"""Known, reported differences: the tests they make fail are xfail(strict=True), so a fix flips them.

Each entry: a test key pattern (fnmatch) -> the finding in /work/notes/findings-examples.md (and
docs/conformance.md) that explains it. Test keys are "CHECK MAJOR/EXAMPLE", CHECK one of
`validate`, `start`, `output` (flowrt against the recorded Node-RED output) and `differential`
(flowrt against a live Node-RED); `validate` and `start` of an example without a tab node (all but
one) are `validate-tabless` and `start-tabless`. When a fix lands, its tests XPASS and fail: delete
the entry.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

TABLESS = "F1: an export without its tab node is refused (flowrt/document.py, flowrt/validate.py, runtime)"

#: Output differences: example (MAJOR/NAME pattern) -> finding. Both the `output` and the
#: `differential` check of the example are marked.
OUTPUT: dict[str, str] = {
    "*/common/debug/01 - *": "F2: inject vt 'string' (unknown typed-input type) drops the message",
    "*/common/debug/02 - *": "F2: inject vt 'string' (unknown typed-input type) drops the message",
    "*/common/debug/05 - *": "F2: inject vt 'string' (unknown typed-input type) drops the message",
    "*/common/status/01 - *": "F3: a status node receives start-up statuses Node-RED does not send",
    "*/common/catch/01 - *": "F4: a thrown Error: msg.error.message lacks 'Error: ', no msg._error",
    "*/function/function/08 - *": "F5: TypeError text ('Cannot read properties of undefined ...')",
    "*/network/http/02 - *": "F6: template cannot read msg.req (query)",
    "*/network/http/03 - *": "F6: template cannot read msg.req (params)",
    "*/network/http/04 - *": "F6: template cannot read msg.req (headers)",
    "*/parser/json/03 - *": "F7: json schema error text ('JSON Schema error: ...')",
    "*/storage/write file/04 - *": "F8: debug string length counts code points, not UTF-16 units",
    "5/common/link/03 - *": "F9: Node-RED 5 function API node.linkcall is missing",
    "*/storage/watch/01 - *": "F10: watch on a file that does not exist: Node-RED errors, flowrt watches",
    "*/storage/write file/03 - *": "F11: file delete ENOENT text lacks the 'unlink' syscall name",
}

KNOWN: dict[str, str] = {
    "validate-tabless *": TABLESS,
    "start-tabless *": TABLESS,
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
