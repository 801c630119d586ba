"""A catalog posting with its content while it lasts (`load_job`), and fetching that content
again from a source that can (`refetch`).

The catalog is shared public data: nothing here is tenant-scoped. "Now" comes from
`zentropy.purge.clock`, so tests move it instead of waiting a day.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text

from zentropy.catalog import ingest, read_content
from zentropy.catalog.content import content_status
from zentropy.postings.schemas import Attribution, Job, JobContent, JobLinks, JobListing
from zentropy.postings.sources import source_service
from zentropy.purge.clock import now as clock_now
from zentropy.purge.settings import content_ttl
from zentropy.search.results import ResultSalary, job_url
from zentropy.sources.contract import SourceError, SourceInfo
from zentropy.sources.service import SourceService

log = logging.getLogger(__name__)

POSTING_SQL = text("""
    SELECT id, title, company, locations, country, remote, salary_min, salary_max, salary_currency, salary_period,
           salary_predicted, employment_type, posted_at, source_url, apply_url, tags, category, seniority,
           first_seen_at, last_seen_at, content_expires_at
    FROM postings WHERE id = :id
""")
LISTINGS_SQL = text("""
    SELECT source, external_id, source_url, apply_url, first_seen_at, last_seen_at, content_expires_at
    FROM posting_sources WHERE posting_id = :id
    ORDER BY last_seen_at DESC, id
