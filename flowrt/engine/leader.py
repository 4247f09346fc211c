"""Leadership: which worker process of `flowrt run --workers N` runs timed work.

Inject nodes with once/repeat/cron ask `is_leader(node)` (the public `flowrt.is_leader`)
when their timer fires and inject only in the leader, so a cron flow runs once per
deployment, not once per worker. The composition root adds the service
(`runtime.add_service(leadership)`):

* no service (a single process): every node is its own leader;
* `EveryWorker`: workers without Redis: every worker leads (the supervisor warns);
* `RedisLease`: one worker holds the key `<prefix>leader` (SET NX with a TTL, renewed
  every third of it); when it dies or loses Redis the key expires and another worker
  takes it within `leaseTtl` seconds (default 10). While Redis is unreachable no
  worker leads (a timer then injects nowhere, logged), because two leaders is the
  failure the lease exists to prevent.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from typing import Any

_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leadership:
    """Does this process run the deployment's timed work?"""

    def is_leader(self) -> bool:
        return True


class EveryWorker(Leadership):
    """Workers without a lease: every one leads."""


class RedisLease(Leadership):
    """A leader lease in Redis (see the module doc)."""

    def __init__(self, config: dict, log: Any = None, owner: str | None = None) -> None:
        import redis  # only deployments with workers and Redis need it

        from flowrt.context.redis import async_client, client_options, redacted_url

        self._errors = (redis.RedisError, OSError)
        self.url, options = client_options(config)
        self.shown_url = redacted_url(self.url)
        self.key = str(config.get("prefix") or "flowrt:") + "leader"
        self.ttl = max(0.3, float(config.get("leaseTtl", 10)))
        self.log = log
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._client = async_client(self.url, options)
        self._renew = self._client.register_script(_RENEW_SCRIPT)
        self._release = self._client.register_script(_RELEASE_SCRIPT)
        self._leader = False
        self._task: asyncio.Task | None = None
        self._failing = False

    def is_leader(self) -> bool:
        return self._leader

    async def start(self) -> None:
        """Try for the lease once (so the flows start knowing), then keep trying/renewing."""
        await self._attempt()
        self._task = asyncio.ensure_future(self._keep())

    async def _attempt(self) -> None:
        try:
            held = bool(await self._renew(keys=[self.key], args=[self.owner, int(self.ttl * 1000)]))
        except self._errors as err:
            if not self._failing:
                self._say(
                    "error",
                    f"leader lease: cannot reach {self.shown_url}: {err}; no worker "
                    "runs inject timers until it is back",
                )
            self._failing = True
            held = False
        else:
            if self._failing:
                self._say("info", f"leader lease: {self.shown_url} is back")
            self._failing = False
        if held != self._leader:
            self._say(
                "info",
                "this worker now runs the inject timers (leader)"
                if held
                else "this worker no longer runs the inject timers",
            )
        self._leader = held

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            await self._attempt()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._leader:
            try:
                await self._release(keys=[self.key], args=[self.owner])  # the next one takes over now
            except self._errors:
                pass
        self._leader = False
        await self._client.aclose()

    def _say(self, level: str, text: str) -> None:
        fn = getattr(self.log, level, None) if self.log is not None else None
        if fn is not None:
            fn(text)


def is_leader(node: Any) -> bool:
    """Should `node` run timed work in this process (see the module doc)?"""
    runtime = getattr(node, "runtime", None)
    service = runtime.service(Leadership) if runtime is not None else None
    return service is None or service.is_leader()
