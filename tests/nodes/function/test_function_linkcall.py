"""node.linkcall (Node-RED 5.0) from the JS function node, ported from Node-RED 5.0.4's
test/nodes/core/function/10-function_spec.js ("link call from function")."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness

SUB_CODE = "msg._payload=msg.payload; msg.payload='set-in-function'; return msg;"


def subroutine(
    suffix: str, name: str, tab: str | None = None, mode: str = "return", code: str = SUB_CODE
) -> list:
    z = {"z": tab} if tab else {}
    return [
        {"id": f"li{suffix}", "type": "link in", "name": name, "wires": [[f"sbn{suffix}"]], **z},
        {"id": f"sbn{suffix}", "type": "function", "func": code, "wires": [[f"lo{suffix}"]], **z},
        {"id": f"lo{suffix}", "type": "link out", "mode": mode, **z},
    ]


def main(code: str, tab: str | None = None) -> list:
    z = {"z": tab} if tab else {}
    return [
        {"id": "f1", "type": "function", "func": code, "wires": [["h1"]], **z},
        {"id": "c1", "type": "catch", "scope": ["f1"], "uncaught": True, "wires": [["h1"]], **z},
        {"id": "h1", "type": "helper", **z},
    ]


TABS = [
    {"id": "tab-main", "type": "tab", "label": "Main Flow"},
    {"id": "tab-2", "type": "tab", "label": "Flow 2"},
    {"id": "tab-3", "type": "tab", "label": "Flow 3"},
]
CALL = "const m = await node.linkcall('{target}', msg, {{ timeout: 1000 }}); return m;"


async def run(flow: list, msg: dict | None = None) -> dict:
    async with FlowTestHarness(flow) as h:
        h.node("f1").receive(msg or {"payload": "original", "topic": "test"})
        return await h.node("h1").next_input()


@pytest.mark.parametrize(
    ("target", "sub_tab"),
    [("subroutine", None), ("subroutine", "tab-2"), ("li1", None), ("li1", "tab-2")],
)
async def test_calls_subroutine_by_name_or_id_on_any_tab(target, sub_tab):
    tab = "tab-main" if sub_tab else None
    flow = TABS + subroutine("1", "subroutine", sub_tab) + main(CALL.format(target=target), tab)
    out = await run(flow)
    assert out["payload"] == "set-in-function" and out["_payload"] == "original"
    assert "error" not in out and "_linkSource" not in out


async def test_same_tab_target_preferred_over_other_tabs():
    flow = (
        TABS
        + subroutine("1", "subroutine", "tab-main", code="msg.where = 'main'; return msg;")
        + subroutine("2", "subroutine", "tab-2", code="msg.where = 'tab2'; return msg;")
        + main(CALL.format(target="subroutine"), "tab-main")
    )
    assert (await run(flow))["where"] == "main"


async def test_nested_subroutines():
    flow = (
        TABS
        + subroutine("1", "subroutine", "tab-main", code=CALL.format(target="subroutine2"))
        + subroutine(
            "2",
            "subroutine2",
            "tab-2",
            code="msg._payload=msg.payload; msg.payload='set-in-subroutine-2'; return msg;",
        )
        + main(CALL.format(target="subroutine"), "tab-main")
    )
    out = await run(flow)
    assert out["payload"] == "set-in-subroutine-2" and out["_payload"] == "original"


CLONE_CHECK = """
const before = msg.payload.prop;
const newMsg = await node.linkcall('li1', msg{opts});
msg.testData = {{before, after: msg.payload.prop, returned: newMsg.payload.prop, same: newMsg === msg}};
return msg;
"""


async def test_clones_the_message_by_default():
    flow = subroutine("1", "s", code="msg.payload.prop='modified'; return msg;") + main(
        CLONE_CHECK.format(opts="")
    )
    out = await run(flow, {"payload": {"prop": "original"}})
    assert out["payload"]["prop"] == "original"
    assert out["testData"] == {
        "before": "original",
        "after": "original",
        "returned": "modified",
        "same": False,
    }


async def test_clone_false_lets_the_subroutine_change_the_callers_message():
    code = CLONE_CHECK.format(opts=", { clone: false }")
    flow = subroutine("1", "s", code="msg.payload.prop='modified'; return msg;") + main(code)
    out = await run(flow, {"payload": {"prop": "original"}})
    assert out["payload"]["prop"] == "modified"
    assert out["testData"] == {
        "before": "original",
        "after": "modified",
        "returned": "modified",
        "same": True,
    }


@pytest.mark.parametrize(
    ("flow_extra", "target", "expected"),
    [
        (subroutine("1", "subroutine", "tab-main", mode=""), "subroutine", "timeout"),
        (
            subroutine("1", "subroutine", "tab-main"),
            "non-existent-subroutine",
            "target link-in node 'non-existent-subroutine' not found",
        ),
        (
            subroutine("1", "subroutine", "tab-main") + subroutine("2", "subroutine", "tab-main"),
            "subroutine",
            "Multiple link-in nodes named 'subroutine' found",
        ),
        (
            subroutine("1", "subroutine", "tab-2") + subroutine("2", "subroutine", "tab-3"),
            "subroutine",
            "Multiple link-in nodes named 'subroutine' found",
        ),
        (subroutine("1", "subroutine", "tab-main"), "sbn1", "target link-in node 'sbn1' not found"),
    ],
)
async def test_errors_reach_the_catch_node(flow_extra, target, expected):
    code = f"const m = await node.linkcall('{target}', msg, {{ timeout: 300 }}); return m;"
    out = await run(TABS + flow_extra + main(code, "tab-main"))
    assert out["error"]["message"] == "Error: " + expected  # an Error's toString, as Node-RED reports it
    assert out["error"]["source"]["id"] == "f1"


async def test_errors_can_be_caught_in_the_code():
    code = """
    try { await node.linkcall('non-existent-subroutine', msg, { timeout: 500 }); msg.caught = false; }
    catch (err) { msg.caught = true; msg.caughtMessage = err.message; }
    try { await node.linkcall('', msg); } catch (err) { msg.badTarget = err.message; }
    try { await node.linkcall('x', null); } catch (err) { msg.badMsg = err.message; }
    return msg;
    """
    out = await run(TABS + main(code, "tab-main"))
    assert out["caught"] is True
    assert out["caughtMessage"] == "target link-in node 'non-existent-subroutine' not found"
    assert out["badTarget"] == "Error link call target parameter is not valid, expected a string"
    assert out["badMsg"] == "Error link call msg parameter is not valid, expected an object"
    assert "error" not in out


async def test_link_call_node_still_returns_through_link_out():
    flow = subroutine("1", "s") + [
        {"id": "f1", "type": "link call", "links": ["li1"], "timeout": "1", "wires": [["h1"]]},
        {"id": "h1", "type": "helper"},
    ]
    out = await run(flow)
    assert out["payload"] == "set-in-function"
