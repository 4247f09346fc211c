"""HTTP load for the benchmarks: `wrk` when it is installed, otherwise a built-in generator.

Both engines are driven the same way: N keep-alive connections, a fixed duration, one request
type (method, path, optional body). Both report requests/s, p50 and p99 latency and the number of
failed requests (socket errors and non-2xx answers).

The built-in generator is a lean asyncio HTTP/1.1 client (keep-alive, Content-Length or chunked
answers) running in this process; aiohttp's own client costs several times more CPU per request
and would measure itself rather than the server. Install wrk for figures comparable with the
Node-RED reference: `apt-get install wrk`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

WRK_HINT = "wrk not found; using the built-in load generator (for wrk: apt-get install wrk)"


@dataclass
class LoadResult:
    engine: str
    requests: int
    seconds: float
    req_s: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Request:
    method: str = "GET"
    path: str = "/"
    body: bytes = b""
    content_type: str = "application/json"

    def raw(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def find_wrk() -> str | None:
    return shutil.which("wrk")


def choose_engine(requested: str = "auto") -> tuple[str, str | None]:
    """Returns (engine, note): engine is "wrk" or "builtin"."""
    if requested == "builtin":
        return "builtin", None
    wrk = find_wrk()
    if requested == "wrk" and not wrk:
        raise SystemExit("--loadgen wrk: wrk is not installed (apt-get install wrk)")
    if wrk:
        return "wrk", None
    return "builtin", WRK_HINT


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# ---------------------------------------------------------------- built-in generator


class _Failed(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Reads one HTTP/1.1 response; returns (status code, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise _Failed(f"bad status line {status_line[:60]!r}")
    status = int(parts[1])
    length = None
    chunked = False
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    body = b""
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    elif length:
        body = await reader.readexactly(length)
    return status, body


async def _connection_loop(
    host: str, port: int, raw: bytes, stop_at: float, record: bool, stats: dict
) -> None:
    latencies = stats["latencies"]
    clock = time.perf_counter
    while clock() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        except OSError:
            stats["errors"] += 1
            await asyncio.sleep(0.01)
            continue
        try:
            while True:
                started = clock()
                if started >= stop_at:
                    return
                writer.write(raw)
                status, _ = await _read_response(reader)
                ended = clock()
                if record:
                    if 200 <= status < 300:
                        latencies.append(ended - started)
                    else:
                        stats["errors"] += 1
                        stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _Failed, ValueError):
            if record:
                stats["errors"] += 1
        finally:
            writer.close()


async def builtin_load(
    host: str, port: int, request: Request, connections: int, duration: float, warmup: float = 0.0
) -> LoadResult:
    raw = request.raw(host, port)
    if warmup > 0:
        scratch = {"latencies": [], "errors": 0, "statuses": {}}
        stop = time.perf_counter() + warmup
        await asyncio.gather(
            *(_connection_loop(host, port, raw, stop, False, scratch) for _ in range(connections))
        )
    stats: dict = {"latencies": [], "errors": 0, "statuses": {}}
    started = time.perf_counter()
    stop = started + duration
    await asyncio.gather(*(_connection_loop(host, port, raw, stop, True, stats) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    lat = sorted(stats["latencies"])
    notes = [f"non-2xx: {stats['statuses']}"] if stats["statuses"] else []
    return LoadResult(
        engine="builtin",
        requests=len(lat),
        seconds=round(elapsed, 3),
        req_s=round(len(lat) / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=_ms(percentile(lat, 0.50)),
        p99_ms=_ms(percentile(lat, 0.99)),
        errors=stats["errors"],
        notes=notes,
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


# ---------------------------------------------------------------- wrk

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return round(float(match.group(1)) * _UNITS[match.group(2)], 3)


def parse_wrk_output(text: str, duration: float) -> LoadResult:
    """Reads `wrk --latency` output."""
    req_s = re.search(r"Requests/sec:\s*([\d.]+)", text)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    p50 = re.search(r"^\s*50(?:\.000)?%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s*99(?:\.000)?%\s+(\S+)", text, re.M)
    if not req_s or not total:
        raise ValueError(f"unexpected wrk output:\n{text}")
    errors = 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket:
        errors += sum(int(g) for g in socket.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    seconds = _wrk_ms(total.group(2) + total.group(3)) / 1000
    return LoadResult(
        engine="wrk",
        requests=int(total.group(1)),
        seconds=round(seconds or duration, 3),
        req_s=float(req_s.group(1)),
        p50_ms=_wrk_ms(p50.group(1)) if p50 else None,
        p99_ms=_wrk_ms(p99.group(1)) if p99 else None,
        errors=errors,
    )


def _wrk_script(request: Request, directory: Path) -> Path | None:
    if request.method == "GET" and not request.body:
        return None
    body = request.body.decode().replace("\\", "\\\\").replace('"', '\\"')
    script = directory / "request.lua"
    script.write_text(
        f'wrk.method = "{request.method}"\n'
        f'wrk.body = "{body}"\n'
        f'wrk.headers["Content-Type"] = "{request.content_type}"\n'
    )
    return script


async def wrk_load(
    host: str, port: int, request: Request, connections: int, duration: float, warmup: float = 0.0
) -> LoadResult:
    wrk = find_wrk()
    if not wrk:
        raise RuntimeError(WRK_HINT)
    with tempfile.TemporaryDirectory(prefix="flowrt-wrk-") as tmp:
        script = _wrk_script(request, Path(tmp))
        url = f"http://{host}:{port}{request.path}"

        async def run(seconds: float) -> str:
            args = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
            if script:
                args += ["-s", str(script)]
            proc = await asyncio.create_subprocess_exec(
                *args, url, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            out, _ = await asyncio.wait_for(proc.communicate(), seconds + 30)
            return out.decode(errors="replace")

        if warmup > 0:
            await run(warmup)
        return parse_wrk_output(await run(duration), duration)


async def run_load(
    engine: str,
    host: str,
    port: int,
    request: Request,
    connections: int,
    duration: float,
    warmup: float = 0.0,
) -> LoadResult:
    if engine == "wrk":
        return await wrk_load(host, port, request, connections, duration, warmup)
    return await builtin_load(host, port, request, connections, duration, warmup)


class KeepAliveClient:
    """One persistent HTTP/1.1 connection for sequential requests (as an MCP client's POSTs)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, request: Request, timeout: float = 10.0) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(request.raw(self.host, self.port))
                return await asyncio.wait_for(_read_response(self.reader), timeout)
            except (OSError, asyncio.IncompleteReadError) as err:
                self.close()  # the server closed an idle connection: reconnect once
                if attempt == 2:
                    raise ConnectionError(f"{request.method} {request.path}: {err!r}") from err
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def http_once(host: str, port: int, request: Request, timeout: float = 10.0) -> tuple[int, bytes]:
    """One request on a fresh connection; returns (status, body). Used to probe a scenario."""

    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            raw = request.raw(host, port).replace(b"Connection: keep-alive", b"Connection: close")
            writer.write(raw)
            data = await reader.read()
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if b"transfer-encoding: chunked" in head.lower():
            body = _dechunk(body)
        return status, body

    return await asyncio.wait_for(go(), timeout)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out
