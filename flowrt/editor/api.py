"""The admin API the official Node-RED editor talks to, mounted on flowrt's HTTP server.

Routes follow Node-RED's `@node-red/editor-api` (see ../shared/node-red-reference/editor-protocol.md
for what the editor needs, endpoint by endpoint). They live under `httpAdminRoot` and are matched
before any `http in` route, as Node-RED mounts its admin app first.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from pathlib import Path
from typing import Any

from aiohttp import web

from flowrt import __version__
from flowrt.editor import flows_api
from flowrt.editor.assets import EditorFiles
from flowrt.editor.auth import AdminAuth
from flowrt.editor.comms import CommsHub
from flowrt.editor.context_api import ContextDelete
from flowrt.editor.library import LibraryRoutes
from flowrt.editor.nodesets import NodeSet, all_html, build_node_sets, icon_lists
from flowrt.editor.shadowing import warn_shadowed
from flowrt.http.server import host_allowed

API_VERSIONS = ("v1", "v2")
_STATIC_TOP = ("red", "vendor", "types")
_LANGUAGES = ["de", "en-US", "es-ES", "fr", "ja", "ko", "pt-BR", "ru", "zh-CN", "zh-TW"]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


def _error(status: int, code: str, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status)


class EditorApi:
    """One editor session of a runtime: its node sets, comms hub, deployed flows and revision."""

    def __init__(
        self,
        runtime: Any,
        registry: Any,
        files: EditorFiles,
        flows: list[dict],
        flow_files: flows_api.FlowFiles,
        credentials: dict[str, dict] | None = None,
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.settings = runtime.settings
        self.files = files
        self.flows = [dict(n) for n in flows]
        inline = {
            n["id"]: dict(n["credentials"])
            for n in flows
            if isinstance(n.get("credentials"), dict) and isinstance(n.get("id"), str)
        }
        self.credentials = {**(credentials or {}), **inline}
        self.flow_files = flow_files
        self.rev = flows_api.revision(flows_api.without_credentials(self.flows))
        self.deploy_lock = asyncio.Lock()
        self.user_settings_path = Path(self.settings.get("userDir") or ".") / ".editor-user-settings.json"
        self.comms = CommsHub(self.settings.get("webSocketKeepAliveTime", 15000), self._origin_allowed)
        self.auth = AdminAuth(self.settings)  # AdminAuthError (a ValueError) for unusable settings
        self.comms.auth = self.auth if self.auth.enabled else None
        self.auth.refuse_write = self._refuse_write
        self.node_sets: list[NodeSet] = build_node_sets(files, registry, __version__)
        self._html_cache: dict[str, str] = {}
        self.generated_positions: dict[str, tuple[int, int]] = {}  # made up by GET /flows (laid_out)
        self._listening = False

    # ------------------------------------------------------------------ wiring

    def mount(self, server: Any) -> None:
        """Register the admin routes on `server` (matched before http in routes)."""
        add = self.auth.protect(server.add_admin_route)  # each route behind its permission (adminAuth)
        add("GET", "/", self.index)
        add("GET", "/auth/login", self.auth.login)
        if self.auth.enabled:
            add("POST", "/auth/token", self.auth.token)
            add("POST", "/auth/revoke", self.auth.revoke)
        add("GET", "/comms", self.comms.handle)
        add("GET", "/theme", self.theme)
        add("GET", "/settings", self.get_settings)
        add("GET", "/settings/user", self.get_user_settings)
        add("POST", "/settings/user", self.post_user_settings)
        add("GET", "/locales/:ns", self.locales)
        add("GET", "/plugins", self.plugins)
        add("GET", "/plugins/messages", self.empty_object)
        add("GET", "/nodes", self.nodes)
        add("GET", "/nodes/messages", self.node_messages)
        add("GET", "/icons", self.icons)
        add("GET", "/icons/:module/:icon", self.icon)
        add("GET", "/icons/:scope/:module/:icon", self.icon)
        add("GET", "/debug/view/:file", self.debug_view)
        add("GET", "/flows", self.get_flows)
        add("POST", "/flows", self.post_flows)
        add("GET", "/flows/state", self.flows_state)
        add("POST", "/inject/:id", self.inject)
        add("POST", "/debug/:id/:state", self.debug_toggle)
        add("GET", "/credentials/:type/:id", self.get_credentials)
        add("GET", "/context/:scope", self.context)
        add("GET", "/context/:scope/:id", self.context)
        add("DELETE", "/context/*", ContextDelete(self.runtime, self.admin_root(), self._refuse_write).delete)
        library = LibraryRoutes(self.settings, self.admin_root(), self._json_body, self._refuse_write)
        add("GET", "/library/*", library.get)
        add("POST", "/library/*", library.post)
        add("GET", "/favicon.ico", self.static)
        for top in _STATIC_TOP:
            add("GET", f"/{top}/*", self.static)
        self._listen()
        warn_shadowed(self.flows, self.runtime)
        self.comms.publish("notification/runtime-state", {"state": "start", "deploy": False}, retain=True)
        self.comms.publish("notification/runtime-deploy", {"revision": self.rev}, retain=True)

    def _listen(self) -> None:
        if self._listening:
            return
        self._listening = True
        self.runtime.status_listeners.append(self._on_status)
        self.runtime.log.listeners.append(self._on_log)
        debug = self.registry.get_type("debug")
        if debug is not None and hasattr(debug, "listeners"):
            debug.listeners.append(self._on_debug)

    def close(self) -> None:
        if not self._listening:
            return
        self._listening = False
        for table, fn in (
            (self.runtime.status_listeners, self._on_status),
            (self.runtime.log.listeners, self._on_log),
        ):
            if fn in table:
                table.remove(fn)
        debug = self.registry.get_type("debug")
        if debug is not None and self._on_debug in getattr(debug, "listeners", []):
            debug.listeners.remove(self._on_debug)

    def _origin_allowed(self, origin: str) -> bool:
        """Writes and /comms only from the editor's own origin (a page elsewhere cannot drive it)."""
        host = origin.split("://", 1)[-1].rstrip("/")
        allowed = getattr(self.runtime.http, "allowed_hosts", None)
        return host_allowed(host, allowed) if allowed is not None else True

    # ------------------------------------------------------------------ events to /comms

    def _on_status(self, node: Any, status: dict) -> None:
        shown = {k: status[k] for k in ("text", "fill", "shape") if k in status} if status else {}
        self.comms.publish(f"status/{node.id}", shown, retain=bool(shown))

    def _on_debug(self, node: Any, data: dict) -> None:
        if self.comms.active and getattr(node, "runtime", None) is self.runtime:
            self.comms.publish("debug", data)

    def _on_log(self, record: Any) -> None:
        if not self.comms.active or record.level not in ("warn", "error") or not record.node_id:
            return
        node = self.runtime.get_node(record.node_id)
        z = getattr(getattr(node, "flow", None), "id", None) or ""
        text = record.text
        self.comms.publish(
            "debug",
            {
                "level": 20 if record.level == "error" else 30,
                "id": record.node_id,
                "type": record.node_type,
                "name": record.node_name,
                "z": z,
                "path": z or "global",
                "msg": text,
                "format": f"string[{len(text)}]",
            },
        )

    # ------------------------------------------------------------------ editor page and files

    async def index(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        title = ((self.settings.get("editorTheme") or {}).get("page") or {}).get("title") or "Node-RED"
        return web.Response(text=self.files.index_page(title), content_type="text/html")

    async def static(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return self._file(self.files.public, self._rel_path(request))

    def _rel_path(self, request: web.BaseRequest) -> str:
        root = self.admin_root()
        path = request.path
        return path[len(root) :] if path.startswith(root) else path.lstrip("/")

    def admin_root(self) -> str:
        root = str(self.settings.get("httpAdminRoot") or "/")
        return root if root.endswith("/") else root + "/"

    @staticmethod
    def _file(base: Path, rel: str) -> web.StreamResponse:
        base = base.resolve()
        path = (base / rel).resolve()
        if base not in path.parents or not path.is_file():
            return web.Response(status=404, text="Not Found\n")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.FileResponse(path, headers={"Content-Type": content_type})

    async def theme(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return _json(
            {
                "page": {
                    "title": "Node-RED",
                    "favicon": "favicon.ico",
                    "tabicon": {"icon": "red/images/node-red-icon-black.svg", "colour": "#8f0000"},
                },
                "header": {"title": "Node-RED (flowrt)", "image": "red/images/node-red.svg"},
                "asset": {
                    "red": "red/red.min.js",
                    "main": "red/main.min.js",
                    "vendorMonaco": "vendor/monaco/monaco-bootstrap.js",
                },
                "themes": [],
            }
        )

    async def locales(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return _json(self.files.catalogue(params["ns"], request.query.get("lng", "en-US")))

    async def plugins(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        if request.headers.get("Accept") == "application/json":
            return _json([])
        return web.Response(text="", content_type="text/html")

    async def empty_object(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return _json({})

    async def get_settings(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        stores = self.runtime.context.list_stores() if hasattr(self.runtime, "context") else {}
        default = stores.get("default", "memory") if isinstance(stores, dict) else "memory"
        names = [n for n in (stores.get("stores") if isinstance(stores, dict) else None) or ["memory"]]
        theme = dict(self.settings.get("editorTheme") or {})
        theme.setdefault("tours", False)
        theme.setdefault("projects", {"enabled": False})
        theme.setdefault("languages", _LANGUAGES)
        user = self.auth.settings_user(request)
        return _json(
            {
                **({"user": user} if user else {}),
                "httpNodeRoot": self.settings.get("httpNodeRoot", "/"),
                "version": self.files.version,
                "flowrtVersion": __version__,
                "context": {"default": default, "stores": names},
                "libraries": [
                    {
                        "id": "local",
                        "label": "editor:library.types.local",
                        "user": False,
                        "icon": "font-awesome/fa-hdd-o",
                    }
                ],
                "flowFilePretty": True,
                "externalModules": {"palette": {"allowInstall": False, "allowUpload": False}},
                "flowEncryptionType": getattr(self.flow_files.credential_store, "key_type", "disabled"),
                "diagnostics": {"enabled": False, "ui": False},
                "telemetryEnabled": False,
                "runtimeState": {"enabled": False, "ui": False},
                "functionExternalModules": False,
                "functionTimeout": self.settings.get("functionTimeout", 0) or 0,
                "tlsConfigDisableLocalFiles": False,
                "editorTheme": theme,
            }
        )

    async def get_user_settings(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        try:
            return _json(json.loads(self.user_settings_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return _json({})

    async def post_user_settings(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        body = await self._json_body(request)
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "user settings must be a JSON object")
        self.user_settings_path.parent.mkdir(parents=True, exist_ok=True)
        self.user_settings_path.write_text(json.dumps(body), encoding="utf-8")
        return web.Response(status=204)

    async def nodes(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        if request.headers.get("Accept") == "application/json":  # Node-RED tests exactly this
            return _json([s.info() for s in self.node_sets])
        language = (request.headers.get("Accept-Language") or "en-US").split(",")[0].strip() or "en-US"
        text = self._html_cache.get(language)
        if text is None:
            text = self._html_cache[language] = all_html(self.node_sets, language)
        return web.Response(text=text, content_type="text/html")

    async def node_messages(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return _json({})  # flowrt's own sets use literal labels; core catalogues come from /locales

    async def icons(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return _json(icon_lists(self.files))

    async def icon(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        name = params["icon"]
        path = self.files.nodes / "icons" / name
        if path.is_file() and "/" not in name:
            return self._file(self.files.nodes / "icons", name)
        return self._file(self.files.public, "red/images/icons/arrow-in.svg")

    async def debug_view(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return self._file(self.files.nodes / "core" / "common" / "lib" / "debug", params["file"])

    # ------------------------------------------------------------------ flows

    def _api_version(self, request: web.BaseRequest) -> str | None:
        version = request.headers.get("Node-RED-API-Version", "v1")
        return version if version in API_VERSIONS else None

    async def get_flows(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        version = self._api_version(request)
        if version is None:
            return _error(400, "invalid_api_version", "Invalid API Version requested")
        plain = flows_api.without_credentials(self.flows)
        flows = flows_api.laid_out(plain)
        for before, after in zip(plain, flows, strict=True):
            if after is not before:
                self.generated_positions[after["id"]] = (after["x"], after["y"])
        return _json({"flows": flows, "rev": self.rev} if version == "v2" else flows)

    async def flows_state(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        return _json({"state": "start" if getattr(self.runtime, "started", False) else "stop"})

    async def post_flows(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        version = self._api_version(request)
        if version is None:
            return _error(400, "invalid_api_version", "Invalid API Version requested")
        refused = self._refuse_write(request)
        if refused is not None:
            return refused
        deploy_type = request.headers.get("Node-RED-Deployment-Type", "full")
        async with self.deploy_lock:
            if deploy_type == "reload":
                flows, rev = [dict(n) for n in self.flows], None
            else:
                body = await self._json_body(request)
                if isinstance(body, web.Response):
                    return body
                flows, rev = (body, None) if version == "v1" else _v2_body(body)
                if flows is None:
                    return _error(
                        400,
                        "invalid_flows",
                        "the body must be {flows: [...], rev} (v2) or a list of nodes (v1)",
                    )
            if rev is not None and rev != self.rev:
                return _error(409, "version_mismatch", "flows have been changed on the server")
            return await self._deploy(flows, version, deploy_type)

    async def _deploy(self, flows: list[dict], version: str, deploy_type: str) -> web.StreamResponse:
        credentials = flows_api.merge_credentials(flows, self.credentials)
        plain = flows_api.without_generated_positions(
            flows_api.without_credentials(flows), self.generated_positions
        )
        problems = flows_api.validation_problems(
            plain, self.registry, bool(self.settings.get("allowUnknown"))
        )
        if problems:
            shown = "; ".join(problems[:5]) + (
                f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            )
            return _error(400, "invalid_flows", shown)
        try:
            self.flow_files.write(plain, credentials)
        except OSError as err:
            return _error(500, "save_failed", f"cannot write flows: {err}")
        self.comms.publish("notification/runtime-state", {"state": "stop", "deploy": True}, retain=True)
        running = [dict(n) for n in plain]
        flows_api.apply_credentials(running, credentials)
        old_ids = {n.get("id") for n in self.flows}
        await self.runtime.redeploy(running, deploy_type)  # reload and unknown types: full
        warn_shadowed(plain, self.runtime)
        for node_id in old_ids - {n.get("id") for n in plain}:
            self.comms.forget(f"status/{node_id}")
        self.flows, self.credentials = plain, credentials
        self.rev = flows_api.revision(plain)
        self.comms.publish("notification/runtime-state", {"state": "start", "deploy": True}, retain=True)
        self.comms.publish("notification/runtime-deploy", {"revision": self.rev}, retain=True)
        return _json({"rev": self.rev}) if version == "v2" else web.Response(status=204)

    def _refuse_write(self, request: web.BaseRequest) -> web.StreamResponse | None:
        origin = request.headers.get("Origin")
        if origin and not self._origin_allowed(origin):
            return _error(403, "forbidden", f"origin {origin} may not change this runtime")
        return None

    async def _json_body(self, request: web.BaseRequest) -> Any:
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("application/json"):
            return _error(415, "invalid_request", "the body must be JSON (Content-Type: application/json)")
        limit = int(self.settings.get("apiMaxLength", 5 * 1024 * 1024))
        data = bytearray()
        while len(data) <= limit:  # one read() returns what has arrived so far, not the whole body
            chunk = await request.content.read(limit + 1 - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) > limit:
            return _error(413, "too_large", f"the body is larger than apiMaxLength ({limit} bytes)")
        try:
            return json.loads(data.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as err:
            return _error(400, "invalid_json", f"the body is not JSON: {err}")

    # ------------------------------------------------------------------ node buttons, credentials, context

    async def inject(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        refused = self._refuse_write(request)
        if refused is not None:
            return refused
        node = self.runtime.get_node(params["id"])
        if node is None or node.type != "inject":
            return web.Response(status=404)
        body = await self._json_body(request) if request.can_read_body else {}
        props = body.get("__user_inject_props__") if isinstance(body, dict) else None
        try:
            node.receive({"__user_inject_props__": props} if props is not None else {})
        except Exception as err:
            return web.Response(status=500, text=f"inject failed: {err}")
        return web.Response(status=200, text="OK")

    async def debug_toggle(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        refused = self._refuse_write(request)
        if refused is not None:
            return refused
        state = params["state"]
        node = self.runtime.get_node(params["id"])
        if node is None or node.type != "debug" or state not in ("enable", "disable"):
            return web.Response(status=404)
        node.active = state == "enable"
        return web.Response(status=200 if node.active else 201, text="OK")

    async def get_credentials(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        values = self.credentials.get(params["id"]) or {}
        cls = self.registry.get_type(params["type"].replace("-", " ")) or self.registry.get_type(
            params["type"]
        )
        declared = getattr(cls, "credentials", None) if cls is not None else None
        return _json(flows_api.node_credentials(declared if isinstance(declared, dict) else None, values))

    async def context(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        scope = params["scope"]
        if scope not in ("global", "flow", "node"):
            return web.Response(status=404)
        manager = self.runtime.context
        if scope == "global":
            ctx = manager.global_context()
        elif scope == "flow":
            ctx = manager.flow_context(params.get("id", ""))
        else:
            node = self.runtime.get_node(params.get("id", ""))
            if node is None:
                return _json({})
            ctx = node.context()
        stores = request.query.get("store")
        names = [stores] if stores else (manager.list_stores().get("stores") or ["memory"])
        out: dict[str, Any] = {}
        for store in names:
            keys = ctx.keys(store) or []
            if "keysOnly" in request.query:
                out[store] = {"keys": [{"key": k} for k in keys]}
            else:
                out[store] = {k: _encoded(ctx.get(k, store)) for k in keys}
        return _json(out)


def _v2_body(body: Any) -> tuple[list[dict] | None, str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("flows"), list):
        return None, None
    flows = body["flows"]
    if not all(isinstance(n, dict) for n in flows):
        return None, None
    rev = body.get("rev")
    return flows, rev if isinstance(rev, str) else None


def _encoded(value: Any) -> dict:
    """A context value as the sidebar shows it (RED.util.encodeObject's shape)."""
    if isinstance(value, str):
        return {"msg": value, "format": f"string[{len(value)}]"}
    if isinstance(value, bool) or value is None:
        return {"msg": json.dumps(value), "format": "boolean" if isinstance(value, bool) else "null"}
    if isinstance(value, (int, float)):
        return {"msg": json.dumps(value), "format": "number"}
    if isinstance(value, list):
        return {"msg": json.dumps(value, default=str), "format": f"array[{len(value)}]"}
    return {"msg": json.dumps(value, default=str), "format": "Object"}
