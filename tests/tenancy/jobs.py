"""Worker jobs for the tenancy tests, registered through the `register_jobs` hook like any plugin's,
and a worker of the real kind (`build_worker`) on a queue of its own, serving these jobs only (no
cron jobs of the core: they would act on the whole shared test database)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from sqlalchemy import text

from zentropy.hookspecs import hookimpl
from zentropy.llm.models import LLMUsage
from zentropy.plugins import Plugins
from zentropy.worker.run import build_worker


async def _wait_for(redis: Redis, key: str) -> None:
    while not await redis.exists(key):
        await asyncio.sleep(0.01)


class TenancyJobs:
    @hookimpl
    def register_jobs(self, register):  # noqa: ANN001, ANN201
        async def whoami(ctx: dict[str, Any], *, user_id: str | None = None) -> dict[str, Any]:
            """What a job sees: its tenant, and the users, preferences and searches visible to it."""
            async with ctx["runtime"].db.session() as s:
                return {
                    "tenant": str((await s.execute(text("SELECT zentropy_current_user()"))).scalar()),
                    "users": sorted(str(u) for u in (await s.execute(text("SELECT id FROM users"))).scalars()),
                    "preferences": sorted(str(u) for u in (await s.execute(
                        text("SELECT user_id FROM user_preferences"))).scalars()),
                    "searches": sorted(str(u) for u in (await s.execute(text("SELECT user_id FROM searches"))).scalars()),
                }

        async def write_after_gate(ctx: dict[str, Any], *, user_id: str, gate: str) -> str:
            """Reads, waits until told, then writes for its user (as an extraction job records usage)."""
            runtime, redis = ctx["runtime"], ctx["runtime"].redis
            async with runtime.db.session() as s:
                seen = (await s.execute(text("SELECT count(*) FROM user_preferences"))).scalar()
            await redis.set(f"{gate}:started", seen, ex=60)
            await _wait_for(redis, f"{gate}:go")
            async with runtime.db.session() as s:
                await redis.set(f"{gate}:seen_after", (await s.execute(text("SELECT count(*) FROM user_preferences"))).scalar(),
                                ex=60)
                s.add(LLMUsage(user_id=uuid.UUID(user_id), task="late", provider="p", model="m", latency_ms=1,
                               status="ok"))
            return "wrote"

        async def hold_a_write_open(ctx: dict[str, Any], *, user_id: str, gate: str) -> str:
            """Writes for its user, and holds that transaction open until told."""
            runtime, redis = ctx["runtime"], ctx["runtime"].redis
            async with runtime.db.session() as s:
                s.add(LLMUsage(user_id=uuid.UUID(user_id), task="held", provider="p", model="m", latency_ms=1,
                               status="ok"))
                await s.flush()
                await redis.set(f"{gate}:started", 1, ex=60)
                await _wait_for(redis, f"{gate}:go")
            return "committed"

        register(whoami)
        register(write_after_gate)
        register(hold_a_write_open)


def job_name(name: str) -> str:
    return f"TenancyJobs.register_jobs.<locals>.{name}"


@asynccontextmanager
async def running_worker(runtime, redis_url: str) -> AsyncIterator[Any]:  # noqa: ANN001
    """A runtime whose plugins include TenancyJobs, with a worker serving its own queue."""
    plugins = Plugins(runtime.settings)
    plugins.register(TenancyJobs(), name="tenancy-jobs")
    queue = RedisQueue(Redis.from_url(redis_url), name=f"tenancy-jobs-{uuid.uuid4().hex[:8]}")
    rt = dataclasses.replace(runtime, plugins=plugins, queue=queue, extras={})
    worker = build_worker(rt, timers={"schedule": 1, "sweep": 5})
    task = asyncio.create_task(worker.start())
    try:
        yield rt
    finally:
        await worker.stop()
        task.cancel()
        await queue.disconnect()
