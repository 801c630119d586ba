"""The feed's worker jobs: queue the saved searches that are due (cron), run one."""

from __future__ import annotations

import uuid
from typing import Any

from zentropy.feed.service import refresh, run_scheduled


async def refresh_saved_searches(ctx: dict[str, Any]) -> int:
    return await refresh(ctx["runtime"])


async def run_saved_search(ctx: dict[str, Any], *, user_id: str, saved_search_id: str) -> str:
    return await run_scheduled(ctx["runtime"], uuid.UUID(user_id), uuid.UUID(saved_search_id))
