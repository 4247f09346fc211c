"""Node-RED's runtime spec test/unit/@node-red/runtime/lib/flows/Subflow_spec.js, ported as behaviour.

Each test names the `it("...")` it ports. The spec's test node types are small Python nodes here:
"test" passes messages on and counts them, "testError" reports node.error("test error", msg),
"testStatus" sets a status, "testEnv"/"testNameEnv"/"testIDEnv" send what their flow's
getSetting answers. Counts: docs/conformance-runtime.md.
"""

from __future__ import annotations

import asyncio

import pytest

from flowrt import Node, register_type
from flowrt.testing import FlowTestHarness

CLOSED: list[str] = []


@register_type("nr-sf-test")
class SubflowTestNode(Node):
    def setup(self):
        self.handled = 0

    def on_input(self, msg, send, done):
        self.handled += 1
        send(msg)
        done()

    def on_close(self, removed):
        CLOSED.append(self.id)


@register_type("nr-sf-test-error")
class SubflowErrorNode(Node):
    def on_input(self, msg, send, done):
        self.error("test error", msg)
        done()


@register_type("nr-sf-test-status")
class SubflowStatusNode(Node):
    def on_input(self, msg, send, done):
        self.status({"text": "test status"})
        done()


@register_type("nr-sf-test-env")
class SubflowEnvNode(Node):
    """Sends {payload: getSetting(<key>), receivedEnv: {...}} as the flow it runs in answers."""

    def on_input(self, msg, send, done):
        key = self.config.get("key", "__KEY__")
        names = ("__KEY__", "__KEY1__", "__KEY2__", "__KEY3__", "__KEY4__")
        send(
            {
                "payload": self.flow.get_setting(key),
                "receivedEnv": {k: self.flow.get_setting(k) for k in names},
            }
        )
        done()


TAB = {"id": "t1", "type": "tab"}


def node(node_id, z="t1", wires=None, type_="nr-sf-test", **extra):
    return {
        "id": node_id,
        "type": type_,
        "z": z,
        "x": 10,
        "y": 10,
        "wires": wires if wires is not None else [],
        **extra,
    }


def subflow(sf_id, inputs, outputs, **extra):
    return {
        "id": sf_id,
        "type": "subflow",
        "name": "Subflow 2",
        "info": "",
        "in": [{"wires": [{"id": i} for i in inputs]}],
        "out": [{"wires": [{"id": i, "port": p} for i, p in out]} for out in outputs],
        **extra,
    }


def helper(node_id):
    return {"id": node_id, "type": "helper", "z": "t1"}


async def settle():
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def clear_closed():
    CLOSED.clear()


def handled(h, node_id):
    return h.node(node_id).node.handled


# ----- #start / #stop ---------------------------------------------------------------------


async def test_start_instantiates_a_subflow_and_stops_it():
    """it("instantiates a subflow and stops it"): output 1 comes from a node inside, output 2
    straight from the subflow's input; a config node inside is created and stopped too"""
    flow = [
        TAB,
        node("1", wires=[["2"]]),
        {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [["3"], ["4"]]},
        node("3", wires=[["o3"]]),
        node("4", wires=[["o4"]]),
        helper("o3"),
        helper("o4"),
        subflow("sf1", ["sf1-1"], [[("sf1-2", 0)], [("sf1", 0)]]),
        node("sf1-1", z="sf1", wires=[["sf1-2"]]),
        node("sf1-2", z="sf1", wires=[[]], foo="sf1-cn"),
        {"id": "sf1-cn", "type": "nr-sf-test", "z": "sf1"},
    ]
    async with FlowTestHarness(flow) as h:
        assert [handled(h, i) for i in ("1", "3", "4")] == [0, 0, 0]
        h.node("1").receive({"payload": "test"})
        await h.node("o3").next_input()
        await h.node("o4").next_input()
        assert [handled(h, i) for i in ("1", "3", "4")] == [1, 1, 1]
    # 1, 3, 4 and the instance's copies of sf1-1, sf1-2 and sf1-cn
    assert len(CLOSED) == 6
    assert {"1", "3", "4"} <= set(CLOSED)


