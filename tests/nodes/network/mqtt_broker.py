"""Real MQTT brokers for the tests: mosquitto (Debian package) and the pure-Python amqtt.

Each broker runs as a child process on free ports of 127.0.0.1 with a config file written
here. mosquitto gets three listeners: anonymous, user/password (a password file made with
mosquitto_passwd), and TLS (a self-signed certificate made with `cryptography`). amqtt
(MQTT 3.1.1 only) gets the anonymous listener.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flowrt.testing import free_port

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
USER, PASSWORD = "flowrt", "s3cret"


def amqtt_available() -> bool:
    try:
        import amqtt  # noqa: F401
    except ImportError:
        return False
    return True


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost: (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    """Wait until something accepts on 127.0.0.1:port (the broker is up), or fail clearly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s")


class Broker:
    """A broker child process; `stop()` and `start()` again keep its ports (restart tests)."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.dir = directory
        self.host = "127.0.0.1"
        self.port = free_port()
        self.auth_port: int | None = None
        self.tls_port: int | None = None
        self.cert: Path | None = None
        self.v5 = kind == "mosquitto"
        self.proc: subprocess.Popen | None = None
        self._log = None
        if kind == "mosquitto":
            self._write_mosquitto()
        else:
            self._write_amqtt()

    def _write_mosquitto(self) -> None:
        self.auth_port = free_port()
        self.tls_port = free_port()
        self.cert, key = make_certificate(self.dir)
        passwords = self.dir / "passwords"
        lines = [
            "per_listener_settings true",
            "persistence false",
            "user root",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
        ]
        if MOSQUITTO_PASSWD:
            subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(passwords), USER, PASSWORD], check=True)
            lines += [
                f"listener {self.auth_port} 127.0.0.1",
                "allow_anonymous false",
                f"password_file {passwords}",
            ]
        else:
            self.auth_port = None
        lines += [
            f"listener {self.tls_port} 127.0.0.1",
            "allow_anonymous true",
            f"certfile {self.cert}",
            f"keyfile {key}",
        ]
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.command = [MOSQUITTO, "-c", str(self.config)]

    def _write_amqtt(self) -> None:
        self.config = self.dir / "amqtt.yaml"
        self.config.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        script = Path(sys.executable).with_name("amqtt")
        self.command = [str(script) if script.exists() else "amqtt", "-c", str(self.config)]

    def start(self) -> Broker:
        self._log = open(self.dir / f"{self.kind}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, self.kind)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        path = self.dir / f"{self.kind}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def skip_reason(kind: str) -> str | None:
    if kind == "mosquitto" and MOSQUITTO is None:
        return "mosquitto is not installed (apt-get install mosquitto)"
    if kind == "amqtt" and not amqtt_available():
        return "amqtt is not installed (pip install -e '.[test]')"
    return None
