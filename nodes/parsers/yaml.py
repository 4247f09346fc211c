"""The `yaml` node: YAML text to an object and back.

Parsing follows YAML 1.2's core schema as js-yaml does (only true/false are
booleans, dates stay strings); output is block style with sequences indented
under their key, as js-yaml's `dump` writes it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml as pyyaml

from flowrt import Node, register_type
from flowrt.lang.propertypath import get_message_property, has_message_property, set_message_property


class _CoreLoader(pyyaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars (no yes/no/on/off booleans, no timestamps)."""


_CoreLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in pyyaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _BlockDumper(pyyaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _bytes_repr(dumper: pyyaml.SafeDumper, data: bytes) -> Any:
    return dumper.represent_dict({"type": "Buffer", "data": list(data)})


_BlockDumper.add_representer(bytes, _bytes_repr)
_BlockDumper.add_representer(bytearray, _bytes_repr)


def load_yaml(text: str) -> Any:
    return pyyaml.load(text, Loader=_CoreLoader)  # noqa: S506 - a SafeLoader subclass


def dump_yaml(value: Any) -> str:
    return pyyaml.dump(
        value, Dumper=_BlockDumper, default_flow_style=False, sort_keys=False, allow_unicode=True
    )


def _error_text(err: pyyaml.YAMLError) -> str:
    if isinstance(err, pyyaml.MarkedYAMLError) and err.problem:
        where = f" ({err.problem_mark.line + 1}:{err.problem_mark.column + 1})" if err.problem_mark else ""
        context = f"{err.context}; " if err.context else ""
        return f"{context}{err.problem}{where}"
    return str(err)


@register_type("yaml")
class YAMLNode(Node):
    schema = {"type": "object", "properties": {"property": {"type": "string"}}}

    def setup(self) -> None:
        self.property = self.config.get("property") or "payload"

    def on_input(self, msg: dict, send, done) -> None:
        value = get_message_property(msg, self.property)
        if value is None and not has_message_property(msg, self.property):
            send(msg)
            done()
            return
        if isinstance(value, str):
            try:
                parsed = load_yaml(value)
            except pyyaml.YAMLError as err:
                done(_error_text(err))
                return
            set_message_property(msg, self.property, parsed)
            send(msg)
            done()
        elif isinstance(value, (dict, list)) or value is None:
            try:
                text = dump_yaml(value)
            except pyyaml.YAMLError:
                done("Failed to convert the value to YAML")
                return
            set_message_property(msg, self.property, text)
            send(msg)
            done()
        elif isinstance(value, (bytes, bytearray)):
            self.warn("Dropped: bytes are neither a YAML string nor an object")
            done()
        else:
            self.warn("Dropped: the property is neither a YAML string nor an object")
            done()
