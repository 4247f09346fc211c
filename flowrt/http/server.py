"""The shared HTTP server: one aiohttp server per runtime, routes added by nodes.

Built from settings by the composition root (`flowrt run`, the test harness) and added to
the runtime as a service (`runtime.add_service(server)`); nodes reach it with
`self.runtime.service(HttpServer)` (or `self.runtime.http`). It imports no engine module.

aiohttp's low-level server (`web.Server`) calls one handler for every request;
routes live in our own table (aiohttp's router freezes once started, and would
be a second lookup per request) so `http in` nodes can come and go on redeploy.
Paths follow Express as Node-RED uses it: `:name` segments become params,
matched in registration order; trailing slashes are optional.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from flowrt.log import Logger
from flowrt.settings import Settings, SettingsError

Handler = Callable[[web.BaseRequest, dict[str, str]], Awaitable[web.StreamResponse]]


class RoutePatternError(ValueError):
    """A path that does not compile to a route pattern."""


@dataclass(eq=False)
class Route:
    method: str
    path: str
    pattern: re.Pattern | None  # None: a literal path, looked up in a dict
    keys: list[str]  # param names, in the order of the pattern's groups
    handler: Handler
    owner: Any
    seq: int = 0  # registration order: the first matching route answers
    shadowed_by: Route | None = None  # an earlier route on the same method and path

    def params(self, match: re.Match) -> dict[str, str]:
        """req.params as Express fills them: decoded values; groups that matched nothing are left out."""
        params: dict[str, str] = {}
        for name, value in zip(self.keys, match.groups(), strict=False):
            if value is not None:
                params[name] = decode_param(value)
        return params


class ParamDecodeError(ValueError):
    pass


# Express 4 route paths (path-to-regexp 0.1.x, the version Express 4 uses; Node-RED 4.1 and 5.0
# both ship Express 4): `:name`, `:name?`, `:name(regex)`, `:name*`, `*`, `(...)` groups and the
# rest of the path as regular-expression source, `.` literal. Case-insensitive; one trailing slash
# optional (Express's `sensitive: false, strict: false`).
_PATH_TOKEN = re.compile(r"\\.|(/)?(\.)?:(\w+)(\(.*?\))?(\*)?(\?)?|[.*]|/\(", re.ASCII)
_CAPTURE_GROUP = re.compile(r"\\.|\((?:\?<(.*?)>)?(?!\?)")
_NOT_LITERAL = re.compile(r"[\\:*()?+\[\]{}|^$]")


def compile_path(path: str) -> tuple[re.Pattern, list[str]]:
    """An Express 4 route path to a regex and the param name of each of its groups.

    `*` and unnamed groups get the numbers 0, 1, ... as Express names them (`req.params[0]`)."""
    source, named = _path_source(path)
    keys: list[str] = []
    unnamed = 0
    pending = sorted(named)  # (offset in source, name)
    for found in _CAPTURE_GROUP.finditer(source):
        if found.group(0)[0] == "\\":
            continue
        if pending and pending[0][0] < found.start():
            keys.append(pending.pop(0)[1])
        else:
            keys.append(str(unnamed))
            unnamed += 1
    source += "?" if source.endswith("/") else "/?"
    python_source = re.sub(r"\(\?<(?![=!])", "(?P<", source) + r"\Z"
    try:
        pattern = re.compile("^" + python_source, re.IGNORECASE | re.ASCII)
    except re.error as err:
        raise RoutePatternError(f"the path {path!r} is not a valid route pattern: {err}") from None
    return pattern, keys


def _path_source(path: str) -> tuple[str, list[tuple[int, str]]]:
    """Regex source for an Express 4 path and the (offset, name) of each named param."""
    out: list[str] = []
    named: list[tuple[int, str]] = []
    written = 0  # length of the source built so far
    backtrack = ""  # literal text since the last slash: a param may not run into it
    pos = 0
    last = 0
    for token in _PATH_TOKEN.finditer(path):
        text = token.group(0)
        out.append(path[last : token.start()])
        written += token.start() - last
        last = token.end()
        slash, dot, name, capture, star, optional = token.groups()
        if text[0] == "\\":
            backtrack += text
            pos += 2
            piece = text
        elif text == ".":
            backtrack += "\\."
            pos += 1
            piece = "\\."
        else:
            backtrack = "" if slash or dot else backtrack + path[pos : token.start()]
            pos = token.end()
            if text == "*":
                piece = "(.*)"
            elif text == "/(":
                backtrack += "/"
                piece = "/(?:"
            else:
                dot = "\\." if dot else ""
                if capture:
                    capture = re.sub(
                        r"\\.|\*", lambda m: "(.*)" if m.group(0) == "*" else m.group(0), capture, count=1
                    )
                elif backtrack:
                    capture = f"((?:(?!/|{backtrack}).)+?)"
                else:
                    capture = f"([^/{dot}]+?)"
                named.append((written, name))
                piece = f"(?:{dot}{slash or ''}{capture}"
                piece += f"((?:[/{dot}].+?)?))" if star else ")"
                piece += optional or ""
        out.append(piece)
        written += len(piece)
    out.append(path[last:])
    return "".join(out), named


def literal_key(path: str) -> str | None:
    """The dict key of a path without pattern syntax (case and one trailing slash folded), else None."""
    if _NOT_LITERAL.search(path):
        return None
    key = path[:-1] if path.endswith("/") else path
    return None if key.endswith("/") else key.lower()


def decode_param(value: str) -> str:
    """decodeURIComponent, as Express decodes params: a malformed escape is a 400."""
    if "%" not in value:
        return value
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise ParamDecodeError(f"Failed to decode param {value!r}")
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise ParamDecodeError(f"Failed to decode param {value!r}") from None


def route_key(method: str, path: str) -> str:
    """Two routes with this key answer the same requests (as Node-RED's getRouteKey, and case-blind)."""
    path = re.sub(r"/{2,}", "/", path)
    return f"{method.upper()}:{path[:-1] if path.endswith('/') else path}".lower()


def join_root(root: str, path: str) -> str:
    root = "/" + (root or "").strip("/")
    if not path.startswith("/"):
        path = "/" + path
    return path if root == "/" else root + path


class RouteTable:
    """Routes in registration order; literal paths in a dict so the common case is one lookup."""

    def __init__(self) -> None:
        self._literal: dict[tuple[str, str], list[Route]] = {}
        self._patterns: list[Route] = []  # in registration order
        self._seq = 0

    def add(self, method: str, path: str, handler: Handler, owner: Any) -> Route:
        method = method.upper()
        key = literal_key(path)
        if key is None:
            pattern, keys = compile_path(path)
        else:
            pattern, keys = None, []
        self._seq += 1
        route = Route(method, path, pattern, keys, handler, owner, self._seq)
        same = route_key(method, path)
        route.shadowed_by = next((r for r in self.routes() if route_key(r.method, r.path) == same), None)
        if pattern is None:
            self._literal.setdefault((method, key), []).append(route)
        else:
            self._patterns.append(route)
        return route

    def remove(self, owner: Any) -> None:
        for key, routes in list(self._literal.items()):
            kept = [r for r in routes if r.owner is not owner]
            if kept:
                self._literal[key] = kept
            else:
                del self._literal[key]
        self._patterns = [r for r in self._patterns if r.owner is not owner]

    def routes(self) -> list[Route]:
        found = [r for routes in self._literal.values() for r in routes] + self._patterns
        return sorted(found, key=lambda r: r.seq)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The first route registered that answers `method` on the raw (undecoded) `path`."""
        key = (path[:-1] if path[-1:] == "/" else path).lower()
        routes = self._literal.get((method, key))
        best = routes[0] if routes else None
        if method == "HEAD":  # GET routes answer HEAD too
            routes = self._literal.get(("GET", key))
            if routes and (best is None or routes[0].seq < best.seq):
                best = routes[0]
        if self._patterns:
            for route in self._patterns:
                if best is not None and route.seq > best.seq:
                    break
                if route.method == method or (method == "HEAD" and route.method == "GET"):
                    match = route.pattern.match(path)
                    if match:
                        return route, route.params(match)
        return None if best is None else (best, {})


class HttpServer:
    def __init__(self, settings: Settings, log: Logger) -> None:
        self.settings = settings
        self.table = RouteTable()
        self.admin_table = RouteTable()  # the editor's admin API: matched before the node routes
        self.has_admin_routes = False
        self.max_body_size: int = parse_size(settings.get("httpMaxBodySize", 5 * 1024 * 1024))
        self.open_streams: set = set()  # streaming responses detached from aiohttp (httpobjects)
        self.cors: dict | None = normalise_cors(settings.get("httpNodeCors"))
        self._runner: web.AppRunner | None = None
        self.host: str = settings.get("uiHost", "127.0.0.1")
        self.port: int = int(settings.get("uiPort", 1880))
        self.timeouts = ServerTimeouts.from_setting(settings.get("httpServerTimeouts"))
        self.stream_max_buffer: int = parse_size(
            settings.get("httpStreamMaxBuffer", DEFAULT_STREAM_MAX_BUFFER), "httpStreamMaxBuffer"
        )
        self.allowed_hosts: list[str] | None = allowed_hosts_for(self.host, settings.get("httpAllowedHosts"))
        self.protocol_log = ProtocolLog(log)
        #: WebSocket upgrades by exact raw path (as Node-RED matches the upgrade's pathname):
        #: path -> (handler, owner). Checked before the routes, so `http in` may share a path.
        self.websockets: dict[str, tuple[Callable[[web.BaseRequest], Awaitable[Any]], Any]] = {}

    @property
    def routes(self) -> list[Route]:
        return self.table.routes()

    @property
    def root(self) -> str:
        return self.settings.get("httpNodeRoot", "/")

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        # handler_cancellation: a client going away cancels its handler at once, which is
        # how live responses (SSE streams) learn of disconnects.
        loop = asyncio.get_running_loop()
        max_size = self.max_body_size

        def make_request(
            message: Any, payload: Any, protocol: Any, writer: Any, task: Any
        ) -> web.BaseRequest:
            return _FlowRequest(message, payload, protocol, writer, task, loop, client_max_size=max_size)

        server = _FlowServer(
            self._dispatch,
            headers_timeout=self.timeouts.headers,
            request_factory=make_request,
            handler_cancellation=True,
            access_log=None,
            logger=self.protocol_log,
            keepalive_timeout=self.timeouts.keep_alive,
        )
        self._runner = web.ServerRunner(server, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.settings.get("httpReusePort"):  # workers of `flowrt run --workers N` share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            await self._runner.cleanup()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {err.strerror}") from None
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def stop_accepting(self) -> None:
        """Close the listening socket; connections already open are still served."""
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()

    async def stop(self) -> None:
        for stream in list(self.open_streams):
            stream.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_route(self, method: str, path: str, handler: Handler, owner: Any = None) -> Route:
        """Add a route under httpNodeRoot. A second route on the same method and path is added too
        (Express does; the first one answers): its `shadowed_by` names the earlier one."""
        return self.table.add(method, join_root(self.root, path), handler, owner)

    def remove_routes(self, owner: Any) -> None:
        self.table.remove(owner)
        for path in [p for p, (_, o) in self.websockets.items() if o is owner]:
            del self.websockets[path]

    def add_websocket(self, path: str, handler: Callable[[web.BaseRequest], Awaitable[Any]], owner: Any) -> str:
        """Answer WebSocket upgrades on `path` under httpNodeRoot; returns the full path.
        A path already taken raises ValueError."""
        full = join_root(self.root, path)
        if full in self.websockets:
            raise ValueError(f"the path {full!r} is already taken by {_describe(self.websockets[full][1])}")
        self.websockets[full] = (handler, owner)
        return full

    def add_admin_route(self, method: str, path: str, handler: Handler, owner: Any = None) -> Route:
        """Add an admin route under httpAdminRoot; admin routes answer before any node route, as
        Node-RED mounts its admin app first."""
        root = self.settings.get("httpAdminRoot", "/") or "/"
        self.has_admin_routes = True
        return self.admin_table.add(method, join_root(root, path), handler, owner)

    def host_allowed(self, host: str | None) -> bool:
        """Is a request's `Host` header on the allow-list (`httpAllowedHosts`; see allowed_hosts_for)?"""
        return host_allowed(host, self.allowed_hosts)

    def cors_headers(self, request: web.BaseRequest) -> dict[str, str]:
        """The CORS headers `httpNodeCors` adds to a simple (non-preflight) request's response."""
        if self.cors is None:
            return {}
        headers: dict[str, str] = {}
        origin = _allowed_origin(self.cors.get("origin", "*"), request.headers.get("Origin"))
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                headers["Vary"] = "Origin"
        if self.cors.get("credentials"):
            headers["Access-Control-Allow-Credentials"] = "true"
        exposed = self.cors.get("exposedHeaders")
        if exposed:
            headers["Access-Control-Expose-Headers"] = _join(exposed)
        return headers

    def _preflight(self, request: web.BaseRequest) -> web.Response:
        cors = self.cors or {}
        headers = self.cors_headers(request)
        headers["Access-Control-Allow-Methods"] = _join(
            cors.get("methods") or "GET,HEAD,PUT,PATCH,POST,DELETE"
        )
        allowed = cors.get("allowedHeaders")
        if allowed:
            headers["Access-Control-Allow-Headers"] = _join(allowed)
        elif request.headers.get("Access-Control-Request-Headers"):
            headers["Access-Control-Allow-Headers"] = request.headers["Access-Control-Request-Headers"]
            headers["Vary"] = ", ".join(
                v for v in (headers.get("Vary"), "Access-Control-Request-Headers") if v
            )
        if cors.get("maxAge") is not None:
            headers["Access-Control-Max-Age"] = str(cors["maxAge"])
        status = int(cors.get("optionsSuccessStatus", 204))
        return web.Response(status=status, headers=headers)

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        method = request.method
        if "Expect" in request.headers:
            await _expect(request)
        if method == "OPTIONS" and self.cors is not None:
            return self._preflight(request)
        raw = request.raw_path
        query = raw.find("?")
        path = raw if query < 0 else raw[:query]
        if self.websockets and method == "GET" and "Upgrade" in request.headers:
            upgrade = self.websockets.get(path)
            if upgrade is not None:
                return await upgrade[0](request)
        try:
            found = self.admin_table.find(method, path) if self.has_admin_routes else None
            if found is None:
                found = self.table.find(method, path)
        except ParamDecodeError as err:
            return error_page(400, str(err))
        if found is None:
            return error_page(404, f"Cannot {method} {encode_url(path)}")
        route, params = found
        return await route.handler(request, params)


def _describe(owner: Any) -> str:
    if owner is None:
        return "another handler"
    node_id = getattr(owner, "id", None)
    if node_id is None:
        return repr(owner)
    name = getattr(owner, "name", "")
    node_type = getattr(owner, "type", "") or "node"
    return f"{node_type} node {node_id!r}" + (f" ({name!r})" if name else "")


def parse_size(value: Any, setting: str = "httpMaxBodySize") -> int:
    """A size in bytes: a number, or a string such as '5mb', '100kb'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?", text)
    if not match:
        raise SettingsError(f"{setting}: cannot read {value!r} as a size")
    factor = {"b": 1, None: 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}[match.group(2)]
    return int(float(match.group(1)) * factor)


DEFAULT_STREAM_MAX_BUFFER = 4 * 1024 * 1024


@dataclass
class ServerTimeouts:
    """`httpServerTimeouts`, named and defaulted as Node's http.Server properties (milliseconds in the
    setting, seconds here; 0: none)."""

    keep_alive: float = 5.0  # idle time allowed between requests on one connection
    headers: float = 60.0  # from connecting until the request's headers are in
    request: float = 300.0  # to receive a request's body

    @classmethod
    def from_setting(cls, value: Any) -> ServerTimeouts:
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise SettingsError(f"httpServerTimeouts must be an object of milliseconds, not {value!r}")
        names = {"keepAliveTimeout": "keep_alive", "headersTimeout": "headers", "requestTimeout": "request"}
        out = cls()
        for key, item in value.items():
            if key not in names:
                raise SettingsError(f"httpServerTimeouts: unknown timeout {key!r} (use {', '.join(names)})")
            if isinstance(item, bool) or not isinstance(item, (int, float)) or item < 0:
                raise SettingsError(
                    f"httpServerTimeouts.{key} must be a number of milliseconds, not {item!r}"
                )
            setattr(out, names[key], item / 1000)
        return out


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def allowed_hosts_for(bind_host: str, setting: Any) -> list[str] | None:
    """The Host allow-list: `httpAllowedHosts` if set (false: no check), else, for a loopback bind,
    the loopback names (a DNS-rebinding page sends its own host name); None: no check."""
    if setting is False:
        return None
    if setting is None or setting is True:
        bound = (bind_host or "").strip("[]").lower()
        return list(LOOPBACK_HOSTS) if bound in LOOPBACK_HOSTS or bound.startswith("127.") else None
    if isinstance(setting, str):
        setting = [part for part in setting.split(",")]
    if not isinstance(setting, (list, tuple)) or not all(isinstance(h, str) for h in setting):
        raise SettingsError(f"httpAllowedHosts must be a list of host names or false, not {setting!r}")
    return [h.strip().lower() for h in setting if h.strip()]


def host_allowed(host: str | None, allowed: list[str] | None) -> bool:
    """`Host: name[:port]` against the allow-list: an entry is a name (any port), `name:port`, or `*`."""
    if allowed is None:
        return True
    if not host:
        return True  # not a browser (browsers always send Host), so not a rebinding page
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return "*" in allowed or host in allowed or name in allowed or f"[{name}]" in allowed


_URL_UNSAFE = re.compile(r"[^\x21\x23-\x3b\x3d\x3f-\x5f\x61-\x7a\x7c\x7e]|%(?![0-9a-fA-F]{2})")
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def encode_url(text: str) -> str:
    """Percent-encode what may not stand in a URL, leaving valid escapes (the `encodeurl` package)."""
    return _URL_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), text)


def escape_html(text: str) -> str:
    return re.sub(r"[&<>\"']", lambda m: _HTML_ESCAPES[m.group(0)], text)


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error answered by the server itself, as Express's finalhandler writes it: the message
    HTML-escaped in a small page, with headers that keep a browser from running anything in it."""
    body = escape_html(message).replace("\n", "<br>").replace("  ", " &nbsp;")
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
        f"</head>\n<body>\n<pre>{body}</pre>\n</body>\n</html>\n"
    )
    all_headers = {
        **(headers or {}),
        "Content-Security-Policy": "default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Content-Type": "text/html; charset=utf-8",
    }
    return web.Response(status=status, body=page.encode("utf-8"), headers=all_headers)


