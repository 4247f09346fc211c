"""Ports of Node-RED's test/nodes/core/parsers/70-YAML_spec.js."""

import flowrt.nodes.parsers.yaml  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness

YAML_TEXT = "employees:\n  - firstName: John\n    lastName: Smith\n"
OBJ = {"employees": [{"firstName": "John", "lastName": "Smith"}]}


def flow(**config):
    return [{"id": "yn1", "type": "yaml", "wires": [["yn2"]], **config}, {"id": "yn2", "type": "helper"}]


async def test_loaded():
    async with FlowTestHarness([{"id": "y1", "type": "yaml", "name": "yamlNode"}]) as h:
        assert h.node("y1").node.name == "yamlNode"


async def test_yaml_string_to_object(run_flow):
    [msg] = await run_flow(flow(), {"payload": YAML_TEXT, "topic": "bar"})
    assert msg["topic"] == "bar"
    assert msg["payload"] == OBJ


async def test_yaml_string_to_object_other_property(run_flow):
    [msg] = await run_flow(flow(property="foo"), {"foo": YAML_TEXT, "topic": "bar"})
    assert msg["foo"] == OBJ


async def test_object_to_yaml_string(run_flow):
    [msg] = await run_flow(flow(), {"payload": OBJ})
    assert msg["payload"] == YAML_TEXT


async def test_object_to_yaml_string_other_property(run_flow):
    [msg] = await run_flow(flow(property="foo"), {"foo": OBJ})
    assert msg["foo"] == YAML_TEXT


async def test_array_to_yaml_string(run_flow):
    [msg] = await run_flow(flow(), {"payload": [1, 2, 3]})
    assert msg["payload"] == "- 1\n- 2\n- 3\n"


async def test_error_on_invalid_yaml():
    async with FlowTestHarness(flow()) as h:
        h.node("yn1").receive(
            {"payload": "employees:\n-firstName: John\n- lastName: Smith\n", "topic": "bar"}
        )
        err, msg = await h.node("yn1").next_error()
        assert "expected" in str(err)
        assert msg["topic"] == "bar"
        assert h.node("yn2").received == []


async def test_warn_on_non_yaml_values():
    async with FlowTestHarness(flow()) as h:
        for p in (True, 1, b"a"):
            h.node("yn1").receive({"payload": p})
        warnings = [await h.node("yn1").next_log("warn") for _ in range(3)]
        assert "bytes" in warnings[2].text
        assert all("Dropped" in w.text for w in warnings)
        assert h.node("yn2").received == []


async def test_pass_through_without_payload(run_flow):
    [msg] = await run_flow(flow(), {"topic": "bar"})
    assert msg["topic"] == "bar"
    assert "payload" not in msg


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: yes", {"a": "yes"}),
        ("d: 2020-01-01", {"d": "2020-01-01"}),
        ("b: true", {"b": True}),
        ("n: ~", {"n": None}),
    ],
)
async def test_yaml_1_2_core_schema_scalars(text, value, run_flow):
    [msg] = await run_flow(flow(), {"payload": text})
    assert msg["payload"] == value
