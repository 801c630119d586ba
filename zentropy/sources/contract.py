"""What a job source is: the search it receives, the postings it returns, what it declares.

The core never sees a provider's wire format: a source plugin turns a `SearchQuery` into a `Page`
of normalized `Posting`s.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from zentropy.sources.http import SourceHTTP

Tier = Literal["free", "premium"]
RemotePolicy = Literal["remote", "hybrid", "onsite", "unknown"]
EmploymentType = Literal["full_time", "part_time", "contract", "permanent", "temporary", "internship"]
SalaryPeriod = Literal["year", "month", "week", "day", "hour"]
SortBy = Literal["relevance", "date", "salary"]
SEARCH_FIELDS = frozenset(
    {"keywords", "location", "country", "remote_only", "posted_within_days", "salary_min",
     "employment_type", "page_size", "distance_km", "sort_by"}
)
DEFAULT_CONTENT_TTL = 24 * 3600


class SearchQuery(msgspec.Struct, frozen=True, kw_only=True):
    keywords: str = ""
    location: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, lower case
    remote_only: bool = False
    posted_within_days: int | None = None
    salary_min: int | None = None
    employment_type: EmploymentType | None = None
    page_size: int = 20
    distance_km: int | None = None  # radius around `location`
    sort_by: SortBy | None = None  # None: the source's own order


class Salary(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    min: float | None = None
    max: float | None = None
    currency: str | None = None  # ISO 4217
    period: SalaryPeriod | None = None
    predicted: bool = False


class Posting(msgspec.Struct, kw_only=True, gc=False):
    """A normalized posting. `description_text`, `description_html` and `raw` are *content*: they
    expire after the source's TTL; every other field is metadata and is kept."""

    source: str
    external_id: str
    title: str
    company: str | None = None
    locations: list[str] = []
    country: str | None = None
    remote: RemotePolicy = "unknown"
    salary: Salary | None = None
    employment_type: EmploymentType | None = None
    posted_at: datetime | None = None
    source_url: str | None = None
    apply_url: str | None = None
    description_text: str = ""
    description_html: str | None = None
    raw: dict[str, Any] = {}
    tags: list[str] = []
    category: str | None = None


class Page(msgspec.Struct, kw_only=True):
    postings: list[Posting]
    next_cursor: str | None = None
    skipped: int = 0  # malformed items dropped from this page
    total: int | None = None  # the source's own count of matches, when it gives one


class RateLimit(msgspec.Struct, frozen=True):
    calls: int
    per_seconds: int


class SourceInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    tier: Tier
    cost_per_call: float = 0.0  # in `cost_unit`s, e.g. one SerpApi search credit
    cost_unit: str = "call"
    rate_limits: tuple[RateLimit, ...] = ()
    content_ttl_seconds: int = DEFAULT_CONTENT_TTL
    attribution: str | None = None  # what the source's terms require us to show
    attribution_url: str | None = None
    honours: frozenset[str] = frozenset({"keywords"})  # which SearchQuery fields it applies
    supports_fetch: bool = False


class Quota(msgspec.Struct, frozen=True, kw_only=True):
    """What a source's account has left, as the provider reports it (e.g. SerpApi `/account.json`)."""

    remaining: float
    limit: float | None = None
    used: float | None = None


@runtime_checkable
class Source(Protocol):
    """A source instance: built by the core with its `SourceHTTP` (see `SourceFactory`).

    Optional methods: `async fetch(external_id) -> Posting | None` (when `info.supports_fetch`),
    `async quota() -> Quota | None` (the provider's remaining credits; the core then keeps a
    budget shared by all processes and makes no call once it is spent).
    """

    info: SourceInfo

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page: ...


@runtime_checkable
class SourceFactory(Protocol):
    """What a plugin registers with `register_sources`: usually the source class itself.

    `info` is readable without building; `settings` (a settings Struct, optional) decides whether
    the source is configured; calling the factory with the core's `SourceHTTP` builds the source.
    """

    info: SourceInfo
    settings: ClassVar[type | None]

    def __call__(self, http: SourceHTTP) -> Source: ...


class SourceError(Exception):
    """A source could not answer; `code` is stable, the message says what to fix where it can."""

    def __init__(self, source: str, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.code = code
        self.message = message
        self.retry_after = retry_after


# The stable `SourceError.code`s the core raises (plugins may raise any of them too).
ERROR_CODES = {
    "unknown_source": "no source of that name is registered",
    "not_configured": "the source's required settings are missing or malformed",
    "unsupported_query": "the source cannot serve this search (e.g. a country it does not cover)",
    "auth_failed": "the provider refused the credentials (HTTP 401/403); the message names the setting",
    "payment_required": "the provider wants payment (HTTP 402); the message names the setting",
    "rate_limited": "over a short-window rate limit (ours or the provider's 429); see retry_after",
    "quota_exhausted": "a daily-or-longer quota or the account's credits are spent; see retry_after",
    "circuit_open": "the source failed repeatedly and is paused; see retry_after",
    "timeout": "the provider did not answer in time",
    "unavailable": "the provider failed (5xx, connection refused or reset)",
    "bad_response": "the response could not be read (bad JSON, cut short, too large, wrong shape)",
    "bad_request": "the provider rejected the request (other 4xx)",
    "not_found": "the provider has no such resource (HTTP 404)",
}
