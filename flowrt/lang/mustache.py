"""A small Mustache renderer with mustache.js semantics, for the template,
trigger and http request nodes.

Supported: ``{{name}}`` (HTML-escaped), ``{{{name}}}`` and ``{{& name}}``
(raw), dotted names, ``{{.}}``, sections ``{{#x}}..{{/x}}`` over lists,
objects and truthy values, inverted sections ``{{^x}}..{{/x}}``, comments
``{{! ..}}``, delimiter changes ``{{=<% %>=}}`` and standalone-line
stripping. Partials render as nothing. Values are converted to text as
JavaScript's ``String()`` does (objects as ``[object Object]``, arrays
joined with commas, numbers without a trailing ``.0``).

``render(template, view, fallback=None, escape_top=None)``: ``fallback(name)``
is asked for names the view does not have (the template node resolves
``flow.``/``global.``/``env.`` names through it); ``escape_top(str)`` filters
strings found in the top-level view (the template node's JSON mode).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from flowrt.lang.jsvalues import UNDEFINED
from flowrt.lang.jsvalues import js_number_text as _js_number
from flowrt.lang.jsvalues import js_string as _js_string

__all__ = ["MISSING", "MustacheError", "js_string", "parse", "render", "token_names"]


class MustacheError(ValueError):
    """The template cannot be parsed (unclosed tag or section)."""


MISSING: Any = UNDEFINED  # a name no context has (JavaScript undefined)

_HTML = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "/": "&#x2F;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_HTML_RE = re.compile(r"[&<>\"'`=/]")


def escape_html(text: str) -> str:
    return _HTML_RE.sub(lambda m: _HTML[m.group(0)], text)


def js_string(value: Any) -> str:
    """What a tag writes: JavaScript's String(value), but nothing for null/undefined."""
    if value is None or value is MISSING:
        return ""
    return _js_string(value)


# ----------------------------------------------------------------- parsing
# A token is a tuple: ("text", str) | ("name"|"&", name) | ("#"|"^", name, children)
# | (">", name)

_WS_ONLY = re.compile(r"[ \t]*\Z")


def _strip(text: str) -> str:
    return text.strip()


@functools.lru_cache(maxsize=256)
def parse(template: str) -> tuple:
    """Parse a template into a token tree (cached)."""
    otag, ctag = "{{", "}}"
    pos = 0
    n = len(template)
    root: list = []
    stack: list[tuple[str, str, list]] = []  # (type, name, parent_list)
    current = root
    while pos < n:
        start = template.find(otag, pos)
        if start == -1:
            current.append(("text", template[pos:]))
            break
        # text before the tag
        if start > pos:
            text = template[pos:start]
            current.append(("text", text))
        # find the line start for standalone checks
        nl = template.rfind("\n", 0, start)
        line_begin = nl + 1
        before = template[line_begin:start]
        tag_pos = start + len(otag)
        if tag_pos < n and template[tag_pos] == "{" and otag == "{{":
            close = template.find("}" + ctag, tag_pos)
            if close == -1:
                raise MustacheError(f"Unclosed tag at {n}")  # mustache.js: where its scan stopped, the end
            name = _strip(template[tag_pos + 1 : close])
            current.append(("&", name))
            pos = close + 1 + len(ctag)
            continue
        close = template.find(ctag, tag_pos)
        if close == -1:
            raise MustacheError(f"Unclosed tag at {n}")  # mustache.js: where its scan stopped, the end
        content = template[tag_pos:close]
        end = close + len(ctag)
        kind = content[:1]
        if kind in ("#", "^", "/", "!", ">", "=", "&", "{"):
            body = content[1:]
        else:
            kind = "name"
            body = content
        if kind == "=":
            body = body.rstrip()
            if not body.endswith("="):
                raise MustacheError(f"Invalid delimiter tag at {start}")
            parts = body[:-1].split()
            if len(parts) != 2:
                raise MustacheError(f"Invalid delimiter tag at {start}")
        name = _strip(body)
        standalone = False
        if kind in ("#", "^", "/", "!", ">", "="):
            line_end = template.find("\n", end)
            after = template[end : (line_end if line_end != -1 else n)]
            after_clean = after.rstrip("\r")
            standalone = bool(_WS_ONLY.match(before) and _WS_ONLY.match(after_clean))
        if standalone:
            # drop indentation text already emitted, and the rest of the line
            if before and current and current[-1][0] == "text":
                text = current[-1][1]
                if text.endswith(before):
                    trimmed = text[: len(text) - len(before)]
                    if trimmed:
                        current[-1] = ("text", trimmed)
                    else:
                        current.pop()
            line_end = template.find("\n", end)
            end = n if line_end == -1 else line_end + 1
        if kind == "name" or kind == "&":
            current.append(("name" if kind == "name" else "&", name))
        elif kind == "{":
            current.append(("&", name.rstrip("}").strip()))
        elif kind in ("#", "^"):
            children: list = []
            stack.append((kind, name, current))
            current.append([kind, name, children])
            current = children
        elif kind == "/":
            if not stack:
                raise MustacheError(f'Unopened section "{name}" at {start}')
            open_kind, open_name, parent = stack.pop()
            if open_name != name:
                raise MustacheError(f'Unclosed section "{open_name}" at {start}')
            current = parent
        elif kind == ">":
            current.append((">", name))
        elif kind == "=":
            otag, ctag = body[:-1].split()
        pos = end
    if stack:
        raise MustacheError(f'Unclosed section "{stack[-1][1]}" at {n}')
    return _freeze(root)


