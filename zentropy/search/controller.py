"""/api/v1/searches (start, read, results, live progress) and /api/v1/me/sources (priorities)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.response.base import ASGIResponse

from zentropy.auth.guards import current_user_of
from zentropy.auth.middleware import CurrentUser
from zentropy.auth.service import runtime_of
from zentropy.db import tenant
from zentropy.http.errors import ProblemError
from zentropy.quotas.service import QuotaExceeded
from zentropy.runtime import Runtime
from zentropy.search.engine import TierEngine
from zentropy.search.events import EventStream
from zentropy.search.priorities import Priorities, load_priorities, save_priorities
from zentropy.search.query import SearchIn
from zentropy.search.results import JobSummary, summaries
from zentropy.search.schemas import JobsPage, PrioritiesIn, SearchLinks, SearchList, SearchOut
from zentropy.search.service import Started, get_search, links, list_searches, search_out, start_search
from zentropy.search.settings import search_settings

JSON = "application/json"
EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


class SearchAccepted(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: str  # queued
    cached: bool
    want: int
    links: SearchLinks


class SearchAnswered(SearchAccepted, kw_only=True):
    results_count: int
    results: list[JobSummary]


def not_found() -> ProblemError:
    return ProblemError(404, "search_not_found", "No such search.")


def quota_problem(exc: QuotaExceeded) -> ProblemError:
    return ProblemError(429, "search_quota_exceeded",
                        f"You have used your {exc.limit} searches for today; more from {exc.resets_at:%H:%M} UTC.",
                        headers={"Retry-After": str(exc.retry_after)}, limit=exc.limit,
                        resets_at=exc.resets_at.isoformat())


_SEARCHES_URL: dict[str, bytes] = {}


def _searches_url(public_url: str) -> bytes:
    """`{public_url}/api/v1/searches/`, JSON-escaped (without quotes), once per public URL."""
    found = _SEARCHES_URL.get(public_url)
    if found is None:
        found = _SEARCHES_URL[public_url] = msgspec.json.encode(f"{public_url.rstrip('/')}/api/v1/searches/")[1:-1]
    return found


def started_body(public_url: str, started: Started, want: int) -> bytes:
    """The body of a started search: what `SearchAccepted` (queued) or `SearchAnswered` (a cache
    answer, its results encoded once, when they were cached) encode to, key for key."""
    url = _searches_url(public_url) + str(started.id).encode()
    parts = [b'{"id":"', str(started.id).encode(), b'","status":"', b"done" if started.cached else b"queued",
             b'","cached":', b"true" if started.cached else b"false", b',"want":', str(int(want)).encode(),
             b',"links":{"self":"', url, b'","events":"', url, b'/events","jobs":"', url, b'/jobs"}']
    if started.answer is not None:
        parts += [b',"results_count":', str(started.answer.count).encode(), b',"results":', started.answer.body]
    parts.append(b"}")
    return b"".join(parts)


def started_response(runtime: Runtime, started: Started, want: int) -> ASGIResponse:
    """The answer to a started search (202 queued, with its Location; 200 answered by the cache):
    `started_body` is encoded already, so none of `Response`'s serialization is needed."""
    public_url = runtime.settings.public_url
    body = started_body(public_url, started, want)
    if started.answer is None:
        return ASGIResponse(body=body, status_code=202, media_type=JSON,
                            headers=[("location", links(public_url, started.id).self)])
    return ASGIResponse(body=body, status_code=200, media_type=JSON)


