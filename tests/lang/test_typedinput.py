import datetime as dt
import re
import time

import pytest

from flowrt.context import ContextManager
from flowrt.lang.jsvalues import JSRegExp
from flowrt.lang.propertypath import PropertyPathError
from flowrt.lang.typedinput import (
    JsonataError,
    PreparedJsonata,
    TypedInputError,
    evaluate_jsonata,
    evaluate_node_property,
    format_moment,
    parse_js_number,
    prepare_jsonata,
)


class FakeNode:
    """The smallest thing evaluate_node_property needs of a node."""

    def __init__(self, manager, node_id="n1", flow_id="f1", env=None, name="my node"):
        self.id = node_id
        self.name = name
        self._ctx = manager.node_context(node_id, flow_id)
        self._env = env or {}

    def context(self):
        return self._ctx

    def get_setting(self, name):
        if name == "NR_NODE_ID":
            return self.id
        if name == "NR_NODE_NAME":
            return self.name
        return self._env.get(name)


@pytest.fixture
def manager(tmp_path):
    return ContextManager(
        {"default": {"module": "memory"}, "other": {"module": "memory"}},
        tmp_path,
    )


@pytest.fixture
def node(manager):
    return FakeNode(manager, env={"WHO": "Joe", "NUM": 42, "OBJ": {"a": 1}})


# ------------------------------------------------------------ scalars


def test_str():
    assert evaluate_node_property("hello", "str", None, None) == "hello"
    assert evaluate_node_property(5, "str", None, None) == "5"
    assert evaluate_node_property(True, "str", None, None) == "true"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0123", 123),
        ("12", 12),
        (" 7 ", 7),
        ("-3", -3),
        ("1.5", 1.5),
        ("2.0", 2),
        ("1e3", 1000),
        (".5", 0.5),
        ("0x10", 16),
        ("", 0),
        (3.25, 3.25),
        (4, 4),
    ],
)
def test_num(text, expected):
    result = evaluate_node_property(text, "num", None, None)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("bad", ["abc", "1.2.3", "12px", "0xZZ"])
def test_num_invalid(bad):
    with pytest.raises(TypedInputError, match="Invalid number"):
        evaluate_node_property(bad, "num", None, None)


def test_parse_js_number_infinity():
    assert parse_js_number("-Infinity") == float("-inf")


def test_bool():
    assert evaluate_node_property("true", "bool", None, None) is True
    assert evaluate_node_property("TrUe", "bool", None, None) is True
    assert evaluate_node_property("false", "bool", None, None) is False
    assert evaluate_node_property("", "bool", None, None) is False
    assert evaluate_node_property("yes", "bool", None, None) is False
    assert evaluate_node_property(True, "bool", None, None) is True


def test_json():
    assert evaluate_node_property('{"a":123}', "json", None, None) == {"a": 123}
    assert evaluate_node_property("[1,2]", "json", None, None) == [1, 2]
    with pytest.raises(TypedInputError, match="Invalid JSON"):
        evaluate_node_property("{bad", "json", None, None)


def test_re():
    pattern = evaluate_node_property("^abc$", "re", None, None)
    assert isinstance(pattern, JSRegExp)  # new RegExp("^abc$")
    assert pattern.pattern == "^abc$"
    assert pattern.search("abc")
    assert not pattern.search("abc\n")  # JavaScript's $ is the end of input
    with pytest.raises(TypedInputError):
        evaluate_node_property("(", "re", None, None)


def test_bin():
    assert evaluate_node_property("[1, 2]", "bin", None, None) == b"\x01\x02"
    assert evaluate_node_property('"hi"', "bin", None, None) == b"hi"
    with pytest.raises(TypedInputError) as info:
        evaluate_node_property("12", "bin", None, None)
    assert info.value.code == "INVALID_BUFFER_DATA"


def test_null_and_pass_through_types():
    assert evaluate_node_property(None, "null", None, None) is None
    assert evaluate_node_property("abc123", "node", None, None) == "abc123"
    assert evaluate_node_property("secret", "cred", None, None) == "secret"


@pytest.mark.parametrize("kind", ["wibble", "string", "Num", ""])
def test_unknown_type_passes_the_value_through(kind):
    # Node-RED's evaluateNodeProperty starts from `result = value` and changes it only for types it knows
    assert evaluate_node_property("x", kind, None, None) == "x"
    assert evaluate_node_property(12, kind, None, {"x": 1}) == 12


