"""HTTP nodes write values as Node-RED's Express does: JSON.stringify for objects, String() for numbers."""

from __future__ import annotations

import aiohttp
import pytest

from flowrt.testing import FlowTestHarness


def _flow(value: str, value_type: str) -> list[dict]:
    return [
        {"id": "in", "type": "http in", "url": "/v", "method": "get", "wires": [["set"]]},
        {
            "id": "set",
            "type": "change",
            "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": value, "tot": value_type}],
            "wires": [["out"]],
        },
        {"id": "out", "type": "http response", "wires": []},
    ]


@pytest.mark.parametrize(
    "value,value_type,body",
    [
        # Python reads "2.0" as a float; JavaScript has one number type and writes 2.
        (
            '{"avg": 2.0, "tiny": 1.5e-7, "big": 1e21, "list": [0.5, -0.0]}',
            "json",
            b'{"avg":2,"tiny":1.5e-7,"big":1e+21,"list":[0.5,0]}',
        ),
        ('{"b": 1, "2": "x", "1": "y"}', "json", b'{"1":"y","2":"x","b":1}'),
        ("1.5e-7", "num", b"1.5e-7"),
        ("1e21", "num", b"1e+21"),
    ],
)
async def test_http_response_writes_javascript_text(value, value_type, body):
    async with FlowTestHarness(_flow(value, value_type)) as h:
        async with aiohttp.ClientSession() as session:
            async with session.get(h.url("/v")) as response:
                assert response.status == 200
                assert await response.read() == body