async def test_start_instantiates_a_subflow_inside_a_subflow_and_stops_it():
    """it("instantiates a subflow inside a subflow and stops it")"""
    flow = [
        TAB,
        node("1", wires=[["2"]]),
        {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [["3"], ["4"]]},
        node("3", wires=[["o3"]]),
        node("4"),
        helper("o3"),
        subflow("sf1", ["sf1-1"], [[("sf1-2", 0)]]),
        {
            "id": "sf2",
            "type": "subflow",
            "name": "Subflow 2",
            "in": [{"wires": []}],
            "out": [{"wires": [{"id": "sf2", "port": 0}]}],
        },
        node("sf1-1", z="sf1", wires=[["sf1-2"]]),
        {"id": "sf1-2", "type": "subflow:sf2", "z": "sf1", "x": 1, "y": 1, "wires": [[]]},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").receive({"payload": "test"})
        await h.node("o3").next_input()
        assert handled(h, "1") == handled(h, "3") == 1
    assert {"1", "3", "4"} <= set(CLOSED)


async def test_start_rewires_a_subflow_node_on_update_start():
    """it("rewires a subflow node on update/start"): after a deploy that rewires the instance
    from 3 to 4, messages leave the subflow to 4 (flowrt redeploys in full)"""

    def config(target):
        return [
            TAB,
            node("1", wires=[["2"]]),
            {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [[target]]},
            node("3", wires=[["o3"]]),
            node("4", wires=[["o4"]]),
            helper("o3"),
            helper("o4"),
            subflow("sf1", ["sf1-1"], [[("sf1-2", 0)]]),
            node("sf1-1", z="sf1", wires=[["sf1-2"]]),
            node("sf1-2", z="sf1", wires=[[]]),
        ]

    async with FlowTestHarness(config("3")) as h:
        h.node("1").receive({"payload": "test"})
        assert (await h.node("o3").next_input())["payload"] == "test"
        await h.redeploy(config("4"))
        h.node("1").receive({"payload": "test2"})
        assert (await h.node("o4").next_input())["payload"] == "test2"
        await settle()
        assert [m["payload"] for m in h.node("o3").received] == ["test"]


# ----- #handleStatus / status node ----------------------------------------------------------


def status_flow(status_scope=None, sf_node_type="nr-sf-test-status", sf_status=None):
    sf = subflow("sf1", ["sf1-1"], [[("sf1-1", 0)]])
    if sf_status is not None:
        sf["status"] = sf_status
    status_node = {"id": "sn", "type": "status", "z": "t1", "wires": [["out"]]}
    if status_scope is not None:
        status_node["scope"] = status_scope
    return [
        TAB,
        node("1", wires=[["2"]], name="a"),
        {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [["3"]]},
        node("3"),
        sf,
        {
            "id": "sf1-1",
            "type": sf_node_type,
            "name": "test-status-node",
            "z": "sf1",
            "x": 1,
            "y": 1,
            "wires": [[]],
        },
        status_node,
        helper("out"),
    ]


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(None, id="passes a status event to the subflow's parent tab status node - all scope"),
        pytest.param(
            ["2"], id="passes a status event to the subflow's parent tab status node - targetted scope"
        ),
    ],
)
async def test_handlestatus_passes_a_status_event_to_the_subflows_parent_tab_status_node(scope):
    """it("passes a status event to the subflow's parent tab status node - all scope") and
    it("... - targetted scope"): a status node scoped to the instance gets its inner nodes' status"""
    async with FlowTestHarness(status_flow(scope)) as h:
        h.node("1").receive({"payload": "test"})
        status = (await h.node("out").next_input())["status"]
        assert status["text"] == "test status"
        assert (status["source"]["type"], status["source"]["name"]) == (
            "nr-sf-test-status",
            "test-status-node",
        )
        await settle()
        assert len(h.node("out").received) == 1