def test_jsonata_tells_no_result_from_null():
    missing = object()
    assert evaluate_jsonata("$.b", {"a": 1}, undefined=missing) is missing
    assert evaluate_jsonata("$.b", {"a": 1}) is None
    assert evaluate_jsonata("null", {}, undefined=missing) is None
    assert evaluate_jsonata("$.a", {"a": None}, undefined=missing) is None
    assert evaluate_jsonata('{"x": null, "y": [null]}', {}, undefined=missing) == {"x": None, "y": [None]}


@pytest.mark.parametrize(
    "expression,expected",
    [("$.a /* note */", 1), ("/* lead */ $.a", 1), ("$.a /* one */ + /* two */ 1 /**/", 2)],
)
def test_jsonata_comments_anywhere(expression, expected):
    assert evaluate_jsonata(expression, {"a": 1}) == expected


@pytest.mark.parametrize("expression", ["$.a /* open", "$.a /*", "$.a /"])
def test_jsonata_unfinished_comment_is_a_clear_error(expression):
    with pytest.raises(JsonataError, match="Invalid JSONata expression"):
        prepare_jsonata(expression)


# ------------------------------------------------------------ dates


def test_date_default_is_epoch_millis():
    before = time.time_ns() // 1_000_000
    result = evaluate_node_property("", "date", None, None)
    after = time.time_ns() // 1_000_000
    assert isinstance(result, int)
    assert before <= result <= after


def test_date_iso():
    result = evaluate_node_property("iso", "date", None, None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result)


def test_date_object():
    result = evaluate_node_property("object", "date", None, None)
    assert isinstance(result, dt.datetime)
    assert result.tzinfo is not None


