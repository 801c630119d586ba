from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import subprocess
import sys
import uuid

import pytest
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from sqlalchemy import select

from tests.plugin_packages import ROOT, fake_distribution
from tests.test_rls import make_user
from zentropy.db import tenant
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.users.models import UserPreferences
from zentropy.worker.run import GC_THRESHOLD, build_worker


class JobsPlugin:
    """Registers a tenant job and a cron job that runs every second."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    @hookimpl
    def register_jobs(self, register):
        async def add_skill(ctx, *, user_id, skill):
            async with ctx["runtime"].db.session() as s:
                prefs = (await s.execute(select(UserPreferences))).scalar_one()  # only this user's row is visible
                prefs.skills = [*prefs.skills, skill]
            return "added"

        register(add_skill)

    @hookimpl
    def register_cron_jobs(self, register):
        marker = self.marker

        async def tick(ctx):
            await ctx["runtime"].redis.hincrby(marker, str(ctx["job"].scheduled), 1)

        register(tick, cron="* * * * * *")


@pytest.fixture
async def worker_runtime(runtime, redis_url):
    marker = f"test:ticks:{uuid.uuid4().hex}"
    plugins = Plugins(runtime.settings).load()
    plugins.register(JobsPlugin(marker), name="test-jobs")
    queue = RedisQueue(Redis.from_url(redis_url), name=f"q-{uuid.uuid4().hex[:8]}")
    rt = dataclasses.replace(runtime, plugins=plugins, queue=queue)
    rt.extras["marker"] = marker
    yield rt
    await queue.disconnect()


async def test_job_runs_in_its_users_tenant_context(worker_runtime):
    user = await make_user(worker_runtime.db, ["python"])
    other = await make_user(worker_runtime.db, ["go"])
    worker = build_worker(worker_runtime, timers={"schedule": 1, "sweep": 5})
    task = asyncio.create_task(worker.start())
    try:
        job = await worker_runtime.queue.enqueue("JobsPlugin.register_jobs.<locals>.add_skill", user_id=str(user), skill="sql")
        await job.refresh(until_complete=20)
        assert job.status == "complete", job.error
        assert job.result == "added"
    finally:
        await worker.stop()
        task.cancel()
    with tenant(user):
        async with worker_runtime.db.session() as s:
            assert (await s.execute(select(UserPreferences.skills))).scalar_one() == ["python", "sql"]
    with tenant(other):
        async with worker_runtime.db.session() as s:
            assert (await s.execute(select(UserPreferences.skills))).scalar_one() == ["go"]


async def test_job_without_user_sees_no_tenant_rows_and_fails_cleanly(worker_runtime):
    await make_user(worker_runtime.db, ["python"])
    worker = build_worker(worker_runtime)
    task = asyncio.create_task(worker.start())
    try:
        job = await worker_runtime.queue.enqueue("JobsPlugin.register_jobs.<locals>.add_skill", user_id=None, skill="x", retries=1)
        await job.refresh(until_complete=20)
        assert job.status == "failed"
        assert "NoResultFound" in job.error
    finally:
        await worker.stop()
        task.cancel()


async def test_cron_job_runs_on_schedule(worker_runtime, redis):
    worker = build_worker(worker_runtime)
    task = asyncio.create_task(worker.start())
    try:
        for _ in range(60):
            if len(await redis.hgetall(worker_runtime.extras["marker"])) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await worker.stop()
        task.cancel()
    counts = await redis.hgetall(worker_runtime.extras["marker"])
    assert len(counts) >= 2 and set(counts.values()) == {b"1"}


CRON_PLUGIN = """
from zentropy.hookspecs import hookimpl
import os

async def tick(ctx):
    await ctx["runtime"].redis.hincrby(os.environ["TICK_MARKER"], str(ctx["job"].scheduled), 1)

@hookimpl
def register_cron_jobs(register):
    register(tick, cron="* * * * * *")
