"""The search engine's worker jobs: run a search; fail the ones whose worker was lost; forget
cache-tier matches that left the freshness window."""

from __future__ import annotations

import uuid
from typing import Any

from zentropy.search.cache import cache_tier
from zentropy.search.service import execute_search, fail_stalled


async def run_search(ctx: dict[str, Any], *, user_id: str, search_id: str) -> str:
    return await execute_search(ctx["runtime"], uuid.UUID(user_id), uuid.UUID(search_id), ctx.get("job"))


async def sweep_stalled_searches(ctx: dict[str, Any]) -> int:
    return await fail_stalled(ctx["runtime"])


async def prune_query_cache(ctx: dict[str, Any]) -> None:
    await cache_tier(ctx["runtime"]).prune()
