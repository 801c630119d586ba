"""LLM failures with a stable `code`, what the user is told, and whether to retry or fall back."""

from __future__ import annotations

import email.utils
import time

from zentropy.http.errors import ProblemError

# code -> HTTP status the API answers with
STATUS = {
    "llm_budget_exceeded": 402,  # the user's monthly budget is spent
    "llm_out_of_credits": 402,  # the provider account (or the user's own key) has no credits
    "llm_rate_limited": 429,  # the user's own rate limit
    "llm_provider_rate_limited": 429,
    "llm_provider_auth": 502,
    "llm_provider_unavailable": 503,
    "llm_provider_error": 502,
    "llm_model_unavailable": 502,
    "llm_bad_request": 502,
    "llm_stream_failed": 502,
    "llm_invalid_output": 502,
    "llm_embedding_dimension": 502,
    "llm_unavailable": 503,  # no provider can serve the task
    "llm_local_model_missing": 503,
}


class LLMError(Exception):
    """A call failed. `retryable`: the same call may succeed later (after `retry_after` seconds);
    `fallback`: the next model or provider on the task's route may be tried instead."""

    def __init__(self, code: str, message: str, *, provider: str | None = None, retryable: bool = False,
                 retry_after: float | None = None, fallback: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.provider = provider
        self.retryable = retryable
        self.retry_after = retry_after
        self.fallback = fallback

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 502)

    def problem(self) -> ProblemError:
        headers = {"Retry-After": str(max(1, round(self.retry_after)))} if self.retry_after else None
        extra = {"retry_after": self.retry_after} if self.retry_after else {}
        return ProblemError(self.status, self.code, self.message, headers=headers, **extra)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (time.time() if now is None else now))
