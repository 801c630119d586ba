"""Fixed-window counters in Redis."""

from __future__ import annotations

import ipaddress

from redis.asyncio import Redis

async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> int | None:
    """Count one hit on `key`; None while within `limit`, else seconds until the window ends."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_seconds, nx=True)  # the window starts with its first hit
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
    if count <= limit:
        return None
    return max(int(ttl), 1)


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
