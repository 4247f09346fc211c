"""Record what real Node.js answers for the JavaScript-semantics table.

    python3 tests/data/js_semantics/record.py      # needs `node` on PATH; rewrites table.json

The inputs are listed here; one `node -e` run evaluates String(), Number(), parseFloat,
parseInt, typeof, Boolean(), JSON.stringify, ==, ===, <, <=, >, >= and Error.toString() on
them and the answers are written to table.json next to this file, which is committed.
tests/test_js_semantics_table.py checks flowrt.lang.jsvalues against that file and does not
need Node.

Values that JSON cannot carry are tagged objects, decoded on both sides the same way:
{"$": "NaN" | "Infinity" | "-Infinity" | "-0" | "undefined"}, {"$": "buffer", "hex": "..."},
{"$": "date", "iso": "..."}, {"$": "error", "ctor": "TypeError", "message": "..."}
(message may be absent), {"$": "array", "items": [...]} (an array holding tagged values)
and {"$": "object", "entries": [[key, value], ...]} (an object holding tagged values).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

NAN = {"$": "NaN"}
INF = {"$": "Infinity"}
NINF = {"$": "-Infinity"}
NEG0 = {"$": "-0"}
UNDEF = {"$": "undefined"}


def buf(hex_text: str) -> dict:
    return {"$": "buffer", "hex": hex_text}


def arr(*items: object) -> dict:
    return {"$": "array", "items": list(items)}


def obj(*entries: tuple) -> dict:
    return {"$": "object", "entries": [list(e) for e in entries]}


def date(iso: str) -> dict:
    return {"$": "date", "iso": iso}


NUMBERS = [
    0,
    NEG0,
    1,
    -1,
    1.5,
    -1.5,
    0.1,
    0.30000000000000004,
    123.456,
    -123.456,
    100,
    1e20,
    1e21,
    1.5e21,
    123456789012345680000,
    1e100,
    -1e100,
    1.5e-7,
    1e-6,
    1e-7,
    0.000001,
    0.0000015,
    1.2345e-10,
    5e-324,
    1.7976931348623157e308,
    9007199254740992,
    9007199254740994,
    1152921504606846976,
    4.35,
    0.5,
    0.3333333333333333,
    2.5e-5,
    1234567.125,
    1e15,
    1e16,
    1e17,
    12345678901234567,
    0.1e-5,
    NAN,
    INF,
    NINF,
    42,
    -42,
    3.0,
    1e-5,
    1e-4,
]

STRINGS = [
    "",
    " ",
    " 12 ",
    "12",
    "-12",
    "+5",
    ".5",
    "5.",
    "5.e3",
    "1e3",
    "1E3",
    "1e+3",
    "1e-3",
    "1e",
    "e3",
    "0x1A",
    "0X1a",
    "-0x1A",
    "+0x1A",
    "0b1101",
    "0B11",
    "0o17",
    "0O17",
    "0b1101_1101",
    "1_000",
    "1,2",
    "1.2.3",
    "Infinity",
    "-Infinity",
    "+Infinity",
    "infinity",
    "inf",
    "NaN",
    "nan",
    "0",
    "-0",
    "00012",
    "012",
    "0.0",
    "12abc",
    "abc12",
    "  \n\t 42 \r\n",
    "\u00a042\u3000",
    "\u200b42",
    "\x1c42",
    "\x8542",
    "\ufeff42",
    "\u2028 7 \u2029",
    "\u0661\u0662",
    "\uff11\uff12",
    "12px",
    "3.14abc",
    "-.5e-2x",
    "0x",
    "0xG",
    "0x1A.5",
    "1e1000",
    "-1e1000",
    "9007199254740993",
    "123456789012345678901234567890",
    "true",
    "null",
    "undefined",
    "[object Object]",
    "1 2",
    "+-1",
    "--1",
    "0.1e-6",
    "0e0",
    ".",
    "+",
    "-",
    "e",
    "Infinityx",
    "  Infinity  ",
    "0x1f",
    "ff",
    "z",
    "Z1",
    "0.0000001",
    "1e-7",
    "-0.0",
    "1.",
    "08",
    "0b",
    "0o",
    "0o8",
    "0b2",
    "\t",
    "abc",
    "a,b",
    "\ud83d\ude00",
    "-1e-7",
    "1.5e21",
    "1e21",
    "123456789.123456789",
]

OTHERS = [
    True,
    False,
    None,
    UNDEF,
    [],
    [5],
    ["5"],
    [1, 2],
    [None],
    arr(UNDEF),
    [1, None, 2],
    arr(1, UNDEF, 2),
    [1, [2, [3, None]], 4],
    [[]],
    [[5]],
    ["a", True, 1.5e-7],
    arr(NAN, INF),
    [" 7 "],
    {},
    {"a": 1},
    [{}],
    [0.1, -0.0],
    buf(""),
    buf("3132"),
    buf("ff41"),
    buf("e282"),
    buf("f09f9880"),
    buf("eda080"),
    buf("c0af"),
    buf("20313220"),
    date("2024-01-02T03:04:05.678Z"),
    date("1970-01-01T00:00:00.000Z"),
]

RADIX_CASES = [
    ("ff", 16),
    ("0xff", 16),
    ("0xff", 10),
    ("0xff", 0),
    ("11", 2),
    ("12", 2),
    ("z", 36),
    ("Z", 36),
    ("10", 37),
    ("10", 1),
    ("10", UNDEF),
    ("10", NAN),
    ("10", "16"),
    ("-ff", 16),
    ("  -0x10", 16),
    ("777", 8),
    ("9", 8),
    ("12", 2.9),
    ("12", -1),
    ("12", 4294967312),
    ("1e3", 10),
    (15.99, 10),
    ("", 16),
    ("0x", 16),
    (1e21, 10),
    (0.0000005, 10),
]

# Each pair is two fresh values, so objects are never the same one. The Buffer has two bytes
# because CPython shares one-byte bytes objects, and Python cannot tell two equal bytes apart.
COMPARE = [
    0,
    NEG0,
    1,
    2,
    "1",
    "01",
    " 1 ",
    "1.0",
    "a",
    "b",
    "B",
    "",
    "abc",
    "10",
    "9",
    True,
    False,
    None,
    UNDEF,
    NAN,
    INF,
    [],
    [1],
    [1, 2],
    "1,2",
    {},
    "[object Object]",
    "\uffff",
    "\ud83d\ude00",
    "\u00e9",
    buf("3132"),
]

ERRORS = [
    {"ctor": "Error", "message": "big error"},
    {"ctor": "TypeError", "message": "x is not a function"},
    {"ctor": "RangeError", "message": "Maximum call stack size exceeded"},
    {"ctor": "SyntaxError", "message": "Unexpected token"},
    {"ctor": "Error", "message": ""},
    {"ctor": "Error"},
    {"ctor": "Error", "message": "m", "name": ""},
    {"ctor": "Error", "message": "", "name": ""},
    {"ctor": "Error", "message": "no such file", "name": "SystemError"},
    {"ctor": "TypeError"},
]

JSON_ONLY = [
    "str",
    "\u2028\u2029",
    "\x7f\x00\x1f",
    '"quote"',
    "back\\slash",
    "\u00e9\u4e2d",
    "\ud800",
    "tab\tnew\nline",
    obj(("a", UNDEF), ("b", arr(UNDEF, NAN, NEG0, INF)), ("c", {"d": 1e21})),
    obj(("b", 1), ("2", 2), ("1", 3), ("01", 4), ("a", 5), ("4294967295", 6), ("4294967294", 7)),
    obj(("buf", buf("0102")), ("when", date("2024-01-02T03:04:05.678Z"))),
    {"nested": {"deep": [1, {"x": [None, True]}]}, "e": []},
    [[], {}, [[]]],
]

# (pattern, flags, text, replacement): the first match of new RegExp(pattern, flags) in text
# (exec), and text.replace with the g flag added.
REGEXES = [
    (r"(?<=\$\d+\.)\d+", "", "cost $12.50", "[$&]"),
    (r"(?<=\b(?:Mr|Mrs)\.? )\w+", "", "Mrs. Smith and Mr Jones", "X"),
    (r"(?<!\d{2,})px", "", "5px 100px", "em"),
    (r"(?<year>\d{4})-(?<m>\d\d)", "", "on 2024-05 and 1999-12", "$<m>/$<year>"),
    (r"\d+", "", "\u0661\u0662\u0663 42", "#"),
    (r"\d+", "u", "\u0661\u0662\u0663 42", "#"),
    (r"^a.c$", "", "a\rc", "-"),
    (r"^a.c$", "s", "a\rc", "-"),
    (r"a.c", "", "a\u2028c abc", "-"),
    (r"abc$", "", "abc\n", "-"),
    (r"^b$", "m", "a\r\nb\rc", "-"),
    (r"^\w", "m", "ab\ncd\u2029ef", "<$&>"),
    (r"x$", "m", "ax\nbx", "Y"),
    (r"\bé", "", "café é", "E"),
    (r"\w+", "", "naïve", "W"),
    (r"\w+", "iu", "naïve \u017f", "W"),
    (r"\Bb", "", "ab b", "B"),
    (r"(a)?b\1", "", "b ab aba", "[$1]"),
    (r"\1(a)", "", "aa", "-"),
    (r"[^]", "", "\n", "-"),
    (r"a[]", "", "a", "-"),
    (r"x{,5}", "", "x{,5}", "-"),
    (r"a{2}", "", "aaa", "-"),
    (r"a{2,}", "", "aaaaa", "-"),
    (r"\cJ", "", "a\nb", "-"),
    (r"\c1", "", "\\c1", "-"),
    (r"\u{1F600}", "u", "x\U0001F600", "-"),
    (r"\ud83d\ude00", "", "x\U0001F600", "-"),
    (r"\a\/\e", "", "a/e", "-"),
    (r"\101\0", "", "A\x00", "-"),
    (r"\8", "", "8", "-"),
    (r"\k<x>(?<x>a)", "", "a", "-"),
    (r"(?<x>a)\k<x>", "", "aa", "-"),
    (r"\k", "", "k", "-"),
    (r"[\d\-x]+", "", "1-x2", "-"),
    (r"[\D]+", "", "ab1", "-"),
    (r"[\W]+", "", "ab+-1", "-"),
    (r"[\s]+", "", "\u00a0\u3000x", "-"),
    (r"[\S]+", "", "\u00a0ab\u3000", "-"),
    (r"\s", "", "\x1c\x85", "-"),
    (r"\s+", "", "a\ufeff\u2028b", "_"),
    (r"[\b]", "", "a\bb", "-"),
    (r"\p{L}+", "u", "héllo1", "-"),
    (r"\p{Lu}", "u", "abC", "-"),
    (r"\p{L}", "", "p{L}", "-"),
    (r"HELLO", "i", "say hello", "-"),
    (r"[a-z]+(?!\d)", "", "abc1", "-"),
    (r"(?:a|b)+", "", "abab", "-"),
    (r"(a)|(b)", "", "b", "[$1|$2]"),
    (r"(\w)(\w)", "", "abcd", "$2$1"),
    (r"o", "", "foo", "$`|$'"),
    (r"(o)", "", "foo", "$10 $2 $$"),
    (r"[.*+?^${}()|]", "", "a.b*c", "\\"),
    (r"]", "", "a]b", "-"),
    (r"}", "", "a}b", "-"),
    (r"\x41\x4", "", "Ax4", "-"),
    (r"[\x41-\x43]+", "", "ABCD", "-"),
    (r"\t\v\f", "", "\t\v\f", "-"),
    (r"(?:)", "", "ab", "-"),
    (r"a|", "", "b", "-"),
    (r"[-a]+", "", "-a-", "-"),
    (r"[a-]+", "", "-a-", "-"),
    (r"[\w-.]+", "", "a-b.c!", "-"),
    (r"\$\d+", "", "costs $30", "-"),
    (r"^$", "", "", "empty"),
    (r".", "g", "ab", "-"),
]

NODE_SCRIPT = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
function dec(v) {
  if (Array.isArray(v)) return v.map(dec);
  if (v === null || typeof v !== 'object') return v;
  switch (v.$) {
    case undefined: { const o = {}; for (const k of Object.keys(v)) o[k] = dec(v[k]); return o; }
    case 'NaN': return NaN;
    case 'Infinity': return Infinity;
    case '-Infinity': return -Infinity;
    case '-0': return -0;
    case 'undefined': return undefined;
    case 'buffer': return Buffer.from(v.hex, 'hex');
    case 'date': return new Date(v.iso);
    case 'array': return v.items.map(dec);
    case 'object': { const o = {}; for (const [k, x] of v.entries) o[k] = dec(x); return o; }
    case 'error': {
      const e = 'message' in v ? new globalThis[v.ctor](v.message) : new globalThis[v.ctor]();
      if ('name' in v) e.name = v.name;
      return e;
    }
  }
  throw new Error('bad tag ' + v.$);
}
function num(x) {
  if (typeof x !== 'number') return {$: 'not a number', typeof: typeof x};
  if (Number.isNaN(x)) return {$: 'NaN'};
  if (x === Infinity) return {$: 'Infinity'};
  if (x === -Infinity) return {$: '-Infinity'};
  if (Object.is(x, -0)) return {$: '-0'};
  return x;
}
function str(x) { return x === undefined ? {$: 'undefined'} : x; }
const out = {node: process.version, unary: [], radix: [], compare: [], errors: [], json: []};
for (const raw of input.unary) {
  const v = dec(raw);
  out.unary.push({input: raw, String: String(v), Number: num(Number(v)), parseFloat: num(parseFloat(v)),
    parseInt: num(parseInt(v)), typeof: typeof v, Boolean: Boolean(v),
    JSON: str(JSON.stringify(v)), JSON2: str(JSON.stringify(v, null, 2))});
}
for (const [rawValue, rawRadix] of input.radix) {
  out.radix.push({input: rawValue, radix: rawRadix, parseInt: num(parseInt(dec(rawValue), dec(rawRadix)))});
}
for (const rawA of input.compare) {
  for (const rawB of input.compare) {
    const a = dec(rawA), b = dec(rawB);
    out.compare.push({a: rawA, b: rawB, '==': a == b, '===': a === b, '<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b});
  }
}
for (const spec of input.errors) {
  const e = dec(Object.assign({$: 'error'}, spec));
  out.errors.push(Object.assign({}, spec, {String: String(e), toString: e.toString()}));
}
for (const raw of input.json) {
  const v = dec(raw);
  out.json.push({input: raw, JSON: str(JSON.stringify(v)), JSON2: str(JSON.stringify(v, null, 2))});
}
out.regex = [];
for (const [pattern, flags, text, replacement] of input.regex) {
  const m = new RegExp(pattern, flags).exec(text);
  const g = flags.includes('g') ? flags : flags + 'g';
  out.regex.push({pattern, flags, text, replacement,
    match: m === null ? null : {index: m.index, groups: Array.from(m, (x) => x === undefined ? null : x),
      named: m.groups === undefined ? null : Object.fromEntries(Object.entries(m.groups).map(([k, x]) => [k, x === undefined ? null : x]))},
    replaced: text.replace(new RegExp(pattern, g), replacement)});
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
"""


def main() -> int:
    table_input = {
        "unary": NUMBERS + STRINGS + OTHERS,
        "radix": [list(case) for case in RADIX_CASES],
        "compare": COMPARE,
        "errors": ERRORS,
        "json": JSON_ONLY,
        "regex": [list(r) for r in REGEXES],
    }
    # Dates print in the local zone: record in UTC, as the test reads them.
    env = {**os.environ, "TZ": "UTC"}
    result = subprocess.run(
        ["node", "-e", NODE_SCRIPT],
        input=json.dumps(table_input),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        return 1
    (HERE / "table.json").write_text(result.stdout, encoding="utf-8")
    table = json.loads(result.stdout)
    rows = sum(len(table[k]) for k in ("unary", "radix", "compare", "errors", "json", "regex"))
    print(f"recorded {rows} rows with Node.js {table['node']} into {HERE / 'table.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
