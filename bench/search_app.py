"""The HTTP servers of the cache-tier benchmark, each run with uvicorn in a process of its own.

- `constant_app`: a bare Litestar handler answering every POST with one constant JSON body (the
  file `ZENTROPY_BENCH_CONSTANT`), the same size as a cache answer.
- `cache_tier_app`: the cache tier alone: the handler normalizes the search and answers it from
  `zentropy.search.cache` exactly as `POST /api/v1/searches` does on a hit, without sign-in and
  without recording the search.
- the whole service is `zentropy.app:create_app` (sign-in, onboarding gate, quota, the record).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

from litestar import Litestar, Response, post
from litestar.response.base import ASGIResponse

from zentropy.runtime import Runtime
from zentropy.search.cache import cache_tier
from zentropy.search.controller import started_response
from zentropy.search.query import SearchIn
from zentropy.search.service import Started, query_and_fingerprint, want_of
from zentropy.settings import Settings, read_settings


def constant_app() -> Litestar:
    with open(os.environ["ZENTROPY_BENCH_CONSTANT"], "rb") as f:
        body = f.read()

    @post("/constant", status_code=200)
    async def constant() -> Response:
        return Response(body, status_code=200, media_type="application/json")

    return Litestar(route_handlers=[constant], logging_config=None)


def cache_tier_app() -> Litestar:
    state: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        state["runtime"] = await Runtime.start(read_settings(Settings), migrate=False)
        try:
            yield
        finally:
            await state["runtime"].close()

    @post("/cache-tier", status_code=200)
    async def search(data: SearchIn) -> ASGIResponse:
        runtime = state["runtime"]
        (_, fingerprint), want = query_and_fingerprint(data), want_of(runtime, data)
        answer = await cache_tier(runtime).lookup(fingerprint, want)
        if answer.count < want:
            return ASGIResponse(body=b'{"status":"queued"}', status_code=202)
        return started_response(runtime, Started(id=uuid.uuid4(), cached=True, answer=answer), want)

    return Litestar(route_handlers=[search], lifespan=[lifespan], logging_config=None)
