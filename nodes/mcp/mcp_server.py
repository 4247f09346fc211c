"""`mcp-server`: the config node an MCP server's tools, resources and prompts belong to.

It serves the Model Context Protocol on the runtime's HTTP server: Streamable HTTP on `path`
(POST, GET stream, DELETE; sessions with `Mcp-Session-Id`, or stateless) and, if `transports`
names it, the legacy HTTP+SSE pair (GET `ssePath`, POST `messagePath?sessionId=`). The protocol
is flowrt.mcp's; this node reads the properties, adds the routes and drops idle sessions.
"""

from __future__ import annotations

from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.http.server import RoutePatternError, join_root
from flowrt.mcp.features import FeatureError
from flowrt.mcp.server import McpServer, ServerOptions, registry_for
from flowrt.mcp.transport import LegacySse, StreamableHttp, json_route
from flowrt.util import error_text

TRANSPORTS = ("streamable", "sse")


def _number(cfg: dict, key: str, default: float, minimum: float = 0) -> float:
    value = cfg.get(key)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NodeConfigError(f"{key} must be a number, not {value!r}") from None
    if number < minimum:
        raise NodeConfigError(f"{key} must be at least {minimum:g}, not {value!r}")
    return number


def _list(cfg: dict, key: str, default: list[str]) -> list[str]:
    value = cfg.get(key)
    if value in (None, ""):
        return list(default)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise NodeConfigError(f"{key} must be a comma-separated string or a list of strings, not {value!r}")


def _path(cfg: dict, key: str, default: str) -> str:
    value = cfg.get(key)
    if value in (None, ""):
        return default
    if not isinstance(value, str):
        raise NodeConfigError(f"{key} must be a path such as {default!r}, not {value!r}")
    return value if value.startswith("/") else "/" + value


def build_authenticator(config: dict | None, settings: Any) -> Any:
    """The authenticator an `auth` property describes (flowrt.mcp.auth), or None without one."""
    if not config:
        return None
    try:
        from flowrt.mcp import auth
    except ImportError:
        raise FeatureError(
            "auth is set but this flowrt has no flowrt.mcp.auth to check credentials"
        ) from None
    return auth.build_authenticator(config, settings)


