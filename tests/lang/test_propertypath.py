import pytest

from flowrt.lang.jsvalues import UNDEFINED
from flowrt.lang.propertypath import (
    PropertyAccessError,
    PropertyPathError,
    delete_message_property,
    get_message_property,
    get_object_property,
    get_property_or_undefined,
    has_message_property,
    normalise_property_expression,
    set_message_property,
    set_object_property,
)

# ------------------------------------------------ normalise_property_expression


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("a.b.c", ["a", "b", "c"]),
        ('a["b"]["c"]', ["a", "b", "c"]),
        ('a["b"].c', ["a", "b", "c"]),
        ("a['b'].c", ["a", "b", "c"]),
        ("a[0].c", ["a", 0, "c"]),
        ("a.0.c", ["a", 0, "c"]),
        ("a['a.b[0]'].c", ["a", "a.b[0]", "c"]),
        ("a[0][0][0]", ["a", 0, 0, 0]),
        ("'1.2.3.4'", ["1.2.3.4"]),
        ("'a.b'[1]", ["a.b", 1]),
        ("'a.b'.c", ["a.b", "c"]),
        ("a[msg.b]", ["a", ["msg", "b"]]),
        ("a[msg[msg.b]]", ["a", ["msg", ["msg", "b"]]]),
        ("a[msg['b]\"[']]", ["a", ["msg", 'b]"[']]),
        ("a[msg['b][']]", ["a", ["msg", "b]["]]),
        ("b[msg.a][2]", ["b", ["msg", "a"], 2]),
        ("a.$b.c", ["a", "$b", "c"]),
        ('a["$b"].c', ["a", "$b", "c"]),
        ("a._b.c", ["a", "_b", "c"]),
        ('a["_b"].c', ["a", "_b", "c"]),
        ("payload", ["payload"]),
        ("a.b-c", ["a", "b-c"]),
        ("a['0']", ["a", "0"]),
    ],
)
def test_normalise_valid(expr, expected):
    assert normalise_property_expression(expr) == expected


def test_normalise_with_message_resolves_refs():
    assert normalise_property_expression("b[msg.a][2]", {"a": "foo"}) == ["b", "foo", 2]
    assert normalise_property_expression("b[msg.a]", {"a": 3}) == ["b", 3]
    # nested reference of a nested reference
    msg = {"k": "x", "x": "y"}
    assert normalise_property_expression("a[msg[msg.k]]", msg) == ["a", "y"]


@pytest.mark.parametrize(
    "expr,msg,expected",
    [
        ("a['a.b[0]'].c", None, 'a["a.b[0]"]["c"]'),
        ("a.b.c", None, 'a["b"]["c"]'),
        ('a[msg.c][0]["fred"]', {"c": "123"}, 'a["123"][0]["fred"]'),
    ],
)
def test_normalise_to_string(expr, msg, expected):
    assert normalise_property_expression(expr, msg, to_string=True) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "a'b'.c",
        "a['b'.c",
        "a[]",
        "a]",
        "a[",
        "a[0d]",
        "a['",
        "a[']",
        "a[0']",
        "a.[0]",
        "[0]",
        "a[0",
        "a.",
        ".a",
        "a. b",
        " a.b",
        "a[0].[1]",
        "a['']",
        "'a.b'c",
        "",
        "a[b]",
        "a[msg.]",
        "a[msg[]",
        "a[msg.[]]",
        "a[msg['af]]",
    ],
)
def test_normalise_invalid(expr):
    with pytest.raises(PropertyPathError):
        normalise_property_expression(expr)


def test_normalise_undefined_reference_with_message():
    with pytest.raises(PropertyPathError, match="undefined"):
        normalise_property_expression("b[msg.undefined][2]", {})


def test_error_names_expression_and_position():
    with pytest.raises(PropertyPathError) as info:
        normalise_property_expression("a. b")
    assert "'a. b'" in str(info.value)
    assert "position 2" in str(info.value)
    assert info.value.code == "INVALID_EXPR"


