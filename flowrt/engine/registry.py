"""Node type registry: maps Node-RED type names to node classes.

Built-in nodes (flowrt.nodes.*) and users' own node directories register through
the same call, `register_type`, usually as a class decorator (loader.py imports them):

    from flowrt import Node, register_type

    @register_type("lower-case")
    class LowerCase(Node):
        def on_input(self, msg, send, done):
            msg["payload"] = msg["payload"].lower()
            send(msg)
            done()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from flowrt.engine.node import Node

N = TypeVar("N", bound="type[Node]")


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, type[Node]] = {}
        self._origins: dict[str, str] = {}

    def register(self, type_name: str, cls: type[Node], origin: str = "") -> None:
        existing = self._types.get(type_name)
        reloaded = existing is not None and (existing.__module__, existing.__qualname__) == (
            cls.__module__,
            cls.__qualname__,
        )
        if existing is not None and existing is not cls and not reloaded:
            raise ValueError(
                f"node type {type_name!r} is already registered by {self._origins.get(type_name)}; "
                f"{origin or cls.__module__} cannot register it again"
            )
        cls.type = type_name
        self._types[type_name] = cls
        self._origins[type_name] = origin or cls.__module__

    def get_type(self, type_name: str) -> type[Node] | None:
        return self._types.get(type_name)

    def types(self) -> dict[str, type[Node]]:
        return dict(sorted(self._types.items()))

    def origin(self, type_name: str) -> str:
        return self._origins.get(type_name, "")


registry = Registry()


def register_type(type_name: str, cls: type[Node] | None = None) -> Callable[[N], N] | None:
    """Register a node class under a Node-RED type name (usable as a decorator)."""
    if cls is not None:
        registry.register(type_name, cls)
        return None

    def decorator(node_cls: N) -> N:
        registry.register(type_name, node_cls)
        return node_cls

    return decorator