@register_type("mcp-server")
class McpServerNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "name": {
                "type": "string",
                "description": "the server's name (serverInfo.name)",
                "default": "flowrt-mcp",
            },
            "version": {"type": "string", "default": "1.0.0"},
            "title": {"type": "string"},
            "instructions": {"type": "string", "description": "told to the client at initialize"},
            "path": {"type": "string", "default": "/mcp", "description": "the Streamable HTTP endpoint"},
            "transports": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"enum": list(TRANSPORTS)}},
                ],
                "default": "streamable,sse",
                "description": "streamable (Streamable HTTP) and/or sse (the 2024-11-05 HTTP+SSE pair)",
            },
            "stateless": {"type": "boolean", "description": "no sessions: each POST stands alone"},
            "ssePath": {"type": "string", "default": "/sse"},
            "messagePath": {"type": "string", "default": "/sse/message"},
            "allowedOrigins": {
                "type": ["string", "array"],
                "default": "localhost",
                "description": "Origin values allowed ('localhost' = any loopback origin, '*' = all)",
            },
            "sessionTimeout": {"type": ["number", "string"], "default": 1800, "description": "idle seconds"},
            "callTimeout": {"type": ["number", "string"], "default": 60, "description": "seconds to answer"},
            "pageSize": {"type": ["integer", "string"], "default": 0, "description": "0: lists in one page"},
            "maxMessageSize": {"type": ["integer", "string"], "default": 4194304, "description": "bytes"},
            "keepalive": {"type": ["number", "string"], "default": 15, "description": "seconds; 0: off"},
            "auth": {
                "type": ["object", "null"],
                "description": "bearer tokens / OAuth resource server (docs/mcp.md)",
            },
        },
    }

    def setup(self) -> None:
        cfg = self.config
        http = self.runtime.http
        if http is None:
            raise NodeConfigError("the HTTP server is disabled: an MCP server needs it")
        self.http = http
        transports = _list(cfg, "transports", list(TRANSPORTS))
        unknown = [t for t in transports if t not in TRANSPORTS]
        if unknown or not transports:
            raise NodeConfigError(
                f"transports must name streamable and/or sse, not {cfg.get('transports')!r}"
            )
        options = ServerOptions(
            name=str(cfg.get("name") or "flowrt-mcp"),
            version=str(cfg.get("version") or "1.0.0"),
            title=str(cfg.get("title") or ""),
            instructions=str(cfg.get("instructions") or ""),
            page_size=int(_number(cfg, "pageSize", 0)),
            call_timeout=_number(cfg, "callTimeout", 60),
            session_timeout=_number(cfg, "sessionTimeout", 1800),
            keepalive=_number(cfg, "keepalive", 15),
            max_message=int(_number(cfg, "maxMessageSize", 4 * 1024 * 1024, minimum=1)),
            allowed_origins=_list(cfg, "allowedOrigins", ["localhost"]),
        )
        auth = cfg.get("auth")
        if auth is not None and not isinstance(auth, dict):
            raise NodeConfigError(f"auth must be an object (docs/mcp.md), not {auth!r}")
        try:
            authenticator = build_authenticator(auth, self.settings)
        except (FeatureError, ValueError, TypeError, KeyError) as err:
            raise NodeConfigError(str(err)) from None
        self.server = McpServer(options, self._log)
        self.server.deliver_now = self.runtime.deliver_now
        self.paths: list[str] = []
        try:
            if "streamable" in transports:
                path = _path(cfg, "path", "/mcp")
                streamable = StreamableHttp(self.server, http, authenticator, bool(cfg.get("stateless")))
                for method, handler in streamable.routes():
                    self._route(method, path, handler)
            if "sse" in transports:
                sse_path, message_path = (
                    _path(cfg, "ssePath", "/sse"),
                    _path(cfg, "messagePath", "/sse/message"),
                )
                legacy = LegacySse(self.server, http, join_root(http.root, message_path), authenticator)
                self._route("get", sse_path, legacy.get)
                self._route("post", message_path, legacy.post)
            for path, document in authenticator.metadata_routes() if authenticator is not None else []:
                self._route("get", path, json_route(document))
        except RoutePatternError as err:
            http.remove_routes(self)
            raise NodeConfigError(str(err)) from None
        registry_for(self.runtime).servers[self.id] = self.server
        self.runtime.uncaught_listeners.append(self._uncaught_error)
        self._schedule_sweep()

    def _uncaught_error(self, node: Node, err: Any, msg: dict | None) -> None:
        """An error no catch node handled, in a message carrying one of this server's calls: once
        the messages in flight are delivered (another branch may still answer), the call gets a
        tool error (a JSON-RPC error for resources and prompts) instead of waiting for callTimeout."""
        mcp = msg.get("mcp") if isinstance(msg, dict) else None
        if not isinstance(mcp, dict) or mcp.get("server") != self.id:
            return
        call = self.server.call(mcp.get("call"))
        if call is None or not call.open:
            return
        text = f"{node.type} {node.name or node.id} failed: {error_text(err)}"

        def fail_if_unanswered() -> None:
            if call.open and self.server.fail(call, text):
                self.debug(f"MCP {call.method}: answered with the uncaught error of node {node.id!r}")

        self.runtime.after_deliveries(fail_if_unanswered)

    def _route(self, method: str, path: str, handler: Any) -> None:
        route = self.http.add_route(method, path, handler, owner=self)
        if route.shadowed_by is not None:
            other = getattr(route.shadowed_by.owner, "id", route.shadowed_by.owner)
            self.warn(
                f"{method.upper()} {route.path} is also handled by node {other!r}, registered first: it answers"
            )
        self.paths.append(f"{method.upper()} {route.path}")

    def _log(self, level: str, text: str) -> None:
        if level == "warn":
            self.warn(text)
        elif level == "debug":
            self.debug(text)
        else:
            self.log(text)

    def _schedule_sweep(self) -> None:
        timeout = self.server.options.session_timeout
        if timeout:
            self.call_later(min(max(timeout / 4, 1.0), 60.0), self._sweep)

    def _sweep(self) -> None:
        dropped = self.server.expire_idle()
        if dropped:
            self.debug(f"dropped {dropped} idle MCP session(s)")
        self._schedule_sweep()

    def on_close(self, removed: bool) -> None:
        if self._uncaught_error in self.runtime.uncaught_listeners:
            self.runtime.uncaught_listeners.remove(self._uncaught_error)
        self.http.remove_routes(self)
        registry = registry_for(self.runtime)
        if registry.servers.get(self.id) is self.server:
            del registry.servers[self.id]
        self.server.close()