def test_non_string_expression_rejected():
    with pytest.raises(PropertyPathError):
        normalise_property_expression(None)


# ------------------------------------------------ get


def test_get_object_property_keeps_msg_prefix():
    obj = {"msg": {"a": "foo"}, "a": "bar"}
    assert get_object_property(obj, "msg.a") == "foo"


def test_get_simple_property():
    assert get_message_property({"a": "foo"}, "msg.a") == "foo"
    assert get_message_property({"a": "foo"}, "a") == "foo"


def test_get_nested_reference():
    assert get_message_property({"a": "foo", "b": {"foo": 1, "bar": 2}}, "msg.b[msg.a]") == 1
    assert get_message_property({"a": "bar", "b": {"foo": 1, "bar": 2}}, "b[msg.a]") == 2


def test_get_missing_is_none():
    assert get_message_property({"a": "foo"}, "msg.b") is None
    # a property of a string that does not exist
    assert get_message_property({"a": "foo"}, "msg.a.b") is None


def test_get_missing_parent_raises():
    with pytest.raises(PropertyAccessError):
        get_message_property({"a": "foo"}, "msg.a.b.c")
    with pytest.raises(PropertyAccessError):
        get_message_property({}, "x.y")


def test_get_array_syntax():
    assert get_message_property({"a": ["foo", "bar"]}, "msg.a[0]") == "foo"
    assert get_message_property({"a": [None, {"b": "foo"}]}, "a[1].b") == "foo"
    assert get_message_property({"a": [[["foo"]]]}, "a[0][0][0]") == "foo"
    assert get_message_property({"a": ["x"]}, "a[5]") is None


def test_get_js_like_access():
    msg = {"payload": [1, 2, 3], "s": "abc", "b": b"\x01\x02", "d": {"0": "zero"}}
    assert get_message_property(msg, "payload.length") == 3
    assert get_message_property(msg, "s.length") == 3
    assert get_message_property(msg, "s[1]") == "b"
    assert get_message_property(msg, "b[1]") == 2
    assert get_message_property(msg, "d[0]") == "zero"
    assert get_message_property(msg, "payload['1']") == 2


def test_get_attribute_of_object():
    class Req:
        def __init__(self):
            self.headers = {"host": "x"}

    assert get_message_property({"req": Req()}, "req.headers.host") == "x"


def test_get_bad_syntax_raises():
    with pytest.raises(PropertyPathError):
        get_message_property({}, "a[")


# ------------------------------------------------ set


def test_set_object_property_keeps_msg_prefix():
    obj = {}
    assert set_object_property(obj, "msg.a", "bar") is True
    assert obj == {"msg": {"a": "bar"}}


def test_set_property():
    msg = {"a": "foo"}
    assert set_message_property(msg, "msg.a", "bar") is True
    assert msg["a"] == "bar"


def test_set_deep_property():
    msg = {"a": {"b": {"c": "foo"}}}
    assert set_message_property(msg, "msg.a.b.c", "bar") is True
    assert msg["a"]["b"]["c"] == "bar"


def test_set_creates_missing_parents_by_default():
    msg = {"a": {}}
    assert set_message_property(msg, "msg.a.b.c", "bar") is True
    assert msg["a"]["b"]["c"] == "bar"


@pytest.mark.parametrize(
    "msg,expr",
    [
        ({"a": {}}, "msg.a.b.c"),
        ({"a": {}}, "msg.a.b[1].c"),
        ({"a": "foo"}, "msg.a.b.c"),
        ({"a": "foo"}, "msg.a.b"),
        ({"a": 123}, "msg.a.b"),
        ({"a": 123}, "msg.a.b.c"),
        ({"a": True}, "msg.a.b"),
        ({"a": True}, "msg.a.b.c"),
    ],
)
def test_set_does_not_create_missing(msg, expr):
    before = repr(msg)
    assert set_message_property(msg, expr, "bar", False) is False
    assert repr(msg) == before


