"""`mcp-response` answers the MCP request a message carries; `mcp-notify` tells the client
something while (or after) a flow works on one, or asks it something.

    [mcp-tool] -> [function] -> [mcp-response]          msg.payload becomes the tool's result
    [catch] ---------------------^                      an error caught there: a tool error
    [mcp-tool] -> [mcp-notify progress] -> ... -> [mcp-response]
    [mcp-tool] -> [mcp-notify sampling] -> (the client's answer in msg.payload) -> [mcp-response]

Both find the request by `msg.mcp` (set by mcp-tool / mcp-resource / mcp-prompt). An answer
to a request that was cancelled, timed out or answered before is dropped (logged at debug).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, NodeError, register_type
from flowrt.lang.propertypath import get_message_property
from flowrt.mcp import features, protocol
from flowrt.mcp.server import McpServer, find_server

CONTENT_TYPES = ("auto", "text", "image", "audio", "resource", "resource_link", "structured")
NOTIFY_KINDS = (
    "progress",
    "log",
    "resource-updated",
    "list-changed",
    "close-stream",
    "sampling",
    "elicitation",
    "roots",
)
CLIENT_REQUESTS = {
    "sampling": ("sampling/createMessage", "sampling"),
    "elicitation": ("elicitation/create", "elicitation"),
    "roots": ("roots/list", "roots"),
}


def _mcp(msg: dict) -> dict:
    value = msg.get("mcp")
    return value if isinstance(value, dict) else {}


def _server_of(node: Node, msg: dict) -> McpServer | None:
    found = find_server(node.runtime, node.config.get("server") or _mcp(msg).get("server"))
    return None if found is None else found[1]


def _caught_error(msg: dict) -> str | None:
    """The message of an error a catch node caught (msg.error = {message, source, ...})."""
    error = msg.get("error")
    if isinstance(error, dict) and "source" in error and "message" in error:
        return str(error.get("message"))
    return None


def _choice(cfg: dict, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = cfg.get(key) or default
    if value not in allowed:
        raise NodeConfigError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


@register_type("mcp-response")
class McpResponseNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "server": {"type": "string", "description": "empty: the server named by msg.mcp.server"},
            "contentType": {"enum": list(CONTENT_TYPES), "default": "auto"},
            "mimeType": {"type": "string", "description": "for image, audio and binary answers"},
            "property": {
                "type": "string",
                "default": "payload",
                "description": "msg property holding the answer",
            },
            "isError": {"type": "boolean", "description": "answer as a tool error"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.content_type = _choice(cfg, "contentType", CONTENT_TYPES, "auto")
        self.mime_type = str(cfg.get("mimeType") or "")
        prop = cfg.get("property") or "payload"
        if not isinstance(prop, str):
            raise NodeConfigError(f"property must be a message property name, not {prop!r}")
        self.property = prop
        self.is_error = bool(cfg.get("isError"))

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        token = _mcp(msg).get("call")
        server = _server_of(self, msg)
        if server is None or not token:
            done(NodeError("mcp-response needs the message of an MCP request (msg.mcp from mcp-tool, ...)"))
            return
        call = server.call(token)
        if call is None:
            self.debug(
                f"dropped the answer to MCP request {_mcp(msg).get('requestId')!r}: "
                "it was cancelled, timed out or answered before"
            )
            done()
            return
        value = msg.get("payload") if self.property == "payload" else get_message_property(msg, self.property)
        failed = _caught_error(msg)
        try:
            result = self._result(call, msg, value, failed)
        except (ValueError, TypeError) as err:
            server.fail(call, f"the flow's answer cannot be sent: {err}")
            done(NodeError(f"cannot answer MCP {call.method}: {err}"))
            return
        if result is None:
            server.fail(call, failed or "the flow failed")
        else:
            server.answer(call, result)
        done()

    def _result(self, call: Any, msg: dict, value: Any, failed: str | None) -> dict | None:
        mime = self.mime_type or str(msg.get("mimeType") or "")
        if call.method == "tools/call":
            if failed is not None:
                return features.error_result(failed)
            is_error = self.is_error or msg.get("isError") is True
            return features.tool_result(call.feature, value, self.content_type, mime, is_error)
        if failed is not None:
            return None  # a JSON-RPC error: resources and prompts have no error result
        if call.method == "resources/read":
            return features.resource_result(call.detail["uri"], value, mime or call.feature.mime_type)
        return features.prompt_result(call.feature, value, mime)


@register_type("mcp-notify")
class McpNotifyNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "server": {"type": "string", "description": "empty: the server named by msg.mcp.server"},
            "kind": {"enum": list(NOTIFY_KINDS), "default": "log"},
            "level": {"enum": ["", *protocol.LOG_LEVELS], "description": "log: empty = msg.level or info"},
            "logger": {"type": "string"},
            "listType": {"enum": ["tools", "resources", "prompts"], "default": "tools"},
            "uri": {"type": "string", "description": "resource-updated: empty = msg.uri or msg.payload"},
            "total": {"type": ["number", "string"], "description": "progress: the total, if known"},
            "maxTokens": {"type": ["integer", "string"], "default": 1000, "description": "sampling"},
            "requestedSchema": {"type": ["object", "string"], "description": "elicitation: the form"},
            "timeout": {
                "type": ["number", "string"],
                "default": 60,
                "description": "seconds to wait for the client",
            },
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.kind = _choice(cfg, "kind", NOTIFY_KINDS, "log")
        level = cfg.get("level") or ""
        if level and level not in protocol.LOG_RANK:
            raise NodeConfigError(f"level must be one of {', '.join(protocol.LOG_LEVELS)}, not {level!r}")
        self.level = level
        self.logger = str(cfg.get("logger") or "")
        self.list_type = _choice(cfg, "listType", ("tools", "resources", "prompts"), "tools")
        self.uri = str(cfg.get("uri") or "")
        self.total = self._number("total", None)
        self.max_tokens = int(self._number("maxTokens", 1000) or 1000)
        self.timeout = self._number("timeout", 60) or None
        schema = cfg.get("requestedSchema")
        if isinstance(schema, str) and schema.strip():
            try:
                schema = json.loads(schema)
            except json.JSONDecodeError as err:
                raise NodeConfigError(f"requestedSchema is not valid JSON: {err}") from None
        if schema not in (None, "") and not isinstance(schema, dict):
            raise NodeConfigError(f"requestedSchema must be a JSON Schema object, not {schema!r}")
        self.requested_schema = schema or None

    def _number(self, key: str, default: float | None) -> float | None:
        value = self.config.get(key)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise NodeConfigError(f"{key} must be a number, not {value!r}") from None

    def on_input(self, msg: dict, send: Callable, done: Callable) -> Any:
        server = _server_of(self, msg)
        if server is None:
            done(NodeError("no MCP server: set server, or send a message from an MCP request (msg.mcp)"))
            return None
        info = _mcp(msg)
        call = server.call(info.get("call"))
        session = call.session if call is not None else server.sessions.get(str(info.get("session") or ""))
        if self.kind in CLIENT_REQUESTS:
            return self._ask(server, session, call, msg, send, done)
        try:
            self._notify(server, session, call, msg)
        except NodeError as err:
            done(err)
            return None
        send(msg)
        done()
        return None

    def _notify(self, server: McpServer, session: Any, call: Any, msg: dict) -> None:
        payload = msg.get("payload")
        if self.kind == "progress":
            token = call.progress_token if call is not None else _mcp(msg).get("progressToken")
            if token is None or call is None:
                return  # the client asked for no progress
            params = dict(payload) if isinstance(payload, dict) else {"progress": payload}
            if not isinstance(params.get("progress"), (int, float)) or isinstance(params["progress"], bool):
                raise NodeError(
                    f"progress must be a number (msg.payload or msg.payload.progress), not {payload!r}"
                )
            if self.total is not None and "total" not in params:
                params["total"] = self.total
            params["progressToken"] = token
            call.notify(protocol.notification("notifications/progress", params))
        elif self.kind == "log":
            level = self.level or str(msg.get("level") or "info")
            if level not in protocol.LOG_RANK:
                raise NodeError(f"msg.level must be one of {', '.join(protocol.LOG_LEVELS)}, not {level!r}")
            server.log_message(level, payload, self.logger or str(msg.get("logger") or ""), session, call)
        elif self.kind == "resource-updated":
            uri = self.uri or msg.get("uri") or payload
            if not isinstance(uri, str) or not uri:
                raise NodeError("resource-updated needs a uri (the node's, msg.uri or msg.payload)")
            server.resource_updated(uri)
        elif self.kind == "list-changed":
            server.list_changed(self.list_type)
        elif self.kind == "close-stream":
            if call is not None and call.open and not call.stream.standalone:
                call.stream.request_close()

    async def _ask(
        self, server: McpServer, session: Any, call: Any, msg: dict, send: Callable, done: Callable
    ) -> None:
        method, capability = CLIENT_REQUESTS[self.kind]
        if session is None or session.closed:
            done(NodeError(f"{method}: the message names no open MCP session (msg.mcp.session)"))
            return
        if capability not in session.client_capabilities:
            done(NodeError(f"{method}: the client does not offer {capability}", code="MCP_NO_CAPABILITY"))
            return
        try:
            params = self._params(msg.get("payload"))
        except ValueError as err:
            done(NodeError(f"{method}: {err}"))
            return
        future = session.request(method, params, call)
        try:
            result = await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            done(
                NodeError(
                    f"{method}: no answer from the client within {self.timeout:g} s", code="MCP_TIMEOUT"
                )
            )
            return
        except protocol.McpError as err:
            done(NodeError(f"{method}: the client answered an error: {err.message}", code=str(err.code)))
            return
        msg["payload"] = result
        send(msg)
        done()

    def _params(self, payload: Any) -> dict | None:
        if self.kind == "roots":
            return None
        if self.kind == "sampling":
            if isinstance(payload, str):
                text = {"type": "text", "text": payload}
                return {"messages": [{"role": "user", "content": text}], "maxTokens": self.max_tokens}
            if isinstance(payload, dict) and isinstance(payload.get("messages"), list):
                return {"maxTokens": self.max_tokens, **payload}
            raise ValueError("msg.payload must be the prompt text or {messages, maxTokens, ...}")
        if isinstance(payload, str):
            if self.requested_schema is None:
                raise ValueError("msg.payload is the message: set requestedSchema for the form")
            return {"message": payload, "requestedSchema": self.requested_schema}
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            params = dict(payload)
            if "requestedSchema" not in params:
                if self.requested_schema is None:
                    raise ValueError("no requestedSchema in msg.payload or the node")
                params["requestedSchema"] = self.requested_schema
            return params
        raise ValueError("msg.payload must be the message text or {message, requestedSchema}")
