"""`http request` (Node-RED's 21-httprequest.js, 4.1 and 5.0 behave the same).

Method from the node or, with method "use", from `msg.method`; URL from the node (mustache over the
message) or `msg.url` (no scheme: http://, or https:// with a tls-config); headers from `msg.headers`
then the node's header list (case-insensitive replace, an empty value removes); the payload as the
body (strings, Buffers, numbers as text, objects as JSON or urlencoded or multipart) or, for GET, as
the query string (`paytoqs: "query"`) or the body (`paytoqs: "body"`). The reply comes out as text,
a Buffer or parsed JSON with `msg.statusCode`, `msg.headers` (Node's shape),
`msg.responseUrl`, `msg.redirectList` and `msg.responseCookies`.

Cookies: one jar per request seeded from `msg.cookies` and a `cookie` header; Set-Cookie replies are
kept in it across redirects (sent back to the same host only). Auth: basic (the default), bearer,
digest (MD5, SHA-256, SHA-512-256, -sess, qop=auth), or user:password in the URL. Proxy: an
`http proxy` config node (property `proxy`) or the http_proxy/https_proxy/no_proxy environment.
TLS: a `tls-config` node (its `.context`) or `msg.rejectUnauthorized`.
Timeouts: `msg.requestTimeout` ms, else setting `httpRequestTimeout` (default 120000).
A failure is a node error (catch nodes see it) and, unless `senderr` is set, also a message with
`payload` "<Error>: <text> : <url>" and `statusCode` the error code.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import aiohttp
import yarl

from flowrt import Node, NodeError, register_type
from flowrt.util import UNDEFINED, evaluate_node_property, js, proxy_for_url, render_mustache

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")
REDIRECT_CODES = frozenset({300, 301, 302, 303, 304, 307, 308})
MAX_REDIRECTS = 21
NO_OVERRIDE = (
    "Warning: msg properties can no longer override set node properties. See bit.ly/nr-override-msg-props"
)
NO_RESPONSE = "no response from server"
HASH_HEADER = "x-node-red-request-node"
FORM_URLENCODED = "application/x-www-form-urlencoded"
# Node's IncomingMessage keeps the first of these when a reply repeats them (others are joined).
SINGLE_VALUE_HEADERS = frozenset(
    (
        "age authorization content-length content-type etag expires from host if-modified-since "
        "if-unmodified-since last-modified location max-forwards proxy-authorization referer "
        "retry-after server user-agent"
    ).split()
)


# ----- JavaScript helpers the node's observable behaviour depends on ------------------------------


def _to_int32(value: float) -> int:
    value = int(value) & 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def _fold(hash_: float, text: str) -> float:
    if not text:
        return hash_
    units = text.encode("utf-16-le", "surrogatepass")  # JavaScript's charCodeAt walks UTF-16 units
    for i in range(0, len(units), 2):
        hash_ = _to_int32(_to_int32(_to_int32(hash_) << 5) - hash_ + (units[i] | units[i + 1] << 8))
    return hash_ * -2 if hash_ < 0 else hash_


def _object_tag(value: Any) -> tuple[str, str]:
    """Object.prototype.toString and typeof of a message value."""
    if value is None:
        return "[object Null]", "object"
    if value is UNDEFINED:
        return "[object Undefined]", "undefined"
    if isinstance(value, bool):
        return "[object Boolean]", "boolean"
    if isinstance(value, (int, float)):
        return "[object Number]", "number"
    if isinstance(value, str):
        return "[object String]", "string"
    if isinstance(value, list):
        return "[object Array]", "object"
    if isinstance(value, (bytes, bytearray)):
        return "[object Uint8Array]", "object"
    return "[object Object]", "object"


def _fold_value(hash_: float, value: Any, key: str, seen: list) -> float:
    tag, type_name = _object_tag(value)
    hash_ = _fold(_fold(_fold(hash_, key), tag), type_name)
    if value is None:
        return _fold(hash_, "null")
    if value is UNDEFINED:
        return _fold(hash_, "undefined")
    if type_name != "object":
        return _fold(hash_, js.js_string(value))
    if any(value is s for s in seen):
        return _fold(hash_, "[Circular]" + key)
    seen.append(value)
    if isinstance(value, dict):
        items = {str(k): v for k, v in value.items()}
    else:
        items = {str(i): v for i, v in enumerate(value)}
    for name in sorted(items, key=lambda k: k.encode("utf-16-be")):
        hash_ = _fold_value(hash_, items[name], name, seen)
    return _fold(hash_, js.js_string(value))


def hash_sum(value: Any) -> str:
    """The npm `hash-sum` 2.0 hash Node-RED puts in the x-node-red-request-node reply header."""
    return format(int(_fold_value(0, value, "", [])), "x").rjust(8, "0")


def _encode_uri_component(text: str) -> str:
    return quote(text, safe="-_.!~*'()")


def _querystring(value: Any) -> str:
    """Node's querystring.stringify: arrays repeat the key, other objects give an empty value."""
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if not isinstance(value, dict):
        return ""

    def primitive(v: Any) -> str:
        if isinstance(v, str):
            return _encode_uri_component(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return js.js_number_text(v) if math.isfinite(v) else ""
        return ""

    parts = []
    for key, item in value.items():
        name = _encode_uri_component(str(key))
        if isinstance(item, list):
            parts.extend(f"{name}={primitive(v)}" for v in item)
        else:
            parts.append(f"{name}={primitive(item)}")
    return "&".join(parts)


def _truthy(value: Any) -> bool:
    return js.js_truthy(value) if value is not UNDEFINED else False


def _header_text(value: Any) -> str:
    return value if isinstance(value, str) else js.js_string(value)


# WHATWG URL percent-encode sets (special schemes) for the path and the query.
_PATH_KEEP = frozenset(chr(c) for c in range(0x21, 0x7F)) - set('"#<>?`{}')
_QUERY_KEEP = frozenset(chr(c) for c in range(0x21, 0x7F)) - set("\"#<>'")


def _percent_encode(text: str, keep: frozenset) -> str:
    return "".join(ch if ch in keep else quote(ch, safe="") for ch in text)


def _fix_percents(query: str) -> str:
    """A '%' not followed by two hex digits becomes %25 (as Node-RED normalises a query)."""
    return re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", query)


class _Target:
    """A request URL as WHATWG parses it: the encoded URL to send, and the userinfo it carried."""

    def __init__(self, text: str) -> None:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Invalid URL: {text}")
        port = parts.port  # raises ValueError for a bad port
        host = parts.hostname
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        if ":" in host:
            host = f"[{host}]"
        default = 80 if parts.scheme == "http" else 443
        netloc = host if port in (None, default) else f"{host}:{port}"
        path = _percent_encode(parts.path or "/", _PATH_KEEP)
        query = _percent_encode(parts.query, _QUERY_KEEP)
        has_query = "?" in text.split("#", 1)[0]
        self.href = f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if has_query else "")
        self.url = yarl.URL(self.href, encoded=True)
        self.username = parts.username or ""
        self.password = parts.password or ""
        self.hostname = host
        self.port = port or default

    def same_origin(self, other: _Target) -> bool:
        return self.hostname == other.hostname and self.port == other.port