""")
RETRY_LATER = frozenset({"rate_limited", "quota_exhausted", "circuit_open"})


class RefetchError(Exception):
    """The content could not be fetched again: what the user sees (a problem with `code`)."""

    def __init__(self, status: int, code: str, detail: str, *, source_url: str | None,
                 retry_after: float | None = None, **members: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.source_url, self.retry_after, self.members = source_url, retry_after, members


class _Source(msgspec.Struct, frozen=True):
    info: SourceInfo | None  # None: no longer registered
    refetchable: bool


def _sources(service: SourceService, names: set[str]) -> dict[str, _Source]:
    registered = set(service.names())
    out = {}
    for name in names:
        if name not in registered:
            out[name] = _Source(None, False)
            continue
        state = service.state(name)
        out[name] = _Source(state.info, state.info.supports_fetch and state.configured)
    return out


async def merged_into(runtime: Any, posting_id: int) -> int | None:
    """The posting `posting_id` was merged into, if it was (zentropy.catalog.merging)."""
    return await runtime.db.fetchval("SELECT kept_id FROM posting_merges WHERE absorbed_id = $1", posting_id)


async def load_job(runtime: Any, posting_id: int, now: datetime | None = None) -> Job | None:
    """The posting `posting_id` as the API shows it at `now` (default: the clock); None if there is none."""
    now = now or clock_now(runtime)
    job, _ = await _load(runtime, posting_id, now)
    return job


async def _load(runtime: Any, posting_id: int, now: datetime) -> tuple[Job | None, list[Any]]:
    async with runtime.db.session() as session:
        row = (await session.execute(POSTING_SQL, {"id": posting_id})).first()
        if row is None:
            return None, []
        listings = (await session.execute(LISTINGS_SQL, {"id": posting_id})).all()
        content = await read_content(session, posting_id, now)
    sources = _sources(source_service(runtime), {item.source for item in listings})

    def attribution(name: str | None) -> tuple[str | None, str | None]:
        info = sources[name].info if name in sources else None
        return (info.attribution, info.attribution_url) if info is not None else (None, None)

    attributions: dict[str, Attribution] = {}
    for item in listings:
        said, url = attribution(item.source)
        if said and item.source not in attributions:
            attributions[item.source] = Attribution(source=item.source, text=said, url=url)
    has_salary = row.salary_min is not None or row.salary_max is not None
    live = content.status == "live"
    base = job_url(runtime.settings.public_url, row.id)
    job = Job(
        id=row.id, title=row.title, company=row.company, locations=list(row.locations or []), country=row.country,
        remote=row.remote,
        salary=ResultSalary(min=row.salary_min, max=row.salary_max, currency=row.salary_currency,
                            period=row.salary_period, predicted=row.salary_predicted) if has_salary else None,
        employment_type=row.employment_type, posted_at=row.posted_at, apply_url=row.apply_url,
        source_url=row.source_url or content.source_url or next((i.source_url for i in listings if i.source_url), None),
        tags=list(row.tags or []), category=row.category, seniority=row.seniority,
        first_seen_at=row.first_seen_at, last_seen_at=row.last_seen_at,
        content_status=content.status, content_expires_at=content.expires_at,
        content_expired_at=content.expires_at if content.status == "expired" else None,
        content=JobContent(source=content.source, description_text=content.description_text,
                           description_html=content.description_html, expires_at=content.expires_at,
                           attribution=attribution(content.source)[0], attribution_url=attribution(content.source)[1])
        if live else None,
        listings=[JobListing(source=item.source, source_url=item.source_url, apply_url=item.apply_url,
                             first_seen_at=item.first_seen_at, last_seen_at=item.last_seen_at,
                             content_status=content_status(item.content_expires_at, now),
                             content_expires_at=item.content_expires_at,
                             attribution=attribution(item.source)[0], attribution_url=attribution(item.source)[1],
                             refetchable=sources[item.source].refetchable)
                  for item in listings],
        attribution=list(attributions.values()),
        links=JobLinks(self=base, refetch=f"{base}/refetch"),
    )
    return job, listings


async def refetch(runtime: Any, posting_id: int) -> Job | None:
    """Fetch the posting's content again through a source that can fetch one posting, and store it
    with a fresh TTL; the posting as it is then. Content still live is returned as it is, with no
    source call. None: no such posting. Raises `RefetchError`."""
    now = clock_now(runtime)
    job, listings = await _load(runtime, posting_id, now)
    if job is None or job.content_status == "live":
        return job
    service = source_service(runtime)
    refetchable = {item.source for item in job.listings if item.refetchable}
    candidates = [item for item in listings if item.source in refetchable]
    if not candidates:
        names = ", ".join(sorted({item.source for item in listings})) or "none"
        raise RefetchError(409, "refetch_unsupported", f"The posting's sources ({names}) cannot fetch a single "
                           "posting again; read it at the source.", source_url=job.source_url)
    errors: list[SourceError] = []
    outcomes: list[str] = []
    for item in candidates:
        try:
            posting = await service.fetch(item.source, item.external_id)
        except SourceError as exc:
            log.warning("refetch failed at the source", extra={"posting_id": posting_id, "source": item.source,
                                                               "code": exc.code})
            errors.append(exc)
            continue
        if posting is None:
            outcomes.append("gone")
            continue
        if not (posting.description_text or posting.description_html):
            outcomes.append("empty")
            continue
        info = service.info(item.source)
        ttl = content_ttl(runtime, info)
        await ingest(runtime, info, [posting], now=now, content_ttl_seconds=ttl)
        log.info("posting content refetched", extra={"posting_id": posting_id, "source": item.source})
        job, _ = await _load(runtime, posting_id, now)
        assert job is not None
        if job.content_status == "live":
            return job
        outcomes.append("not_kept")
    raise _refused(job, errors, outcomes)


def _refused(job: Job, errors: list[SourceError], outcomes: list[str]) -> RefetchError:
    if "not_kept" in outcomes:
        return RefetchError(409, "content_not_kept", "This source's content is kept for less than an hour, so "
                            "it is not stored; read it at the source.", source_url=job.source_url)
    if errors:
        error = errors[0]
        later = error.code in RETRY_LATER or error.retry_after is not None
        return RefetchError(503 if later else 502, "refetch_failed", f"{error.source} could not give the "
                            f"posting ({error.code}); try again later, or read it at the source.",
                            source_url=job.source_url, retry_after=error.retry_after,
                            source=error.source, source_code=error.code)
    if "empty" in outcomes:
        return RefetchError(502, "refetch_empty", "The source returned the posting without its text; read it at "
                            "the source.", source_url=job.source_url)
    return RefetchError(410, "job_gone_at_source", "The source no longer has this posting.",
                        source_url=job.source_url)
