"""What one message costs at the JS boundary, piece by piece (issue 19's profile of a function node).

A JSSandbox with a stand-in node (no runtime, no event loop): each line times one step over
many iterations and prints microseconds per step, CPU time (time.process_time), so other load on
the machine moves it little:

- encode: `sb.dumps(msg)`, the C JSON encoder;
- call: a JS function taking one string and returning 0, called from Python (the wheel's cost);
- run: `__nr_run` for `return msg;` (JSON.parse, the body, JSON.stringify in QuickJS, and the call);
- decode: `sb.loads(text)`, the C JSON scanner;
- host call: `node.warn('x')` inside the body, minus `run` (JS -> Python -> JS round trip);
- pending jobs: `execute_pending_job` with none queued (each run ends with one);
- echo: an `http in` message (an AioRequest and AioResponse over a mocked aiohttp request) through
  `msg.payload = {n: msg.payload.n + 1}; return msg;`, encode + run + decode + pending jobs.

    .venv/bin/python bench/bench_jsboundary.py [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from flowrt.js.sandbox import ESC, JSSandbox


class StandInNode:
    """What a JSSandbox calls on its node, doing nothing."""

    id = "bench"
    loop: Any = None

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, msgs: Any) -> None:
        self.sent.append(msgs)

    def js_log(self, level: str, text: str) -> None:
        pass

    def error(self, err: Any, msg: Any = None) -> None:
        raise RuntimeError(f"sandbox error: {err}")

    def warn(self, text: str) -> None:
        pass

    def call_later(self, *args: Any) -> None:
        raise RuntimeError("no timers here")

    def cancel_timer(self, handle: Any) -> None:
        pass


def sandbox(body: str) -> JSSandbox:
    sb = JSSandbox(StandInNode(), label="Function node:bench")
    sb.limit = 30.0
    sb.set_meta({"id": "bench", "name": "", "path": "bench", "outputCount": 1})
    sb.define("body", body, is_async=False)
    return sb


def per_call(fn, n: int) -> float:
    """CPU microseconds per call of fn() (the best of 3 rounds of n)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def chain_message() -> dict:
    return {"_msgid": "0123456789abcdef", "payload": 7, "hops": 3, "topic": "hop3"}


_REQUEST: Any = None


def echo_message() -> dict:
    """A new AioRequest and AioResponse (over one mocked aiohttp request, made once: mocks are slow)."""
    global _REQUEST
    from aiohttp.test_utils import make_mocked_request

    from flowrt.http.objects import AioRequest, AioResponse

    if _REQUEST is None:
        headers = {
            "Host": "127.0.0.1:1880",
            "Content-Type": "application/json",
            "Content-Length": "7",
            "User-Agent": "wrk",
        }
        _REQUEST = make_mocked_request("POST", "/echo", headers=headers)
    request = _REQUEST
    req = AioRequest(request, {})
    req.body = {"n": 1}
    res = AioResponse(request, set(), 0)
    return {"_msgid": "0123456789abcdef", "req": req, "res": {"_res": res}, "payload": {"n": 1}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    asyncio.set_event_loop(asyncio.new_event_loop())

    sb = sandbox("return msg;")
    msg = chain_message()
    text = sb.dumps(msg)
    out = sb.js_run(text, 1, False)
    noop = sb.ctx.eval("(function (s) { return 0; })")
    job = sb.ctx.execute_pending_job
    warn = sandbox("node.warn('x'); return msg;")

    rows = [
        ("encode (dumps, 4-key message)", per_call(lambda: sb.dumps(msg), n)),
        ("call (JS no-op with one string)", per_call(lambda: noop(text), n)),
        ("run (__nr_run, return msg)", per_call(lambda: sb.js_run(text, 1, False), n)),
        ("decode (loads)", per_call(lambda: sb.loads(out), n)),
        ("run with node.warn (host call)", per_call(lambda: warn.js_run(text, 1, False), n)),
        ("pending jobs, none queued", per_call(job, n)),
    ]

    echo = sandbox("msg.payload = {n: msg.payload.n + 1}; return msg;")

    def echo_once() -> None:
        m = echo_message()  # as the function node does it: msg.req / msg.res beside the text
        s, live = echo.encode_message(m)
        r = echo.js_run(s, 1, ESC in s, *live[:4])
        echo.decode_result(r, live)
        echo.drain()

    rows.append(("echo message: make (AioRequest, AioResponse)", per_call(echo_message, n // 4)))
    rows.append(("echo message: make + encode + run + decode + jobs", per_call(echo_once, n // 4)))
    m = echo_message()
    s = echo.encode_message(m)[0]
    rows.append(("echo message: encoded size (characters)", float(len(s))))
    for label, value in rows:
        print(f"{label:55} {value:8.2f}")


if __name__ == "__main__":
    main()
