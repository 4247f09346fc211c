"""The `redis` context store: node, flow and global context shared by processes.

    contextStorage:
      default: {module: memory}
      shared:
        module: redis
        config: {url: "redis://127.0.0.1:6379/0", prefix: "flowrt:ctx:"}

Layout: one Redis hash per scope (`<prefix><scope>`, scope as flowrt.context names
it: `global`, a flow id, `<node id>:<flow id>`), one field per top-level key whose
value is the key's JSON text. JSON as Node-RED's file store writes it: a Buffer is
`{"type": "Buffer", "data": [...]}`, a date its ISO text, and they read back as that
object and that text (as from `localfilesystem`). A value that is not JSON is an error
naming the store and key, never left out.

Synchronous access. Node-RED lets each store decide what a call without a callback does:
`memory` (and `localfilesystem` with its cache) answers at once, `localfilesystem`
without a cache throws "only asynchronous access supported". flowrt's change, switch,
template and inject nodes read context synchronously, so this store answers at once
too: one blocking round trip to Redis (tenths of a millisecond on one machine, at most
`timeout` seconds). The callback forms call back with the result or the error.

Lost updates. `flow.set("n", flow.get("n") + 1)` from two processes can lose increments
(both read 5, both write 6). `update(scope, key, fn)` (the JS sandbox's
`flow.update(key, fn, store)`, a Python node's `context.update(...)`) is a
compare-and-set loop: read the key's top-level JSON, compute, write only if that JSON
is unchanged (one Lua script), else read again. Nested sets (`flow.set("a.b", 1)`) use
the same loop, so two processes setting `a.b` and `a.c` keep both.

Failure. Unreachable at start or lost mid-run: one error line naming the store and the
URL (password hidden), every read and write fails at once with a ContextError naming
them (a node error in the node that asked), and a background task pings with backoff
(`retryMaxDelay`, default 5 s) until it answers, then logs that it is back. Nothing that
does not touch this store waits for it.

Config: `url` (default $REDIS_URL, else redis://127.0.0.1:6379/0; `rediss://` is TLS),
`prefix` ("flowrt:ctx:"), `password` (default $REDIS_PASSWORD) and `username`, `db`,
`tls` (true, or {ca, cert, key, rejectUnauthorized}), `timeout` (seconds, 1),
`retryMaxDelay` (seconds, 5).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from flowrt.context.base import ContextError, ContextStore, _json_default, _log, _scope_is_active
from flowrt.lang.propertypath import (
    PropertyAccessError,
    delete_object_property,
    get_object_property,
    parse_property_expression,
    set_object_property,
)

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "flowrt:ctx:"
#: Compare-and-set attempts before an update gives up (each lost race is another process's write).
MAX_ATTEMPTS = 1000

# KEYS[1] hash; ARGV: field, "1" when the field must be missing, its expected JSON,
# "1" to delete, the new JSON. 1 when written, 0 when the field changed meanwhile.
_CAS_SCRIPT = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[3] then
  return 0
end
if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[5]) end
return 1
"""


