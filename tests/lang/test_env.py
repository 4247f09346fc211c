import pytest

from flowrt.context import ContextManager
from flowrt.lang.env import (
    ENV_PROPERTY_RE,
    evaluate_env_property,
    substitute_env_properties,
    substitute_env_string,
)
from flowrt.lang.envlist import evaluate_env_list

PARENT = {"WHO": "Joe", "PORT": 1880, "FLAG": True, "OBJ": {"a": [1]}, "SELF": "parent-self"}


def parent_lookup(name):
    return PARENT.get(name)


# ------------------------------------------------------------ ENV_PROPERTY_RE


@pytest.mark.parametrize("text", ["${FOO}", "$(FOO)", "${a.b}"])
def test_env_property_re_matches_whole(text):
    assert ENV_PROPERTY_RE.fullmatch(text)


@pytest.mark.parametrize("text", ["x${FOO}", "${FOO}x", "${FO O}", "${}", "$FOO"])
def test_env_property_re_rejects(text):
    assert not ENV_PROPERTY_RE.fullmatch(text)


# ------------------------------------------------------------ substitute_env_properties


def test_substitute_env_properties_keeps_types_and_nests():
    config = {
        "id": "${WHO}",
        "type": "inject",
        "z": "${WHO}",
        "wires": [["${WHO}"]],
        "name": "${WHO}",
        "port": "${PORT}",
        "old": "$(FLAG)",
        "partial": "Hi ${WHO}",
        "missing": "${NOPE}",
        "props": [{"p": "payload", "v": "${OBJ}"}],
        "nested": {"deep": {"x": "${PORT}"}},
        "num": 5,
        "none": None,
    }
    substitute_env_properties(config, parent_lookup)
    assert config["id"] == "${WHO}"
    assert config["z"] == "${WHO}"
    assert config["wires"] == [["${WHO}"]]
    assert config["name"] == "Joe"
    assert config["port"] == 1880
    assert config["old"] is True
    assert config["partial"] == "Hi ${WHO}"
    assert config["missing"] == "${NOPE}"
    assert config["props"][0]["v"] == {"a": [1]}
    assert config["nested"]["deep"]["x"] == 1880
    assert config["num"] == 5 and config["none"] is None


def test_substitute_env_properties_leaves_bytes_alone():
    config = {"data": b"${WHO}"}
    substitute_env_properties(config, parent_lookup)
    assert config["data"] == b"${WHO}"


# ------------------------------------------------------------ strings / env property


def test_substitute_env_string():
    assert substitute_env_string("Hello ${WHO}!", parent_lookup) == "Hello Joe!"
    assert substitute_env_string("${NOPE}-${PORT}-${FLAG}", parent_lookup) == "-1880-true"
    assert substitute_env_string("no vars", parent_lookup) == "no vars"


def test_evaluate_env_property_forms():
    assert evaluate_env_property("WHO", parent_lookup) == "Joe"
    assert evaluate_env_property("${PORT}", parent_lookup) == 1880
    assert evaluate_env_property("${NOPE}", parent_lookup) == ""
    assert evaluate_env_property("NOPE", parent_lookup) == ""
    assert evaluate_env_property("a${WHO}b", parent_lookup) == "aJoeb"


# ------------------------------------------------------------ evaluate_env_list


def test_env_list_basic_types():
    env = [
        {"name": "S", "value": "text", "type": "str"},
        {"name": "N", "value": "42", "type": "num"},
        {"name": "F", "value": "1.5", "type": "num"},
        {"name": "B1", "value": "true", "type": "bool"},
        {"name": "B2", "value": "false", "type": "bool"},
        {"name": "B3", "value": True, "type": "bool"},
        {"name": "J", "value": '{"a": [1, 2]}', "type": "json"},
        {"name": "BIN", "value": "[65, 66]", "type": "bin"},
        {"name": "C", "value": "secret", "type": "cred"},
        {"name": "U", "value": "kept", "type": "something-else"},
    ]
    result = evaluate_env_list(env, parent_lookup)
    assert result == {
        "S": "text",
        "N": 42,
        "F": 1.5,
        "B1": True,
        "B2": False,
        "B3": True,
        "J": {"a": [1, 2]},
        "BIN": b"AB",
        "C": "secret",
        "U": "kept",
    }


def test_env_list_credentials_replace_cred_values():
    env = [{"name": "PASS", "value": "", "type": "cred"}]
    assert evaluate_env_list(env, parent_lookup, credentials={"PASS": "s3cret"}) == {"PASS": "s3cret"}