def test_set_does_not_set_beneath_primitive_even_when_creating():
    msg = {"a": "foo"}
    assert set_message_property(msg, "a.b", "bar") is False
    assert msg == {"a": "foo"}


def test_set_none_is_stored_as_null():
    msg = {"a": 1}
    assert set_message_property(msg, "a", None) is True
    assert msg == {"a": None}


def test_delete_property():
    msg = {"a": {"b": {"c": "foo"}}}
    assert delete_message_property(msg, "msg.a.b.c") is True
    assert msg == {"a": {"b": {}}}


def test_delete_does_not_create_missing_parents():
    msg = {"a": {}}
    assert delete_message_property(msg, "msg.a.b.c") is False
    assert msg == {"a": {}}


def test_set_array_syntax():
    msg = {"a": {"b": ["foo", {"c": ["", ""]}]}}
    assert set_message_property(msg, "msg.a.b[1].c[1]", "bar") is True
    assert msg["a"]["b"][1]["c"][1] == "bar"


def test_set_creates_missing_array_elements_final():
    msg = {"a": []}
    assert set_message_property(msg, "msg.a[2]", "bar") is True
    assert msg["a"] == [None, None, "bar"]


def test_set_creates_missing_array_elements_mid():
    msg = {}
    assert set_message_property(msg, "msg.a[2].b", "bar") is True
    assert isinstance(msg["a"], list) and len(msg["a"]) == 3
    assert msg["a"][2] == {"b": "bar"}


def test_set_creates_multi_arrays():
    msg = {}
    assert set_message_property(msg, "msg.a[2][2]", "bar") is True
    assert msg["a"] == [None, None, [None, None, "bar"]]


def test_set_does_not_create_array_elements():
    msg = {"a": []}
    assert set_message_property(msg, "msg.a[1][1]", "bar", False) is False
    assert msg["a"] == []
    msg = {"a": {}}
    assert set_message_property(msg, "msg.a.b[2]", "bar", False) is False
    assert msg == {"a": {}}


def test_delete_inside_array():
    msg = {"a": [1, 2, 3]}
    assert delete_message_property(msg, "msg.a[1]") is True
    assert msg["a"] == [1, 3]


def test_set_nested_reference():
    obj = {"a": "foo", "b": {}}
    assert set_object_property(obj, "b[msg.a]", "bar") is True
    assert obj["b"] == {"foo": "bar"}
    obj = {"a": "foo", "b": {"foo": [0, 0, 0]}}
    assert set_object_property(obj, "b[msg.a][2]", "bar") is True
    assert obj["b"]["foo"] == [0, 0, "bar"]


def test_set_int_key_on_dict_uses_string_key():
    msg = {"d": {}}
    assert set_message_property(msg, "d.0", "x") is True
    assert msg["d"] == {"0": "x"}
    assert get_message_property(msg, "d[0]") == "x"


def test_set_on_object_attribute():
    class Thing:
        pass

    t = Thing()
    t.inner = {}
    msg = {"t": t}
    assert set_message_property(msg, "t.inner.x", 1) is True
    assert t.inner == {"x": 1}


# ------------------------------------------------ Node-RED's key types (util.js normalisePropertyExpression)


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("a.4", ["a", "4"]),  # the last segment stays a string
        ("a.4.b", ["a", 4, "b"]),  # a middle one becomes a number
        ("a.0[1]", ["a", "0", 1]),  # so does not the one before a [
        ("a[4]", ["a", 4]),
        ("4", ["4"]),
    ],
)
def test_normalise_key_types_as_node_red(expr, expected):
    result = normalise_property_expression(expr)
    assert result == expected
    assert [type(k) for k in result] == [type(k) for k in expected]


def test_set_trailing_numeric_segment_creates_an_object():
    msg = {}
    assert set_message_property(msg, "msg.a.4", "x") is True
    assert msg == {"a": {"4": "x"}}


