"""status: receives status updates of other nodes (routing is done by the flow)."""

from __future__ import annotations

from collections.abc import Callable

from flowrt import Node, register_type
from flowrt.util import drop_wired_targets


@register_type("status")
class StatusNode(Node):
    """Passes on `{status: {...,source}}` messages for the nodes in its scope."""

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "scope": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "string", "enum": ["group"]},
                    {"type": "array", "items": {"type": "string"}},
                ]
            },
        },
    }

    def __init__(self, config: dict, flow) -> None:
        super().__init__(config, flow)
        drop_wired_targets(self)

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        send(msg)
        done()
