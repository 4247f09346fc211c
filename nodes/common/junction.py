"""junction: a wiring point; passes every message on unchanged."""

from __future__ import annotations

from collections.abc import Callable

from flowrt import Node, register_type


@register_type("junction")
class JunctionNode(Node):
    schema = {"type": "object", "properties": {}}

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        send(msg)
        done()
