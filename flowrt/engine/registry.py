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

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from flowrt.engine.node import Node

N = TypeVar("N", bound="type[Node]")


class Registry:
    """Type names -> node classes. A type can also be *declared*: the module that registers it is
    named but imported only when the type is first asked for (`get_type`, `types`), so a flow
    loads only the node modules it uses (and their libraries: paho-mqtt, bs4, ...)."""

    def __init__(self) -> None:
        self._types: dict[str, type[Node]] = {}
        self._origins: dict[str, str] = {}
        self._declared: dict[str, str] = {}  # type name -> module registering it on import
        self._on_miss: Callable[[], None] | None = None  # run once when a lookup finds nothing

    def on_first_miss(self, load: Callable[[], None]) -> None:
        """`load` runs (once) the first time a type is neither registered nor declared, or when
        every type is listed: the loader imports the built-in modules its table does not name."""
        self._on_miss = load

    def _missed(self) -> None:
        load, self._on_miss = self._on_miss, None
        if load is not None:
            load()

    def declare(self, type_name: str, module: str) -> None:
        """`module` registers `type_name` when imported: import it on the type's first lookup."""
        if type_name not in self._types:
            self._declared[type_name] = module

    def register(self, type_name: str, cls: type[Node], origin: str = "") -> None:
        declared = self._declared.get(type_name)
        if declared is not None and declared != cls.__module__:
            raise ValueError(
                f"node type {type_name!r} is already registered by {declared}; "
                f"{origin or cls.__module__} cannot register it again"
            )
        self._declared.pop(type_name, None)
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
        cls = self._types.get(type_name)
        if cls is None and type_name in self._declared:
            self._import_declaring(type_name)
            cls = self._types.get(type_name)
        elif cls is None and self._on_miss is not None:
            self._missed()
            return self.get_type(type_name)
        return cls

    def types(self) -> dict[str, type[Node]]:
        """Every type, declared ones included (their modules are imported now)."""
        self._missed()
        for type_name in list(self._declared):
            if type_name in self._declared:
                self._import_declaring(type_name)
        return dict(sorted(self._types.items()))

    def _import_declaring(self, type_name: str) -> None:
        module = self._declared[type_name]
        try:
            importlib.import_module(module)
        except Exception as err:
            raise ImportError(f"node module {module} (type {type_name!r}) cannot be imported: {err}") from err
        if self._declared.pop(type_name, None) is not None:
            raise ImportError(f"node module {module} did not register the type {type_name!r} it declares")

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
