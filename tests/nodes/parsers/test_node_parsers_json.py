"""Ports of Node-RED's test/nodes/core/parsers/70-JSON_spec.js."""

import flowrt.nodes.parsers.json  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness

SCHEMA = {
    "title": "testSchema",
    "type": "object",
    "properties": {"number": {"type": "number"}, "string": {"type": "string"}},
}
EMPLOYEES = {"employees": [{"firstName": "John", "lastName": "Smith"}]}
EMPLOYEES_TEXT = '{"employees":[{"firstName":"John","lastName":"Smith"}]}'


def flow(**config):
    return [{"id": "jn1", "type": "json", "wires": [["jn2"]], **config}, {"id": "jn2", "type": "helper"}]


async def run_error(msg, **config):
    async with FlowTestHarness(flow(**config)) as h:
        h.node("jn1").receive(msg)
        err, emsg = await h.node("jn1").next_error()
        assert h.node("jn2").received == []
        return str(err), emsg


async def test_valid_json_string_to_object(run_flow):
    text = ' {"employees":[{"firstName":"John", "lastName":"Smith"}]}\r\n '
    [msg] = await run_flow(flow(), [{"payload": text, "topic": "bar"}])
    assert msg["topic"] == "bar"
    assert msg["payload"] == EMPLOYEES


async def test_buffer_of_json_to_object(run_flow):
    text = b' {"employees":[{"firstName":"John", "lastName":"Smith"}]}\r\n '
    [msg] = await run_flow(flow(action="obj"), [{"payload": text, "topic": "bar"}])
    assert msg["payload"] == EMPLOYEES


async def test_object_to_json_string(run_flow):
    [msg] = await run_flow(flow(), [{"payload": EMPLOYEES}])
    assert msg["payload"] == EMPLOYEES_TEXT


@pytest.mark.parametrize(
    ("value", "text"), [([1, 2, 3], "[1,2,3]"), (True, "true"), (2019, "2019"), (None, "null")]
)
async def test_value_to_json_string(value, text, run_flow):
    [msg] = await run_flow(flow(), [{"payload": value}])
    assert msg["payload"] == text


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1962", 1962)])
async def test_json_string_to_value(text, value, run_flow):
    [msg] = await run_flow(flow(), [{"payload": text}])
    assert msg["payload"] == value


async def test_pretty_output(run_flow):
    [msg] = await run_flow(flow(pretty=True), [{"payload": {"a": 1}}])
    assert msg["payload"] == '{\n    "a": 1\n}'


async def test_error_on_invalid_json_string():
    err, msg = await run_error({"payload": "foo", "topic": "bar"})
    assert err.startswith("Unexpected token 'o'")
    assert msg["topic"] == "bar"


async def test_error_on_invalid_json_in_buffer():
    err, _ = await run_error({"payload": b'{"name":foo}', "topic": "bar"}, action="obj")
    assert err.startswith("Unexpected token 'o'")


async def test_error_is_catchable():
    nodes = flow() + [
        {"id": "c1", "type": "catch", "wires": [["jn3"]]},
        {"id": "jn3", "type": "helper"},
    ]
    from flowrt.engine.registry import registry

    if registry.get_type("catch") is None:
        pytest.skip("catch node not available in this tree")
    async with FlowTestHarness(nodes) as h:
        h.node("jn1").receive({"payload": "{"})
        msg = await h.node("jn3").next_input()
        assert msg["error"]["message"] == "Unexpected end of JSON input"


async def test_pass_through_without_payload(run_flow):
    [msg] = await run_flow(flow(), [{"topic": "bar"}])
    assert msg["topic"] == "bar"
    assert "payload" not in msg


async def test_action_str_always_gives_string(run_flow):
    msgs = await run_flow(
        flow(action="str"),
        [{"payload": EMPLOYEES, "topic": "bar"}, {"payload": EMPLOYEES_TEXT, "topic": "bar"}],
        2,
    )
    assert [m["payload"] for m in msgs] == [EMPLOYEES_TEXT, EMPLOYEES_TEXT]