def test_set_bracket_index_creates_an_array():
    msg = {}
    assert set_message_property(msg, "a[2]", "x") is True
    assert msg == {"a": [None, None, "x"]}


def test_set_trailing_numeric_segment_on_existing_array_is_an_index():
    msg = {"a": [1, 2]}
    assert set_message_property(msg, "a.3", "x") is True
    assert msg == {"a": [1, 2, None, "x"]}
    assert get_message_property(msg, "a.1") == 2


def test_delete_named_array_element_leaves_a_hole_index_splices():
    msg = {"a": [1, 2, 3], "b": [1, 2, 3]}
    assert delete_message_property(msg, "a.1") is True  # delete arr["1"]
    assert delete_message_property(msg, "b[1]") is True  # arr.splice(1, 1)
    assert msg == {"a": [1, None, 3], "b": [1, 3]}


# ------------------------------------------------ live objects: msg.req


@pytest.fixture
def live_request():
    from aiohttp.test_utils import make_mocked_request

    from flowrt.http.objects import AioRequest

    raw = make_mocked_request("GET", "/hello/Nick?x=1&y=a", headers={"Host": "example.org:1880"})
    return AioRequest(raw, {"name": "Nick"})


def test_get_reads_fields_of_the_live_request(live_request):
    msg = {"req": live_request}
    assert get_message_property(msg, "msg.req.method") == "GET"
    assert get_message_property(msg, "msg.req.params.name") == "Nick"
    assert get_message_property(msg, "msg.req.query.x") == "1"
    assert get_message_property(msg, "req.headers.host") == "example.org:1880"
    assert get_message_property(msg, "req.hostname") == "example.org"
    assert get_message_property(msg, "req.nothing") is None


def test_live_request_private_fields_are_not_readable(live_request):
    msg = {"req": live_request}
    assert get_property_or_undefined(msg, "req._request") is UNDEFINED
    assert get_property_or_undefined(msg, "req.__class__") is UNDEFINED


def test_get_property_or_undefined(live_request):
    msg = {"a": None, "b": {"c": 0}, "req": live_request}
    assert get_property_or_undefined(msg, "msg.a") is None
    assert get_property_or_undefined(msg, "a.x") is UNDEFINED  # parent null
    assert get_property_or_undefined(msg, "zz") is UNDEFINED
    assert get_property_or_undefined(msg, "zz.y") is UNDEFINED
    assert get_property_or_undefined(msg, "b.c") == 0
    assert get_property_or_undefined(msg, "req.params.name") == "Nick"
    with pytest.raises(PropertyPathError):
        get_property_or_undefined(msg, "a[")


def test_has_message_property():
    msg = {"a": None, "b": [1], "c": {"d": False}}
    assert has_message_property(msg, "msg.a")
    assert has_message_property(msg, "b[0]")
    assert has_message_property(msg, "c.d")
    assert not has_message_property(msg, "b[1]")
    assert not has_message_property(msg, "x")
    assert not has_message_property(msg, "x.y")


# ------------------------------------------------ nodes that read paths see the same keys


async def test_debug_shows_a_trailing_numeric_segment_and_live_request_fields(live_request):
    import asyncio

    from flowrt.nodes.common.debug import DebugNode

    from flowrt.testing import FlowTestHarness

    published: list[dict] = []
    both = asyncio.Event()

    def listener(node, data):
        published.append(data)
        if len(published) == 2:
            both.set()

    DebugNode.listeners.append(listener)
    flow = [
        {"id": "d1", "type": "debug", "complete": "payload.1"},
        {"id": "d2", "type": "debug", "complete": "req.params.name"},
    ]
    try:
        async with FlowTestHarness(flow) as h:
            h.node("d1").receive({"payload": ["a", "b"]})
            h.node("d2").receive({"payload": "", "req": live_request})
            await asyncio.wait_for(both.wait(), 5)
    finally:
        DebugNode.listeners.remove(listener)
    assert sorted(d["msg"] for d in published) == ["Nick", "b"]
