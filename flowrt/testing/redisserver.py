"""A throwaway `redis-server` for tests and benchmarks: a free loopback port, its own directory.

server = RedisServer.start_new(tmp_path)   # None when redis-server is not installed
server.url                                 # redis://127.0.0.1:<port>/0
server.stop(); server.restart()            # same port and directory
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

#: Why tests skip when there is no server binary.
MISSING = "redis-server is not installed (Debian package redis-server)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One redis-server process on 127.0.0.1 with no persistence."""

    def __init__(
        self, binary: str, directory: Path, port: int | None = None, extra_args: list[str] | None = None
    ) -> None:
        self.binary = binary
        self.extra_args = list(extra_args or [])
        self.directory = Path(directory)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @classmethod
    def start_new(cls, directory: Path) -> RedisServer | None:
        binary = redis_server_binary()
        if binary is None:
            return None
        server = cls(binary, directory)
        server.start()
        return server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        args += self.extra_args
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}: see {self.directory}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout} s")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                answer = sock.recv(64)
                return answer.startswith(b"+PONG") or answer.startswith(b"-NOAUTH")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server (as a crash would: SIGKILL, no goodbye to clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
