"""What every call to a source must pass, kept in Redis so that all processes agree.

Per source: a *block* (set after the provider said "stop": a long Retry-After, credits spent),
a circuit *breaker* (opens after failures in a row; then lets one probe call through at a time),
sliding-window *rate limits* (one sorted set per declared limit; a call is admitted only if every
window has room, and then counts in all of them — atomically, in one script), and a *budget* of the
provider's remaining credits (re-read from the provider now and then, spent by each search).
"""

from __future__ import annotations

import math
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from zentropy.sources.contract import RateLimit, SourceError
from zentropy.sources.settings import HttpPolicy

DAY_MS = 86_400_000

ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local code = redis.call('GET', KEYS[1])
if code then return {code, redis.call('PTTL', KEYS[1]), 0} end
local open = redis.call('PTTL', KEYS[2])
if open > 0 then return {'circuit_open', open, 0} end
local probing = 0
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[1]) then
  if redis.call('GET', KEYS[4]) ~= ARGV[3] and not redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[2]) then
    return {'circuit_open', redis.call('PTTL', KEYS[4]), 0}
  end
  probing = 1
end
local wait, blocked_window = 0, 0
for i = 5, #KEYS do
  local j = 5 + (i - 5) * 2
  local calls, window = tonumber(ARGV[j]), tonumber(ARGV[j + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= calls then
    local entry = redis.call('ZRANGE', KEYS[i], count - calls, count - calls, 'WITHSCORES')
    local w = tonumber(entry[2]) + window - now
    if w > wait then wait, blocked_window = w, window end
  end
end
if wait > 0 then
  if probing == 1 then redis.call('DEL', KEYS[4]) end
  if blocked_window >= tonumber(ARGV[#ARGV]) then return {'quota_exhausted', wait, 0} end
  return {'rate_limited', wait, 0}
end
for i = 5, #KEYS do
  local j = 5 + (i - 5) * 2
  redis.call('ZADD', KEYS[i], now, ARGV[3] .. ':' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[i], ARGV[j + 1])
end
return {'ok', 0, probing}
"""

FAILED = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]))
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
"""

BLOCK = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""

TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return {'missing', 0} end
if tonumber(left) < tonumber(ARGV[1]) then return {'quota_exhausted', redis.call('PTTL', KEYS[1])} end
redis.call('INCRBYFLOAT', KEYS[1], -tonumber(ARGV[1]))
return {'ok', 0}
"""

REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]) end
return 1
"""

MESSAGES = {
    "rate_limited": "rate limit reached; no call was made",
    "quota_exhausted": "quota exhausted; no call was made",
    "circuit_open": "paused after repeated failures; no call was made",
}


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class Guard:
    """One source's block, breaker, rate limits and credit budget (see the module docstring)."""

    def __init__(self, redis: Redis, prefix: str, source: str, limits: tuple[RateLimit, ...],
                 policy: HttpPolicy) -> None:
        self.redis = redis
        self.source = source
        self.limits = limits
        self.policy = policy
        base = f"{prefix}:{source}"
        self.block_key = f"{base}:block"
        self.open_key = f"{base}:breaker:open"
        self.failures_key = f"{base}:breaker:failures"
        self.probe_key = f"{base}:breaker:probe"
        self.budget_key = f"{base}:budget"
        self.limit_keys = [f"{base}:limit:{limit.calls}/{limit.per_seconds}" for limit in limits]
        self._admit = redis.register_script(ADMIT)
        self._failed = redis.register_script(FAILED)
        self._block = redis.register_script(BLOCK)
        self._take = redis.register_script(TAKE)
        self._refund = redis.register_script(REFUND)

    async def admit(self, call_id: str) -> None:
        """Admit one request (counting it in every rate-limit window) or raise why it was not made.

        `call_id` is the same for the retries of one call: a call let through as the breaker's
        probe may retry.
        """
        args: list[int | str] = [self.policy.breaker_threshold, _ms(self._probe_lease()), call_id,
                                 uuid.uuid4().hex]
        for limit in self.limits:
            args += [limit.calls, limit.per_seconds * 1000]
        args.append(DAY_MS)
        keys = [self.block_key, self.open_key, self.failures_key, self.probe_key, *self.limit_keys]
        code, wait_ms, _ = await self._run(self._admit, keys, args)
        code = code.decode() if isinstance(code, bytes) else code
        if code != "ok":
            raise self.refusal(code, int(wait_ms) / 1000)

    def refusal(self, code: str, retry_after: float) -> SourceError:
        message = MESSAGES.get(code, "paused by an earlier answer of the provider; no call was made")
        retry = max(retry_after, 0.001)
        return SourceError(self.source, code, f"{message} (retry in {math.ceil(retry)} s)", retry_after=retry)

    def _probe_lease(self) -> float:
        p = self.policy
        return p.total_timeout * (p.retries + 1) + p.backoff_max * p.retries + 1

    async def succeeded(self) -> None:
        await self._call(self.redis.delete(self.failures_key, self.probe_key))

    async def failed(self) -> bool:
        """Count a failure; True when this one opened the breaker."""
        p = self.policy
        opened = await self._run(self._failed, [self.failures_key, self.open_key, self.probe_key],
                                 [p.breaker_threshold, _ms(p.breaker_cooldown), _ms(p.breaker_window)])
        return bool(opened)

    async def block(self, code: str, seconds: float) -> None:
        """No process calls the source for `seconds`; calls meanwhile fail with `code`."""
        await self._run(self._block, [self.block_key], [code, _ms(seconds)])

    # -- the provider's credits ---------------------------------------------------------------
    async def take_budget(self, cost: float) -> bool:
        """Spend `cost` from the shared budget; False when the budget must first be read."""
        if cost <= 0:
            return True
        code, wait_ms = await self._run(self._take, [self.budget_key], [repr(float(cost))])
        code = code.decode() if isinstance(code, bytes) else code
        if code == "missing":
            return False
        if code != "ok":
            raise self.refusal(code, max(int(wait_ms), 1000) / 1000)
        return True

    async def set_budget(self, remaining: float) -> None:
        await self._call(self.redis.set(self.budget_key, repr(float(remaining)), px=_ms(self.policy.quota_refresh)))

    async def refund_budget(self, cost: float) -> None:
        if cost > 0:
            await self._run(self._refund, [self.budget_key], [repr(float(cost))])

    async def budget(self) -> float | None:
        value = await self._call(self.redis.get(self.budget_key))
        return float(value) if value is not None else None

    # -- Redis unreachable: fail closed, no call is made -------------------------------------
    async def _run(self, script, keys, args):  # noqa: ANN001
        return await self._call(script(keys=keys, args=args))

    async def _call(self, awaitable):  # noqa: ANN001
        try:
            return await awaitable
        except RedisError:
            raise SourceError(self.source, "unavailable",
                              "Redis (limits and breaker) is unreachable; no call was made") from None