class SearchController(Controller):
    path = "/api/v1/searches"
    tags = ["searches"]

    @post("/", status_code=202, summary="Start a search (200 with results when the cache tier answers it)",
          responses={200: ResponseSpec(SearchAnswered, description="Answered by the cache tier"),
                     202: ResponseSpec(SearchAccepted, description="Queued for the worker (Location: the search)"),
                     429: ResponseSpec(None, description="Daily search quota used up (Retry-After)")})
    async def create(self, data: JSONBody[SearchIn], request: Request) -> ASGIResponse:
        # the hot route: the user and the runtime without dependency injection (see current_user_of)
        current_user, runtime = current_user_of(request), runtime_of(request.app)
        try:
            started = await start_search(runtime, current_user.user_id, data)
        except QuotaExceeded as exc:
            raise quota_problem(exc) from None
        return started_response(runtime, started, data.want or search_settings(runtime).want)

    @get("/", summary="The user's searches, newest first")
    async def index(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime],
                   limit: Limit = 20, offset: Offset = 0) -> SearchList:
        rows = await list_searches(runtime, current_user.user_id, limit, offset)
        return SearchList(items=[search_out(runtime, row) for row in rows], limit=limit, offset=offset)

    @get("/{search_id:uuid}", summary="A search: status and per-tier report")
    async def read(self, search_id: FromPath[uuid.UUID], current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime]) -> SearchOut:
        row = await get_search(runtime, current_user.user_id, search_id)
        if row is None:
            raise not_found()
        return search_out(runtime, row)

    @get("/{search_id:uuid}/jobs", summary="A search's results: catalog postings (metadata, content status)")
    async def jobs(self, search_id: FromPath[uuid.UUID], current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime], limit: Limit = 20, offset: Offset = 0) -> JobsPage:
        row = await get_search(runtime, current_user.user_id, search_id)
        if row is None:
            raise not_found()
        ids, sources = row.result_ids[offset: offset + limit], row.result_sources[offset: offset + limit]
        async with runtime.db.session() as session:
            items = await summaries(session, ids, sources, runtime.settings.public_url, datetime.now(timezone.utc))
        total = len(row.result_ids)
        more = offset + limit < total
        base = links(runtime.settings.public_url, row.id).jobs
        return JobsPage(items=items, total=total, limit=limit, offset=offset,
                        next=f"{base}?limit={limit}&offset={offset + limit}" if more else None)

    @get("/{search_id:uuid}/events", summary="Live progress per tier and source (server-sent events)",
         media_type="text/event-stream", responses={200: ResponseSpec(
             str, media_type="text/event-stream", generate_examples=False,
             description="A stream of server-sent events: `search`, `tier` and `source` events with JSON data, "
                         "then `done`. Each event has an id; send it back as `Last-Event-ID` to resume after it")})
    async def events(self, search_id: FromPath[uuid.UUID], request: Request,
                     current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> ServerSentEvent:
        user_id = current_user.user_id
        row = await get_search(runtime, user_id, search_id)
        if row is None:
            raise not_found()
        after = request.headers.get("last-event-id") or ""
        after = after if EVENT_ID.fullmatch(after) else "0-0"
        return ServerSentEvent(_events(runtime, user_id, search_id, after),
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _events(runtime: Runtime, user_id: uuid.UUID, search_id: uuid.UUID,
                  after: str) -> AsyncIterator[ServerSentEventMessage]:
    stream = EventStream(runtime, search_id)
    deadline = time.monotonic() + search_settings(runtime).events_seconds
    while time.monotonic() < deadline:
        batch = await stream.read(after, block_ms=1000)
        for event_id, kind, data in batch:
            after = event_id
            yield ServerSentEventMessage(data=data.decode(), event=kind, id=event_id)
            if kind == "done":
                return
        if not batch:
            row = await get_search(runtime, user_id, search_id)
            if row is None:
                return
            if row.status in ("done", "failed") and not await stream.read(after):
                # finished without a `done` event in the stream (a cache answer, an expired stream, a sweep)
                done = {"type": "done", "status": row.status, "results": len(row.result_ids), "cost": row.cost,
                        "cached": row.cached, "error_code": row.error_code}
                yield ServerSentEventMessage(data=msgspec.json.encode(done).decode(), event="done")
                return


class SourcesController(Controller):
    path = "/api/v1/me/sources"
    tags = ["me"]

    @get("/", summary="The user's source priority: order, enabled sources, premium allowed")
    async def read(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> Priorities:
        return await _priorities(runtime, current_user.user_id)

    @put("/", summary="Set the source order, enable or disable sources, allow premium")
    async def write(self, data: JSONBody[PrioritiesIn], current_user: NamedDependency[CurrentUser],
                    runtime: NamedDependency[Runtime]) -> Priorities:
        order = None
        if data.sources is not None:
            known = set(TierEngine.of(runtime).sources.names())
            names = [choice.name for choice in data.sources]
            if unknown := sorted(set(names) - known):
                raise ProblemError(422, "unknown_source", f"No source named {', '.join(unknown)}.", unknown=unknown,
                                   known=sorted(known))
            if len(set(names)) != len(names):
                raise ProblemError(422, "duplicate_source", "Each source may be listed once.")
            order = [(choice.name, choice.enabled) for choice in data.sources]
        with tenant(current_user.user_id):
            async with runtime.db.session() as session:
                await save_priorities(session, current_user.user_id, order, data.allow_premium)
        return await _priorities(runtime, current_user.user_id)


async def _priorities(runtime: Runtime, user_id: uuid.UUID) -> Priorities:
    states = TierEngine.of(runtime).sources.sources()
    with tenant(user_id):
        async with runtime.db.session() as session:
            return await load_priorities(session, user_id, states, search_settings(runtime).premium_by_default)
