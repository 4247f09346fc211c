"""Node-RED's test/nodes/core/network/21-httprequest_spec.js, ported (behaviour, not code).

Every case keeps the spec's name (`test_<describe>__<it>`); the spec's express/https servers are
real aiohttp servers on 127.0.0.1 (tests/httpreq_servers.py) with a certificate made for the test.
The proxy cases of the spec are in test_node_network_proxy.py. Counts: docs/conformance-network.md.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from httpreq_servers import DIGEST_PASSWORD, BrokenHeaderServer, TestServers, make_certs

from flowrt.testing import FlowTestHarness

pytest.importorskip("cryptography", reason="the tests make their certificates with `cryptography`")

PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "NR_PROXY_MODE")


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("no_proxy", "localhost")  # as the spec's beforeEach


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def srv(certs):
    servers = await TestServers(certs).start()
    yield servers
    await servers.stop()


def request_node(**props) -> dict:
    return {"id": "n1", "type": "http request", "wires": [["n2"]], **props}


def flow(n1: dict, *others: dict) -> list[dict]:
    return [n1, {"id": "n2", "type": "helper"}, *others]


async def exchange(n1: dict, msg: dict, *others: dict, settings: dict | None = None):
    """Load the flow, send `msg` to n1, return (message at n2, n1's handle after it)."""
    async with FlowTestHarness(flow(n1, *others), settings=settings, http=False) as h:
        h.node("n1").receive(msg)
        out = await h.node("n2").next_input()
        return out, h.node("n1")


def warnings(handle) -> list[str]:
    return [r.text for r in handle.logs if r.level == "warn"]


NO_OVERRIDE = (
    "Warning: msg properties can no longer override set node properties. See bit.ly/nr-override-msg-props"
)

# ----- describe('request') ------------------------------------------------------------------------


async def test_request__should_get_plain_text_content(srv):
    msg, _ = await exchange(request_node(method="GET", ret="txt", url=srv.url("/text")), {"payload": "foo"})
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200
    assert msg["headers"]["content-length"] == "5"
    assert msg["headers"]["content-type"].startswith("text/html")
    assert msg["redirectList"] == []


async def test_request__should_get_json_content(srv):
    msg, _ = await exchange(
        request_node(method="GET", ret="obj", url=srv.url("/json-valid")), {"payload": "foo"}
    )
    assert msg["payload"] == {"a": 1}
    assert msg["statusCode"] == 200
    assert msg["headers"]["content-type"].startswith("application/json")


async def test_request__should_send_the_payload_as_the_body_of_a_post_as_application_json(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    msg, _ = await exchange(n1, {"payload": {"foo": "abcde"}})
    assert msg["payload"]["body"] == '{"foo":"abcde"}'
    assert msg["payload"]["headers"]["content-type"].startswith("application/json")
    assert msg["statusCode"] == 200
    assert msg["headers"]["content-type"].startswith("application/json")


async def test_request__should_send_a_payload_of_0_as_the_body_of_a_post_as_text_plain(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    msg, _ = await exchange(n1, {"payload": 0, "headers": {"content-type": "text/plain"}})
    assert msg["payload"]["body"] == "0"
    assert msg["payload"]["headers"]["content-length"] == "1"
    assert msg["payload"]["headers"]["content-type"].startswith("text/plain")
    assert msg["statusCode"] == 200


async def test_request__should_send_an_object_payload_as_the_body_of_a_post(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    msg, _ = await exchange(n1, {"payload": {"foo": "abcde"}, "headers": {"content-type": "text/plain"}})
    assert msg["payload"]["body"] == '{"foo":"abcde"}'
    assert msg["payload"]["headers"]["content-type"].startswith("text/plain")
    assert msg["headers"]["content-type"].startswith("application/json")


async def test_request__should_send_a_buffer_as_the_body_of_a_post(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    msg, _ = await exchange(n1, {"payload": b"hello", "headers": {"content-type": "text/plain"}})
    assert msg["payload"]["body"] == "hello"
    assert msg["payload"]["headers"]["content-type"].startswith("text/plain")
    assert msg["statusCode"] == 200


async def test_request__should_send_form_based_request(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    msg, _ = await exchange(
        n1,
        {
            "payload": {"foo": "1 2 3", "bar": ""},
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
    )
    assert msg["statusCode"] == 200
    assert msg["payload"]["body"] == "foo=1%202%203&bar="
    assert msg["payload"]["headers"]["content-type"] == "application/x-www-form-urlencoded"


async def test_request__should_send_put_request(srv):
    n1 = request_node(method="PUT", ret="obj", url=srv.url("/putInspect"))
    msg, _ = await exchange(n1, {"payload": "foo", "headers": {"content-type": "text/plain"}})
    assert msg["payload"]["body"] == "foo"
    assert msg["payload"]["headers"]["content-type"].startswith("text/plain")
    assert msg["headers"]["content-type"].startswith("application/json")


async def test_request__should_send_delete_request(srv):
    n1 = request_node(method="DELETE", ret="obj", url=srv.url("/deleteInspect"))
    msg, _ = await exchange(n1, {"payload": {"foo": "abcde"}})
    assert msg["payload"] == {}
    assert msg["statusCode"] == 204


async def test_request__should_send_head_request(srv):
    n1 = request_node(method="use", ret="txt", url=srv.url("/headInspect"))
    msg, _ = await exchange(n1, {"payload": "foo", "method": "head"})
    assert msg["payload"] == ""
    assert msg["statusCode"] == 204


async def test_request__should_send_patch_request(srv):
    n1 = request_node(method="PATCH", ret="obj", url=srv.url("/patchInspect"))
    msg, _ = await exchange(n1, {"payload": "foo", "headers": {"content-type": "text/plain"}})
    assert msg["payload"]["body"] == "foo"
    assert msg["statusCode"] == 200
    assert "etag" in msg["headers"]


async def test_request__should_send_options_request(srv):
    n1 = request_node(method="use", ret="obj", url=srv.url("/*"))
    msg, _ = await exchange(n1, {"payload": "foo", "method": "options"})
    assert msg["statusCode"] == 200


async def test_request__should_send_trace_request(srv):
    n1 = request_node(method="use", ret="obj", url=srv.url("/traceInspect"))
    msg, _ = await exchange(
        n1, {"payload": "foo", "method": "trace", "headers": {"content-type": "text/plain"}}
    )
    assert msg["payload"]["body"] == "foo"


async def test_request__should_get_buffer_content(srv):
    msg, _ = await exchange(request_node(method="GET", ret="bin", url=srv.url("/text")), {"payload": "foo"})
    assert isinstance(msg["payload"], (bytes, bytearray)) and bytes(msg["payload"]) == b"hello"
    assert msg["statusCode"] == 200
    assert "content-type" in msg["headers"]


async def test_request__should_return_plain_text_when_json_fails_to_parse(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/json-invalid"))
    msg, handle = await exchange(n1, {"payload": "foo"})
    assert msg["payload"] == "{a:1"
    assert msg["statusCode"] == 200
    assert msg["headers"]["content-type"].startswith("application/json")
    assert warnings(handle) == ["JSON parse error"]


async def test_request__should_return_the_status_code(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.url("/statusCode204"))
    msg, _ = await exchange(n1, {"payload": "foo"})
    assert msg["payload"] == ""
    assert msg["statusCode"] == 204


async def test_request__should_use_msg_url(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/text"))
    msg, handle = await exchange(n1, {"payload": "foo", "url": "/foo"})
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200
    # the node's url wins, with a warning ("hello" is no JSON: the second warning)
    assert warnings(handle) == [NO_OVERRIDE, "JSON parse error"]


async def test_request__should_output_an_error_when_url_is_not_provided(srv):
    async with FlowTestHarness(flow(request_node(method="GET", ret="obj", url="")), http=False) as h:
        h.node("n1").receive({"payload": "foo"})
        err, msg = await h.node("n1").next_error()
        assert err == "No url specified" and msg["payload"] == "foo"
        h.node("n1").receive({"payload": "again", "url": srv.url("/text")})
        assert (await h.node("n2").next_input())["payload"] == "hello"  # only the second got through
        assert len(h.node("n2").received) == 1


async def test_request__should_allow_the_message_to_provide_the_url(srv):
    msg, _ = await exchange(
        request_node(method="GET", ret="txt"), {"payload": "foo", "url": srv.url("/text")}
    )
    assert msg["payload"] == "hello"
    assert msg["headers"]["content-length"] == "5"
    assert msg["headers"]["content-type"].startswith("text/html")


async def test_request__should_allow_the_url_to_contain_mustache_placeholders(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.url("/te{{placeholder}}"))
    msg, _ = await exchange(n1, {"payload": "foo", "placeholder": "xt"})
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200


async def test_request__should_allow_the_url_to_be_missing_the_http_prefix(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.url("/text")[len("http://") :])
    msg, _ = await exchange(n1, {"payload": "foo"})
    assert msg["payload"] == "hello"
    assert msg["responseUrl"] == srv.url("/text")


async def _rejected_scheme(n1: dict, msg: dict, srv) -> None:
    async with FlowTestHarness(flow(n1), http=False) as h:
        h.node("n1").receive(msg)
        status = None
        while status is None or status.get("fill") != "red":
            status = await h.node("n1").next_status()
        assert status == {"fill": "red", "shape": "ring", "text": "non-http transport requested"}
        assert warnings(h.node("n1")) == ["non-http transport requested"]
        assert h.node("n2").received == []


async def test_request__should_reject_non_http_schemes_node_config(srv):
    await _rejected_scheme(request_node(method="GET", ret="txt", url="ftp://foo"), {"payload": "foo"}, srv)


async def test_request__should_reject_non_http_schemes_msg_url(srv):
    await _rejected_scheme(request_node(method="GET", ret="txt"), {"payload": "foo", "url": "ftp://foo"}, srv)


async def test_request__should_use_msg_method(srv):
    # the node's GET wins over msg.method POST (and says so)
    msg, handle = await exchange(
        request_node(method="GET", ret="obj", url=srv.url("/text")), {"payload": "foo", "method": "POST"}
    )
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200
    assert warnings(handle) == [NO_OVERRIDE, "JSON parse error"]
    assert srv.requests[-1].method == "GET"


async def test_request__should_allow_the_message_to_provide_the_method(srv):
    msg, _ = await exchange(
        request_node(method="use", ret="txt", url=srv.url("/text")), {"payload": "foo", "method": "get"}
    )
    assert msg["payload"] == "hello"
    assert msg["headers"]["content-length"] == "5"


async def test_request__should_receive_msg_responseurl(srv):
    msg, _ = await exchange(request_node(method="GET", ret="txt", url=srv.url("/text")), {"payload": "foo"})
    assert msg["responseUrl"] == srv.url("/text")


async def test_request__should_receive_msg_responseurl_when_redirected(srv):
    msg, _ = await exchange(
        request_node(method="GET", ret="txt", url=srv.url("/redirectToText")), {"payload": "foo"}
    )
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200
    assert msg["responseUrl"] == srv.url("/text")


async def test_request__should_prevent_following_redirect_when_msg_followredirects_is_false(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.url("/redirectToText"))
    msg, _ = await exchange(n1, {"payload": "foo", "followRedirects": False})
    assert msg["statusCode"] == 302
    assert msg["responseUrl"] == srv.url("/redirectToText")


async def _timed_out(n1: dict, msg: dict, settings: dict | None = None) -> None:
    async with FlowTestHarness(flow(n1), settings=settings, http=False) as h:
        h.node("n1").receive(msg)
        out = await h.node("n2").next_input()
        assert "TIMEDOUT" in out["statusCode"]
        assert out["payload"].startswith("TimeoutError: Timeout awaiting 'request' for 50ms : http://")
        errors = h.node("n1").errors
        assert len(errors) == 1 and errors[0][0] == "no response from server"
        assert h.node("n1").statuses[-1] == {
            "fill": "red",
            "shape": "ring",
            "text": "no response from server",
        }


async def test_request__should_output_an_error_when_request_timeout_occurred(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/timeout"))
    await _timed_out(n1, {"payload": "foo"}, settings={"httpRequestTimeout": 50})


async def test_request__should_output_an_error_when_request_timeout_occurred_when_set_via_msg_requesttimeout(
    srv,
):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/timeout"))
    await _timed_out(n1, {"payload": "foo", "requestTimeout": 50})


@pytest.mark.parametrize(
    ("value", "warning"),
    [
        ("foo", "Timeout value is not a valid number, ignoring"),
        (-4, "Timeout value is negative, ignoring"),
        (0, "Timeout value is negative, ignoring"),
    ],
    ids=["not_a_number", "negative", "set_to_0"],
)
async def test_request__should_show_a_warning_if_msg_requesttimeout_is(srv, value, warning):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/text"))
    msg, handle = await exchange(n1, {"payload": "foo", "requestTimeout": value})
    assert msg["statusCode"] == 200
    # the spec counts 2 log events: this warning and the JSON parse warning of "hello"
    assert warnings(handle) == [warning, "JSON parse error"]


async def test_request__should_pass_if_response_time_is_faster_than_timeout_set_via_msg_requesttimeout(srv):
    # the spec's margin is 50 ms against 100 ms; 5 s here, so a loaded machine cannot fail it
    n1 = request_node(method="GET", ret="obj", url=srv.url("/timeout50ms"))
    msg, _ = await exchange(n1, {"payload": "foo", "requestTimeout": 5000})
    assert msg["statusCode"] == 200


async def test_request__should_append_query_params_to_url_obj(srv):
    n1 = request_node(method="GET", paytoqs=True, ret="obj", url=srv.url("/getQueryParams"))
    msg, _ = await exchange(n1, {"payload": {"a": 1, "b": 2, "c": 3}})
    assert msg["payload"] == {"query": {"a": "1", "b": "2", "c": "3"}, "url": "/getQueryParams?a=1&b=2&c=3"}
    assert msg["statusCode"] == 200


@pytest.mark.parametrize("code", [400, 404, 500])
async def test_request__should_send_a_msg_for_non_2xx_response_status(srv, code):
    n1 = request_node(method="GET", ret="obj", url=srv.url(f"/returnError/{code}"))
    msg, handle = await exchange(n1, {})
    assert msg["payload"] == {"gotError": str(code)}
    assert msg["statusCode"] == code
    assert handle.errors == []


async def test_request__should_encode_the_url_to_handle_special_characters(srv):
    n1 = request_node(method="GET", ret="obj")
    url = srv.url("/getQueryParams") + "?a=b&c[0].Text=T24,0°|H80%|W%20S8,3m/s"
    msg, _ = await exchange(n1, {"url": url})
    assert msg["payload"]["url"] == "/getQueryParams?a=b&c[0].Text=T24,0%C2%B0|H80%25|W%20S8,3m/s"
    # (the spec's express server parses the query with `qs`; ours with parse_qsl)
    assert msg["payload"]["query"] == {"a": "b", "c[0].Text": "T24,0°|H80%|W S8,3m/s"}
    assert msg["statusCode"] == 200


# ----- describe('HTTP header') --------------------------------------------------------------------


async def test_http_header__should_receive_cookie(srv):
    msg, _ = await exchange(
        request_node(method="GET", ret="obj", url=srv.url("/setCookie")), {"payload": "foo"}
    )
    assert msg["responseCookies"] == {"data": {"Path": "/", "value": "hello"}}
    assert msg["statusCode"] == 200


@pytest.mark.parametrize(
    ("cookies", "expected"),
    [
        ({"data": "abc"}, {"data": "abc"}),
        ({"data": "abc", "foo": "bar"}, {"data": "abc", "foo": "bar"}),
        ({"data": {"value": "abc"}}, {"data": "abc"}),
        ({"data": {"value": "abc"}, "foo": {"value": "bar"}}, {"data": "abc", "foo": "bar"}),
    ],
    ids=[
        "cookie_with_string",
        "multiple_cookies_with_string",
        "cookie_with_object_data",
        "multiple_cookies_with_object_data",
    ],
)
async def test_http_header__should_send(srv, cookies, expected):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/checkCookie"))
    msg, _ = await exchange(n1, {"payload": "foo", "cookies": cookies})
    assert msg["payload"] == expected
    assert msg["statusCode"] == 200


ODD_VALUE = ";,/?:@ &=+$#"


async def test_http_header__should_encode_cookie_value(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/checkCookie"))
    msg, _ = await exchange(n1, {"payload": "foo", "cookies": {"data": ODD_VALUE}})
    assert msg["payload"]["data"] == quote(ODD_VALUE, safe="-_.!~*'()")  # encodeURIComponent


async def test_http_header__should_encode_cookie_object(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/checkCookie"))
    msg, _ = await exchange(n1, {"payload": "foo", "cookies": {"data": {"value": ODD_VALUE, "encode": True}}})
    assert msg["payload"]["data"] == "%3B%2C%2F%3F%3A%40%20%26%3D%2B%24%23"


async def test_http_header__should_not_encode_cookie_when_encode_option_is_false(srv):
    value = "!#$%&'()*+-./:<>?@[]^_`{|}~"
    n1 = request_node(method="GET", ret="obj", url=srv.url("/checkCookie"))
    msg, _ = await exchange(n1, {"payload": "foo", "cookies": {"data": {"value": value, "encode": False}}})
    assert msg["payload"]["data"] == value


async def test_http_header__should_send_cookie_by_msg_headers(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/checkCookie"))
    msg, _ = await exchange(
        n1, {"payload": "foo", "cookies": {"boo": "123"}, "headers": {"cookie": "data=abc"}}
    )
    assert msg["payload"] == {"data": "abc", "boo": "123"}


async def test_http_header__should_send_multiple_cookies_by_msg_headers(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/checkCookie"))
    msg, _ = await exchange(
        n1, {"payload": "foo", "cookies": {"boo": "123"}, "headers": {"cookie": "data=abc; foo=bar;"}}
    )
    assert msg["payload"] == {"data": "abc", "foo": "bar", "boo": "123"}


async def test_http_header__should_convert_all_http_headers_into_lower_case(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    headers = {
        "Content-Type": "text/plain",
        "Content-Length": "3",
        "If-Modified-Since": "Sun, 01 Jun 2000 00:00:00 GMT",
    }
    msg, _ = await exchange(n1, {"payload": "foo", "headers": headers})
    got = msg["payload"]["headers"]
    assert got["content-type"].startswith("text/plain")
    assert got["content-length"] == "3"
    assert got["if-modified-since"] == "Sun, 01 Jun 2000 00:00:00 GMT"


async def test_http_header__should_keep_http_header_case_as_provided_by_the_user(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/rawHeaders"))
    msg, _ = await exchange(
        n1, {"payload": "foo", "headers": {"Content-Type": "text/plain", "X-Test-HEAD": "foo"}}
    )
    assert msg["payload"]["headers"]["Content-Type"].startswith("text/plain")
    assert msg["payload"]["headers"]["X-Test-HEAD"] == "foo"


async def test_http_header__should_receive_http_header(srv):
    msg, _ = await exchange(
        request_node(method="GET", ret="txt", url=srv.url("/headersInspect")), {"payload": "foo"}
    )
    assert msg["statusCode"] == 200
    assert msg["headers"]["x-test-header"] == "bar"


async def test_http_header__should_ignore_unmodified_x_node_red_request_node_header(srv):
    # the stamp comes from a first request, as in a flow chaining two http request nodes
    n1 = request_node(method="GET", ret="txt", url=srv.url("/headersInspect"))
    first, _ = await exchange(n1, {"payload": "foo"})
    stamped = first["headers"]
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    msg, _ = await exchange(n1, {"payload": {"foo": "bar"}, "headers": stamped})
    assert msg["payload"]["headers"]["content-type"].startswith("application/json")
    assert "x-node-red-request-node" not in msg["payload"]["headers"]
    assert "x-test-header" not in msg["payload"]["headers"]


async def test_http_header__should_use_modified_msg_headers_property(srv):
    n1 = request_node(method="POST", ret="obj", url=srv.url("/postInspect"))
    headers = {"content-type": "text/plain", "x-node-red-request-node": "INVALID_SUM"}
    msg, _ = await exchange(n1, {"payload": {"foo": "bar"}, "headers": headers})
    assert msg["payload"]["headers"]["content-type"].startswith("text/plain")
    assert "x-node-red-request-node" not in msg["payload"]["headers"]


async def test_http_header__should_use_ui_headers(srv):
    n1 = request_node(
        method="GET",
        ret="obj",
        url=srv.url("/rawHeaders"),
        headers=[
            {"keyType": "Accept", "keyValue": "", "valueType": "application/json", "valueValue": ""},
            {"keyType": "Content-Type", "keyValue": "", "valueType": "application/json", "valueValue": ""},
            {
                "keyType": "msg",
                "keyValue": "dynamicHeaderName",
                "valueType": "msg",
                "valueValue": "dynamicHeaderValue",
            },
            {
                "keyType": "other",
                "keyValue": "static-header-name",
                "valueType": "other",
                "valueValue": "static-header-value",
            },
            {"keyType": "Location", "keyValue": "", "valueType": "other", "valueValue": ""},
        ],
    )
    msg, _ = await exchange(
        n1,
        {
            "payload": {"foo": "bar"},
            "dynamicHeaderName": "dyn-header-name",
            "dynamicHeaderValue": "dyn-header-value",
            "headers": {"content-type": "text/plain", "location": "london"},
        },
    )
    got = msg["payload"]["headers"]
    assert got["Accept"].startswith("application/json")
    assert got["Content-Type"].startswith("application/json")
    assert got["dyn-header-name"].startswith("dyn-header-value")
    assert got["static-header-name"].startswith("static-header-value")
    assert "location" not in got and "Location" not in got


# ----- describe('protocol'): TLS ------------------------------------------------------------------


async def test_protocol__should_use_msg_rejectunauthorized(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.ssl_url("/text"))
    msg, _ = await exchange(n1, {"payload": "foo", "rejectUnauthorized": False})
    assert msg["payload"] == "hello"
    assert msg["headers"]["content-length"] == "5"
    assert msg["responseUrl"].startswith("https://")


def tls_node(**props) -> dict:
    return {"id": "n3", "type": "tls-config", **props}


async def test_protocol__should_use_tls_config(srv, certs):
    n1 = request_node(method="GET", ret="txt", url=srv.ssl_url("/text")[len("https://") :], tls="n3")
    n3 = tls_node(cert=str(certs["cert"]), key=str(certs["key"]), ca="", verifyservercert=False)
    msg, _ = await exchange(n1, {"payload": "foo"}, n3)
    assert msg["payload"] == "hello"
    assert msg["responseUrl"].startswith("https://")  # no scheme + tls-config: https://


async def test_protocol__should_use_tls_config_and_verify_servercert(srv, certs):
    n1 = request_node(method="GET", ret="txt", url=srv.ssl_url("/text"), tls="n3")
    # the spec's certificate is self-signed and is its own CA; ours is signed by a test CA
    n3 = tls_node(cert=str(certs["cert"]), key=str(certs["key"]), ca=str(certs["ca"]), verifyservercert=True)
    msg, _ = await exchange(n1, {"payload": "foo"}, n3)
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200
    assert msg["responseUrl"].startswith("https://")


async def test_protocol__should_use_tls_config_and_send_client_cert(srv, certs):
    n1 = request_node(method="GET", ret="txt", url=srv.client_cert_url("/getClientCert"), tls="n3")
    n3 = tls_node(cert=str(certs["cert"]), key=str(certs["key"]), ca=str(certs["ca"]), verifyservercert=False)
    msg, _ = await exchange(n1, {"payload": "foo"}, n3)
    assert msg["payload"] == "hello"
    assert msg["statusCode"] == 200


async def test_protocol__should_use_pfx_tls_file(srv, certs):
    n1 = request_node(method="GET", ret="txt", url=srv.ssl_url("/text")[len("https://") :], tls="n3")
    n3 = tls_node(p12=str(certs["pfx"]), verifyservercert=False)
    msg, _ = await exchange(n1, {"payload": "foo"}, n3)
    assert msg["payload"] == "hello"
    assert msg["responseUrl"].startswith("https://")


# ----- describe('authentication') -----------------------------------------------------------------


@pytest.mark.parametrize("user", ["userfoo", "foo@example.com"])
async def test_authentication__should_authenticate_on_server_basic(srv, user):
    n1 = request_node(
        method="GET",
        ret="obj",
        url=srv.url("/authenticate"),
        credentials={"user": user, "password": "passwordfoo"},
    )
    msg, _ = await exchange(n1, {"payload": "foo"})
    assert msg["statusCode"] == 200
    assert msg["payload"]["user"] == user
    assert msg["payload"]["pass"] == "passwordfoo"


async def test_authentication__should_authenticate_on_server_bearer(srv):
    n1 = request_node(
        method="GET",
        ret="obj",
        authType="bearer",
        url=srv.url("/authenticate"),
        credentials={"password": "passwordfoo"},
    )
    msg, _ = await exchange(n1, {"payload": "foo"})
    assert msg["statusCode"] == 200
    assert msg["payload"]["token"] == "passwordfoo"


@pytest.mark.parametrize("path", ["md5", "md5-sess", "md5-qop", "sha-256", "sha-512-256"])
async def test_authentication__should_authenticate_on_server_digest(srv, path):
    n1 = request_node(
        method="GET",
        ret="obj",
        authType="digest",
        url=srv.url(f"/authenticate-digest-{path}"),
        credentials={"user": "xxxuser", "password": DIGEST_PASSWORD},
    )
    msg, _ = await exchange(n1, {"payload": "foo"})
    assert msg["statusCode"] == 201
    assert [r.headers.get("Authorization") is not None for r in srv.requests] == [False, True]


# ----- describe('file-upload') --------------------------------------------------------------------


async def test_file_upload__should_upload_a_file(srv):
    n1 = request_node(
        method="POST",
        ret="obj",
        url=srv.url("/file-upload"),
        headers=[
            {"keyType": "Content-Type", "keyValue": "", "valueType": "multipart/form-data", "valueValue": ""}
        ],
    )
    payload = {"file": {"value": b"Hello World", "options": {"filename": "file.txt"}}, "other": 123}
    msg, _ = await exchange(n1, {"payload": payload})
    assert msg["payload"]["body"] == {"other": "123"}
    files = msg["payload"]["files"]
    assert len(files) == 1
    assert files[0]["fieldname"] == "file"
    assert files[0]["originalname"] == "file.txt"
    assert files[0]["buffer"] == {
        "type": "Buffer",
        "data": [72, 101, 108, 108, 111, 32, 87, 111, 114, 108, 100],
    }


# ----- describe('redirect-cookie') ----------------------------------------------------------------


def _port(srv) -> int:
    return srv.port


async def test_redirect_cookie__should_send_cookies_to_the_same_domain_when_redirected_no_cookies(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/redirectToSameDomain"))
    msg, _ = await exchange(n1, {})
    port = _port(srv)
    assert srv.received_cookies[f"localhost:{port}/redirectToSameDomain"] == {}
    assert srv.received_cookies[f"localhost:{port}/redirectReturn"] == {"redirectToSameDomainCookie": "same1"}
    first = msg["redirectList"][0]
    assert first["location"] == srv.url("/redirectReturn")
    assert first["cookies"]["redirectToSameDomainCookie"] == {"Path": "/", "value": "same1"}


async def test_redirect_cookie__should_not_send_cookies_to_the_different_domain_when_redirected_no_cookies(
    srv,
):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/redirectToDifferentDomain"))
    msg, _ = await exchange(n1, {})
    port = _port(srv)
    assert srv.received_cookies[f"localhost:{port}/redirectToDifferentDomain"] == {}
    assert srv.received_cookies[f"127.0.0.1:{port}/redirectReturn"] == {}
    first = msg["redirectList"][0]
    assert first["location"] == srv.other_domain_url("/redirectReturn")
    assert first["cookies"]["redirectToDifferentDomain"] == {"Path": "/", "value": "different1"}


@pytest.mark.parametrize(
    "seed",
    [{"cookies": {"requestCookie": "request1"}}, {"headers": {"cookie": "requestCookie=request1"}}],
    ids=["msg_cookies", "msg_headers_cookie"],
)
async def test_redirect_cookie__should_send_cookies_to_the_same_domain_when_redirected(srv, seed):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/redirectToSameDomain"))
    msg, _ = await exchange(n1, dict(seed))
    port = _port(srv)
    assert srv.received_cookies[f"localhost:{port}/redirectToSameDomain"] == {"requestCookie": "request1"}
    assert srv.received_cookies[f"localhost:{port}/redirectReturn"] == {
        "requestCookie": "request1",
        "redirectToSameDomainCookie": "same1",
    }
    first = msg["redirectList"][0]
    assert first["location"] == srv.url("/redirectReturn")
    assert first["cookies"]["redirectToSameDomainCookie"] == {"Path": "/", "value": "same1"}


@pytest.mark.parametrize(
    "seed",
    [{"cookies": {"requestCookie": "request1"}}, {"headers": {"cookie": "requestCookie=request1"}}],
    ids=["msg_cookies", "msg_headers_cookie"],
)
async def test_redirect_cookie__should_not_send_cookies_to_the_different_domain_when_redirected(srv, seed):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/redirectToDifferentDomain"))
    msg, _ = await exchange(n1, dict(seed))
    port = _port(srv)
    assert srv.received_cookies[f"localhost:{port}/redirectToDifferentDomain"] == {
        "requestCookie": "request1"
    }
    assert srv.received_cookies[f"127.0.0.1:{port}/redirectReturn"] == {}
    first = msg["redirectList"][0]
    assert first["location"] == srv.other_domain_url("/redirectReturn")
    assert first["cookies"]["redirectToDifferentDomain"] == {"Path": "/", "value": "different1"}


async def test_redirect_cookie__should_return_all_redirect_information_when_redirected_multiple_times(srv):
    n1 = request_node(method="GET", ret="obj", url=srv.url("/redirectMultipleTimes"))
    msg, _ = await exchange(n1, {"headers": {"cookie": "requestCookie=request1"}})
    first, second = msg["redirectList"]
    assert first["location"] == srv.url("/redirectToDifferentDomain")
    assert first["cookies"]["redirectMultipleTimes"] == {"Path": "/", "value": "multiple1"}
    assert second["location"] == srv.other_domain_url("/redirectReturn")
    assert second["cookies"]["redirectToDifferentDomain"] == {"Path": "/", "value": "different1"}


# ----- describe('should parse broken headers') ----------------------------------------------------


@pytest.fixture
async def broken():
    server = await BrokenHeaderServer().start()
    yield server
    await server.stop()


async def test_broken_headers__should_accept_broken_headers(broken):
    n1 = request_node(
        method="GET", ret="obj", url=f"http://localhost:{broken.port}/", insecureHTTPParser=True
    )
    msg, _ = await exchange(n1, {"payload": "foo"})
    assert msg["payload"] == "HelloWorld"


@pytest.mark.xfail(
    strict=True,
    reason="not ported: aiohttp's reply parser accepts LF-only line ends and a status line without a "
    "reason phrase, which Node's strict llhttp rejects; flowrt cannot refuse them (always lenient)",
)
async def test_broken_headers__should_reject_broken_headers(broken):
    n1 = request_node(method="GET", ret="obj", url=f"http://localhost:{broken.port}/")
    msg, handle = await exchange(n1, {"payload": "foo"})
    assert msg["payload"].startswith("RequestError: Parse Error")
    assert handle.errors and str(handle.errors[0][0]).startswith("Parse Error")


# ----- beyond the spec: Node-RED behaviour the spec does not pin down ------------------------------


def test_hash_sum_matches_npm_hash_sum():
    """Values printed by npm hash-sum 2.0.0 (node -e "console.log(require('hash-sum')(v))")."""
    from flowrt.nodes.network.http_request import hash_sum

    assert hash_sum({"content-type": "text/plain"}) == EXPECTED_HASHES["ct"]
    assert hash_sum({"a": [1, "x"], "b": None, "é": True}) == EXPECTED_HASHES["mixed"]
    assert hash_sum({}) == EXPECTED_HASHES["empty"]
    reply = {
        "x-powered-by": "Express",
        "content-type": "text/html; charset=utf-8",
        "content-length": "5",
        "etag": 'W/"5-qvTGHdzF6KLavt4PO0gs2a6pQ00"',
        "date": "Tue, 01 Dec 2026 23:00:00 GMT",
        "connection": "close",
        "set-cookie": ["a=1; Path=/", "b=2"],
    }
    assert hash_sum(reply) == EXPECTED_HASHES["reply"]
    assert hash_sum({"n": 1.5, "m": -3, "big": 12345678901, "s": "\U0001f600"}) == EXPECTED_HASHES["numbers"]


EXPECTED_HASHES = {
    "ct": "44c4f7bf",
    "mixed": "27194e08",
    "empty": "59322f29",
    "reply": "176206a8",
    "numbers": "51803912",
}


async def test_paytoqs_with_a_string_payload_is_an_invalid_payload_error(srv):
    n1 = request_node(method="GET", paytoqs="query", ret="txt", url=srv.url("/text"))
    async with FlowTestHarness(flow(n1), http=False) as h:
        h.node("n1").receive({"payload": "not an object"})
        err, _ = await h.node("n1").next_error()
        assert err == "Invalid payload"
        assert h.node("n2").received == []


async def test_paytoqs_body_sends_a_get_body(srv):
    n1 = request_node(method="GET", paytoqs="body", ret="obj", url=srv.url("/text"))
    msg, _ = await exchange(n1, {"payload": {"q": 1}})
    assert msg["payload"] == "hello"
    assert srv.requests[-1].body == b'{"q":1}'


async def test_senderr_sends_failures_only_to_catch_nodes(srv):
    n1 = request_node(method="GET", ret="txt", url="http://localhost:1/", senderr=True)
    catch = {"id": "c", "type": "catch", "scope": ["n1"], "wires": [["n4"]]}
    async with FlowTestHarness(flow(n1, catch, {"id": "n4", "type": "helper"}), http=False) as h:
        h.node("n1").receive({"payload": "x"})
        caught = await h.node("n4").next_input()
        assert caught["error"]["message"].startswith("connect ECONNREFUSED")
        assert h.node("n2").received == []


async def test_persistent_connections_reuse_one_socket(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.url("/text"), persist=True)
    async with FlowTestHarness(flow(n1), http=False) as h:
        for _ in range(3):
            h.node("n1").receive({})
            assert (await h.node("n2").next_input())["payload"] == "hello"
    assert len({r.peer for r in srv.requests[-3:]}) == 1
    n1 = request_node(method="GET", ret="txt", url=srv.url("/text"))
    async with FlowTestHarness(flow(n1), http=False) as h:
        for _ in range(2):
            h.node("n1").receive({})
            await h.node("n2").next_input()
    assert srv.requests[-1].peer != srv.requests[-2].peer  # without persist: a new connection each time


async def test_credentials_in_the_url_are_basic_auth(srv):
    url = srv.url("/authenticate").replace("http://", "http://bob:s3cret@")
    msg, _ = await exchange(request_node(method="GET", ret="obj", url=url), {})
    assert msg["payload"]["user"] == "bob" and msg["payload"]["pass"] == "s3cret"


async def test_digest_without_matching_password_returns_the_401(srv):
    n1 = request_node(
        method="GET",
        ret="txt",
        authType="digest",
        url=srv.url("/authenticate-digest-md5"),
        credentials={"user": "u", "password": "wrong"},
    )
    msg, _ = await exchange(n1, {})
    assert msg["statusCode"] == 401
    assert len(srv.requests) == 2  # one retry with credentials, no more


async def test_tls_verification_failure_is_an_error_with_nodes_code(srv):
    n1 = request_node(method="GET", ret="txt", url=srv.ssl_url("/text"))
    msg, handle = await exchange(n1, {})
    assert msg["statusCode"] == "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
    assert msg["payload"] == f"RequestError: unable to get local issuer certificate : {srv.ssl_url('/text')}"


async def test_response_headers_join_repeats_as_node_does():
    from flowrt.nodes.network.http_request import _response_headers

    raw = [
        (b"Set-Cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"X-Many", b"1"),
        (b"x-many", b"2"),
        (b"Content-Type", b"text/plain"),
        (b"content-type", b"text/html"),
    ]
    assert _response_headers(raw) == {
        "set-cookie": ["a=1", "b=2"],
        "x-many": "1, 2",
        "content-type": "text/plain",
    }
