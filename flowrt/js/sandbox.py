"""A QuickJS sandbox for one JavaScript function node.

One `quickjs.Context` (its own QuickJS runtime, so its own memory and stack
limits) per node. The JS side (flowrt/js/prelude.js) reaches Python through a
single host function taking and returning strings; this module answers it and
never lets a Python exception escape into QuickJS.

Values cross as JSON (see prelude.js for the marker objects used for bytes,
dates, non-finite numbers and live objects). Live Python objects (an HTTP
request or response, or anything JSON cannot carry) are entered in the
sandbox's own capability table under a random token and appear in JS as handle
objects; only that table resolves the token, so JS code cannot reach an object
its sandbox was never given. The table holds an object while the context's JS
still references it (QuickJS's FinalizationRegistry tells us when it stops) and
until the context closes.

Runaway code: the quickjs wheel refuses Python callbacks while its own time
limit is set, so its time limit is never used. Instead a QuickJS interrupt
handler is installed on the context's runtime (through the wheel's exported
`JS_SetInterruptHandler`); it compares a per-sandbox deadline, set only while
Python is running JS for this node, with the clock. QuickJS calls it
periodically from loops and calls, so a `while(true){}` is stopped even though
host callbacks stay allowed. See docs/function-nodes.md.
"""

from __future__ import annotations

import base64
import codecs
import ctypes
import datetime as _dt
import json
import json.encoder as _json_encoder
import json.scanner as _json_scanner
import math
import re
import secrets
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import _quickjs
import quickjs

from flowrt.context import KEEP_STORED, LENT_ALREADY, Borrower
from flowrt.engine.message import EncodedMessage
from flowrt.engine.node import NodeError
from flowrt.lang.jsvalues import JSError, js_error_text

__all__ = [
    "ESC",
    "HANDLE_MARK",
    "LAYOUT_ASSUMPTION",
    "ForeignHandle",
    "JSMessage",
    "JSSandbox",
    "JSTimeout",
    "JSMemoryError",
    "SandboxError",
    "live_count",
    "loads",
    "runtime_pointer",
    "uses_await",
    "uses_node_done",
]

MARK = "\x01"
_ESC = "\\u0001"
ESC = _ESC  # a marker object's key as it appears in JSON text
BODY_BASE = 100_000
SETUP_BASE = 200_000
CLEANUP_BASE = 300_000

_PRELUDE: str | None = None


def _prelude() -> str:
    global _PRELUDE
    if _PRELUDE is None:
        _PRELUDE = resources.files("flowrt.js").joinpath("prelude.js").read_text(encoding="utf-8")
    return _PRELUDE


class SandboxError(Exception):
    """The sandbox could not be created or the code not compiled."""


class JSTimeout(NodeError):
    pass


class JSMemoryError(NodeError):
    pass


# ----------------------------------------------------------------- interrupt handler
_HANDLER_T = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_lib = ctypes.CDLL(_quickjs.__file__)
_lib.JS_GetRuntime.restype = ctypes.c_void_p
_lib.JS_GetRuntime.argtypes = [ctypes.c_void_p]
_lib.JS_SetInterruptHandler.restype = None
_lib.JS_SetInterruptHandler.argtypes = [ctypes.c_void_p, _HANDLER_T, ctypes.c_void_p]
_PTR = ctypes.sizeof(ctypes.c_void_p)


LAYOUT_ASSUMPTION = (
    "a quickjs.Context object holds, right after the Python object header, its JSRuntime* and "
    "then its JSContext* (flowrt.js.sandbox reads them with ctypes to install QuickJS's "
    "interrupt handler, which enforces the function node's timeout)"
)


def runtime_pointer(ctx: quickjs.Context) -> int:
    """The JSRuntime* of a quickjs.Context, checked against JS_GetRuntime(JSContext*).

    Reading both pointers (LAYOUT_ASSUMPTION) and asking QuickJS which runtime the context
    belongs to proves the layout before anything is installed; SandboxError if it does not hold
    (a quickjs-ng release outside the range pyproject.toml allows)."""
    base = id(ctx) + 2 * _PTR
    rt = ctypes.c_void_p.from_address(base).value
    cx = ctypes.c_void_p.from_address(base + _PTR).value
    if not rt or not cx or _lib.JS_GetRuntime(cx) != rt:
        raise SandboxError(
            f"unsupported quickjs build: cannot install an interrupt handler: not true that {LAYOUT_ASSUMPTION}"
        )
    return rt


# ----------------------------------------------------------------- live objects
# Each sandbox has its own capability table (token -> object) holding only the live
# objects that were sent into it; a token resolves only there, so JS code cannot reach
# another sandbox's objects nor one it was never given (see _hook).
_holders: dict[int, int] = {}  # id(object) -> number of sandboxes holding it

