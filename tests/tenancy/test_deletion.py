"""DELETE /api/v1/me: the user and every tenant row go, every session ends, the shared catalog
stays; idempotent; and a job the worker holds for the user cannot bring anything back."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from tests.tenancy.conftest import magic_link_session, new_email, rows_of, sign_up
from tests.tenancy.jobs import job_name, running_worker
from tests.tenancy.test_export import with_data
from zentropy.accounts.deletion import delete_user
from zentropy.sources.ledger import LedgerEntry, record

SHARED = ("postings", "posting_sources", "source_calls", "query_runs", "llm_system_usage")


async def shared_counts(owner_engine) -> dict[str, int]:  # noqa: ANN001
    async with owner_engine.connect() as conn:
        return {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar() for t in SHARED}


async def pending_links(owner_engine, address: str) -> int:  # noqa: ANN001
    async with owner_engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM verification_tokens WHERE address = :a"),
                                   {"a": address})).scalar()


async def test_deleting_removes_every_row_and_session_and_leaves_shared_data(api, tenancy_inbox, tenancy_rt,
                                                                             owner_engine, runtime):
    me, _ = await with_data(api, tenancy_inbox, tenancy_rt)
    other, _ = await with_data(api, tenancy_inbox, tenancy_rt)
    second_session = (await magic_link_session(api, tenancy_inbox, me.email))["token"]
    assert (await api.post("/api/v1/auth/magic-link", json={"email": me.email})).status_code == 202  # left unused
    await record(runtime.db, LedgerEntry(source="remotive", operation="search", query={"keywords": "python"}))
    mine, theirs = await rows_of(owner_engine, me.user_id), await rows_of(owner_engine, other.user_id)
    assert all(mine[t] for t in ("users", "accounts", "sessions", "user_preferences", "llm_user_keys", "llm_usage",
                                 "searches", "saved_searches", "feed_entries")), mine
    assert await pending_links(owner_engine, me.email) > 0
    shared = await shared_counts(owner_engine)

    response = await api.delete("/api/v1/me", headers=me.headers)
    assert response.status_code == 204
    assert "zentropy_session=" in response.headers["set-cookie"] and "max-age=0" in response.headers["set-cookie"].lower()

    assert set((await rows_of(owner_engine, me.user_id)).values()) == {0}
    assert await rows_of(owner_engine, other.user_id) == theirs
    assert await shared_counts(owner_engine) == shared
    assert await pending_links(owner_engine, me.email) == 0
    assert await pending_links(owner_engine, other.email) > 0
    for token in (me.token, second_session):
        refused = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert (await api.get("/api/v1/me", headers=other.headers)).status_code == 200


async def test_deleting_is_idempotent(api, tenancy_inbox, runtime, owner_engine):
    me = await sign_up(api, tenancy_inbox)
    assert (await api.delete("/api/v1/me", headers=me.headers)).status_code == 204
    again = await api.delete("/api/v1/me", headers=me.headers)
    assert again.status_code == 401  # the session that asked is gone with the rest
    repeat = await delete_user(runtime.db, uuid.UUID(me.user_id))
    assert repeat.existed is False and repeat.rows == {}

    racing = await sign_up(api, tenancy_inbox)
    both = await asyncio.gather(delete_user(runtime.db, uuid.UUID(racing.user_id)),
                                delete_user(runtime.db, uuid.UUID(racing.user_id)))
    assert sorted(d.existed for d in both) == [False, True]
    assert set((await rows_of(owner_engine, racing.user_id)).values()) == {0}

    raced = await sign_up(api, tenancy_inbox)
    answers = await asyncio.gather(*(api.delete("/api/v1/me", headers=raced.headers) for _ in range(2)))
    assert sorted(r.status_code for r in answers) in ([204, 204], [204, 401])


async def test_a_cookie_session_needs_the_csrf_token_to_delete(api, tenancy_inbox, owner_engine):
    email = new_email()
    assert (await api.post("/api/v1/auth/magic-link", json={"email": email})).status_code == 202
    token = parse_qs(urlsplit(tenancy_inbox.link_for(email)).query)["token"][0]
    issued = (await api.post("/api/v1/auth/magic-link/verify", json={"email": email, "token": token})).json()
    try:
        refused = await api.delete("/api/v1/me")
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
        assert (await rows_of(owner_engine, issued["user_id"]))["users"] == 1
        csrf = (await api.get("/api/v1/me")).json()["csrf_token"]
        assert (await api.delete("/api/v1/me", headers={"X-CSRF-Token": csrf})).status_code == 204
        assert set((await rows_of(owner_engine, issued["user_id"])).values()) == {0}
    finally:
        api.cookies.clear()


async def test_a_job_that_writes_after_the_deletion_fails_and_writes_nothing(runtime, redis_url, redis, api,
                                                                              tenancy_inbox, owner_engine):
    me = await sign_up(api, tenancy_inbox)
    gate = f"tenancy-test:{uuid.uuid4().hex}"
    async with running_worker(runtime, redis_url) as rt:
        job = await rt.queue.enqueue(job_name("write_after_gate"), user_id=me.user_id, gate=gate)
        while not await redis.exists(f"{gate}:started"):
            await asyncio.sleep(0.01)
        assert int(await redis.get(f"{gate}:started")) == 1  # the job saw its user's preferences
        assert (await api.delete("/api/v1/me", headers=me.headers)).status_code == 204
        await redis.set(f"{gate}:go", 1, ex=60)
        await job.refresh(until_complete=20)
    assert job.status == "failed" and "ForeignKeyViolation" in job.error, (job.status, job.error)
    assert int(await redis.get(f"{gate}:seen_after")) == 0  # row-level security shows a deleted user nothing
    assert set((await rows_of(owner_engine, me.user_id)).values()) == {0}


async def test_a_job_holding_a_write_open_is_waited_for_and_its_rows_deleted(runtime, redis_url, redis, api,
                                                                            tenancy_inbox, owner_engine):
    me = await sign_up(api, tenancy_inbox)
    gate = f"tenancy-test:{uuid.uuid4().hex}"
    async with running_worker(runtime, redis_url) as rt:
        job = await rt.queue.enqueue(job_name("hold_a_write_open"), user_id=me.user_id, gate=gate)
        while not await redis.exists(f"{gate}:started"):
            await asyncio.sleep(0.01)
        deleting = asyncio.create_task(api.delete("/api/v1/me", headers=me.headers))
        while not await _waiting_for_a_lock(owner_engine):  # the deletion waits for the job's transaction
            assert not deleting.done(), deleting.result().text
            await asyncio.sleep(0.01)
        await redis.set(f"{gate}:go", 1, ex=60)
        await job.refresh(until_complete=20)
        response = await deleting
    assert job.status == "complete" and job.result == "committed"
    assert response.status_code == 204
    assert set((await rows_of(owner_engine, me.user_id)).values()) == {0}


async def _waiting_for_a_lock(owner_engine) -> bool:  # noqa: ANN001
    async with owner_engine.connect() as conn:
        return bool((await conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query ILIKE '%FOR UPDATE%'"))).scalar())
