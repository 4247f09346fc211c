"""`tls-config` (Node-RED's 05-tls.js): TLS options shared by http request, MQTT and WebSocket nodes.

Other nodes use `runtime.get_node(id).context`, an `ssl.SSLContext` for the client side built from:
- `certType` "files" (the default): `cert` / `key` / `ca` file paths, or, when no path is set, the
  credentials `certdata` / `keydata` / `cadata` (PEM text);
- `certType` "pfx" (5.x): the `p12` file, or credentials `p12data` (base64);
- `certType` "env" (5.x): `certEnv` / `keyEnv` / `caEnv` name environment variables holding PEM;
- credentials `passphrase` for an encrypted key or pfx; `verifyservercert` false turns off
  certificate and host name checks; `servername` (SNI, exposed as `.servername` for the client to
  pass); `alpnprotocol` (one ALPN protocol).
A `ca` replaces the system trust store, as Node's `ca` option does. A cert without a key (or a key
without a cert) is an error "No certificate/key file provided"; an unreadable file is an error naming
it. As in Node-RED the node then stays deployed with `.valid` False and a context without that
material, so the nodes using it still run (and fail their handshakes visibly).
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from typing import Any

from flowrt import Node, register_type
from flowrt.util import evaluate_node_property

_PATH = {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}]}


def _file_error(err: OSError, path: str) -> str:
    """An unreadable file as Node's fs error reads."""
    if isinstance(err, FileNotFoundError):
        return f"Error: ENOENT: no such file or directory, open '{path}'"
    if isinstance(err, PermissionError):
        return f"Error: EACCES: permission denied, open '{path}'"
    if isinstance(err, IsADirectoryError):
        return "Error: EISDIR: illegal operation on a directory, read"
    return f"Error: {err.strerror or err}, open '{path}'"


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


class TlsMaterialError(Exception):
    """Bad TLS material: the text is what the node reports."""


