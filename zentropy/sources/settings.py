"""How the core calls every source: timeouts, retries, circuit breaker, caches (env-tunable)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from zentropy.settings import env, read_settings

Seconds = Annotated[float, msgspec.Meta(ge=0)]


class HttpPolicy(msgspec.Struct, frozen=True, kw_only=True):
    connect_timeout: Seconds = 5.0
    read_timeout: Seconds = 20.0
    total_timeout: Seconds = 45.0  # one attempt, body included: ends a slow drip
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2  # extra attempts on transient failures
    backoff_base: Seconds = 0.5  # full jitter: sleep U(0, min(max, base * 2**attempt))
    backoff_max: Seconds = 8.0
    max_retry_after: Seconds = 10.0  # a longer Retry-After fails fast (rate_limited, retry_after)
    breaker_threshold: Annotated[int, msgspec.Meta(ge=1)] = 5  # failures in a row that open it
    breaker_cooldown: Seconds = 30.0  # open this long, then one probe call at a time
    breaker_window: Seconds = 120.0  # failures older than this are forgotten
    max_response_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 32 * 1024 * 1024
    quota_refresh: Seconds = 600.0  # re-read the provider's remaining credits this often
    quota_block: Seconds = 3600.0  # after the provider says the credits are spent (no Retry-After)
    rate_block: Seconds = 60.0  # after a 429 without a usable Retry-After
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 10


class SourcesSettings(msgspec.Struct, frozen=True, kw_only=True):
    connect_timeout: Annotated[Seconds, env("ZENTROPY_SOURCES_CONNECT_TIMEOUT", doc="Seconds.")] = 5.0
    read_timeout: Annotated[Seconds, env("ZENTROPY_SOURCES_READ_TIMEOUT", doc="Seconds between bytes.")] = 20.0
    total_timeout: Annotated[
        Seconds, env("ZENTROPY_SOURCES_TOTAL_TIMEOUT", doc="Seconds for one whole request, body included.")
    ] = 45.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=10), env("ZENTROPY_SOURCES_RETRIES")] = 2
    backoff_base: Annotated[Seconds, env("ZENTROPY_SOURCES_BACKOFF_BASE")] = 0.5
    backoff_max: Annotated[Seconds, env("ZENTROPY_SOURCES_BACKOFF_MAX")] = 8.0
    max_retry_after: Annotated[
        Seconds, env("ZENTROPY_SOURCES_MAX_RETRY_AFTER", doc="Longest Retry-After waited for in a call.")
    ] = 10.0
    breaker_threshold: Annotated[int, msgspec.Meta(ge=1), env("ZENTROPY_SOURCES_BREAKER_THRESHOLD")] = 5
    breaker_cooldown: Annotated[Seconds, env("ZENTROPY_SOURCES_BREAKER_COOLDOWN")] = 30.0
    key_prefix: Annotated[
        str, env("ZENTROPY_SOURCES_KEY_PREFIX", doc="Redis key prefix for limits, breakers and caches.")
    ] = "zentropy:sources"

    def policy(self) -> HttpPolicy:
        fields = {f: getattr(self, f) for f in HttpPolicy.__struct_fields__ if hasattr(self, f)}
        return HttpPolicy(**fields)


def sources_settings() -> SourcesSettings:
    return read_settings(SourcesSettings)
