"""The hot path of `POST /api/v1/searches`: the answer encoded as bytes (exactly what the response
structs encode to), the search recorded with its quota count in one database call (counted
exactly, under concurrency too), and the hot path's own connections, an asyncpg pool (broken ones
replaced, open transactions rolled back, nothing sent when an idle one is given back, cancelled
statements stopped, never more than allowed)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import asyncpg
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from zentropy.db import Database, tenant
from zentropy.runtime import service_database_url
from zentropy.search.cache import CacheAnswer
from zentropy.search.controller import SearchAccepted, SearchAnswered, started_body
from zentropy.search.service import Started, links

PUBLIC = "http://zentropy.test"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(public_url=st.one_of(st.just(PUBLIC), st.just("https://zentropy.example/"),
                            st.text(min_size=1, max_size=30).map(lambda s: f"https://h.example/{s}")),
       want=st.integers(min_value=1, max_value=500), cached=st.booleans(),
       count=st.integers(min_value=0, max_value=30), answered=st.booleans())
def test_a_started_search_is_encoded_exactly_as_its_struct(public_url, want, cached, count, answered):
    search_id = uuid.uuid4()
    items = [{"id": i, "title": f'Engineer "{i}" \\ \u00e9'} for i in range(count)]
    answer = CacheAnswer(posting_ids=list(range(count)), sources=["adzuna"] * count, body=msgspec.json.encode(items))
    started = Started(id=search_id, cached=cached, answer=answer if answered else None)
    head = dict(id=search_id, status="done" if cached else "queued", cached=cached, want=want,
                links=links(public_url, search_id))
    if answered:
        expected = msgspec.json.encode(SearchAnswered(**head, results_count=count, results=[]))
        expected = expected[:-len(b"[]}")] + answer.body + b"}"
    else:
        expected = msgspec.json.encode(SearchAccepted(**head))
    assert started_body(public_url, started, want) == expected


async def test_answers_carry_their_headers(rig, signed_in):
    user, client = signed_in
    queued = await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})
    assert queued.status_code == 202
    assert queued.headers["location"] == queued.json()["links"]["self"]
    from tests.search.test_api import run_queued

    await run_queued(rig, user, queued.json()["id"])
    answered = await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5},
                                 headers={"X-Request-ID": "hot-path-request-1"})
    assert answered.status_code == 200 and answered.json()["results_count"] == 5
    for response in (queued, answered):
        assert response.headers["content-type"] == "application/json"
        assert int(response.headers["content-length"]) == len(response.content)
        assert response.headers["x-request-id"]
    assert answered.headers["x-request-id"] == "hot-path-request-1"
    assert "location" not in answered.headers


async def test_the_daily_quota_is_counted_exactly_under_concurrent_searches(rig, signed_in, owner_engine):
    user, client = signed_in
    rig.quotas(searches_per_day=5)
    responses = await asyncio.gather(*[client.post("/api/v1/searches", json={"keywords": f"{rig.token} w{i}"})
                                       for i in range(12)])
    assert sorted(r.status_code for r in responses) == [202] * 5 + [429] * 7
    async with owner_engine.connect() as conn:
        recorded = (await conn.execute(text("SELECT count(*) FROM searches WHERE user_id = :u"), {"u": user})).scalar()
        used = (await conn.execute(text("SELECT used FROM quota_usage WHERE user_id = :u AND kind = 'searches'"),
                                   {"u": user})).scalar()
    assert recorded == used == 5


async def test_a_quota_raised_between_the_refusal_and_its_report_counts_and_records_the_search(
        rig, signed_in, owner_engine, monkeypatch):
    """The record call finds the quota used up; before the refusal is reported, an admin raises the
    user's quota: the search is then counted once and recorded, not refused."""
    from zentropy.quotas.service import set_user_quotas

    user, client = signed_in
    rig.quotas(searches_per_day=1)
    assert (await client.post("/api/v1/searches", json={"keywords": rig.token})).status_code == 202
    db = rig.rt.db
    record = db.fetchval

    async def raised_meanwhile(query, *args, **kwargs):  # noqa: ANN001, ANN202
        found = await record(query, *args, **kwargs)
        if found is None and "zentropy_search_record" in query:
            await set_user_quotas(rig.rt, user, searches_per_day=5, premium_calls_per_month=None)
        return found

    monkeypatch.setattr(db, "fetchval", raised_meanwhile)
    response = await client.post("/api/v1/searches", json={"keywords": f"{rig.token} again"})
    assert response.status_code == 202, response.text
    async with owner_engine.connect() as conn:
        recorded = (await conn.execute(text("SELECT count(*) FROM searches WHERE user_id = :u"), {"u": user})).scalar()
        used = (await conn.execute(text("SELECT used FROM quota_usage WHERE user_id = :u AND kind = 'searches'"),
                                   {"u": user})).scalar()
    assert recorded == used == 2
    monkeypatch.undo()
    rig.quotas(searches_per_day=1)  # the user's own quota (5) now applies: 3 more, then 429
    codes = [(await client.post("/api/v1/searches", json={"keywords": f"{rig.token} w{i}"})).status_code
             for i in range(4)]
    assert codes == [202, 202, 202, 429]


