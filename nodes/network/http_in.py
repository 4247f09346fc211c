"""`http in`: an HTTP endpoint that starts a flow (Node-RED's 21-httpin.js, input half).

Each request becomes a message with `req` (an `AioRequest`), `res`
(`{"_res": AioResponse}`) and `payload`: the query for GET, the parsed body
otherwise. The aiohttp handler stays alive until the flow ends the response or
the client goes away, so long-lived responses (SSE) work.

Differences from Node-RED, on purpose: a body that is not valid JSON gets a 400
naming the problem (Node-RED answers a bare 500), and a body over
`httpMaxBodySize` (default 5 MB) a 413.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from flowrt import Node, NodeConfigError, register_type
from flowrt.http.objects import AioRequest, AioResponse, parse_query
from flowrt.http.server import RoutePatternError, route_key
from flowrt.lang.jsvalues import js_string
from flowrt.util import answer_if_open, generate_id

METHODS = ("get", "post", "put", "delete", "patch")
#: Default of the `httpNodeResponseTimeout` setting (ms): a request the flow leaves unanswered
#: this long gets a 504 (Node-RED leaves it open until the client gives up).
RESPONSE_TIMEOUT_MS = 120_000


class BodyError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _too_big(limit: int) -> BodyError:
    return BodyError(413, f"Payload Too Large: the body exceeds the limit of {limit} bytes")


def _media_type(content_type: str) -> tuple[str, str, str]:
    """'application/vnd.x+json; charset=utf-8' -> ('application', 'vnd.x', 'json')."""
    media = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media.partition("/")
    suffix = ""
    if "+" in sub:
        sub, _, suffix = sub.rpartition("+")
    return main, sub, suffix


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def _decode_text(raw: bytes, content_type: str) -> str:
    charset = _charset(content_type)
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # not a codec, or not a text one (e.g. 'base64')
        raise BodyError(415, f"Unsupported Media Type: unsupported charset {charset[:40]!r}") from None


def _no_constant(name: str) -> Any:
    raise BodyError(400, f"Bad Request: invalid JSON body: {name} is not JSON")


# body-parser's JSON.parse: NaN and Infinity are no JSON (1e999 is, as Infinity). One decoder
# for all requests: json.loads with an argument would build a new one per call.
_JSON_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _parse_json(text: str) -> Any:
    try:
        return _JSON_DECODER.decode(text)
    except json.JSONDecodeError as err:
        raise BodyError(400, f"Bad Request: invalid JSON body: {err}") from None
    except RecursionError:
        raise BodyError(400, "Bad Request: invalid JSON body: nested too deeply") from None
    except ValueError as err:  # an integer beyond Python's digit limit
        raise BodyError(400, f"Bad Request: invalid JSON body: a number is too long ({err})") from None


def decode_body(raw: bytes, content_type: str) -> Any:
    """A request body as Node-RED's body parsers leave it in req.body."""
    if not content_type:
        return raw.decode("utf-8", errors="replace")
    main, sub, suffix = _media_type(content_type)
    if main == "application" and sub == "json" and not suffix:
        text = _decode_text(raw, content_type)
        if text.strip() == "":
            return {}
        value = _parse_json(text)
        if not isinstance(value, (dict, list)):
            raise BodyError(400, "Bad Request: a JSON body must be an object or an array")
        return value
    if main == "application" and sub == "x-www-form-urlencoded":
        return parse_query(_decode_text(raw, content_type))
    if main == "text" or sub == "xml" or suffix == "xml":
        return _decode_text(raw, content_type)
    if main != "application" or sub in ("octet-stream", "cbor", "x-protobuf"):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


_UNREADABLE_BODY = (HttpProcessingError, web.RequestPayloadError)


def _reason(err: Exception) -> str:
    """The text of a parser error without aiohttp's '400, message:' prefix."""
    return _one_line(getattr(err, "message", None) or str(err).split("message:", 1)[-1])


