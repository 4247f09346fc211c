"""Built-in nodes given a property of the wrong type start (coercing as Node-RED's constructors do),
or refuse with a NodeConfigError naming the property, never with an internal Python exception."""

from __future__ import annotations

import pytest

from flowrt.testing import FlowTestHarness

PYTHON_EXCEPTIONS = ("AttributeError", "TypeError", "ValueError", "KeyError", "IndexError")

NOT_A_STRING = [5, True, {"a": 1}, [1, 2]]
NOT_A_LIST = ["abc", 5, {"a": 1}]
NOT_A_NUMBER = [{"a": 1}, [1, 2], True, "abc"]

# (node type, property, wrong values, other properties the node needs)
CASES = [
    ("change", "rules", NOT_A_LIST, {}),
    ("switch", "rules", NOT_A_LIST, {}),
    ("switch", "property", NOT_A_STRING, {}),
    ("delay", "timeoutUnits", NOT_A_STRING, {"pauseType": "delay"}),
    ("delay", "rateUnits", NOT_A_STRING, {"pauseType": "rate"}),
    ("delay", "randomUnits", NOT_A_STRING, {"pauseType": "random"}),
    ("trigger", "units", NOT_A_STRING, {}),
    ("file", "encoding", NOT_A_STRING, {"filename": "out.txt"}),
    ("file in", "encoding", NOT_A_STRING, {"filename": "in.txt"}),
    ("http in", "url", NOT_A_STRING, {"method": "get"}),
    ("http request", "method", NOT_A_STRING, {"url": "http://127.0.0.1:1/"}),
    ("http request", "tls", NOT_A_STRING, {"url": "http://127.0.0.1:1/"}),
    ("http request", "headers", NOT_A_LIST, {"url": "http://127.0.0.1:1/"}),
    ("http response", "headers", NOT_A_LIST, {}),
    ("join", "joiner", NOT_A_STRING, {"mode": "custom", "build": "string"}),
    ("join", "count", NOT_A_NUMBER, {"mode": "custom"}),
    ("split", "splt", NOT_A_STRING, {}),
    ("batch", "count", NOT_A_NUMBER, {"mode": "count"}),
    ("batch", "overlap", NOT_A_NUMBER, {"mode": "count", "count": 2}),
    ("sse-session", "allowedOrigins", NOT_A_LIST, {"url": "/events"}),
    ("sse-session", "headers", NOT_A_LIST, {"url": "/events"}),
]

PARAMS = [
    pytest.param(node_type, prop, value, extra, id=f"{node_type}-{prop}-{value!r}")
    for node_type, prop, values, extra in CASES
    for value in values
]


@pytest.mark.parametrize("node_type,prop,value,extra", PARAMS)
async def test_wrong_type_starts_or_refuses_clearly(node_type, prop, value, extra):
    node = {"id": "n1", "type": node_type, "wires": [[]], **extra, prop: value}
    async with FlowTestHarness([node]) as h:
        texts = [record.text for record in h.logs]
        started = h.runtime.get_node("n1") is not None
    for text in texts:
        assert not any(name in text for name in PYTHON_EXCEPTIONS), text
    if not started:
        refusals = [text for text in texts if "not started" in text]
        assert refusals and all(prop in text for text in refusals), texts