@pytest.mark.parametrize(
    ("msg", "text"),
    [
        pytest.param(
            {"payload": "test-payload"},
            "test-payload",
            id="emits a status event when a message is passed to a subflow-status node - msg.payload as string",
        ),
        pytest.param(
            {"payload": {"text": "payload-obj"}},
            "payload-obj",
            id="emits a status event when a message is passed to a subflow-status node - msg.payload as status obj",
        ),
        pytest.param(
            {"status": {"text": "status-obj"}},
            "status-obj",
            id="emits a status event when a message is passed to a subflow-status node - msg.status",
        ),
    ],
)
async def test_status_node_emits_a_status_event_when_a_message_is_passed_to_a_subflow_status_node(msg, text):
    """it("emits a status event when a message is passed to a subflow-status node - msg.payload
    as string" / "- msg.payload as status obj" / "- msg.status"): the instance node reports it"""
    flow = status_flow(sf_node_type="nr-sf-test", sf_status={"wires": [{"id": "sf1-1", "port": 0}]})
    async with FlowTestHarness(flow) as h:
        h.node("1").receive(msg)
        status = (await h.node("out").next_input())["status"]
        assert status["text"] == text
        assert (status["source"]["id"], status["source"]["type"]) == ("2", "subflow:sf1")


async def test_status_node_does_not_emit_a_regular_status_event_if_it_contains_a_subflow_status_node():
    """it("does not emit a regular status event if it contains a subflow-status node")"""
    async with FlowTestHarness(status_flow(sf_status={"wires": []})) as h:
        emitted = asyncio.Event()
        h.runtime.status_listeners.append(lambda node, status: emitted.set())
        h.node("1").receive({"payload": "test-payload"})
        await asyncio.wait_for(emitted.wait(), 5)  # the inner node did set its status
        await settle()
        assert h.node("out").received == []


# ----- #handleError ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(None, id="passes an error event to the subflow's parent tab catch node - all scope"),
        pytest.param(
            ["2"], id="passes an error event to the subflow's parent tab catch node - targetted scope"
        ),
    ],
)
async def test_handleerror_passes_an_error_event_to_the_subflows_parent_tab_catch_node(scope):
    """it("passes an error event to the subflow's parent tab catch node - all scope") and
    it("... - targetted scope")"""
    catch = {"id": "sn", "type": "catch", "z": "t1", "wires": [["out"]]}
    if scope is not None:
        catch["scope"] = scope
    flow = [
        TAB,
        node("1", wires=[["2"]], name="a"),
        {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [["3"]]},
        node("3"),
        subflow("sf1", ["sf1-1"], [[("sf1-1", 0)]]),
        {
            "id": "sf1-1",
            "type": "nr-sf-test-error",
            "name": "test-error-node",
            "z": "sf1",
            "x": 1,
            "y": 1,
            "wires": [[]],
        },
        catch,
        helper("out"),
    ]
    async with FlowTestHarness(flow) as h:
        h.node("1").receive({"payload": "test"})
        error = (await h.node("out").next_input())["error"]
        assert error["message"] == "test error"
        assert (error["source"]["type"], error["source"]["name"]) == ("nr-sf-test-error", "test-error-node")
        await settle()
        assert len(h.node("out").received) == 1


# ----- #env var -------------------------------------------------------------------------------


def env_flow(sf_env=None, env_type="nr-sf-test-env", instance_name=None, key="__KEY__"):
    instance = {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [["3"]]}
    if instance_name:
        instance["name"] = instance_name
    sf = subflow("sf1", ["sf1-1"], [[("sf1-2", 0)]])
    if sf_env is not None:
        sf["env"] = sf_env
    return [
        TAB,
        node("1", wires=[["2"]]),
        instance,
        node("3", wires=[["out"]]),
        helper("out"),
        sf,
        node("sf1-1", z="sf1", wires=[["sf1-2"]]),
        node("sf1-2", z="sf1", wires=[[]], type_=env_type, key=key),
    ]


