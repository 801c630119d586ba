"""`SourceHTTP`: the HTTP a source plugin gets from the core, with every resilience rule built in.

A plugin only builds requests and reads answers: `await http.get_json(url, params=...)`. Here, for
every source alike: one pooled client with connect/read timeouts and a deadline per attempt (a
slow drip ends too); retries with backoff and full jitter on timeouts, cut-short bodies, 429 and
5xx, honouring Retry-After; no retry on 401/402/403, which become an error naming the settings to
fix; the shared block, circuit breaker and rate limits (`Guard`) before every billable request;
an optional response cache in Redis; a cap on response size; JSON that cannot be read becomes a
`SourceError`, never a crash. Secrets travel in URLs for some providers (Adzuna, SerpApi): no URL
with its query string is ever put in a message or a log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import random
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx
import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from zentropy import __version__
from zentropy.sources.contract import SourceError, SourceInfo
from zentropy.sources.guard import Guard
from zentropy.sources.settings import HttpPolicy

log = logging.getLogger(__name__)

# `errors(status, body)`: a plugin's reading of a non-2xx answer (body: parsed JSON, or None);
# return a SourceError to raise, or None for the core's default handling.
ErrorHook = Callable[[int, Any], SourceError | None]
FAILURES = frozenset({"timeout", "unavailable", "bad_response"})  # what the breaker counts


@dataclass
class CallStats:
    """Requests made and cost spent during one service call (see `track`)."""

    requests: int = 0
    cost: float = 0.0


_stats: ContextVar[CallStats | None] = ContextVar("zentropy_source_call_stats", default=None)


@contextmanager
def track() -> Iterator[CallStats]:
    stats = CallStats()
    token = _stats.set(stats)
    try:
        yield stats
    finally:
        _stats.reset(token)


class _Transient(Exception):
    def __init__(self, error: SourceError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


class _TooLarge(Exception):
    pass


class _ScrubQuery(logging.Filter):
    """httpx logs each request's URL: drop its query string, where API keys may be."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_SCRUB = _ScrubQuery()


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def redacted(url: str) -> str:
    """`url` without its query string, for messages."""
    return str(httpx.URL(url).copy_with(query=None))