def _pfx_to_pem(data: bytes, passphrase: str | None) -> tuple[bytes, bytes, list[bytes]]:
    """(key, cert, extra CA certs) in PEM from a PKCS#12 bundle."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:
        raise TlsMaterialError(
            "pfx/p12 needs the 'cryptography' package (pip install cryptography)"
        ) from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase.encode() if passphrase else None)
    except ValueError as err:
        raise TlsMaterialError(f"Error: {err}") from None
    if key is None or cert is None:
        raise TlsMaterialError("pfx/p12 not specified")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return key_pem, cert_pem, [c.public_bytes(serialization.Encoding.PEM) for c in extra or []]


def _load_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes, passphrase: str | None) -> None:
    """load_cert_chain from memory: the PEM goes to a private temporary file that is removed at once."""
    with tempfile.TemporaryDirectory(prefix="flowrt-tls-") as folder:
        cert_path = os.path.join(folder, "cert.pem")
        key_path = os.path.join(folder, "key.pem")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        try:
            # a callable, so OpenSSL never prompts on the terminal for a missing passphrase
            ctx.load_cert_chain(cert_path, key_path, password=lambda: (passphrase or "").encode())
        except ssl.SSLError as err:
            if b"ENCRYPTED" in key:
                raise TlsMaterialError(
                    "Error: cannot decrypt the private key: wrong or missing passphrase"
                ) from None
            raise TlsMaterialError(
                f"Error: the certificate or key is not usable PEM ({err.reason or err})"
            ) from None


@register_type("tls-config")
class TlsConfig(Node):
    """TLS client options as an ssl.SSLContext (`.context`)."""

    schema = {
        "type": "object",
        "properties": {
            # Node-RED 4.x calls n.cert.trim() even when missing; 5.x accepts a missing path.
            "ca": {**_PATH, "x-fatal": True},
            "cert": {**_PATH, "x-fatal": True},
            "key": {**_PATH, "x-fatal": True},
            "p12": _PATH,
            "certType": {"enum": ["files", "pfx", "env", "", None]},
            "certEnv": {"type": "string"},
            "keyEnv": {"type": "string"},
            "caEnv": {"type": "string"},
            "verifyservercert": {"type": "boolean", "default": True},
            "servername": {"type": "string"},
            "alpnprotocol": {"type": "string"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        creds = cfg.get("credentials") if isinstance(cfg.get("credentials"), dict) else {}
        self.credentials = creds
        self.verifyservercert = cfg.get("verifyservercert")
        self.cert_type = cfg.get("certType") or "files"
        self.servername = (cfg.get("servername") or "").strip() or None
        self.alpnprotocol = (cfg.get("alpnprotocol") or "").strip() or None
        self.passphrase = creds.get("passphrase") or None
        self.valid = True
        self.cert: bytes | None = None
        self.key: bytes | None = None
        self.ca: bytes | None = None
        self.pfx: bytes | None = None
        try:
            self._load_material()
        except TlsMaterialError as err:
            self.valid = False
            self.cert = self.key = self.ca = self.pfx = None
            self.error(str(err))
        self.context = self._build_context()

    def _path(self, name: str) -> str:
        value = self.config.get(name)
        return value.strip() if isinstance(value, str) else ""

    def _load_material(self) -> None:
        cfg, creds = self.config, self.credentials
        cert_path, key_path, ca_path, p12_path = (self._path(n) for n in ("cert", "key", "ca", "p12"))
        if self.cert_type == "pfx" and p12_path:
            self.pfx = self._read_file(p12_path)
        elif self.cert_type == "env":
            for attr, name in (("cert", "certEnv"), ("key", "keyEnv"), ("ca", "caEnv")):
                if cfg.get(name):
                    value = evaluate_node_property(cfg[name], "env", self, None)
                    setattr(self, attr, _text(value).encode())
        elif cert_path or key_path or ca_path:
            if bool(cert_path) != bool(key_path):
                raise TlsMaterialError("No certificate/key file provided")
            self.cert = self._read_file(cert_path) if cert_path else None
            self.key = self._read_file(key_path) if key_path else None
            self.ca = self._read_file(ca_path) if ca_path else None
        else:
            cert_data, key_data = creds.get("certdata") or "", creds.get("keydata") or ""
            ca_data, p12_data = creds.get("cadata") or "", creds.get("p12data") or ""
            if bool(cert_data) != bool(key_data) and not p12_data:
                raise TlsMaterialError("No certificate/key file provided")
            self.cert = cert_data.encode() if cert_data else None
            self.key = key_data.encode() if key_data else None
            self.ca = ca_data.encode() if ca_data else None
            if p12_data:
                try:
                    self.pfx = base64.b64decode(p12_data)
                except ValueError:
                    raise TlsMaterialError("pfx/p12 not specified") from None

    @staticmethod
    def _read_file(path: str) -> bytes:
        try:
            return _read(path)
        except OSError as err:
            raise TlsMaterialError(_file_error(err, path)) from None

    def _build_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cert, key, ca = self.cert, self.key, self.ca
        if self.valid and self.cert_type not in ("files", "env"):
            cert = key = ca = None  # Node-RED uses the pfx only with certType pfx
        try:
            extra_ca: list[bytes] = []
            if self.valid and self.pfx is not None and self.cert_type == "pfx":
                key, cert, extra_ca = _pfx_to_pem(self.pfx, self.passphrase)
            if ca:
                ctx.load_verify_locations(cadata=_text(ca))
            else:
                ctx.load_default_certs()
            for extra in extra_ca:
                ctx.load_verify_locations(cadata=extra.decode())
            if cert and key:
                _load_chain(ctx, cert, key, self.passphrase)
        except (TlsMaterialError, ssl.SSLError, ValueError) as err:
            self.valid = False
            self.error(str(err) if isinstance(err, TlsMaterialError) else f"Error: {err}")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_default_certs()
        if self.verifyservercert is False:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.alpnprotocol:
            ctx.set_alpn_protocols([self.alpnprotocol])
        return ctx
