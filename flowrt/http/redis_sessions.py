"""SSE sessions across processes: a `SessionRegistry` on Redis (setting `sseSessionRegistry: redis`).

Each process (a worker of `flowrt run --workers N`) has an owner id and subscribes to its
own channel `<prefix>owner:<id>`. Registering a session sets `<prefix>session:<session id>`
to the owner id with a TTL (`ttl` seconds, default 15) that a heartbeat renews every third
of it. `publish` writes at once to a session held here; otherwise one Lua script reads the
owner and PUBLISHes `<session id>\\n<frame>` on its channel in a single round trip, and the
owner's subscriber writes the frame (`deliver_local`). A holder that dies takes its
sessions with it: nobody renews their keys, and a publish that reaches no subscriber
deletes the key at once.

Config: the setting `redis` ({url, password, username, db, tls, timeout}, see
flowrt.context.redis; default $REDIS_URL), plus `prefix` ("flowrt:sse:") and `ttl`, taken
from `sseSessionRegistry` when it is a mapping (`{module: redis, config: {...}}`).
Redis lost: sessions held here keep working, a publish to another process fails with an
error naming the URL, and the subscriber reconnects with backoff and registers the local
sessions again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from typing import Any

import redis

from flowrt.context.redis import async_client, client_options, redacted_url, sync_client
from flowrt.http.sessions import SessionRegistry, SseSession, wants_redis

DEFAULT_PREFIX = "flowrt:sse:"

# KEYS[1] session key; ARGV: channel prefix, message. -1: unknown session, else receivers.
_PUBLISH_SCRIPT = """
local owner = redis.call('GET', KEYS[1])
if not owner then return -1 end
return redis.call('PUBLISH', ARGV[1] .. owner, ARGV[2])
"""


def install(runtime: Any) -> RedisSessionRegistry | None:
    """Add the Redis registry to `runtime` when the setting `sseSessionRegistry` asks for it
    (the composition root calls this: `flowrt run`, the test harness)."""
    if not wants_redis(runtime.settings.get("sseSessionRegistry")):
        return None
    registry = RedisSessionRegistry.for_runtime(runtime)
    runtime.add_service(registry, SessionRegistry)
    return registry


class SessionRegistryUnavailable(ConnectionError):
    """Redis cannot be reached: a session held by another process cannot be written to."""


def registry_config(runtime: Any) -> dict:
    """The registry's config from the settings `redis` and `sseSessionRegistry`."""
    config = dict(runtime.settings.get("redis") or {})
    setting = runtime.settings.get("sseSessionRegistry")
    if isinstance(setting, dict):
        config.update(setting.get("config") or {})
    return config


