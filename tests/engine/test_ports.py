"""flowrt/engine/ports.py describes what nodes and flows need of the runtime and flow: the
real classes must have every member the Protocols name (so the Protocols do not drift)."""

from __future__ import annotations

import pytest

from flowrt.engine import ports
from flowrt.testing import FlowTestHarness


def members(protocol: type) -> set[str]:
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object,) or cls.__module__ != ports.__name__:
            continue
        names |= set(getattr(cls, "__annotations__", {}))
        names |= {
            n
            for n, v in vars(cls).items()
            if not n.startswith("_") and (callable(v) or isinstance(v, property))
        }
    return names


@pytest.mark.parametrize(
    ("protocol", "pick"),
    [
        (ports.RuntimePort, lambda h: h.runtime),
        (ports.FlowPort, lambda h: h.runtime.flows["t"]),
        (ports.NodePort, lambda h: h.runtime.nodes["n"]),
        (ports.HttpServerPort, lambda h: h.runtime.http),
    ],
)
async def test_the_engine_objects_have_what_the_protocols_name(protocol, pick):
    flow = [{"id": "t", "type": "tab"}, {"id": "n", "type": "helper", "z": "t", "wires": []}]
    async with FlowTestHarness(flow) as h:
        obj = pick(h)
        names = members(protocol)
        assert len(names) >= 4
        missing = sorted(name for name in names if not hasattr(obj, name))
        assert missing == []
        if protocol is ports.HttpServerPort:
            assert isinstance(obj, ports.HttpServerPort)
