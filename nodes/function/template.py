"""The template node: render a mustache (or plain) template into a property,
optionally parsing the result as JSON or YAML."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from flowrt import Node, register_type
from flowrt.lang.mustache import MISSING, Template, compile_template
from flowrt.lang.propertypath import parse_property_expression, set_message_property
from flowrt.util import parse_context_store

_CONTEXT_RE = re.compile(r"^(flow|global)(\[(\w+)\])?\.(.+)", re.DOTALL)
_ENV_RE = re.compile(r"^env\.(.+)", re.DOTALL)
_JSON_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\b": "\\b"})


def _escape_json_string(text: str) -> str:
    return text.translate(_JSON_ESCAPES)


OutsideNames = tuple[tuple[str, str, str | None, str], ...]


def _outside_names(template: Template) -> OutsideNames:
    """The tags of a compiled template that read env or context, not the message, as
    (name, "env" | "flow" | "global", store or None, key)."""
    found = []
    for name in sorted(template.names):
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
        self.escape = _escape_json_string if self.output_format == "json" else None
        # msg.<key> for a plain key: one dict store per message instead of a property-path walk
        self.plain_key = _plain_key(self.field) if self.field_type == "msg" else None
        # the last template rendered, compiled, and its env/context names (the node's own
        # template, normally: compiled once, not per message)
        self.compiled_text: str | None = None
        self.compiled: Template | None = None
        self.outside: OutsideNames = ()

    def _compiled(self, template: str) -> tuple[Template, OutsideNames]:
        if template != self.compiled_text:
            compiled = compile_template(template)  # MustacheError: reported by on_input
            self.compiled_text, self.compiled = template, compiled
            self.outside = _outside_names(compiled)
        return self.compiled, self.outside

    def _output(self, msg: dict, value: Any, send: Callable, done: Callable) -> None:
        if self.output_format == "json":
            value = json.loads(value)
        elif self.output_format == "yaml":
            value = yaml.safe_load(value)
        if self.plain_key is not None and type(msg) is dict:
            msg[self.plain_key] = value
        elif self.field_type == "msg":
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
            compiled, outside = self._compiled(template)
            fallback = self._fallback(outside) if outside else None
            value = compiled.render(msg, fallback, self.escape)
            self._output(msg, value, send, done)
        except Exception as err:
            done(str(err) or type(err).__name__)

    def _fallback(self, outside: OutsideNames) -> Callable[[str], Any]:
        """What names the message does not have resolve to: the env/context values of the
        template's env./flow./global. names (read once per message), else ""."""
        resolved: dict[str, Any] = {}
        for name, scope, store, key in outside:
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

        return fallback


def _plain_key(field: str) -> str | None:
    """`key` when the property `field` (msg.key, key) is one plain top-level key, else None."""
    if not isinstance(field, str):
        return None
    expr = field[4:] if field.startswith("msg.") else field
    try:
        parts = parse_property_expression(expr)
    except ValueError:
        return None  # reported when a message is set, as before
    return parts[0] if len(parts) == 1 and type(parts[0]) is str else None