class RedisSessionRegistry(SessionRegistry):
    """Sessions of every process, found through Redis (see the module doc)."""

    def __init__(self, config: dict | None = None, log: Any = None, owner: str | None = None) -> None:
        config = dict(config or {})
        self.url, options = client_options(config)
        self.shown_url = redacted_url(self.url)
        self.prefix = str(config.get("prefix") or DEFAULT_PREFIX)
        self.ttl = max(1.0, float(config.get("ttl", 15)))
        self.log = log
        worker = os.environ.get("FLOWRT_WORKER", "")
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{worker}:{secrets.token_hex(4)}"
        self._client = async_client(self.url, options)
        # the subscriber waits for messages as long as it takes: no read timeout (a killed server
        # still ends its connection at once)
        self._subscriber = async_client(self.url, {**options, "socket_timeout": None})
        # register() sets a session's key before it returns (one blocking round trip), so a
        # client that reads the endpoint event and POSTs to another process finds the session
        self._blocking = sync_client(self.url, options)
        self._publish_script = self._client.register_script(_PUBLISH_SCRIPT)
        self._sessions: dict[str, SseSession] = {}
        self._subscribed = asyncio.Event()
        self._runner: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        self._stopped = False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # started by the first register()
        else:
            self._ensure_running()  # subscribed before the first session opens

    @classmethod
    def for_runtime(cls, runtime: Any) -> RedisSessionRegistry:
        return cls(registry_config(runtime), log=runtime.log)

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"

    @property
    def channel(self) -> str:
        return f"{self.prefix}owner:{self.owner}"

    # ------------------------------------------------------------ SessionRegistry

    def register(self, session: SseSession) -> None:
        if session.id in self._sessions:
            raise ValueError(f"SSE session {session.id!r} is already registered")
        self._sessions[session.id] = session
        self._ensure_running()
        if self._subscribed.is_set():
            try:
                self._blocking.set(self._key(session.id), self.owner, px=int(self.ttl * 1000))
                return
            except redis.RedisError as err:
                self._log(
                    "warn", f"SSE session registry ({self.shown_url}): cannot register a session: {err}"
                )
        self._background(self._announce([session.id]))  # once subscribed (and by the heartbeat)

    def unregister(self, session_id: str) -> None:
        if self._sessions.pop(session_id, None) is not None and not self._stopped:
            self._background(self._forget(session_id))

    def local(self, session_id: str) -> SseSession | None:
        return self._sessions.get(session_id)

    def local_count(self) -> int:
        return len(self._sessions)

    def sessions(self) -> list[SseSession]:
        return list(self._sessions.values())

    async def publish(self, session_id: str, frame: str) -> bool:
        if session_id in self._sessions:
            return self.deliver_local(session_id, frame)
        try:
            receivers = await self._publish_script(
                keys=[self._key(session_id)], args=[f"{self.prefix}owner:", f"{session_id}\n{frame}"]
            )
        except redis.RedisError as err:
            raise self._unavailable(err) from None
        if receivers == 0:  # its holder is gone: nobody listens on the owner's channel
            await self._client.delete(self._key(session_id))
        return receivers > 0

    async def exists(self, session_id: str) -> bool:
        session = self._sessions.get(session_id)
        if session is not None:
            return not session.closed
        try:
            return bool(await self._client.exists(self._key(session_id)))
        except redis.RedisError as err:
            raise self._unavailable(err) from None

    async def stop(self) -> None:
        self._stopped = True
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        for task in list(self._pending):  # an announcement may wait for a Redis that is away
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._sessions:
            try:
                await self._client.delete(*[self._key(s) for s in self._sessions])
            except redis.RedisError:
                pass  # their TTL ends them
        await self._client.aclose()
        await self._subscriber.aclose()
        self._blocking.close()

    # ------------------------------------------------------------ Redis side

    def _unavailable(self, err: Exception) -> SessionRegistryUnavailable:
        return SessionRegistryUnavailable(f"SSE session registry ({self.shown_url}) is unavailable: {err}")

    def _log(self, level: str, text: str) -> None:
        fn = getattr(self.log, level, None) if self.log is not None else None
        if fn is not None:
            fn(text)

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _ensure_running(self) -> None:
        if self._runner is None and not self._stopped:
            self._runner = asyncio.ensure_future(self._run())

    async def _announce(self, session_ids: list[str]) -> None:
        """Make sessions findable, once this process listens on its channel."""
        await self._subscribed.wait()
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for session_id in session_ids:
                    if session_id in self._sessions:
                        pipe.set(self._key(session_id), self.owner, px=int(self.ttl * 1000))
                await pipe.execute()
        except redis.RedisError as err:
            self._log("warn", f"SSE session registry ({self.shown_url}): cannot register sessions: {err}")

    async def _forget(self, session_id: str) -> None:
        try:
            await self._client.delete(self._key(session_id))
        except redis.RedisError:
            pass  # the TTL ends it

    async def _run(self) -> None:
        """Subscribe, deliver, heartbeat; on a lost connection log, back off, do it again."""
        delay = 0.05
        while not self._stopped:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            heartbeat: asyncio.Task | None = None
            try:
                await pubsub.subscribe(self.channel)
                if delay > 0.05:
                    self._log("info", f"SSE session registry reconnected to {self.shown_url}")
                delay = 0.05
                self._subscribed.set()
                heartbeat = asyncio.ensure_future(self._heartbeat())
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None and message.get("type") == "message":
                        session_id, _, frame = message["data"].partition("\n")
                        self.deliver_local(session_id, frame)
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as err:
                self._subscribed.clear()
                if delay == 0.05:
                    self._log(
                        "error",
                        f"SSE session registry lost {self.shown_url}: {err}; sessions of other "
                        "processes are unreachable until it is back (retrying)",
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if heartbeat is not None:
                    heartbeat.cancel()
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def _heartbeat(self) -> None:
        while True:
            await self._announce(list(self._sessions))  # SET again: they come back after a restart
            await asyncio.sleep(self.ttl / 3)