async def test_recording_a_search_leaves_the_callers_tenant_as_it_was(rig):
    user, caller = await rig.user(), await rig.user()
    record = text("SELECT zentropy_search_record(:u, :id, NULL, 'api', CAST('{}' AS jsonb), 'f', 1, NULL, 'queued', "
                  "false, NULL, CAST('{}' AS bigint[]), CAST('{}' AS text[]), NULL, NULL, NULL)")
    for tenant_id in (None, caller):
        search_id = uuid.uuid4()
        with tenant(tenant_id):
            async with rig.rt.db.session() as s:
                assert (await s.execute(record, {"u": user, "id": search_id})).scalar() == search_id
                assert (await s.execute(text("SELECT zentropy_current_user()"))).scalar() == tenant_id
                # the caller sees its own rows only: not the search just recorded for `user`
                assert (await s.execute(text("SELECT count(*) FROM searches WHERE id = :id"),
                                        {"id": search_id})).scalar() == 0
    with tenant(user):
        async with rig.rt.db.session() as s:
            assert (await s.execute(text("SELECT count(*) FROM searches"))).scalar() == 2


# -- the hot path's connections -------------------------------------------------------------------------
@pytest.fixture
async def db(migrated):
    database = Database(service_database_url(migrated), pool_size=2)
    yield database
    await database.dispose()


async def _end_backend(owner_engine, pid: int) -> None:  # noqa: ANN001
    async with owner_engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        for _ in range(100):
            gone = (await conn.execute(text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :p"),
                                       {"p": pid})).scalar()
            await conn.rollback()  # pg_stat_activity is read once per transaction: the next check starts a new one
            if gone:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the backend did not end")


def _end_backend_unnoticed(owner_engine, pid: int) -> None:  # noqa: ANN001
    """End the backend from another thread while this event loop stands still: the client side of
    the connection cannot have noticed when the next statement is sent (a stale connection)."""
    dsn = owner_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def end() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
            while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    thread = threading.Thread(target=lambda: asyncio.run(end()))
    thread.start()
    thread.join(30)


async def _server_query(owner_engine, pid: int) -> tuple[str, str] | None:  # noqa: ANN001
    """The state and the last statement of a backend, as the server reports them (None: gone)."""
    async with owner_engine.connect() as conn:
        row = (await conn.execute(text("SELECT state, query FROM pg_stat_activity WHERE pid = :p"),
                                  {"p": pid})).one_or_none()
    return None if row is None else (row.state, row.query)


async def test_an_idle_connection_the_server_ended_is_not_handed_out(db, owner_engine):
    pid = await db.fetchval("SELECT pg_backend_pid()")
    await _end_backend(owner_engine, pid)  # the loop runs meanwhile: the connection sees its end
    assert await db.fetchval("SELECT pg_backend_pid()", retry=False) not in (None, pid)
    assert db.hot.get_size() == 1


async def test_a_stale_connection_is_replaced_and_the_statement_retried(db, owner_engine):
    pid = await db.fetchval("SELECT pg_backend_pid()")
    _end_backend_unnoticed(owner_engine, pid)
    again = await db.fetchval("SELECT pg_backend_pid()")
    assert again is not None and again != pid
    assert await _server_query(owner_engine, again) is not None


async def test_a_statement_that_may_not_run_twice_fails_once_then_a_new_connection_serves(db, owner_engine):
    async with db.raw() as one, db.raw() as two:  # two idle connections, both made before the "restart"
        older, last = await two.fetchval("SELECT pg_backend_pid()"), await one.fetchval("SELECT pg_backend_pid()")
    assert older != last and db.hot.get_idle_size() == 2
    assert await db.fetchval("SELECT pg_backend_pid()") == last  # `one`, given back last, is taken first
    _end_backend_unnoticed(owner_engine, last)
    with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)):
        await db.fetchval("SELECT pg_backend_pid()", retry=False)
    # the server may have restarted: the older idle connection is not used again either
    fresh = {await db.fetchval("SELECT pg_backend_pid()", retry=False) for _ in range(3)}
    assert not fresh & {older, last}
    async with db.raw() as a, db.raw() as b:  # both connections of the pool are new ones
        assert not {await a.fetchval("SELECT pg_backend_pid()"), await b.fetchval("SELECT pg_backend_pid()")} & {
            older, last}
    for _ in range(100):  # and the older one was closed
        if await _server_query(owner_engine, older) is None:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the older connection was left open")


