"""What flowrt assumes about the insides of aiohttp and quickjs-ng, checked against the installed
versions, so that an upgrade past pyproject.toml's upper bounds fails here, naming the assumption,
instead of quietly falling back (flowrt.http) or refusing every function node (flowrt.js).

- flowrt/js/sandbox.py reads a quickjs.Context's memory with ctypes (LAYOUT_ASSUMPTION) to
  install QuickJS's interrupt handler: the function node's timeout depends on it.
- flowrt/http/objects.py detaches a streaming response from aiohttp (SSE) by reaching into the
  connection handler and the response; flowrt/http/server.py subclasses aiohttp's server and
  connection handler for Node's headersTimeout.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
import quickjs
from aiohttp import helpers, web, web_protocol

from flowrt.js.sandbox import LAYOUT_ASSUMPTION, SandboxError, runtime_pointer

AIOHTTP = f"aiohttp {version('aiohttp')}"

# (object, attribute, what flowrt does with it, where)
HANDLER_ATTRIBUTES = [
    (
        "_manager",
        "tells the server a detached connection is gone; reads headers_timeout",
        "objects.py, server.py",
    ),
    (
        "_keepalive_handle",
        "cancels the keep-alive timer of a detached or fresh connection",
        "objects.py, server.py",
    ),
    ("_request_count", "whether the first request's headers arrived (headersTimeout)", "server.py"),
    ("_loop", "schedules the headersTimeout timer", "server.py"),
    ("transport", "set to None when a stream is detached", "objects.py"),
]
RESPONSE_ATTRIBUTES = [
    ("_payload_writer", "the writer a detached stream takes over, cleared after", "objects.py"),
    ("_compression", "no detaching when aiohttp must compress", "objects.py"),
    ("_eof_sent", "set so that aiohttp writes nothing after a detach", "objects.py"),
    ("_req", "cleared after a detach", "objects.py"),
]


def test_quickjs_context_layout():
    try:
        pointer = runtime_pointer(quickjs.Context())
    except SandboxError as err:
        pytest.fail(f"quickjs-ng {version('quickjs-ng')}: {err}")
    assert pointer, f"quickjs-ng {version('quickjs-ng')}: not true that {LAYOUT_ASSUMPTION}"


async def test_aiohttp_connection_handler_attributes():
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = web.Server(handler)
    assert hasattr(server, "_kwargs") and hasattr(server, "_loop"), (
        f"{AIOHTTP}: web.Server no longer keeps _kwargs and _loop, which server.py's __call__ "
        "passes on to build its connection handler"
    )
    protocol = server()
    assert isinstance(protocol, web_protocol.RequestHandler)
    missing = [(name, why, where) for name, why, where in HANDLER_ATTRIBUTES if not hasattr(protocol, name)]
    assert not missing, f"{AIOHTTP}: RequestHandler lost attributes flowrt/http relies on: {missing}"
    await server.shutdown(0)


def test_aiohttp_response_attributes():
    response = web.StreamResponse()
    missing = [(name, why, where) for name, why, where in RESPONSE_ATTRIBUTES if not hasattr(response, name)]
    assert not missing, f"{AIOHTTP}: StreamResponse lost attributes flowrt/http relies on: {missing}"
    assert isinstance(getattr(web.StreamResponse, "_send_headers_immediately", None), bool), (
        f"{AIOHTTP}: StreamResponse._send_headers_immediately is gone; objects.py sets it False on "
        "a whole-body response so that headers go out with the body"
    )
    assert callable(getattr(helpers, "rfc822_formatted_time", None)), (
        f"{AIOHTTP}: aiohttp.helpers.rfc822_formatted_time is gone; objects.py writes Date with it"
    )
