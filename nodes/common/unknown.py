"""unknown: the type Node-RED's editor gives a node whose real type is not installed."""

from __future__ import annotations

from flowrt import Node, register_type


@register_type("unknown")
class UnknownNode(Node):
    """Does nothing with its input but say, once per node, that messages are being dropped."""

    schema = {"type": "object"}

    def setup(self) -> None:
        self._warned = False

    def on_input(self, msg: dict, send) -> None:
        if not self._warned:
            self._warned = True
            self.warn("node of type 'unknown' dropped a message (and will drop any others)")
        self.debug(f"dropped message {msg.get('_msgid')}")
