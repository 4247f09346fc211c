"""The shared HTTP server: one aiohttp server per runtime, routes added by nodes.

Routes live in our own table (not aiohttp's router, which freezes once started)
so `http in` nodes can come and go on redeploy. Paths follow Express as Node-RED
uses it: `:name` segments become `request.match_info`-style params, matched in
registration order; trailing slashes are optional.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from flowrt.runtime import Runtime

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


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
        self.app = web.Application(
            client_max_size=int(runtime.settings.get("httpMaxBodySize", 5 * 1024 * 1024))
        )
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
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
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
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

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_route(self, method: str, path: str, handler: Handler, owner: Any = None) -> Route:
        """Add a route under httpNodeRoot; a second claim of the same method and path is an error."""
        method = method.upper()
        full = join_root(self.root, path)
        for route in self.routes:
            if route.method == method and route.path.rstrip("/") == full.rstrip("/"):
                other = getattr(route.owner, "id", route.owner)
                raise RouteConflictError(f"{method} {full} is already handled by node {other!r}")
        route = Route(method, full, compile_path(full), handler, owner)
        self.routes.append(route)
        return route

    def remove_routes(self, owner: Any) -> None:
        self.routes = [r for r in self.routes if r.owner is not owner]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        method = request.method
        for route in self.routes:
            if route.method != method and not (method == "HEAD" and route.method == "GET"):
                continue
            match = route.pattern.match(path)
            if match:
                return await route.handler(request, match.groupdict())
        return web.Response(status=404, text=f"Cannot {method} {path}", content_type="text/html")
