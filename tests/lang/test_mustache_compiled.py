"""The compiled mustache renderer (flowrt.lang.mustache: a template compiled once into ops) gives
exactly what the token-tree interpreter it replaced gave, on thousands of generated templates and
views: every construct (escaped and raw values, numbers, dotted names, `.`, sections over lists,
tuples, objects, live objects, truthy and falsy values, inverted sections, comments, partials,
delimiter changes, standalone lines), with and without a fallback and the JSON-mode escape.

`Reference` below is that interpreter as it was (commit 4b38522), kept here as the oracle."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import pytest

from flowrt.lang import mustache
from flowrt.lang.jsvalues import js_number_text, js_string
from flowrt.lang.mustache import MISSING, compile_template, escape_html, parse, render

# ----------------------------------------------------------------- the interpreter it replaced
_SCALARS = (str, bytes, bytearray, int, float, bool, type(None))


def _ref_field(obj: Any, key: str) -> Any:
    if key.startswith("_") or isinstance(obj, _SCALARS):
        return MISSING
    value = getattr(obj, key, MISSING)
    return MISSING if callable(value) else value


def _ref_get(obj: Any, key: str) -> Any:
    if type(obj) is dict:
        return obj.get(key, MISSING)
    if isinstance(obj, Mapping):
        return obj.get(key, MISSING)
    if isinstance(obj, (list, tuple, str)):
        if key == "length":
            return len(obj)
        if key.isdigit() and int(key) < len(obj):
            return obj[int(key)]
        return MISSING
    return _ref_field(obj, key)


def _ref_lookup(stack: list, name: str) -> Any:
    if name == ".":
        return stack[-1]
    parts = tuple(name.split("."))
    for depth in range(len(stack) - 1, -1, -1):
        value = stack[depth]
        for part in parts:
            if value is None or value is MISSING:
                value = MISSING
                break
            value = _ref_get(value, part)
        if value is not MISSING:
            return value
    return MISSING


def _ref_truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _ref_string(value: Any) -> str:
    return "" if value is None or value is MISSING else js_string(value)


class Reference:
    def __init__(self, fallback, escape_top):
        self.fallback = fallback
        self.escape_top = escape_top

    def lookup(self, stack: list, name: str) -> Any:
        value = _ref_lookup(stack, name)
        if value is MISSING:
            return self.fallback(name) if self.fallback is not None else MISSING
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
                    out.append(js_number_text(value))
                else:
                    out.append(escape_html(_ref_string(value)))
            elif kind == "&":
                value = self.lookup(stack, tok[1])
                if value is None or value is MISSING:
                    continue
                out.append(_ref_string(value))
            elif kind == "#":
                value = self.lookup(stack, tok[1])
                if isinstance(value, (list, tuple)):
                    for item in value:
                        stack.append(item)
                        self.render(tok[2], stack, out)
                        stack.pop()
                elif not _ref_truthy(value):
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
                if not _ref_truthy(value) or (isinstance(value, (list, tuple)) and len(value) == 0):
                    self.render(tok[2], stack, out)


def reference_render(template: str, view: Any, fallback=None, escape_top=None) -> str:
    out: list[str] = []
    Reference(fallback, escape_top).render(parse(template), [view], out)
    return "".join(out)


# ----------------------------------------------------------------- generated templates and views
class Live:
    """A live object (as msg.req is): public fields read, methods and _private names not."""

    def __init__(self, rng: random.Random, depth: int) -> None:
        self.a = random_value(rng, depth + 1)
        self.name = "live<&>"
        self._hidden = "secret"

    def method(self) -> str:
        return "never"


class FrozenMapping(Mapping):
    """A Mapping that is not a dict (the ABC path)."""

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


NAMES = ["a", "b", "c", "s", "n", "list", "obj", "t", "f", "name", "none", "missing", "item"]
PATHS = NAMES + [
    ".",
    "a.b",
    "a.b.c",
    "obj.a",
    "obj.name",
    "list.length",
    "list.0",
    "list.1.a",
    "s.length",
    "obj._hidden",
    "obj.method",
    "flow.x",
    "global.y",
    "env.HOME",
    "a.missing.c",
]
STRINGS = ["", "x", "<b>&'\"`=/</b>", "0", "false", " ", "héllo\u2028", "a\nb", "{{a}}"]
SCALARS: list[Any] = [0, 1, -1, 2.5, -0.0, 1e21, 3.0, float("nan"), float("inf"), True, False, None, MISSING]
SCALARS += [b"bytes", bytearray(b"ba"), 2**53, -(2**53) - 1, 2**60 + 1, 12345]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice(SCALARS) if rng.random() < 0.5 else rng.choice(STRINGS)
    if roll < 0.6:
        return random_dict(rng, depth + 1)
    if roll < 0.8:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if roll < 0.87:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    if roll < 0.94:
        return Live(rng, depth)
    return FrozenMapping(random_dict(rng, depth + 1))


def random_dict(rng: random.Random, depth: int = 0) -> dict:
    return {name: random_value(rng, depth + 1) for name in rng.sample(NAMES, rng.randrange(1, 7))}


TEXTS = ["", "x", " ", "<&>", "\n", "  \n", "\r\n", "text ", "\t"]


def random_template(rng: random.Random, depth: int = 0) -> str:
    out = []
    for _ in range(rng.randrange(1, 6)):
        roll = rng.random()
        name = rng.choice(PATHS)
        if roll < 0.25:
            out.append(rng.choice(TEXTS))
        elif roll < 0.45:
            out.append("{{" + rng.choice(["", " "]) + name + rng.choice(["", " "]) + "}}")
        elif roll < 0.52:
            out.append("{{{" + name + "}}}")
        elif roll < 0.57:
            out.append("{{& " + name + "}}")
        elif roll < 0.6:
            out.append(rng.choice(["{{! a comment }}", "{{> partial}}", "\n  {{! standalone }}\n"]))
        elif roll < 0.62:
            out.append("{{=<% %>=}}<%" + name + "%><%={{ }}=%>")
        elif depth < 3 and name != ".":
            kind = rng.choice("#^")
            nl = rng.choice(["", "\n", "\n  "])
            body = random_template(rng, depth + 1)
            out.append(
                "{{" + kind + name + "}}" + nl + body + nl + "{{/" + name + "}}" + rng.choice(["", "\n"])
            )
    return "".join(out)


def fallback(name: str) -> Any:
    return {"flow.x": "<flow>", "global.y": 7, "env.HOME": None}.get(name, "")


def json_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as err:  # noqa: BLE001 - the same error either way
        return ("error", type(err), str(err))


@pytest.mark.parametrize("seed", range(8))
def test_compiled_render_equals_the_interpreter(seed):
    rng = random.Random(seed)
    for _ in range(400):
        template = random_template(rng)
        view = random_dict(rng)
        for fb, esc in ((None, None), (fallback, None), (fallback, json_escape), (None, json_escape)):
            expected = outcome(reference_render, template, view, fb, esc)
            got = outcome(render, template, view, fb, esc)
            assert got == expected, (template, view, fb, esc)


CASES = [
    # (template, view, expected)
    ("{{a}} {{{a}}} {{& a}}", {"a": "<&>"}, "&lt;&amp;&gt; <&> <&>"),
    ("{{n}}|{{f}}|{{x}}", {"n": 3.0, "f": 0.1, "x": 1e21}, "3|0.1|1e+21"),
    ("{{t}}{{u}}{{v}}", {"t": True, "u": None, "v": False}, "truefalse"),
    ("{{a.b.c}}", {"a": {"b": {"c": "deep"}}}, "deep"),
    ("{{#l}}{{.}},{{/l}}", {"l": [1, "x", None]}, "1,x,,"),
    ("{{#l}}{{a}}{{b}};{{/l}}", {"b": "B", "l": [{"a": 1}, {"a": 2, "b": "own"}]}, "1B;2own;"),
    ("{{#o}}{{x}}{{/o}}", {"o": {"x": "in"}}, "in"),
    ("{{#t}}yes{{/t}}{{^f}}no{{/f}}{{^e}}empty{{/e}}", {"t": True, "f": 0, "e": []}, "yesnoempty"),
    ("{{#s}}[{{.}}]{{/s}}", {"s": "str"}, "[str]"),
    ("{{l.length}} {{l.1}}", {"l": ["a", "b"]}, "2 b"),
    ("a\n  {{#x}}\nline\n  {{/x}}\nb", {"x": True}, "a\nline\nb"),
    ("{{=<% %>=}}<% a %>{{a}}", {"a": "v"}, "v{{a}}"),
    ("{{! comment }}{{> part}}x", {}, "x"),
]


@pytest.mark.parametrize(("template", "view", "expected"), CASES)
def test_constructs(template, view, expected):
    assert render(template, view) == expected
    assert reference_render(template, view) == expected


def test_a_template_is_compiled_once():
    first = compile_template("{{a}} and {{#b}}{{c}}{{/b}}")
    assert compile_template("{{a}} and {{#b}}{{c}}{{/b}}") is first
    assert first.names == {"a", "b", "c"}
    assert first.render({"a": 1, "b": [{"c": 2}, {"c": 3}]}) == "1 and 23"


def test_parse_errors_are_raised_when_compiling():
    with pytest.raises(mustache.MustacheError):
        compile_template("{{#a}} never closed")


def test_parsed_tokens_still_render():
    assert render(parse("{{a}}!"), {"a": "x"}) == "x!"


PLAN_VIEW = {
    "k": "outer<",
    "items": [
        {"k": "<b>", "n": 2**60, "t": True, "z": None},
        {"n": -5, "k": 3.5},
        "a string item",
        ("a", "tuple"),
        {"k": b"bytes", "n": 7},
        {"k": ""},
        {},
    ],
}


@pytest.mark.parametrize(
    "template",
    [
        "{{#items}}[{{k}}|{{{k}}}|{{& n}}|{{n}}|{{t}}|{{z}}]{{/items}}",
        "{{#items}}{{k}}{{/items}}{{#items}}{{{k}}}{{/items}}",
        "{{#items}}{{k}}{{.}}{{/items}}",  # not a plan: `.` is not a plain key
        "{{#items}}{{a.b}}{{k}}{{/items}}",
    ],
)
@pytest.mark.parametrize("escape", [None, json_escape])
def test_list_sections_of_plain_keys(template, escape):
    # a body of text and plain keys is written without a call per tag for dict items
    assert render(template, PLAN_VIEW, fallback, escape) == reference_render(
        template, PLAN_VIEW, fallback, escape
    )
