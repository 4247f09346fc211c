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

A template is compiled once (``compile_template``, cached per template text)
into a tuple of ops: literal text as a str, every tag as a small closure with
its name already split into parts, so a render does no tag parsing.
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

__all__ = [
    "MISSING",
    "MustacheError",
    "Template",
    "compile_template",
    "js_string",
    "parse",
    "render",
    "token_names",
]


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


_needs_escape = _HTML_RE.search


def _entity(match: re.Match) -> str:
    return _HTML[match.group(0)]


def escape_html(text: str) -> str:
    if _needs_escape(text) is None:  # most values: no sub() call, no new string
        return text
    return _HTML_RE.sub(_entity, text)


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
_SAFE_INTEGER = 2**53 - 1  # Number.MAX_SAFE_INTEGER: beyond it JavaScript rounds (_js_number)


def _field(obj: Any, key: str) -> Any:
    """A public data field of a live object (msg.req.params, .query, .headers), else MISSING."""
    if key.startswith("_") or isinstance(obj, _SCALARS):
        return MISSING
    value = getattr(obj, key, MISSING)
    return MISSING if callable(value) else value


def _get(obj: Any, key: str) -> Any:
    """obj's `key` (a dict key, a list index or `length`, a live object's field), else MISSING."""
    if isinstance(obj, Mapping):
        return obj.get(key, MISSING)
    if isinstance(obj, (list, tuple, str)):
        if key == "length":
            return len(obj)
        if key.isdigit() and int(key) < len(obj):
            return obj[int(key)]
        return MISSING
    return _field(obj, key)


Finder = Callable[[list], Any]


def _top(stack: list) -> Any:
    return stack[-1]


def _finder(name: str) -> Finder:
    """find(stack): the value of `name` in the innermost context where every part of the dotted
    name resolves, else MISSING. The name is split once, here; plain dicts (nearly every context)
    are read with dict.get before the general _get."""
    if name == ".":
        return _top
    parts = tuple(name.split("."))
    if len(parts) == 1:
        key = parts[0]

        def find_key(stack: list) -> Any:
            for value in reversed(stack):
                if type(value) is dict:
                    value = value.get(key, MISSING)
                elif value is None or value is MISSING:
                    continue
                else:
                    value = _get(value, key)
                if value is not MISSING:
                    return value
            return MISSING

        return find_key

    def find_path(stack: list) -> Any:
        for value in reversed(stack):
            for part in parts:
                if type(value) is dict:
                    value = value.get(part, MISSING)
                elif value is None or value is MISSING:
                    value = MISSING
                    break
                else:
                    value = _get(value, part)
            if value is not MISSING:
                return value
        return MISSING

    return find_path


# ----------------------------------------------------------------- compiling
# A compiled template is a tuple of ops: a str is literal text, anything else a closure
# op(stack, out, fallback, escape_top) that appends what its tag writes to `out`. `stack` is the
# context stack (the view first, a section's item last).

Fallback = Callable[[str], Any] | None
EscapeTop = Callable[[str], str] | None
Op = Callable[[list, list, Fallback, EscapeTop], None]


def _truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _run(ops: tuple, stack: list, out: list[str], fallback: Fallback, escape_top: EscapeTop) -> None:
    for op in ops:
        if type(op) is str:
            out.append(op)
        else:
            op(stack, out, fallback, escape_top)


def _value_op(name: str, escaped: bool) -> Op:
    """{{name}} (HTML-escaped; numbers as JavaScript writes them) or {{{name}}} / {{& name}}."""
    find = _finder(name)
    key = None if "." in name else name  # a plain key: tried on the innermost dict first, inline

    def write(stack: list, out: list[str], fallback: Fallback, escape_top: EscapeTop) -> None:
        value = stack[-1]
        if key is not None and type(value) is dict:
            value = value.get(key, MISSING)
            if value is MISSING and len(stack) > 1:
                value = find(stack)
        else:
            value = find(stack)
        if value is MISSING:
            if fallback is None:
                return
            value = fallback(name)
            if value is None or value is MISSING:
                return
        elif value is None:
            return
        elif escape_top is not None and len(stack) == 1 and isinstance(value, str):
            value = escape_top(value)
        kind = type(value)
        if kind is str:
            if escaped and _needs_escape(value) is not None:
                value = _HTML_RE.sub(_entity, value)
            out.append(value)
        elif kind is int and -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
            out.append(str(value))  # as _js_number writes it, without the call
        elif kind is int or kind is float:
            out.append(_js_number(value))  # digits, '.', '-', '+', 'e': nothing to escape
        elif escaped and isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(_js_number(value))
        else:
            text = _js_string(value)
            out.append(escape_html(text) if escaped else text)

    write.plain_key = key  # for _inline_plan
    write.escaped = escaped
    return write


