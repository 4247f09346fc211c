"""comment: documentation on the canvas; does nothing at run time."""

from __future__ import annotations

from flowrt import Node, register_type


@register_type("comment")
class CommentNode(Node):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "info": {"type": "string"}}}

    def on_input(self, msg: dict, send) -> None:
        return None
