"""Node-RED context: node, flow and global scopes backed by one or more stores.

Mirrors ``@node-red/runtime/lib/nodes/context``:

* ``settings.contextStorage`` configures named stores (``memory``,
  ``localfilesystem`` or a custom factory); ``default`` may alias another
  store by name; with no configuration a single memory store is used.
* Scopes are ``"global"``, a flow id, or ``"<node id>:<flow id>"``.
* A key may carry a store prefix, ``#:(file)::foo.bar``; an unknown store
  name falls back to the default store with a warning (logged once).
* Flow contexts of subflows have a parent flow context, reachable with a
  ``$parent.`` key prefix.
* ``None`` plays JavaScript ``undefined``: setting a key to ``None``
  deletes it.

All store access is synchronous (values are cached in memory); callbacks
(``callback(err, value)``) are supported for Node-RED style code.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flowrt.context.base import (
    ContextError,
    ContextStore,
    _json_default,
    _log,
    _scope_is_active,
)
from flowrt.lang.propertypath import (
    PropertyAccessError,
    delete_object_property,
    get_object_property,
    parse_context_store,
    parse_property_expression,
    set_object_property,
)

__all__ = [
    "Context",
    "ContextError",
    "ContextManager",
    "ContextStore",
    "LocalFileSystemStore",
    "MemoryStore",
    "Borrower",
    "parse_context_store",
]

_STORE_NAME_RE = re.compile(r"[a-zA-Z0-9_]+")
_GLOBAL_API_NAMES = frozenset({"set", "get", "keys"})


class MemoryStore(ContextStore):
    """Keeps values in memory, by reference (no cloning).

    It can also lend a top-level object or array to a borrower (a JS sandbox,
    which works on its own copy): while lent, the borrower's copy is the value,
    and any other access to that key first takes it back (`Borrower.give_back`).
    Only values no Python code can hold a reference to are lent ("fresh" ones:
    set from a copy with ``fresh=True`` and not read since by ``get``), so a
    loan never hides a change made through a Python reference.
    """

    def __init__(self, config: dict | None = None) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self._fresh: set[tuple[str, str]] = set()
        self._lent: dict[tuple[str, str], tuple[Borrower, Any]] = {}

    def get(self, scope: str, key: str) -> Any:
        value = self.peek(scope, key)
        if type(value) in _CONTAINERS and self._fresh:
            self._fresh.discard((scope, _top_key(key)))  # the caller now holds a reference
        return value

    def peek(self, scope: str, key: str) -> Any:
        """As `get`, for a caller that only copies the value (it stays lendable)."""
        if self._lent:
            self._take_back(scope, _top_key(key))
        data = self.data.get(scope)
        if data is None:
            parse_property_expression(key)  # bad syntax is an error even when empty
            return None
        if _is_simple_path(key):
            value = data.get(key, _MISSING)
            if value is not _MISSING:
                return value
        try:
            return get_object_property(data, key)
        except PropertyAccessError:
            return None

    def set(self, scope: str, key: str, value: Any, *, fresh: bool = False) -> None:
        """Set (``None`` deletes); ``fresh``: nothing else references `value` (a decoded copy)."""
        top = _top_key(key)
        if self._lent:
            if top == key:
                loan = self._lent.pop((scope, key), None)  # replaced as a whole: the loan is void
                if loan is not None:
                    loan[0].loan_ended(loan[1])
            else:
                self._take_back(scope, top)
        data = self.data.get(scope)
        if data is None:
            parse_property_expression(key)
            if value is None:
                return
            data = self.data[scope] = {}
        if _PLAIN_NAME.match(key):  # what the property-path functions do for one plain name
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        elif value is None:
            delete_object_property(data, key)
        else:
            set_object_property(data, key, value)
        if fresh and top == key:
            self._fresh.add((scope, key))
        elif top == key or type(value) in _CONTAINERS:
            self._fresh.discard((scope, top))

    def lend(self, scope: str, key: str, borrower: Borrower, token: Any) -> tuple[bool, Any]:
        """Lend the object or array at a top-level key: ``(True, value)`` when lent now,
        ``(True, LENT_ALREADY)`` when `borrower` holds it already, ``(False, None)`` when it can't be
        lent (not fresh, not a container): the caller reads a copy with `peek` then."""
        loan = self._lent.get((scope, key))
        if loan is not None:
            if loan[0] is borrower:
                return True, LENT_ALREADY
            self._take_back(scope, key)
        if (scope, key) not in self._fresh:
            return False, None
        value = self.data.get(scope, {}).get(key)
        if type(value) not in _CONTAINERS:
            return False, None
        self._lent[(scope, key)] = (borrower, token)
        return True, value

    def take_back_all(self, borrower: Borrower) -> None:
        """Take back everything lent to `borrower` (it is going away)."""
        for scope, key in [k for k, loan in self._lent.items() if loan[0] is borrower]:
            self._take_back(scope, key)

    def _take_back(self, scope: str, key: str) -> None:
        loan = self._lent.pop((scope, key), None)
        if loan is None:
            return
        value = loan[0].give_back(loan[1])
        data = self.data.get(scope)
        if value is not KEEP_STORED and data is not None and key in data:
            data[key] = value  # a fresh copy: nothing else referenced the old one

    def keys(self, scope: str) -> list[str]:
        if scope == "global":  # as Node-RED's memory store: the old API's names are no keys
            return [k for k in self.data.get(scope, ()) if k not in _GLOBAL_API_NAMES]
        return list(self.data.get(scope, ()))

    def delete(self, scope: str) -> None:
        self.data.pop(scope, None)
        self._forget(lambda s: s == scope)

    def clean(self, active_scopes: set[str]) -> None:
        for scope in list(self.data):
            if not _scope_is_active(scope, active_scopes):
                del self.data[scope]
        self._forget(lambda s: not _scope_is_active(s, active_scopes))

    def _forget(self, dropped: Callable[[str], bool]) -> None:
        self._fresh = {k for k in self._fresh if not dropped(k[0])}
        for k in [k for k in self._lent if dropped(k[0])]:
            loan = self._lent.pop(k)
            loan[0].loan_ended(loan[1])


class Borrower:
    """What `MemoryStore.lend` lends to: it returns the current value on request."""

    def give_back(self, token: Any) -> Any:
        """The borrowed value as it is now (a fresh copy), or `KEEP_STORED` to keep the stored one."""
        raise NotImplementedError

    def loan_ended(self, token: Any) -> None:
        """The loan is void without being taken back (the key was replaced or its scope dropped):
        the borrower's copy is no longer the value."""


