"""Turning registered job functions into SAQ jobs: tenant context for jobs, once-per-slot for cron."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from saq import CronJob

from zentropy.db.tenant import tenant
from zentropy.plugins import Plugins

JobFunction = Callable[..., Awaitable[Any]]
SKIPPED = "skipped: another worker ran this slot"


def job_name(function: JobFunction) -> str:
    return function.__qualname__


def tenant_job(function: JobFunction) -> JobFunction:
    """Run `function` in the tenant context of its `user_id` argument (none: no tenant rows)."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        with tenant(kwargs.get("user_id")):
            return await function(ctx, **kwargs)

    return run


def once_per_slot(function: JobFunction, slot_seconds: int = 86_400) -> JobFunction:
    """However many workers enqueue a cron slot, only the first to claim it in Redis runs it."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job = ctx.get("job")
        slot = int(getattr(job, "scheduled", 0) or time.time())
        redis = ctx["runtime"].redis
        claimed = await redis.set(f"zentropy:cron:{job_name(function)}:{slot}", "1", nx=True, ex=slot_seconds)
        if not claimed:
            return SKIPPED
        return await function(ctx, **kwargs)

    return run


def collect(plugins: Plugins) -> tuple[list[JobFunction], list[CronJob]]:
    functions = [tenant_job(args[0]) for _, args, _ in plugins.collect("register_jobs")]
    crons = [
        CronJob(once_per_slot(tenant_job(args[0])), cron=kwargs.pop("cron"), **kwargs)
        for _, args, kwargs in plugins.collect("register_cron_jobs")
    ]
    return functions, crons