async def test_action_obj_always_gives_object(run_flow):
    msgs = await run_flow(
        flow(action="obj"),
        [{"payload": EMPLOYEES, "topic": "bar"}, {"payload": EMPLOYEES_TEXT, "topic": "bar"}],
        2,
    )
    assert [m["payload"] for m in msgs] == [EMPLOYEES, EMPLOYEES]
    assert all(m["topic"] == "bar" for m in msgs)


async def test_any_property_existing_string(run_flow):
    text = '{"employees":[{"firstName":"John", "lastName":"Smith"}]}'
    [msg] = await run_flow(flow(property="one.two"), [{"payload": "", "one": {"two": text}, "topic": "bar"}])
    assert msg["one"]["two"] == EMPLOYEES
    assert msg["payload"] == ""


async def test_any_property_existing_object(run_flow):
    [msg] = await run_flow(flow(property="one.two"), [{"payload": "", "one": {"two": EMPLOYEES}}])
    assert msg["one"]["two"] == EMPLOYEES_TEXT


async def test_valid_json_string_and_schema_gives_object(run_flow):
    [msg] = await run_flow(flow(), [{"payload": '{"number": 3, "string": "allo"}', "schema": SCHEMA}])
    assert msg["payload"] == {"number": 3, "string": "allo"}


async def test_valid_object_and_schema_action_obj(run_flow):
    [msg] = await run_flow(
        flow(action="obj"), [{"payload": {"number": 3, "string": "allo"}, "schema": SCHEMA}]
    )
    assert msg["payload"] == {"number": 3, "string": "allo"}


async def test_valid_object_and_schema_gives_string(run_flow):
    [msg] = await run_flow(flow(), [{"payload": {"number": 3, "string": "allo"}, "schema": SCHEMA}])
    assert msg["payload"] == '{"number":3,"string":"allo"}'


async def test_valid_string_and_schema_action_str(run_flow):
    [msg] = await run_flow(
        flow(action="str"), [{"payload": '{"number":3,"string":"allo"}', "schema": SCHEMA}]
    )
    assert msg["payload"] == '{"number":3,"string":"allo"}'


@pytest.mark.parametrize(
    ("payload", "action"),
    [
        ({"number": "foo", "string": 3}, ""),
        ({"number": "foo", "string": 3}, "obj"),
        ('{"number":"Hello","string":3}', ""),
        ('{"number":"Hello","string":3}', "str"),
    ],
)
async def test_schema_validation_error(payload, action):
    err, msg = await run_error({"payload": payload, "schema": SCHEMA}, action=action)
    assert err.startswith("JSON Schema error: ")
    errors = msg["schemaError"]
    assert {e["instancePath"] for e in errors} == {"/number", "/string"}
    assert all(e["keyword"] == "type" for e in errors)


async def test_invalid_schema_is_compile_error():
    err, _ = await run_error({"payload": {"number": "foo"}, "schema": "garbage"})
    assert err == "The JSON Schema (msg.schema) could not be compiled"


@pytest.mark.parametrize("payload", ['{"number":3,"string":"allo"}', {"number": 3, "string": "allo"}])
async def test_schema_deleted_before_sending(payload, run_flow):
    [msg] = await run_flow(flow(action="str"), [{"payload": payload, "schema": SCHEMA}])
    assert "schema" not in msg


async def test_schema_recompiled_when_it_changes():
    other = {"type": "object", "required": ["x"]}
    async with FlowTestHarness(flow()) as h:
        h.node("jn1").receive({"payload": '{"number": 3}', "schema": SCHEMA})
        await h.node("jn2").next_input()
        h.node("jn1").receive({"payload": '{"number": 3}', "schema": other})
        err, msg = await h.node("jn1").next_error()
        assert msg["schemaError"][0]["params"] == {"missingProperty": "x"}
