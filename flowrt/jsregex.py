"""JavaScript regular expressions and String.prototype.replace patterns, for Python."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["escape_regex", "js_regex", "js_replacer"]

_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_NAMED_REF = re.compile(r"\\k<([A-Za-z_]\w*)>")


def js_regex(source: str, flags: str = "") -> re.Pattern:
    """Compile a JavaScript regular expression source with Python's re."""
    pattern = _NAMED_GROUP.sub("(?P<", source)
    pattern = _NAMED_REF.sub(r"(?P=\1)", pattern)
    pattern = pattern.replace("[^]", r"[\s\S]")
    f = 0
    if "i" in flags:
        f |= re.IGNORECASE
    if "m" in flags:
        f |= re.MULTILINE
    if "s" in flags:
        f |= re.DOTALL
    return re.compile(pattern, f)


_REPL_TOKEN = re.compile(r"\$(\$|&|`|'|\d{1,2}|<[^>]*>)")


def js_replacer(replacement: str) -> Callable[[re.Match], str] | str:
    """A re.sub replacement doing what a JS String.replace replacement string does."""
    if "$" not in replacement:
        return lambda m: replacement

    def repl(m: re.Match) -> str:
        def token(t: re.Match) -> str:
            code = t.group(1)
            if code == "$":
                return "$"
            if code == "&":
                return m.group(0)
            if code == "`":
                return m.string[: m.start()]
            if code == "'":
                return m.string[m.end() :]
            if code.startswith("<"):
                if not m.re.groupindex:
                    return t.group(0)
                value = m.groupdict().get(code[1:-1])
                return value or ""
            n = int(code)
            if 1 <= n <= m.re.groups:
                return m.group(n) or ""
            if len(code) == 2 and 1 <= int(code[0]) <= m.re.groups:
                return (m.group(int(code[0])) or "") + code[1]
            return t.group(0)

        return _REPL_TOKEN.sub(token, replacement)

    return repl


def escape_regex(text: str) -> str:
    """Escape text to match literally (what Node-RED's change node does to a string)."""
    return re.escape(text)
