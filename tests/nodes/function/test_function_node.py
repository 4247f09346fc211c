"""The JavaScript `function` node, behaviour ported from Node-RED's 10-function_spec.js
plus the live HTTP response bridge and the per-node limits."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from flowrt.js.sandbox import live_count
from flowrt.testing import FlowTestHarness


def fn(func: str, wires=None, **extra) -> dict:
    node = {"id": "n1", "type": "function", "func": func, "wires": wires if wires is not None else [["n2"]]}
    node.update(extra)
    return node


SINK = {"id": "n2", "type": "helper"}
SINK3 = {"id": "n3", "type": "helper"}


async def one(func: str, msg: dict, **extra) -> dict:
    async with FlowTestHarness([fn(func, **extra), SINK]) as h:
        h.node("n1").receive(msg)
        return await h.node("n2").next_input()


# ----------------------------------------------------------------- returning and sending
async def test_returned_message_is_sent():
    out = await one("msg.payload = msg.payload + '!'; return msg;", {"payload": "foo", "topic": "bar"})
    assert out["payload"] == "foo!" and out["topic"] == "bar"


async def test_node_send_and_msgid_kept():
    async with FlowTestHarness([fn("node.send(msg);"), SINK]) as h:
        h.node("n1").receive({"payload": "foo", "_msgid": "abc"})
        out = await h.node("n2").next_input()
        assert out == {"payload": "foo", "_msgid": "abc"}


async def test_send_clones_by_default_and_not_with_false():
    # node.send(msg) sends a copy: changing msg afterwards does not touch the sent one.
    out = await one("node.send(msg); msg.payload = 'changed';", {"payload": "orig"})
    assert out["payload"] == "orig"
    out = await one("node.send(msg, false); return null;", {"payload": "orig"})
    assert out["payload"] == "orig"


async def test_multiple_outputs_and_arrays():
    flow = [
        fn(
            "return [{payload: 1}, [{payload: 'a'}, {payload: 'b'}], null];",
            wires=[["n2"], ["n3"], ["n4"]],
            outputs=3,
        ),
        SINK,
        SINK3,
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": 0, "_msgid": "m1"})
        assert (await h.node("n2").next_input())["payload"] == 1
        got = await h.node("n3").inputs(2)
        assert [m["payload"] for m in got] == ["a", "b"]
        assert all(m["_msgid"] == "m1" for m in got)
        assert h.node("n4").received == []


async def test_return_null_discards():
    code = "if (msg.payload === 'drop') { return null; } return msg;"
    async with FlowTestHarness([fn(code), SINK]) as h:
        h.node("n1").receive({"payload": "drop"})
        h.node("n1").receive({"payload": "keep"})
        assert (await h.node("n2").next_input())["payload"] == "keep"


async def test_non_message_types_are_dropped_and_logged():
    async with FlowTestHarness([fn("return 'a string';"), SINK]) as h:
        h.node("n1").receive({"payload": 1})
        record = await h.node("n1").next_log("error")
        assert record.text == "Function tried to send a message of type string"


async def test_async_await_and_returned_promise():
    out = await one(
        "const v = await new Promise(r => setTimeout(() => r(5), 5)); msg.payload = v; return msg;",
        {"payload": 0},
    )
    assert out["payload"] == 5
    out = await one("return Promise.resolve(msg).then(m => { m.payload = 'p'; return m; });", {})
    assert out["payload"] == "p"


async def test_node_properties():
    out = await one(
        "msg.id = node.id; msg.name = node.name; msg.count = node.outputCount; msg.path = node.path; return msg;",
        {},
        name="fred",
        outputs=1,
    )
    assert out["id"] == "n1" and out["name"] == "fred" and out["count"] == 1
    assert out["path"].endswith("/n1")


async def test_node_done_with_error_reaches_error_handler():
    async with FlowTestHarness([fn("node.done('bad thing');"), SINK]) as h:
        h.node("n1").receive({"payload": 1})
        err, msg = await h.node("n1").next_error()
        assert str(err) == "bad thing" and msg["payload"] == 1


async def test_node_log_levels():
    code = "node.warn('w'); node.log('i'); node.error('e'); console.log('c', {a: 1}); return null;"
    async with FlowTestHarness([fn(code), SINK], settings={"logLevel": "trace"}) as h:
        h.node("n1").receive({})
        assert (await h.node("n1").next_log("warn")).text == "w"
        assert (await h.node("n1").next_log("info")).text == "i"
        assert (await h.node("n1").next_log("error")).text == "e"
        assert (await h.node("n1").next_log("info")).text == 'c {"a":1}'


async def test_node_warn_of_an_error_logs_its_text_as_node_red():
    code = "node.warn(new Error('wx')); node.log(new TypeError('tx')); return null;"
    async with FlowTestHarness([fn(code), SINK]) as h:
        h.node("n1").receive({})
        assert (await h.node("n1").next_log("warn")).text == "Error: wx"  # recorded from Node-RED 5.0.4
        assert (await h.node("n1").next_log("info")).text == "TypeError: tx"


# ----------------------------------------------------------------- values across the boundary
async def test_types_survive_the_boundary():
    code = (
        "msg.types = [typeof msg.i, Number.isInteger(msg.i), typeof msg.f, msg.n === null,"
        " Buffer.isBuffer(msg.b), msg.d instanceof Date];"
        "msg.i2 = msg.i * 2; msg.f2 = msg.f * 2; msg.u = undefined; msg.nested = {x: [1, {y: null}]};"
        "msg.when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5)); return msg;"
    )
    when = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    out = await one(code, {"i": 21, "f": 1.5, "n": None, "b": b"\x00\xff", "d": when})
    assert out["types"] == ["number", True, "number", True, True, True]
    assert out["i2"] == 42 and type(out["i2"]) is int
    assert out["f2"] == 3.0 and out["f"] == 1.5
    assert "u" not in out
    assert out["nested"] == {"x": [1, {"y": None}]}
    assert out["b"] == b"\x00\xff" and out["d"] == when
    assert out["when"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


async def test_buffer_api():
    code = (
        "const b = Buffer.from('héllo');"
        "msg.len = b.length; msg.bl = Buffer.byteLength('héllo'); msg.hex = Buffer.from('AB').toString('hex');"
        "msg.b64 = Buffer.from('hello').toString('base64'); msg.back = Buffer.from('aGVsbG8=', 'base64').toString();"
        "msg.cat = Buffer.concat([Buffer.from('ab'), Buffer.alloc(2, 0x41)]); msg.first = msg.payload[0];"
        "msg.str = b.toString('utf8'); msg.isBuf = Buffer.isBuffer(msg.cat); msg.hexIn = msg.payload.toString('hex');"
        "msg.json = JSON.stringify(Buffer.from([1, 2])); return msg;"
    )
    out = await one(code, {"payload": b"\x07\x08"})
    assert out["len"] == 6 and out["bl"] == 6
    assert out["hex"] == "4142" and out["b64"] == "aGVsbG8=" and out["back"] == "hello"
    assert out["cat"] == b"abAA" and out["first"] == 7 and out["str"] == "héllo"
    assert out["isBuf"] is True and out["hexIn"] == "0708"
    assert out["json"] == '{"type":"Buffer","data":[1,2]}'


async def test_red_util():
    code = (
        "const c = RED.util.cloneMessage(msg); c.payload.a = 2;"
        "msg.got = RED.util.getMessageProperty(msg, 'msg.payload.a');"
        "RED.util.setMessageProperty(msg, 'deep.er[0].x', 5);"
        "msg.id = RED.util.generateId(); msg.num = RED.util.evaluateNodeProperty('42', 'num', node, msg);"
        "return msg;"
    )
    out = await one(code, {"payload": {"a": 1}})
    assert out["payload"] == {"a": 1} and out["got"] == 1
    assert out["deep"] == {"er": [{"x": 5}]}
    assert len(out["id"]) == 16 and out["num"] == 42


async def test_env_get(monkeypatch):
    monkeypatch.setenv("FLOWRT_TEST_ENV", "bar")
    out = await one("msg.e = env.get('FLOWRT_TEST_ENV'); msg.id = env.get('NR_NODE_ID'); return msg;", {})
    assert out["e"] == "bar" and out["id"] == "n1"


# ----------------------------------------------------------------- context
async def test_context_scopes_keys_and_callbacks():
    code = (
        "context.set('a', 1); flow.set('b', 2); global.set('c', 3);"
        "msg.vals = [context.get('a'), flow.get('b'), global.get('c'), context.flow.get('b'), context.global.get('c')];"
        "msg.keys = context.keys(); flow.get('b', (err, v) => { msg.cb = v; });"
        "flow.get(['b', 'zz'], (err, v1, v2) => { msg.multi = [v1, v2 === undefined || v2 === null]; });"
        "return msg;"
    )
    out = await one(code, {})
    assert out["vals"] == [1, 2, 3, 2, 3]
    assert out["keys"] == ["a"] and out["cb"] == 2 and out["multi"] == [2, True]


async def test_context_keeps_references():
    # As Node-RED's memory store: an object read from context and changed without set() stays changed.
    flow = [
        fn("const st = flow.get('st') || {n: 0}; st.n++; st.list.push(st.n); return msg;", init=None),
        SINK,
    ]
    flow[0]["initialize"] = "flow.set('st', {n: 0, list: []});"
    async with FlowTestHarness(flow) as h:
        for _ in range(3):
            h.node("n1").receive({})
        await h.node("n2").inputs(3)
        st = h.node("n1").node.context().flow.get("st")
        assert st == {"n": 3, "list": [1, 2, 3]}


async def test_context_write_back_keeps_python_types_and_identity():
    code = (
        "const st = flow.get('st'); const [a, b] = flow.get(['a', 'b']); const n = flow.get('missing');"
        "st.n++; a.x = 'changed'; msg.payload = [st.f, b.y, n == null]; return msg;"
    )
    async with FlowTestHarness([fn(code), SINK]) as h:
        flow_ctx = h.node("n1").node.context().flow
        st = {"n": 0, "f": 2.0, "when": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "inner": {"k": [1.0, 2]}}
        inner = st["inner"]
        flow_ctx.set("st", st)
        flow_ctx.set("a", {"x": 1})
        flow_ctx.set("b", {"y": 1.5})
        h.node("n1").receive({})
        out = await h.node("n2").next_input()
        assert out["payload"] == [2, 1.5, True]
        assert flow_ctx.get("st") is st and st["inner"] is inner
        assert st["n"] == 1 and type(st["f"]) is float and type(inner["k"][0]) is float
        assert st["when"] == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        assert flow_ctx.get("a") == {"x": "changed"} and flow_ctx.get("b") == {"y": 1.5}


async def test_context_keys_with_nul_or_lone_surrogates_are_their_own_keys():
    code = (
        "flow.set('a', 1); flow.set('b\\ud800', 2);"
        "msg.payload = [flow.get('a\\u0000zz'), flow.get('b\\ud800'), flow.get('a')]; return msg;"
    )
    out = await one(code, {})
    assert out["payload"] == [None, 2, 1]  # undefined is dropped to null in the array


async def test_large_context_write_back_reaches_python():
    # Two changed objects, one holding a long concatenated (rope) string: the write-back
    # text must reach the host (the quickjs wheel cannot convert rope strings).
    code = "const a = flow.get('a'), b = flow.get('b'); a.s = 'x'.repeat(100000) + 'y'; b.n = 2; return msg;"
    async with FlowTestHarness([fn(code), SINK]) as h:
        flow_ctx = h.node("n1").node.context().flow
        flow_ctx.set("a", {"s": ""})
        flow_ctx.set("b", {"n": 1})
        h.node("n1").receive({})
        await h.node("n2").next_input()
        assert h.node("n1").errors == []
        assert flow_ctx.get("a")["s"] == "x" * 100000 + "y" and flow_ctx.get("b") == {"n": 2}


# ----------------------------------------------------------------- timers
async def test_set_timeout_and_interval():
    code = (
        "let n = 0; const t = setInterval(() => { n++; if (n === 3) { clearInterval(t); msg.n = n; node.send(msg); } }, 1);"
        "const never = setTimeout(() => node.send({payload: 'never'}), 1); clearTimeout(never);"
        "setTimeout((a) => node.send({payload: a}), 2, 'later');"
    )
    async with FlowTestHarness([fn(code), SINK]) as h:
        h.node("n1").receive({"payload": 1})
        got = await h.node("n2").inputs(2)
        assert sorted(str(m.get("n", m.get("payload"))) for m in got) == ["3", "later"]


# ----------------------------------------------------------------- On Start / On Stop / libs
async def test_initialize_sends_and_delays_messages():
    flow = [
        fn(
            "msg.ready = context.get('ready'); return msg;",
            initialize="await new Promise(r => setTimeout(r, 20)); context.set('ready', true);"
            "setTimeout(() => node.send({payload: 'from start'}), 1);",
        ),
        SINK,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "early"})
        got = await h.node("n2").inputs(2)
        assert got[0]["payload"] == "early" and got[0]["ready"] is True
        assert got[1]["payload"] == "from start" and len(got[1]["_msgid"]) == 16


async def test_finalize_runs_on_close():
    h = FlowTestHarness([fn("return msg;", finalize="node.warn('bye ' + node.id);"), SINK])
    await h.start()
    await h.stop()
    assert any(r.text == "bye n1" for r in h.logs)


async def test_libs_refuse_to_start_with_a_clear_message():
    flow = [fn("return msg;", libs=[{"var": "os", "module": "os"}]), SINK]
    async with FlowTestHarness(flow) as h:
        assert h.runtime.get_node("n1") is None
        text = "\n".join(r.text for r in h.logs)
        assert "'os'" in text and "n1" in text and "not started" in text


async def test_syntax_error_reported_with_line():
    async with FlowTestHarness([fn("var a = 1;\nreturn msg +;"), SINK]) as h:
        err, _ = await h.node("n1").next_error()
        assert "SyntaxError" in str(err) and "line 2" in str(err)


# ----------------------------------------------------------------- errors
async def test_thrown_error_reaches_catch_with_user_line():
    flow = [
        fn("var a = 1;\n\n  throw new Error('This is an error');"),
        SINK,
        {"id": "c1", "type": "catch", "scope": None, "uncaught": False, "wires": [["n3"]]},
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "foo"})
        caught = await h.node("n3").next_input()
        assert caught["payload"] == "foo"
        assert caught["error"]["message"] == "Error: This is an error"  # as Node-RED: err.toString()
        assert caught["error"]["source"]["id"] == "n1"
        assert "at Function node:n1:3:13" in caught["error"]["stack"]  # QuickJS points at the callee


async def test_reference_error_message_has_line_and_col():
    async with FlowTestHarness([fn("var a = 1;\nretunr"), SINK]) as h:
        h.node("n1").receive({})
        err, _ = await h.node("n1").next_error()
        # Node-RED sets the message to "ReferenceError: ... (line, col)"; its toString repeats the name
        assert str(err) == "ReferenceError: ReferenceError: retunr is not defined (line 2, col 1)"
        assert err.stack.splitlines()[0] == "ReferenceError: retunr is not defined"


@pytest.mark.parametrize(
    ("code", "text"),
    [("throw 'small mistake';", "small mistake"), ("throw 99;", "99"), ("throw {a:1};", '{"a":1}')],
)
async def test_thrown_non_errors(code, text):
    async with FlowTestHarness([fn(code), SINK]) as h:
        h.node("n1").receive({})
        err, _ = await h.node("n1").next_error()
        assert str(err) == text


# What Node-RED 4.1.13 and 5.0.4 put in msg.error.message (and the log line) for each case,
# recorded from real Node-RED (an inject per case, a catch node reporting msg.error).
NODE_RED_ERROR_TEXTS = [
    ("throw new Error('big error');", "Error: big error"),
    ("throw new TypeError('bad type');", "TypeError: bad type"),
    ("const a = null; return a.x;", "TypeError: Cannot read properties of null (reading 'x')"),
    ("let u; return u.x;", "TypeError: Cannot read properties of undefined (reading 'x')"),
    ("let u; u.x = 1;", "TypeError: Cannot set properties of undefined (setting 'x')"),
    ("node.error('text', msg); return null;", "text"),
    ("node.error(new Error('e5'), msg); return null;", "Error: e5"),
    ("await Promise.reject(new Error('rej'));", "Error: rej"),
    ("node.done(new Error('d')); return null;", "Error: d"),
    ("node.done('dstr'); return null;", "dstr"),
    ("const e = new Error('c'); e.name = 'MyErr'; throw e;", "MyErr: c"),
    ("throw new RangeError('r');", "RangeError: r"),
    ("function f() { return f() + 1; } f();", "RangeError: Maximum call stack size exceeded"),
    ("var a = 1;\nretunr", "ReferenceError: ReferenceError: retunr is not defined (line 2, col 1)"),
]


@pytest.mark.parametrize(("code", "text"), NODE_RED_ERROR_TEXTS)
async def test_error_texts_as_node_red_reports_them(code, text):
    flow = [
        fn(code),
        SINK,
        {"id": "c1", "type": "catch", "scope": None, "uncaught": False, "wires": [["n3"]]},
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": 1})
        caught = await h.node("n3").next_input()
        assert caught["error"]["message"] == text


async def test_timeout_error_text_and_code_as_node_red():
    flow = [
        fn("while (true) {}", timeout=0.05),
        SINK,
        {"id": "c1", "type": "catch", "scope": None, "uncaught": False, "wires": [["n3"]]},
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({})
        caught = await h.node("n3").next_input()
    assert caught["error"]["message"] == "Error: Script execution timed out after 50ms"
    assert caught["error"]["code"] == "ERR_SCRIPT_EXECUTION_TIMEOUT"


async def test_missing_context_keys_and_env_are_undefined():
    code = (
        "msg.t = [typeof flow.get('nope'), typeof global.get('nope'), typeof context.get('nope'),"
        " typeof flow.get('a.b'), typeof flow.get(['x', 'y'])[0], typeof env.get('FLOWRT_NOPE_X')];"
        "flow.get('nope', (err, v) => { msg.cb = typeof v; });"
        "flow.set('n', 0); msg.zero = flow.get('n'); return msg;"
    )
    out = await one(code, {})
    assert out["t"] == ["undefined"] * 6 and out["cb"] == "undefined" and out["zero"] == 0


# ----------------------------------------------------------------- limits: the node fails alone
LIMIT_CODE = """
if (msg.payload === 'loop') { while (true) {} }
if (msg.payload === 'memory') { const a = []; while (true) { a.push('x'.repeat(1000) + a.length); } }
if (msg.payload === 'stack') { function f() { return f() + 1; } f(); }
if (msg.payload === 'timer') { setTimeout(() => { throw new Error('late failure'); }, 1); }
if (msg.payload === 'jobs') { const spin = () => { Promise.resolve().then(spin); }; spin(); }
return msg;
"""


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("loop", "Script execution timed out after 200ms"),
        ("memory", "out of memory"),
        ("stack", "Maximum call stack size exceeded"),
        ("timer", "late failure"),
        ("jobs", "Script execution timed out after 200ms"),
    ],
)
async def test_runaway_code_fails_alone(payload, expected):
    # Filling 16 MB can take longer than 200 ms on a loaded machine: the memory case gets a
    # timeout it cannot reach, so that the memory limit is what stops it.
    timeout = 30 if payload == "memory" else 0.2
    flow = [
        fn(LIMIT_CODE, timeout=timeout),
        SINK,
        {"id": "other", "type": "function", "func": "msg.other = true; return msg;", "wires": [["n3"]]},
        SINK3,
    ]
    async with FlowTestHarness(flow, settings={"functionMemoryLimit": 16 * 1024 * 1024}) as h:
        h.node("n1").receive({"payload": payload})
        err, _ = await h.node("n1").next_error()
        assert expected in str(err)
        # the same node and the others keep working
        h.node("n1").receive({"payload": "fine"})
        h.node("other").receive({"payload": 1})
        assert (await h.node("n2").next_input())["payload"] in ("fine", payload)
        assert (await h.node("n3").next_input())["other"] is True


async def test_sandbox_reaches_nothing_outside():
    code = (
        "msg.t = [typeof require, typeof process, typeof __host, typeof globalThis.__nr_run, typeof std, typeof os];"
        " return msg;"
    )
    out = await one(code, {})
    assert out["t"] == ["undefined"] * 6


# ----------------------------------------------------------------- live HTTP objects
class FakeRequest:
    def __init__(self) -> None:
        self.method = "GET"
        self.url = "/sse?x=1"
        self.originalUrl = "/sse?x=1"
        self.path = "/sse"
        self.headers = {"accept": "text/event-stream"}
        self.query = {"x": "1"}
        self.params = {}
        self.body = {}
        self.cookies = {}
        self.ip = "127.0.0.1"


class FakeResponse:
    def __init__(self) -> None:
        self.statusCode = 200
        self.headers: dict[str, object] = {}
        self.chunks: list[bytes] = []
        self.events: list[str] = []
        self._ended = False
        self._sent = False
        self._listeners: dict[str, list] = {}

    @property
    def headersSent(self) -> bool:
        return self._sent

    @property
    def finished(self) -> bool:
        return self._ended

    def setHeader(self, name, value):
        self.headers[name.lower()] = value

    def getHeader(self, name):
        return self.headers.get(name.lower())

    def removeHeader(self, name):
        self.headers.pop(name.lower(), None)

    def writeHead(self, status, headers=None):
        self.statusCode = status
        for k, v in (headers or {}).items():
            self.setHeader(k, v)
        self.flushHeaders()

    def flushHeaders(self):
        self._sent = True
        self.events.append("head")

    def write(self, data):
        self._sent = True
        self.chunks.append(data.encode() if isinstance(data, str) else bytes(data))
        return True

    def end(self, data=None):
        if data is not None:
            self.write(data)
        self._ended = True
        self.events.append("end")
        for cb in self._listeners.get("finish", []):
            cb()

    def on(self, event, callback):
        self._listeners.setdefault(event, []).append(callback)

    def close(self):
        for cb in self._listeners.get("close", []):
            cb()


async def test_live_response_stored_in_global_and_used_from_a_timer_in_another_node():
    first = (
        "const r = msg.res._res; r.setHeader('Content-Type', 'text/event-stream');"
        "msg.seen = [msg.req.method, msg.req.query.x, msg.req.get('Accept'), r.getHeader('content-type'), r.statusCode];"
        "r.statusCode = 201; r.write('event: a\\n\\n');"
        "global.set('sessions', {s1: {res: r, created: new Date(0)}});"
        "r.on('close', () => node.warn('client gone'));"
        "return msg;"
    )
    second = (
        "setTimeout(() => { const s = global.get('sessions').s1;"
        " s.res.write(Buffer.from('event: b\\n\\n')); s.res.end('bye'); node.send({payload: s.res.finished}); }, 5);"
        "return null;"
    )
    flow = [
        fn(first),
        SINK,
        {"id": "f2", "type": "function", "func": second, "wires": [["n3"]]},
        SINK3,
    ]
    res = FakeResponse()
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"req": FakeRequest(), "res": {"_res": res}})
        out = await h.node("n2").next_input()
        assert out["res"]["_res"] is res and isinstance(out["req"], FakeRequest)
        assert out["seen"] == ["GET", "1", "text/event-stream", "text/event-stream", 200]
        assert res.statusCode == 201
        stored = h.node("n1").node.context().global_.get("sessions")
        assert stored["s1"]["res"] is res
        h.node("f2").receive({})
        done = await h.node("n3").next_input()
        assert done["payload"] is True
        assert res.chunks == [b"event: a\n\n", b"event: b\n\n", b"bye"]
        res.close()
        assert (await h.node("n1").next_log("warn")).text == "client gone"
    assert live_count() == 0  # handles released when the nodes closed


async def test_express_conveniences_on_response():
    res = FakeResponse()
    await one("msg.res._res.status(404).json({a: 1}); return msg;", {"res": {"_res": res}})
    assert res.statusCode == 404 and res.chunks == [b'{"a":1}']
    assert res.headers["content-type"].startswith("application/json")


# ----------------------------------------------------------------- JS -> JS over a single wire
# A function node whose single wire leads to another function node delivers the encoded
# message (JSMessage); whatever else needs the message gets a decoded dict.
def spy_deliveries(h: FlowTestHarness) -> list:
    """Record (target id, type of the delivered message) of every delivery."""
    seen = []
    deliver = h.runtime.deliver

    def spy(node, msg):
        seen.append((node.id, type(msg).__name__))
        deliver(node, msg)

    h.runtime.deliver = spy
    return seen


async def test_js_to_js_chain_passes_the_encoded_message():
    flow = [
        fn("msg.payload.n += 1; msg.hops = 1; msg.b = Buffer.from('hi'); msg.d = new Date(5); return msg;"),
        {
            "id": "n2",
            "type": "function",
            "func": "msg.hops += 1; msg.seen = [msg.payload.n, Buffer.isBuffer(msg.b), msg.b.toString(),"
            " msg.d instanceof Date, msg.d.getTime(), typeof msg._msgid]; return msg;",
            "wires": [["n3"]],
        },
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        seen = spy_deliveries(h)
        h.node("n1").receive({"payload": {"n": 1}, "_msgid": "m-1"})
        received = await h.node("n2").next_input()  # the harness records it decoded
        out = await h.node("n3").next_input()
    assert ("n2", "JSMessage") in seen and ("n3", "dict") in seen
    assert received == {
        "payload": {"n": 2},
        "hops": 1,
        "b": b"hi",
        "d": dt.datetime.fromtimestamp(0.005, dt.UTC),
        "_msgid": "m-1",
    }
    assert out["hops"] == 2 and out["_msgid"] == "m-1"
    assert out["seen"] == [2, True, "hi", True, 5, "string"]


async def test_js_to_js_error_reaches_catch_with_the_message():
    flow = [
        fn("msg.payload = 'from n1'; return msg;"),
        {
            "id": "n2",
            "type": "function",
            "func": "msg.x = 1;\nthrow new Error('bad ' + msg.payload);",
            "wires": [["n3"]],
        },
        SINK3,
        {"id": "c1", "type": "catch", "scope": ["n2"], "uncaught": False, "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        seen = spy_deliveries(h)
        h.node("n1").receive({"payload": "start"})
        caught = await h.node("n4").next_input()
        err, msg = await h.node("n2").next_error()
    assert ("n2", "JSMessage") in seen
    assert caught["payload"] == "from n1" and "x" not in caught  # the message n2 received
    assert caught["error"]["message"] == "Error: bad from n1" and caught["error"]["source"]["id"] == "n2"
    assert "at Function node:n2:2:" in caught["error"]["stack"]
    assert type(msg) is dict and msg["payload"] == "from n1"


async def test_js_to_js_complete_node_scoped_to_the_receiver():
    flow = [
        fn("msg.payload += 1; return msg;"),
        {"id": "n2", "type": "function", "func": "msg.payload *= 10; return msg;", "wires": [["n3"]]},
        SINK3,
        {"id": "c1", "type": "complete", "scope": ["n2"], "uncaught": False, "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": 1, "_msgid": "m-2"})
        done = await h.node("n4").next_input()
        out = await h.node("n3").next_input()
    assert done["payload"] == 2 and done["_msgid"] == "m-2"  # as n2 received it
    assert done["complete"]["source"]["id"] == "n2"
    assert out["payload"] == 20


async def test_js_to_js_node_done_with_error_and_async_receiver():
    flow = [
        fn("msg.payload = 'a'; return msg;"),
        {
            "id": "n2",
            "type": "function",
            "func": "await new Promise((r) => setTimeout(r, 1)); if (msg.payload === 'a') node.done('failed ' + msg.payload);",
            "wires": [["n3"]],
        },
        SINK3,
        {"id": "c1", "type": "catch", "scope": ["n2"], "uncaught": False, "wires": [["n4"]]},
        {"id": "n4", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "start"})
        caught = await h.node("n4").next_input()
    assert caught["payload"] == "a" and caught["error"]["message"] == "failed a"


async def test_js_fan_out_to_two_js_nodes_keeps_clone_semantics():
    flow = [
        fn("msg.payload = {n: 1}; return msg;", wires=[["f2", "f3"]]),
        {
            "id": "f2",
            "type": "function",
            "func": "msg.payload.n += 10; msg.by = 'f2'; return msg;",
            "wires": [["n3"]],
        },
        {
            "id": "f3",
            "type": "function",
            "func": "msg.payload.n += 20; msg.by = 'f3'; return msg;",
            "wires": [["n3"]],
        },
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        seen = spy_deliveries(h)
        h.node("n1").receive({"payload": 0, "_msgid": "m-3"})
        outs = await h.node("n3").inputs(2)
        first, second = await h.node("f2").next_input(), await h.node("f3").next_input()
    assert ("f2", "dict") in seen and ("f3", "dict") in seen  # fan-out: the dict path
    assert first == second and first is not second  # the second wire got a clone
    assert sorted((o["by"], o["payload"]["n"], o["_msgid"]) for o in outs) == [
        ("f2", 11, "m-3"),
        ("f3", 21, "m-3"),
    ]


async def test_js_to_js_messages_wait_for_the_receivers_initialize():
    flow = [
        fn("msg.payload += 1; return msg;"),
        {
            "id": "n2",
            "type": "function",
            "initialize": "await new Promise((r) => setTimeout(r, 20)); context.set('k', 5);",
            "func": "msg.payload *= context.get('k'); return msg;",
            "wires": [["n3"]],
        },
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        for i in range(3):
            h.node("n1").receive({"payload": i})
        outs = await h.node("n3").inputs(3)
    assert [o["payload"] for o in outs] == [5, 10, 15]


async def test_js_to_js_passes_live_response():
    first = "msg.res._res.setHeader('X-A', '1'); return msg;"
    second = "msg.res._res.statusCode = 202; msg.res._res.end('ok ' + msg.req.method); return msg;"
    flow = [fn(first), {"id": "n2", "type": "function", "func": second, "wires": [["n3"]]}, SINK3]
    res, req = FakeResponse(), FakeRequest()
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"req": req, "res": {"_res": res}})
        out = await h.node("n3").next_input()
        assert out["res"]["_res"] is res and out["req"] is req
        assert res.statusCode == 202 and res.chunks == [b"ok GET"]
        assert res.getHeader("x-a") == "1"
    assert live_count() == 0


async def test_js_to_js_multiple_outputs_and_node_send_still_work():
    flow = [
        fn("node.send({payload: 'sent'}); return [msg, null];"),
        {"id": "n2", "type": "function", "func": "msg.payload += '!'; return msg;", "wires": [["n3"]]},
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "ret"})
        outs = await h.node("n3").inputs(2)
    assert sorted(o["payload"] for o in outs) == ["ret!", "sent!"]


@pytest.mark.parametrize(
    "code",
    [
        "return {payload: arguments[1].id};",
        "return {payload: eval('no' + 'de').id};",
        "return {payload: no\\u0064e.id};",
        "const n = node; return {payload: n.id};",
    ],
)
async def test_node_object_reachable_however_named(code):
    out = await one(code, {"_msgid": "m-4"})
    assert out == {"payload": "n1", "_msgid": "m-4"}


async def test_code_without_node_and_returned_objects_of_other_kinds():
    out = await one("const o = Object.create(null); o.payload = msg.payload + 1; return o;", {"payload": 1})
    assert out["payload"] == 2 and out["_msgid"]
    async with FlowTestHarness([fn("return msg.payload === 1 ? new Date(0) : Buffer.from('x');"), SINK]) as h:
        h.node("n1").receive({"payload": 1})
        h.node("n1").receive({"payload": 2})
        logs = [await h.node("n1").next_log("error") for _ in range(2)]
    assert [r.text for r in logs] == [
        "Function tried to send a message of type Date",
        "Function tried to send a message of type Buffer",
    ]


# ----------------------------------------------------------------- live handles cannot be forged
# issue 12 item 1: a node must not reach a live response it was never given, neither by
# reading its own handle's id and guessing the neighbours, nor by making up a handle.
VICTIM = "const r = msg.res._res; setTimeout(() => r.end('late'), 60000); return null;"
GUESSES = (
    "const mine = msg.res._res; const sym = Object.getOwnPropertySymbols(mine)[0];"
    "const id = mine[sym];"
    "const ids = []; for (let i = 1; i <= 50; i++) ids.push(i, String(i));"
    "if (typeof id === 'number') for (let d = -3; d <= 3; d++) ids.push(id + d);"
)


def attacked_flow(attacker_code: str) -> list:
    return [
        {"id": "victim", "type": "function", "func": VICTIM, "wires": [[]]},
        fn(attacker_code),
        SINK,
        {"id": "c1", "type": "catch", "scope": None, "uncaught": False, "wires": [["n3"]]},
        SINK3,
    ]


async def run_attack(attacker_code: str) -> tuple[FakeResponse, list]:
    """The victim node holds its response; the attacker node gets its own, then attacks."""
    victim_res, own = FakeResponse(), FakeResponse()
    async with FlowTestHarness(attacked_flow(attacker_code)) as h:
        h.node("victim").receive({"res": {"_res": victim_res}})
        h.node("n1").receive({"payload": "go", "res": {"_res": own}})
        await h.node("n3").next_input()  # the attack ends by reporting (or failing) via catch
        outputs = h.node("n2").received
    return victim_res, outputs


def holds(value, obj) -> bool:
    if value is obj:
        return True
    if isinstance(value, dict):
        return any(holds(v, obj) for v in value.values())
    if isinstance(value, list):
        return any(holds(v, obj) for v in value)
    return False


STEAL = "msg.stolen = ids.map((i) => ({'\\u0001h': i}));"


async def test_forged_handle_in_a_sent_message_does_not_resolve():
    code = GUESSES + STEAL + "try { node.send(msg); } finally { node.error('end', {}); }"
    victim_res, outputs = await run_attack(code)
    assert not any(holds(m, victim_res) for m in outputs)


async def test_forged_handle_in_a_returned_message_does_not_resolve():
    code = GUESSES + STEAL + "setTimeout(() => node.error('end', {}), 1); return msg;"
    victim_res, outputs = await run_attack(code)
    assert not any(holds(m, victim_res) for m in outputs)


async def test_forged_handle_object_cannot_write_to_another_response():
    # A LiveResponse made by hand with a guessed id in its symbol slot.
    code = GUESSES + (
        "const proto = Object.getPrototypeOf(mine); let n = 0;"
        "for (const i of ids) { const fake = Object.create(proto);"
        "  Object.defineProperty(fake, sym, {value: i});"
        "  try { fake.write('pwned ' + i); n++; } catch (e) {} }"
        "node.error('attempts done: ' + n, msg);"
    )
    victim_res, _ = await run_attack(code)
    assert victim_res.chunks == []


async def test_forged_handle_stored_in_context_does_not_resolve():
    code = GUESSES + (
        "for (const i of ids) { try { global.set('k' + i, {'\\u0001h': i}); } catch (e) {} }"
        "node.error('stored', msg);"
    )
    victim_res = FakeResponse()
    async with FlowTestHarness(attacked_flow(code)) as h:
        h.node("victim").receive({"res": {"_res": victim_res}})
        h.node("n1").receive({"res": {"_res": FakeResponse()}})
        await h.node("n3").next_input()
        store = h.node("n1").node.context().global_
        assert not any(holds(store.get(k), victim_res) for k in store.keys())


async def test_a_forged_handle_is_reported():
    async with FlowTestHarness([fn("return {payload: {'\\u0001h': 1}};"), SINK]) as h:
        h.node("n1").receive({})
        err, _ = await h.node("n1").next_error()
        assert "live-object handle this node was never given" in str(err)


async def test_live_handles_resolve_only_in_the_node_given_the_object():
    # Tokens are a counter per node (issue 19): node f2 forging n1's token for n1's response
    # reaches at most an object f2 was given itself, never n1's.
    reveal = "const r = msg.res._res; msg.tok = r[Object.getOwnPropertySymbols(r)[0]]; return msg;"
    forge = (
        "if (msg.tok === undefined) { globalThis.keep = msg.res; return null; }"
        "return {payload: {'\\u0001h': msg.tok}};"
    )
    flow = [fn(reveal), SINK, {"id": "f2", "type": "function", "func": forge, "wires": [["n3"]]}, SINK3]
    victim, own = FakeResponse(), FakeResponse()
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"res": {"_res": victim}})
        token = (await h.node("n2").next_input())["tok"]
        h.node("f2").receive({"res": {"_res": own}})
        h.node("f2").receive({"tok": token})
        out = await h.node("n3").next_input()
    assert isinstance(token, str) and out["payload"] is not victim


async def test_live_response_written_from_a_timer_in_the_same_node():
    code = "const r = msg.res._res; setTimeout(() => { r.setHeader('X-T', '1'); r.end('later'); }, 5); return msg;"
    res = FakeResponse()
    finished = asyncio.Event()
    res.on("finish", finished.set)
    async with FlowTestHarness([fn(code), SINK]) as h:
        h.node("n1").receive({"res": {"_res": res}})
        await h.node("n2").next_input()
        await asyncio.wait_for(finished.wait(), 5)
    assert res.chunks == [b"later"] and res.getHeader("x-t") == "1"


async def test_live_response_js_to_python_function_to_js():
    flow = [
        fn("msg.res._res.setHeader('X-A', '1'); return msg;", wires=[["py"]]),
        {"id": "py", "type": "python-function", "func": "msg['seen'] = True\nreturn msg", "wires": [["n2"]]},
        {
            "id": "n2",
            "type": "function",
            "func": "msg.res._res.end('ok ' + msg.req.method); return msg;",
            "wires": [["n3"]],
        },
        SINK3,
    ]
    res, req = FakeResponse(), FakeRequest()
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"req": req, "res": {"_res": res}})
        out = await h.node("n3").next_input()
        assert out["res"]["_res"] is res and out["req"] is req and out["seen"] is True
    assert res.chunks == [b"ok GET"] and res.getHeader("x-a") == "1"
    assert live_count() == 0


# ----------------------------------------------------------------- msg.req.files (http in, upload)
async def test_uploaded_files_are_visible_to_js_with_multers_shape():
    import aiohttp

    code = (
        "const f = msg.req.files[0];"
        "msg.payload = {n: msg.req.files.length, fieldname: f.fieldname, originalname: f.originalname,"
        " encoding: f.encoding, mimetype: f.mimetype, size: f.size, isBuffer: Buffer.isBuffer(f.buffer),"
        " hex: f.buffer.toString('hex'), title: msg.req.body.title};"
        "return msg;"
    )
    flow = [
        {"id": "in", "type": "http in", "url": "/up", "method": "post", "upload": True, "wires": [["n1"]]},
        fn(code, wires=[["n2", "out"]]),
        SINK,
        {"id": "out", "type": "http response", "wires": []},
        {"id": "get", "type": "http in", "url": "/plain", "method": "post", "wires": [["f2"]]},
        {
            "id": "f2",
            "type": "function",
            "func": "msg.payload = typeof msg.req.files; return msg;",
            "wires": [["n3", "out"]],
        },
        SINK3,
    ]
    async with FlowTestHarness(flow) as h:
        form = aiohttp.FormData()
        form.add_field("title", "hello")
        form.add_field("file", b"abc\x00\xff", filename="a.bin", content_type="application/x-thing")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.post(h.url("/up"), data=form) as resp:
                assert resp.status == 200
            async with session.post(h.url("/plain"), data=b"x") as resp:
                assert resp.status == 200
        out = await h.node("n2").next_input()
        plain = await h.node("n3").next_input()
    assert out["payload"] == {
        "n": 1,
        "fieldname": "file",
        "originalname": "a.bin",
        "encoding": "7bit",
        "mimetype": "application/x-thing",
        "size": 5,
        "isBuffer": True,
        "hex": "616263" + "00ff",
        "title": "hello",
    }
    assert plain["payload"] == "undefined"  # as Express without multer


@pytest.mark.parametrize(
    "made_up",
    [
        "{'\\u0001b': '!!'}",
        "{'\\u0001b': 5}",
        "{'\\u0001d': 'x'}",
        "{'\\u0001d': 1e300}",
        "{'\\u0001n': 'zz'}",
    ],
)
async def test_made_up_markers_in_returned_messages_stay_plain_objects(made_up):
    out = await one(f"msg.payload = {made_up}; return msg;", {})
    assert isinstance(out["payload"], dict) and len(out["payload"]) == 1


async def test_made_up_bytes_marker_from_outside_stays_a_plain_object():
    out = await one(
        "msg.kind = typeof msg.payload + ':' + Buffer.isBuffer(msg.payload); return msg;",
        {"payload": {"\x01b": "!!"}},
    )
    assert out["kind"] == "object:false" and out["payload"] == {"\x01b": "!!"}


async def test_lone_surrogates_enter_and_leave_the_sandbox():
    # issue 12 item 6: such a message could not enter a JS node (the wheel refused the text)
    out = await one(
        "msg.n = msg.payload.length; msg.k = Object.keys(msg.obj)[0].length;"
        "flow.set('x', 'b\\ud800'); msg.back = flow.get('x'); return msg;",
        {"payload": "a\ud800é😀", "obj": {"k\udc00": 1}},
    )
    assert out["n"] == 5 and out["k"] == 2 and out["back"] == "b\ud800"
    assert out["payload"] == "a\ud800é😀"


async def test_a_thrown_error_is_kept_as_msg_error_and_reaches_catch_as_msg_underscore_error():
    # 10-function.js sets msg.error = err before reporting it; Flow.handleError moves it to _error.
    nodes = [
        {"id": "fn", "type": "function", "func": "throw new Error('Error Occured!');", "wires": [[]]},
        {"id": "c", "type": "catch", "wires": [["read"]]},
        {
            "id": "read",
            "type": "function",
            "func": "msg.payload = [msg._error.name, msg._error.message, typeof msg._error.stack]; return msg;",
            "wires": [["h"]],
        },
        {"id": "h", "type": "helper"},
    ]
    async with FlowTestHarness(nodes) as h:
        h.node("fn").receive({"payload": 1})
        msg = await h.node("h").next_input()
    assert msg["error"]["message"] == "Error: Error Occured!"
    assert msg["payload"] == ["Error", "Error Occured!", "string"]
