"""An MCP server: its tools, resources and prompts, its sessions, and what each method does.

The transports (transport.py) turn HTTP into calls of `handle(session, message, stream)`; the
`mcp-*` nodes add features (`add_tool`, ...) whose `start(call)` sends the request into the
flow, and answer with `answer(token, result)`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowrt.http.sessions import new_session_id
from flowrt.mcp import features, protocol
from flowrt.mcp.features import Prompt, Resource, Tool
from flowrt.mcp.protocol import McpError
from flowrt.mcp.session import Call, Session, Stream, request_key


@dataclass
class ServerOptions:
    name: str = "flowrt-mcp"
    version: str = "1.0.0"
    title: str = ""
    instructions: str = ""
    page_size: int = 0  # 0: lists in one page
    call_timeout: float = 60.0  # seconds the flow has to answer a call; 0: no limit
    session_timeout: float = 1800.0  # idle seconds before a session is dropped; 0: never
    retry_ms: int = 1000  # the `retry:` a resumable stream advises
    keepalive: float = 15.0  # seconds between `: ping` comments on idle streams
    max_message: int = 4 * 1024 * 1024  # bytes of one POST body
    allowed_origins: list[str] = field(default_factory=lambda: ["localhost"])


class McpServer:
    def __init__(self, options: ServerOptions, log: Callable[[str, str], None] | None = None) -> None:
        self.options = options
        self.log = log or (lambda level, text: None)
        self.tools: dict[str, Tool] = {}
        self.resources: list[Resource] = []
        self.prompts: dict[str, Prompt] = {}
        self.sessions: dict[str, Session] = {}
        self.calls: dict[str, Call] = {}  # token -> call the flow is answering
        self.deliver_now: Callable[[], None] = lambda: None  # run the flow's queue (set by the node)
        self.closed = False

    # ----- features ----------------------------------------------------------------------
    def add_tool(self, tool: Tool) -> None:
        if tool.name in self.tools:
            raise features.FeatureError(f"a tool named {tool.name!r} is already served")
        self.tools[tool.name] = tool
        self.list_changed("tools")

    def add_resource(self, resource: Resource) -> None:
        key = resource.uri or resource.uri_template
        if any((r.uri or r.uri_template) == key for r in self.resources):
            raise features.FeatureError(f"a resource {key!r} is already served")
        self.resources.append(resource)
        self.list_changed("resources")

    def add_prompt(self, prompt: Prompt) -> None:
        if prompt.name in self.prompts:
            raise features.FeatureError(f"a prompt named {prompt.name!r} is already served")
        self.prompts[prompt.name] = prompt
        self.list_changed("prompts")

    def remove(self, feature: Any) -> None:
        if isinstance(feature, Tool) and self.tools.get(feature.name) is feature:
            del self.tools[feature.name]
            self.list_changed("tools")
        elif isinstance(feature, Prompt) and self.prompts.get(feature.name) is feature:
            del self.prompts[feature.name]
            self.list_changed("prompts")
        elif isinstance(feature, Resource) and feature in self.resources:
            self.resources.remove(feature)
            self.list_changed("resources")

    def capabilities(self) -> dict:
        return {
            "tools": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": True},
            "prompts": {"listChanged": True},
            "logging": {},
            "completions": {},
        }

    # ----- sessions ----------------------------------------------------------------------
    def new_session(self, transport: str) -> Session:
        session = Session(new_session_id(), transport, keep=0 if transport == "sse" else 64)
        if transport != "stateless":
            self.sessions[session.id] = session
        return session

    def end_session(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        session.close()

    def expire_idle(self) -> int:
        """Drop sessions idle longer than session_timeout (no request and no open stream)."""
        limit = self.options.session_timeout
        if not limit:
            return 0
        now = time.monotonic()
        idle = [
            s
            for s in self.sessions.values()
            if s.transport == "streamable"
            and now - s.last_active > limit
            and not any(stream.attached for stream in s.streams.values())
        ]
        for session in idle:
            self.end_session(session)
        return len(idle)

    def close(self) -> None:
        self.closed = True
        for session in list(self.sessions.values()):
            self.end_session(session)

    # ----- messages from a client ----------------------------------------------------------
    def initialize(self, session: Session, params: dict) -> dict:
        session.version = protocol.negotiate(params.get("protocolVersion"))
        caps = params.get("capabilities")
        session.client_capabilities = caps if isinstance(caps, dict) else {}
        info = params.get("clientInfo")
        session.client_info = info if isinstance(info, dict) else {}
        server_info: dict[str, Any] = {"name": self.options.name, "version": self.options.version}
        if self.options.title:
            server_info["title"] = self.options.title
        out: dict[str, Any] = {
            "protocolVersion": session.version,
            "capabilities": self.capabilities(),
            "serverInfo": server_info,
        }
        if self.options.instructions:
            out["instructions"] = self.options.instructions
        return out

    def handle(self, session: Session, message: dict, stream: Stream) -> None:
        """One request, notification or response. Requests are answered on `stream`, at once or
        when the flow answers."""
        session.touch()
        method = message.get("method")
        if method is None:
            session.client_answered(message)
            return
        if "id" not in message:
            self._notification(session, method, message.get("params") or {})
            return
        request_id = message["id"]
        stream.expect(request_id)
        params = message.get("params")
        if params is None:
            params = {}
        try:
            if not isinstance(params, dict):
                raise McpError(protocol.INVALID_PARAMS, "Invalid params: params must be an object")
            value = self._request(session, method, params, request_id, stream)
        except McpError as err:
            stream.send(protocol.error(request_id, err.code, err.message, err.data))
            return
        if value is not None:
            stream.send(protocol.result(request_id, value))

    def _notification(self, session: Session, method: str, params: Any) -> None:
        if method == "notifications/initialized":
            session.initialized = True
        elif method == "notifications/cancelled" and isinstance(params, dict):
            call = session.calls.get(request_key(params.get("requestId")))
            if call is not None:
                call.cancel()
                self.log("debug", f"MCP request {params.get('requestId')!r} cancelled by the client")

    def _request(
        self, session: Session, method: str, params: dict, request_id: Any, stream: Stream
    ) -> dict | None:
        if method == "initialize":
            return self.initialize(session, params)
        if method == "ping":
            return {}
        if method == "tools/list":
            return self._page("tools", [t.definition() for t in self.tools.values()], params)
        if method == "tools/call":
            return self._call_tool(session, params, request_id, stream)
        if method == "resources/list":
            fixed = [r.definition() for r in self.resources if not r.uri_template]
            return self._page("resources", fixed, params)
        if method == "resources/templates/list":
            templates = [r.definition() for r in self.resources if r.uri_template]
            return self._page("resourceTemplates", templates, params)
        if method == "resources/read":
            return self._read_resource(session, params, request_id, stream)
        if method in ("resources/subscribe", "resources/unsubscribe"):
            uri = params.get("uri")
            if not isinstance(uri, str) or not uri:
                raise McpError(protocol.INVALID_PARAMS, "Invalid params: uri must be a string")
            if method == "resources/subscribe":
                session.subscriptions.add(uri)
            else:
                session.subscriptions.discard(uri)
            return {}
        if method == "prompts/list":
            return self._page("prompts", [p.definition() for p in self.prompts.values()], params)
        if method == "prompts/get":
            return self._get_prompt(session, params, request_id, stream)
        if method == "completion/complete":
            return self._completion(params)
        if method == "logging/setLevel":
            level = params.get("level")
            if level not in protocol.LOG_RANK:
                raise McpError(protocol.INVALID_PARAMS, f"Invalid params: unknown log level {level!r}")
            session.log_level = level
            return {}
        raise McpError(protocol.METHOD_NOT_FOUND, f"Method not found: {method}")

    def _page(self, key: str, items: list[dict], params: dict) -> dict:
        start = protocol.decode_cursor(params.get("cursor"))
        size = self.options.page_size
        if not size:
            return {key: items[start:]}
        out: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            out["nextCursor"] = protocol.encode_cursor(start + size)
        return out

    def _call_tool(self, session: Session, params: dict, request_id: Any, stream: Stream) -> dict | None:
        name = params.get("name")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise McpError(protocol.INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        problems = (
            ["arguments must be an object"]
            if not isinstance(arguments, dict)
            else features.schema_problems(tool.input_validator, arguments)
        )
        if problems:
            text = f"Invalid arguments for tool {name}: {'; '.join(problems)}"
            if protocol.version_at_least(session.version, "2025-11-25"):
                return features.error_result(text)  # SEP-1303: the model can correct itself
            raise McpError(protocol.INVALID_PARAMS, text)
        return self._start(Call(session, stream, request_id, "tools/call", params, tool), tool.timeout)

    def _read_resource(self, session: Session, params: dict, request_id: Any, stream: Stream) -> dict | None:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise McpError(protocol.INVALID_PARAMS, "Invalid params: uri must be a string")
        for resource in sorted(self.resources, key=lambda r: bool(r.uri_template)):
            variables = resource.match(uri)
            if variables is not None:
                call = Call(session, stream, request_id, "resources/read", params, resource)
                call.detail = {"uri": uri, "variables": variables}
                return self._start(call, resource.timeout)
        raise McpError(protocol.RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})

    def _get_prompt(self, session: Session, params: dict, request_id: Any, stream: Stream) -> dict | None:
        name = params.get("name")
        prompt = self.prompts.get(name) if isinstance(name, str) else None
        if prompt is None:
            raise McpError(protocol.INVALID_PARAMS, f"Invalid params: unknown prompt {name!r}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise McpError(protocol.INVALID_PARAMS, "Invalid params: arguments must be an object")
        missing = prompt.missing(arguments)
        if missing:
            raise McpError(
                protocol.INVALID_PARAMS,
                f"Invalid params: prompt {name!r} needs the argument(s) {', '.join(missing)}",
            )
        return self._start(Call(session, stream, request_id, "prompts/get", params, prompt), prompt.timeout)

    def _completion(self, params: dict) -> dict:
        ref = params.get("ref") if isinstance(params.get("ref"), dict) else {}
        argument = params.get("argument") if isinstance(params.get("argument"), dict) else {}
        name, prefix = argument.get("name"), str(argument.get("value") or "")
        values: dict[str, list[str]] = {}
        if ref.get("type") == "ref/prompt":
            prompt = self.prompts.get(ref.get("name"))
            if prompt is None:
                raise McpError(protocol.INVALID_PARAMS, f"Invalid params: unknown prompt {ref.get('name')!r}")
            values = prompt.completions()
        elif ref.get("type") == "ref/resource":
            template = next((r for r in self.resources if r.uri_template == ref.get("uri")), None)
            if template is None:
                raise McpError(
                    protocol.INVALID_PARAMS, f"Invalid params: unknown resource template {ref.get('uri')!r}"
                )
            values = template.completions
        else:
            raise McpError(
                protocol.INVALID_PARAMS, "Invalid params: ref must be a ref/prompt or ref/resource"
            )
        return features.complete(values.get(name) or [], prefix)

    def _start(self, call: Call, timeout: float | None) -> None:
        """Hand a call to its node (which sends a message into the flow); the answer comes later."""
        call.session.calls[request_key(call.request_id)] = call
        self.calls[call.token] = call
        call.on_end = self._call_ended
        limit = self.options.call_timeout if timeout is None else timeout
        if limit:
            call.timer = asyncio.get_running_loop().call_later(limit, self._no_answer, call, limit)
        try:
            call.feature.start(call)
        except Exception as err:  # the node could not send it: answer, do not hang
            self.fail(call, f"the flow could not take the request: {err}")
        return None

    def _call_ended(self, call: Call) -> None:
        self.calls.pop(call.token, None)

    def _no_answer(self, call: Call, limit: float) -> None:
        call.timer = None
        if call.open:
            self.log(
                "warn",
                f"MCP {call.method} {self._call_name(call)}: no answer from the flow within {limit:g} s",
            )
            self.fail(call, f"no answer from the flow within {limit:g} s")

    @staticmethod
    def _call_name(call: Call) -> str:
        return str(call.params.get("name") or call.params.get("uri") or "")

    # ----- answers from the flow -----------------------------------------------------------
    def call(self, token: Any) -> Call | None:
        return self.calls.get(token) if isinstance(token, str) else None

    def answer(self, call: Call, value: dict) -> bool:
        return call.reply(protocol.result(call.request_id, value))

    def fail(self, call: Call, text: str) -> bool:
        """The flow failed: a tool error for a tool (the model sees it), a JSON-RPC error otherwise."""
        if call.method == "tools/call":
            return self.answer(call, features.error_result(text))
        return call.reply(protocol.error(call.request_id, protocol.INTERNAL_ERROR, text))

    # ----- messages to clients -------------------------------------------------------------
    def broadcast(self, message: dict, sessions: list[Session] | None = None) -> int:
        count = 0
        for session in list(self.sessions.values()) if sessions is None else sessions:
            if session.initialized or session.transport == "sse":
                session.send_standalone(message)
                count += 1
        return count

    def list_changed(self, what: str) -> None:
        if self.sessions:
            self.broadcast(protocol.notification(f"notifications/{what}/list_changed"))

    def resource_updated(self, uri: str) -> int:
        subscribed = [s for s in self.sessions.values() if uri in s.subscriptions]
        return self.broadcast(
            protocol.notification("notifications/resources/updated", {"uri": uri}), subscribed
        )

    def log_message(
        self,
        level: str,
        data: Any,
        logger: str = "",
        session: Session | None = None,
        call: Call | None = None,
    ) -> int:
        params: dict[str, Any] = {"level": level, "data": data}
        if logger:
            params["logger"] = logger
        message = protocol.notification("notifications/message", params)
        targets = [session] if session is not None else list(self.sessions.values())
        count = 0
        for target in targets:
            if target.wants_log(level):
                if call is not None and call.session is target:
                    call.notify(message)
                else:
                    target.send_standalone(message)
                count += 1
        return count


class McpRegistry:
    """The runtime's MCP servers by the id of their `mcp-server` node (a runtime service)."""

    def __init__(self) -> None:
        self.servers: dict[str, McpServer] = {}

    def only(self) -> tuple[str, McpServer] | None:
        return next(iter(self.servers.items())) if len(self.servers) == 1 else None


def registry_for(runtime: Any) -> McpRegistry:
    return runtime.service(McpRegistry, create=lambda _runtime: McpRegistry())


def find_server(runtime: Any, server_id: Any = None) -> tuple[str, McpServer] | None:
    """(node id, server) of the `mcp-server` node `server_id`; without an id, the only one there is."""
    registry = registry_for(runtime)
    if server_id:
        server = registry.servers.get(str(server_id))
        return None if server is None else (str(server_id), server)
    return registry.only()
