"""complete: receives the messages other nodes have finished with (routing is done by the flow)."""

from __future__ import annotations

from collections.abc import Callable

from flowrt import Node, register_type
from flowrt.util import drop_wired_targets


@register_type("complete")
class CompleteNode(Node):
    """Passes on a copy of each message a node in `scope` completes, with msg.complete.source."""

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            # Flow.start calls scope.forEach: a truthy non-list keeps the flow from starting.
            "scope": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"enum": [None, False, 0, ""]}],
                "x-fatal": True,
            },
            "uncaught": {"type": ["boolean", "string"]},
        },
    }

    def __init__(self, config: dict, flow) -> None:
        super().__init__(config, flow)
        # The flow indexes complete nodes by config["scope"] right after creating them.
        if self.config.get("scope") is None:
            self.config["scope"] = []
        drop_wired_targets(self)

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        send(msg)
        done()
