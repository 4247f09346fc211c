"""Record what real Node.js answers for the Buffer cases of the JS sandbox.

    python3 tests/data/js_buffer/record.py      # needs `node` on PATH; rewrites cases.json

Each case is a JavaScript expression; PROBE evaluates it and describes the result
(bytes as hex, a string or number as is, an error by name, message and code). The same
PROBE runs inside flowrt's sandbox in tests/test_jsbuffer.py, which compares with the
recorded answers and does not need Node. Cases named "big:" are large enough (>= 4096
bytes or characters) to take the sandbox's host-side path; they answer a length and a
checksum instead of the whole value.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

HERE = Path(__file__).parent

PROBE = """
function sum(v) {
  let h = 0;
  if (typeof v === 'string') { for (let i = 0; i < v.length; i++) h = (h * 31 + v.charCodeAt(i)) >>> 0; }
  else { for (let i = 0; i < v.length; i++) h = (h * 31 + v[i]) >>> 0; }
  return [v.length, h];
}
function probe(f) {
  try {
    const r = f();
    if (r instanceof Uint8Array) return {hex: Array.from(r, (x) => x.toString(16).padStart(2, '0')).join('')};
    return {value: r};
  } catch (e) {
    return {error: e.name, message: e.message, code: e.code === undefined ? null : e.code};
  }
}
"""

MIXED = "'a\\u00e9\\u20ac\\ud83d\\ude00\\ud800z\\u0000'"
CASES = [
    # fill: clamping, coercion and Node's errors
    "Buffer.alloc(6).fill(257)",
    "Buffer.alloc(6).fill(-1)",
    "Buffer.alloc(6).fill(1.9)",
    "Buffer.alloc(6).fill(true)",
    "Buffer.alloc(6).fill(null)",
    "Buffer.alloc(6).fill(undefined)",
    "Buffer.alloc(6).fill('ab')",
    "Buffer.alloc(6).fill('')",
    "Buffer.alloc(6).fill('\\u20ac')",
    "Buffer.alloc(6).fill('zz', 'hex')",
    "Buffer.alloc(6).fill('a1', 'hex')",
    "Buffer.alloc(6).fill('a1b', 'hex')",
    "Buffer.alloc(6).fill(1, -1)",
    "Buffer.alloc(6).fill(1, 2, 10)",
    "Buffer.alloc(6).fill(1, 4, 2)",
    "Buffer.alloc(6).fill(1, 7)",
    "Buffer.alloc(6).fill(1, 1.5)",
    "Buffer.alloc(6).fill(1, 'x')",
    "Buffer.alloc(6).fill(1, undefined, 4)",
    "Buffer.alloc(6).fill('a', 1, 'latin1')",
    "Buffer.alloc(6).fill('a', 1, 3, 'bogus')",
    "Buffer.alloc(6).fill(Buffer.from([1, 2]))",
    "Buffer.alloc(6).fill(Buffer.alloc(0))",
    "Buffer.alloc(6).fill(300, 0, 6, 'utf8')",
    "Buffer.alloc(7).fill('abc', 1)",
    "Buffer.alloc(4, 'ab')",
    "Buffer.alloc(4, 'zz', 'hex')",
    "Buffer.alloc(4, '')",
    "Buffer.alloc(-1)",
    "Buffer.alloc(1.5)",
    # conversions
    "Buffer.from('a1b', 'hex')",
    "Buffer.from('a1zzb2', 'hex')",
    "Buffer.from('a11zb2', 'hex')",
    "Buffer.from('A1FF', 'hex')",
    "Buffer.from('YQ', 'base64')",
    "Buffer.from('-_8', 'base64')",
    "Buffer.from('Y Q\\n==', 'base64')",
    "Buffer.from('YQ==YQ==', 'base64')",
    "Buffer.from('Y!Q*', 'base64')",
    "Buffer.from('YQ=', 'base64')",
    "Buffer.from('+/8=', 'base64url')",
    "Buffer.from('a\\u0100\\u00ff\\u20ac', 'latin1')",
    "Buffer.from('a\\u0100\\u00ff', 'ascii')",
    "Buffer.from('a\\ud800b\\udc00', 'utf8')",
    "Buffer.from('\\ud83d\\ude00')",
    "Buffer.from('a\\u00e9', 'utf16le')",
    "Buffer.from('a', 'bogus')",
    "Buffer.from([0x61, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80, 0xff, 0xc0, 0xaf, 0xe0, 0x80, 0xf4, 0x90, 0xe2]).toString()",
    "Buffer.from([0x61, 0xe1, 0xff]).toString('ascii')",
    "Buffer.from([0x61, 0xe1, 0xff]).toString('latin1')",
    "Buffer.from([0xfb, 0xff, 0xbf]).toString('base64url')",
    "Buffer.from([0xfb, 0xff]).toString('base64')",
    "Buffer.from([1, 2, 3, 4]).toString('hex', 1, 3)",
    "Buffer.from([0x61, 0, 0xe9, 0]).toString('utf16le')",
    "Buffer.from([1]).toString('bogus')",
    "Buffer.byteLength('\\u20ac\\ud83d\\ude00')",
    "Buffer.byteLength('a1b2c', 'hex')",
    "Buffer.byteLength('YQ==', 'base64')",
    "Buffer.isEncoding('UTF-8') + ',' + Buffer.isEncoding('bogus') + ',' + Buffer.isEncoding('')",
    # large values: the host-side path
    f"sum(Buffer.from({MIXED}.repeat(1000)))",
    f"sum(Buffer.from({MIXED}.repeat(1000), 'latin1'))",
    f"sum(Buffer.from(Buffer.from({MIXED}.repeat(1000)).toString('hex'), 'hex'))",
    f"sum(Buffer.from({MIXED}.repeat(1000)).toString())",
    f"sum(Buffer.from({MIXED}.repeat(1000)).toString('latin1'))",
    f"sum(Buffer.from({MIXED}.repeat(1000)).toString('ascii'))",
    f"sum(Buffer.from({MIXED}.repeat(1000)).toString('base64'))",
    f"sum(Buffer.from(Buffer.from({MIXED}.repeat(1000)).toString('base64'), 'base64'))",
    f"sum(Buffer.from(Buffer.from({MIXED}.repeat(1000)).toString('base64url'), 'base64url'))",
    "sum(Buffer.from('Y!Q*'.repeat(2000), 'base64'))",
    "sum(Buffer.from(Buffer.from([0xed, 0xa0, 0x80, 0x61, 0xf0, 0x9f, 0x98]).toString('latin1').repeat(1000), 'latin1').toString())",
    "sum(Buffer.alloc(10000).fill('\\u20acx'))",
]


def main() -> None:
    script = (
        PROBE
        + "const CASES = "
        + json.dumps(CASES)
        + ";\n"
        + ("console.log(JSON.stringify(CASES.map((c) => probe(() => eval(c)))));")
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
    answers = json.loads(out)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    table = {
        "node": version,
        "probe": PROBE,
        "cases": [{"expr": c, "expected": a} for c, a in zip(CASES, answers, strict=True)],
    }
    (HERE / "cases.json").write_text(json.dumps(table, indent=1, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
