"""The JS sandbox's Buffer against answers recorded from real Node.js
(tests/data/js_buffer/cases.json, recorded by tests/data/js_buffer/record.py), and
10 MB conversions within a function node's time limit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from flowrt.testing import FlowTestHarness

TABLE = json.loads((Path(__file__).parents[1] / "data" / "js_buffer" / "cases.json").read_text())


async def run_js(code: str, msg: dict | None = None, **extra) -> dict:
    flow = [
        {"id": "n1", "type": "function", "func": code, "wires": [["n2"]], **extra},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive(msg or {})
        return await h.node("n2").next_input()


async def test_buffer_matches_node():
    exprs = [case["expr"] for case in TABLE["cases"]]
    code = TABLE["probe"] + f"msg.payload = {json.dumps(exprs)}.map((c) => probe(() => eval(c))); return msg;"
    out = await run_js(code)
    wrong = [
        (case["expr"], got, case["expected"])
        for case, got in zip(TABLE["cases"], out["payload"], strict=True)
        if got != case["expected"]
    ]
    assert wrong == []


TEN_MB = 10 * 1024 * 1024
REPEATS = -(-TEN_MB // 15)  # 'abcé€😀xyz' is 15 bytes of UTF-8, 10 UTF-16 code units


async def first_output_or_error(h: FlowTestHarness, node_id: str, sink_id: str) -> tuple[dict | None, object]:
    """Whichever comes first: a message at the sink or an error of the node."""
    got = asyncio.ensure_future(h.node(sink_id).next_input(timeout=60))
    failed = asyncio.ensure_future(h.node(node_id).next_error(timeout=60))
    done, pending = await asyncio.wait({got, failed}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if got in done:
        return got.result(), None
    return None, failed.result()[0]


@pytest.mark.parametrize("encoding", ["utf8", "hex", "base64", "latin1"])
async def test_ten_megabytes_both_ways_within_the_time_limit(encoding):
    # Bounded by the node's time limit: a per-byte JS path takes seconds for 10 MB (or runs
    # out of memory) and fails with an error instead of answering.
    code = f"const REPEATS = {REPEATS};" + (
        "const s = 'abc\\u00e9\\u20ac\\ud83d\\ude00xyz'.repeat(REPEATS);"
        "const b = msg.enc === 'utf8' ? Buffer.from(s) : Buffer.alloc(10 * 1024 * 1024, 'abc\\u00e9\\u20ac\\u0000');"
        "const text = b.toString(msg.enc);"
        "const back = Buffer.from(text, msg.enc);"
        "msg.payload = {length: b.length, text: text.length, same: back.equals(b), asString: text === s};"
        "return msg;"
    )
    flow = [
        {"id": "n1", "type": "function", "func": code, "timeout": 5, "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow, settings={"functionMemoryLimit": 128 * 1024 * 1024}) as h:
        h.node("n1").receive({"enc": encoding})
        out, err = await first_output_or_error(h, "n1", "n2")
    assert err is None
    p = out["payload"]
    assert p["same"] is True and p["length"] >= TEN_MB
    assert p["asString"] is (encoding == "utf8")
    n = p["length"]
    expected_text = {"utf8": 10 * REPEATS, "hex": 2 * n, "base64": 4 * -(-n // 3), "latin1": n}
    assert p["text"] == expected_text[encoding]


async def test_bytes_cross_the_boundary_both_ways():
    data = bytes(range(256)) * 4000
    out = await run_js(
        "msg.len = msg.payload.length; msg.first = msg.payload[255]; return msg;", {"payload": data}
    )
    assert out["payload"] == data and out["len"] == len(data) and out["first"] == 255


async def test_crypto_random_uuid_and_get_random_values():
    code = (
        "const a = crypto.getRandomValues(new Uint8Array(32)), b = crypto.getRandomValues(new Uint32Array(4));"
        "const errs = []; for (const bad of [new Float32Array(1), [1, 2], new Uint8Array(65537)]) {"
        "  try { crypto.getRandomValues(bad); errs.push('none'); } catch (e) { errs.push(e.name + ': ' + e.message); } }"
        "msg.payload = {u1: crypto.randomUUID(), u2: crypto.randomUUID(), a: Buffer.from(a).toString('hex'),"
        " same: crypto.getRandomValues(a) === a, b: Array.from(b), errs, big: crypto.getRandomValues(new Uint8Array(65536)).length};"
        "return msg;"
    )
    p = (await run_js(code))["payload"]
    import re

    uuid4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert uuid4.match(p["u1"]) and uuid4.match(p["u2"]) and p["u1"] != p["u2"]
    assert len(p["a"]) == 64 and p["a"] != "0" * 64 and p["same"] is True
    assert len(p["b"]) == 4 and p["big"] == 65536
    assert p["errs"] == [
        "TypeMismatchError: The data argument must be an integer-type TypedArray",
        "TypeMismatchError: The data argument must be an integer-type TypedArray",
        "QuotaExceededError: The requested length exceeds 65,536 bytes",
    ]


async def test_node_style_errors_keep_their_code_in_the_error_text():
    flow = [
        {"id": "n1", "type": "function", "func": "Buffer.alloc(2).fill(1, 5, 9);", "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
        {"id": "c1", "type": "catch", "scope": None, "uncaught": False, "wires": [["n3"]]},
        {"id": "n3", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({})
        caught = await h.node("n3").next_input()
    assert caught["error"]["message"] == (  # Node's internal errors name their code
        'RangeError [ERR_OUT_OF_RANGE]: The value of "end" is out of range. It must be >= 0 && <= 2. Received 9'
    )
    assert caught["error"]["code"] == "ERR_OUT_OF_RANGE"


async def test_url_search_params_matches_node():
    # [expression, value] pairs answered by Node 20 (tests/data/js_urlsearchparams/record.js)
    cases = json.loads((Path(__file__).parents[1] / "data" / "js_urlsearchparams" / "cases.json").read_text())
    exprs = [c for c, _ in cases]
    code = (
        f"msg.payload = {json.dumps(exprs)}.map((c) => {{ try {{ return eval(c); }} catch (e) {{ return 'ERR ' + e.name; }} }});"
        "return msg;"
    )
    out = await run_js(code)
    got = json.loads(json.dumps(out["payload"]))
    assert [[c, g] for c, g in zip(exprs, got, strict=True)] == cases
