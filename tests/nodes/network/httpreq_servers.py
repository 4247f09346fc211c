"""Real peers for the http request / http proxy / tls-config tests (the servers of Node-RED's
21-httprequest_spec.js, written again with aiohttp and asyncio streams).

- `make_certs(folder)`: a CA and a localhost certificate signed by it (server and client use),
  its key (plain and passphrase-encrypted) and a .pfx bundle, generated with `cryptography`.
- `TestServers`: the spec's express app on http, on https, and on https asking for a client
  certificate; all on 127.0.0.1, reached as `localhost` (and `127.0.0.1` as "another domain").
- `ForwardProxy`: a small HTTP proxy (absolute-URI requests and CONNECT tunnels), optionally asking
  for Basic proxy credentials; it records what went through it.
- `BrokenHeaderServer`: answers any request with LF-only line ends and no reason phrase.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from multidict import CIMultiDict

# ----- certificates ----------------------------------------------------------------------------


def make_certs(folder: Path, passphrase: str = "secret") -> dict[str, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowrt test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = {
        "ca": folder / "ca.crt",
        "cert": folder / "server.crt",
        "key": folder / "server.key",
        "key_encrypted": folder / "server-encrypted.key",
        "pfx": folder / "test.pfx",
        "pfx_encrypted": folder / "test-encrypted.pfx",
    }
    files["ca"].write_bytes(ca_cert.public_bytes(pem))
    files["cert"].write_bytes(cert.public_bytes(pem))
    files["key"].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files["key_encrypted"].write_bytes(
        key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    )
    files["pfx"].write_bytes(
        pkcs12.serialize_key_and_certificates(b"test", key, cert, [ca_cert], serialization.NoEncryption())
    )
    files["pfx_encrypted"].write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"test", key, cert, [ca_cert], serialization.BestAvailableEncryption(passphrase.encode())
        )
    )
    return files


# ----- the spec's test app -----------------------------------------------------------------------


def _handler(make):
    async def handler(request: web.Request) -> web.Response:
        return make(request)

    return handler


def _express_json(data, status: int = 200, headers: dict | None = None) -> web.Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    resp = web.Response(body=body, status=status, headers=headers or {})
    resp.content_type, resp.charset = "application/json", "utf-8"
    resp.headers["ETag"] = f'W/"{len(body):x}-{hashlib.sha1(body).hexdigest()[:27]}"'
    return resp


def _express_send(text: str, status: int = 200) -> web.Response:
    resp = web.Response(text=text, status=status)
    resp.content_type, resp.charset = "text/html", "utf-8"
    return resp


def _cookies(request: web.Request) -> dict[str, str]:
    """Cookies as cookie-parser with decode:String sees them: raw values."""
    out: dict[str, str] = {}
    for part in request.headers.get("Cookie", "").split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name and name not in out:
            out[name] = value.strip()
    return out


def _headers(request: web.Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _digest(algorithm: str, value: str) -> str:
    if algorithm == "SHA-256":
        return hashlib.sha256(value.encode()).hexdigest()
    if algorithm == "SHA-512-256":
        return hashlib.sha512(value.encode()).hexdigest()[:64]
    return hashlib.md5(value.encode()).hexdigest()


DIGEST_PASSWORD = "digest-test-password"


def _digest_handler(algorithm: str, sess: bool, qop: str | None):
    """A server checking RFC 7616 digest answers (the spec's handleDigestResponse)."""
    realm, nonce, nc = "node-red", "123456", "00000001"
    algorithm_value = f"{algorithm}-sess" if sess else algorithm

    async def handler(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        if not auth:
            qop_field = f'qop="{qop}", ' if qop else ""
            challenge = f'Digest {qop_field}realm="{realm}", nonce="{nonce}", algorithm="{algorithm_value}"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        fields = {
            m.group(1): m.group(2) or m.group(3)
            for m in re.finditer(r'([a-z0-9_-]+)=(?:"([^"]+)"|([a-z0-9_-]+))', auth, re.I)
        }
        if qop and fields.get("qop") != qop:
            return web.Response(status=401)
        if (
            not fields.get("username")
            or not fields.get("response")
            or fields.get("realm") != realm
            or fields.get("nonce") != nonce
            or fields.get("algorithm") != algorithm_value
        ):
            return web.Response(status=401)
        cnonce = fields.get("cnonce", "")
        ha1 = _digest(algorithm, f"{fields['username']}:{realm}:{DIGEST_PASSWORD}")
        if sess:
            ha1 = _digest(algorithm, f"{ha1}:{nonce}:{cnonce}")
        ha2 = _digest(algorithm, f"{request.method}:{request.path}")
        if qop:
            expected = _digest(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
        else:
            expected = _digest(algorithm, f"{ha1}:{nonce}:{ha2}")
        return web.Response(status=201 if expected == fields["response"].lower() else 401)

    return handler


@dataclass
class Seen:
    """One request the test servers received."""

    method: str
    path_qs: str
    headers: CIMultiDict
    body: bytes
    peer: tuple | None


class TestServers:
    """The spec's app on http://localhost:P, https://localhost:S and https (client cert) :C."""

    __test__ = False

    def __init__(self, certs: dict[str, Path]) -> None:
        self.certs = certs
        self.received_cookies: dict[str, dict] = {}
        self.requests: list[Seen] = []
        self._never = asyncio.Event()
        self._runners: list[web.AppRunner] = []
        self.port = self.ssl_port = self.client_cert_port = 0

    def url(self, path: str) -> str:
        return f"http://localhost:{self.port}{path}"

    def other_domain_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ssl_url(self, path: str) -> str:
        return f"https://localhost:{self.ssl_port}{path}"

    def client_cert_url(self, path: str) -> str:
        return f"https://localhost:{self.client_cert_port}{path}"

    def _app(self) -> web.Application:
        app = web.Application()
        r = app.router
        r.add_get("/statusCode204", _handler(lambda req: web.Response(status=204)))
        r.add_get("/text", _handler(lambda req: _express_send("hello")))
        r.add_get(
            "/redirectToText",
            _handler(lambda req: web.Response(status=302, headers={"Location": self.url("/text")})),
        )
        r.add_get("/json-valid", _handler(lambda req: _express_json({"a": 1})))
        r.add_get(
            "/json-invalid",
            _handler(lambda req: web.Response(body=b"{a:1", headers={"Content-Type": "application/json"})),
        )
        r.add_get("/headersInspect", self._headers_inspect)
        r.add_get("/timeout", self._timeout)
        r.add_get("/timeout50ms", self._timeout50)
        r.add_get("/checkCookie", _handler(lambda req: _express_json(_cookies(req))))
        r.add_get("/setCookie", self._set_cookie)
        r.add_get("/authenticate", self._authenticate)
        r.add_get("/authenticate-digest-md5", _digest_handler("MD5", False, None))
        r.add_get("/authenticate-digest-md5-sess", _digest_handler("MD5", True, "auth"))
        r.add_get("/authenticate-digest-md5-qop", _digest_handler("MD5", False, "auth"))
        r.add_get("/authenticate-digest-sha-256", _digest_handler("SHA-256", False, "auth"))
        r.add_get("/authenticate-digest-sha-512-256", _digest_handler("SHA-512-256", False, "auth"))
        r.add_get("/proxyAuthenticate", _handler(lambda req: _express_json({"headers": _headers(req)})))
        for method, path in (
            ("POST", "/postInspect"),
            ("PUT", "/putInspect"),
            ("PATCH", "/patchInspect"),
            ("TRACE", "/traceInspect"),
        ):
            r.add_route(method, path, self._inspect)
        r.add_route("DELETE", "/deleteInspect", _handler(lambda req: web.Response(status=204)))
        r.add_route("HEAD", "/headInspect", _handler(lambda req: web.Response(status=204)))
        r.add_route("OPTIONS", "/{tail:.*}", _handler(lambda req: web.Response(status=200)))
        r.add_get("/redirectToSameDomain", self._redirect("redirectToSameDomainCookie", "same1", self.url))
        r.add_get(
            "/redirectToDifferentDomain",
            self._redirect("redirectToDifferentDomain", "different1", self.other_domain_url),
        )
        r.add_get(
            "/redirectMultipleTimes",
            self._redirect("redirectMultipleTimes", "multiple1", self.url, "/redirectToDifferentDomain"),
        )
        r.add_get("/redirectReturn", self._redirect_return)
        r.add_get("/getQueryParams", self._query_params)
        r.add_get("/returnError/{code}", self._return_error)
        r.add_get("/rawHeaders", self._raw_headers)
        r.add_get("/getClientCert", self._client_cert)
        r.add_post("/file-upload", self._file_upload)
        app.middlewares.append(self._record)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler):
        body = await request.read() if request.method != "POST" or request.path != "/file-upload" else b""
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.requests.append(Seen(request.method, request.path_qs, request.headers.copy(), body, peer))
        return await handler(request)

    async def _headers_inspect(self, request):
        resp = _express_send("a")
        resp.headers["x-test-header"] = "bar"
        return resp

    async def _timeout(self, request):
        await self._never.wait()
        return _express_send("hello")

    async def _timeout50(self, request):
        await asyncio.sleep(0.05)
        return _express_send("hello")

    async def _set_cookie(self, request):
        resp = _express_send("")
        resp.headers["Set-Cookie"] = "data=hello; Path=/"
        return resp

    async def _authenticate(self, request):
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic"):
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return _express_json({"name": name, "pass": password, "user": name})
        if auth.startswith("Bearer"):
            return _express_json({"token": auth[7:]})
        return _express_send("")

    async def _inspect(self, request):
        body = (await request.read()).decode("utf-8", "replace")
        return _express_json({"body": body, "headers": _headers(request)})

    def _redirect(self, cookie: str, value: str, base, path: str = "/redirectReturn"):
        async def handler(request):
            self.received_cookies[request.host + request.path_qs] = _cookies(request)
            target = base(path)
            resp = web.Response(status=302, text=f"Found. Redirecting to {target}")
            resp.headers["Location"] = target
            resp.headers["Set-Cookie"] = f"{cookie}={value}; Path=/"
            return resp

        return handler

    async def _redirect_return(self, request):
        self.received_cookies[request.host + request.path_qs] = _cookies(request)
        resp = web.Response(status=200)
        resp.headers["Set-Cookie"] = "redirectReturn=return1; Path=/"
        return resp

    async def _query_params(self, request):
        query: dict = {}
        for name, value in parse_qsl(urlsplit(request.raw_path).query, keep_blank_values=True):
            query[name] = (
                [*query[name], value]
                if isinstance(query.get(name), list)
                else ([query[name], value] if name in query else value)
            )
        return _express_json({"query": query, "url": request.raw_path})

    async def _return_error(self, request):
        code = request.match_info["code"]
        return _express_json({"gotError": code}, status=int(code))

    async def _raw_headers(self, request):
        return _express_json(
            {"headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in request.raw_headers}}
        )

    async def _client_cert(self, request):
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        return _express_send("hello") if peer else web.Response(status=401)

    async def _file_upload(self, request):
        body: dict = {}
        files = []
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()
            if part.filename:
                files.append(
                    {
                        "fieldname": part.name,
                        "originalname": part.filename,
                        "buffer": {"type": "Buffer", "data": list(data)},
                    }
                )
            else:
                body[part.name] = data.decode()
        return _express_json({"body": body, "files": files})

    async def _serve(self, ssl_context: ssl.SSLContext | None) -> int:
        runner = web.AppRunner(self._app(), shutdown_timeout=0.1, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self._runners.append(runner)
        return site._server.sockets[0].getsockname()[1]

    async def start(self) -> TestServers:
        self.port = await self._serve(None)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(self.certs["cert"], self.certs["key"])
        self.ssl_port = await self._serve(server_ctx)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        client_ctx.load_cert_chain(self.certs["cert"], self.certs["key"])
        client_ctx.load_verify_locations(self.certs["ca"])
        client_ctx.verify_mode = ssl.CERT_OPTIONAL
        self.client_cert_port = await self._serve(client_ctx)
        return self

    async def stop(self) -> None:
        self._never.set()
        for runner in self._runners:
            await runner.cleanup()


# ----- a forward proxy ---------------------------------------------------------------------------


class ForwardProxy:
    """HTTP proxy on 127.0.0.1: absolute-URI requests are forwarded (adding x-testproxy-header to
    the reply), CONNECT opens a tunnel. With `credentials` ("user", "password") it answers 407
    unless Proxy-Authorization carries them. `seen` lists (method, target, proxy-authorization)."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.seen: list[tuple[str, str, str | None]] = []
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    async def start(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    def _authorised(self, headers: list[tuple[str, str]]) -> bool:
        if self.credentials is None:
            return True
        for name, value in headers:
            if name.lower() == "proxy-authorization" and value.startswith("Basic "):
                user, _, password = base64.b64decode(value[6:]).decode().partition(":")
                return (user, password) == self.credentials
        return False

    async def _serve(self, reader, writer) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = [tuple(s.strip() for s in line.split(":", 1)) for line in lines[1:] if ":" in line]
            auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
            self.seen.append((method, target, auth))
            if not self._authorised(headers):
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n'
                )
                await writer.drain()
                continue
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
                await self._pipe_both(reader, writer, up_reader, up_writer)
                return
            await self._forward(method, target, headers, reader, writer)
            return

    async def _forward(self, method, target, headers, reader, writer) -> None:
        parts = urlsplit(target)
        length = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
        body = await reader.readexactly(length) if length else b""
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        kept = [
            (k, v)
            for k, v in headers
            if k.lower() not in ("proxy-authorization", "proxy-connection", "connection", "keep-alive")
        ]
        request = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
        up_writer.write(request.encode("latin-1") + b"Connection: close\r\n\r\n" + body)
        await up_writer.drain()
        response_head = await up_reader.readuntil(b"\r\n\r\n")
        status_line, _, rest = response_head.partition(b"\r\n")
        writer.write(status_line + b"\r\nx-testproxy-header: foobar\r\n" + rest)
        while chunk := await up_reader.read(65536):
            writer.write(chunk)
        await writer.drain()
        up_writer.close()

    @staticmethod
    async def _pipe_both(reader, writer, up_reader, up_writer) -> None:
        async def pipe(src, dst):
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


class BrokenHeaderServer:
    """Answers every connection with `HTTP/1.0 200\\nContent-Type: text/plain\\n\\nHelloWorld`."""

    def __init__(self) -> None:
        self.port = 0
        self._server = None

    async def start(self) -> BrokenHeaderServer:
        async def answer(reader, writer):
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.0 200\nContent-Type: text/plain\n\nHelloWorld")
                await writer.drain()
            finally:
                writer.close()

        self._server = await asyncio.start_server(answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()