_REQ_FIELDS = (
    "method",
    "url",
    "originalUrl",
    "path",
    "baseUrl",
    "hostname",
    "protocol",
    "headers",
    "query",
    "params",
    "body",
    "cookies",
    "ip",
)
#: What JS may read of a request: its fields and, from http in with upload, multer's `files`
#: (each file's buffer a Buffer in JS); prelude.js's LiveRequest lists the same names.
_REQ_FIELD_NAMES = frozenset((*_REQ_FIELDS, "files"))


def live_count() -> int:
    """How many live objects are currently referenced from JS (for leak tests)."""
    return len(_holders)


class ForeignHandle(ValueError):
    """JS code produced a live-object handle its sandbox was never given."""

    def __init__(self) -> None:
        super().__init__("the message holds a live-object handle this node was never given")


def _has(obj: Any, name: str) -> bool:
    """hasattr without running a property: a request's lazily parsed fields stay unparsed."""
    return name in getattr(obj, "__dict__", ()) or hasattr(type(obj), name)


def _kind(obj: Any) -> str:
    if _has(obj, "setHeader") and _has(obj, "write") and _has(obj, "end"):
        return "res"
    if _has(obj, "method") and _has(obj, "headers"):
        return "req"
    return "obj"


def _kind_of(obj: Any) -> str:
    """`_kind`, or what the object's class declares as its `live_kind` (http in's objects)."""
    return getattr(type(obj), "live_kind", None) or _kind(obj)


#: Types the boundary encoder writes as JSON values or markers; anything else is live.
_ENCODED_TYPES = (str, int, float, bool, dict, list, tuple, set, frozenset, bytes, bytearray, memoryview)


_LIVE_CALLS = {"setHeader", "getHeader", "removeHeader", "writeHead", "flushHeaders", "write", "end"}


# ----------------------------------------------------------------- bytes and strings
# Bytes cross the boundary as base64 (QuickJS and Python both have native codecs for it);
# the sandbox's Buffer asks the host for the large utf8/latin1/ascii conversions.
_b64encode = base64.b64encode
_b64decode = base64.b64decode
_ASCII7 = bytes(i & 0x7F for i in range(256))
_B64_URL_TO_STD = str.maketrans("-_", "+/")
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/]+")


def _lone_surrogate_to_fffd(err: UnicodeError) -> tuple[str, int]:
    # Node's utf8 encoder writes U+FFFD for each lone surrogate
    return "\ufffd" * (err.end - err.start), err.end  # type: ignore[attr-defined]


codecs.register_error("flowrt-fffd", _lone_surrogate_to_fffd)


def buffer_encode(encoding: str, value: str) -> str:
    """A JS string to bytes, as Node's Buffer.from(value, encoding); base64 out."""
    if encoding == "utf8":  # (JS made the text well-formed; the handler is for safety)
        data = value.encode("utf-8", "flowrt-fffd")
    else:  # latin1 / ascii: the low byte of each UTF-16 code unit
        data = value.encode("utf-16-le", "surrogatepass")[::2]
    return _b64encode(data).decode("ascii")


def buffer_decode(encoding: str, b64: str) -> str:
    """Bytes (base64) to a JS string, as Node's buf.toString(encoding)."""
    data = _b64decode(b64)
    if encoding == "utf8":
        return data.decode("utf-8", "replace")
    if encoding == "ascii":
        data = data.translate(_ASCII7)
    return data.decode("latin-1")


def base64_loose(text: str) -> str:
    """Node's lenient base64 decoding (either alphabet, other characters skipped, data
    ends at the first '=') of a JS string given as JSON text; canonical base64 out."""
    value = json.loads(text).partition("=")[0]
    digits = _NOT_B64.sub("", value.translate(_B64_URL_TO_STD))
    if len(digits) % 4 == 1:
        digits = digits[:-1]
    return _b64encode(_b64decode(digits + "=" * (-len(digits) % 4))).decode("ascii")


# ----------------------------------------------------------------- decoding helpers
def _make_hook(live: dict[str, Any]) -> Callable[[dict], Any]:
    """The JSON object hook turning marker objects back into Python values; a live
    handle resolves only through `live`, the capability table of one sandbox."""

    def hook(d: dict) -> Any:
        if 0 < len(d) <= 3:
            key = next(iter(d))
            if key[:1] == MARK:
                tag = key[1:]
                value = d[key]
                if tag == "h":
                    obj = live.get(value) if type(value) is str else None
                    if obj is None:
                        raise ForeignHandle()
                    return obj
                try:  # a made-up marker with a bad value stays a plain object
                    if tag == "b":
                        return _b64decode(value, validate=True)
                    if tag == "d":
                        return _dt.datetime.fromtimestamp(value / 1000, _dt.UTC)
                    if tag == "n":
                        return float(value)
                except (ValueError, TypeError, OverflowError, OSError):
                    return d
        return d

    return hook


