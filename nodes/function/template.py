"""The template node: render a mustache (or plain) template into a property,
optionally parsing the result as JSON or YAML."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from flowrt import Node, register_type
from flowrt.lang.mustache import MISSING, parse, render, token_names
from flowrt.lang.propertypath import set_message_property
from flowrt.util import parse_context_store

_CONTEXT_RE = re.compile(r"^(flow|global)(\[(\w+)\])?\.(.+)", re.DOTALL)
_ENV_RE = re.compile(r"^env\.(.+)", re.DOTALL)
_JSON_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\b": "\\b"})


def _escape_json_string(text: str) -> str:
    return text.translate(_JSON_ESCAPES)


@functools.lru_cache(maxsize=256)
def _outside_names(tokens: tuple) -> tuple[tuple[str, str, str | None, str], ...]:
    """The tags of a parsed template that read env or context, not the message, as
    (name, "env" | "flow" | "global", store or None, key); once per template, not per message."""
    found = []
    for name in sorted(token_names(tokens)):
        m = _ENV_RE.match(name)
        if m:
            found.append((name, "env", None, m.group(1)))
            continue
        m = _CONTEXT_RE.match(name)
        if m:
            found.append((name, m.group(1), m.group(3) or None, m.group(4)))
    return tuple(found)


@register_type("template")
class TemplateNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "field": {"type": "string"},
            "fieldType": {"enum": ["msg", "flow", "global"]},
            "template": {"type": ["string", "null"]},
            "syntax": {"enum": ["mustache", "plain"]},
            "format": {"type": "string"},
            "output": {"enum": ["str", "json", "yaml"]},
        },
    }

    def setup(self) -> None:
        n = self.config
        self.field = n.get("field") or "payload"
        self.template = n.get("template")
        self.syntax = n.get("syntax") or "mustache"
        self.field_type = n.get("fieldType") or "msg"
        self.output_format = n.get("output") or "str"

    def _output(self, msg: dict, value: Any, send: Callable, done: Callable) -> None:
        if self.output_format == "json":
            value = json.loads(value)
        elif self.output_format == "yaml":
            value = yaml.safe_load(value)
        if self.field_type == "msg":
            set_message_property(msg, self.field, value)
        elif self.field_type in ("flow", "global"):
            store, key = parse_context_store(self.field)
            ctx = self.context()
            (ctx.flow if self.field_type == "flow" else ctx.global_).set(key, value, store)
        send(msg)
        done()

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        try:
            template = self.template
            if "template" in msg and (template == "" or template is None):
                template = msg["template"]
            if template is None:
                template = ""
            if not isinstance(template, str):
                template = str(template)
            if self.syntax != "mustache":
                self._output(msg, template, send, done)
                return
            tokens = parse(template)
            resolved: dict[str, Any] = {}
            for name, scope, store, key in _outside_names(tokens):
                if scope == "env":
                    resolved[name] = self.evaluate(key, "env", None)
                    continue
                ctx = self.context()
                target = ctx.flow if scope == "flow" else ctx.global_
                resolved[name] = target.get(key, store)

            def fallback(name: str) -> Any:
                if name in resolved:
                    value = resolved[name]
                    return MISSING if value is None else value
                return ""

            escape = _escape_json_string if self.output_format == "json" else None
            value = render(tokens, msg, fallback, escape)
            self._output(msg, value, send, done)
        except Exception as err:
            done(str(err) or type(err).__name__)