def _inline_plan(body: tuple) -> tuple | None:
    """A section body of only text and plain-key tags ({{title}}, the usual list-of-records
    body) as (text | (key, escaped, op)) pieces, or None for any other body. For a dict item the
    section loop writes what the op would for a str or safe-int value found in the item (the
    innermost context, where escape_top never applies) without calling it; for anything else
    it calls the op with the item pushed."""
    plan = []
    for op in body:
        if type(op) is str:
            plan.append(op)
        elif getattr(op, "plain_key", None) is not None:
            plan.append((op.plain_key, op.escaped, op))
        else:
            return None
    return tuple(plan)


def _section_op(name: str, body: tuple, inverted: bool) -> Op:
    """{{#name}}..{{/name}}: once per item of a list, once with an object (or other truthy value)
    pushed as the innermost context, once without pushing for true; {{^name}}: once when falsy or
    an empty list."""
    find = _finder(name)
    plan = _inline_plan(body)

    def lookup(stack: list, fallback: Fallback, escape_top: EscapeTop) -> Any:
        value = find(stack)
        if value is MISSING:
            return MISSING if fallback is None else fallback(name)
        if escape_top is not None and len(stack) == 1 and isinstance(value, str):
            return escape_top(value)
        return value

    def section(stack: list, out: list[str], fallback: Fallback, escape_top: EscapeTop) -> None:
        value = lookup(stack, fallback, escape_top)
        if type(value) is list or isinstance(value, (list, tuple)):
            for item in value:  # _run inlined: this is the loop most renders spend their time in
                if plan is not None and type(item) is dict:  # the plan: no call per tag
                    for piece in plan:
                        if type(piece) is str:
                            out.append(piece)
                            continue
                        key, escaped, op = piece
                        text = item.get(key, MISSING)
                        kind = type(text)
                        if kind is str:
                            if escaped and _needs_escape(text) is not None:
                                text = _HTML_RE.sub(_entity, text)
                            out.append(text)
                        elif kind is int and -_SAFE_INTEGER <= text <= _SAFE_INTEGER:
                            out.append(str(text))
                        else:
                            stack.append(item)
                            op(stack, out, fallback, escape_top)
                            stack.pop()
                    continue
                stack.append(item)
                for op in body:
                    if type(op) is str:
                        out.append(op)
                    else:
                        op(stack, out, fallback, escape_top)
                stack.pop()
        elif not _truthy(value):
            return
        elif value is not True and (
            isinstance(value, (Mapping, str, int, float)) or not isinstance(value, _SCALARS)
        ):
            stack.append(value)
            _run(body, stack, out, fallback, escape_top)
            stack.pop()
        else:
            _run(body, stack, out, fallback, escape_top)

    def inverted_section(stack: list, out: list[str], fallback: Fallback, escape_top: EscapeTop) -> None:
        value = lookup(stack, fallback, escape_top)
        if not _truthy(value) or (isinstance(value, (list, tuple)) and len(value) == 0):
            _run(body, stack, out, fallback, escape_top)

    return inverted_section if inverted else section


def _compile(tokens: tuple) -> tuple:
    ops: list = []
    for tok in tokens:
        kind = tok[0]
        if kind == "text":
            ops.append(tok[1])
        elif kind == "name" or kind == "&":
            ops.append(_value_op(tok[1], escaped=kind == "name"))
        elif kind == "#" or kind == "^":
            ops.append(_section_op(tok[1], _compile(tok[2]), inverted=kind == "^"))
        # partials (">") render nothing
    return tuple(ops)


class Template:
    """A parsed and compiled template; render() as often as needed."""

    __slots__ = ("tokens", "ops", "names")

    def __init__(self, tokens: tuple) -> None:
        self.tokens = tokens
        self.ops = _compile(tokens)
        self.names: frozenset[str] = frozenset(token_names(tokens))

    def render(self, view: Any, fallback: Fallback = None, escape_top: EscapeTop = None) -> str:
        out: list[str] = []
        stack = [view]
        for op in self.ops:
            if type(op) is str:
                out.append(op)
            else:
                op(stack, out, fallback, escape_top)
        return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_template(template: str) -> Template:
    """The compiled template (cached per template text); raises MustacheError when it does not parse."""
    return Template(parse(template))


@functools.lru_cache(maxsize=64)
def _compile_tokens(tokens: tuple) -> Template:
    return Template(tokens)


def render(
    template: str | tuple,
    view: Any,
    fallback: Fallback = None,
    escape_top: EscapeTop = None,
) -> str:
    """Render a template string (or parsed tokens) against `view`."""
    compiled = compile_template(template) if isinstance(template, str) else _compile_tokens(template)
    return compiled.render(view, fallback, escape_top)
