"""The search API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from zentropy.search.results import JobSummary


class SearchLinks(msgspec.Struct, kw_only=True):
    self: str
    events: str
    jobs: str


class SearchOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: str  # queued | running | done | failed
    cached: bool  # answered by the cache tier
    query: dict[str, Any]
    want: int
    premium: bool | None
    results_count: int
    cost: float
    premium_calls: int
    error_code: str | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    saved_search_id: uuid.UUID | None
    report: dict[str, Any] | None  # per tier: status and, per source, what it returned and cost
    links: SearchLinks


class SearchList(msgspec.Struct, kw_only=True):
    items: list[SearchOut]
    limit: int
    offset: int


class JobsPage(msgspec.Struct, kw_only=True):
    items: list[JobSummary]
    total: int
    limit: int
    offset: int
    next: str | None


class SourceChoiceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    enabled: bool = True


class PrioritiesIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`sources`: the new order (first first; sources left out follow in the default order,
    enabled); `allow_premium`: whether searches may use premium sources. Either may be omitted."""

    sources: Annotated[list[SourceChoiceIn], msgspec.Meta(max_length=200)] | None = None
    allow_premium: bool | None = None