def test_date_custom_format():
    result = evaluate_node_property("YYYY-MM-DD", "date", None, None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", result)


def test_format_moment_tokens():
    when = dt.datetime(2020, 5, 3, 14, 7, 9, 45000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_moment("YYYY-MM-DD HH:mm:ss.SSS", when) == "2020-05-03 14:07:09.045"
    assert format_moment("D/M/YY h:mm a", when) == "3/5/20 2:07 pm"
    assert format_moment("Do MMM [at] HH Z ZZ", when) == "3rd May at 14 +02:00 +0200"
    assert format_moment("X", when) == str(int(when.timestamp()))


# ------------------------------------------------------------ msg / flow / global


def test_msg():
    msg = {"foo": {"bar": "123"}}
    assert evaluate_node_property("foo.bar", "msg", None, msg) == "123"
    assert evaluate_node_property("msg.foo.bar", "msg", None, msg) == "123"
    assert evaluate_node_property("foo.baz", "msg", None, msg) is None


def test_msg_bad_expression_raises():
    with pytest.raises(PropertyPathError):
        evaluate_node_property(" ", "msg", None, {"foo": 1})


def test_flow_and_global(node):
    node.context().flow.set("foo", {"bar": "123"})
    node.context().global_.set("foo", {"bar": "456"})
    assert evaluate_node_property("foo.bar", "flow", node, {}) == "123"
    assert evaluate_node_property("foo.bar", "global", node, {}) == "456"
    assert evaluate_node_property("missing", "flow", node, {}) is None


def test_flow_with_store_prefix(node):
    node.context().flow.set("k", "default-store")
    node.context().flow.set("k", "other-store", "other")
    assert evaluate_node_property("k", "flow", node, None) == "default-store"
    assert evaluate_node_property("#:(other)::k", "flow", node, None) == "other-store"
    node.context().global_.set("#:(other)::g", 9)
    assert evaluate_node_property("#:(other)::g", "global", node, None) == 9


def test_flow_key_with_nested_msg_reference(node):
    node.context().flow.set("lookup", {"abc": "found"})
    assert evaluate_node_property("lookup[msg.topic]", "flow", node, {"topic": "abc"}) == "found"


def test_flow_without_flow_context(manager):
    node = FakeNode(manager, flow_id=None)
    with pytest.raises(TypedInputError, match="flow"):
        evaluate_node_property("x", "flow", node, {})


# ------------------------------------------------------------ env


def test_env_forms(node):
    assert evaluate_node_property("WHO", "env", node, None) == "Joe"
    assert evaluate_node_property("${WHO}", "env", node, None) == "Joe"
    assert evaluate_node_property("NUM", "env", node, None) == 42
    assert evaluate_node_property("${OBJ}", "env", node, None) == {"a": 1}
    assert evaluate_node_property("${NOPE}", "env", node, None) == ""
    assert evaluate_node_property("${WHO", "env", node, None) == ""
    assert evaluate_node_property("Hi ${WHO}, ${NUM}!", "env", node, None) == "Hi Joe, 42!"
    assert evaluate_node_property("${NR_NODE_NAME}", "env", node, None) == "my node"


def test_env_substituted_value_is_not_expanded_again(manager):
    node = FakeNode(manager, env={"A": "foo", "B": "${A}"})
    assert evaluate_node_property("123${B}456", "env", node, None) == "123${A}456"
    assert evaluate_node_property("123${A}456", "env", node, None) == "123foo456"


def test_env_without_node_reads_process_env(monkeypatch):
    monkeypatch.setenv("FLOWRT_TEST_A", "foo")
    assert evaluate_node_property("FLOWRT_TEST_A", "env", None, None) == "foo"
    assert evaluate_node_property("x${FLOWRT_TEST_A}", "env", None, None) == "xfoo"


# ------------------------------------------------------------ jsonata


def test_jsonata_basic():
    assert evaluate_node_property("$abs(-1)", "jsonata", None, {}) == 1
    assert evaluate_node_property("payload", "jsonata", None, {"payload": "hello"}) == "hello"
    assert evaluate_node_property("payload * 2", "jsonata", None, {"payload": 21}) == 42


def test_jsonata_legacy_mode():
    assert prepare_jsonata("msg.payload").legacy is True
    assert prepare_jsonata("payload").legacy is False
    assert prepare_jsonata("'msg'").legacy is False
    assert evaluate_node_property("msg.payload", "jsonata", None, {"payload": "hello"}) == "hello"


def test_jsonata_results_are_plain_lists():
    result = evaluate_node_property('[1, {"a": [2, 3]}]', "jsonata", None, {})
    assert result == [1, {"a": [2, 3]}]
    assert type(result) is list and type(result[1]["a"]) is list


def test_jsonata_returns_message_objects_by_reference():
    payload = {"a": [1, 2]}
    assert evaluate_node_property("payload", "jsonata", None, {"payload": payload}) is payload


def test_jsonata_context_functions(node):
    node.context().flow.set("foo", "bar")
    node.context().global_.set("g", {"x": 1})
    node.context().flow.set("s", "in-other", "other")
    assert evaluate_node_property('$flowContext("foo")', "jsonata", node, {}) == "bar"
    assert evaluate_node_property('$globalContext("g").x', "jsonata", node, {}) == 1
    assert evaluate_node_property('$flowContext("s", "other")', "jsonata", node, {}) == "in-other"
    assert evaluate_node_property('$flowContext("nonExistent")', "jsonata", node, {}) is None
    assert evaluate_node_property('$globalContext("nonExistent")', "jsonata", node, {}) is None


def test_jsonata_env(node):
    assert evaluate_node_property('$env("WHO")', "jsonata", node, {}) == "Joe"
    assert evaluate_node_property('$env("UNDEFINED_VAR")', "jsonata", node, {}) == ""


def test_jsonata_clone():
    payload = {"a": [1]}
    result = evaluate_node_property("$clone(payload)", "jsonata", None, {"payload": payload})
    assert result == payload and result is not payload


def test_jsonata_errors():
    with pytest.raises(JsonataError):
        evaluate_node_property("$abc(1)", "jsonata", None, {})
    with pytest.raises(JsonataError, match="payload \\+"):
        prepare_jsonata("payload +")
    assert issubclass(JsonataError, TypedInputError)


def test_prepared_expressions_are_cached_and_reusable(node):
    first = prepare_jsonata("payload + 1")
    assert prepare_jsonata("payload + 1") is first
    assert isinstance(first, PreparedJsonata)
    assert evaluate_jsonata(first, {"payload": 1}, node) == 2
    assert evaluate_jsonata(first, {"payload": 10}, node) == 11


def test_jsonata_millis_uses_evaluation_time():
    from jsonata import Jsonata

    millis = prepare_jsonata("$millis()")
    # jsonata-python reads the time from the most recently *compiled*
    # instance; make that one obviously stale.
    stale = prepare_jsonata("1 + 1").jsonata
    stale.timestamp = 0
    Jsonata.CURRENT.jsonata = stale
    before = time.time_ns() // 1_000_000
    value = evaluate_jsonata(millis, {}, None)
    after = time.time_ns() // 1_000_000
    assert before <= value <= after + 1
