"""A catalog posting as `GET /api/v1/jobs/{id}` shows it."""

from __future__ import annotations

from datetime import datetime

import msgspec

from zentropy.catalog.content import ContentStatus
from zentropy.search.results import ResultSalary


class Attribution(msgspec.Struct, kw_only=True):
    """What a source's terms ask us to show with its postings."""

    source: str
    text: str
    url: str | None


class JobListing(msgspec.Struct, kw_only=True):
    """One source's listing of the posting."""

    source: str
    source_url: str | None
    apply_url: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    content_status: ContentStatus
    content_expires_at: datetime | None
    attribution: str | None
    attribution_url: str | None
    refetchable: bool  # the source can fetch this one posting again


class JobContent(msgspec.Struct, kw_only=True):
    """The posting's text while it lasts: the fullest live description among its listings."""

    source: str | None
    description_text: str | None
    description_html: str | None
    expires_at: datetime | None
    attribution: str | None
    attribution_url: str | None


class JobLinks(msgspec.Struct, kw_only=True):
    self: str
    refetch: str


class Job(msgspec.Struct, kw_only=True):
    id: int
    title: str
    company: str | None
    locations: list[str]
    country: str | None
    remote: str
    salary: ResultSalary | None
    employment_type: str | None
    posted_at: datetime | None
    apply_url: str | None
    source_url: str | None  # where to read the posting, also once its content here has expired
    tags: list[str]
    category: str | None
    seniority: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    content_status: ContentStatus  # live | expired | none
    content_expires_at: datetime | None  # when the content expires, or expired
    content_expired_at: datetime | None  # set once it has expired
    content: JobContent | None  # while live
    listings: list[JobListing]
    attribution: list[Attribution]
    links: JobLinks
