"""Saved searches and the feed.

A saved search is re-run every `every_hours` by the `refresh_saved_searches` cron job (through
the same engine as any search; scheduled runs do not count against the daily search quota, their
premium calls do count against the monthly premium quota). Each posting a run finds that is not
yet in the user's feed lands there with status `new`; the user then sets `saved`, `dismissed` or
`applied` (or `new` again). A posting is in a feed once, whichever saved searches found it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, text, update

from zentropy.db import tenant
from zentropy.feed.models import FeedEntry, SavedSearch
from zentropy.feed.schemas import FeedItem, FeedPage, SavedSearchIn, SavedSearchLinks, SavedSearchOut, SavedSearchPatch
from zentropy.matching import match
from zentropy.search.query import SearchIn
from zentropy.search.results import POSTING_FIELDS, summary
from zentropy.search.service import Started, normalized_query, start_search, want_of


log = logging.getLogger(__name__)
RUN_JOB = "run_saved_search"

ADD_SQL = text("""
    INSERT INTO feed_entries (user_id, posting_id, saved_search_id, status)
    SELECT CAST(:user_id AS uuid), p, CAST(:saved_search_id AS uuid), 'new'
    FROM unnest(CAST(:ids AS bigint[])) AS p
    ON CONFLICT (user_id, posting_id) DO NOTHING
""")
FEED_SQL = """
    SELECT f.posting_id, f.status, f.saved_search_id, f.added_at, f.updated_at, {fields}
    FROM feed_entries f JOIN postings p ON p.id = f.posting_id
    WHERE {where}
    ORDER BY f.added_at DESC, f.posting_id DESC
    LIMIT :limit OFFSET :offset
"""


def _base(public_url: str) -> str:
    return public_url.rstrip("/")


def saved_out(public_url: str, row: SavedSearch) -> SavedSearchOut:
    base = f"{_base(public_url)}/api/v1/saved-searches/{row.id}"
    return SavedSearchOut(
        id=row.id, name=row.name, query=row.query, want=row.want, premium=row.premium, every_hours=row.every_hours,
        enabled=row.enabled, next_run_at=row.next_run_at, last_run_at=row.last_run_at,
        last_search_id=row.last_search_id, created_at=row.created_at, updated_at=row.updated_at,
        links=SavedSearchLinks(self=base, run=f"{base}/run",
                               feed=f"{_base(public_url)}/api/v1/feed?saved_search_id={row.id}",
                               last_search=f"{_base(public_url)}/api/v1/searches/{row.last_search_id}"
                               if row.last_search_id else None),
    )


def search_of(row: SavedSearch) -> SearchIn:
    query = row.query
    return SearchIn(keywords=query.get("keywords", ""), location=query.get("location"), country=query.get("country"),
                    remote=query.get("remote", False), posted_within_days=query.get("posted_within_days"),
                    salary_min=query.get("salary_min"), employment_type=query.get("employment_type"), want=row.want,
                    premium=row.premium)


async def create(runtime: Any, user_id: uuid.UUID, data: SavedSearchIn) -> SavedSearch:
    query = normalized_query(data)
    want = want_of(runtime, data)
    row = SavedSearch(id=uuid.uuid4(), user_id=user_id, name=data.name.strip(), query=msgspec.to_builtins(query),
                      want=want, premium=data.premium, every_hours=data.every_hours, enabled=True,
                      next_run_at=datetime.now(timezone.utc))
    with tenant(user_id):
        async with runtime.db.session() as session:
            session.add(row)
            await session.flush()
            await session.refresh(row)
    return row


async def get(runtime: Any, user_id: uuid.UUID, saved_id: uuid.UUID) -> SavedSearch | None:
    with tenant(user_id):
        async with runtime.db.session() as session:
            return await session.get(SavedSearch, saved_id)


async def list_saved(runtime: Any, user_id: uuid.UUID) -> list[SavedSearch]:
    with tenant(user_id):
        async with runtime.db.session() as session:
            rows = await session.execute(select(SavedSearch).order_by(SavedSearch.created_at, SavedSearch.id))
            return list(rows.scalars())


async def patch(runtime: Any, user_id: uuid.UUID, saved_id: uuid.UUID, data: SavedSearchPatch) -> SavedSearch | None:
    values: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    if "want" in values:
        want_of(runtime, SearchIn(want=values["want"]))
    if "every_hours" in values:
        since = func.coalesce(SavedSearch.last_run_at, func.now())
        values["next_run_at"] = since + timedelta(hours=values["every_hours"])
    with tenant(user_id):
        async with runtime.db.session() as session:
            return (await session.execute(
                update(SavedSearch).where(SavedSearch.id == saved_id)
                .values(**values, updated_at=func.now()).returning(SavedSearch))).scalar()


async def remove(runtime: Any, user_id: uuid.UUID, saved_id: uuid.UUID) -> bool:
    with tenant(user_id):
        async with runtime.db.session() as session:
            result = await session.execute(delete(SavedSearch).where(SavedSearch.id == saved_id))
    return result.rowcount > 0


async def run_saved(runtime: Any, user_id: uuid.UUID, row: SavedSearch, *, scheduled: bool) -> Started:
    """Run a saved search now: a search linked to it (a cache answer lands in the feed at once;
    otherwise the worker adds the results when the search is done)."""
    started = await start_search(runtime, user_id, search_of(row), origin="saved", saved_search_id=row.id,
                                 count_quota=not scheduled)
    with tenant(user_id):
        async with runtime.db.session() as session:
            await session.execute(update(SavedSearch).where(SavedSearch.id == row.id).values(
                last_run_at=func.now(), last_search_id=started.id,
                **({"next_run_at": func.now() + timedelta(hours=row.every_hours)} if not scheduled else {})))
    if started.answer is not None:
        await add_to_feed(runtime, user_id, row.id, started.answer.posting_ids)
    return started


async def add_to_feed(runtime: Any, user_id: uuid.UUID, saved_search_id: uuid.UUID | None,
                      posting_ids: list[int]) -> int:
    """Add the postings not yet in the user's feed, as `new`; how many were added."""
    if not posting_ids:
        return 0
    with tenant(user_id):
        async with runtime.db.session() as session:
            result = await session.execute(ADD_SQL, {
                "user_id": str(user_id), "ids": posting_ids,
                "saved_search_id": str(saved_search_id) if saved_search_id else None})
    return result.rowcount


