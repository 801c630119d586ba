"""The saved-search and feed API's bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from zentropy.search.query import SearchIn
from zentropy.search.results import JobSummary
from zentropy.matching.schemas import Match

FeedStatus = Literal["new", "saved", "dismissed", "applied"]
Hours = Annotated[int, msgspec.Meta(ge=1, le=24 * 30)]


class SavedSearchIn(SearchIn, kw_only=True, forbid_unknown_fields=True):
    """A search to re-run every `every_hours`; its new matches land in the feed."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    every_hours: Hours = 24


class SavedSearchPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    every_hours: Hours | None = None
    enabled: bool | None = None
    want: Annotated[int, msgspec.Meta(ge=1, le=500)] | None = None


class SavedSearchLinks(msgspec.Struct, kw_only=True):
    self: str
    run: str
    feed: str
    last_search: str | None


class SavedSearchOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    query: dict[str, Any]
    want: int
    premium: bool | None
    every_hours: int
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_search_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    links: SavedSearchLinks


class FeedItem(msgspec.Struct, kw_only=True):
    posting_id: int
    status: FeedStatus
    saved_search_id: uuid.UUID | None
    added_at: datetime
    updated_at: datetime
    job: JobSummary
    match: Match | None = None  # how well the job fits the user's preferences (score 0..1 + breakdown)


class FeedPage(msgspec.Struct, kw_only=True):
    items: list[FeedItem]
    total: int
    limit: int
    offset: int
    next: str | None


class FeedStatusIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: FeedStatus
