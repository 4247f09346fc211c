"""`http request` (Node-RED's 21-httprequest.js) and a minimal `tls-config` config node.

Method from the node or `msg.method` ("use"), URL from the node (mustache over
the message) or `msg.url`, headers from `msg.headers` and the node, query from
the payload for GET (`paytoqs`), the reply as text / bytes / parsed JSON with
`msg.statusCode`, `msg.headers`, `msg.responseUrl` and `msg.redirectList`.
Timeouts (`msg.requestTimeout` ms, setting `httpRequestTimeout`, default
120 s), redirects (`msg.followRedirects`), basic and bearer auth, TLS options.
Failures are node errors with the message, so catch nodes get them.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from flowrt import Node, NodeConfigError, NodeError, register_type
from flowrt.lang.jsvalues import js_json_dumps, js_string
from flowrt.lang.mustache import render

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


@register_type("tls-config")
class TlsConfig(Node):
    """TLS options for http request: file paths of ca/cert/key and whether to verify the server."""

    schema = {
        "type": "object",
        "properties": {
            # Node-RED 5 (4.x: even when missing): n.ca.trim() in the constructor.
            "ca": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "cert": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "key": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "verifyservercert": {"type": "boolean", "default": True},
            "servername": {"type": "string"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        creds = cfg.get("credentials") or {}
        try:
            ctx = ssl.create_default_context(cafile=cfg.get("ca") or None)
            if cfg.get("cert") and cfg.get("key"):
                ctx.load_cert_chain(cfg["cert"], cfg["key"], password=creds.get("passphrase") or None)
        except (OSError, ssl.SSLError) as err:
            raise NodeConfigError(f"cannot load TLS files: {err}") from None
        if cfg.get("verifyservercert") is False:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.context = ctx
        self.servername = cfg.get("servername") or None


def _with_scheme(url: str) -> str:
    if "://" not in url[:12]:
        return "https://" + url[8:] if url.startswith("https//") else "http://" + url
    return url


def _add_query(url: str, payload: dict) -> str:
    parts = urlsplit(url)
    extra = urlencode(
        [(k, v) for k, val in payload.items() for v in (val if isinstance(val, list) else [val])]
    )
    query = f"{parts.query}&{extra}" if parts.query and extra else parts.query or extra
    return urlunsplit(parts._replace(query=query))


@register_type("http request")
class HttpRequest(Node):
    schema = {
        "type": "object",
        "properties": {
            "method": {"enum": ["use", *METHODS, *[m.lower() for m in METHODS]]},
            "ret": {"enum": ["txt", "bin", "obj"], "default": "txt"},
            "paytoqs": {"enum": [True, False, "ignore", "query", "body"]},
            "url": {"type": "string", "description": "mustache template over msg; empty: msg.url"},
            "tls": {"type": "string", "description": "id of a tls-config node"},
            "authType": {"enum": ["", "basic", "bearer", "digest"]},
            "senderr": {"type": "boolean"},
            "headers": {"type": "array", "items": {"type": "object"}},
            "persist": {"type": "boolean"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.method = js_string(cfg.get("method") or "GET").upper()
        self.ret = cfg.get("ret") or "txt"
        paytoqs = cfg.get("paytoqs")
        self.paytoqs = "query" if paytoqs is True else (paytoqs or "ignore")
        self.url = cfg.get("url") or ""
        self.auth_type = cfg.get("authType") or ("basic" if cfg.get("useAuth") else "")
        creds = cfg.get("credentials") or {}
        self.user = creds.get("user") or cfg.get("user") or ""
        self.password = creds.get("password") or cfg.get("password") or ""
        headers = cfg.get("headers") or []
        self.config_headers = [h for h in headers if isinstance(h, dict)] if isinstance(headers, list) else []
        self.ssl: Any = None
        if cfg.get("tls"):
            tls = self.runtime.get_node(cfg["tls"]) if isinstance(cfg["tls"], str) else None
            if tls is None or not hasattr(tls, "context"):
                raise NodeConfigError(f"tls-config node {js_string(cfg['tls'])!r} (property tls) is missing")
            self.ssl = tls.context
        self.default_timeout = float(self.settings.get("httpRequestTimeout", 120000)) / 1000
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def on_close(self, removed: bool) -> None:
        if self._session is not None:
            await self._session.close()

    def _headers(self, msg: dict) -> dict[str, str]:
        headers: dict[str, str] = {}
        if isinstance(msg.get("headers"), dict):
            for name, value in msg["headers"].items():
                if name.lower() != "x-node-red-request-node" and value is not None:
                    headers[name] = str(value)
        for entry in self.config_headers:
            name = entry.get("keyValue") if entry.get("keyType") == "other" else entry.get("keyType")
            if name:
                headers[name] = str(entry.get("valueValue", ""))
        return headers

    async def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        url = self.url
        if url and msg.get("url") and msg["url"] != url:
            self.warn("msg.url is ignored: the node has a URL set")
        if not url:
            url = msg.get("url") or ""
        elif "{{" in url:
            url = render(url, msg)
        if not url:
            done(NodeError("No url specified"))
            return
        url = _with_scheme(str(url))
        method = self.method
        if method == "USE":
            method = str(msg.get("method") or "GET").upper()
        elif msg.get("method") and str(msg["method"]).upper() != method:
            self.warn("msg.method is ignored: the node has a method set")
        headers = self._headers(msg)
        lower = {k.lower(): k for k in headers}
        payload = msg.get("payload")
        data: Any = None
        if (
            method in ("GET", "HEAD", "DELETE", "OPTIONS")
            and self.paytoqs == "query"
            and isinstance(payload, dict)
        ):
            url = _add_query(url, payload)
        elif method not in ("GET", "HEAD") or self.paytoqs == "body":
            if payload is not None and not (method == "DELETE" and payload == {}):
                ctype = headers.get(lower.get("content-type", ""), "")
                if isinstance(payload, (bytes, bytearray)):
                    data = bytes(payload)
                elif isinstance(payload, (dict, list)):
                    if "x-www-form-urlencoded" in ctype and isinstance(payload, dict):
                        data = urlencode(payload).encode()
                    else:
                        data = js_json_dumps(payload).encode()
                        if not ctype:
                            headers["Content-Type"] = "application/json"
                elif isinstance(payload, bool):
                    data = b"true" if payload else b"false"
                else:
                    data = js_string(payload).encode()
                if "content-length" not in lower:
                    headers["Content-Length"] = str(len(data))
        if self.auth_type == "basic" and (self.user or self.password):
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif self.auth_type == "bearer" and self.password:
            headers["Authorization"] = f"Bearer {self.password}"
        timeout_ms = msg.get("requestTimeout")
        try:
            timeout = float(timeout_ms) / 1000 if timeout_ms not in (None, "") else self.default_timeout
        except (TypeError, ValueError):
            timeout = self.default_timeout
        follow = msg.get("followRedirects") is not False
        ssl_option: Any = self.ssl if self.ssl is not None else True
        if msg.get("rejectUnauthorized") is False:
            ssl_option = False

        self.status({"fill": "blue", "shape": "dot", "text": "requesting"})
        try:
            async with self._client().request(
                method,
                url,
                data=data,
                headers=headers,
                allow_redirects=follow,
                ssl=ssl_option,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                body = await resp.read()
                msg["statusCode"] = resp.status
                response_headers: dict[str, Any] = {}
                for name, value in resp.headers.items():
                    key = name.lower()
                    if key == "set-cookie":
                        response_headers.setdefault(key, []).append(value)
                    elif key in response_headers:
                        response_headers[key] = f"{response_headers[key]}, {value}"
                    else:
                        response_headers[key] = value
                response_headers["x-node-red-request-node"] = ""
                msg["headers"] = response_headers
                msg["responseUrl"] = str(resp.url)
                msg["redirectList"] = [
                    {"location": h.headers.get("Location", ""), "cookies": {}} for h in resp.history
                ]
        except TimeoutError:
            self._fail(msg, done, "no response from server", "ETIMEDOUT")
            return
        except aiohttp.ClientConnectorError as err:
            code = "ECONNREFUSED" if isinstance(err.os_error, ConnectionRefusedError) else "ENOTFOUND"
            self._fail(msg, done, f"connect {code} {err.host}:{err.port}", code)
            return
        except (aiohttp.ClientError, ValueError, OSError) as err:
            self._fail(msg, done, str(err) or type(err).__name__, type(err).__name__)
            return
        if self.ret == "bin":
            msg["payload"] = body
        else:
            text = body.decode(resp.charset or "utf-8", errors="replace")
            msg["payload"] = text
            if self.ret == "obj":
                try:
                    msg["payload"] = json.loads(text)
                except json.JSONDecodeError:
                    self.warn("JSON parse error: the reply is returned as text")
        self.status({})
        send(msg)
        done()

    def _fail(self, msg: dict, done: Callable, text: str, code: str) -> None:
        msg["payload"] = f"RequestError: {text}"
        msg["statusCode"] = code
        self.status({"fill": "red", "shape": "ring", "text": code})
        if self.config.get("senderr"):
            self.send(msg)
        done(NodeError(f"RequestError: {text}", code=code))
