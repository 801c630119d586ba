"""What a job source is: the search it receives, the postings it returns, what it declares.

The core never sees a provider's wire format: a source plugin turns a `SearchQuery` into a `Page`
of normalized `Posting`s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

Tier = Literal["free", "premium"]
RemotePolicy = Literal["remote", "hybrid", "onsite", "unknown"]
EmploymentType = Literal["full_time", "part_time", "contract", "permanent", "temporary", "internship"]
SalaryPeriod = Literal["year", "month", "week", "day", "hour"]
SEARCH_FIELDS = frozenset(
    {"keywords", "location", "country", "remote_only", "posted_within_days", "salary_min",
     "employment_type", "page_size"}
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


class Salary(msgspec.Struct, frozen=True, kw_only=True):
    min: float | None = None
    max: float | None = None
    currency: str | None = None  # ISO 4217
    period: SalaryPeriod | None = None
    predicted: bool = False


class Posting(msgspec.Struct, kw_only=True):
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


@runtime_checkable
class Source(Protocol):
    info: SourceInfo

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page: ...


class SourceError(Exception):
    """A source could not answer; `code` is stable, the message says what to fix where it can."""

    def __init__(self, source: str, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.code = code
        self.retry_after = retry_after