def redacted_url(url: str) -> str:
    """`url` with its password replaced by `***` (for log lines and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def client_options(config: dict) -> tuple[str, dict[str, Any]]:
    """(url, keyword arguments for redis-py's clients) from a store's (or registry's) config."""
    url = str(config.get("url") or os.environ.get("REDIS_URL") or DEFAULT_URL)
    timeout = float(config.get("timeout", 1.0))
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
    }
    password = config.get("password") or os.environ.get("REDIS_PASSWORD")
    if password and urlsplit(url).password is None:
        options["password"] = str(password)
    if config.get("username"):
        options["username"] = str(config["username"])
    if config.get("db") is not None:
        options["db"] = int(config["db"])
    tls = config.get("tls")
    if tls:
        if not url.startswith("rediss://"):
            url = "rediss://" + url.split("://", 1)[-1]
        tls = tls if isinstance(tls, dict) else {}
        if tls.get("ca"):
            options["ssl_ca_certs"] = str(tls["ca"])
        if tls.get("cert"):
            options["ssl_certfile"] = str(tls["cert"])
        if tls.get("key"):
            options["ssl_keyfile"] = str(tls["key"])
        if tls.get("rejectUnauthorized") is False:
            options["ssl_cert_reqs"] = "none"
            options["ssl_check_hostname"] = False
    return url, options


def sync_client(url: str, options: dict[str, Any]) -> redis.Redis:
    """A blocking client that reports a failure at once (its user reconnects, with backoff)."""
    return redis.Redis.from_url(url, retry=redis.retry.Retry(NoBackoff(), 0), **options)


def async_client(url: str, options: dict[str, Any]) -> redis.asyncio.Redis:
    """An asyncio client that reports a failure at once (its user reconnects, with backoff)."""
    return redis.asyncio.Redis.from_url(url, retry=redis.asyncio.retry.Retry(NoBackoff(), 0), **options)


def encode(value: Any) -> str:
    """A context value as the JSON text stored for it."""
    return json.dumps(
        value, default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
    )


def _top(key: str) -> tuple[str, bool]:
    """(top-level key, whether `key` is just that key)."""
    if "." not in key and "[" not in key and "]" not in key:
        return key, True
    parts = parse_property_expression(key)
    return str(parts[0]), len(parts) == 1


class RedisStore(ContextStore):
    """A context store kept in Redis (see the module doc)."""

    def __init__(self, config: dict | None = None, *, name: str = "redis", log: Any = None) -> None:
        config = dict(config or {})
        self.name = name
        self.log = log
        self.url, options = client_options(config)
        self.shown_url = redacted_url(self.url)
        self.prefix = str(config.get("prefix") or DEFAULT_PREFIX)
        self.retry_max_delay = float(config.get("retryMaxDelay", 5.0))
        self._client = sync_client(self.url, options)
        self._async_client = async_client(self.url, options)
        self._cas = self._client.register_script(_CAS_SCRIPT)
        self.available = True
        self._down_reason = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reconnect: asyncio.Task | None = None
        self._closing = False
        self._listeners: list[Callable[[bool], Any]] = []

    def __repr__(self) -> str:
        return f"<RedisStore {self.name} {self.shown_url}>"

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = False
        try:
            await self._async_client.ping()
        except redis.RedisError as err:
            self._went_down(err, at_start=True)
            return
        _log(self.log, "info", f"Context store '{self.name}' connected to {self.shown_url}")

    async def close(self) -> None:
        self._closing = True
        task, self._reconnect = self._reconnect, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self._async_client.aclose()
        self._client.close()

    def on_availability(self, listener: Callable[[bool], Any]) -> None:
        """Call `listener(available)` whenever the store loses or regains Redis."""
        self._listeners.append(listener)

    def _went_down(self, err: Exception, at_start: bool = False) -> None:
        if not self.available and not at_start:
            return
        self.available = False
        self._down_reason = str(err) or type(err).__name__
        what = "cannot reach" if at_start else "lost its connection to"
        _log(
            self.log,
            "error",
            f"Context store '{self.name}' {what} {self.shown_url}: {self._down_reason}; "
            "its reads and writes fail until it is back (retrying)",
        )
        self._notify(False)
        loop = self._loop
        if loop is None or loop.is_closed() or self._closing:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._start_reconnect()
        else:
            loop.call_soon_threadsafe(self._start_reconnect)

    def _start_reconnect(self) -> None:
        if self._closing or (self._reconnect is not None and not self._reconnect.done()):
            return
        self._reconnect = asyncio.ensure_future(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 0.05
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._async_client.ping()
            except redis.RedisError:
                delay = min(delay * 2, self.retry_max_delay)
                continue
            self.available = True
            _log(self.log, "info", f"Context store '{self.name}' reconnected to {self.shown_url}")
            self._notify(True)
            return

    def _notify(self, available: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(available)
            except Exception as err:  # a listener must not stop the others
                _log(self.log, "error", f"Context store '{self.name}': availability listener failed: {err}")

    # ------------------------------------------------------------ Redis calls

    def _unavailable(self) -> ContextError:
        return ContextError(
            f"Context store '{self.name}' ({self.shown_url}) is unavailable: {self._down_reason}"
        )

    def _call(self, operation: Callable[[redis.Redis], Any]) -> Any:
        if not self.available:
            raise self._unavailable()
        try:
            return operation(self._client)
        except (redis.ConnectionError, redis.TimeoutError) as err:
            self._went_down(err)
            raise self._unavailable() from None
        except redis.RedisError as err:
            raise ContextError(f"Context store '{self.name}' ({self.shown_url}): {err}") from None

    def _hash(self, scope: str) -> str:
        return self.prefix + scope

    def _encode(self, scope: str, key: str, value: Any) -> str:
        try:
            return encode(value)
        except (TypeError, ValueError, RecursionError) as err:
            raise ContextError(f"Context store '{self.name}': cannot store {scope} '{key}': {err}") from None

    def _decode(self, text: str | None) -> Any:
        return None if text is None else json.loads(text)

    # ------------------------------------------------------------ store API

    def get(self, scope: str, key: str) -> Any:
        top, plain = _top(key)
        value = self._decode(self._call(lambda c: c.hget(self._hash(scope), top)))
        if plain or value is None:
            return value
        try:
            return get_object_property({top: value}, key)
        except PropertyAccessError:
            return None

    def set(self, scope: str, key: str, value: Any) -> None:
        top, plain = _top(key)
        if not plain:
            self.update(scope, key, lambda _old: value)
        elif value is None:
            self._call(lambda c: c.hdel(self._hash(scope), top))
        else:
            text = self._encode(scope, key, value)
            self._call(lambda c: c.hset(self._hash(scope), top, text))

    def keys(self, scope: str) -> list[str]:
        return list(self._call(lambda c: c.hkeys(self._hash(scope))))

    def delete(self, scope: str) -> None:
        self._call(lambda c: c.delete(self._hash(scope)))

    def clean(self, active_scopes: set[str]) -> None:
        def drop_inactive(client: redis.Redis) -> None:
            stale = [
                name
                for name in client.scan_iter(match=self.prefix + "*", count=500)
                if not _scope_is_active(name[len(self.prefix) :], active_scopes)
            ]
            if stale:
                client.delete(*stale)

        try:
            self._call(drop_inactive)
        except ContextError as err:  # at start with Redis away: the flows start all the same
            _log(self.log, "warning", f"{err}: the context of removed nodes and flows stays")

    # ------------------------------------------------------------ atomic updates

    def read_for_update(self, scope: str, key: str) -> tuple[Any, Any]:
        """(value at `key`, a token for `write_if_unchanged`): the top-level key's JSON text."""
        top, plain = _top(key)
        text = self._call(lambda c: c.hget(self._hash(scope), top))
        value = self._decode(text)
        if not plain and value is not None:
            try:
                value = get_object_property({top: value}, key)
            except PropertyAccessError:
                value = None
        return value, text

    def write_if_unchanged(self, scope: str, key: str, value: Any, token: Any) -> bool:
        """Set `key` to `value` (None deletes) if its top-level key still holds the JSON
        `token` (None: still missing); False when another writer came first."""
        top, plain = _top(key)
        if plain:
            new = value
        else:
            container = {top: self._decode(token)} if token is not None else {}
            if value is None:
                delete_object_property(container, key)
            else:
                set_object_property(container, key, value)
            new = container.get(top)
        text = "" if new is None else self._encode(scope, key, new)
        args = [top, "1" if token is None else "0", token or "", "1" if new is None else "0", text]
        return bool(self._call(lambda c: self._cas(keys=[self._hash(scope)], args=args, client=c)))

    def update(self, scope: str, key: str, fn: Callable[[Any], Any]) -> Any:
        """Set `key` to `fn(current value)` without losing a concurrent writer's change
        (`fn` may run more than once); returns the value written."""
        for _ in range(MAX_ATTEMPTS):
            current, token = self.read_for_update(scope, key)
            new = fn(current)
            if self.write_if_unchanged(scope, key, new, token):
                return new
        raise ContextError(
            f"Context store '{self.name}': {scope} '{key}' changed {MAX_ATTEMPTS} times while updating it"
        )