async def feed_page(runtime: Any, user_id: uuid.UUID, *, status: str | None, saved_search_id: uuid.UUID | None,
                    limit: int, offset: int) -> FeedPage:
    where = ["f.user_id = CAST(:user_id AS uuid)"]
    params: dict[str, Any] = {"user_id": str(user_id), "limit": limit, "offset": offset}
    if status is not None:
        where.append("f.status = :status")
        params["status"] = status
    if saved_search_id is not None:
        where.append("f.saved_search_id = CAST(:saved AS uuid)")
        params["saved"] = str(saved_search_id)
    fields = ", ".join(f"p.{name}" for name in POSTING_FIELDS)
    now = datetime.now(timezone.utc)
    with tenant(user_id):
        async with runtime.db.session() as session:
            feed_sql = text(FEED_SQL.format(fields=fields, where=" AND ".join(where)))
            rows = (await session.execute(feed_sql, params)).all()
            total = (await session.execute(text(f"SELECT count(*) FROM feed_entries f WHERE {' AND '.join(where)}"),
                                           params)).scalar_one()
    items = [FeedItem(posting_id=row.posting_id, status=row.status, saved_search_id=row.saved_search_id,
                      added_at=row.added_at, updated_at=row.updated_at,
                      job=summary(row, runtime.settings.public_url, now))
             for row in rows]
    scores = await match(runtime, user_id, [item.posting_id for item in items])
    for item in items:
        item.match = scores.get(item.posting_id)
    next_url = None
    if offset + limit < total:
        query = f"limit={limit}&offset={offset + limit}" + (f"&status={status}" if status else "") + (
            f"&saved_search_id={saved_search_id}" if saved_search_id else "")
        next_url = f"{_base(runtime.settings.public_url)}/api/v1/feed?{query}"
    return FeedPage(items=items, total=total, limit=limit, offset=offset, next=next_url)


async def set_status(runtime: Any, user_id: uuid.UUID, posting_id: int, status: str) -> FeedItem | None:
    with tenant(user_id):
        async with runtime.db.session() as session:
            changed = (await session.execute(
                update(FeedEntry).where(FeedEntry.user_id == user_id, FeedEntry.posting_id == posting_id)
                .values(status=status, updated_at=func.now()).returning(FeedEntry.posting_id))).scalar()
    if changed is None:
        return None
    page = await _one(runtime, user_id, posting_id)
    return page


async def _one(runtime: Any, user_id: uuid.UUID, posting_id: int) -> FeedItem | None:
    fields = ", ".join(f"p.{name}" for name in POSTING_FIELDS)
    with tenant(user_id):
        async with runtime.db.session() as session:
            row = (await session.execute(text(FEED_SQL.format(fields=fields, where="f.posting_id = :posting_id")),
                                         {"posting_id": posting_id, "limit": 1, "offset": 0})).first()
    if row is None:
        return None
    return FeedItem(posting_id=row.posting_id, status=row.status, saved_search_id=row.saved_search_id,
                    added_at=row.added_at, updated_at=row.updated_at,
                    job=summary(row, runtime.settings.public_url, datetime.now(timezone.utc)))


# -- scheduled runs ----------------------------------------------------------------------------------
async def claim_due(runtime: Any, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(saved search id, user id) of the saved searches due, each claimed until its next run."""
    async with runtime.db.session() as session:
        rows = (await session.execute(text("SELECT saved_search_id, user_id FROM saved_searches_claim_due(:n)"),
                                      {"n": limit})).all()
    return [(row.saved_search_id, row.user_id) for row in rows]


async def refresh(runtime: Any) -> int:
    """Queue a run of every saved search that is due; how many."""
    due = await claim_due(runtime)
    for saved_id, user_id in due:
        await runtime.queue.enqueue(RUN_JOB, user_id=str(user_id), saved_search_id=str(saved_id))
    return len(due)


async def run_scheduled(runtime: Any, user_id: uuid.UUID, saved_id: uuid.UUID) -> str:
    row = await get(runtime, user_id, saved_id)
    if row is None:
        return "gone"
    started = await run_saved(runtime, user_id, row, scheduled=True)
    return "cached" if started.cached else "queued"
