"""JavaScript regular expressions and String.prototype.replace patterns, for Python.

Node-RED's switch `regex` rule, the change node's regex replace and JSONata's /regex/ literals
are JavaScript regular expressions. A JavaScript pattern is translated into the syntax of the
`regex` package (https://pypi.org/project/regex/), which, unlike the standard `re`, has the
variable-width look-behind JavaScript has (``(?<=\\$\\d+)x``). The translation gives JavaScript's
meaning where the two differ: ``\\d``, ``\\w`` and ``\\b`` are ASCII-only, ``\\s`` is JavaScript's
whitespace set, ``.`` stops at \\r, \\u2028 and \\u2029 too, ``$`` matches only at the very end
(before any line terminator with the m flag), a backreference to a group that did not take part
matches the empty string, ``[^]`` is any character and ``[]`` none, ``{,5}`` is literal text,
``\\cX``, ``\\u{...}``, legacy octal and identity escapes (``\\a`` is "a") mean what they mean in
JavaScript. Flags: i, m, s, u (g, y and d do not change what a pattern matches).

What remains different: without the u flag JavaScript matches UTF-16 code units, Python code
points (``/^.$/`` matches "😀" here, not in JavaScript); case-insensitive matching folds case as
Python does.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any

from flowrt.lang.jsvalues import JS_WHITESPACE, JSRegExp


@functools.cache
def _regex() -> Any:
    """The `regex` package, imported on first use: a flow without regular expressions does not
    pay its ~2 MB of memory."""
    try:
        import regex
    except ImportError as err:  # pragma: no cover - an environment installed before the dependency
        raise ImportError(
            "flowrt needs the 'regex' package for JavaScript regular expressions: "
            "pip install -e . (or pip install regex)"
        ) from err
    return regex


__all__ = [
    "JSRegExp",
    "JSRegexError",
    "is_regex",
    "js_regex",
    "jsonata_regex_engine",
    "translate_js_regex",
]


class JSRegexError(ValueError):
    """A pattern that is not a valid JavaScript regular expression (as far as we can tell)."""


_WORD = "A-Za-z0-9_"
_LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"
_WS_CLASS = "".join(f"\\u{ord(c):04x}" for c in JS_WHITESPACE)


def _complement(ranges: list[tuple[int, int]]) -> str:
    """Class body text for every code point outside the given sorted, disjoint ranges."""
    out, start = [], 0
    for low, high in ranges:
        if low > start:
            out.append(_range_text(start, low - 1))
        start = high + 1
    if start <= 0x10FFFF:
        out.append(_range_text(start, 0x10FFFF))
    return "".join(out)


def _range_text(low: int, high: int) -> str:
    return f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}"


def _char_ranges(chars: str) -> list[tuple[int, int]]:
    points = sorted(set(map(ord, chars)))
    ranges: list[tuple[int, int]] = []
    for p in points:
        if ranges and ranges[-1][1] == p - 1:
            ranges[-1] = (ranges[-1][0], p)
        else:
            ranges.append((p, p))
    return ranges


_NOT_DIGIT = _complement([(0x30, 0x39)])
_NOT_WORD = _complement([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_NOT_SPACE = _complement(_char_ranges(JS_WHITESPACE))

# Class escapes: (outside a class, inside a class body)
_CLASS_ESCAPES = {
    "d": ("[0-9]", "0-9"),
    "D": ("[^0-9]", _NOT_DIGIT),
    "w": (f"[{_WORD}]", _WORD),
    "W": (f"[^{_WORD}]", _NOT_WORD),
    "s": (f"[{_WS_CLASS}]", _WS_CLASS),
    "S": (f"[^{_WS_CLASS}]", _NOT_SPACE),
}
_WORD_BOUNDARY = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NOT_WORD_BOUNDARY = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"
_CONTROL = {"f": "\\f", "n": "\\n", "r": "\\r", "t": "\\t", "v": "\\v"}
_QUANTIFIER = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_BRACED_HEX = re.compile(r"\{([0-9A-Fa-f]+)\}")
_GROUP_NAME = re.compile(r"<([^>]+)>")
_GROUP_PREFIXES = ("?:", "?=", "?!", "?<=", "?<!")


def _literal(ch: str) -> str:
    """A character as a literal in a translated pattern."""
    return f"\\U{ord(ch):08x}" if not ch.isalnum() and not ch == "_" else ch


def _count_groups(source: str) -> tuple[int, bool]:
    """(number of capturing groups, whether any is named)."""
    count, named, i, in_class = 0, False, 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            if not source.startswith("?", i + 1):
                count += 1
            elif source.startswith("?<", i + 1) and source[i + 3 : i + 4] not in ("=", "!"):
                count += 1
                named = True
        i += 1
    return count, named


class _Translator:
    def __init__(self, source: str, flags: str) -> None:
        self.src = source
        self.unicode = "u" in flags or "v" in flags
        self.dot_all = "s" in flags
        self.multiline = "m" in flags
        self.groups, self.named = _count_groups(source)
        self.i = 0
        self.out: list[str] = []

    def run(self) -> str:
        src, out = self.src, self.out
        while self.i < len(src):
            c = src[self.i]
            self.i += 1
            if c == "\\":
                out.append(self._escape(in_class=False))
            elif c == "[":
                out.append(self._class())
            elif c == ".":
                out.append("[\\U00000000-\\U0010ffff]" if self.dot_all else f"[^{_LINE_TERMINATORS}]")
            elif c == "^":
                out.append(f"(?:^|(?<=[{_LINE_TERMINATORS}]))" if self.multiline else "^")
            elif c == "$":
                out.append(f"(?=[{_LINE_TERMINATORS}]|\\Z)" if self.multiline else "\\Z")
            elif c == "{":
                m = _QUANTIFIER.match(src, self.i - 1)
                if m:
                    out.append(m.group(0))
                    self.i = m.end()
                else:
                    out.append("\\{")
            elif c == "}":
                out.append("\\}")
            elif c == "(" and src.startswith("?<", self.i) and src[self.i + 2 : self.i + 3] not in ("=", "!"):
                m = _GROUP_NAME.match(src, self.i + 1)
                if m is None:
                    raise JSRegexError(f"Invalid regular expression: /{src}/: Invalid capture group name")
                out.append(f"(?P<{m.group(1)}>")
                self.i = m.end()
            elif c == "(" and src.startswith("?", self.i):
                prefix = next((p for p in _GROUP_PREFIXES if src.startswith(p, self.i)), None)
                if prefix is None:
                    raise JSRegexError(f"Invalid regular expression: /{src}/: Invalid group")
                out.append("(" + prefix)
                self.i += len(prefix)
            elif c in "()|*+?":
                out.append(c)
            else:
                out.append(_literal(c))
        return "".join(out)

    def _escape(self, in_class: bool) -> str:
        src = self.src
        if self.i >= len(src):
            raise JSRegexError(f"Invalid regular expression: /{src}/: \\ at end of pattern")
        c = src[self.i]
        self.i += 1
        if c in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[c][1 if in_class else 0]
        if c == "b":
            return "\\x08" if in_class else _WORD_BOUNDARY
        if c == "B" and not in_class:
            return _NOT_WORD_BOUNDARY
        if c in _CONTROL:
            return _CONTROL[c]
        if c.isdigit() and c.isascii():
            return self._digits(c, in_class)
        if c == "k" and self.named and not in_class:
            m = _GROUP_NAME.match(src, self.i)
            if m is None:
                raise JSRegexError(f"Invalid regular expression: /{src}/: Invalid named reference")
            self.i = m.end()
            return f"(?({m.group(1)})(?P={m.group(1)}))"
        if c == "c":
            if self.i < len(src) and src[self.i].isascii() and src[self.i].isalpha():
                self.i += 1
                return f"\\x{ord(src[self.i - 1]) % 32:02x}"
            return "\\\\c"  # Annex B: a backslash and a c
        if c == "x":
            m = _HEX2.match(src, self.i)
            if m:
                self.i = m.end()
                return _literal(chr(int(m.group(0), 16)))
            return "x"
        if c == "u":
            return self._unicode_escape()
        if c in "pP" and self.unicode:
            m = re.compile(r"\{[^}]*\}").match(src, self.i)
            if m:
                self.i = m.end()
                return f"\\{c}{m.group(0)}"
        return _literal(c)  # an identity escape: \/ is "/", \a is "a"

    def _digits(self, first: str, in_class: bool) -> str:
        src, start = self.src, self.i - 1
        end = start + 1
        while end < len(src) and src[end].isascii() and src[end].isdigit():
            end += 1
        number = int(src[start:end])
        if not in_class and first != "0" and number <= self.groups:
            self.i = end
            return f"(?({number})(?:\\{number}))"  # a group that did not take part matches ""
        if first in "89":
            return first
        # Legacy octal escape: up to three octal digits, at most \377.
        end = start
        while end < len(src) and end - start < 3 and src[end] in "01234567":
            end += 1
        if int(src[start:end], 8) > 0o377:
            end -= 1
        self.i = end
        return _literal(chr(int(src[start:end], 8)))

    def _unicode_escape(self) -> str:
        src = self.src
        if self.unicode:
            m = _BRACED_HEX.match(src, self.i)
            if m:
                self.i = m.end()
                return _literal(chr(int(m.group(1), 16)))
        m = _HEX4.match(src, self.i)
        if not m:
            return "u"
        self.i = m.end()
        unit = int(m.group(0), 16)
        if 0xD800 <= unit <= 0xDBFF and src.startswith("\\u", self.i):
            low = _HEX4.match(src, self.i + 2)
            if low and 0xDC00 <= int(low.group(0), 16) <= 0xDFFF:
                self.i = low.end()
                return _literal(chr(0x10000 + ((unit - 0xD800) << 10) + int(low.group(0), 16) - 0xDC00))
        return _literal(chr(unit))

    def _class(self) -> str:
        src = self.src
        negated = src.startswith("^", self.i)
        if negated:
            self.i += 1
        body: list[str] = []
        after_set = False  # the previous item was \d, \w, \s or a negation of one
        while True:
            if self.i >= len(src):
                raise JSRegexError(f"Invalid regular expression: /{src}/: Unterminated character class")
            c = src[self.i]
            self.i += 1
            if c == "]":
                break
            is_set = c == "\\" and src[self.i : self.i + 1] in _CLASS_ESCAPES
            if c == "\\":
                body.append(self._escape(in_class=True))
            elif c == "-":
                # Annex B: next to a class escape ([\w-.]) a hyphen is itself, not a range.
                next_is_set = (
                    src[self.i : self.i + 1] == "\\" and src[self.i + 1 : self.i + 2] in _CLASS_ESCAPES
                )
                body.append("\\-" if after_set or next_is_set else "-")
            else:
                body.append(_literal(c))
            after_set = is_set
        if not body:
            return "[\\U00000000-\\U0010ffff]" if negated else "(?!)"
        return ("[^" if negated else "[") + "".join(body) + "]"


def translate_js_regex(source: str, flags: str = "") -> str:
    """The `regex`-package pattern that matches what JavaScript's ``new RegExp(source, flags)``
    matches (see the module docstring)."""
    return _Translator(source, flags).run()


@functools.lru_cache(maxsize=1024)
def js_regex(source: str, flags: str = "") -> JSRegExp:
    """``new RegExp(source, flags)``: a :class:`~flowrt.lang.jsvalues.JSRegExp` (the methods of
    ``re.Pattern``). Raises :class:`JSRegexError` on a pattern JavaScript would refuse."""
    regex = _regex()
    py_flags = regex.V0 | (regex.IGNORECASE if "i" in flags else 0)
    try:
        compiled = regex.compile(translate_js_regex(source, flags), py_flags)
    except regex.error as err:
        raise JSRegexError(f"Invalid regular expression: /{source}/: {err}") from None
    return JSRegExp(source, flags, compiled)


def is_regex(value: Any) -> bool:
    """Whether value is a compiled regular expression (JavaScript's or Python's)."""
    if isinstance(value, (JSRegExp, re.Pattern)):
        return True
    regex = sys.modules.get("regex")  # no regex.Pattern can exist before the package is imported
    return regex is not None and isinstance(value, regex.Pattern)


def jsonata_regex_engine(pattern: str, flags: Any) -> Any:
    """jsonata-python's public ``regex_engine`` hook (``Jsonata(expr, regex_engine)``): JSONata
    regex literals are JavaScript regular expressions, with the i and m flags."""
    return js_regex(pattern, ("i" if flags.case_insensitive else "") + ("m" if flags.multiline else ""))


_REPL_TOKEN = re.compile(r"\$(\$|&|`|'|\d{1,2}|<[^>]*>)")


def js_replacer(replacement: str) -> Callable[[Any], str]:
    """A ``sub`` replacement function doing what a JavaScript String.prototype.replace
    replacement string does ($$, $&, $`, $', $1..$99, $<name>)."""
    if "$" not in replacement:
        return lambda m: replacement

    def repl(m: Any) -> str:
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
