"""The shared HTTP server: one aiohttp server per runtime, routes added by nodes.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from flowrt.runtime import Runtime

Handler = Callable[[web.BaseRequest, dict[str, str]], Awaitable[web.StreamResponse]]


class RouteConflictError(ValueError):
    pass


@dataclass
class Route:
    method: str
    path: str
    pattern: re.Pattern
    handler: Handler
    owner: Any


def compile_path(path: str) -> re.Pattern:
    """Express-style path (`/users/:id`, `*`) to a regex with named groups."""
    out = []
    for part in re.split(r"(:\w+|\*)", path):
        if part == "*":
            out.append(".*")
        elif part.startswith(":") and len(part) > 1:
            out.append(f"(?P<{part[1:]}>[^/]+?)")
        else:
            out.append(re.escape(part))
    body = "".join(out).rstrip("/")
    return re.compile(f"^{body}/?$", re.IGNORECASE)


def join_root(root: str, path: str) -> str:
    root = "/" + (root or "").strip("/")
    if not path.startswith("/"):
        path = "/" + path
    return path if root == "/" else root + path


class HttpServer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.routes: list[Route] = []
        self.max_body_size: int = parse_size(runtime.settings.get("httpMaxBodySize", 5 * 1024 * 1024))
        self.open_streams: set = set()  # streaming responses detached from aiohttp (httpobjects)
        self.cors: dict | None = normalise_cors(runtime.settings.get("httpNodeCors"))
        self._runner: web.AppRunner | None = None
        self.host: str = runtime.settings.get("uiHost", "127.0.0.1")
        self.port: int = int(runtime.settings.get("uiPort", 1880))

    @property
    def root(self) -> str:
        return self.runtime.settings.get("httpNodeRoot", "/")

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

        server = web.Server(
            self._dispatch, request_factory=make_request, handler_cancellation=True, access_log=None
        )
        self._runner = web.ServerRunner(server, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
        """Add a route under httpNodeRoot; a second claim of the same method and path is an error."""
        method = method.upper()
        full = join_root(self.root, path)
        for route in self.routes:
            if route.method == method and route.path.rstrip("/") == full.rstrip("/"):
                raise RouteConflictError(
                    f"{method} {full} is already handled by {_describe(route.owner)}; "
                    f"{_describe(owner)} cannot claim it too"
                )
        route = Route(method, full, compile_path(full), handler, owner)
        self.routes.append(route)
        return route

    def remove_routes(self, owner: Any) -> None:
        self.routes = [r for r in self.routes if r.owner is not owner]

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
        path = request.path
        method = request.method
        if "Expect" in request.headers:
            await _expect(request)
        if method == "OPTIONS" and self.cors is not None:
            return self._preflight(request)
        for route in self.routes:
            if route.method != method and not (method == "HEAD" and route.method == "GET"):
                continue
            match = route.pattern.match(path)
            if match:
                return await route.handler(request, match.groupdict())
        return web.Response(status=404, text=f"Cannot {method} {path}", content_type="text/html")


def _describe(owner: Any) -> str:
    if owner is None:
        return "another handler"
    node_id = getattr(owner, "id", None)
    if node_id is None:
        return repr(owner)
    name = getattr(owner, "name", "")
    node_type = getattr(owner, "type", "") or "node"
    return f"{node_type} node {node_id!r}" + (f" ({name!r})" if name else "")


def parse_size(value: Any) -> int:
    """A body size limit: bytes as a number, or a string such as '5mb', '100kb'."""
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?", text)
    if not match:
        raise ValueError(f"httpMaxBodySize: cannot read {value!r} as a size")
    factor = {"b": 1, None: 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}[match.group(2)]
    return int(float(match.group(1)) * factor)


def normalise_cors(value: Any) -> dict | None:
    """httpNodeCors as the `cors` package reads it; true means allow any origin."""
    if not value:
        return None
    if value is True:
        return {"origin": "*"}
    if isinstance(value, dict):
        return dict(value)
    raise ValueError(f"httpNodeCors must be an object like {{origin: '*'}}, not {value!r}")


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