@register_type("http in")
class HttpIn(Node):
    schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "minLength": 1, "description": "path, may hold :params"},
            "method": {"enum": [*METHODS]},
            "upload": {"type": "boolean", "description": "accept multipart file uploads (msg.req.files)"},
            "skipBodyParsing": {"type": "boolean", "description": "leave the body as bytes"},
            "swaggerDoc": {"type": "string"},
        },
        "required": ["url"],
    }

    @classmethod
    def check_nodes(cls, nodes: list[dict]) -> list[tuple[int, str]]:
        """Validation: a second node on the same method and path starts, but the first answers."""
        first: dict[str, Any] = {}
        found = []
        for position, node in enumerate(nodes):
            url = node.get("url")
            if node.get("d") is True or not isinstance(url, str) or not url:
                continue
            method = node.get("method") or "get"
            key = route_key(str(method), url if url.startswith("/") else "/" + url)
            if key in first:
                found.append(
                    (
                        position,
                        f"{str(method).upper()} {url} is also handled by http in node {first[key]!r}: "
                        "the first one registered answers, this one gets no requests",
                    )
                )
            else:
                first[key] = node.get("id")
        return found

    def setup(self) -> None:
        url = self.config.get("url") or ""
        if not url:
            raise NodeConfigError("missing path")
        if not isinstance(url, str):  # Node-RED: url[0] !== "/", so "/" + url as text
            url = "/" + js_string(url)
        if not url.startswith("/"):
            url = "/" + url
        self.url = url
        self.method = (self.config.get("method") or "get").lower()
        if self.method not in METHODS:
            raise NodeConfigError(f"unsupported method {self.method!r} (use one of {', '.join(METHODS)})")
        self.upload = bool(self.config.get("upload"))
        self.skip_body = bool(self.config.get("skipBodyParsing"))
        http = self.runtime.http
        if http is None:
            raise NodeConfigError("the HTTP server is disabled: cannot create the endpoint")
        self.http = http
        self.response_timeout = _response_timeout(self.settings.get("httpNodeResponseTimeout"))
        try:
            route = http.add_route(self.method, url, self._handle, owner=self)
        except RoutePatternError as err:
            raise NodeConfigError(str(err)) from None
        if route.shadowed_by is not None:
            first = route.shadowed_by.owner
            self.warn(
                f"{self.method.upper()} {route.path} is also handled by http in node "
                f"{getattr(first, 'id', first)!r}, registered first: that node answers, this one gets no requests"
            )

    def on_close(self, removed: bool) -> None:
        self.http.remove_routes(self)

    async def _read_body(self, request: web.BaseRequest, req: AioRequest) -> Any:
        limit = self.http.max_body_size
        length = request.content_length
        if length is not None and length > limit:
            raise _too_big(limit)
        if not request.body_exists:
            return {}
        content_type = request.headers.get("Content-Type", "")
        if self.upload and content_type.lower().startswith("multipart/form-data"):
            return await self._read_multipart(request, req, limit)
        raw = bytearray()
        try:
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    break
                raw += chunk
                if len(raw) > limit:
                    raise _too_big(limit)
        except _UNREADABLE_BODY as err:  # a body aiohttp's parser refused (bad gzip, bad chunking)
            raise BodyError(400, f"Bad Request: cannot read the body: {_reason(err)}") from None
        raw = bytes(raw)
        if self.skip_body:
            return raw
        return decode_body(raw, content_type)

    async def _read_multipart(self, request: web.BaseRequest, req: AioRequest, limit: int) -> dict:
        fields: dict[str, Any] = {}
        files: list[dict] = []
        total = 0
        try:
            async for part in await request.multipart():
                total = await self._read_part(part, fields, files, total, limit)
        except _UNREADABLE_BODY as err:
            raise BodyError(400, f"Bad Request: cannot read the body: {_reason(err)}") from None
        except (ValueError, AssertionError, LookupError, RuntimeError) as err:
            raise BodyError(400, f"Bad Request: malformed multipart body: {_one_line(str(err))}") from None
        req.files = files
        return fields

    async def _read_part(self, part: Any, fields: dict, files: list, total: int, limit: int) -> int:
        """One multipart part into `fields` or `files`; returns the bytes read so far."""
        data = bytearray()
        while chunk := await part.read_chunk():
            data += chunk
            total += len(chunk)
            if total > limit:
                raise _too_big(limit)
        if part.filename is not None:
            files.append(
                {
                    "fieldname": part.name,
                    "originalname": part.filename,
                    "encoding": part.headers.get("Content-Transfer-Encoding", "7bit"),
                    "mimetype": part.headers.get("Content-Type", "application/octet-stream"),
                    "buffer": bytes(data),
                    "size": len(data),
                }
            )
        elif part.name is not None:
            fields[part.name] = data.decode(part.get_charset("utf-8"), errors="replace")
        return total

    async def _handle(self, request: web.BaseRequest, params: dict[str, str]) -> web.StreamResponse:
        if self.runtime.stopping:
            text = "Service Unavailable: the server is stopping\n"
            return web.Response(status=503, text=text, headers={"Connection": "close"})
        req = AioRequest(request, params)
        res = AioResponse(request, self.http.open_streams, self.http.stream_max_buffer)
        for name, value in self.http.cors_headers(request).items():
            res.setHeader(name, value)
        msgid = generate_id()
        if self.method == "get":
            payload = req.query
        else:
            try:
                if request.content.is_eof():  # the whole body is here: no timer to set and cancel
                    payload = await self._read_body(request, req)
                else:
                    async with asyncio.timeout(self.http.timeouts.request or None):
                        payload = await self._read_body(request, req)
            except BodyError as err:
                self.warn(f"{request.method} {request.path}: {err.text}")
                return web.Response(status=err.status, text=err.text + "\n")
            except TimeoutError:
                self.warn(
                    f"{request.method} {request.path}: the body did not arrive in time (requestTimeout)"
                )
                response = web.Response(status=408, text="Request Timeout: the body did not arrive in time\n")
                response.force_close()
                return response
            req.body = payload
        self.send({"_msgid": msgid, "req": req, "res": {"_res": res}, "payload": payload})
        self.runtime.deliver_now()  # a flow that answers at once has answered by now
        sent = res.sent_at_once()
        if sent is not None:
            return sent
        return await self._await_answer(request, res)

    async def _await_answer(self, request: web.BaseRequest, res: AioResponse) -> web.StreamResponse:
        """Wait for the flow's answer; none within the response timeout: 504."""
        runtime = self.runtime
        timer = None
        if self.response_timeout:
            timer = self.loop.call_later(self.response_timeout, self._no_answer, request, res)
        runtime.track_response(res)
        try:
            return await res.pump()
        finally:
            runtime.untrack_response(res)
            if timer is not None:
                timer.cancel()

    def _no_answer(self, request: web.BaseRequest, res: AioResponse) -> None:
        limit = f"{self.response_timeout:g} s"
        text = f"Gateway Timeout: the flow did not answer within {limit}"
        if answer_if_open(res, 504, text):
            self.warn(
                f"{request.method} {request.path}: no answer from the flow within {limit}: answered 504"
            )


def _response_timeout(value: Any) -> float:
    """httpNodeResponseTimeout (ms) in seconds; 0 or less: no limit."""
    if value is None:
        value = RESPONSE_TIMEOUT_MS
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise NodeConfigError(
            f"httpNodeResponseTimeout must be a number of milliseconds, not {value!r}"
        ) from None
    return max(0.0, ms / 1000)