"""


@pytest.mark.slow
async def test_cron_runs_once_per_slot_with_two_worker_processes(tmp_path, migrated, redis):
    fake_distribution(tmp_path, "zentropy-ticker", "1.0", "ticker", "ticker_plugin", CRON_PLUGIN)
    marker = f"test:ticks2:{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENTROPY_")}
    env.update(
        PYTHONPATH=str(tmp_path), TICK_MARKER=marker, ZENTROPY_PLUGINS="ticker",
        DATABASE_URL=migrated.database_url, REDIS_URL=migrated.redis_url,
        DATABASE_APP_USER=migrated.database_app_user, DATABASE_APP_PASSWORD=migrated.database_app_password,
        ZENTROPY_QUEUE=f"two-workers-{uuid.uuid4().hex[:8]}", ZENTROPY_LOG_LEVEL="WARNING",
    )
    workers = [subprocess.Popen([sys.executable, "-m", "zentropy.cli", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        for _ in range(150):
            if len(await redis.hgetall(marker)) >= 4:
                break
            await asyncio.sleep(0.1)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)
    counts = await redis.hgetall(marker)
    assert len(counts) >= 4, [w.stderr.read().decode()[-2000:] for w in workers]
    assert set(counts.values()) == {b"1"}, counts


SLOW_JOB_PLUGIN = """
import asyncio, os
from zentropy.hookspecs import hookimpl

async def slow(ctx, *, seconds: float):
    await ctx["runtime"].redis.rpush(os.environ["SLOW_MARKER"], "started")
    await asyncio.sleep(seconds)
    await ctx["runtime"].redis.rpush(os.environ["SLOW_MARKER"], "finished")
    return "done"

@hookimpl
def register_jobs(register):
    register(slow)
"""


@pytest.mark.slow
async def test_graceful_shutdown_finishes_short_jobs_and_requeues_long_ones(tmp_path, migrated, redis):
    fake_distribution(tmp_path, "zentropy-slow", "1.0", "slow", "slow_plugin", SLOW_JOB_PLUGIN)
    marker = f"test:slow:{uuid.uuid4().hex}"
    queue_name = f"graceful-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENTROPY_")}
    env.update(
        PYTHONPATH=str(tmp_path), SLOW_MARKER=marker, ZENTROPY_PLUGINS="slow", ZENTROPY_QUEUE=queue_name,
        DATABASE_URL=migrated.database_url, REDIS_URL=migrated.redis_url, ZENTROPY_WORKER_SHUTDOWN_GRACE="2",
        DATABASE_APP_USER=migrated.database_app_user, DATABASE_APP_PASSWORD=migrated.database_app_password,
    )
    queue = RedisQueue(Redis.from_url(migrated.redis_url), name=queue_name)
    short = await queue.enqueue("slow", seconds=1.0, timeout=60)
    long = await queue.enqueue("slow", seconds=30.0, timeout=60, retries=3)
    worker = subprocess.Popen([sys.executable, "-m", "zentropy.cli", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if await redis.llen(marker) >= 2:
                break
            await asyncio.sleep(0.05)
        assert await redis.lrange(marker, 0, -1) == [b"started", b"started"]
        worker.terminate()
        worker.wait(30)
        await short.refresh()
        await long.refresh()
        assert short.status == "complete" and short.result == "done"  # finished within the grace period
        assert long.status == "queued" and long.attempts == 1  # went back to the queue, not lost
    finally:
        if worker.poll() is None:
            worker.kill()
        await queue.disconnect()


async def test_startup_keeps_what_it_made_out_of_the_cycle_collectors_way(worker_runtime):
    worker = build_worker(worker_runtime)
    gc.unfreeze()
    threshold = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's default (another test may have started a worker here)
    try:
        for startup in worker.startup:
            await startup({})
        assert gc.get_freeze_count() > 0  # the modules, plugins and settings loaded so far
        assert gc.get_threshold() == GC_THRESHOLD
    finally:
        gc.unfreeze()  # this test process goes on making and dropping them
        gc.set_threshold(*threshold)