_CONTAINERS = (dict, list)
_MISSING = object()
KEEP_STORED = object()  # give_back: the value could not be returned; keep the stored one
LENT_ALREADY = object()  # lend: the borrower holds the value already


#: A key the property-path functions read as one name, whatever the store holds: the fast path
#: of MemoryStore.set (issue 19: the path functions were half of a function node's flow.set).
_PLAIN_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


def _is_simple_path(key: Any) -> bool:
    """A property path of one plain name (no ``.``, ``[`` or ``]``)."""
    return type(key) is str and "." not in key and "[" not in key and "]" not in key


def _top_key(key: Any) -> str:
    """The top-level key a context key or property path is under (``"a"`` for ``"a.b[0]"``)."""
    if _is_simple_path(key):
        return key
    return str(parse_property_expression(key)[0])


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=4, default=_json_default, allow_nan=False, ensure_ascii=False)


#: Characters a node or flow id may use as-is in a context file name (Node-RED's ids are hex
#: with at most a dot); every other character is percent-encoded, so no id leaves the store.
_FILE_NAME_SAFE = "-_."


def file_name_for_id(node_id: str) -> str:
    """A node or flow id as a context file (or directory) name that stays in its directory.

    Node-RED joins ids into the path as they are (so `../x` escapes); ids of the usual shape
    keep Node-RED's layout, anything else is percent-encoded: `/`, NUL, `%`, and a leading dot
    (so `.` and `..` never name a directory)."""
    name = quote(node_id, safe=_FILE_NAME_SAFE, errors="surrogatepass")
    if not name or name.startswith("."):
        name = "%2E" + name[1:] if name else "%"
    return name