_scan = _json_scanner.c_make_scanner(json.JSONDecoder()) if _json_scanner.c_make_scanner else None


def _make_loads(live: dict[str, Any]) -> Callable[[str], Any]:
    scan_hook = json.JSONDecoder(object_hook=_make_hook(live)).decode

    def loads(s: str) -> Any:
        """Decode what the JS side encoded (valid JSON: the C scanner is used directly)."""
        if _ESC in s:
            return scan_hook(s)
        if _scan is not None:
            return _scan(s, 0)[0]
        return json.loads(s)

    return loads


#: Decodes JS output that holds no live handle (a handle raises ForeignHandle);
#: a sandbox's own `loads` resolves the handles it gave out.
loads = _make_loads({})


HANDLE_MARK = _ESC + 'h"'  # in encoded JSON: a live-object handle


class JSMessage(EncodedMessage):
    """A message in transit from one JS function node straight to another, still encoded.

    A function node whose only wire leads to another function node delivers the
    JSON text its code returned instead of decoding it in Python (the receiver
    would encode it again at once). Nothing in Python sees the message between
    the two nodes; whatever needs a real message (the receiver's complete and
    catch nodes, the test harness) calls `decoded()`, which decodes once.

    `text` is what the sandbox's JSON encoder produced for one message object and
    never holds a live-object handle: a handle resolves only in the sandbox that
    was given the object, so text containing `HANDLE_MARK` is decoded at once, by
    the sending sandbox, instead.
    """

    __slots__ = ("text", "_msg")

    def __init__(self, text: str) -> None:
        self.text = text
        self._msg: dict | None = None

    def decoded(self) -> dict:
        msg = self._msg
        if msg is None:
            msg = self._msg = loads(self.text)
        return msg

    def __repr__(self) -> str:
        return f"<JSMessage {self.text[:60]}>"


