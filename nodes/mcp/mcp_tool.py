"""`mcp-tool`, `mcp-resource`, `mcp-prompt`: what an MCP server offers, each a node that starts
a flow, as `http in` does for a request.

    [mcp-tool add] -> ... any nodes ... -> [mcp-response]

A call leaves the node as a message: `msg.payload` is the tool's arguments (already checked
against `inputSchema`), the resource template's variables, or the prompt's arguments; `msg.mcp`
says which server, session and request it is, with the client's capabilities and the progress
token, and holds the token `mcp-response` answers with.
"""

from __future__ import annotations

import json
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.mcp.features import FeatureError, Prompt, Resource, Tool
from flowrt.mcp.server import McpServer, find_server
from flowrt.util import generate_id

_TOOL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")

SERVER_PROPERTY = {"type": "string", "description": "the mcp-server config node (empty: the only one)"}
TIMEOUT_PROPERTY = {"type": ["number", "string"], "description": "seconds to answer; empty: the server's"}


def _json_value(cfg: dict, key: str, kinds: tuple[type, ...], default: Any = None) -> Any:
    """A property that is an object/list, or JSON text of one (as the editor stores it)."""
    value = cfg.get(key)
    if value in (None, ""):
        return default
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise NodeConfigError(f"{key} is not valid JSON: {err}") from None
    if not isinstance(value, kinds):
        raise NodeConfigError(f"{key} must be {' or '.join(k.__name__ for k in kinds)}, not {value!r}")
    return value


def _timeout(cfg: dict) -> float | None:
    value = cfg.get("timeout")
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise NodeConfigError(f"timeout must be a number of seconds, not {value!r}") from None
    if seconds < 0:
        raise NodeConfigError(f"timeout must not be negative, not {value!r}")
    return seconds


def _text(cfg: dict, key: str) -> str:
    value = cfg.get(key)
    return "" if value is None else str(value)


class FeatureNode(Node):
    """What the three share: finding the server, adding the feature, sending each call."""

    feature: Any = None

    def find_server(self) -> McpServer:
        server_id = self.config.get("server")
        found = find_server(self.runtime, server_id)
        if found is None:
            if server_id:
                raise NodeConfigError(f"mcp-server {server_id!r} does not exist or did not start")
            raise NodeConfigError("no mcp-server config node to serve this, or several: set server")
        self.server_id, server = found
        return server

    def add(self, add: Any, feature: Any) -> None:
        try:
            add(feature)
        except FeatureError as err:
            raise NodeConfigError(str(err)) from None
        self.feature = feature

    def start(self, call: Any, payload: Any) -> None:
        msg = {
            "_msgid": generate_id(),
            "topic": call.params.get("name") or call.params.get("uri") or "",
            "payload": payload,
            "mcp": call.describe(self.server_id),
        }
        self.send(msg)

    def on_close(self, removed: bool) -> None:
        if self.feature is not None:
            self.server.remove(self.feature)


@register_type("mcp-tool")
class McpToolNode(FeatureNode):
    schema = {
        "type": "object",
        "properties": {
            "server": SERVER_PROPERTY,
            "name": {"type": "string", "minLength": 1, "description": "the tool's name"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "inputSchema": {"type": ["object", "string"], "description": "JSON Schema of the arguments"},
            "outputSchema": {"type": ["object", "string"], "description": "JSON Schema of structuredContent"},
            "annotations": {
                "type": ["object", "string"],
                "description": "readOnlyHint, destructiveHint, ...",
            },
            "timeout": TIMEOUT_PROPERTY,
        },
        "required": ["name"],
    }

    def setup(self) -> None:
        cfg = self.config
        name = cfg.get("name")
        if not isinstance(name, str) or not name:
            raise NodeConfigError("name (the tool's name) must be a non-empty string")
        if not set(name) <= _TOOL_NAME_CHARS or len(name) > 128:
            self.warn(f"tool name {name!r}: MCP advises 1-128 of A-Z a-z 0-9 _ - .")
        self.server = self.find_server()
        tool = self._tool(cfg, name)
        self.add(self.server.add_tool, tool)

    def _tool(self, cfg: dict, name: str) -> Tool:
        try:
            return Tool(
                name=name,
                start=lambda call: self.start(call, call.params.get("arguments") or {}),
                title=_text(cfg, "title"),
                description=_text(cfg, "description"),
                input_schema=_json_value(cfg, "inputSchema", (dict,), {"type": "object", "properties": {}}),
                output_schema=_json_value(cfg, "outputSchema", (dict,)),
                annotations=_json_value(cfg, "annotations", (dict,)),
                timeout=_timeout(cfg),
            )
        except FeatureError as err:
            raise NodeConfigError(str(err)) from None


@register_type("mcp-resource")
class McpResourceNode(FeatureNode):
    schema = {
        "type": "object",
        "properties": {
            "server": SERVER_PROPERTY,
            "name": {"type": "string", "description": "the resource's name"},
            "uri": {
                "type": "string",
                "minLength": 1,
                "description": "a URI, or a URI template with {variables}",
            },
            "title": {"type": "string"},
            "description": {"type": "string"},
            "mimeType": {"type": "string"},
            "completions": {
                "type": ["object", "string"],
                "description": "template variable -> values offered by completion/complete",
            },
            "timeout": TIMEOUT_PROPERTY,
        },
        "required": ["uri"],
    }

    def setup(self) -> None:
        cfg = self.config
        uri = cfg.get("uri")
        if not isinstance(uri, str) or not uri:
            raise NodeConfigError("uri must be a URI or a URI template such as file:///{path}")
        self.server = self.find_server()
        completions = _json_value(cfg, "completions", (dict,), {})
        templated = "{" in uri
        try:
            resource = Resource(
                start=lambda call: self.start(call, dict(call.detail.get("variables") or {})),
                name=_text(cfg, "name") or uri,
                uri="" if templated else uri,
                uri_template=uri if templated else "",
                title=_text(cfg, "title"),
                description=_text(cfg, "description"),
                mime_type=_text(cfg, "mimeType"),
                completions={
                    str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
                    for k, v in completions.items()
                },
                timeout=_timeout(cfg),
            )
        except FeatureError as err:
            raise NodeConfigError(str(err)) from None
        self.add(self.server.add_resource, resource)


@register_type("mcp-prompt")
class McpPromptNode(FeatureNode):
    schema = {
        "type": "object",
        "properties": {
            "server": SERVER_PROPERTY,
            "name": {"type": "string", "minLength": 1, "description": "the prompt's name"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "arguments": {
                "type": ["array", "string"],
                "description": "[{name, description, required, values}]: values feed completion/complete",
            },
            "timeout": TIMEOUT_PROPERTY,
        },
        "required": ["name"],
    }

    def setup(self) -> None:
        cfg = self.config
        name = cfg.get("name")
        if not isinstance(name, str) or not name:
            raise NodeConfigError("name (the prompt's name) must be a non-empty string")
        self.server = self.find_server()
        try:
            prompt = Prompt(
                name=name,
                start=lambda call: self.start(call, dict(call.params.get("arguments") or {})),
                title=_text(cfg, "title"),
                description=_text(cfg, "description"),
                arguments=_json_value(cfg, "arguments", (list,), []),
                timeout=_timeout(cfg),
            )
        except FeatureError as err:
            raise NodeConfigError(str(err)) from None
        self.add(self.server.add_prompt, prompt)
