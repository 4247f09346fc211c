"""`http response`: answers the request a message came from (Node-RED's HTTPOut).

Status from the node or `msg.statusCode`; headers from the node, then
`msg.headers` for names the node does not set; `msg.cookies`; the payload as
Express's res.send/res.jsonp would write it (objects as JSON with
`application/json; charset=utf-8`, strings as `text/html; charset=utf-8`
unless a content type is set, bytes as application/octet-stream).

A client that already went away is a warning (nothing to answer); answering
the same request twice is a node error (catchable).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from flowrt import Node, NodeError, register_type
from flowrt.lang.jsvalues import js_json_dumps, js_string

_CHARSET = re.compile(r";\s*charset\s*=", re.IGNORECASE)


def _with_charset(content_type: str) -> str:
    return content_type if _CHARSET.search(content_type) else f"{content_type}; charset=utf-8"


def _cookie_header(name: str, spec: Any) -> str:
    jar: SimpleCookie = SimpleCookie()
    if spec is None or (isinstance(spec, dict) and spec.get("value") is None):
        jar[name] = ""
        jar[name]["path"] = (spec or {}).get("path", "/") if isinstance(spec, dict) else "/"
        jar[name]["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return jar[name].OutputString()
    if not isinstance(spec, dict):
        jar[name] = str(spec)
        jar[name]["path"] = "/"
        return jar[name].OutputString()
    jar[name] = str(spec["value"])
    morsel = jar[name]
    morsel["path"] = spec.get("path", "/")
    if spec.get("domain"):
        morsel["domain"] = spec["domain"]
    if spec.get("maxAge") is not None:
        morsel["max-age"] = int(int(spec["maxAge"]) / 1000)
    if spec.get("expires"):
        morsel["expires"] = str(spec["expires"])
    if spec.get("httpOnly"):
        morsel["httponly"] = True
    if spec.get("secure"):
        morsel["secure"] = True
    if spec.get("sameSite"):
        same = spec["sameSite"]
        morsel["samesite"] = "Strict" if same is True else str(same).capitalize()
    return morsel.OutputString()


@register_type("http response")
class HttpResponse(Node):
    schema = {
        "type": "object",
        "properties": {
            "statusCode": {
                "type": ["string", "integer"],
                "description": "fixed status; empty: msg.statusCode or 200",
            },
            "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        },
    }

    def setup(self) -> None:
        headers = self.config.get("headers") or {}
        if isinstance(headers, (str, list)):  # Node-RED's for-in walks a string's or array's indices
            headers = {str(i): v for i, v in enumerate(headers)}
        self.headers: dict = dict(headers) if isinstance(headers, dict) else {}
        self.own_header_names = {name.lower() for name in self.headers}
        try:
            self.status_code = int(self.config.get("statusCode") or 0)
        except (TypeError, ValueError):
            self.status_code = 0

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        holder = msg.get("res")
        res = holder.get("_res") if isinstance(holder, dict) else None
        if res is None:
            self.warn("No response object")
            done()
            return
        if getattr(res, "closed", False):
            self.warn("the client closed the connection before the response was sent")
            done()
            return
        if res.finished:
            done(NodeError("a response was already sent for this request"))
            return
        self._set_headers(res, msg.get("headers"))
        cookies = msg.get("cookies")
        if isinstance(cookies, dict) and cookies:
            lines = [_cookie_header(name, spec) for name, spec in cookies.items()]
            existing = res.getHeader("Set-Cookie")
            if existing is not None:
                lines = (existing if isinstance(existing, list) else [existing]) + lines
            res.setHeader("Set-Cookie", lines)
        status = self.status_code
        if not status:
            try:
                status = int(msg.get("statusCode") or 200)
            except (TypeError, ValueError):
                status = 200
        res.statusCode = status
        payload = msg.get("payload")
        content_type = res.getHeader("Content-Type")
        kind = type(payload)
        if kind is str:
            body = payload.encode("utf-8")
            res.setHeader("Content-Type", _with_charset(content_type or "text/html"))
        elif isinstance(payload, (bytes, bytearray)):
            body = bytes(payload)
            if content_type is None:
                res.setHeader("Content-Type", "application/octet-stream")
        elif payload is None and "payload" not in msg:
            body = b""
        elif isinstance(payload, (dict, list)) or payload is None:
            body = js_json_dumps(payload).encode()
            res.setHeader("Content-Type", _with_charset(content_type or "application/json"))
        else:
            body = js_string(payload).encode("utf-8")
            res.setHeader("Content-Type", _with_charset(content_type or "text/html"))
        if not res.hasHeader("Content-Length"):
            res.setHeader("Content-Length", len(body))
        res.end(body)
        done()

    def _set_headers(self, res: Any, msg_headers: Any) -> None:
        """The node's headers, then those of `msg.headers` the node does not set."""
        for name, value in self.headers.items():
            res.setHeader(name, value if isinstance(value, list) else str(value))
        if isinstance(msg_headers, dict) and msg_headers:
            own = self.own_header_names
            for name, value in msg_headers.items():
                if name != "x-node-red-request-node" and name.lower() not in own:
                    res.setHeader(name, value if isinstance(value, list) else str(value))