def _sanitize(value: Any) -> Any:
    """Replace non-finite floats (which JSON cannot carry) by marker objects."""
    if isinstance(value, float) and not math.isfinite(value):
        return {MARK + "n": repr(value).replace("inf", "Infinity").replace("nan", "NaN")}
    if type(value) is dict:
        return {k: _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


_NUMBERS = (int, float)


def _merge(old: Any, new: Any) -> None:
    """Update a Python container in place to equal `new` (keeping nested identity)."""
    if type(old) is dict and type(new) is dict:
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            o = old.get(k, _merge)
            if type(o) is type(v) and type(v) in (dict, list):
                _merge(o, v)
            elif o is not v and not (type(o) in _NUMBERS and type(v) in _NUMBERS and o == v):
                old[k] = v  # (an equal number keeps its Python type: 2.0 stays a float)
    elif type(old) is list and type(new) is list:
        for i, v in enumerate(new):
            if i < len(old):
                o = old[i]
                if type(o) is type(v) and type(v) in (dict, list):
                    _merge(o, v)
                elif o is not v and not (type(o) in _NUMBERS and type(v) in _NUMBERS and o == v):
                    old[i] = v
            else:
                old.append(v)
        del old[len(new) :]


_FRAME = re.compile(r"<input>:(\d+):(\d+)")
# QuickJS: "cannot read property 'x' of null"; V8 (Node-RED): "Cannot read properties of null (reading 'x')"
_V8_PROPERTY = re.compile(r"^cannot (read|set) property '(.*)' of (null|undefined)$", re.S)


def _v8_property_message(m: re.Match) -> str:
    verb, key, value = m.groups()
    return f"Cannot {verb} properties of {value} ({'reading' if verb == 'read' else 'setting'} '{key}')"


_NODE_REFS = re.compile(r"\bnode\b|\barguments\b|\beval\b|\\u")


class JSSandbox(Borrower):
    """The QuickJS context of one node and the Python end of its host calls.

    `node` is the flowrt Node owning the sandbox. It provides send/log/error/
    status/context/get_setting/evaluate/call_later and the hooks
    `js_result(token, msgs)`, `js_fail(token, err)`, `js_done(token, err)`.
    """

    def __init__(
        self,
        node: Any,
        *,
        label: str,
        memory_limit: int = 64 * 1024 * 1024,
        stack_size: int = 1024 * 1024,
    ) -> None:
        self.node = node
        self.label = label  # "Function node:<id> [name]" as Node-RED names its scripts
        self.memory_limit = memory_limit
        self.deadline: float | None = None
        self.limit: float = 0.0
        self.closed = False
        self._live: dict[str, Any] = {}  # token -> live object sent into this sandbox
        self._live_tokens: dict[int, str] = {}  # id(object) -> its token here
        self._next_token = 0
        self.loads = _make_loads(self._live)
        self._tracked: list[Any] = []
        self._lenders: set[Any] = set()  # contexts whose store lent us values
        self._timers: dict[int, Any] = {}
        self._ranges: list[tuple[int, int, str]] = []
        self.status_used = False
        self.throws_null = False  # set when the node's code contains `throw null`
        self.ctx = ctx = quickjs.Context()
        ctx.set_memory_limit(memory_limit)
        ctx.set_max_stack_size(stack_size)
        self._install_interrupt()
        if _json_encoder.c_make_encoder is not None:
            # The C encoder made once (json.dumps builds one per call): no circular check,
            # a cycle ends in RecursionError, which dumps() reports. ASCII output: the wheel
            # cannot pass a string holding a lone surrogate into QuickJS, an escape it can.
            c_encode = _json_encoder.c_make_encoder(
                None,
                self._default,
                _json_encoder.c_encode_basestring_ascii,
                None,
                ":",
                ",",
                False,
                False,
                False,
            )
            self._encode = lambda value: "".join(c_encode(value, 0))
        else:  # pragma: no cover - pure-Python json
            self._encode = json.JSONEncoder(
                default=self._default, allow_nan=False, separators=(",", ":")
            ).encode
        ctx.add_callable("__host", self._host)
        ctx.eval(_prelude())
        self.js_run = ctx.get("__nr_run")
        self.js_last_error = ctx.get("__nr_lastError")
        self.js_beside = ctx.get("__nr_beside")
        self.js_define = ctx.get("__nr_define")
        self.js_meta = ctx.get("__nr_meta")
        self.js_setup = ctx.get("__nr_setup")
        self.js_cleanup = ctx.get("__nr_cleanup")
        self.js_timer = ctx.get("__nr_timer")
        self.js_callback = ctx.get("__nr_callback")
        self.js_flush = ctx.get("__nr_flush")
        self.js_give_back = ctx.get("__nr_giveBack")
        self.js_forget = ctx.get("__nr_forget")
        ctx.eval(
            "for (const k of ['__nr_run','__nr_lastError','__nr_beside','__nr_define','__nr_meta','__nr_setup',"
            "'__nr_cleanup','__nr_timer','__nr_callback','__nr_flush','__nr_giveBack','__nr_forget'])"
            " delete globalThis[k];"
        )
        self._pending_job = ctx.execute_pending_job

    # ------------------------------------------------------------ limits
    def _install_interrupt(self) -> None:
        monotonic = time.monotonic

        def handler(rt: Any, opaque: Any) -> int:
            try:
                deadline = self.deadline
                return 1 if deadline is not None and monotonic() > deadline else 0
            except BaseException:  # never let anything escape into C
                return 0

        self._handler = _HANDLER_T(handler)
        self._rt = runtime_pointer(self.ctx)
        _lib.JS_SetInterruptHandler(self._rt, self._handler, None)

    def arm(self) -> None:
        """Start the clock for one synchronous run of JS code."""
        self.deadline = time.monotonic() + self.limit if self.limit > 0 else None

    # ------------------------------------------------------------ encoding
    def dumps(self, value: Any) -> str:
        try:
            return self._encode(value)
        except ValueError:  # a non-finite float: again, with markers
            return self._encode(_sanitize(value))
        except RecursionError:
            raise ValueError("the value is circular or too deeply nested") from None

    def _default(self, o: Any) -> Any:
        if isinstance(o, (bytes, bytearray, memoryview)):
            return {MARK + "b": _b64encode(o).decode("ascii")}
        if isinstance(o, _dt.datetime):
            return {MARK + "d": o.timestamp() * 1000}
        if isinstance(o, _dt.date):
            return o.isoformat()
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        if isinstance(o, (int, float)):  # bool-like and numeric subclasses
            return float(o)
        if isinstance(o, JSError):
            return {"name": o.name, "message": o.message, "stack": o.stack}
        return self._live_ref(o)

    def _live_ref(self, obj: Any) -> dict:
        """The marker for a live object, entered in this sandbox's table under a random
        token (the same token while the sandbox holds the object)."""
        # A request's fields (headers, query, cookies, ...) are not sent along: the JS object
        # reads each one from the host when the code first uses it (the "field" live operation),
        # so a message that only passes msg.req on costs no header parsing and no JSON for them
        # (issue 19: the echo flow's JS hop spent 30% of its time there).
        return {MARK + "h": self._lend(obj), "k": _kind_of(obj)}

    def _lend(self, obj: Any) -> str:
        """This sandbox's token for a live object (the same one while the sandbox holds it).

        A counter is enough: tokens resolve only in this sandbox's own table, which holds
        only objects it was given, so a forged token reaches nothing it could not reach."""
        oid = id(obj)
        token = self._live_tokens.get(oid)
        if token is None:
            self._next_token = n = self._next_token + 1
            token = str(n)
            self._live[token] = obj
            self._live_tokens[oid] = token
            _holders[oid] = _holders.get(oid, 0) + 1
        return token

    def encode_message(self, msg: dict) -> tuple[str, tuple | None]:
        """A message as JSON text for `__nr_run`, and its live msg.req / msg.res._res beside it.

        An http in message's request and response are encoded as null and handed to the run as
        (token, kind) pairs, so the text parses without a reviver; `decode_result` puts them
        back when the code returns them in place (issue 19: the echo flow's JS hop)."""
        req = msg.get("req")
        wrapper = msg.get("res")  # http in's msg.res is {"_res": response}, as Node-RED's wrapper
        res = wrapper.get("_res") if type(wrapper) is dict else None
        req_live = _is_live(req)
        res_live = _is_live(res)
        if not (req_live or res_live):
            return self.dumps(msg), None
        rest = dict(msg)
        live: list[Any] = [None, None, None, None, None, None]
        if req_live:
            rest["req"] = None
            live[0], live[1], live[4] = self._lend(req), _kind_of(req), req
        if res_live:
            rest["res"] = {**wrapper, "_res": None}
            live[2], live[3], live[5] = self._lend(res), _kind_of(res), res
        return self.dumps(rest), tuple(live)

    def decode_result(self, text: str, live: tuple | None) -> Any:
        """What `__nr_run` returned (JSON text) as Python values; after a run given `live`
        (`encode_message`), the request (bit 1 of `__nr_beside()`) and the response (bit 2)
        it kept in place were written as null: they are put back."""
        msg = self.loads(text)
        if live is not None and type(msg) is dict:
            bits = self.js_beside()
            if bits & 1:
                msg["req"] = live[4]
            wrapper = msg.get("res")
            if bits & 2 and type(wrapper) is dict:
                wrapper["_res"] = live[5]
        return msg

    def _release(self, token: str) -> None:
        obj = self._live.pop(token, None)
        if obj is None:
            return
        oid = id(obj)
        del self._live_tokens[oid]
        n = _holders.get(oid, 1) - 1
        if n > 0:
            _holders[oid] = n
        else:
            _holders.pop(oid, None)

    # ------------------------------------------------------------ compiling
    def define(self, kind: str, code: str, *, is_async: bool) -> None:
        """Compile the node's code as the body of a function (kind: body, setup, cleanup)."""
        base = {"body": BODY_BASE, "setup": SETUP_BASE, "cleanup": CLEANUP_BASE}[kind]
        params = {"body": "msg, node", "setup": "node", "cleanup": "node"}[kind]
        head = f"({'async ' if is_async else ''}function __nr_{kind}({params}) {{"
        if re.search(r"\bthrow\s+null\b", code):
            self.throws_null = True
        source = "\n" * base + head + "\n" + code + "\n})"
        # user line 1 is file line base + 2
        self._ranges.append((base + 1, base + 1 + code.count("\n") + 1, kind))
        self.arm()
        try:
            fn = self.ctx.eval(source)
        except quickjs.JSException as err:
            raise self.compile_error(str(err), kind) from None
        finally:
            self.deadline = None
        if kind == "body":
            # Code that cannot name `node` (nor reach it through `arguments`, a direct `eval`
            # or an escaped identifier) gets no node object made per message.
            self.js_define(kind, fn, _NODE_REFS.search(code) is not None)
        else:
            self.js_define(kind, fn)

    def compile_error(self, text: str, kind: str) -> NodeError:
        first, _, rest = text.partition("\n")
        where = ""
        m = _FRAME.search(rest) or _FRAME.search(first)
        if m:
            mapped = self._map(int(m.group(1)), int(m.group(2)))
            if mapped:
                where = (
                    f" ({'' if mapped[0] == 'body' else mapped[0] + ':'}line {mapped[1]}, col {mapped[2]})"
                )
        return NodeError(f"{first}{where}", stack=f"{first}{where}")

    def set_meta(self, meta: dict) -> None:
        self.js_meta(json.dumps(meta))

    # ------------------------------------------------------------ error mapping
    def _map(self, line: int, col: int) -> tuple[str, int, int] | None:
        for start, end, kind in self._ranges:
            if start < line <= end:
                return kind, line - start, col
        return None

    def _script_name(self, kind: str) -> str:
        if kind == "body":
            return self.label
        return self.label.replace("Function node", f"Function node {kind}", 1)

    def make_error(self, info: dict) -> Any:
        """A NodeError (or string) from the JS side's description of a thrown value."""
        kind = info.get("kind")
        if kind == "null" and not self.throws_null:
            # QuickJS throws null when it cannot even allocate the out-of-memory error.
            return self.engine_error(MemoryError("out of memory"))
        if kind not in ("error", None):
            return info.get("message", "")
        name = info.get("name") or "Error"
        message = info.get("message") or ""
        frames = []
        first_user = None
        for line in (info.get("stack") or "").splitlines():
            m = _FRAME.search(line)
            if not m:
                continue
            mapped = self._map(int(m.group(1)), int(m.group(2)))
            if mapped is None:
                continue  # a frame of the sandbox itself
            where = f"{self._script_name(mapped[0])}:{mapped[1]}:{mapped[2]}"
            if first_user is None:
                first_user = mapped
            line = _FRAME.sub(lambda _m, w=where: w, line)
            frames.append(re.sub(r"at __nr_(?:body|setup|cleanup) \((.*)\)$", r"at \1", line))
        if name == "ReferenceError":
            message = re.sub(r"^'([^']*)' is not defined", r"\1 is not defined", message)
            head = f"ReferenceError: {message}"
            # Node-RED puts "ReferenceError: ... (line N, col M)" in the message, so the
            # error's text (its toString) names the type twice, as Node-RED reports it.
            message = head
            if first_user is not None:
                message += f" (line {first_user[1]}, col {first_user[2]})"
        else:
            if name == "TypeError":
                message = _V8_PROPERTY.sub(_v8_property_message, message)
            head = js_error_text(info.get("name"), message)
        stack = "\n".join([head, *frames])
        # The text is the error's toString, as Node-RED's msg.error.message and log show.
        text = info.get("text")
        if not isinstance(text, str):
            text = js_error_text(info.get("name"), message)
        code = info.get("code")
        err = NodeError(text, code=code if isinstance(code, str) else None, stack=stack)
        err.thrown = JSError(name, message, stack)  # the Error object Node-RED keeps in msg.error
        return err

    def timeout_error(self) -> JSTimeout:
        """Node's vm timeout, as Node-RED reports it (an Error with this code)."""
        ms = round(self.limit * 1000)
        return JSTimeout(
            f"Error: Script execution timed out after {ms}ms", code="ERR_SCRIPT_EXECUTION_TIMEOUT"
        )

    def engine_error(self, err: Exception) -> NodeError:
        """An exception raised out of QuickJS itself: timeout, out of memory, internal."""
        text = str(err)
        first = text.split("\n", 1)[0].strip()
        if "interrupted" in first:
            return self.timeout_error()
        if first in ("null", "") or "out of memory" in first:
            try:
                self.ctx.gc()
            except Exception:
                pass
            mb = self.memory_limit / (1024 * 1024)
            return JSMemoryError(f"RangeError: out of memory (the node's limit is {mb:g} MB)")
        if isinstance(err, quickjs.StackOverflow) or "stack overflow" in first or "call stack" in first:
            return NodeError("RangeError: Maximum call stack size exceeded")
        return NodeError(first or "JavaScript engine error")

    def last_error(self) -> Any:
        try:
            return self.make_error(json.loads(self.js_last_error()))
        except Exception as err:  # pragma: no cover - defensive
            return NodeError(f"error in function node: {err}")

    # ------------------------------------------------------------ running
    def call(self, fn: Any, *args: Any) -> Any:
        """Run one JS entry point with the clock armed, then its pending jobs."""
        self.arm()
        try:
            return fn(*args)
        finally:
            self.deadline = None
            self.drain()

    def drain(self) -> None:
        """Run pending promise jobs (the microtask queue) under the node's time limit."""
        job = self._pending_job
        try:
            if self.limit > 0:  # (no limit: the deadline is already None, nothing to arm)
                self.arm()
            if not job():
                return
            ran = 1
            while True:
                if not job():
                    break
                ran += 1
                if ran & 63 == 0 and self.deadline is not None and time.monotonic() > self.deadline:
                    raise self.timeout_error()
            self.js_flush()
        except NodeError as err:
            self.node.error(err)
        except Exception as err:
            self.node.error(self.engine_error(err))
        finally:
            self.deadline = None

    # ------------------------------------------------------------ timers and callbacks
    def _schedule(self, tid: int, ms: float, repeat: bool) -> None:
        self._timers[tid] = self.node.call_later(ms / 1000.0, self._fire_timer, tid, ms, repeat)

    def _fire_timer(self, tid: int, ms: float, repeat: bool) -> None:
        if self.closed or tid not in self._timers:
            return
        if repeat:
            self._schedule(tid, max(ms, 1.0), True)
        else:
            self._timers.pop(tid, None)
        self._enter(self.js_timer, tid)

    def _fire_callback(self, cbid: int, args: list) -> None:
        if not self.closed:
            self._enter(self.js_callback, cbid, self.dumps(args))

    def run_callback(self, cbid: int, args: list) -> None:
        """Call the JS callback registered under `cbid` with `args` on a later loop turn
        (never from inside a run of this sandbox's JS)."""
        self.node.loop.call_soon(self._fire_callback, cbid, args)

    def _enter(self, fn: Any, *args: Any) -> None:
        try:
            self.call(fn, *args)
        except Exception as err:
            self.node.error(self.engine_error(err), {})

    def close(self) -> None:
        for ctx in self._lenders:
            ctx.take_back_all(self)  # while the JS side can still hand its copies back
        self._lenders.clear()
        self.closed = True
        for handle in self._timers.values():
            self.node.cancel_timer(handle)
        self._timers.clear()
        for token in list(self._live):
            self._release(token)
        self._tracked.clear()

    # ------------------------------------------------------------ the host function
    def _host(self, op: str, payload: str) -> str:
        try:
            result = self._dispatch(op, payload)
            return "" if result is None else result
        except BaseException as err:  # never raise into QuickJS
            try:
                message = str(err) if str(err) else type(err).__name__
                return "!" + json.dumps({"message": message})
            except BaseException:
                return '!{"message":"host error"}'

    def _dispatch(self, op: str, payload: str) -> str | None:
        method = self._HOST_OPS.get(op)
        if method is not None:
            return method(self, payload)
        name, colon, encoding = op.partition(":")  # "benc:<encoding>" and the like
        codec = self._HOST_CODECS.get(name) if colon else None
        if codec is None:
            raise ValueError(f"unknown host operation {op!r}")
        return "=" + codec(encoding, payload)

    # ----- host operations: what prelude.js's __host(op, payload) asks of Python
    def _host_send(self, payload: str) -> None:
        self.node.send(self.loads(payload))

    def _host_context_get(self, payload: str) -> str:
        """ "<scope>\n<key>": get from the default store, lent to JS when the store can."""
        scope, _, key = payload.partition("\n")
        ctx = self._scope_context(scope)
        lent, value = ctx.borrow(key, self, payload)
        if lent:  # JS keeps working on its own copy until the store takes it back
            if value is LENT_ALREADY:
                return "="
            self._lenders.add(ctx)
            return "L\n" + self.dumps(value)
        return self._copy_for_js(value)

    def _host_context(self, payload: str) -> str | None:
        return self._context_op(*self.loads(payload))

    def _host_sync(self, payload: str) -> None:
        if payload:
            tracked = self._tracked
            for token, value in self.loads(payload):
                _merge(tracked[token], value)
        self._tracked.clear()

    def _host_timer(self, payload: str) -> None:
        tid, ms, rep = payload.split(",")
        self._schedule(int(tid), float(ms), rep == "1")

    def _host_clear_timer(self, payload: str) -> None:
        handle = self._timers.pop(int(payload), None)
        if handle is not None:
            self.node.cancel_timer(handle)

    def _host_log(self, payload: str) -> None:
        level, text = self.loads(payload)
        self.node.js_log(level, text)

    def _host_error(self, payload: str) -> None:
        info, msg = self.loads(payload)
        self.node.error(self.make_error(info), msg)

    def _host_status(self, payload: str) -> None:
        self.status_used = True
        self.node.status(self.loads(payload))

    def _host_live(self, payload: str) -> str | None:
        return self._live_op(*self.loads(payload))

    def _host_release(self, payload: str) -> None:
        self._release(payload)

    def _host_base64_loose(self, payload: str) -> str:
        return "=" + base64_loose(payload)

    def _host_random(self, payload: str) -> str:
        return "=" + _b64encode(secrets.token_bytes(int(payload))).decode("ascii")

    def _host_link_call(self, payload: str) -> None:
        self.node.js_linkcall(*self.loads(payload))

    def _host_env(self, payload: str) -> str:
        return self.dumps(self.node.get_setting(self.loads(payload)))

    def _host_evaluate_property(self, payload: str) -> str:
        value, type_, msg = self.loads(payload)
        return self.dumps(self.node.evaluate(value, type_, msg))

    def _host_result(self, payload: str) -> None:
        try:
            token, msgs = self.loads(payload)
        except ForeignHandle as err:
            self.node.js_fail(json.loads(payload)[0], NodeError(str(err)))
            return
        self.node.js_result(token, msgs)

    def _host_fail(self, payload: str) -> None:
        token, info = self.loads(payload)
        self.node.js_fail(token, self.make_error(info))

    def _host_done(self, payload: str) -> None:
        token, info = self.loads(payload)
        self.node.js_done(token, None if info is None else self.make_error(info))

    _HOST_OPS: dict[str, Callable[[JSSandbox, str], str | None]] = {
        "send": _host_send,
        "cget": _host_context_get,
        "ctx": _host_context,
        "sync": _host_sync,
        "timer": _host_timer,
        "cleartimer": _host_clear_timer,
        "log": _host_log,
        "error": _host_error,
        "status": _host_status,
        "live": _host_live,
        "release": _host_release,
        "b64loose": _host_base64_loose,
        "rand": _host_random,
        "linkcall": _host_link_call,
        "env": _host_env,
        "evalprop": _host_evaluate_property,
        "result": _host_result,
        "fail": _host_fail,
        "done": _host_done,
    }
    # "<name>:<encoding>" operations: Buffer encode (text, or JSON of byte values) and decode
    _HOST_CODECS: dict[str, Callable[[str, str], str]] = {
        "benc": buffer_encode,
        "bencj": lambda encoding, payload: buffer_encode(encoding, json.loads(payload)),
        "bdec": buffer_decode,
    }

    def _scope_context(self, scope: str) -> Any:
        ctx = self.node.context()
        if scope == "flow":
            return ctx.flow
        if scope == "global":
            return ctx.global_
        return ctx

    def _context_op(self, scope: str, method: str, args: list) -> str | None:
        ctx = self._scope_context(scope)
        if method == "get":
            key, store = args[0], args[1] if len(args) > 1 else None
            value = ctx.peek(key, store)
            if not isinstance(key, list):
                return self._copy_for_js(value)
            tracked = self._tracked
            tokens = []  # several keys: [values, tokens], a token per value (None: not an object)
            for v in value:
                if type(v) in (dict, list):
                    tokens.append(len(tracked))
                    tracked.append(v)
                else:
                    tokens.append(None)
            return self.dumps([value, tokens])
        if method == "set":
            key, value, store = (args + [None, None, None])[:3]
            ctx.set_copy(key, value, store)
            return None
        if method == "keys":
            return self.dumps(ctx.keys(args[0] if args else None))
        if method == "rfu":  # update(): read the value and a compare-and-set token
            return self.dumps(list(ctx.read_for_update(args[0], args[1] if len(args) > 1 else None)))
        if method == "wiu":  # update(): write unless changed since "rfu"
            key, value, token, store = (args + [None, None, None, None])[:4]
            return self.dumps(ctx.write_if_unchanged(key, value, token, store))
        raise ValueError(f"unknown context method {method!r}")

    def _copy_for_js(self, value: Any) -> str:
        """ "<token>\n<JSON>": JS keeps the JSON text as the value's snapshot and writes
        changes back at the end of the run ("null" for a value that is not an object)."""
        if type(value) in (dict, list):
            tracked = self._tracked
            tracked.append(value)
            return f"{len(tracked) - 1}\n{self.dumps(value)}"
        return "null\n" + self.dumps(value)

    def give_back(self, token: Any) -> Any:
        """The store takes back a lent value: JS hands over its copy (and keeps
        tracking that object for the rest of the current run, if one is going on)."""
        try:
            text = self.js_give_back(token, len(self._tracked))
        except Exception as err:
            text = "!" + (str(err) or type(err).__name__)
        if text[:1] == "!":
            scope, _, key = token.partition("\n")
            self.node.warn(f"could not hand back {scope} context value '{key}': {text[1:]}")
            return KEEP_STORED
        value = self.loads(text)
        self._tracked.append(value)
        return value

    def loan_ended(self, token: Any) -> None:
        """The store voided a loan (the key was replaced or dropped): JS forgets its copy, so its
        next read asks the store again."""
        if not self.closed:
            try:
                self.js_forget(token)
            except Exception:  # pragma: no cover - the context is going away
                pass

    def _live_op(self, token: str, method: str, args: list) -> str | None:
        obj = self._live.get(token)
        if obj is None:
            raise RuntimeError("this object is no longer available")
        if method == "field":  # a request's field, read when JS first uses it ("": undefined)
            name = args[0]
            if name not in _REQ_FIELD_NAMES or not hasattr(obj, name):
                return ""
            value = getattr(obj, name)
            return "" if value is None and name == "files" else self.dumps(value)
        if method in _LIVE_CALLS:
            return self.dumps(getattr(obj, method)(*args))
        if method == "statusCode":
            return self.dumps(obj.statusCode)
        if method == "setStatusCode":
            obj.statusCode = int(args[0])
            return None
        if method in ("headersSent", "finished"):
            return self.dumps(bool(getattr(obj, method)))
        if method == "on":
            event, cbid = args
            loop = self.node.loop

            def fire(*cb_args: Any, _cbid: int = cbid) -> None:
                loop.call_soon(self._fire_callback, _cbid, [a for a in cb_args if _plain(a)])

            obj.on(str(event), fire)
            return None
        raise ValueError(f"unsupported operation {method!r}")


def _is_live(value: Any) -> bool:
    """Would the encoder write `value` as a live-object handle?"""
    return (
        value is not None
        and not isinstance(value, _ENCODED_TYPES)
        and not isinstance(value, (_dt.date, JSError))
    )


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def uses_node_done(code: str) -> bool:
    """Does the code call node.done() itself (comments and strings aside)?"""
    stripped = re.sub(r"/\*.*?\*/|//[^\n]*", "", code, flags=re.S)
    return re.search(r"\bnode\s*\.\s*done\s*\(", stripped) is not None


def uses_await(code: str) -> bool:
    stripped = re.sub(r"/\*.*?\*/|//[^\n]*", "", code, flags=re.S)
    return re.search(r"\bawait\b", stripped) is not None