class SourceHTTP:
    """One source's HTTP (see the module docstring). Built by `SourceService`; plugins call
    `get_json`."""

    def __init__(self, info: SourceInfo, *, redis: Redis, guard: Guard, policy: HttpPolicy,
                 key_prefix: str, credentials: Sequence[str] = (), transport: httpx.AsyncBaseTransport | None = None,
                 user_agent: str | None = None) -> None:
        self.info = info
        self.name = info.name
        self.redis = redis
        self.guard = guard
        self.policy = policy
        self.credentials = tuple(credentials)
        self._cache_prefix = f"{key_prefix}:{info.name}:cache:"
        timeout = httpx.Timeout(connect=policy.connect_timeout, read=policy.read_timeout,
                                write=policy.read_timeout, pool=policy.connect_timeout)
        self.client = httpx.AsyncClient(
            timeout=timeout, transport=transport, follow_redirects=True, max_redirects=3,
            limits=httpx.Limits(max_connections=policy.max_connections,
                                max_keepalive_connections=policy.max_connections),
            headers={"User-Agent": user_agent or f"zentropy/{__version__}", "Accept": "application/json"},
        )
        logging.getLogger("httpx").addFilter(_SCRUB)

    async def aclose(self) -> None:
        await self.client.aclose()

    def error(self, code: str, message: str, *, retry_after: float | None = None) -> SourceError:
        return SourceError(self.name, code, message, retry_after=retry_after)

    # -- the one call plugins make ---------------------------------------------------------
    async def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                       headers: Mapping[str, str] | None = None, billable: bool = True,
                       cache_seconds: float | None = None, errors: ErrorHook | None = None) -> Any:
        """GET `url` and return its JSON.

        billable: the call counts against the source's rate limits, breaker and cost (an account
        or status endpoint that the provider does not charge for passes `False`).
        cache_seconds: keep the response in Redis this long (at most the source's content TTL),
        shared by all processes; a cached answer makes no call.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        cache_key = self._cache_key(url, params) if cache_seconds else None
        if cache_key is not None:
            cached = await self._cached(cache_key)
            if cached is not None:
                return cached
        body = await self._call(url, params, headers, billable, errors)
        data = self._decode(body)
        if data is _UNREADABLE:
            if billable:
                await self.guard.failed()
            raise self.error("bad_response", f"the response from {redacted(url)} is not valid JSON")
        if cache_key is not None and cache_seconds:
            await self._store(cache_key, body, min(cache_seconds, self.info.content_ttl_seconds))
        return data

    # -- attempts and retries --------------------------------------------------------------
    async def _call(self, url: str, params: dict[str, Any], headers: Mapping[str, str] | None, billable: bool,
                    errors: ErrorHook | None) -> bytes:
        call_id = uuid.uuid4().hex
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.retries + 1),
            retry=retry_if_exception_type(_Transient),
            wait=self._wait,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    body = await self._attempt(call_id, url, params, headers, billable, errors)
        except _Transient as exc:
            error = exc.error
            if billable and error.code == "rate_limited":
                await self.guard.block("rate_limited", error.retry_after or self.policy.rate_block)
            elif billable and error.code in FAILURES:
                await self.guard.failed()
            log.warning("source call failed", extra={"source": self.name, "code": error.code,
                                                     "attempts": self.policy.retries + 1})
            raise error from None
        if billable:
            await self.guard.succeeded()
        return body

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return exc.retry_after + random.uniform(0, exc.retry_after * 0.1)
        p = self.policy
        return random.uniform(0, min(p.backoff_max, p.backoff_base * 2 ** (state.attempt_number - 1)))

    async def _attempt(self, call_id: str, url: str, params: dict[str, Any], headers: Mapping[str, str] | None,
                       billable: bool, errors: ErrorHook | None) -> bytes:
        if billable:
            await self.guard.admit(call_id)
        stats = _stats.get()
        if stats is not None:
            stats.requests += 1
        where = redacted(url)
        try:
            async with asyncio.timeout(self.policy.total_timeout):
                async with self.client.stream("GET", url, params=params, headers=headers) as response:
                    body = await self._read(response)
        except (TimeoutError, httpx.TimeoutException):
            raise _Transient(self.error("timeout", f"{where} did not answer in time")) from None
        except _TooLarge:
            if billable:
                await self.guard.failed()
            raise self.error("bad_response", f"the response from {where} is larger than "
                             f"{self.policy.max_response_bytes} bytes") from None
        except httpx.RemoteProtocolError:
            raise _Transient(self.error("bad_response", f"the response from {where} was cut short")) from None
        except httpx.TransportError as exc:
            raise _Transient(self.error("unavailable", f"could not reach {where} ({type(exc).__name__})")) from None
        status = response.status_code
        if 200 <= status < 300:
            if billable and stats is not None:
                stats.cost += self.info.cost_per_call
            return body
        await self._refuse(status, response.headers, body, where, billable, errors)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read(self, response: httpx.Response) -> bytes:
        limit = self.policy.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def _refuse(self, status: int, headers: httpx.Headers, body: bytes, where: str, billable: bool,
                      errors: ErrorHook | None) -> None:
        """Raise what a non-2xx answer means: transient (retried) or final."""
        parsed = self._decode(body)
        own = errors(status, None if parsed is _UNREADABLE else parsed) if errors else None
        retry_after = parse_retry_after(headers.get("retry-after"))
        if own is not None:
            if own.code in ("rate_limited", "quota_exhausted") and billable:
                await self.guard.block(own.code, own.retry_after or (
                    self.policy.quota_block if own.code == "quota_exhausted" else self.policy.rate_block))
            if billable:
                await self.guard.succeeded()
            raise own
        if status in (401, 402, 403):
            if billable:
                await self.guard.succeeded()
            raise self._credentials_error(status)
        if status == 429:
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                if billable:
                    await self.guard.block("rate_limited", retry_after)
                raise self.error("rate_limited", f"the provider asks to wait {retry_after:.0f} s (HTTP 429)",
                                 retry_after=retry_after)
            raise _Transient(self.error("rate_limited", "the provider's rate limit was reached (HTTP 429)",
                                        retry_after=retry_after or self.policy.rate_block), retry_after)
        if status >= 500:
            if retry_after is not None and retry_after > self.policy.max_retry_after:
                retry_after = None
            raise _Transient(self.error("unavailable", f"{where} failed (HTTP {status})"), retry_after)
        if billable:
            await self.guard.succeeded()
        if status == 404:
            raise self.error("not_found", f"{where} was not found (HTTP 404)")
        raise self.error("bad_request", f"{where} rejected the request (HTTP {status})")

    def _credentials_error(self, status: int) -> SourceError:
        names = " / ".join(self.credentials) or "the source's settings"
        if status == 402:
            return self.error("payment_required", f"{names}: the provider wants payment for this account "
                              "(HTTP 402)")
        return self.error("auth_failed", f"{names} was refused by the provider (HTTP {status}); "
                          f"check {names}")

    @staticmethod
    def _decode(body: bytes) -> Any:
        try:
            return msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return _UNREADABLE

    # -- response cache ----------------------------------------------------------------------
    def _cache_key(self, url: str, params: Mapping[str, Any]) -> str:
        digest = hashlib.sha256(repr((url, sorted((k, str(v)) for k, v in params.items()))).encode()).hexdigest()
        return self._cache_prefix + digest

    async def _cached(self, key: str) -> Any | None:
        try:
            blob = await self.redis.get(key)
        except RedisError:
            return None
        if blob is None:
            return None
        try:
            data = msgspec.json.decode(zlib.decompress(blob))
        except (zlib.error, msgspec.DecodeError):
            return None
        return data

    async def _store(self, key: str, body: bytes, seconds: float) -> None:
        try:
            await self.redis.set(key, zlib.compress(body), px=max(1, int(seconds * 1000)))
        except RedisError:
            log.warning("source cache unavailable", extra={"source": self.name})


_UNREADABLE = object()
