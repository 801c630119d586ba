"""Single-flight across processes: identical work started at once is done once.

The first caller of a key takes a lease in Redis (renewed while it works) and does the work; the
others wait and read its outcome, which stays shared for `keep_seconds` after it is done. A caller
that dies loses its lease within `lease_seconds` and a waiter takes over. Work that raises shares
nothing: the next caller does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class SingleFlight:
    def __init__(self, redis: Any, prefix: str, *, lease_seconds: float = 15.0, keep_seconds: float = 30.0,
                 poll_seconds: float = 0.02) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.keep_ms = max(1, int(keep_seconds * 1000))
        self.poll = poll_seconds
        self._release = redis.register_script(RELEASE)
        self._renew = redis.register_script(RENEW)

    async def run(self, key: str, work: Callable[[], Awaitable[T]], kind: type[T]) -> tuple[T, bool]:
        """(outcome, shared): `shared` when another caller did the work."""
        lease, done = f"{self.prefix}{key}:lease", f"{self.prefix}{key}:done"
        while True:
            raw = await self.redis.get(done)
            if raw is not None:
                return msgspec.json.decode(raw, type=kind), True
            token = secrets.token_hex(8)
            if await self.redis.set(lease, token, nx=True, px=self.lease_ms):
                return await self._lead(lease, done, token, work), False
            while await self.redis.exists(lease) and not await self.redis.exists(done):
                await asyncio.sleep(self.poll)

    async def _lead(self, lease: str, done: str, token: str, work: Callable[[], Awaitable[T]]) -> T:
        renewing = asyncio.create_task(self._keep(lease, token))
        try:
            outcome = await work()
            await self.redis.set(done, msgspec.json.encode(outcome), px=self.keep_ms)
            return outcome
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self._release(keys=[lease], args=[token])

    async def _keep(self, lease: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            await self._renew(keys=[lease], args=[token, self.lease_ms])
