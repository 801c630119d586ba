"""Worker jobs run in the tenant context of the user they are enqueued for, and every job registered
through the hooks gets that context. (Requests: the isolation proof checks, for every operation,
that each transaction runs in the caller's tenant context or in none.)"""

from __future__ import annotations

import asyncio
import uuid

from tests.tenancy.conftest import sign_up
from tests.tenancy.jobs import job_name, running_worker
from zentropy.worker.jobs import collect, tenant_job


async def test_each_job_sees_its_users_rows_only(runtime, redis_url, api, tenancy_inbox):
    a, b = await sign_up(api, tenancy_inbox), await sign_up(api, tenancy_inbox)
    for person in (a, b):
        assert (await api.post("/api/v1/searches", json={"keywords": "python"}, headers=person.headers)).status_code == 202
    async with running_worker(runtime, redis_url) as rt:
        jobs = [await rt.queue.enqueue(job_name("whoami"), user_id=user) for user in (a.user_id, b.user_id, None)]
        await asyncio.gather(*(job.refresh(until_complete=20) for job in jobs))
    assert [job.status for job in jobs] == ["complete"] * 3, [job.error for job in jobs]
    for job, person in zip(jobs, (a, b), strict=False):
        assert job.result == {"tenant": person.user_id, "users": [person.user_id], "preferences": [person.user_id],
                              "searches": [person.user_id]}
    assert jobs[2].result == {"tenant": "None", "users": [], "preferences": [], "searches": []}


async def test_every_registered_job_runs_in_a_tenant_context(runtime):
    """Whatever a plugin registers is wrapped: its `user_id` argument sets the tenant context."""
    functions, crons = collect(runtime.plugins)
    wrapper = tenant_job(lambda ctx: None).__code__
    assert functions and all(f.__code__ is wrapper for f in functions)
    assert all(c.function.__wrapped__.__code__ is wrapper for c in crons)


async def test_a_job_for_a_user_who_does_not_exist_sees_nothing(runtime, redis_url):
    async with running_worker(runtime, redis_url) as rt:
        job = await rt.queue.enqueue(job_name("whoami"), user_id=str(uuid.uuid4()))
        await job.refresh(until_complete=20)
    assert job.result["users"] == [] and job.result["preferences"] == [] and job.result["searches"] == []
