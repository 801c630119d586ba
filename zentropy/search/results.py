"""A catalog posting as search results, the feed and cache answers show it: metadata only (never
content, which expires), with its content status and a link to the posting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zentropy.catalog.content import ContentStatus, content_status

# postings' columns every result needs (prefixed `p.`)
POSTING_FIELDS = ("id", "title", "company", "locations", "country", "remote", "salary_min", "salary_max",
                  "salary_currency", "salary_period", "salary_predicted", "employment_type", "posted_at", "source_url",
                  "apply_url", "content_expires_at")
SELECT_POSTING = ", ".join(f"p.{name}" for name in POSTING_FIELDS)


class ResultSalary(msgspec.Struct, kw_only=True):
    min: float | None
    max: float | None
    currency: str | None
    period: str | None
    predicted: bool


class JobSummary(msgspec.Struct, kw_only=True):
    id: int  # the catalog posting id
    title: str
    company: str | None
    locations: list[str]
    country: str | None
    remote: str
    salary: ResultSalary | None
    employment_type: str | None
    posted_at: datetime | None
    apply_url: str | None
    source_url: str | None
    content_status: ContentStatus
    content_expires_at: datetime | None
    found_by: str | None  # the source that returned it for this search
    url: str  # the posting: GET /api/v1/jobs/{id}


def job_url(public_url: str, posting_id: int) -> str:
    return f"{public_url.rstrip('/')}/api/v1/jobs/{posting_id}"


def summary(row: Any, public_url: str, now: datetime, found_by: str | None = None) -> JobSummary:
    has_salary = row.salary_min is not None or row.salary_max is not None
    return JobSummary(
        id=row.id, title=row.title, company=row.company, locations=list(row.locations or []), country=row.country,
        remote=row.remote, salary=ResultSalary(min=row.salary_min, max=row.salary_max, currency=row.salary_currency,
                                               period=row.salary_period, predicted=row.salary_predicted)
        if has_salary else None,
        employment_type=row.employment_type, posted_at=row.posted_at, apply_url=row.apply_url,
        source_url=row.source_url, content_status=content_status(row.content_expires_at, now),
        content_expires_at=row.content_expires_at, found_by=found_by, url=job_url(public_url, row.id),
    )


async def summaries(session: AsyncSession, ids: list[int], sources: list[str | None], public_url: str,
                    now: datetime) -> list[JobSummary]:
    """The postings `ids` in that order (any no longer in the catalog left out)."""
    if not ids:
        return []
    rows = await session.execute(
        text(f"SELECT {SELECT_POSTING}, r.ord FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS r(id, ord) "
             "JOIN postings p ON p.id = r.id ORDER BY r.ord"), {"ids": ids})
    return [summary(row, public_url, now, sources[row.ord - 1] if row.ord - 1 < len(sources) else None)
            for row in rows]
