"""global-config: holds the deployment's global env variables.

The runtime reads the `env` list of the (first) global-config node when it
builds the global flow, so every flow can read those values with env.get /
the `env` typed input; the node itself does nothing.
"""

from __future__ import annotations

from flowrt import Node, register_type

_ENV_ENTRY = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "value": {}},
    "required": ["name"],
}


@register_type("global-config")
class GlobalConfigNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "env": {"type": "array", "items": _ENV_ENTRY},
            "modules": {"type": "object"},
        },
    }

    def on_input(self, msg: dict, send) -> None:
        return None