async def test_env_var_can_access_process_env_var(monkeypatch):
    """it("can access process env var") (set after the flow started, as in the spec)"""
    async with FlowTestHarness(env_flow()) as h:
        monkeypatch.setenv("__KEY__", "__VAL__")
        h.node("1").receive({"payload": "test"})
        assert (await h.node("out").next_input())["payload"] == "__VAL__"


async def test_env_var_can_access_subflow_env_var(monkeypatch):
    """it("can access subflow env var"): the subflow's env hides the process env"""
    sf_env = [{"name": "__KEY__", "value": "__VAL1__", "type": "str"}]
    async with FlowTestHarness(env_flow(sf_env)) as h:
        monkeypatch.setenv("__KEY__", "__VAL0__")
        h.node("1").receive({"payload": "test"})
        assert (await h.node("out").next_input())["payload"] == "__VAL1__"


async def test_env_var_can_access_nested_subflow_env_var(monkeypatch):
    """it("can access nested subflow env var"): process, tab, outer subflow, inner subflow and
    inner instance env all visible from a node in the inner subflow"""
    flow = [
        {"id": "t1", "type": "tab", "env": [{"name": "__KEY1__", "value": "t1", "type": "str"}]},
        node("1", wires=[["2"]]),
        {"id": "2", "type": "subflow:sf1", "z": "t1", "x": 1, "y": 1, "wires": [["3"]]},
        node("3", wires=[["out"]]),
        helper("out"),
        {
            **subflow("sf1", ["sf1-1"], [[("sf1-2", 0)]]),
            "env": [{"name": "__KEY2__", "value": "sf1", "type": "str"}],
        },
        {
            **subflow("sf2", ["sf2-1"], [[("sf2-2", 0)]]),
            "env": [{"name": "__KEY3__", "value": "sf2", "type": "str"}],
        },
        node("sf1-1", z="sf1", wires=[["sf1-2"]]),
        {
            "id": "sf1-2",
            "type": "subflow:sf2",
            "z": "sf1",
            "x": 1,
            "y": 1,
            "wires": [[]],
            "env": [{"name": "__KEY4__", "value": "sf1-2", "type": "str"}],
        },
        node("sf2-1", z="sf2", wires=[["sf2-2"]]),
        node("sf2-2", z="sf2", wires=[[]], type_="nr-sf-test-env"),
    ]
    async with FlowTestHarness(flow) as h:
        monkeypatch.setenv("__KEY__", "__VAL0__")
        h.node("1").receive({"payload": "test"})
        received = (await h.node("out").next_input())["receivedEnv"]
        assert received == {
            "__KEY__": "__VAL0__",
            "__KEY1__": "t1",
            "__KEY2__": "sf1",
            "__KEY3__": "sf2",
            "__KEY4__": "sf1-2",
        }


async def test_env_var_can_access_name_of_subflow_as_env_var():
    """it("can access name of subflow as env var"): NR_NODE_NAME of the subflow is the instance's name"""
    async with FlowTestHarness(env_flow(instance_name="SFN", key="NR_NODE_NAME")) as h:
        h.node("1").receive({"payload": "test"})
        assert (await h.node("out").next_input())["payload"] == "SFN"


async def test_env_var_can_access_id_of_subflow_as_env_var():
    """it("can access id of subflow as env var"): NR_NODE_ID of the subflow is the instance's id"""
    async with FlowTestHarness(env_flow(instance_name="SFN", key="NR_NODE_ID")) as h:
        h.node("1").receive({"payload": "test"})
        assert (await h.node("out").next_input())["payload"] == "2"