def id_for_file_name(name: str) -> str:
    """The id a context file name stands for (the inverse of file_name_for_id)."""
    return "" if name == "%" else unquote(name, errors="surrogatepass")


class LocalFileSystemStore(ContextStore):
    """Node-RED's ``localfilesystem`` store.

    Files live under ``<dir>/<base>`` (``dir`` defaults to the user
    directory, ``base`` to ``"context"``) with Node-RED's layout::

        global/global.json
        <flow id>/flow.json
        <flow id>/<node id>.json

    Values are cached in memory; changed scopes are written every
    ``flushInterval`` seconds (default 30) and on :meth:`close`.  Writes
    are atomic (temporary file + rename).  Values that cannot be written as
    JSON are left out of the file with a warning naming scope and key.
    """

    def __init__(self, config: dict | None = None, *, name: str = "file", log: Any = None) -> None:
        config = dict(config or {})
        self.name = name
        self.log = log
        base = config.get("base") or "context"
        directory = config.get("dir")
        if not directory:
            directory = (config.get("settings") or {}).get("userDir")
        if not directory:
            directory = Path.home() / ".node-red"
        self.base_dir = Path(directory) / base
        interval = config.get("flushInterval", 30)
        self.flush_interval = max(0.0, float(interval))
        self._cache = MemoryStore()
        self._dirty: set[str] = set()
        self._warned: set[tuple[str, str]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # guards the cache and the dirty set against setters on other threads
        self._guard = threading.RLock()
        self._closing = False

    # ------------------------------------------------------------ paths

    def scope_path(self, scope: str) -> Path:
        """The JSON file holding ``scope``."""
        if ":" not in scope:
            if scope == "global":
                return self.base_dir / "global" / "global.json"
            return self.base_dir / file_name_for_id(scope) / "flow.json"
        node_id, flow_id = scope.split(":", 1)
        return self.base_dir / file_name_for_id(flow_id) / f"{file_name_for_id(node_id)}.json"

    def _list_files(self) -> list[tuple[str, Path]]:
        found: list[tuple[str, Path]] = []
        if not self.base_dir.is_dir():
            return found
        for sub in sorted(self.base_dir.iterdir()):
            if sub.name.startswith(".") or not sub.is_dir():
                continue
            for file in sorted(sub.iterdir()):
                if file.suffix != ".json" or not file.is_file():
                    continue
                if sub.name == "global":
                    scope = "global"
                elif file.name == "flow.json":
                    scope = id_for_file_name(sub.name)
                else:
                    scope = f"{id_for_file_name(file.stem)}:{id_for_file_name(sub.name)}"
                found.append((scope, file))
        return found

    # ------------------------------------------------------------ lifecycle

    def _load_all(self) -> dict[str, dict]:
        loaded: dict[str, dict] = {}
        for scope, file in self._list_files():
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                raise ContextError(f"Invalid context file {file}: not UTF-8 text ({err.reason})") from None
            except OSError as err:
                raise ContextError(f"Cannot read context file {file}: {err.strerror}") from None
            try:
                data = json.loads(text) if text.strip() else {}
            except (ValueError, RecursionError) as err:
                problem = err if isinstance(err, ValueError) else "nested too deeply"
                raise ContextError(f"Invalid JSON in context file {file}: {problem}") from None
            if not isinstance(data, dict):
                raise ContextError(f"Invalid context file {file}: not a JSON object")
            loaded.setdefault(scope, {}).update(data)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        return loaded

    async def open(self) -> None:
        self._closing = False
        self._timer = None
        self._flush_task = None
        self._lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        loaded = await asyncio.to_thread(self._load_all)
        with self._guard:
            for scope, data in loaded.items():
                self._cache.data.setdefault(scope, {}).update(data)

    async def close(self) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task, self._flush_task = self._flush_task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await task
        await self.flush()

    # ------------------------------------------------------------ flushing

    def _serialise(self, scope: str) -> str:
        data = self._cache.data.get(scope) or {}
        try:
            text = _dumps(data)
        except (TypeError, ValueError, RecursionError):
            good = {}
            for key, value in data.items():
                try:
                    _dumps(value)
                except (TypeError, ValueError, RecursionError) as err:
                    if (scope, key) not in self._warned:
                        self._warned.add((scope, key))
                        _log(
                            self.log,
                            "warning",
                            f"Context store '{self.name}': not saving {scope}/{key}: {err}",
                        )
                    continue
                good[key] = value
            text = _dumps(good)
        else:
            if self._warned:
                self._warned = {w for w in self._warned if w[0] != scope}
        return text

    @staticmethod
    def _write_atomic(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{time.time_ns()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    async def flush(self) -> None:
        """Write every changed scope now."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            with self._guard:
                scopes = sorted(self._dirty)
                self._dirty.clear()
                writes = [(scope, self.scope_path(scope), self._serialise(scope)) for scope in scopes]
            if not writes:
                return

            def write_all() -> list[tuple[str, OSError]]:
                failures = []
                for scope, path, text in writes:
                    try:
                        self._write_atomic(path, text)
                    except OSError as err:
                        failures.append((scope, err))
                return failures

            failures = await asyncio.to_thread(write_all)
            for scope, err in failures:
                with self._guard:
                    self._dirty.add(scope)
                _log(self.log, "error", f"Context store '{self.name}': error writing {scope}: {err}")

    def _on_timer(self) -> None:
        self._timer = None
        self._flush_task = asyncio.ensure_future(self.flush())

    def _schedule(self) -> None:
        if self._closing or self._timer is not None:
            return
        self._timer = asyncio.get_running_loop().call_later(self.flush_interval, self._on_timer)

    def _request_flush(self) -> None:
        if self._closing or self._timer is not None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (self._loop is None or running is self._loop):
            self._schedule()
        elif self._loop is not None and not self._loop.is_closed():
            # a setter on another thread: schedule on the store's loop
            try:
                self._loop.call_soon_threadsafe(self._schedule)
            except RuntimeError:
                pass  # loop closed meanwhile: written on close

    # ------------------------------------------------------------ store API

    def get(self, scope: str, key: str) -> Any:
        with self._guard:
            return self._cache.get(scope, key)

    def set(self, scope: str, key: str, value: Any) -> None:
        with self._guard:
            self._cache.set(scope, key, value)
            self._dirty.add(scope)
        self._request_flush()

    def keys(self, scope: str) -> list[str]:
        with self._guard:
            return self._cache.keys(scope)

    def delete(self, scope: str) -> None:
        with self._guard:
            self._cache.delete(scope)
            self._dirty.discard(scope)
        path = self.scope_path(scope)
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    def clean(self, active_scopes: set[str]) -> None:
        with self._guard:
            self._cache.clean(active_scopes)
            self._dirty = {s for s in self._dirty if _scope_is_active(s, active_scopes)}
        self._warned.clear()
        for scope, file in self._list_files():
            if scope == "global":
                continue
            flow_id = file.parent.name
            if flow_id not in active_scopes:
                shutil.rmtree(file.parent, ignore_errors=True)
            elif file.name != "flow.json" and file.stem not in active_scopes:
                file.unlink(missing_ok=True)


_BUILTIN_STORES: dict[str, Callable[..., ContextStore]] = {
    "memory": MemoryStore,
    "localfilesystem": LocalFileSystemStore,
}


# ====================================================================== contexts


def _validate_key(key: Any) -> bool:
    keys = key if isinstance(key, list | tuple) else [key]
    if not keys:
        return False
    return all(isinstance(k, str) and k for k in keys)


def _is_plain_key(key: Any) -> bool:
    """A key naming a top-level value directly: no store prefix, parent or property path."""
    return _is_simple_path(key) and key != "" and not key.startswith(("#:", "$parent"))


def _reader(storage: ContextStore, share: bool) -> Callable[[str, str], Any]:
    """`get` for a caller that keeps references, else the memory store's `peek`."""
    return storage.peek if not share and isinstance(storage, MemoryStore) else storage.get


def _split_store_arg(store: Any, callback: Any) -> tuple[Any, Any]:
    if callback is None and callable(store):
        return None, store
    if callback is not None and not callable(callback):
        raise ContextError("Callback must be a function")
    return store, callback


class _RootContext:
    """Parent of top-level flow contexts: reads nothing, stores nothing."""

    parent = None

    def get(self, key: Any, store: Any = None, callback: Callable | None = None) -> Any:
        store, callback = _split_store_arg(store, callback)
        if callback:
            callback(None, None)
        return None

    def set(self, key: Any, value: Any, store: Any = None, callback: Callable | None = None) -> None:
        store, callback = _split_store_arg(store, callback)
        if callback:
            callback(None)

    def keys(self, store: Any = None, callback: Callable | None = None) -> list[str] | None:
        store, callback = _split_store_arg(store, callback)
        if callback:
            callback(None, [])
            return None
        return []


class Context:
    """One context scope (``global``, a flow, or a node).

    Node contexts also have ``.flow`` and ``.global_`` (Context objects);
    flow contexts have ``.parent`` (the parent flow context, or a root
    context that holds nothing).
    """

    def __init__(
        self,
        manager: ContextManager,
        scope: str,
        seed: dict | None = None,
        parent: Context | _RootContext | None = None,
    ) -> None:
        self._manager = manager
        self.scope = scope
        self._seed = seed
        self.parent = parent
        self.flow: Context | None = None
        self.global_: Context | None = None

    def __repr__(self) -> str:
        return f"<Context {self.scope}>"

    # ------------------------------------------------------------ helpers

    def _follow_parent(self, key: str) -> tuple[bool, Any, str | None]:
        if key == "$parent":
            return True, None, None
        if key.startswith("$parent."):
            ctx = self.parent
            rest = key[8:]
            while ctx is not None and rest.startswith("$parent."):
                ctx = getattr(ctx, "parent", None)
                rest = rest[8:]
            return True, ctx, rest
        return False, None, None

    def _seed_value(self, key: str) -> Any:
        try:
            return get_object_property(self._seed, key)
        except PropertyAccessError:
            return None

    def _get(self, key: Any, store: str | None, share: bool = True) -> tuple[bool, Any]:
        """Returns (is_multi, value-or-values); `share`: the caller keeps references."""
        if not _validate_key(key):
            raise ContextError("Invalid context key")
        if isinstance(key, list | tuple):
            read = _reader(self._manager._store_for(store), share)
            values = [read(self.scope, k) for k in key]
            if self._seed:
                values = [self._seed_value(k) if v is None else v for k, v in zip(key, values, strict=True)]
            return True, values
        key_store, key = parse_context_store(key)
        store = store or key_store
        follow, ctx, rest = self._follow_parent(key)
        if follow:
            if ctx is None or not rest:
                return False, None
            return False, (ctx.get(rest, store) if share else ctx.peek(rest, store))
        value = _reader(self._manager._store_for(store), share)(self.scope, key)
        if value is None and self._seed:
            value = self._seed_value(key)
        return False, value

    def peek(self, key: str | list[str], store: str | None = None) -> Any:
        """As `get`, for a caller that copies the value and keeps no reference to it."""
        return self._get(key, store, share=False)[1]

    def borrow(self, key: str, borrower: Borrower, token: Any) -> tuple[bool, Any]:
        """Borrow the object or array at a plain key of the default store (see
        `MemoryStore.lend`): ``(True, value)`` or ``(True, LENT_ALREADY)`` when lent,
        ``(False, copyable value)`` when it can't be."""
        storage = self._manager._stores["_"]
        if type(storage) is MemoryStore and _is_plain_key(key):
            lent, value = storage.lend(self.scope, key, borrower, token)
            if lent:
                return True, value
            value = storage.peek(self.scope, key)  # what self.peek(key) does for a plain key
            return False, self._seed_value(key) if value is None and self._seed else value
        return False, self.peek(key)

    def take_back_all(self, borrower: Borrower) -> None:
        """Take back whatever the default store lent to `borrower` (it is going away)."""
        storage = self._manager._stores["_"]
        if type(storage) is MemoryStore:
            storage.take_back_all(borrower)

    def set_copy(self, key: str | list[str], value: Any, store: str | None = None) -> None:
        """As `set`, for a value nothing else references (decoded at the JS boundary)."""
        storage = self._manager._store_for(store)
        if type(storage) is MemoryStore and _is_plain_key(key):
            storage.set(self.scope, key, value, fresh=True)
        else:
            self._set(key, value, store)

    # ------------------------------------------------------------ API

    def get(self, key: str | list[str], store: str | None = None, callback: Callable | None = None) -> Any:
        """Read a key (or list of keys).  With a callback, calls
        ``callback(err, value)`` (``callback(err, *values)`` for a list)
        and returns ``None``."""
        store, callback = _split_store_arg(store, callback)
        try:
            multi, value = self._get(key, store)
        except Exception as err:
            if callback is None:
                raise
            callback(err)
            return None
        if callback is None:
            return value
        if multi:
            callback(None, *value)
        else:
            callback(None, value)
        return None

    def _set(self, key: Any, value: Any, store: str | None) -> None:
        if not _validate_key(key):
            raise ContextError("Invalid context key")
        if isinstance(key, list | tuple):
            storage = self._manager._store_for(store)
            values = value if isinstance(value, list) else [value]
            for i, k in enumerate(key):
                storage.set(self.scope, k, values[i] if i < len(values) else None)
            return
        key_store, key = parse_context_store(key)
        store = store or key_store
        follow, ctx, rest = self._follow_parent(key)
        if follow:
            if ctx is not None and rest:
                ctx.set(rest, value, store)
            return
        self._manager._store_for(store).set(self.scope, key, value)

    def set(
        self,
        key: str | list[str],
        value: Any,
        store: str | None = None,
        callback: Callable | None = None,
    ) -> None:
        """Set a key (or keys, with a list of values); ``None`` deletes.
        With a callback, calls ``callback(err)``."""
        store, callback = _split_store_arg(store, callback)
        try:
            self._set(key, value, store)
        except Exception as err:
            if callback is None:
                raise
            callback(err)
            return
        if callback is not None:
            callback(None)

    def keys(self, store: str | None = None, callback: Callable | None = None) -> list[str] | None:
        """The top-level keys of this scope in a store."""
        store, callback = _split_store_arg(store, callback)
        try:
            result = self._manager._store_for(store).keys(self.scope)
            if self._seed and self._manager.export_global_context_keys:
                result = list(dict.fromkeys([*self._seed, *result]))
        except Exception as err:
            if callback is None:
                raise
            callback(err)
            return None
        if callback is None:
            return result
        callback(None, result)
        return None

    # ------------------------------------------------------------ atomic updates (flowrt's own)

    def _update_target(self, key: Any, store: str | None) -> tuple[ContextStore, str]:
        if not isinstance(key, str) or not key:
            raise ContextError("Invalid context key")
        key_store, key = parse_context_store(key)
        if key.startswith("$parent"):
            raise ContextError("update does not follow $parent: update the parent flow's context")
        return self._manager._store_for(store or key_store), key

    def read_for_update(self, key: str, store: str | None = None) -> tuple[Any, Any]:
        """(value, token): the first half of an update another process cannot interleave
        with (see `write_if_unchanged`); the value is a copy for memory stores too."""
        storage, key = self._update_target(key, store)
        if isinstance(storage, MemoryStore):
            return storage.peek(self.scope, key), None
        return storage.read_for_update(self.scope, key)

    def write_if_unchanged(self, key: str, value: Any, token: Any, store: str | None = None) -> bool:
        """Write `value` unless the key changed since `read_for_update` returned `token`."""
        storage, key = self._update_target(key, store)
        return storage.write_if_unchanged(self.scope, key, value, token)

    def update(self, key: str, fn: Callable[[Any], Any], store: str | None = None) -> Any:
        """Set `key` to `fn(current value)` without losing a concurrent writer's change, in
        any store (on `redis`, `fn` may run more than once); returns the value written."""
        storage, key = self._update_target(key, store)
        return storage.update(self.scope, key, fn)


# ====================================================================== manager


class ContextManager:
    """Owns the context stores and hands out Context objects.

    ``context_storage`` has the shape of Node-RED's
    ``settings.contextStorage``::

        {"default": {"module": "memory"},
         "file": {"module": "localfilesystem", "config": {"flushInterval": 10}}}

    ``"default": "file"`` makes another store the default; without a
    ``default`` entry the first store listed is the default.  ``module``
    may also be a factory taking the config dict (or a ContextStore).
    """

    def __init__(
        self,
        context_storage: dict | None,
        user_dir: str | os.PathLike | None,
        function_global_context: dict | None = None,
        log: Any = None,
        export_global_context_keys: bool = True,
    ) -> None:
        self.log = log
        self.user_dir = os.fspath(user_dir) if user_dir is not None else None
        self.export_global_context_keys = export_global_context_keys
        self._stores: dict[str, ContextStore] = {}
        self._store_list: list[str] = []
        self._default_store = "memory"
        self._has_configured_store = False
        self._warned_stores: set[str] = set()
        self._configure(context_storage or {})
        self._seed = dict(function_global_context or {})
        self._contexts: dict[str, Context] = {}
        self._flows: dict[str, Context] = {}
        self._global = Context(self, "global", seed=self._seed)

    # ------------------------------------------------------------ configuration

    def _create_store(self, name: str, spec: Any) -> ContextStore:
        if not isinstance(spec, dict) or "module" not in spec:
            raise ValueError(f"Context store '{name}' does not define a 'module'")
        config = dict(spec.get("config") or {})
        config["settings"] = {"userDir": self.user_dir}
        module = spec["module"]
        if isinstance(module, ContextStore):
            return module
        if isinstance(module, str):
            if module == "localfilesystem":
                return LocalFileSystemStore(config, name=name, log=self.log)
            if module == "redis":  # imported here: only deployments that use it need redis-py
                from flowrt.context.redis import RedisStore

                return RedisStore(config, name=name, log=self.log)
            factory = _BUILTIN_STORES.get(module)
            if factory is None:
                known = ", ".join(sorted([*_BUILTIN_STORES, "redis"]))
                raise ValueError(
                    f"Context store '{name}': unknown module '{module}' (available modules: {known})"
                )
            return factory(config)
        if callable(module):
            store = module(config)
            if not all(hasattr(store, m) for m in ("get", "set", "keys", "open", "close")):
                raise ValueError(f"Context store '{name}': module did not create a context store")
            return store
        raise ValueError(f"Context store '{name}': invalid module {module!r}")

    def _configure(self, plugins: dict) -> None:
        if not plugins:
            self._stores["_"] = MemoryStore()
            self._store_list = ["memory"]
            self._default_store = "memory"
            return
        has_default = "default" in plugins
        default_alias: str | None = None
        first_name: str | None = None
        for name, spec in plugins.items():
            if name == "_":
                continue
            if not isinstance(name, str) or not _STORE_NAME_RE.fullmatch(name):
                raise ValueError(f"Invalid context store name {name!r}")
            if name == "default" and isinstance(spec, str):
                if spec not in plugins or spec == "default":
                    raise ValueError(f"Context store 'default' refers to unknown store '{spec}'")
                default_alias = spec
                continue
            if first_name is None and not has_default:
                first_name = name
            self._stores[name] = self._create_store(name, spec)
        if has_default:
            target = default_alias or "default"
        elif first_name is not None:
            target = first_name
            default_alias = first_name
        else:
            target = None
        if target is None:
            self._stores["_"] = MemoryStore()
            self._default_store = "memory"
        else:
            self._stores["_"] = self._stores[target]
            self._default_store = target
        self._has_configured_store = True
        self._store_list = [
            n for n in self._stores if n != "_" and not (default_alias and n == "default")
        ] or ["memory"]

    def _store_for(self, name: str | None) -> ContextStore:
        if name:
            store = self._stores.get(name)
            if store is not None:
                return store
            if name not in (self._default_store, "default") and name not in self._warned_stores:
                self._warned_stores.add(name)
                _log(self.log, "warning", f"Unknown context store '{name}' specified. Using default store.")
        return self._stores["_"]

    def store(self, name: str | None = None) -> ContextStore:
        """The store instance for ``name`` (the default store for None)."""
        return self._store_for(name)

    def list_stores(self) -> dict[str, Any]:
        """``{"default": <name>, "stores": [<names>]}`` as Node-RED reports it."""
        return {"default": self._default_store, "stores": list(self._store_list)}

    def _unique_stores(self) -> Iterable[ContextStore]:
        seen: set[int] = set()
        for store in self._stores.values():
            if id(store) not in seen:
                seen.add(id(store))
                yield store

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open every store (file stores load their persisted values)."""
        for store in self._unique_stores():
            await store.open()

    async def stop(self) -> None:
        """Flush and close every store."""
        errors = []
        for store in self._unique_stores():
            try:
                await store.close()
            except Exception as err:  # keep closing the others
                errors.append(err)
                _log(self.log, "error", f"Error closing context store: {err}")
        if errors:
            raise errors[0]

    # ------------------------------------------------------------ contexts

    def global_context(self) -> Context:
        return self._global

    def flow_context(self, flow_id: str, parent_flow_id: str | None = None) -> Context:
        ctx = self._flows.get(flow_id)
        if ctx is None:
            parent: Context | _RootContext | None = None
            if parent_flow_id is not None:
                parent = self._flows.get(parent_flow_id)
            ctx = Context(self, flow_id, parent=parent or _RootContext())
            ctx.global_ = self._global
            self._flows[flow_id] = ctx
        return ctx

    def node_context(self, node_id: str, flow_id: str | None) -> Context:
        context_id = f"{node_id}:{flow_id}" if flow_id else node_id
        ctx = self._contexts.get(context_id)
        if ctx is None:
            ctx = Context(self, context_id)
            if flow_id:
                ctx.flow = self.flow_context(flow_id)
            ctx.global_ = self._global
            self._contexts[context_id] = ctx
        return ctx

    def delete_node_context(self, node_id: str, flow_id: str | None) -> None:
        """Forget a node's context.  As in Node-RED this only happens when no
        context storage is configured (configured stores keep node context
        across redeploys until :meth:`clean`)."""
        if self._has_configured_store:
            return
        context_id = f"{node_id}:{flow_id}" if flow_id else node_id
        self._contexts.pop(context_id, None)
        self._stores["_"].delete(context_id)

    def delete_global_context(self) -> None:
        """Empty the global context in every store (the seed stays)."""
        for store in self._unique_stores():
            store.delete("global")

    def clean(self, active_ids: Iterable[str]) -> None:
        """Drop node and flow contexts whose ids are not in ``active_ids``."""
        active = set(active_ids)
        for store in self._unique_stores():
            store.clean(active)
        for context_id in list(self._contexts):
            if context_id.split(":", 1)[0] not in active:
                del self._contexts[context_id]
        for flow_id in list(self._flows):
            if flow_id not in active:
                del self._flows[flow_id]