class ProtocolLog:
    """The logger aiohttp's connection handler reports to: a malformed request is one warning line,
    at most one per `interval` seconds (with a count of those not shown); other errors keep their
    traceback."""

    def __init__(self, log: Any, interval: float = 10.0) -> None:
        self.log = log
        self.interval = interval
        self._last = -interval
        self._suppressed = 0

    def exception(self, text: str, *args: Any, exc_info: Any = None, **_: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.bad_request(args[0] if args else None, exc_info)
            return
        if isinstance(exc_info, web.RequestPayloadError):  # the rest of a body already refused (400)
            self.debug("%s: %s", text, " ".join(str(exc_info).split()))
            return
        message = text % args if args else text
        if isinstance(exc_info, BaseException):
            trace = "".join(traceback.format_exception(exc_info)).rstrip()
            message = f"{message}: {exc_info!r}\n{trace}"
        self.log.error(f"[http] {message}")

    def bad_request(self, remote: Any, err: HttpProcessingError) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            self._suppressed += 1
            return
        more = f" ({self._suppressed} more since the last report)" if self._suppressed else ""
        self._last, self._suppressed = now, 0
        reason = " ".join(str(err.message or err).split())[:200]
        self.log.warn(f"[http] malformed request from {remote or 'a client'}: {reason}{more}")

    def debug(self, text: str, *args: Any, **_: Any) -> None:
        if self.log.enabled("debug"):
            self.log.debug(f"[http] {text % args if args else text}")

    def warning(self, text: str, *args: Any, **_: Any) -> None:
        self.log.warn(f"[http] {text % args if args else text}")

    info = debug
    error = warning


class _FlowServer(web.Server):
    """aiohttp's low-level server with our connection handler (`_FlowProtocol`)."""

    def __init__(self, handler: Any, *, headers_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.headers_timeout = headers_timeout

    def __call__(self) -> RequestHandler:
        return _FlowProtocol(self, loop=self._loop, **self._kwargs)


class _FlowProtocol(RequestHandler):
    """aiohttp's connection handler plus Node's headersTimeout: a connection whose first request's
    headers are not in after `headers_timeout` seconds gets a 408 and is closed. (aiohttp's
    keep-alive timer closes idle connections between requests, `keepAliveTimeout`.)"""

    __slots__ = ("_headers_timer",)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._headers_timer: asyncio.TimerHandle | None = None
        timeout = self._manager.headers_timeout if self._manager is not None else 0
        if timeout > 0:
            if self._keepalive_handle is not None:  # the headers timeout governs the first request
                self._keepalive_handle.cancel()
                self._keepalive_handle = None
            self._headers_timer = self._loop.call_later(timeout, self._headers_timed_out)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._headers_timer is not None and self._request_count:
            self._headers_timer.cancel()
            self._headers_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None
        super().connection_lost(exc)

    def _headers_timed_out(self) -> None:
        self._headers_timer = None
        transport = self.transport
        if transport is not None and not self._request_count:
            transport.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            self.force_close()


def normalise_cors(value: Any) -> dict | None:
    """httpNodeCors as the `cors` package reads it; true means allow any origin."""
    if not value:
        return None
    if value is True:
        return {"origin": "*"}
    if isinstance(value, dict):
        return dict(value)
    raise SettingsError(f"httpNodeCors must be an object like {{origin: '*'}}, not {value!r}")


def _join(value: Any) -> str:
    return ",".join(value) if isinstance(value, (list, tuple)) else str(value)


def _allowed_origin(setting: Any, origin: str | None) -> str | None:
    if setting in ("*", None):
        return "*"
    if setting is True:
        return origin
    if setting is False:
        return None
    if isinstance(setting, str):
        return setting
    if isinstance(setting, (list, tuple)):
        return origin if origin in setting else None
    return None


async def _expect(request: web.BaseRequest) -> None:
    """`Expect: 100-continue` (curl sends it before a large body): say continue, as aiohttp's router would."""
    expect = request.headers.get("Expect", "")
    if request.version == (1, 1):
        if expect.lower() != "100-continue":
            raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the response proper has not started
        await request.writer.drain()


class _FlowRequest(web.BaseRequest):
    """aiohttp's request; every response aiohttp prepares gets Node's header order."""

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        _node_style_headers(response)


def _node_style_headers(response: web.StreamResponse) -> None:
    """Header order and set as Node's http server writes them: no Server header, and
    Date then Transfer-Encoding after the headers the flow set."""
    headers = response.headers
    headers.popall("Server", None)
    for name in ("Date", "Transfer-Encoding"):
        values = headers.popall(name, None)
        if values:
            for value in values:
                headers.add(name, value)
