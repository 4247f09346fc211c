"""What every context store shares: the store interface, its error, JSON of Node-RED's file store.

(Apart from flowrt/context/__init__.py so that the stores in their own modules, such as
redis.py, import it without importing the package that chooses among them.)
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable
from typing import Any

_DEFAULT_LOG = logging.getLogger("flowrt.context")


class ContextError(ValueError):
    """Invalid context key, store configuration or store operation."""


def _log(log: Any, level: str, message: str) -> None:
    log = log or _DEFAULT_LOG
    fn = getattr(log, level, None)
    if fn is None and level == "warning":
        fn = getattr(log, "warn", None)
    if fn is not None:
        fn(message)


def _scope_is_active(scope: str, active: set[str]) -> bool:
    return scope == "global" or scope.split(":", 1)[0] in active


# ====================================================================== stores


class ContextStore:
    """Interface of a context store.  Keys may be property paths."""

    async def open(self) -> None:
        """Prepare the store (load persisted values)."""

    async def close(self) -> None:
        """Persist anything pending and release resources."""

    def get(self, scope: str, key: str) -> Any:
        raise NotImplementedError

    def set(self, scope: str, key: str, value: Any) -> None:
        raise NotImplementedError

    def keys(self, scope: str) -> list[str]:
        raise NotImplementedError

    def delete(self, scope: str) -> None:
        raise NotImplementedError

    def clean(self, active_scopes: set[str]) -> None:
        """Drop node/flow scopes whose id (before any ``:``) is not active."""
        raise NotImplementedError

    # A store shared by processes (redis) makes these a compare-and-set; a store of one
    # process needs nothing more: nothing runs between a caller's read and its write.
    def read_for_update(self, scope: str, key: str) -> tuple[Any, Any]:
        """(value at `key`, a token to pass to `write_if_unchanged`)."""
        return self.get(scope, key), None

    def write_if_unchanged(self, scope: str, key: str, value: Any, token: Any) -> bool:
        """Set `key` unless it changed since `read_for_update` gave `token`; False if it did."""
        self.set(scope, key, value)
        return True

    def update(self, scope: str, key: str, fn: Callable[[Any], Any]) -> Any:
        """Set `key` to `fn(current value)` atomically; returns the value written."""
        value = fn(self.get(scope, key))
        self.set(scope, key, value)
        return value


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON serialisable")
