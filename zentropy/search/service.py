"""Searches as users make them: start one (answered by the cache tier at once, or queued for the
worker), run it in the worker (resumable, with a heartbeat), read it back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timezone
from typing import Any

import msgspec
from sqlalchemy import func, select, text, update

from zentropy.db import tenant
from zentropy.http.errors import ProblemError
from zentropy.quotas import service as quotas
from zentropy.quotas.settings import quota_settings
from zentropy.search.cache import CacheAnswer, cache_hits, cache_tier
from zentropy.search.engine import SearchRun, TierEngine
from zentropy.search.events import EventStream
from zentropy.search.models import Search
from zentropy.search.priorities import load_priorities, plan_for
from zentropy.search.query import NormalizedQuery, SearchIn, normalized_with_fingerprint
from zentropy.search.report import SearchReport
from zentropy.search.schemas import SearchLinks, SearchOut
from zentropy.search.settings import search_settings

log = logging.getLogger(__name__)
JOB = "run_search"

# A search is recorded — counted against the daily quota and inserted, atomically, the commit not
# waiting for the disk (a crash may lose the last moment's search records and their quota counts,
# never anything else) — by one database function (migration 0011): one round trip. It returns
# the search's id, or NULL when the quota is used up (nothing recorded).
RECORD_SQL = ("SELECT zentropy_search_record($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, "
              "$14, $15, $16)")
RECORD_AFTER_TAKE_SQL = text(
    "SELECT zentropy_search_record(:user_id, :id, :saved_search_id, :origin, CAST(:query AS jsonb), :fingerprint, "
    ":want, :premium, :status, :cached, CAST(:report AS jsonb), :result_ids, :result_sources, :finished_at, "
    "NULL, NULL)")
RECORD_ARGS = ("user_id", "id", "saved_search_id", "origin", "query", "fingerprint", "want", "premium", "status",
               "cached", "report", "result_ids", "result_sources", "finished_at", "quota_period", "quota_default")


class Started(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    cached: bool
    answer: CacheAnswer | None = None  # the cache tier's answer, when it answered


def links(public_url: str, search_id: uuid.UUID) -> SearchLinks:
    base = f"{public_url.rstrip('/')}/api/v1/searches/{search_id}"
    return SearchLinks(self=base, events=f"{base}/events", jobs=f"{base}/jobs")


def want_of(runtime: Any, search: SearchIn) -> int:
    settings = search_settings(runtime)
    want = search.want or settings.want
    if want > settings.max_want:
        raise ProblemError(422, "want_too_large", f"A search may want at most {settings.max_want} results.",
                           max_want=settings.max_want)
    return want


def normalized_query(search: SearchIn) -> NormalizedQuery:
    return query_and_fingerprint(search)[0]


def query_and_fingerprint(search: SearchIn) -> tuple[NormalizedQuery, str]:
    query, fingerprint = normalized_with_fingerprint(search)
    if query.empty:
        raise ProblemError(422, "query_empty", "Give keywords or a location to search for.")
    return query, fingerprint


def cached_report(count: int) -> dict[str, Any]:
    return {"cache": {"answered": True, "matches": count},
            "tiers": [{"tier": tier, "status": "not_needed", "reason": None, "results": 0, "sources": []}
                      for tier in ("free", "premium")],
            "results": count, "cost": 0.0, "premium_calls": 0}


async def premium_possible(runtime: Any, user_id: uuid.UUID, requested: bool | None) -> bool:
    """Whether a search of this user could use premium sources now (setting, request, budget)."""
    if requested is False:
        return False
    engine = TierEngine.of(runtime)
    states = engine.sources.sources()
    if not any(s.configured and s.info.tier == "premium" for s in states):
        return False
    with tenant(user_id):
        async with runtime.db.session() as session:
            prefs = await load_priorities(session, user_id, states, search_settings(runtime).premium_by_default)
            if not prefs.allow_premium:
                return False
            return await quotas.remaining(session, quota_settings(runtime), user_id, quotas.PREMIUM_CALLS) > 0


async def start_search(runtime: Any, user_id: uuid.UUID, search: SearchIn, *, origin: str = "api",
                       saved_search_id: uuid.UUID | None = None, count_quota: bool = True) -> Started:
    """Record a search and answer it from the cache tier, or queue it for the worker.

    Raises `QuotaExceeded` (nothing recorded) when `count_quota` and the daily quota is used up."""
    (query, fingerprint), want = query_and_fingerprint(search), want_of(runtime, search)
    answer = await cache_tier(runtime).lookup(fingerprint, want)
    hit = answer.count >= want or (answer.free_exhausted and answer.answers(
        want, await premium_possible(runtime, user_id, search.premium)))
    search_id = uuid.uuid4()
    params = {
        "id": search_id, "user_id": user_id, "saved_search_id": saved_search_id,
        "origin": origin, "query": msgspec.json.encode(query).decode(), "fingerprint": fingerprint, "want": want,
        "premium": search.premium, "status": "done" if hit else "queued", "cached": hit,
        "report": msgspec.json.encode(cached_report(answer.count)).decode() if hit else None,
        "result_ids": answer.posting_ids if hit else [], "result_sources": answer.sources if hit else [],
        "finished_at": datetime.now(timezone.utc) if hit else None,
    }
    if count_quota:
        params["quota_period"] = quotas.period_start(quotas.SEARCHES, datetime.now(timezone.utc))
        params["quota_default"] = quota_settings(runtime).searches_per_day
    recorded = await runtime.db.fetchval(RECORD_SQL, *[params.get(name) for name in RECORD_ARGS], retry=False)
    if recorded is None:  # the quota is used up: say so (or, if it was raised meanwhile, count and record)
        with tenant(user_id):
            async with runtime.db.session() as session:
                await quotas.take(session, quota_settings(runtime), user_id, quotas.SEARCHES)  # raises
                await session.execute(RECORD_AFTER_TAKE_SQL, params)
    if hit:
        await cache_hits(runtime).add()
    else:
        await enqueue(runtime, user_id, search_id)
    return Started(id=search_id, cached=hit, answer=answer if hit else None)


async def enqueue(runtime: Any, user_id: uuid.UUID, search_id: uuid.UUID) -> None:
    settings = search_settings(runtime)
    await runtime.queue.enqueue(JOB, user_id=str(user_id), search_id=str(search_id), key=f"search:{search_id}",
                                timeout=settings.job_timeout, heartbeat=settings.job_heartbeat,
                                retries=settings.job_retries + 1)


async def get_search(runtime: Any, user_id: uuid.UUID, search_id: uuid.UUID) -> Search | None:
    """The user's search (None when missing or another user's: row-level security hides those)."""
    with tenant(user_id):
        async with runtime.db.session() as session:
            return await session.get(Search, search_id)


def search_out(runtime: Any, row: Search) -> SearchOut:
    report = row.report
    if report is not None:
        report = msgspec.convert(report, SearchReport).public()
    return SearchOut(
        id=row.id, status=row.status, cached=row.cached, query=row.query, want=row.want, premium=row.premium,
        results_count=len(row.result_ids), cost=row.cost, premium_calls=row.premium_calls, error_code=row.error_code,
        error=row.error, attempts=row.attempts, created_at=row.created_at, started_at=row.started_at,
        finished_at=row.finished_at, saved_search_id=row.saved_search_id, report=report,
        links=links(runtime.settings.public_url, row.id),
    )


async def list_searches(runtime: Any, user_id: uuid.UUID, limit: int, offset: int) -> list[Search]:
    with tenant(user_id):
        async with runtime.db.session() as session:
            rows = await session.execute(select(Search).order_by(Search.created_at.desc(), Search.id)
                                         .limit(limit).offset(offset))
            return list(rows.scalars())


# -- in the worker ------------------------------------------------------------------------------------
async def execute_search(runtime: Any, user_id: uuid.UUID, search_id: uuid.UUID, job: Any = None) -> str:
    """Run (or resume) the search: the job body. Returns its final status."""
    now = datetime.now(timezone.utc)
    with tenant(user_id):
        async with runtime.db.session() as session:
            row = (await session.execute(
                update(Search).where(Search.id == search_id, Search.status != "done")
                .values(status="running", attempts=Search.attempts + 1, heartbeat_at=now, error_code=None, error=None,
                        finished_at=None, started_at=func.coalesce(Search.started_at, func.now()))
                .returning(Search))).scalar()
    if row is None:
        return "gone"  # done already, or deleted with its user
    events = EventStream(runtime, search_id)
    await events.publish({"type": "search", "status": "running", "attempt": row.attempts})
    engine = TierEngine.of(runtime)
    states = engine.sources.sources()
    with tenant(user_id):
        async with runtime.db.session() as session:
            prefs = await load_priorities(session, user_id, states, search_settings(runtime).premium_by_default)

    async def checkpoint(run: SearchRun) -> None:
        await _save(runtime, user_id, search_id, run)

    run = SearchRun(
        NormalizedQuery.from_dict(row.query), want=row.want, plan=plan_for(states, prefs.sources),
        allow_premium=prefs.allow_premium and row.premium is not False,
        budget=quotas.PremiumBudget(runtime, user_id),
        report=msgspec.convert(row.report, SearchReport) if row.report else None,
        results=dict(zip(row.result_ids, row.result_sources)), on_event=events.publish, on_checkpoint=checkpoint,
    )
    beating = asyncio.create_task(_heartbeat(runtime, user_id, search_id, job))
    try:
        with tenant(user_id):
            await engine.run(run)
    except Exception:
        log.exception("search failed", extra={"search_id": str(search_id)})
        await _finish(runtime, user_id, search_id, run, "failed", "internal_error",
                      "The search failed unexpectedly; it has been logged.")
        await events.publish({"type": "done", "status": "failed", "error_code": "internal_error",
                              "results": len(run.results)})
        return "failed"
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    if not await _finish(runtime, user_id, search_id, run, "done"):
        return "gone"  # deleted with its user while it ran
    if row.saved_search_id is not None:
        from zentropy.feed.service import add_to_feed

        await add_to_feed(runtime, user_id, row.saved_search_id, list(run.results))
    await events.publish({"type": "done", "status": "done", "results": len(run.results), "cost": run.report.cost,
                          "cached": bool(run.report.cache and run.report.cache.answered)})
    return "done"


def _progress(run: SearchRun) -> dict[str, Any]:
    return {"report": msgspec.to_builtins(run.report), "result_ids": list(run.results),
            "result_sources": list(run.results.values()), "cost": run.report.cost,
            "premium_calls": run.report.premium_calls}


async def _save(runtime: Any, user_id: uuid.UUID, search_id: uuid.UUID, run: SearchRun) -> None:
    with tenant(user_id):
        async with runtime.db.session() as session:
            await session.execute(update(Search).where(Search.id == search_id)
                                  .values(**_progress(run), heartbeat_at=datetime.now(timezone.utc)))


async def _finish(runtime: Any, user_id: uuid.UUID, search_id: uuid.UUID, run: SearchRun, status: str,
                  error_code: str | None = None, error: str | None = None) -> bool:
    """Record the outcome; False when the search is gone."""
    cached = bool(run.report.cache and run.report.cache.answered)
    with tenant(user_id):
        async with runtime.db.session() as session:
            result = await session.execute(update(Search).where(Search.id == search_id).values(
                **_progress(run), status=status, cached=cached, error_code=error_code, error=error,
                finished_at=datetime.now(timezone.utc)))
    return result.rowcount > 0


async def _heartbeat(runtime: Any, user_id: uuid.UUID, search_id: uuid.UUID, job: Any) -> None:
    """While the search runs: tell SAQ the job is alive, and stamp the row (the stall sweep reads it)."""
    interval = max(0.2, search_settings(runtime).job_heartbeat / 3)
    while True:
        await asyncio.sleep(interval)
        try:
            if job is not None:
                await job.update()
            with tenant(user_id):
                async with runtime.db.session() as session:
                    await session.execute(update(Search).where(Search.id == search_id)
                                          .values(heartbeat_at=datetime.now(timezone.utc)))
        except Exception:  # a missed beat is not worth failing the search for
            log.warning("search heartbeat failed", extra={"search_id": str(search_id)}, exc_info=True)


async def fail_stalled(runtime: Any) -> int:
    """Mark failed (`worker_lost`) the running searches whose worker stopped beating; tell their streams."""
    seconds = search_settings(runtime).stalled_seconds
    async with runtime.db.session() as session:
        rows = (await session.execute(text("SELECT search_id, user_id FROM search_fail_stalled("
                                           "make_interval(secs => :s))"), {"s": seconds})).all()
    for search_id, _ in rows:
        await EventStream(runtime, search_id).publish({"type": "done", "status": "failed", "error_code": "worker_lost"})
    return len(rows)