# ----- cookies -------------------------------------------------------------------------------------


def _skip_ws(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t":
        start += 1
    while end > start and text[end - 1] in " \t":
        end -= 1
    return start, end


def parse_cookie(text: str, decode: Callable[[str], str] | None = None) -> dict[str, str]:
    """The npm `cookie` 0.7 parse(): name=value pairs split at ';', first occurrence wins."""
    out: dict[str, str] = {}
    if len(text) < 2:
        return out
    if decode is None:

        def decode(v: str) -> str:
            return unquote(v, errors="strict") if "%" in v else v

    index = 0
    while index < len(text):
        eq = text.find("=", index)
        if eq == -1:
            break
        end = text.find(";", index)
        if end == -1:
            end = len(text)
        elif eq > end:
            index = text.rfind(";", 0, eq) + 1
            continue
        key_start, key_end = _skip_ws(text, index, eq)
        key = text[key_start:key_end]
        if key not in out:
            val_start, val_end = _skip_ws(text, eq + 1, end)
            if val_end - val_start >= 2 and text[val_start] == '"' and text[val_end - 1] == '"':
                val_start, val_end = val_start + 1, val_end - 1
            value = text[val_start:val_end]
            try:
                out[key] = decode(value)
            except (UnicodeDecodeError, ValueError):
                out[key] = value
        index = end + 1
    return out


_COOKIE_VALUE = re.compile(r'^("?)[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*\1$')
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def extract_cookies(set_cookie: list[str]) -> dict[str, dict]:
    """msg.responseCookies / redirectList[].cookies: {name: {attributes..., value}}."""
    cookies: dict[str, dict] = {}
    for line in set_cookie:
        eq = line.find("=")
        key = line[:eq].strip() if eq != -1 else ""
        if not key:
            continue
        parsed: dict[str, Any] = parse_cookie(line)
        parsed["value"] = parsed.pop(key, UNDEFINED)
        if parsed["value"] is UNDEFINED:
            del parsed["value"]
        cookies[key] = parsed
    return cookies


class CookieJar:
    """A small RFC 6265 cookie store for one request and its redirects."""

    def __init__(self) -> None:
        self.cookies: list[dict] = []

    @staticmethod
    def _default_path(path: str) -> str:
        if not path.startswith("/") or path.count("/") == 1:
            return "/"
        return path[: path.rfind("/")]

    def set(self, header: str, target: _Target, now: float) -> None:
        """Store one Set-Cookie value received from (or given for) `target`; bad ones are ignored."""
        pair, _, rest = header.partition(";")
        name, eq, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name:
            return
        cookie = {"name": name, "value": value, "domain": target.hostname, "host_only": True}
        cookie["path"] = self._default_path(target.url.raw_path)
        cookie["secure"], cookie["expires"] = False, None
        for attr in rest.split(";"):
            key, _, val = attr.partition("=")
            key, val = key.strip().lower(), val.strip()
            if key == "domain" and val:
                domain = val.lstrip(".").lower()
                host = target.hostname
                if host != domain and not host.endswith("." + domain):
                    return
                cookie["domain"], cookie["host_only"] = domain, False
            elif key == "path" and val.startswith("/"):
                cookie["path"] = val
            elif key == "secure":
                cookie["secure"] = True
            elif key == "max-age" and re.fullmatch(r"-?\d+", val):
                cookie["expires"] = now + int(val)
            elif key == "expires" and cookie["expires"] is None:
                from email.utils import parsedate_to_datetime

                try:
                    cookie["expires"] = parsedate_to_datetime(val).timestamp()
                except (TypeError, ValueError):
                    pass
        self.cookies = [
            c
            for c in self.cookies
            if (c["name"], c["domain"], c["path"]) != (name, cookie["domain"], cookie["path"])
        ]
        if cookie["expires"] is None or cookie["expires"] > now:
            self.cookies.append(cookie)

    def header(self, target: _Target, now: float) -> str:
        """The Cookie header for a request to `target` ("" when no cookie applies)."""
        path = target.url.raw_path
        secure = target.url.scheme == "https"
        chosen = []
        for c in self.cookies:
            if c["expires"] is not None and c["expires"] <= now:
                continue
            host = target.hostname
            if c["host_only"] and host != c["domain"]:
                continue
            if not c["host_only"] and host != c["domain"] and not host.endswith("." + c["domain"]):
                continue
            cpath = c["path"]
            if not (
                path == cpath or (path.startswith(cpath) and (cpath.endswith("/") or path[len(cpath)] == "/"))
            ):
                continue
            if c["secure"] and not secure:
                continue
            chosen.append(c)
        chosen.sort(key=lambda c: -len(c["path"]))
        return "; ".join(f"{c['name']}={c['value']}" for c in chosen)


def _serialize_cookie(name: str, value: Any, encode: bool) -> str:
    text = _encode_uri_component(js.js_string(value)) if encode else js.js_string(value)
    if not _COOKIE_NAME.match(name):
        raise NodeError("argument name is invalid")
    if not _COOKIE_VALUE.match(text):
        raise NodeError("argument val is invalid")
    return f"{name}={text}"


# ----- digest authentication -------------------------------------------------------------------


def _digest(algorithm: str | None, value: str) -> str:
    name = re.sub(r"-sess$", "", (algorithm or "").lower())
    if name == "sha-256":
        return hashlib.sha256(value.encode()).hexdigest()
    if name == "sha-512-256":
        return hashlib.sha512(value.encode()).hexdigest()[:64]
    return hashlib.md5(value.encode()).hexdigest()


def digest_authorization(user: str, password: str, method: str, uri: str, challenge_text: Any) -> str:
    """The Authorization header answering a WWW-Authenticate: Digest challenge (RFC 2617/7616)."""
    if not challenge_text or not isinstance(challenge_text, str):
        raise ValueError("Invalid or missing WWW-Authenticate header")
    challenge = {
        m.group(1): m.group(2) or m.group(3)
        for m in re.finditer(r'([a-z0-9_-]+)=(?:"([^"]+)"|([a-z0-9_-]+))', challenge_text, re.I)
    }
    if not challenge.get("nonce"):
        raise ValueError("Invalid digest challenge: missing nonce")
    if not challenge.get("realm"):
        raise ValueError("Invalid digest challenge: missing realm")
    algorithm = challenge.get("algorithm")
    qop = "auth" if re.search(r"(^|,)\s*auth\s*($|,)", challenge.get("qop") or "undefined") else ""
    nc = "00000001" if qop else ""
    cnonce = uuid.uuid4().hex if qop else ""
    nonce, realm = challenge["nonce"], challenge["realm"]
    ha1 = _digest(algorithm, f"{user}:{realm}:{password}")
    if algorithm and re.search(r"-sess$", algorithm, re.I):
        ha1 = _digest(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _digest(algorithm, f"{method}:{uri}")
    if qop:
        response = _digest(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    else:
        response = _digest(algorithm, f"{ha1}:{nonce}:{ha2}")
    fields = [
        ("username", user),
        ("realm", realm),
        ("nonce", nonce),
        ("uri", uri),
        ("qop", qop),
        ("response", response),
        ("nc", nc),
        ("cnonce", cnonce),
        ("algorithm", algorithm),
        ("opaque", challenge.get("opaque")),
    ]
    parts = [f"{k}={v}" if k in ("qop", "nc", "algorithm") else f'{k}="{v}"' for k, v in fields if v]
    return "Digest " + ", ".join(parts)


# ----- the node ------------------------------------------------------------------------------------


class _Headers:
    """Request headers as Node-RED builds them: insertion order, the user's case, names unique
    case-insensitively, content-type/content-length kept lower case until the end."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.content_type_name = "Content-Type"
        self.content_length_name = "Content-Length"

    def normalise(self, name: str) -> str:
        lower = name.lower()
        if lower == "content-type":
            self.content_type_name = name
            return lower
        if lower == "content-length":
            self.content_length_name = name
            return lower
        return name

    def update(self, name: str, value: Any) -> None:
        """Set `name` (replacing any case variant); a falsy value removes the header."""
        lower = name.lower()
        for key in [k for k in self.items if k.lower() == lower]:
            del self.items[key]
        if _truthy(value):
            self.items[name] = value

    def finish(self) -> list[tuple[str, str]]:
        """The headers to send, with content-type/length back in the case the user gave."""
        items = self.items
        for lower, name in (
            ("content-type", self.content_type_name),
            ("content-length", self.content_length_name),
        ):
            if lower in items and name != lower:
                items[name] = items.pop(lower)
        out = []
        for name, value in items.items():
            for v in value if isinstance(value, list) else [value]:
                out.append((name, _header_text(v)))
        return out


def _response_headers(raw: Any) -> dict[str, Any]:
    """A reply's headers as Node's IncomingMessage.headers: lower case, repeats joined."""
    out: dict[str, Any] = {}
    for name_bytes, value_bytes in raw:
        name = name_bytes.decode("latin-1").lower()
        value = value_bytes.decode("latin-1")
        if name == "set-cookie":
            out.setdefault(name, []).append(value)
        elif name not in out:
            out[name] = value
        elif name not in SINGLE_VALUE_HEADERS:
            out[name] = f"{out[name]}{'; ' if name == 'cookie' else ', '}{value}"
    return out


class _Failure(Exception):
    def __init__(self, name: str, message: str, code: str) -> None:
        super().__init__(message)
        self.name = name
        self.code = code


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
            "proxy": {"type": "string", "description": "id of an http proxy config node"},
            "authType": {"enum": ["", "basic", "bearer", "digest"]},
            "senderr": {"type": "boolean"},
            "headers": {"type": "array", "items": {"type": "object"}},
            "persist": {"type": "boolean"},
            "insecureHTTPParser": {"type": "boolean"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.node_url = js.js_string(cfg["url"]) if cfg.get("url") else ""
        self.templated = "{{" in self.node_url
        self.node_method = cfg.get("method") or "GET"
        self.ret = cfg.get("ret") or "txt"
        paytoqs = cfg.get("paytoqs")
        self.paytoqs = paytoqs is True or paytoqs == "query"
        self.paytobody = paytoqs == "body"
        self.auth_type = cfg.get("authType") or "basic"
        creds = cfg.get("credentials")
        self.credentials: dict = dict(creds) if isinstance(creds, dict) else {}
        headers = cfg.get("headers")
        self.ui_headers = [h for h in headers if isinstance(h, dict)] if isinstance(headers, list) else []
        self.send_errors_to_catch = bool(cfg.get("senderr"))
        self.persist = bool(cfg.get("persist"))
        self.tls = self.runtime.get_node(cfg["tls"]) if isinstance(cfg.get("tls"), str) else None
        if cfg.get("tls") and self.tls is None:
            self.warn(f"tls-config node {js.js_string(cfg['tls'])!r} (property tls) is missing")
        self.proxy_node = None
        if cfg.get("proxy"):
            self.proxy_node = self.runtime.get_node(cfg["proxy"]) if isinstance(cfg["proxy"], str) else None
            if self.proxy_node is None:
                self.warn(f"http proxy node {js.js_string(cfg['proxy'])!r} (property proxy) is missing")
        try:
            timeout = int(js.js_number(self.settings.get("httpRequestTimeout")))
        except (TypeError, ValueError, OverflowError):
            timeout = 0
        self.default_timeout_ms = timeout or 120000
        self.active = 0
        self._session: aiohttp.ClientSession | None = None

    # ----- per-request pieces ----------------------------------------------------------------------
    def _session_for(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(force_close=not self.persist)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("Accept-Encoding",),
            )
        return self._session

    async def on_close(self, removed: bool) -> None:
        self.status({})
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _proxy_env(self) -> dict | None:
        """The proxy config node's env for proxy_for_url, or None for the process environment.
        A proxy named but missing means no proxy at all, as in Node-RED."""
        if not self.config.get("proxy"):
            return None
        env = getattr(self.proxy_node, "proxy_env", None)
        return env if isinstance(env, dict) else {}

    def _proxy_for(self, url: str) -> tuple[str | None, str | None]:
        """(proxy URL without userinfo, Proxy-Authorization value) for a request to `url`."""
        proxy = proxy_for_url(url, self._proxy_env())
        if not proxy:
            return None, None
        if not re.match(r"^(https?://)?(.+)?:([0-9]+)?", proxy, re.I):
            self.warn("Bad proxy url: " + proxy)
            return None, None
        if "://" not in proxy:
            proxy = "http://" + proxy
        parts = urlsplit(proxy)
        creds = getattr(self.proxy_node, "credentials", None) or {}
        user, password = creds.get("username") or "", creds.get("password") or ""
        if not (user or password):
            user, password = unquote(parts.username or ""), unquote(parts.password or "")
        auth = None
        if user or password:
            auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        host = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{host}", auth

    def _build_headers(self, msg: dict) -> _Headers:
        headers = _Headers()
        msg_headers = msg.get("headers")
        if isinstance(msg_headers, dict):
            if HASH_HEADER in msg_headers:
                stamp = msg_headers.pop(HASH_HEADER)
                if hash_sum(msg_headers) == stamp:
                    del msg["headers"]
                    msg_headers = None
            for name, value in (msg_headers or {}).items():
                headers.update(headers.normalise(str(name)), value)
        for entry in self.ui_headers:
            name = self._header_part(entry.get("keyType"), entry.get("keyValue"), msg)
            if not name or name is UNDEFINED:
                continue
            value = self._header_part(entry.get("valueType"), entry.get("valueValue"), msg)
            headers.update(headers.normalise(js.js_string(name)), value)
        return headers

    def _header_part(self, kind: Any, value: Any, msg: dict) -> Any:
        if kind == "other":
            return value
        if kind == "msg":
            try:
                return evaluate_node_property(value, "msg", self, msg)
            except Exception:
                return UNDEFINED
        return kind

    def _timeout_ms(self, msg: dict) -> float:
        if "requestTimeout" not in msg or msg["requestTimeout"] is UNDEFINED:
            return self.default_timeout_ms
        value = msg["requestTimeout"]
        number = js.js_number(value)
        if js.is_nan(number):
            self.warn("Timeout value is not a valid number, ignoring")
        elif number < 1:
            self.warn("Timeout value is negative, ignoring")
        else:
            return number
        return self.default_timeout_ms

    def _ssl_for(self, msg: dict) -> tuple[Any, str | None]:
        if self.tls is not None:
            return getattr(self.tls, "context", True), getattr(self.tls, "servername", None) or None
        if "rejectUnauthorized" in msg:
            value = msg["rejectUnauthorized"]
            if isinstance(value, str) and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            if isinstance(value, bool):
                return (True if value else False), None
            self.warn("msg.rejectUnauthorized should be a boolean")
        return True, None

    def _body(self, method: str, msg: dict, headers: _Headers) -> Any:
        payload = msg.get("payload", UNDEFINED)
        if payload is UNDEFINED or method in ("GET", "HEAD"):
            if method == "GET" and payload is not UNDEFINED and self.paytobody:
                if isinstance(payload, (bytes, bytearray, str)):
                    return bytes(payload) if not isinstance(payload, str) else payload.encode()
                if isinstance(payload, bool):
                    return None
                if isinstance(payload, (int, float)):
                    return js.js_number_text(payload).encode()
                return js.js_json_dumps(payload).encode()
            return None
        ctype = headers.items.get("content-type")
        if ctype == "multipart/form-data" and isinstance(payload, dict):
            del headers.items["content-type"]
            return self._form_data(payload)
        if isinstance(payload, str):
            data = payload.encode()
        elif isinstance(payload, (bytes, bytearray)):
            data = bytes(payload)
        elif isinstance(payload, (int, float)) and not isinstance(payload, bool):
            data = js.js_number_text(payload).encode()
        elif ctype == FORM_URLENCODED:
            data = _querystring(payload).encode()
        else:
            data = js.js_json_dumps(payload).encode()
            if ctype is None:
                headers.items[headers.content_type_name] = "application/json"
        if headers.items.get("content-length") is None:
            headers.items[headers.content_length_name] = str(len(data))
        return data

    @staticmethod
    def _form_data(payload: dict) -> aiohttp.FormData:
        form = aiohttp.FormData(default_to_multipart=True)
        for name, value in payload.items():
            if value is None or value is UNDEFINED:
                continue
            if isinstance(value, (str, bytes, bytearray)):
                form.add_field(name, bytes(value) if not isinstance(value, str) else value)
            elif isinstance(value, dict) and "value" in value:
                options = value.get("options") if isinstance(value.get("options"), dict) else {}
                content = value["value"]
                if not isinstance(content, (str, bytes, bytearray)):
                    content = js.js_string(content)
                form.add_field(
                    name,
                    bytes(content) if isinstance(content, bytearray) else content,
                    filename=options.get("filename"),
                    content_type=options.get("contentType"),
                )
            else:
                form.add_field(name, js.js_json_dumps(value))
        return form

    def _seed_cookies(
        self, msg: dict, headers: _Headers, jar: CookieJar, target: _Target, now: float
    ) -> None:
        if "cookie" in headers.items:
            pairs = parse_cookie(js.js_string(headers.items.pop("cookie")), decode=lambda v: v)
            for name, value in pairs.items():
                jar.set(f"{name}={value}", target, now)
        cookies = msg.get("cookies")
        if not isinstance(cookies, dict):
            return
        for name, value in cookies.items():
            if value is None or (isinstance(value, dict) and value.get("value", 0) is None):
                continue  # a cookie to clear: meaningful for http response only
            if isinstance(value, dict):
                line = _serialize_cookie(
                    name, value.get("value", UNDEFINED), value.get("encode") is not False
                )
            else:
                line = _serialize_cookie(name, value, True)
            jar.set(line, target, now)

    # ----- the input handler -----------------------------------------------------------------------
    async def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        self.active += 1
        try:
            await self._handle(msg, send, done)
        finally:
            self.active -= 1

    async def _handle(self, msg: dict, send: Callable, done: Callable) -> None:
        self.status({"fill": "blue", "shape": "dot", "text": "requesting"})
        msg_url = msg.get("url")
        url: Any = self.node_url or msg_url
        if _truthy(msg_url) and self.node_url and self.node_url != msg_url:
            self.warn(NO_OVERRIDE)
        if self.templated:
            url = render_mustache(self.node_url, msg)
        if not _truthy(url):
            self.error("No url specified", msg)
            done()
            return
        url = js.js_string(url)
        if "://" in url and not url.startswith("http"):
            self.warn("non-http transport requested")
            self.status({"fill": "red", "shape": "ring", "text": "non-http transport requested"})
            done()
            return
        if not url.startswith(("http://", "https://")):
            url = ("https://" if self.tls is not None else "http://") + url
        host_path, sep, query = url.partition("?")
        if sep and query:
            url = host_path + "?" + _fix_percents(query)

        method = js.js_string(self.node_method).upper() or "GET"
        msg_method = msg.get("method")
        if _truthy(msg_method) and self.config.get("method"):
            if self.config["method"] != "use":
                self.warn(NO_OVERRIDE)
            else:
                method = js.js_string(msg_method).upper()

        timeout_ms = self._timeout_ms(msg)
        headers = self._build_headers(msg)
        follow = _truthy(msg["followRedirects"]) if "followRedirects" in msg else True

        now = time.time()
        jar = CookieJar()
        try:
            target = _Target(url)
            self._seed_cookies(msg, headers, jar, target, now)
        except ValueError as err:
            self._failed(msg, send, done, _Failure("TypeError", str(err), "ERR_INVALID_URL"), url)
            return
        except NodeError as err:
            self.status({})
            done(err)
            return
        user = self.credentials.get("user")
        password = self.credentials.get("password")
        has_credentials = bool(self.credentials)
        if target.username and not user:
            user, has_credentials = target.username, True
        if target.password and not password:
            password, has_credentials = target.password, True
        digest: tuple[str, str] | None = None
        if has_credentials:
            if self.auth_type == "basic":
                if user or password:
                    token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode()
                    headers.update("Authorization", f"Basic {token}")
            elif self.auth_type == "digest":
                digest = (js.js_string(user or ""), js.js_string(password or ""))
            elif self.auth_type == "bearer":
                headers.update("Authorization", f"Bearer {password or ''}")

        body = self._body(method, msg, headers)
        if method == "GET" and self.paytoqs and msg.get("payload", UNDEFINED) is not UNDEFINED:
            payload = msg["payload"]
            if not isinstance(payload, (dict, list)) and payload is not None:
                self.error("Invalid payload", msg)
                done()
                return
            qs = _querystring(payload)
            if "?" in url:
                url += ("" if url.endswith("?") else "&") + qs
            else:
                url += "?" + qs
            target = _Target(url)

        ssl_option, server_hostname = self._ssl_for(msg)
        proxy, proxy_auth = self._proxy_for(target.href)
        request = _Request(
            self, method, target, headers.finish(), body, jar, follow, digest, timeout_ms / 1000
        )
        request.ssl, request.server_hostname = ssl_option, server_hostname
        request.proxy, request.proxy_auth = proxy, proxy_auth
        try:
            await request.run()
        except _Failure as failure:
            self._failed(msg, send, done, failure, url)
            return
        msg["statusCode"] = request.status
        msg["headers"] = request.response_headers
        msg["responseUrl"] = request.target.href
        msg["payload"] = request.body
        msg["redirectList"] = request.redirects
        msg["retry"] = 0
        if "set-cookie" in request.response_headers:
            msg["responseCookies"] = extract_cookies(request.response_headers["set-cookie"])
        msg["headers"][HASH_HEADER] = hash_sum(msg["headers"])
        if self.ret != "bin":
            text = request.body.decode("utf-8", "replace")
            msg["payload"] = text
            if self.ret == "obj":
                if request.status == 204:
                    text = "{}"
                try:
                    msg["payload"] = js.js_json_loads(text)
                except js.JSParseError:
                    self.warn("JSON parse error")
        if self.active <= 1:
            self.status({})
        send(msg)
        done()

    def _failed(self, msg: dict, send: Callable, done: Callable, failure: _Failure, url: str) -> None:
        if failure.code == "ETIMEDOUT":
            self.error(NO_RESPONSE, msg)
            self.status({"fill": "red", "shape": "ring", "text": NO_RESPONSE})
        else:
            self.error(NodeError(str(failure), code=failure.code), msg)
            self.status({"fill": "red", "shape": "ring", "text": failure.code})
        msg["payload"] = f"{failure.name}: {failure} : {url}"
        msg["statusCode"] = failure.code
        if not self.send_errors_to_catch:
            send(msg)
        done()


class _Request:
    """One exchange with its redirects and digest retry, as got does it for Node-RED."""

    def __init__(
        self,
        node: HttpRequest,
        method: str,
        target: _Target,
        headers: list[tuple[str, str]],
        body: Any,
        jar: CookieJar,
        follow: bool,
        digest: tuple[str, str] | None,
        timeout: float,
    ) -> None:
        self.node = node
        self.method = method
        self.target = target
        self.headers = headers
        self.body_out = body
        self.jar = jar
        self.follow = follow
        self.digest = digest
        self.timeout = timeout
        self.ssl: Any = True
        self.server_hostname: str | None = None
        self.proxy: str | None = None
        self.proxy_auth: str | None = None
        self.redirects: list[dict] = []
        self.status = 0
        self.response_headers: dict[str, Any] = {}
        self.body = b""

    async def run(self) -> None:
        digest_sent = False
        while True:
            await self._once()
            if self.digest and self.status == 401 and not digest_sent:
                digest_sent = True
                challenge = self.response_headers.get("www-authenticate")
                if challenge:
                    uri = self.target.url.raw_path_qs
                    try:
                        value = digest_authorization(*self.digest, self.method, uri, challenge)
                    except ValueError as err:
                        self.node.warn(f"Digest authentication failed: {err}")
                        return
                    self._set_header("Authorization", value)
                continue
            location = self.response_headers.get("location")
            if not (self.follow and location and self.status in REDIRECT_CODES):
                return
            if len(self.redirects) >= MAX_REDIRECTS:
                raise _Failure(
                    "MaxRedirectsError",
                    f"Redirected {MAX_REDIRECTS} times. Aborting.",
                    "ERR_TOO_MANY_REDIRECTS",
                )
            self._redirect(location)

    def _set_header(self, name: str, value: str | None) -> None:
        lower = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lower]
        if value is not None:
            self.headers.append((name, value))

    def _redirect(self, location: str) -> None:
        try:
            location = location.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        try:
            new_target = _Target(urljoin(self.target.href, location))
        except ValueError as err:
            raise _Failure("RequestError", str(err), "ERR_INVALID_URL") from None
        if self.status == 303 and self.method not in ("GET", "HEAD"):
            self.method = "GET"
            self.body_out = None
            self._set_header("content-length", None)
        if not self.target.same_origin(new_target):
            self._set_header("host", None)
            self._set_header("authorization", None)
        info: dict[str, Any] = {"location": self.response_headers["location"]}
        if "set-cookie" in self.response_headers:
            info["cookies"] = extract_cookies(self.response_headers["set-cookie"])
        self.redirects.append(info)
        self.target = new_target

    async def _once(self) -> None:
        headers = [(k, v) for k, v in self.headers if k.lower() != "cookie"]
        cookie = self.jar.header(self.target, time.time())
        if cookie:
            headers.append(("cookie", cookie))
        elif any(k.lower() == "cookie" for k, _ in self.headers):
            headers = list(self.headers)
        session = self.node._session_for()
        kwargs: dict[str, Any] = {"ssl": self.ssl, "proxy": self.proxy}
        if self.proxy and self.proxy_auth:
            if self.target.url.scheme == "https":  # on the CONNECT that opens the tunnel
                kwargs["proxy_headers"] = {"Proxy-Authorization": self.proxy_auth}
            else:  # on the absolute-URI request itself
                headers.append(("Proxy-Authorization", self.proxy_auth))
        if self.server_hostname and self.target.url.scheme == "https":
            kwargs["server_hostname"] = self.server_hostname
        try:
            async with session.request(
                self.method,
                self.target.url,
                headers=headers,
                data=self.body_out,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                **kwargs,
            ) as resp:
                self.body = await resp.read()
                self.status = resp.status
                self.response_headers = _response_headers(resp.raw_headers)
        except TimeoutError:
            ms = js.js_number_text(round(self.timeout * 1000, 3))
            raise _Failure("TimeoutError", f"Timeout awaiting 'request' for {ms}ms", "ETIMEDOUT") from None
        except aiohttp.ClientConnectorCertificateError as err:
            raise _tls_failure(err.certificate_error) from None
        except aiohttp.ClientConnectorSSLError as err:
            raise _Failure("RequestError", str(err.os_error), "EPROTO") from None
        except aiohttp.ClientProxyConnectionError as err:
            raise _Failure(
                "RequestError", f"connect ECONNREFUSED {err.host}:{err.port}", "ECONNREFUSED"
            ) from None
        except aiohttp.ClientConnectorDNSError as err:
            raise _Failure("RequestError", f"getaddrinfo ENOTFOUND {err.host}", "ENOTFOUND") from None
        except aiohttp.ClientConnectorError as err:
            os_error = err.os_error
            if isinstance(os_error, ConnectionRefusedError):
                code, text = "ECONNREFUSED", f"connect ECONNREFUSED {err.host}:{err.port}"
            else:
                code, text = "ECONNRESET", str(os_error) or type(os_error).__name__
            raise _Failure("RequestError", text, code) from None
        except aiohttp.ClientHttpProxyError as err:
            # the proxy refused the CONNECT: Node-RED's agent fails with the proxy's status
            raise _Failure("RequestError", f"Bad response: {err.status}", "ERR_PROXY") from None
        except aiohttp.ServerDisconnectedError:
            raise _Failure("RequestError", "socket hang up", "ECONNRESET") from None
        except aiohttp.ClientResponseError as err:
            raise _Failure("RequestError", f"Parse Error: {err.message}", "HPE_INVALID") from None
        except (aiohttp.ClientError, ssl.SSLError, OSError) as err:
            raise _Failure("RequestError", str(err) or type(err).__name__, "ECONNRESET") from None
        now = time.time()
        for line in self.response_headers.get("set-cookie", ()):
            self.jar.set(line, self.target, now)


# OpenSSL verify codes and Node's names and texts for them.
_TLS_ERRORS = {
    10: ("CERT_HAS_EXPIRED", "certificate has expired"),
    18: ("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
    19: ("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain"),
    20: ("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "unable to get local issuer certificate"),
    21: ("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"),
}


def _tls_failure(err: Exception) -> _Failure:
    code_number = getattr(err, "verify_code", None)
    if code_number in _TLS_ERRORS:
        code, text = _TLS_ERRORS[code_number]
        return _Failure("RequestError", text, code)
    if code_number == 62:
        return _Failure(
            "RequestError",
            f"Hostname/IP does not match certificate's altnames: {getattr(err, 'verify_message', '')}",
            "ERR_TLS_CERT_ALTNAME_INVALID",
        )
    return _Failure("RequestError", getattr(err, "verify_message", None) or str(err), "EPROTO")
