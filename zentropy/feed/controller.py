"""/api/v1/saved-searches (CRUD, run now) and /api/v1/feed (new matches, statuses)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response.base import ASGIResponse

from zentropy.auth.middleware import CurrentUser
from zentropy.feed import service
from zentropy.feed.schemas import (FeedItem, FeedPage, FeedStatus, FeedStatusIn, SavedSearchIn, SavedSearchOut,
                                   SavedSearchPatch)
from zentropy.http.errors import ProblemError
from zentropy.quotas.service import QuotaExceeded
from zentropy.runtime import Runtime
from zentropy.search.controller import SearchAccepted, SearchAnswered, quota_problem, started_response

Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


def not_found() -> ProblemError:
    return ProblemError(404, "saved_search_not_found", "No such saved search.")


class SavedSearchController(Controller):
    path = "/api/v1/saved-searches"
    tags = ["saved searches"]

    @post("/", summary="Save a search; it is re-run every `every_hours` and new matches land in the feed")
    async def create(self, data: JSONBody[SavedSearchIn], current_user: NamedDependency[CurrentUser],
                     runtime: NamedDependency[Runtime]) -> SavedSearchOut:
        row = await service.create(runtime, current_user.user_id, data)
        return service.saved_out(runtime.settings.public_url, row)

    @get("/", summary="The user's saved searches")
    async def index(self, current_user: NamedDependency[CurrentUser],
                    runtime: NamedDependency[Runtime]) -> list[SavedSearchOut]:
        rows = await service.list_saved(runtime, current_user.user_id)
        return [service.saved_out(runtime.settings.public_url, row) for row in rows]

    @get("/{saved_id:uuid}", summary="A saved search")
    async def read(self, saved_id: FromPath[uuid.UUID], current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime]) -> SavedSearchOut:
        row = await service.get(runtime, current_user.user_id, saved_id)
        if row is None:
            raise not_found()
        return service.saved_out(runtime.settings.public_url, row)

    @patch("/{saved_id:uuid}", summary="Rename, reschedule, pause or resume a saved search")
    async def update(self, saved_id: FromPath[uuid.UUID], data: JSONBody[SavedSearchPatch],
                     current_user: NamedDependency[CurrentUser],
                     runtime: NamedDependency[Runtime]) -> SavedSearchOut:
        row = await service.patch(runtime, current_user.user_id, saved_id, data)
        if row is None:
            raise not_found()
        return service.saved_out(runtime.settings.public_url, row)

    @delete("/{saved_id:uuid}", summary="Delete a saved search (its feed entries stay)")
    async def remove(self, saved_id: FromPath[uuid.UUID], current_user: NamedDependency[CurrentUser],
                     runtime: NamedDependency[Runtime]) -> None:
        if not await service.remove(runtime, current_user.user_id, saved_id):
            raise not_found()

    @post("/{saved_id:uuid}/run", status_code=202, summary="Run a saved search now (counts as a search)",
          responses={200: ResponseSpec(SearchAnswered, description="Answered by the cache tier"),
                     202: ResponseSpec(SearchAccepted, description="Queued for the worker (Location: the search)"),
                     429: ResponseSpec(None, description="Daily search quota used up (Retry-After)")})
    async def run(self, saved_id: FromPath[uuid.UUID], current_user: NamedDependency[CurrentUser],
                  runtime: NamedDependency[Runtime]) -> ASGIResponse:
        row = await service.get(runtime, current_user.user_id, saved_id)
        if row is None:
            raise not_found()
        try:
            started = await service.run_saved(runtime, current_user.user_id, row, scheduled=False)
        except QuotaExceeded as exc:
            raise quota_problem(exc) from None
        return started_response(runtime, started, row.want)


class FeedController(Controller):
    path = "/api/v1/feed"
    tags = ["feed"]

    @get("/", summary="The user's feed: postings saved searches found, newest first")
    async def index(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime],
                    status: FromQuery[FeedStatus | None] = None,
                    saved_search_id: FromQuery[uuid.UUID | None] = None, limit: Limit = 20,
                    offset: Offset = 0) -> FeedPage:
        return await service.feed_page(runtime, current_user.user_id, status=status, saved_search_id=saved_search_id,
                                       limit=limit, offset=offset)

    @patch("/{posting_id:int}", summary="Set a feed entry's status: new, saved, dismissed, applied")
    async def set_status(self, posting_id: FromPath[int], data: JSONBody[FeedStatusIn],
                         current_user: NamedDependency[CurrentUser],
                         runtime: NamedDependency[Runtime]) -> FeedItem:
        item = await service.set_status(runtime, current_user.user_id, posting_id, data.status)
        if item is None:
            raise ProblemError(404, "feed_entry_not_found", "No such posting in your feed.")
        return item