def test_env_list_env_type_resolves_same_level_then_parent():
    env = [
        {"name": "A", "value": "${LOCAL}-${WHO}", "type": "env"},
        {"name": "LOCAL", "value": "here", "type": "str"},
        {"name": "B", "value": "LOCAL", "type": "env"},
        {"name": "C", "value": "PORT", "type": "env"},
        {"name": "D", "value": "NOPE", "type": "env"},
        {"name": "E", "value": "A", "type": "env"},
    ]
    result = evaluate_env_list(env, parent_lookup)
    assert result["A"] == "here-Joe"
    assert result["B"] == "here"
    assert result["C"] == 1880
    assert result["D"] == ""
    assert result["E"] == "here-Joe"


def test_env_list_self_reference_reads_parent():
    env = [{"name": "SELF", "value": "SELF", "type": "env"}]
    assert evaluate_env_list(env, parent_lookup) == {"SELF": "parent-self"}
    env = [{"name": "SELF", "value": "${SELF}", "type": "env"}, {"name": "X", "value": "1", "type": "str"}]
    # "${SELF}" looks up at this level, where SELF is not yet defined: parent
    assert evaluate_env_list(env, parent_lookup)["SELF"] == "parent-self"


def test_env_list_parent_prefix():
    env = [
        {"name": "WHO", "value": "local", "type": "str"},
        {"name": "P", "value": "${$parent.WHO}", "type": "env"},
        {"name": "Q", "value": "${WHO}", "type": "env"},
    ]
    result = evaluate_env_list(env, parent_lookup)
    assert result["P"] == "Joe"
    assert result["Q"] == "local"


def test_env_list_conf_type():
    env = [{"name": "CFG", "value": "${WHO}", "type": "conf-type"}]
    assert evaluate_env_list(env, parent_lookup) == {"CFG": "Joe"}


def test_env_list_errors_are_reported_and_give_none():
    errors = []
    env = [
        {"name": "BAD", "value": "abc", "type": "num"},
        {"name": "BADJ", "value": "{", "type": "json"},
        {"name": "OK", "value": "1", "type": "num"},
    ]
    result = evaluate_env_list(env, parent_lookup, on_error=errors.append)
    assert result == {"BAD": None, "BADJ": None, "OK": 1}
    assert len(errors) == 2 and "'BAD'" in errors[0]


class FlowLike:
    """A flow/group passed as jsonata_node: gives context and NR_ settings."""

    def __init__(self, manager):
        self.manager = manager
        self.ctx = manager.flow_context("tab1")
        self.ctx.flow = self.ctx
        self.ctx.global_ = manager.global_context()

    def context(self):
        return self.ctx

    def get_setting(self, name):
        if name == "NR_FLOW_NAME":
            return "My Tab"
        return None


def test_env_list_jsonata():
    manager = ContextManager(None, None)
    flow = FlowLike(manager)
    flow.ctx.set("count", 5)
    manager.global_context().set("g", "G")
    env = [
        {"name": "J1", "value": "1 + 2", "type": "jsonata"},
        {"name": "J2", "value": '$flowContext("count") * 2', "type": "jsonata"},
        {"name": "J3", "value": '$globalContext("g") & $env("WHO")', "type": "jsonata"},
        {"name": "J4", "value": '{"a": [1]}', "type": "jsonata"},
        {"name": "JBAD", "value": "$nope(", "type": "jsonata"},
    ]
    errors = []
    result = evaluate_env_list(env, parent_lookup, flow, on_error=errors.append)
    assert result["J1"] == 3
    assert result["J2"] == 10
    assert result["J3"] == "GJoe"
    assert result["J4"] == {"a": [1]}
    assert result["JBAD"] is None and errors


def test_env_list_nr_builtins_from_own_level():
    manager = ContextManager(None, None)
    env = [{"name": "T", "value": "${NR_FLOW_NAME}", "type": "env"}]
    assert evaluate_env_list(env, parent_lookup, FlowLike(manager)) == {"T": "My Tab"}


def test_env_list_date_and_skips_nameless():
    env = [
        {"name": "D", "value": "", "type": "date"},
        {"value": "x", "type": "str"},
        {"name": "", "value": "y"},
    ]
    result = evaluate_env_list(env, parent_lookup)
    assert list(result) == ["D"]
    assert isinstance(result["D"], int)
