"""catch: receives errors thrown by other nodes (routing is done by the flow)."""

from __future__ import annotations

from collections.abc import Callable

from flowrt import Node, register_type


@register_type("catch")
class CatchNode(Node):
    """Passes on each error message the flow routes to it.

    The flow reads `scope` (null: all nodes, "group": nodes in the same group,
    or a list of node ids) and `uncaught` (only errors no other catch handled).
    """

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
            "uncaught": {"type": ["boolean", "string"]},
        },
    }

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        send(msg)
        done()