async def test_a_connection_given_back_idle_costs_no_round_trip(db, owner_engine):
    marker = f"hot_{uuid.uuid4().hex[:8]}"
    async with db.raw() as conn:
        pid = await conn.fetchval(f"SELECT pg_backend_pid() AS {marker}")
        await conn.execute("SET application_name = 'kept'")
        await conn.fetchval(f"SELECT 1 AS {marker}")
    async with db.raw() as conn:  # taken without a ping, given back without a reset
        assert await conn.fetchval("SELECT current_setting('application_name')") == "kept"
        await conn.fetchval(f"SELECT 2 AS {marker}")
    assert await _server_query(owner_engine, pid) == ("idle", f"SELECT 2 AS {marker}")  # the last statement sent


async def test_a_transaction_left_open_is_rolled_back_and_the_connection_kept(db, owner_engine):
    name = f"hot_{uuid.uuid4().hex[:8]}"
    async with db.raw() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("BEGIN")
        await conn.execute(f"CREATE TEMP TABLE {name} (x int)")
    assert await _server_query(owner_engine, pid) == ("idle", "ROLLBACK")
    async with db.raw() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # kept, last used first
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass($1)::text", f"pg_temp.{name}") is None  # rolled back


async def test_a_statement_error_keeps_the_connection(db):
    with pytest.raises(asyncpg.UndefinedTableError):
        async with db.raw() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("BEGIN")
            await conn.fetchval("SELECT * FROM no_such_table")
    assert await db.fetchval("SELECT pg_backend_pid()") == pid


async def test_a_cancelled_block_leaves_nothing_running_or_open_on_its_connection(db, owner_engine):
    name = f"hot_{uuid.uuid4().hex[:8]}"
    started = asyncio.Event()
    pids: list[int] = []

    async def slow() -> None:
        async with db.raw() as conn:
            pids.append(await conn.fetchval("SELECT pg_backend_pid()"))
            await conn.execute("BEGIN")
            await conn.execute(f"CREATE TEMP TABLE {name} (x int)")
            started.set()
            await conn.fetchval(f"SELECT pg_sleep(30) AS {name}")

    task = asyncio.create_task(slow())
    await started.wait()
    await asyncio.sleep(0.1)
    assert (await _server_query(owner_engine, pids[0]))[0] == "active"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the statement no longer runs on the server (on the same connection or any other)
    async with owner_engine.connect() as conn:
        running = (await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                           "AND query = :q"), {"q": f"SELECT pg_sleep(30) AS {name}"})).scalar()
    assert running == 0
    async with db.raw() as conn:  # what the pool hands out next is clean
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass($1)::text", f"pg_temp.{name}") is None
    assert db.hot.get_size() == 1


async def test_never_more_connections_than_the_pool_size(db, owner_engine):
    holding, peak, pids = 0, 0, set()

    async def use() -> None:
        nonlocal holding, peak
        async with db.raw() as conn:
            holding += 1
            peak = max(peak, holding)
            pids.add(await conn.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.05)"))
            holding -= 1

    await asyncio.gather(*[use() for _ in range(8)])
    assert peak == 2 and len(pids) == 2
    assert db.hot.get_size() == db.hot.get_idle_size() == 2
    for pid in pids:  # kept open on the server
        assert await _server_query(owner_engine, pid) is not None


async def test_the_pool_is_made_once_in_the_loop_that_first_uses_it(migrated):
    made: list[Database] = []  # a Database made outside any event loop (as the CLI and Runtime may)
    thread = threading.Thread(target=lambda: made.append(Database(service_database_url(migrated), pool_size=2)))
    thread.start()
    thread.join(30)
    db = made[0]
    try:
        assert db.hot is None  # nothing opened until used
        pids = await asyncio.gather(*[db.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.02)") for _ in range(6)])
        pool = db.hot
        assert pool is not None and len(set(pids)) == pool.get_size() == 2
        assert await db.hot_pool() is pool
    finally:
        await db.dispose()


async def test_dispose_closes_the_hot_connections_and_a_later_use_opens_new_ones(db, owner_engine):
    async with db.raw() as one, db.raw() as two:
        pids = {await one.fetchval("SELECT pg_backend_pid()"), await two.fetchval("SELECT pg_backend_pid()")}
    await db.dispose()
    assert db.hot is None
    for pid in pids:
        assert await _server_query(owner_engine, pid) is None
    assert await db.fetchval("SELECT pg_backend_pid()") not in pids


async def test_the_record_function_runs_with_the_callers_rights_and_only_the_service_role_may_call_it(
        owner_engine, migrated):
    async with owner_engine.connect() as conn:
        row = (await conn.execute(text("SELECT prosecdef, proconfig, proacl::text AS acl FROM pg_proc "
                                       "WHERE proname = 'zentropy_search_record'"))).one()
    assert row.prosecdef is False and row.proconfig == ["search_path=public"]
    assert f"{migrated.database_app_user}=X/" in row.acl
    assert "{=X/" not in row.acl and ",=X/" not in row.acl  # not PUBLIC
