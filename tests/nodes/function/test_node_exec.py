"""Port of Node-RED's test/nodes/core/function/90-exec_spec.js, with real
commands (the spec stubs child_process) run through asyncio subprocesses."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness


def flow_of(**config):
    return [
        {"id": "n1", "type": "exec", "wires": [["n2"], ["n3"], ["n4"]], **config},
        {"id": "n2", "type": "helper"},
        {"id": "n3", "type": "helper"},
        {"id": "n4", "type": "helper"},
    ]


async def test_defaults():
    async with FlowTestHarness(flow_of()) as h:
        node = h.node("n1").node
        assert node.cmd == "" and node.append == "" and node.addpay == "payload"
        assert node.timer == 0 and node.use_spawn is False and node.oldrc is False


# ------------------------------------------------------------------ exec mode


async def test_exec_simple_command():
    async with FlowTestHarness(flow_of(command="echo", addpay=False, append="")) as h:
        h.node("n1").receive({"payload": "and"})
        out = await h.node("n2").next_input()
        rc = await h.node("n4").next_input()
        assert out["payload"] == "\n"
        assert out["rc"] == {"code": 0} and rc["payload"] == {"code": 0}


async def test_exec_appends_payload():
    async with FlowTestHarness(flow_of(command="echo", addpay=True, append="more")) as h:
        h.node("n1").receive({"payload": "and"})
        assert (await h.node("n2").next_input())["payload"] == "and more\n"


async def test_exec_extra_parameters_and_other_property():
    async with FlowTestHarness(flow_of(command="echo", addpay="foo.bar", append="c d")) as h:
        h.node("n1").receive({"payload": "x", "foo": {"bar": "a b"}})
        assert (await h.node("n2").next_input())["payload"] == "a b c d\n"


async def test_exec_binary_buffer():
    async with FlowTestHarness(flow_of(command="printf '\\xff\\x00\\x01'", addpay=False)) as h:
        h.node("n1").receive({"payload": ""})
        assert (await h.node("n2").next_input())["payload"] == b"\xff\x00\x01"


async def test_exec_timeout():
    async with FlowTestHarness(flow_of(command="sleep 5", addpay=False, timer="0.2")) as h:
        h.node("n1").receive({"payload": ""})
        rc = await h.node("n4").next_input()
        assert rc["payload"]["code"] is None and rc["payload"]["signal"] == "SIGTERM"


@pytest.mark.parametrize("signal", ["", "SIGINT"])
async def test_exec_kill(signal):
    async with FlowTestHarness(flow_of(command="sleep 5", addpay=False)) as h:
        h.node("n1").receive({"payload": ""})
        status = await h.node("n1").next_status()
        assert status["text"].startswith("pid:")
        h.node("n1").receive({"kill": signal})
        rc = await h.node("n4").next_input()
        assert rc["payload"]["signal"] == (signal or "SIGTERM")


async def test_exec_failing_command_rc():
    async with FlowTestHarness(flow_of(command="echo out; echo ERR >&2; exit 1", addpay=False)) as h:
        h.node("n1").receive({"payload": "and"})
        out = await h.node("n2").next_input()
        err = await h.node("n3").next_input()
        rc = await h.node("n4").next_input()
        assert out["payload"] == "out\n" and out["rc"]["code"] == 1
        assert err["payload"] == "ERR\n" and err["rc"]["code"] == 1
        assert rc["payload"]["code"] == 1


@pytest.mark.parametrize("command,port", [("echo hi", "n2"), ("exit 3", "n4")], ids=["ok", "failing"])
async def test_exec_preserves_properties(command, port):
    async with FlowTestHarness(flow_of(command=command, addpay=False)) as h:
        h.node("n1").receive({"payload": "x", "topic": "bar", "foo": {"a": 1}})
        msg = await h.node(port).next_input()
        assert msg["topic"] == "bar" and msg["foo"] == {"a": 1}


async def test_exec_oldrc():
    async with FlowTestHarness(flow_of(command="echo", addpay=False, oldrc=True)) as h:
        h.node("n1").receive({"payload": ""})
        out = await h.node("n2").next_input()
        assert "rc" not in out


# ------------------------------------------------------------------ spawn mode


async def test_spawn_simple_command():
    async with FlowTestHarness(flow_of(command="echo", addpay=True, useSpawn="true")) as h:
        h.node("n1").receive({"payload": "hello world"})
        assert (await h.node("n2").next_input())["payload"] == "hello world\n"
        assert (await h.node("n4").next_input())["payload"] == {"code": 0}


async def test_spawn_non_string_payload():
    async with FlowTestHarness(flow_of(command="echo", addpay=True, useSpawn="true")) as h:
        h.node("n1").receive({"payload": 12345})
        assert (await h.node("n2").next_input())["payload"] == "12345\n"


async def test_spawn_binary_buffer():
    async with FlowTestHarness(flow_of(command='printf "\\377\\000"', addpay=False, useSpawn="true")) as h:
        h.node("n1").receive({"payload": ""})
        assert (await h.node("n2").next_input())["payload"] == b"\xff\x00"


async def test_spawn_multiple_words_and_quotes():
    async with FlowTestHarness(flow_of(command='echo "a  b" c', addpay=False, useSpawn="true")) as h:
        h.node("n1").receive({"payload": ""})
        assert (await h.node("n2").next_input())["payload"] == "a  b c\n"


async def test_spawn_bad_command():
    flow = flow_of(command="madeupcommandshouldfail", addpay=False, append="", useSpawn="true", oldrc="false")
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": None})
        rc = await h.node("n4").next_input()
        assert rc["payload"]["code"] < 0


async def test_spawn_failing_command():
    async with FlowTestHarness(
        flow_of(command='sh -c "echo E >&2; exit 2"', addpay=False, useSpawn="true")
    ) as h:
        h.node("n1").receive({"payload": ""})
        assert (await h.node("n3").next_input())["payload"] == "E\n"
        assert (await h.node("n4").next_input())["payload"] == {"code": 2}


async def test_spawn_timeout():
    async with FlowTestHarness(flow_of(command="sleep 5", addpay=False, useSpawn="true", timer="0.2")) as h:
        h.node("n1").receive({"payload": ""})
        rc = await h.node("n4").next_input()
        assert rc["payload"] == {"code": None, "signal": "SIGTERM"}


@pytest.mark.parametrize("signal", ["", "SIGINT"])
async def test_spawn_kill(signal):
    async with FlowTestHarness(flow_of(command="sleep 5", addpay=False, useSpawn="true")) as h:
        h.node("n1").receive({"payload": ""})
        status = await h.node("n1").next_status()
        pid = int(status["text"][4:])
        h.node("n1").receive({"kill": signal, "pid": pid})
        rc = await h.node("n4").next_input()
        assert rc["payload"]["signal"] == (signal or "SIGTERM")


@pytest.mark.parametrize("command,port", [("echo hi", "n2"), ("false", "n4")], ids=["ok", "failing"])
async def test_spawn_preserves_properties(command, port):
    async with FlowTestHarness(flow_of(command=command, addpay=False, useSpawn="true")) as h:
        h.node("n1").receive({"payload": "x", "topic": "bar", "foo": {"a": 1}})
        msg = await h.node(port).next_input()
        assert msg["topic"] == "bar" and msg["foo"] == {"a": 1}


# ------------------------------------------------------------------ empty command, maxBuffer
# Node-RED runs child_process.exec(line, {maxBuffer: execMaxBufferSize || 10000000, shell: /bin/bash});
# past maxBuffer Node kills the child and calls back with RangeError ERR_CHILD_PROCESS_STDIO_MAXBUFFER
# ("stdout maxBuffer length exceeded"), the output cut at maxBuffer bytes, and no signal on the error.


async def test_exec_empty_command_runs_an_empty_shell_line():
    # "" through /bin/bash -c is a successful no-op, as in Node-RED
    async with FlowTestHarness(flow_of(command="", addpay=False)) as h:
        h.node("n1").receive({"payload": "x"})
        assert (await h.node("n2").next_input())["payload"] == ""
        assert (await h.node("n4").next_input())["payload"] == {"code": 0}


async def test_spawn_empty_command_is_node_reds_type_error():
    async with FlowTestHarness(flow_of(command="", addpay=False, useSpawn="true")) as h:
        h.node("n1").receive({"payload": "x"})
        err, msg = await h.node("n1").next_error()
        assert str(err) == "TypeError: Cannot read properties of null (reading 'map')"
        assert msg["payload"] == "x"
        assert h.node("n4").received == [] and h.node("n2").received == []


async def test_exec_output_over_the_default_10_mb_limit_is_cut_and_an_error():
    async with FlowTestHarness(flow_of(command="head -c 10000123 /dev/zero", addpay=False)) as h:
        h.node("n1").receive({"payload": ""})
        out = await h.node("n2").next_input()
        rc = await h.node("n4").next_input()
        assert len(out["payload"]) == 10_000_000
        error = {"code": "ERR_CHILD_PROCESS_STDIO_MAXBUFFER", "message": "stdout maxBuffer length exceeded"}
        assert rc["payload"] == error and out["rc"] == error
        assert h.node("n1").statuses[-1] == {
            "fill": "red",
            "shape": "dot",
            "text": "error:ERR_CHILD_PROCESS_STDIO_MAXBUFFER",
        }


@pytest.mark.parametrize("stream,command", [("stdout", "yes"), ("stderr", "yes >&2")])
async def test_exec_max_buffer_setting_kills_an_endless_command(stream, command):
    settings = {"execMaxBufferSize": 1000}
    async with FlowTestHarness(flow_of(command=command, addpay=False), settings=settings) as h:
        h.node("n1").receive({"payload": ""})
        rc = await h.node("n4").next_input()
        assert rc["payload"] == {
            "code": "ERR_CHILD_PROCESS_STDIO_MAXBUFFER",
            "message": f"{stream} maxBuffer length exceeded",
        }
        port = "n2" if stream == "stdout" else "n3"
        assert h.node(port).received[-1]["payload"] == "y\n" * 500


# Number(n.timer || 0); NaN or a negative timeout fires at once in Node-RED (setTimeout), killing the command
@pytest.mark.parametrize("timer,expected", [("0x2", 2.0), (" 1.5 ", 1.5), ("1_0", 0.001), ("-1", -1.0)])
async def test_timer_is_read_as_javascript_number(timer, expected):
    async with FlowTestHarness(flow_of(command="true", timer=timer)) as h:
        assert h.node("n1").node.timer == expected