def _freeze(tokens: list) -> tuple:
    out = []
    for tok in tokens:
        if isinstance(tok, list):
            out.append((tok[0], tok[1], _freeze(tok[2])))
        else:
            out.append(tok)
    # merge adjacent text tokens
    merged: list = []
    for tok in out:
        if tok[0] == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + tok[1])
        else:
            merged.append(tok)
    return tuple(merged)


def token_names(tokens: tuple, into: set[str] | None = None) -> set[str]:
    """Every name used by a tag in the tree (variables and sections)."""
    names = into if into is not None else set()
    for tok in tokens:
        if tok[0] == "text":
            continue
        names.add(tok[1])
        if len(tok) > 2:
            token_names(tok[2], names)
    return names


# ----------------------------------------------------------------- lookup


_SCALARS = (str, bytes, bytearray, int, float, bool, type(None))


def _field(obj: Any, key: str) -> Any:
    """A public data field of a live object (msg.req.params, .query, .headers), else MISSING."""
    if key.startswith("_") or isinstance(obj, _SCALARS):
        return MISSING
    value = getattr(obj, key, MISSING)
    return MISSING if callable(value) else value


def _get(obj: Any, key: str) -> Any:
    """obj's `key` (a dict key, a list index or `length`, a live object's field), else MISSING."""
    if type(obj) is dict:  # the common case first: isinstance(obj, Mapping) is an ABC check
        return obj.get(key, MISSING)
    if isinstance(obj, Mapping):
        return obj.get(key, MISSING)
    if isinstance(obj, (list, tuple, str)):
        if key == "length":
            return len(obj)
        if key.isdigit() and int(key) < len(obj):
            return obj[int(key)]
        return MISSING
    return _field(obj, key)


@functools.lru_cache(maxsize=1024)
def _parts(name: str) -> tuple[str, ...]:
    return tuple(name.split("."))


def _lookup(stack: list, name: str) -> tuple[Any, int]:
    """(value, depth of the context that had it) or (MISSING, -1): the innermost context where
    every part of the dotted name resolves."""
    if name == ".":
        return stack[-1], len(stack) - 1
    parts = _parts(name)
    for depth in range(len(stack) - 1, -1, -1):
        value = stack[depth]
        for part in parts:
            if value is None or value is MISSING:
                value = MISSING
                break
            value = _get(value, part)
        if value is not MISSING:
            return value, depth
    return MISSING, -1


# ----------------------------------------------------------------- render


def _truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


class _Renderer:
    __slots__ = ("fallback", "escape_top")

    def __init__(self, fallback: Callable[[str], Any] | None, escape_top: Callable[[str], str] | None):
        self.fallback = fallback
        self.escape_top = escape_top

    def lookup(self, stack: list, name: str) -> Any:
        value, depth = _lookup(stack, name)
        if value is MISSING:
            if self.fallback is not None:
                return self.fallback(name)
            return MISSING
        if self.escape_top is not None and len(stack) == 1 and isinstance(value, str):
            value = self.escape_top(value)
        return value

    def render(self, tokens: tuple, stack: list, out: list[str]) -> None:
        for tok in tokens:
            kind = tok[0]
            if kind == "text":
                out.append(tok[1])
            elif kind == "name":
                value = self.lookup(stack, tok[1])
                if value is None or value is MISSING:
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out.append(_js_number(value))
                else:
                    out.append(escape_html(js_string(value)))
            elif kind == "&":
                value = self.lookup(stack, tok[1])
                if value is None or value is MISSING:
                    continue
                out.append(js_string(value))
            elif kind == "#":
                value = self.lookup(stack, tok[1])
                if isinstance(value, (list, tuple)):
                    for item in value:
                        stack.append(item)
                        self.render(tok[2], stack, out)
                        stack.pop()
                elif not _truthy(value):
                    continue
                elif value is not True and (
                    isinstance(value, (Mapping, str, int, float)) or not isinstance(value, _SCALARS)
                ):
                    stack.append(value)
                    self.render(tok[2], stack, out)
                    stack.pop()
                else:
                    self.render(tok[2], stack, out)
            elif kind == "^":
                value = self.lookup(stack, tok[1])
                if not _truthy(value) or (isinstance(value, (list, tuple)) and len(value) == 0):
                    self.render(tok[2], stack, out)
            # partials (">") render nothing


def render(
    template: str | tuple,
    view: Any,
    fallback: Callable[[str], Any] | None = None,
    escape_top: Callable[[str], str] | None = None,
) -> str:
    """Render a template string (or parsed tokens) against `view`."""
    tokens = parse(template) if isinstance(template, str) else template
    out: list[str] = []
    _Renderer(fallback, escape_top).render(tokens, [view], out)
    return "".join(out)
